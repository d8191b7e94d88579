/* krcu's memb read side for C: the exported functions and, unless
 * KRCU_NO_INLINE is defined, static inline versions that krcu_read_lock()
 * and krcu_read_unlock() expand to. Part of krcu.h (appended by the
 * generator), and compiled into libkrcu by read_side.c. */

#ifndef KRCU_READ_SIDE_H
#define KRCU_READ_SIDE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Enters a memb read-side critical section. Nests.
 * Context: any, including signal handlers on a thread that has used krcu
 * before (a handler's section leaves the interrupted thread's state as it
 * found it). */
void krcu_read_lock(void);
/* Leaves a memb read-side critical section; aborts if there is none.
 * Context: as krcu_read_lock. */
void krcu_read_unlock(void);
/* The same, under the flavor-prefixed names. */
void krcu_memb_read_lock(void);
void krcu_memb_read_unlock(void);

/* ---- The memb read side, inline ----
 *
 * As liburcu's _LGPL_SOURCE read side: krcu_read_lock and krcu_read_unlock
 * (and their krcu_memb_ names) expand to the static inline functions below,
 * which work on this thread's memb record word, an initial-exec
 * thread-local: loads and stores on %fs, no call. Define KRCU_NO_INLINE before
 * including krcu.h to call the exported functions instead (for example to
 * take their address). The steps are those of urcu_core::foreign; the
 * krcu__ names are internal. */

struct krcu__memb_gp_words {
    uint64_t ctr;          /* the snapshot an outermost lock stores */
    uint32_t futex;        /* KRCU__GP_WAITING while a writer sleeps */
    uint8_t reader_fences; /* 1: readers use real fences (no membarrier) */
};

/* Out-of-line steps (exported by libkrcu; internal). */
void krcu__memb_read_lock_slow(void);
void krcu__memb_read_unlock_slow(void);
void krcu__memb_wake_writer(void);
__attribute__((noreturn)) void krcu__memb_nesting_overflow(void);

#define KRCU__NEST_MASK ((uint64_t)0xffff)
#define KRCU__GP_WAITING 1u

struct krcu__memb_tls {
    uint64_t word; /* this thread's memb record word (0: quiescent) */
    struct krcu__memb_gp_words *gp; /* NULL until the thread registers */
};
/* The symbol carries the layout's version: a program compiled against a
 * header with another layout fails to link or load instead of misreading
 * the thread-local. */
extern __thread struct krcu__memb_tls krcu__memb_tls_v2 __attribute__((tls_model("initial-exec")));

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
    uint64_t tmp = __atomic_load_n(&krcu__memb_tls_v2.word, __ATOMIC_RELAXED);
    if (__builtin_expect((tmp & KRCU__NEST_MASK) != 0, 0)) {
        if ((tmp & KRCU__NEST_MASK) == KRCU__NEST_MASK)
            krcu__memb_nesting_overflow();
        __atomic_store_n(&krcu__memb_tls_v2.word, tmp + 1, __ATOMIC_RELAXED);
        return;
    }
    const struct krcu__memb_gp_words *gp = krcu__memb_tls_v2.gp;
    if (__builtin_expect(gp == NULL, 0)) {
        krcu__memb_read_lock_slow(); /* first use on this thread */
        return;
    }
    __atomic_store_n(&krcu__memb_tls_v2.word, __atomic_load_n(&gp->ctr, __ATOMIC_RELAXED),
                     __ATOMIC_RELAXED);
    krcu__slave_fence(__atomic_load_n(&gp->reader_fences, __ATOMIC_RELAXED));
}

static inline void krcu_read_unlock_inline(void)
{
    uint64_t tmp = __atomic_load_n(&krcu__memb_tls_v2.word, __ATOMIC_RELAXED);
    if (__builtin_expect((tmp & KRCU__NEST_MASK) != 1, 0)) {
        if ((tmp & KRCU__NEST_MASK) == 0) {
            krcu__memb_read_unlock_slow(); /* not locked here: aborts */
            return;
        }
        __atomic_store_n(&krcu__memb_tls_v2.word, tmp - 1, __ATOMIC_RELAXED);
        return;
    }
    struct krcu__memb_gp_words *gp = krcu__memb_tls_v2.gp;
    uint8_t real = __atomic_load_n(&gp->reader_fences, __ATOMIC_RELAXED);
    krcu__slave_fence(real);
    __atomic_store_n(&krcu__memb_tls_v2.word, tmp - 1, __ATOMIC_RELAXED);
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

#endif /* KRCU_READ_SIDE_H */
