/* krcu's liburcu compatibility headers: <urcu/urcu-memb.h>, the memb
 * flavor under liburcu's names, on krcu's memb flavor.
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

/* liburcu's short names, for the memb flavor (liburcu's urcu/map). */
#define rcu_read_lock urcu_memb_read_lock
#define _rcu_read_lock _urcu_memb_read_lock
#define rcu_read_unlock urcu_memb_read_unlock
#define _rcu_read_unlock _urcu_memb_read_unlock
#define rcu_read_ongoing urcu_memb_read_ongoing
#define _rcu_read_ongoing _urcu_memb_read_ongoing
#define rcu_quiescent_state urcu_memb_quiescent_state
#define rcu_thread_offline urcu_memb_thread_offline
#define rcu_thread_online urcu_memb_thread_online
#define rcu_register_thread urcu_memb_register_thread
#define rcu_unregister_thread urcu_memb_unregister_thread
#define rcu_init urcu_memb_init
#define synchronize_rcu urcu_memb_synchronize_rcu
#define call_rcu urcu_memb_call_rcu
#define rcu_barrier urcu_memb_barrier
#define start_poll_synchronize_rcu urcu_memb_start_poll_synchronize_rcu
#define poll_state_synchronize_rcu urcu_memb_poll_state_synchronize_rcu
#define rcu_read_lock_memb urcu_memb_read_lock
#define rcu_read_unlock_memb urcu_memb_read_unlock
#define rcu_read_ongoing_memb urcu_memb_read_ongoing
#define rcu_register_thread_memb urcu_memb_register_thread
#define rcu_unregister_thread_memb urcu_memb_unregister_thread
#define synchronize_rcu_memb urcu_memb_synchronize_rcu

/* call_rcu_data, fork and defer: <urcu/call-rcu.h>, <urcu/defer.h>. */
#define get_cpu_call_rcu_data urcu_memb_get_cpu_call_rcu_data
#define get_call_rcu_thread urcu_memb_get_call_rcu_thread
#define create_call_rcu_data urcu_memb_create_call_rcu_data
#define set_cpu_call_rcu_data urcu_memb_set_cpu_call_rcu_data
#define get_default_call_rcu_data urcu_memb_get_default_call_rcu_data
#define get_call_rcu_data urcu_memb_get_call_rcu_data
#define get_thread_call_rcu_data urcu_memb_get_thread_call_rcu_data
#define set_thread_call_rcu_data urcu_memb_set_thread_call_rcu_data
#define create_all_cpu_call_rcu_data urcu_memb_create_all_cpu_call_rcu_data
#define free_all_cpu_call_rcu_data urcu_memb_free_all_cpu_call_rcu_data
#define call_rcu_data_free urcu_memb_call_rcu_data_free
#define call_rcu_before_fork urcu_memb_call_rcu_before_fork
#define call_rcu_after_fork_parent urcu_memb_call_rcu_after_fork_parent
#define call_rcu_after_fork_child urcu_memb_call_rcu_after_fork_child
#define defer_rcu urcu_memb_defer_rcu
#define rcu_defer_register_thread urcu_memb_defer_register_thread
#define rcu_defer_unregister_thread urcu_memb_defer_unregister_thread
#define rcu_defer_barrier urcu_memb_defer_barrier
#define rcu_defer_barrier_thread urcu_memb_defer_barrier_thread

#endif /* KRCU_URCU_MEMB_H */
