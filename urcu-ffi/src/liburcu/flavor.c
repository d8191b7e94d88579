/* liburcu's flavor structures, over libkrcu's exports under liburcu's
 * names (liburcu/mod.rs and read_side.c): code that takes a
 * const struct rcu_flavor_struct * (liburcu-cds's rculfhash, built against
 * liburcu) calls krcu through them. In C so that the structure is the
 * compat header's own, member for member. bp, mb and signal are memb's
 * structure under their names, as their functions are memb's. */
#include <stdbool.h>
#include <urcu/flavor.h>
#include <urcu/call-rcu.h>
#include <urcu/defer.h>

/* The exports the compat headers reach inline or through macros. */
void urcu_memb_read_lock(void);
void urcu_memb_read_unlock(void);
int urcu_memb_read_ongoing(void);
void urcu_memb_synchronize_rcu(void);
void urcu_memb_register_thread(void);
void urcu_memb_unregister_thread(void);
struct urcu_gp_poll_state urcu_memb_start_poll_synchronize_rcu(void);
bool urcu_memb_poll_state_synchronize_rcu(struct urcu_gp_poll_state state);
void urcu_qsbr_read_lock(void);
void urcu_qsbr_read_unlock(void);
int urcu_qsbr_read_ongoing(void);
void urcu_qsbr_quiescent_state(void);
void urcu_qsbr_thread_offline(void);
void urcu_qsbr_thread_online(void);
void urcu_qsbr_synchronize_rcu(void);
void urcu_qsbr_register_thread(void);
void urcu_qsbr_unregister_thread(void);
struct urcu_gp_poll_state urcu_qsbr_start_poll_synchronize_rcu(void);
bool urcu_qsbr_poll_state_synchronize_rcu(struct urcu_gp_poll_state state);

/* memb readers announce nothing and never go offline, as in liburcu. */
static void krcu__memb_nothing(void) {}

const struct rcu_flavor_struct urcu_memb_flavor = {
    .read_lock = urcu_memb_read_lock,
    .read_unlock = urcu_memb_read_unlock,
    .read_ongoing = urcu_memb_read_ongoing,
    .read_quiescent_state = krcu__memb_nothing,
    .update_call_rcu = urcu_memb_call_rcu,
    .update_synchronize_rcu = urcu_memb_synchronize_rcu,
    .update_defer_rcu = urcu_memb_defer_rcu,
    .thread_offline = krcu__memb_nothing,
    .thread_online = krcu__memb_nothing,
    .register_thread = urcu_memb_register_thread,
    .unregister_thread = urcu_memb_unregister_thread,
    .barrier = urcu_memb_barrier,
    .register_rculfhash_atfork = urcu_memb_register_rculfhash_atfork,
    .unregister_rculfhash_atfork = urcu_memb_unregister_rculfhash_atfork,
    .update_start_poll_synchronize_rcu = urcu_memb_start_poll_synchronize_rcu,
    .update_poll_state_synchronize_rcu = urcu_memb_poll_state_synchronize_rcu,
};

const struct rcu_flavor_struct urcu_qsbr_flavor = {
    .read_lock = urcu_qsbr_read_lock,
    .read_unlock = urcu_qsbr_read_unlock,
    .read_ongoing = urcu_qsbr_read_ongoing,
    .read_quiescent_state = urcu_qsbr_quiescent_state,
    .update_call_rcu = urcu_qsbr_call_rcu,
    .update_synchronize_rcu = urcu_qsbr_synchronize_rcu,
    .update_defer_rcu = urcu_qsbr_defer_rcu,
    .thread_offline = urcu_qsbr_thread_offline,
    .thread_online = urcu_qsbr_thread_online,
    .register_thread = urcu_qsbr_register_thread,
    .unregister_thread = urcu_qsbr_unregister_thread,
    .barrier = urcu_qsbr_barrier,
    .register_rculfhash_atfork = urcu_qsbr_register_rculfhash_atfork,
    .unregister_rculfhash_atfork = urcu_qsbr_unregister_rculfhash_atfork,
    .update_start_poll_synchronize_rcu = urcu_qsbr_start_poll_synchronize_rcu,
    .update_poll_state_synchronize_rcu = urcu_qsbr_poll_state_synchronize_rcu,
};

extern const struct rcu_flavor_struct urcu_bp_flavor __attribute__((alias("urcu_memb_flavor")));
extern const struct rcu_flavor_struct urcu_mb_flavor __attribute__((alias("urcu_memb_flavor")));
extern const struct rcu_flavor_struct urcu_signal_flavor
    __attribute__((alias("urcu_memb_flavor")));
