
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
/* krcu_kfree_rcu(ptr, field): frees *ptr after a grace period of both
 * flavors through its `field`, a struct krcu_head or struct krcu_ptr member
 * within the first 4096 bytes (rejected at compile time otherwise). Never
 * sleeps, never allocates. NULL ptr is a no-op. */
#define krcu_kfree_rcu(ptr, field)                                              \
    do {                                                                        \
        _Static_assert(offsetof(__typeof__(*(ptr)), field) <                    \
                           KRCU_KFREE_RCU_MAX_OFFSET,                           \
                       "krcu_kfree_rcu: the link must lie in the object's "     \
                       "first 4096 bytes");                                     \
        __typeof__(ptr) krcu_p_ = (ptr);                                        \
        if (krcu_p_)                                                            \
            _Generic(&krcu_p_->field,                                           \
                struct krcu_head *: krcu_kvfree_call_rcu,                       \
                struct krcu_ptr *: krcu_kvfree_call_rcu_ptr)(                   \
                (void *)&krcu_p_->field, (void *)krcu_p_);                      \
    } while (0)
#endif


/* ---- The memb read side, inline ----
 *
 * As liburcu's _LGPL_SOURCE read side: krcu_read_lock and krcu_read_unlock
 * (and their krcu_memb_ names) expand to the static inline functions below,
 * which work on this thread's memb record word through an initial-exec
 * thread-local: a load from %fs, no call. Define KRCU_NO_INLINE before
 * including krcu.h to call the exported functions instead (for example to
 * take their address). The steps are those of urcu_core::foreign; the
 * krcu__ names are internal. */

struct krcu__memb_gp_words {
    uint64_t ctr;          /* the snapshot an outermost lock stores */
    uint32_t futex;        /* KRCU__GP_WAITING while a writer sleeps */
    uint8_t reader_fences; /* 1: readers use real fences (no membarrier) */
};

#define KRCU__NEST_MASK ((uint64_t)0xffff)
#define KRCU__GP_WAITING 1u

extern __thread uint64_t *krcu__memb_word __attribute__((tls_model("initial-exec")));
extern void *krcu__memb_gp;

/* A full fence without membarrier(), else a compiler fence (the writer's
 * membarrier() makes it a full one). */
static inline void krcu__slave_fence(uint8_t real)
{
    if (real)
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    else
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void krcu_read_lock_inline(void)
{
    uint64_t *word = krcu__memb_word;
    if (__builtin_expect(word == NULL, 0)) {
        krcu__memb_read_lock_slow(); /* first use on this thread */
        return;
    }
    uint64_t tmp = __atomic_load_n(word, __ATOMIC_RELAXED);
    if (__builtin_expect((tmp & KRCU__NEST_MASK) != 0, 0)) {
        if ((tmp & KRCU__NEST_MASK) == KRCU__NEST_MASK)
            krcu__memb_nesting_overflow();
        __atomic_store_n(word, tmp + 1, __ATOMIC_RELAXED);
        return;
    }
    const struct krcu__memb_gp_words *gp =
        (const struct krcu__memb_gp_words *)__atomic_load_n(&krcu__memb_gp, __ATOMIC_RELAXED);
    __atomic_store_n(word, __atomic_load_n(&gp->ctr, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    krcu__slave_fence(__atomic_load_n(&gp->reader_fences, __ATOMIC_RELAXED));
}

static inline void krcu_read_unlock_inline(void)
{
    uint64_t *word = krcu__memb_word;
    if (__builtin_expect(word == NULL, 0)) {
        krcu__memb_unbalanced_unlock(); /* never locked on this thread */
        return;
    }
    uint64_t tmp = __atomic_load_n(word, __ATOMIC_RELAXED);
    if (__builtin_expect((tmp & KRCU__NEST_MASK) != 1, 0)) {
        if ((tmp & KRCU__NEST_MASK) == 0)
            krcu__memb_unbalanced_unlock();
        __atomic_store_n(word, tmp - 1, __ATOMIC_RELAXED);
        return;
    }
    struct krcu__memb_gp_words *gp =
        (struct krcu__memb_gp_words *)__atomic_load_n(&krcu__memb_gp, __ATOMIC_RELAXED);
    uint8_t real = __atomic_load_n(&gp->reader_fences, __ATOMIC_RELAXED);
    krcu__slave_fence(real);
    __atomic_store_n(word, tmp - 1, __ATOMIC_RELAXED);
    krcu__slave_fence(real);
    if (__builtin_expect(__atomic_load_n(&gp->futex, __ATOMIC_RELAXED) == KRCU__GP_WAITING, 0))
        krcu__memb_wake_writer();
}

#ifndef KRCU_NO_INLINE
#define krcu_read_lock() krcu_read_lock_inline()
#define krcu_read_unlock() krcu_read_unlock_inline()
#define krcu_memb_read_lock() krcu_read_lock_inline()
#define krcu_memb_read_unlock() krcu_read_unlock_inline()
#endif

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KRCU_TRAILER_H */
