/* krcu's liburcu compatibility headers: <urcu/urcu-qsbr.h>, the qsbr
 * flavor under liburcu's names, on krcu's qsbr flavor. As in liburcu, this
 * header alone gives the urcu_qsbr_* names; with URCU_API_MAP defined (by
 * <urcu-qsbr.h>) it also maps the short ones (<urcu/map/urcu-qsbr.h>).
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
#include <urcu/krcu-compat.h>

#include <urcu/map/urcu-qsbr.h>
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

#include <urcu/defer.h>
#include <urcu/flavor.h>

#ifndef URCU_API_MAP
#include <urcu/map/clear.h>
#endif

#endif /* KRCU_URCU_QSBR_H */
