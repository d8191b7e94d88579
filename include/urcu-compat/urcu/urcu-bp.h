/* krcu's liburcu compatibility headers: <urcu/urcu-bp.h>, liburcu's bp
 * flavor under its names, on krcu's memb flavor. bp's guarantees are
 * memb's in krcu: a thread registers at its first read section (or any
 * call) and may exit without unregistering; urcu_bp_register_thread and
 * urcu_bp_unregister_thread nest, as krcu's registrations do. Each
 * urcu_bp_* name is memb's (<urcu/urcu-memb.h>: the inline read side);
 * libkrcu also exports the urcu_bp_* functions and urcu_bp_flavor, as
 * memb's. With URCU_API_MAP (<urcu-bp.h>) the short names map to these. */
#ifndef KRCU_URCU_BP_H
#define KRCU_URCU_BP_H

#include <urcu/urcu-memb.h>

#define urcu_bp_read_lock urcu_memb_read_lock
#define urcu_bp_read_unlock urcu_memb_read_unlock
#define urcu_bp_read_ongoing urcu_memb_read_ongoing
#define urcu_bp_register_thread urcu_memb_register_thread
#define urcu_bp_unregister_thread urcu_memb_unregister_thread
#define urcu_bp_synchronize_rcu urcu_memb_synchronize_rcu
#define urcu_bp_call_rcu urcu_memb_call_rcu
#define urcu_bp_barrier urcu_memb_barrier
#define urcu_bp_start_poll_synchronize_rcu urcu_memb_start_poll_synchronize_rcu
#define urcu_bp_poll_state_synchronize_rcu urcu_memb_poll_state_synchronize_rcu
#define urcu_bp_quiescent_state urcu_memb_quiescent_state
#define urcu_bp_thread_offline urcu_memb_thread_offline
#define urcu_bp_thread_online urcu_memb_thread_online
#define urcu_bp_init urcu_memb_init
#define urcu_bp_get_cpu_call_rcu_data urcu_memb_get_cpu_call_rcu_data
#define urcu_bp_get_call_rcu_thread urcu_memb_get_call_rcu_thread
#define urcu_bp_create_call_rcu_data urcu_memb_create_call_rcu_data
#define urcu_bp_set_cpu_call_rcu_data urcu_memb_set_cpu_call_rcu_data
#define urcu_bp_get_default_call_rcu_data urcu_memb_get_default_call_rcu_data
#define urcu_bp_get_call_rcu_data urcu_memb_get_call_rcu_data
#define urcu_bp_get_thread_call_rcu_data urcu_memb_get_thread_call_rcu_data
#define urcu_bp_set_thread_call_rcu_data urcu_memb_set_thread_call_rcu_data
#define urcu_bp_create_all_cpu_call_rcu_data urcu_memb_create_all_cpu_call_rcu_data
#define urcu_bp_free_all_cpu_call_rcu_data urcu_memb_free_all_cpu_call_rcu_data
#define urcu_bp_call_rcu_data_free urcu_memb_call_rcu_data_free
#define urcu_bp_call_rcu_before_fork urcu_memb_call_rcu_before_fork
#define urcu_bp_call_rcu_after_fork_parent urcu_memb_call_rcu_after_fork_parent
#define urcu_bp_call_rcu_after_fork_child urcu_memb_call_rcu_after_fork_child
#define urcu_bp_defer_rcu urcu_memb_defer_rcu
#define urcu_bp_defer_register_thread urcu_memb_defer_register_thread
#define urcu_bp_defer_unregister_thread urcu_memb_defer_unregister_thread
#define urcu_bp_defer_barrier urcu_memb_defer_barrier
#define urcu_bp_defer_barrier_thread urcu_memb_defer_barrier_thread
#define urcu_bp_flavor urcu_memb_flavor
#define urcu_bp_register_rculfhash_atfork urcu_memb_register_rculfhash_atfork
#define urcu_bp_unregister_rculfhash_atfork urcu_memb_unregister_rculfhash_atfork
#define _urcu_bp_read_lock _urcu_memb_read_lock
#define _urcu_bp_read_unlock _urcu_memb_read_unlock
#define _urcu_bp_read_ongoing _urcu_memb_read_ongoing

/* liburcu's bp fork calls: krcu's pthread_atfork handlers prepare every
 * fork and restart the child's helpers, so these are not needed; they are
 * accepted, and an after-fork call without its before-fork call is
 * reported. */
#ifdef __cplusplus
extern "C" {
#endif
void urcu_bp_before_fork(void);
void urcu_bp_after_fork_parent(void);
void urcu_bp_after_fork_child(void);
#ifdef __cplusplus
}
#endif
#define rcu_bp_before_fork urcu_bp_before_fork
#define rcu_bp_after_fork_parent urcu_bp_after_fork_parent
#define rcu_bp_after_fork_child urcu_bp_after_fork_child

#include <urcu/map/clear.h>
#include <urcu/map/urcu-bp.h>
#ifndef URCU_API_MAP
#include <urcu/map/clear.h>
#endif

#endif /* KRCU_URCU_BP_H */
