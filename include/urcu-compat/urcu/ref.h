/* krcu's liburcu compatibility headers: <urcu/ref.h>, liburcu's reference
 * counts, on <urcu/uatomic.h>. A count saturates rather than wrap: a get
 * that would pass LONG_MAX fails (urcu_ref_get_safe) or aborts
 * (urcu_ref_get). */
#ifndef KRCU_URCU_REF_H
#define KRCU_URCU_REF_H

#include <assert.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <urcu/uatomic.h>

struct urcu_ref {
    long refcount; /* atomic */
};

static inline void urcu_ref_set(struct urcu_ref *ref, long val)
{
    uatomic_set(&ref->refcount, val);
}

static inline void urcu_ref_init(struct urcu_ref *ref)
{
    urcu_ref_set(ref, 1);
}

/* Adds a reference unless the count is at `floor` (0: a dying object) or
 * at LONG_MAX; whether it did. */
static inline bool krcu__ref_get_above(struct urcu_ref *ref, long floor)
{
    long old = uatomic_read(&ref->refcount);
    for (;;) {
        if (old == floor || old == LONG_MAX)
            return false;
        long seen = uatomic_cmpxchg(&ref->refcount, old, old + 1);
        if (seen == old)
            return true;
        old = seen;
    }
}

static inline bool __attribute__((warn_unused_result)) urcu_ref_get_safe(struct urcu_ref *ref)
{
    return krcu__ref_get_above(ref, LONG_MIN);
}

static inline void urcu_ref_get(struct urcu_ref *ref)
{
    if (!urcu_ref_get_safe(ref))
        abort();
}

/* Drops a reference; the last one calls release(ref). */
static inline void urcu_ref_put(struct urcu_ref *ref, void (*release)(struct urcu_ref *))
{
    long left = uatomic_sub_return(&ref->refcount, 1);
    assert(left >= 0);
    if (left == 0)
        release(ref);
}

/* Adds a reference unless the count already reached 0 (the object is
 * being released): for lookups under RCU. */
static inline bool urcu_ref_get_unless_zero(struct urcu_ref *ref)
{
    return krcu__ref_get_above(ref, 0);
}

#endif /* KRCU_URCU_REF_H */
