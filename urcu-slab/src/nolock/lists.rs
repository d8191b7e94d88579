//! The `_nolock` calls' lock-free lists and hints: the deferred frees and
//! kfree_rcus, the barriers' drain tickets, the returned sheaves, and the
//! requests for the helper.

use super::deferred::{DrainTickets, LinkStack};
use crate::helper::PendingStack;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Objects a `_nolock` free could not free in place (linked through the
/// word a free object's freelist link uses).
pub(crate) static DEFERRED_FREE: LinkStack = LinkStack::new();
/// Objects a `_nolock` kfree_rcu could not queue in place (linked through
/// their kfree_rcu link).
pub(crate) static DEFERRED_RCU: LinkStack = LinkStack::new();

/// Barriers' drain requests and the helper's answers (deferred.rs).
pub(crate) static DRAIN: DrainTickets = DrainTickets::new();

/// Emptied `nolock` sheaves given back to the helper (to their cache).
pub(crate) static RETURNED: PendingStack = PendingStack::new();

/// Some slot asked for a stocked sheaf, or some thread for a slot table chunk,
/// or `kmalloc_nolock` for the size classes. Relaxed: hints, delivered by
/// the wake that follows them.
pub(crate) static WANT_STOCK: AtomicBool = AtomicBool::new(false);
pub(crate) static WANT_CHUNKS: AtomicBool = AtomicBool::new(false);
pub(crate) static WANT_KMALLOC: AtomicBool = AtomicBool::new(false);

/// Counts one event of a slow path.
#[inline]
pub(crate) fn count(c: &AtomicU64) {
    // Relaxed: a statistic.
    c.fetch_add(1, Ordering::Relaxed);
}

/// Objects on the deferred list now.
pub(crate) fn deferred_pending() -> u64 {
    DEFERRED_FREE.len() + DEFERRED_RCU.len()
}

/// Frees and kfree_rcu calls deferred so far.
pub(crate) fn deferred_totals() -> (u64, u64) {
    (DEFERRED_FREE.pushed(), DEFERRED_RCU.pushed())
}
