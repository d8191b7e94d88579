/* krcu's liburcu compatibility headers: <urcu/urcu-mb.h>, liburcu's mb
 * flavor under its names, on krcu's memb flavor: memb's semantics are a
 * valid implementation of mb's (memb readers use real fences where
 * membarrier() is missing, and compiler fences backed by the writers'
 * membarrier() where it is there). Each urcu_mb_* name is memb's
 * (<urcu/urcu-memb.h>); libkrcu also exports the urcu_mb_* functions and
 * urcu_mb_flavor, as memb's. With URCU_API_MAP (<urcu.h> with RCU_MB) the
 * short names map to these. */
#ifndef KRCU_URCU_MB_H
#define KRCU_URCU_MB_H

#include <urcu/urcu-memb.h>

#define urcu_mb_read_lock urcu_memb_read_lock
#define urcu_mb_read_unlock urcu_memb_read_unlock
#define urcu_mb_read_ongoing urcu_memb_read_ongoing
#define urcu_mb_register_thread urcu_memb_register_thread
#define urcu_mb_unregister_thread urcu_memb_unregister_thread
#define urcu_mb_synchronize_rcu urcu_memb_synchronize_rcu
#define urcu_mb_call_rcu urcu_memb_call_rcu
#define urcu_mb_barrier urcu_memb_barrier
#define urcu_mb_start_poll_synchronize_rcu urcu_memb_start_poll_synchronize_rcu
#define urcu_mb_poll_state_synchronize_rcu urcu_memb_poll_state_synchronize_rcu
#define urcu_mb_quiescent_state urcu_memb_quiescent_state
#define urcu_mb_thread_offline urcu_memb_thread_offline
#define urcu_mb_thread_online urcu_memb_thread_online
#define urcu_mb_init urcu_memb_init
#define urcu_mb_get_cpu_call_rcu_data urcu_memb_get_cpu_call_rcu_data
#define urcu_mb_get_call_rcu_thread urcu_memb_get_call_rcu_thread
#define urcu_mb_create_call_rcu_data urcu_memb_create_call_rcu_data
#define urcu_mb_set_cpu_call_rcu_data urcu_memb_set_cpu_call_rcu_data
#define urcu_mb_get_default_call_rcu_data urcu_memb_get_default_call_rcu_data
#define urcu_mb_get_call_rcu_data urcu_memb_get_call_rcu_data
#define urcu_mb_get_thread_call_rcu_data urcu_memb_get_thread_call_rcu_data
#define urcu_mb_set_thread_call_rcu_data urcu_memb_set_thread_call_rcu_data
#define urcu_mb_create_all_cpu_call_rcu_data urcu_memb_create_all_cpu_call_rcu_data
#define urcu_mb_free_all_cpu_call_rcu_data urcu_memb_free_all_cpu_call_rcu_data
#define urcu_mb_call_rcu_data_free urcu_memb_call_rcu_data_free
#define urcu_mb_call_rcu_before_fork urcu_memb_call_rcu_before_fork
#define urcu_mb_call_rcu_after_fork_parent urcu_memb_call_rcu_after_fork_parent
#define urcu_mb_call_rcu_after_fork_child urcu_memb_call_rcu_after_fork_child
#define urcu_mb_defer_rcu urcu_memb_defer_rcu
#define urcu_mb_defer_register_thread urcu_memb_defer_register_thread
#define urcu_mb_defer_unregister_thread urcu_memb_defer_unregister_thread
#define urcu_mb_defer_barrier urcu_memb_defer_barrier
#define urcu_mb_defer_barrier_thread urcu_memb_defer_barrier_thread
#define urcu_mb_flavor urcu_memb_flavor
#define urcu_mb_register_rculfhash_atfork urcu_memb_register_rculfhash_atfork
#define urcu_mb_unregister_rculfhash_atfork urcu_memb_unregister_rculfhash_atfork
#define _urcu_mb_read_lock _urcu_memb_read_lock
#define _urcu_mb_read_unlock _urcu_memb_read_unlock
#define _urcu_mb_read_ongoing _urcu_memb_read_ongoing

#include <urcu/map/clear.h>
#include <urcu/map/urcu-mb.h>
#ifndef URCU_API_MAP
#include <urcu/map/clear.h>
#endif

#endif /* KRCU_URCU_MB_H */
