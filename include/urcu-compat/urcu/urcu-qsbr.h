/* krcu's liburcu compatibility headers: <urcu/urcu-qsbr.h>, the qsbr
 * flavor under liburcu's names, on krcu's qsbr flavor.
 *
 * As in liburcu, read-side critical sections are no code: a registered
 * thread reads while it is online, between its quiescent states. The rest
 * links to libkrcu's urcu_qsbr_* functions. What differs from liburcu:
 * registration is optional (the first quiescent state or online call
 * registers the thread, online), register/unregister calls nest, and a
 * thread that exits registered is unregistered for it. */
#ifndef KRCU_URCU_QSBR_H
#define KRCU_URCU_QSBR_H

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

int urcu_qsbr_read_ongoing(void);
void urcu_qsbr_quiescent_state(void);
void urcu_qsbr_thread_offline(void);
void urcu_qsbr_thread_online(void);
void urcu_qsbr_synchronize_rcu(void);
struct urcu_gp_poll_state urcu_qsbr_start_poll_synchronize_rcu(void);
bool urcu_qsbr_poll_state_synchronize_rcu(struct urcu_gp_poll_state state);
void urcu_qsbr_register_thread(void);
void urcu_qsbr_unregister_thread(void);

/* This thread's qsbr online state as of its last call into krcu that could
 * change it (libkrcu keeps it; internal). */
extern __thread unsigned char krcu__qsbr_online_v1 __attribute__((tls_model("initial-exec")));

static inline void _urcu_qsbr_read_lock(void) {}
static inline void _urcu_qsbr_read_unlock(void) {}
/* Nonzero while this thread is online, as liburcu's. */
static inline int _urcu_qsbr_read_ongoing(void) { return krcu__qsbr_online_v1; }
#define urcu_qsbr_read_lock _urcu_qsbr_read_lock
#define urcu_qsbr_read_unlock _urcu_qsbr_read_unlock
#define urcu_qsbr_read_ongoing _urcu_qsbr_read_ongoing
#define _urcu_qsbr_quiescent_state urcu_qsbr_quiescent_state
#define _urcu_qsbr_thread_offline urcu_qsbr_thread_offline
#define _urcu_qsbr_thread_online urcu_qsbr_thread_online
static inline void urcu_qsbr_init(void) {}

#ifdef __cplusplus
}
#endif

/* liburcu's short names, for the qsbr flavor (liburcu's urcu/map). */
#define rcu_read_lock urcu_qsbr_read_lock
#define _rcu_read_lock _urcu_qsbr_read_lock
#define rcu_read_unlock urcu_qsbr_read_unlock
#define _rcu_read_unlock _urcu_qsbr_read_unlock
#define rcu_read_ongoing urcu_qsbr_read_ongoing
#define _rcu_read_ongoing _urcu_qsbr_read_ongoing
#define rcu_quiescent_state urcu_qsbr_quiescent_state
#define _rcu_quiescent_state _urcu_qsbr_quiescent_state
#define rcu_thread_offline urcu_qsbr_thread_offline
#define _rcu_thread_offline _urcu_qsbr_thread_offline
#define rcu_thread_online urcu_qsbr_thread_online
#define _rcu_thread_online _urcu_qsbr_thread_online
#define rcu_register_thread urcu_qsbr_register_thread
#define rcu_unregister_thread urcu_qsbr_unregister_thread
#define rcu_init urcu_qsbr_init
#define synchronize_rcu urcu_qsbr_synchronize_rcu
#define call_rcu urcu_qsbr_call_rcu
#define rcu_barrier urcu_qsbr_barrier
#define start_poll_synchronize_rcu urcu_qsbr_start_poll_synchronize_rcu
#define poll_state_synchronize_rcu urcu_qsbr_poll_state_synchronize_rcu

/* call_rcu_data, fork and defer: <urcu/call-rcu.h>, <urcu/defer.h>. */
#define get_cpu_call_rcu_data urcu_qsbr_get_cpu_call_rcu_data
#define get_call_rcu_thread urcu_qsbr_get_call_rcu_thread
#define create_call_rcu_data urcu_qsbr_create_call_rcu_data
#define set_cpu_call_rcu_data urcu_qsbr_set_cpu_call_rcu_data
#define get_default_call_rcu_data urcu_qsbr_get_default_call_rcu_data
#define get_call_rcu_data urcu_qsbr_get_call_rcu_data
#define get_thread_call_rcu_data urcu_qsbr_get_thread_call_rcu_data
#define set_thread_call_rcu_data urcu_qsbr_set_thread_call_rcu_data
#define create_all_cpu_call_rcu_data urcu_qsbr_create_all_cpu_call_rcu_data
#define free_all_cpu_call_rcu_data urcu_qsbr_free_all_cpu_call_rcu_data
#define call_rcu_data_free urcu_qsbr_call_rcu_data_free
#define call_rcu_before_fork urcu_qsbr_call_rcu_before_fork
#define call_rcu_after_fork_parent urcu_qsbr_call_rcu_after_fork_parent
#define call_rcu_after_fork_child urcu_qsbr_call_rcu_after_fork_child
#define defer_rcu urcu_qsbr_defer_rcu
#define rcu_defer_register_thread urcu_qsbr_defer_register_thread
#define rcu_defer_unregister_thread urcu_qsbr_defer_unregister_thread
#define rcu_defer_barrier urcu_qsbr_defer_barrier
#define rcu_defer_barrier_thread urcu_qsbr_defer_barrier_thread

#endif /* KRCU_URCU_QSBR_H */
