//! The checks a kfree_rcu call makes: that the caller may wait (for the
//! forms that may), and that the object is not free or pending already.

use crate::helper;
use crate::memory::freemark;
use crate::memory::slab::Object;
use crate::stats::counters;
use urcu_core::{memb, qsbr};

/// Panics, naming the rule, when the caller may not wait for a grace
/// period and the helper (`what` is the public call, e.g.
/// `"kvfree_rcu_barrier()"`): inside a read-side critical section of either
/// flavor; for a barrier or a cache's destruction, inside any RCU callback
/// (`call_rcu`, `defer`, `rcu_dtor`), which runs on a krcu helper thread;
/// for the headless `kvfree_rcu`, on the reclaim helper (an `rcu_dtor`).
/// A qsbr thread that is online is fine: the waits go offline.
#[track_caller]
pub(crate) fn forbid_sleep(what: &str) {
    let headless = what.starts_with("kvfree_rcu(");
    if memb::in_read_section() || qsbr::in_read_section() {
        let instead = if headless {
            "end the read section first, or free through an embedded link with the two-argument kfree_rcu!, which never waits"
        } else {
            "end the read section (drop its guard) first"
        };
        crate::report::misuse(
            &format!("{what} called inside a read-side critical section may wait for a grace period, which would deadlock"),
            instead,
        );
    }
    if headless {
        if helper::on_helper() {
            crate::report::misuse(
                &format!("{what} called from an rcu_dtor would deadlock (the helper running it would wait for itself)"),
                "free objects directly with kfree from an rcu_dtor, or through an embedded link with the two-argument kfree_rcu!",
            );
        }
    } else {
        urcu_core::__private::forbid_in_callback(what);
    }
}

/// Marks the object pending before kfree_rcu (the public call `what`)
/// queues it. A double free when the object is pending already (a second
/// kfree_rcu, or one after kfree_nolock deferred it) or carries its free
/// mark (kfree_rcu after a free): see freemark.rs.
#[inline(always)]
#[track_caller]
pub(crate) fn mark_pending(o: &Object, what: &'static str) {
    if let Some(cache) = o.cache() {
        if freemark::marked(cache.free_key, o.start, cache.freeptr) {
            cache.double_free(o.start, what, "free");
        }
    }
    if !o.mark_pending() {
        double_kfree_rcu(o, what);
    }
}

/// Counts and reports a double kfree_rcu; out of line, so that the check
/// inlines into every caller.
#[cold]
#[inline(never)]
#[track_caller]
fn double_kfree_rcu(o: &Object, what: &str) -> ! {
    counters::add(&counters::DOUBLE, 1);
    crate::caches::double_free_pending(*o, what)
}
