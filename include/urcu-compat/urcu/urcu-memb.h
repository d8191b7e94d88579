/* krcu's liburcu compatibility headers: <urcu/urcu-memb.h>, the memb
 * flavor under liburcu's names, on krcu's memb flavor. As in liburcu, this
 * header alone gives the urcu_memb_* names; with URCU_API_MAP defined (by
 * <urcu.h>) it also maps the short ones (rcu_read_lock, synchronize_rcu,
 * ...: <urcu/map/urcu-memb.h>) to them.
 *
 * The read side is krcu.h's inline one (a thread-local word and the
 * counter group, no call), with or without _LGPL_SOURCE. The rest links
 * to libkrcu's urcu_memb_* functions. What differs from liburcu:
 * registration is optional (a thread registers at its first read section
 * and is unregistered when it exits), register/unregister calls nest, and
 * urcu_memb_init() does nothing (krcu starts on first use). */
#ifndef KRCU_URCU_MEMB_H
#define KRCU_URCU_MEMB_H

#include <stdlib.h>
#include <pthread.h>
#include <stdbool.h>
#include <krcu.h>
#include <urcu/pointer.h>
#include <urcu/urcu-poll.h>
#include <urcu/krcu-compat.h>

#include <urcu/map/urcu-memb.h>
#include <urcu/call-rcu.h>

#ifdef __cplusplus
extern "C" {
#endif

int urcu_memb_read_ongoing(void);
void urcu_memb_synchronize_rcu(void);
struct urcu_gp_poll_state urcu_memb_start_poll_synchronize_rcu(void);
bool urcu_memb_poll_state_synchronize_rcu(struct urcu_gp_poll_state state);
void urcu_memb_register_thread(void);
void urcu_memb_unregister_thread(void);

static inline void _urcu_memb_read_lock(void) { krcu_read_lock_inline(); }
static inline void _urcu_memb_read_unlock(void) { krcu_read_unlock_inline(); }
/* Nonzero inside a read-side critical section of this thread: the nesting
 * in the thread's word; a thread whose sections are not on that word (its
 * word says unregistered) asks libkrcu. */
static inline int _urcu_memb_read_ongoing(void)
{
    uint64_t nest = __atomic_load_n(&krcu__memb_word_v3, __ATOMIC_RELAXED) & KRCU__NEST_MASK;
    if (__builtin_expect(nest == KRCU__UNREGISTERED, 0))
        return urcu_memb_read_ongoing();
    return nest != 0;
}
#define urcu_memb_read_lock _urcu_memb_read_lock
#define urcu_memb_read_unlock _urcu_memb_read_unlock
#define urcu_memb_read_ongoing _urcu_memb_read_ongoing

/* memb readers need no quiescent states, as in liburcu. */
static inline void urcu_memb_quiescent_state(void) {}
static inline void urcu_memb_thread_offline(void) {}
static inline void urcu_memb_thread_online(void) {}
static inline void urcu_memb_init(void) {}

#ifdef __cplusplus
}
#endif

#include <urcu/defer.h>
#include <urcu/flavor.h>

#ifndef URCU_API_MAP
#include <urcu/map/clear.h>
#endif

#endif /* KRCU_URCU_MEMB_H */
