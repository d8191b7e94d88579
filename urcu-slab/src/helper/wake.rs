//! Handing work to the helper and waking it: the pending stack, the
//! doorbell and its deferred rings, the hints that ask for restocking,
//! and the throttle that keeps a flood from outrunning the helper.

use super::doorbell::{self, Doorbell};
use super::pending::{PendingHead, PendingStack};
use super::run::{ARMED, BACKLOG_OBJECTS, STOCK, TICK};
use super::start::{ensure_started, on_helper};
use crate::memory::slab::Slab;
use crate::stats::counters;
use crate::thread::{self, ThreadSlab};
use std::sync::atomic::{AtomicU64, Ordering};
use urcu_core::memb;

pub(crate) static PENDING: PendingStack = PendingStack::new();
/// The helper's doorbell (doorbell.rs).
pub(crate) static BELL: Doorbell = Doorbell::new();

/// Wakes the helper if it sleeps (after the caller published work), or
/// records the ring for the end of this thread's scope.
pub(crate) fn ring() {
    if deferring(doorbell::IF_SLEEPING) {
        return;
    }
    BELL.ring();
}

/// Records a ring for later if this thread is inside a [`defer_wakes`]
/// scope. Never in a `_nolock` call, which may be a signal handler that
/// interrupted the owner anywhere, even between the two steps that close
/// the scope: only the owner writes its scope (see doorbell.rs). The
/// orphan state never defers.
fn deferring(kind: u8) -> bool {
    let Some(ts) = thread::current_if_set() else {
        return false;
    };
    if ts.is_orphan() || ts.in_nolock_call() {
        return false;
    }
    ts.wake_scope.defer(kind)
}

/// Runs `f` (a kfree_rcu path, inside `ts`'s busy window; `ts` is this
/// thread's own state, not the orphan) with the helper's wakes deferred
/// until it returns. A futex wake inside the window would let the woken
/// helper preempt this thread there; a flusher would then wait for the
/// window, and the window for the flusher's CPU: making the wake afterwards
/// keeps the window short.
#[inline(always)]
pub(crate) fn defer_wakes<R>(ts: &ThreadSlab, f: impl FnOnce() -> R) -> R {
    /// Closes the scope and makes the recorded ring, also if `f` unwinds.
    struct Scope<'a>(&'a ThreadSlab, u8);
    impl Drop for Scope<'_> {
        #[inline(always)]
        fn drop(&mut self) {
            let kind = self.0.wake_scope.close(self.1);
            if kind != doorbell::NONE {
                ring_deferred(kind);
            }
        }
    }
    debug_assert!(!ts.is_orphan());
    let _scope = Scope(ts, ts.wake_scope.open());
    f()
}

#[cold]
fn ring_deferred(kind: u8) {
    if kind == doorbell::ALWAYS {
        BELL.ring_always();
    } else {
        BELL.ring();
    }
}

/// Arms the monitor and wakes the helper.
fn kick() {
    ensure_started();
    ARMED.store(true, Ordering::Relaxed);
    ring();
}

/// Some cache wants empty sheaves, or the block pool ran dry: the helper
/// restocks at once (not at the next monitor tick), since the callers fall
/// back to slower paths until it has.
pub(crate) fn want_stock() {
    ensure_started();
    STOCK.store(true, Ordering::Relaxed);
    ring_urgent();
}

/// Hands an item to the helper.
///
/// # Safety
///
/// `item` starts a pending item of its kind, owned by the helper from now.
pub(crate) unsafe fn submit(item: *mut PendingHead) {
    ensure_started();
    let n = super::run::objects_in(item) as u64;
    // Relaxed: a gauge; the item itself is published by the push.
    let before = QUEUED.fetch_add(n, Ordering::Relaxed);
    // SAFETY: the caller's contract.
    unsafe { PENDING.push(item) };
    if before < BACKLOG_OBJECTS as u64 && before + n >= BACKLOG_OBJECTS as u64 {
        // A backlog began: wake the helper even if it is letting items
        // gather.
        ring_urgent();
    } else {
        ring();
    }
}

/// Objects handed to the helper and not yet freed.
pub(crate) static QUEUED: AtomicU64 = AtomicU64::new(0);

/// Objects queued beyond which a kfree_rcu caller yields the CPU to the
/// helper (64K objects, 4 MiB of 64-byte objects): on a machine with fewer
/// cores than busy threads, a flood would otherwise outrun the helper and
/// the memory waiting for grace periods would grow without bound.
const THROTTLE_OBJECTS: u64 = 96 * 1024;
/// Most yields per call.
const THROTTLE_YIELDS: u32 = 16;

/// Called by kfree_rcu outside any krcu read section: while the helper is
/// far behind, give it the CPU (a few times at most; never blocks).
#[inline]
pub(crate) fn throttle() {
    // Relaxed: a heuristic gauge.
    if QUEUED.load(Ordering::Relaxed) > THROTTLE_OBJECTS {
        throttle_slow();
    }
}

#[cold]
fn throttle_slow() {
    if on_helper() || memb::in_read_section() {
        return;
    }
    tracing::trace!(
            target: "krcu::slab",
        queued = QUEUED.load(Ordering::Relaxed),
        "krcu: kfree_rcu caller yields to the helper"
    );
    for _ in 0..THROTTLE_YIELDS {
        if QUEUED.load(Ordering::Relaxed) <= THROTTLE_OBJECTS {
            break;
        }
        counters::THROTTLED.fetch_add(1, Ordering::Relaxed);
        std::thread::yield_now();
    }
}

/// Hands a typesafe-by-RCU cache's empty slab to the helper, to be unmapped
/// after a grace period.
pub(crate) fn submit_slab(slab: *mut Slab) {
    // SAFETY: an empty slab off its node: ours to hand off.
    unsafe {
        (*slab).cookies = crate::kfree_rcu::batch::stamp();
        submit(slab.cast());
    }
}

/// A thread's batch got its first object: note the tick, arm the monitor.
pub(crate) fn note_open_batch(ts: &ThreadSlab) {
    ts.batch_since
        .store(TICK.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    if !ARMED.load(Ordering::Relaxed) {
        kick();
    }
}

/// Wakes the helper whatever it is doing (barriers, restocking).
pub(crate) fn ring_urgent() {
    if deferring(doorbell::ALWAYS) {
        return;
    }
    BELL.ring_always();
}

/// Wakes the helper whatever it is doing, from any context (a signal
/// handler included): an atomic increment and a futex wake, never deferred
/// to the end of a busy window (the caller may have interrupted one).
pub(crate) fn wake_from_anywhere() {
    BELL.ring_always();
}
