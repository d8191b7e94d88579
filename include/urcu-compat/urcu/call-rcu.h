/* krcu's liburcu compatibility headers: <urcu/call-rcu.h>.
 *
 * struct rcu_head has liburcu's size and member order (the queue link,
 * then the callback): it is krcu's struct krcu_head. call_rcu runs the
 * callback after a grace period on krcu's callback thread of the flavor;
 * it never blocks, takes no lock and allocates nothing, and krcu's
 * krcu_call_rcu_nolock is the form for signal handlers.
 *
 * struct call_rcu_data: krcu has one callback thread per flavor, which
 * every thread's call_rcu feeds. A call_rcu_data is a handle that records
 * what the program set (its flags and CPU, the thread and CPU it is set
 * for), and every getter returns it as liburcu's do; get_call_rcu_thread
 * returns the flavor's callback thread. Callbacks queued while any handle
 * is set run on that thread: none is lost or delayed, and rcu_barrier
 * waits for all. A handle has no thread of its own, so no CPU affinity
 * and no URCU_CALL_RCU_RT polling. A foreign or freed handle passed in is
 * reported on stderr (or to the krcu log handler) and ignored.
 *
 * call_rcu_before_fork and the two after-fork calls are not needed: krcu's
 * pthread_atfork handlers prepare every fork and restart the child's
 * helper threads. They are accepted, and an after-fork call without its
 * before-fork call is reported. */
#ifndef KRCU_URCU_CALL_RCU_H
#define KRCU_URCU_CALL_RCU_H

#include <stddef.h>
#include <stdlib.h>
#include <pthread.h>
#include <krcu.h>

#ifdef __cplusplus
extern "C" {
#endif

struct call_rcu_data;

#define URCU_CALL_RCU_RT (1U << 0)
#define URCU_CALL_RCU_RUNNING (1U << 1)
#define URCU_CALL_RCU_STOP (1U << 2)
#define URCU_CALL_RCU_STOPPED (1U << 3)
#define URCU_CALL_RCU_PAUSE (1U << 4)
#define URCU_CALL_RCU_PAUSED (1U << 5)

struct rcu_head {
    struct {
        void *next;
    } next;
    void (*func)(struct rcu_head *head);
};

/* krcu hands the head to its callback as a struct krcu_head: the same
 * layout, checked here. */
typedef char krcu__rcu_head_is_krcu_head[(sizeof(struct rcu_head) == sizeof(struct krcu_head) &&
                                          offsetof(struct rcu_head, func) ==
                                              offsetof(struct krcu_head, func))
                                             ? 1
                                             : -1];

void urcu_memb_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head));
void urcu_qsbr_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head));
void urcu_bp_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head));
void urcu_mb_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head));
void urcu_memb_barrier(void);
void urcu_qsbr_barrier(void);
void urcu_bp_barrier(void);
void urcu_mb_barrier(void);

struct call_rcu_data *urcu_memb_create_call_rcu_data(unsigned long flags, int cpu_affinity);
void urcu_memb_call_rcu_data_free(struct call_rcu_data *crdp);
struct call_rcu_data *urcu_memb_get_default_call_rcu_data(void);
struct call_rcu_data *urcu_memb_get_cpu_call_rcu_data(int cpu);
struct call_rcu_data *urcu_memb_get_thread_call_rcu_data(void);
struct call_rcu_data *urcu_memb_get_call_rcu_data(void);
pthread_t urcu_memb_get_call_rcu_thread(struct call_rcu_data *crdp);
void urcu_memb_set_thread_call_rcu_data(struct call_rcu_data *crdp);
int urcu_memb_set_cpu_call_rcu_data(int cpu, struct call_rcu_data *crdp);
int urcu_memb_create_all_cpu_call_rcu_data(unsigned long flags);
void urcu_memb_free_all_cpu_call_rcu_data(void);
void urcu_memb_call_rcu_before_fork(void);
void urcu_memb_call_rcu_after_fork_parent(void);
void urcu_memb_call_rcu_after_fork_child(void);

struct call_rcu_data *urcu_qsbr_create_call_rcu_data(unsigned long flags, int cpu_affinity);
void urcu_qsbr_call_rcu_data_free(struct call_rcu_data *crdp);
struct call_rcu_data *urcu_qsbr_get_default_call_rcu_data(void);
struct call_rcu_data *urcu_qsbr_get_cpu_call_rcu_data(int cpu);
struct call_rcu_data *urcu_qsbr_get_thread_call_rcu_data(void);
struct call_rcu_data *urcu_qsbr_get_call_rcu_data(void);
pthread_t urcu_qsbr_get_call_rcu_thread(struct call_rcu_data *crdp);
void urcu_qsbr_set_thread_call_rcu_data(struct call_rcu_data *crdp);
int urcu_qsbr_set_cpu_call_rcu_data(int cpu, struct call_rcu_data *crdp);
int urcu_qsbr_create_all_cpu_call_rcu_data(unsigned long flags);
void urcu_qsbr_free_all_cpu_call_rcu_data(void);
void urcu_qsbr_call_rcu_before_fork(void);
void urcu_qsbr_call_rcu_after_fork_parent(void);
void urcu_qsbr_call_rcu_after_fork_child(void);

#ifdef __cplusplus
}
#endif

#endif /* KRCU_URCU_CALL_RCU_H */
