//! The helper's side of the `_nolock` calls: draining the deferred lists,
//! stocking sheaves and slot chunks, answering barriers' drain requests.

use super::lists::*;
use crate::caches::Sheaf;
use crate::helper;
use crate::kfree_rcu;
use crate::memory::slab;
use crate::thread;
use std::sync::atomic::Ordering;

/// The helper's pass: runs the normal path for deferred objects, fills
/// reserves and slot tables, and answers barriers' drain requests.
pub(crate) fn helper_pass() {
    DRAIN.pass(drain_and_stock, || {
        // A barrier waits: hand off what the deferred objects went into
        // (this thread's batch and sheaves), ahead of the barrier's marker.
        thread::with_rcu_state(|ts| kfree_rcu::flush_thread(ts, None, true));
    });
}

/// The pass's work: the deferred lists through the normal path, then the
/// reserves and slot tables `_nolock` calls asked for.
fn drain_and_stock() {
    DEFERRED_FREE.take_all(|word| {
        let o = slab::find(word).expect("a deferred object is a krcu object");
        match o.cache() {
            Some(cache) => {
                o.clear_pending();
                cache.free(o.start, "kfree_nolock");
            }
            // SAFETY: a large object given up by kfree_nolock, alone in its
            // mapping.
            None => unsafe { slab::release(o.slab) },
        }
    });
    DEFERRED_RCU.take_all(|link| {
        let o = slab::find(link).expect("a deferred object is a krcu object");
        thread::with_rcu_state(|ts| kfree_rcu::insert::insert(ts, &o, Some(link)));
    });
    // Relaxed: hints set before the wake that brought the helper here
    // (lists.rs).
    if WANT_KMALLOC.swap(false, Ordering::Relaxed) {
        crate::caches::kmalloc::init_classes();
    }
    if WANT_CHUNKS.swap(false, Ordering::Relaxed) {
        for ts in thread::all_states() {
            ts.install_wanted_chunks();
        }
    }
    RETURNED.take_all(|h| {
        let sheaf = h.cast::<Sheaf>();
        // SAFETY: a sheaf a thread gave up; its cache outlives it (destroy
        // runs a barrier, which waits for this pass).
        unsafe { (*sheaf).cache().return_sheaf(sheaf) };
    });
    // Relaxed: hints (see above).
    if WANT_STOCK.swap(false, Ordering::Relaxed) {
        for ts in thread::all_states() {
            for (id, slot) in ts.slots() {
                if !slot.want.swap(false, Ordering::Relaxed) {
                    continue;
                }
                if let Some(cache) = crate::caches::pin(id) {
                    cache.stock_nolock(slot);
                }
            }
        }
    }
}

/// A barrier's first step: has the helper drain the deferred list and hand
/// off what it queued; returns once it has.
pub(crate) fn drain_for_barrier() {
    DRAIN.request(wake);
}

/// In a fork child: no barrier is waiting, whatever the counters said.
pub(crate) fn after_fork_child() {
    DRAIN.reset();
}

/// Asks the helper for its `_nolock` pass ([`helper_pass`]) and wakes it,
/// whatever it is doing: async-signal-safe (atomic stores and a futex
/// wake).
pub(crate) fn wake() {
    helper::queue::want(helper::Work::Nolock, helper_pass);
    helper::wake_from_anywhere();
}

/// Asks the helper for its `_nolock` pass at its next pass, without waking
/// it: for work that may wait (an emptied sheaf given back).
pub(crate) fn want_pass() {
    helper::queue::want(helper::Work::Nolock, helper_pass);
}
