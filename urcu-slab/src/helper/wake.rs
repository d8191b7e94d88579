//! Handing work to the helper: items to free after a grace period, work it
//! is asked for, the monitor; each starts the helper if it does not run and
//! rings it. And the throttle that keeps a flood from outrunning it.

use super::pending::PendingHead;
use super::queue::{self, Work, ARMED, BACKLOG_OBJECTS, QUEUED, TICK};
use super::start::ensure_started;
use crate::stats::counters;
use crate::thread::ThreadSlab;
use std::sync::atomic::Ordering;
use urcu_core::{memb, qsbr, GpCookie};

/// Asks the helper for `work` (which `run` does) at once, not at the next
/// monitor tick: the block pool ran dry, or a cache has no empty sheaf, and
/// the callers fall back to slower paths until the helper has restocked.
pub(crate) fn want_stock(work: Work, run: fn()) {
    ensure_started();
    queue::want(work, run);
    queue::ring_urgent();
}

/// Hands an item to the helper: after both grace periods of `cookies`, the
/// helper calls `free` on it.
///
/// # Safety
///
/// `item` starts a pending item that `free` frees, owned by the helper from
/// now; `objects` is how many objects that frees.
pub(crate) unsafe fn submit(
    item: *mut PendingHead,
    free: unsafe fn(*mut PendingHead),
    cookies: [GpCookie; 2],
    objects: usize,
) {
    ensure_started();
    // SAFETY: the caller's contract.
    let before = unsafe { queue::push(item, free, cookies, objects) };
    let n = objects as u64;
    if before < BACKLOG_OBJECTS as u64 && before + n >= BACKLOG_OBJECTS as u64 {
        // A backlog began: wake the helper even if it is letting items
        // gather.
        queue::ring_urgent();
    } else {
        queue::ring();
    }
}

/// Objects queued beyond which a kfree_rcu caller naps, leaving the CPU to
/// the helper (96K objects, 6 MiB of 64-byte objects): on a machine with
/// fewer cores than busy threads, a flood would otherwise outrun the helper
/// and the memory waiting for grace periods would grow without bound.
const THROTTLE_OBJECTS: u64 = 96 * 1024;
/// Most naps per call.
const THROTTLE_NAPS: u32 = 16;
/// One nap: a sleep, not a yield, as the core's `call_rcu` throttle does
/// (and for its reason: a yield gives the CPU only to a thread queued on
/// this one, so with the helper waiting on the other CPU the caller spins
/// on yields that return at once, and its CPU never goes idle for the
/// helper to be moved to). Measured with the kfree workload (10M
/// kfree_rcu, one reader, 2 CPUs, 6 alternated runs): yields 19.7-28.5M
/// calls/s, median 24.2M, up to 17.6K throttled looks a run; 10 us naps
/// 22.7-34.5M, median 28.5M, at most 26.
const THROTTLE_NAP: std::time::Duration = std::time::Duration::from_micros(10);

/// Called by kfree_rcu: while the helper is far behind, give it the CPU (a
/// few naps at most; never blocks).
#[inline]
pub(crate) fn throttle() {
    // Relaxed: a heuristic gauge.
    if QUEUED.load(Ordering::Relaxed) > THROTTLE_OBJECTS {
        throttle_slow();
    }
}

#[cold]
fn throttle_slow() {
    // A batch waits for a grace period of both flavors; a caller that one
    // of them waits for (a memb read section, an online qsbr thread)
    // cannot see the queue shrink by napping.
    if queue::on_helper() || memb::in_read_section() || qsbr::is_online() {
        return;
    }
    tracing::trace!(
            target: "krcu::slab",
        // Relaxed: a heuristic gauge.
        queued = QUEUED.load(Ordering::Relaxed),
        "krcu: kfree_rcu caller naps for the helper"
    );
    for _ in 0..THROTTLE_NAPS {
        if QUEUED.load(Ordering::Relaxed) <= THROTTLE_OBJECTS {
            break;
        }
        counters::add(&counters::THROTTLED, 1);
        std::thread::sleep(THROTTLE_NAP);
    }
}

/// A thread's batch got its first object: note the tick, and arm the
/// monitor with `monitor` (what one of its passes does) unless it is armed.
pub(crate) fn note_open_batch(ts: &ThreadSlab, monitor: fn()) {
    // Relaxed: the monitor's age hint (see ThreadSlab::batch_since).
    ts.batch_since
        .store(TICK.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    if !ARMED.load(Ordering::Relaxed) {
        ensure_started();
        queue::arm_monitor(monitor);
        queue::ring();
    }
}
