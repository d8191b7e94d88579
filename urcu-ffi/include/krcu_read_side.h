/* krcu's memb read side for C: the exported functions and, unless
 * KRCU_NO_INLINE is defined, static inline versions that krcu_read_lock()
 * and krcu_read_unlock() expand to. Part of krcu.h (appended by the
 * generator, after krcu_api.h's KRCU_API), and compiled into libkrcu by
 * read_side.c. */

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
KRCU_API void krcu_read_lock(void);
/* Leaves a memb read-side critical section; aborts if there is none.
 * Context: as krcu_read_lock. */
KRCU_API void krcu_read_unlock(void);
/* The same, under the flavor-prefixed names. */
KRCU_API void krcu_memb_read_lock(void);
KRCU_API void krcu_memb_read_unlock(void);

/* ---- The memb read side, inline ----
 *
 * As liburcu's _LGPL_SOURCE read side: krcu_read_lock and krcu_read_unlock
 * (and their krcu_memb_ names) expand to the static inline functions below,
 * which work on this thread's memb record word, an initial-exec
 * thread-local, and on memb's counter group, a data symbol of libkrcu:
 * loads and stores on %fs and at a fixed address, no call. Define
 * KRCU_NO_INLINE before including krcu.h to call the exported functions
 * instead (for example to take their address). The steps are those of
 * urcu_core::foreign; the krcu__ names are internal. */

struct krcu__memb_gp_words {
    uint64_t ctr;          /* the snapshot an outermost lock stores */
    uint32_t futex;        /* KRCU__GP_WAITING while a writer sleeps */
    uint8_t reader_fences; /* 1: readers use real fences (no membarrier) */
};

/* Out-of-line steps (exported by libkrcu; internal). */
KRCU_API __attribute__((cold)) void krcu__memb_read_lock_slow(void);
KRCU_API __attribute__((cold)) void krcu__memb_read_unlock_slow(void);
KRCU_API __attribute__((cold)) void krcu__memb_wake_writer(void);
/* Wakes the writer unless the section that ended (the word before the
 * unlock) began after the grace period it sleeps in. */
KRCU_API __attribute__((cold)) void krcu__memb_wake_writer_for(uint64_t section);

#define KRCU__NEST_MASK ((uint64_t)0xffff)
/* The deepest nesting; a word whose nesting is KRCU__NEST_MASK belongs to
 * a thread that is not registered (it is where a thread's word starts). */
#define KRCU__MAX_NEST (KRCU__NEST_MASK - 1)
#define KRCU__UNREGISTERED KRCU__NEST_MASK
#define KRCU__GP_WAITING 1u

/* The symbols carry their layout's version: a program compiled against a
 * header with another layout fails to link or load instead of misreading
 * them. */
extern __thread uint64_t krcu__memb_word_v3 __attribute__((tls_model("initial-exec")));
extern struct krcu__memb_gp_words krcu__memb_gp_v3;

/* A full fence without membarrier(), else a compiler fence (the writer's
 * membarrier() makes it a full one). */
static inline void krcu__slave_fence(uint8_t real)
{
    if (__builtin_expect(real, 0))
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    else
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void krcu_read_lock_inline(void)
{
    uint64_t tmp = __atomic_load_n(&krcu__memb_word_v3, __ATOMIC_RELAXED);
    if (__builtin_expect((uint16_t)tmp != 0, 0)) {
        /* Nested; or too deep, or the thread's first section: krcu's. */
        if ((tmp & KRCU__NEST_MASK) >= KRCU__MAX_NEST)
            krcu__memb_read_lock_slow();
        else
            __atomic_store_n(&krcu__memb_word_v3, tmp + 1, __ATOMIC_RELAXED);
        return;
    }
    __atomic_store_n(&krcu__memb_word_v3, __atomic_load_n(&krcu__memb_gp_v3.ctr, __ATOMIC_RELAXED),
                     __ATOMIC_RELAXED);
    krcu__slave_fence(__atomic_load_n(&krcu__memb_gp_v3.reader_fences, __ATOMIC_RELAXED));
}

static inline void krcu_read_unlock_inline(void)
{
    uint64_t tmp = __atomic_load_n(&krcu__memb_word_v3, __ATOMIC_RELAXED);
    if (__builtin_expect((uint16_t)tmp != 1, 0)) {
        /* Nested; or no section on this word: krcu's (it aborts, unless
         * the thread's sections go through krcu). */
        uint64_t nest = tmp & KRCU__NEST_MASK;
        if (nest == 0 || nest == KRCU__UNREGISTERED)
            krcu__memb_read_unlock_slow();
        else
            __atomic_store_n(&krcu__memb_word_v3, tmp - 1, __ATOMIC_RELAXED);
        return;
    }
    uint8_t real = __atomic_load_n(&krcu__memb_gp_v3.reader_fences, __ATOMIC_RELAXED);
    krcu__slave_fence(real);
    __atomic_store_n(&krcu__memb_word_v3, tmp - 1, __ATOMIC_RELAXED);
    krcu__slave_fence(real);
    if (__builtin_expect(__atomic_load_n(&krcu__memb_gp_v3.futex, __ATOMIC_RELAXED) == KRCU__GP_WAITING, 0))
        krcu__memb_wake_writer_for(tmp);
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
