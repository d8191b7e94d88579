
/* ---- Hand-written part (urcu-ffi/include/krcu_trailer.h) ---- */

#ifndef KRCU_TRAILER_H
#define KRCU_TRAILER_H

#ifdef __cplusplus
extern "C" {
#endif

/* Pointer publication. krcu_dereference loads with acquire semantics (the
 * consume that liburcu's rcu_dereference stands for); krcu_assign_pointer
 * stores with release semantics; krcu_xchg_pointer swaps (sequentially
 * consistent) and returns the old value. */
#define krcu_dereference(p) __atomic_load_n(&(p), __ATOMIC_ACQUIRE)
#define krcu_assign_pointer(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#define krcu_xchg_pointer(pp, v) __atomic_exchange_n((pp), (v), __ATOMIC_SEQ_CST)

/* A field of a krcu object used as its kfree_rcu link must lie in the
 * object's first 4096 bytes. */
#define KRCU_KFREE_RCU_MAX_OFFSET 4096

#if !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
/* The body of both kfree_rcu macros: checks the link's offset at compile
 * time and calls the export for the link's type. */
#define KRCU_KFREE_RCU_CALL_(ptr, field, head_fn, ptr_fn)                       \
    do {                                                                        \
        _Static_assert(offsetof(__typeof__(*(ptr)), field) <                    \
                           KRCU_KFREE_RCU_MAX_OFFSET,                           \
                       "krcu_kfree_rcu: the link must lie in the object's "     \
                       "first 4096 bytes");                                     \
        __typeof__(ptr) krcu_p_ = (ptr);                                        \
        if (krcu_p_)                                                            \
            _Generic(&krcu_p_->field,                                           \
                struct krcu_head *: head_fn,                                    \
                struct krcu_ptr *: ptr_fn)(                                     \
                (void *)&krcu_p_->field, (void *)krcu_p_);                      \
    } while (0)

/* krcu_kfree_rcu(ptr, field): frees *ptr after a grace period of both
 * flavors through its `field`, a struct krcu_head or struct krcu_ptr member
 * within the first 4096 bytes (rejected at compile time otherwise). Never
 * sleeps, never allocates. NULL ptr is a no-op. */
#define krcu_kfree_rcu(ptr, field)                                              \
    KRCU_KFREE_RCU_CALL_(ptr, field, krcu_kvfree_call_rcu,                      \
                         krcu_kvfree_call_rcu_ptr)

/* krcu_kfree_rcu_nolock(ptr, field): krcu_kfree_rcu for any context, a
 * signal handler that interrupted anything included (the two-argument form
 * only: nothing may be allocated and nothing may wait). Never blocks,
 * allocates or waits. NULL ptr is a no-op. */
#define krcu_kfree_rcu_nolock(ptr, field)                                       \
    KRCU_KFREE_RCU_CALL_(ptr, field, krcu_kvfree_call_rcu_nolock,               \
                         krcu_kfree_call_rcu_nolock)
#endif


/* Without C11 (C99), call the exports directly, checking the offset
 * yourself:
 *     krcu_kvfree_call_rcu(&p->head, p);        a struct krcu_head member
 *     krcu_kvfree_call_rcu_ptr(&p->rcu, p);     a struct krcu_ptr member
 *     krcu_kvfree_call_rcu_nolock(&p->head, p); and the _nolock forms
 *     krcu_kfree_call_rcu_nolock(&p->rcu, p);
 * The link must lie within the object's first KRCU_KFREE_RCU_MAX_OFFSET
 * bytes. */

#ifdef __cplusplus
} /* extern "C" */

/* C++: the same two macros, an overload set choosing the export by the
 * link's type and a static_assert checking its offset. */
#include <cstddef>
#include <type_traits>

namespace krcu_detail {
inline void kfree_rcu_link(struct krcu_head *h, void *p) { krcu_kvfree_call_rcu(h, p); }
inline void kfree_rcu_link(struct krcu_ptr *h, void *p) { krcu_kvfree_call_rcu_ptr(h, p); }
inline void kfree_rcu_link_nolock(struct krcu_head *h, void *p) { krcu_kvfree_call_rcu_nolock(h, p); }
inline void kfree_rcu_link_nolock(struct krcu_ptr *h, void *p) { krcu_kfree_call_rcu_nolock(h, p); }
} /* namespace krcu_detail */

#define KRCU_KFREE_RCU_CXX_(ptr, field, fn)                                     \
    do {                                                                        \
        static_assert(offsetof(std::remove_pointer<decltype(ptr)>::type,        \
                               field) < KRCU_KFREE_RCU_MAX_OFFSET,              \
                      "krcu_kfree_rcu: the link must lie in the object's "      \
                      "first 4096 bytes");                                      \
        auto krcu_p_ = (ptr);                                                   \
        if (krcu_p_)                                                            \
            krcu_detail::fn(&krcu_p_->field, (void *)krcu_p_);                  \
    } while (0)

#define krcu_kfree_rcu(ptr, field) KRCU_KFREE_RCU_CXX_(ptr, field, kfree_rcu_link)
#define krcu_kfree_rcu_nolock(ptr, field) KRCU_KFREE_RCU_CXX_(ptr, field, kfree_rcu_link_nolock)
#endif

#endif /* KRCU_TRAILER_H */
