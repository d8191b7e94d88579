/* krcu's liburcu compatibility headers: <urcu/call-rcu.h>.
 *
 * struct rcu_head has liburcu's size and member order (the queue link,
 * then the callback): it is krcu's struct krcu_head. call_rcu runs the
 * callback after a grace period on krcu's callback thread of the flavor;
 * it never blocks, takes no lock and allocates nothing, and krcu's
 * krcu_call_rcu_nolock is the form for signal handlers. */
#ifndef KRCU_URCU_CALL_RCU_H
#define KRCU_URCU_CALL_RCU_H

#include <stddef.h>
#include <krcu.h>

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif

#endif /* KRCU_URCU_CALL_RCU_H */
