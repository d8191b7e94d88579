/* krcu's liburcu compatibility headers: <urcu/flavor.h>.
 *
 * struct rcu_flavor_struct has liburcu 0.15's layout: 0.13's members,
 * then the two polling calls 0.14 added, so code built against either
 * (liburcu-cds's rculfhash, which takes a const struct rcu_flavor_struct *)
 * finds each member where it looks. libkrcu defines urcu_memb_flavor and
 * urcu_qsbr_flavor over its urcu_memb_* and urcu_qsbr_* functions
 * (urcu_bp_flavor, urcu_mb_flavor and urcu_signal_flavor are memb's), so
 * such code runs on krcu's grace periods.
 *
 * urcu_register_rculfhash_atfork: rculfhash hands its resize worker's fork
 * steps to the flavor. krcu runs them from its own fork handlers (the
 * worker is paused before every fork and restarted in the child, with no
 * call from the program), and from call_rcu_before_fork() and the
 * after-fork calls as liburcu does; rculfhash counts nested calls, so a
 * program that makes those calls as well forks correctly either way.
 * Unregistering stops the steps once every registration is undone. */
#ifndef KRCU_URCU_FLAVOR_H
#define KRCU_URCU_FLAVOR_H

#include <stdbool.h>
#include <urcu/urcu-poll.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rcu_head;

struct urcu_atfork {
    void (*before_fork)(void *priv);
    void (*after_fork_parent)(void *priv);
    void (*after_fork_child)(void *priv);
    void *priv;
};

void urcu_register_rculfhash_atfork(struct urcu_atfork *atfork);
void urcu_unregister_rculfhash_atfork(struct urcu_atfork *atfork);
void urcu_memb_register_rculfhash_atfork(struct urcu_atfork *atfork);
void urcu_memb_unregister_rculfhash_atfork(struct urcu_atfork *atfork);
void urcu_qsbr_register_rculfhash_atfork(struct urcu_atfork *atfork);
void urcu_qsbr_unregister_rculfhash_atfork(struct urcu_atfork *atfork);

struct rcu_flavor_struct {
    void (*read_lock)(void);
    void (*read_unlock)(void);
    int (*read_ongoing)(void);
    void (*read_quiescent_state)(void);
    void (*update_call_rcu)(struct rcu_head *head, void (*func)(struct rcu_head *head));
    void (*update_synchronize_rcu)(void);
    void (*update_defer_rcu)(void (*fct)(void *p), void *p);

    void (*thread_offline)(void);
    void (*thread_online)(void);
    void (*register_thread)(void);
    void (*unregister_thread)(void);

    void (*barrier)(void);

    void (*register_rculfhash_atfork)(struct urcu_atfork *atfork);
    void (*unregister_rculfhash_atfork)(struct urcu_atfork *atfork);

    /* liburcu 0.14 and later. */
    struct urcu_gp_poll_state (*update_start_poll_synchronize_rcu)(void);
    bool (*update_poll_state_synchronize_rcu)(struct urcu_gp_poll_state state);
};

/* A flavor structure over the short names of the flavor included (with
 * URCU_API_MAP), as liburcu's: the inline ones give their address in the
 * program. */
#define DEFINE_RCU_FLAVOR(x)                                                 \
    const struct rcu_flavor_struct x = {                                     \
        .read_lock = rcu_read_lock,                                          \
        .read_unlock = rcu_read_unlock,                                      \
        .read_ongoing = rcu_read_ongoing,                                    \
        .read_quiescent_state = rcu_quiescent_state,                         \
        .update_call_rcu = call_rcu,                                         \
        .update_synchronize_rcu = synchronize_rcu,                           \
        .update_defer_rcu = defer_rcu,                                       \
        .thread_offline = rcu_thread_offline,                                \
        .thread_online = rcu_thread_online,                                  \
        .register_thread = rcu_register_thread,                              \
        .unregister_thread = rcu_unregister_thread,                          \
        .barrier = rcu_barrier,                                              \
        .register_rculfhash_atfork = urcu_register_rculfhash_atfork,         \
        .unregister_rculfhash_atfork = urcu_unregister_rculfhash_atfork,     \
        .update_start_poll_synchronize_rcu = start_poll_synchronize_rcu,     \
        .update_poll_state_synchronize_rcu = poll_state_synchronize_rcu,     \
    }

/* The included flavor's structure (the map names it), and each one's. */
extern const struct rcu_flavor_struct rcu_flavor;
extern const struct rcu_flavor_struct urcu_memb_flavor;
extern const struct rcu_flavor_struct urcu_qsbr_flavor;

#ifdef __cplusplus
}
#endif

#endif /* KRCU_URCU_FLAVOR_H */
