/* krcu's liburcu compatibility headers: <urcu/urcu-bp.h>, liburcu's bp
 * flavor under its names, on krcu's memb flavor. bp's guarantees are
 * memb's in krcu: a thread registers at its first read section (or any
 * call) and may exit without unregistering; urcu_bp_register_thread and
 * urcu_bp_unregister_thread nest, as krcu's registrations do. The names
 * are memb's (<urcu/urcu-memb.h>: the inline read side, and the short
 * names); libkrcu also exports the urcu_bp_* functions, as memb's. */
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
#define _urcu_bp_read_lock _urcu_memb_read_lock
#define _urcu_bp_read_unlock _urcu_memb_read_unlock
#define _urcu_bp_read_ongoing _urcu_memb_read_ongoing

#endif /* KRCU_URCU_BP_H */
