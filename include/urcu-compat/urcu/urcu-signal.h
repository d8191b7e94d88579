/* krcu's liburcu compatibility headers: <urcu/urcu-signal.h>, liburcu's
 * signal flavor under its names, on krcu's memb flavor. liburcu's signal
 * flavor keeps its readers' fences out of the read side by signalling
 * every reader thread from the writer (SIGRCU); memb does the same with
 * membarrier(), which the kernel delivers, so no signal is reserved or
 * sent: SIGRCU is defined for source compatibility only. Each
 * urcu_signal_* name is memb's (<urcu/urcu-memb.h>); libkrcu also exports
 * the urcu_signal_* functions and urcu_signal_flavor, as memb's. With
 * URCU_API_MAP (<urcu.h> with RCU_SIGNAL) the short names map to these. */
#ifndef KRCU_URCU_SIGNAL_H
#define KRCU_URCU_SIGNAL_H

#include <signal.h>
#include <urcu/urcu-memb.h>

#ifndef SIGRCU
#define SIGRCU SIGUSR1
#endif

#define urcu_signal_read_lock urcu_memb_read_lock
#define urcu_signal_read_unlock urcu_memb_read_unlock
#define urcu_signal_read_ongoing urcu_memb_read_ongoing
#define urcu_signal_register_thread urcu_memb_register_thread
#define urcu_signal_unregister_thread urcu_memb_unregister_thread
#define urcu_signal_synchronize_rcu urcu_memb_synchronize_rcu
#define urcu_signal_call_rcu urcu_memb_call_rcu
#define urcu_signal_barrier urcu_memb_barrier
#define urcu_signal_start_poll_synchronize_rcu urcu_memb_start_poll_synchronize_rcu
#define urcu_signal_poll_state_synchronize_rcu urcu_memb_poll_state_synchronize_rcu
#define urcu_signal_quiescent_state urcu_memb_quiescent_state
#define urcu_signal_thread_offline urcu_memb_thread_offline
#define urcu_signal_thread_online urcu_memb_thread_online
#define urcu_signal_init urcu_memb_init
#define urcu_signal_get_cpu_call_rcu_data urcu_memb_get_cpu_call_rcu_data
#define urcu_signal_get_call_rcu_thread urcu_memb_get_call_rcu_thread
#define urcu_signal_create_call_rcu_data urcu_memb_create_call_rcu_data
#define urcu_signal_set_cpu_call_rcu_data urcu_memb_set_cpu_call_rcu_data
#define urcu_signal_get_default_call_rcu_data urcu_memb_get_default_call_rcu_data
#define urcu_signal_get_call_rcu_data urcu_memb_get_call_rcu_data
#define urcu_signal_get_thread_call_rcu_data urcu_memb_get_thread_call_rcu_data
#define urcu_signal_set_thread_call_rcu_data urcu_memb_set_thread_call_rcu_data
#define urcu_signal_create_all_cpu_call_rcu_data urcu_memb_create_all_cpu_call_rcu_data
#define urcu_signal_free_all_cpu_call_rcu_data urcu_memb_free_all_cpu_call_rcu_data
#define urcu_signal_call_rcu_data_free urcu_memb_call_rcu_data_free
#define urcu_signal_call_rcu_before_fork urcu_memb_call_rcu_before_fork
#define urcu_signal_call_rcu_after_fork_parent urcu_memb_call_rcu_after_fork_parent
#define urcu_signal_call_rcu_after_fork_child urcu_memb_call_rcu_after_fork_child
#define urcu_signal_defer_rcu urcu_memb_defer_rcu
#define urcu_signal_defer_register_thread urcu_memb_defer_register_thread
#define urcu_signal_defer_unregister_thread urcu_memb_defer_unregister_thread
#define urcu_signal_defer_barrier urcu_memb_defer_barrier
#define urcu_signal_defer_barrier_thread urcu_memb_defer_barrier_thread
#define urcu_signal_flavor urcu_memb_flavor
#define urcu_signal_register_rculfhash_atfork urcu_memb_register_rculfhash_atfork
#define urcu_signal_unregister_rculfhash_atfork urcu_memb_unregister_rculfhash_atfork
#define _urcu_signal_read_lock _urcu_memb_read_lock
#define _urcu_signal_read_unlock _urcu_memb_read_unlock
#define _urcu_signal_read_ongoing _urcu_memb_read_ongoing

#include <urcu/map/clear.h>
#include <urcu/map/urcu-signal.h>
#ifndef URCU_API_MAP
#include <urcu/map/clear.h>
#endif

#endif /* KRCU_URCU_SIGNAL_H */
