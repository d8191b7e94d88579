/* krcu's liburcu compatibility headers: <urcu/defer.h>.
 *
 * defer_rcu(fct, p) runs fct(p) after a grace period of the flavor, on
 * krcu's callback thread (liburcu runs it on its defer thread or on a
 * thread that flushes its queue). krcu queues each call as a callback:
 * defer_rcu never waits for a grace period, so it may be called inside a
 * read-side critical section and from a callback; it takes a node from
 * a krcu slab cache, so it is not for signal handlers. rcu_defer_register_thread is not
 * needed (it returns 0); rcu_defer_unregister_thread and
 * rcu_defer_barrier_thread return once every call this thread deferred
 * has run, rcu_defer_barrier once every call any thread deferred has.
 *
 * Include the flavor's header (<urcu.h>, <urcu-qsbr.h>, ...) first: it
 * maps the short names to the flavor's functions, as liburcu's does. */
#ifndef KRCU_URCU_DEFER_H
#define KRCU_URCU_DEFER_H

#include <stdlib.h>
#include <pthread.h>

#ifdef __cplusplus
extern "C" {
#endif

void urcu_memb_defer_rcu(void (*fct)(void *p), void *p);
int urcu_memb_defer_register_thread(void);
void urcu_memb_defer_unregister_thread(void);
void urcu_memb_defer_barrier(void);
void urcu_memb_defer_barrier_thread(void);
void urcu_qsbr_defer_rcu(void (*fct)(void *p), void *p);
int urcu_qsbr_defer_register_thread(void);
void urcu_qsbr_defer_unregister_thread(void);
void urcu_qsbr_defer_barrier(void);
void urcu_qsbr_defer_barrier_thread(void);

#ifdef __cplusplus
}
#endif

#endif /* KRCU_URCU_DEFER_H */
