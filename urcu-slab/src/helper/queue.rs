//! What producers and the helper share: the pending stack, the doorbell,
//! the wanted-work bits with the function each one runs, the monitor's
//! arm, the barrier mode, and the backlog gauge.
//!
//! Every mechanism that needs the helper names its work here by value: a
//! pending item carries the function that frees it ([`PendingHead`]), a
//! wanted-work bit the function that does the work ([`want`]), the monitor
//! the function it runs ([`arm_monitor`]). The helper's loop (`run.rs`)
//! runs them without knowing what they are, so it depends on nothing above
//! this module.
//!
//! Orderings: the items travel on the pending stack (Release push, Acquire
//! take); a wanted bit is set with Release after its function is stored, and
//! taken with Acquire. `ARMED`, `BARRIERS` and the tick are hints, stored
//! Relaxed and delivered by the ring that follows them (doorbell.rs): a hint
//! set before a ring is seen by the helper's next pass.

use super::doorbell::{self, Doorbell, Wanted};
use super::pending::{PendingHead, PendingStack};
use crate::thread::tls::current_if_set;
use crate::thread::ThreadSlab;
use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::time::Duration;
use urcu_core::{memb, qsbr, GpCookie};

/// Items handed to the helper.
pub(crate) static PENDING: PendingStack = PendingStack::new();
/// The helper's doorbell (doorbell.rs).
pub(crate) static BELL: Doorbell = Doorbell::new();
/// Objects handed to the helper and not yet freed: a gauge for the
/// throttle and the helper's backlog (Relaxed).
pub(crate) static QUEUED: AtomicU64 = AtomicU64::new(0);
/// Some thread has an open batch: the helper runs the monitor.
pub(crate) static ARMED: AtomicBool = AtomicBool::new(false);
/// Monitor periods elapsed; batches record the tick of their first object.
pub(crate) static TICK: AtomicU64 = AtomicU64::new(0);
/// Barrier markers submitted and not yet answered: while there are any,
/// the helper stops gathering and runs grace periods now ([`urgent`]).
/// Counted up by the barrier before it submits its marker, down by the
/// helper when it answers one, so the helper's own answer ends the urgency:
/// it does not go on looking for work until the barrier's caller, woken,
/// gets a CPU to say it is done.
pub(crate) static BARRIERS: AtomicU64 = AtomicU64::new(0);

/// Whether a barrier waits for its marker. Relaxed: a hint (see above).
pub(crate) fn urgent() -> bool {
    BARRIERS.load(Ordering::Relaxed) != 0
}

/// The helper answered a barrier's marker. Saturating: in a fork child the
/// count restarts at zero while the parent's markers may still be queued.
/// Relaxed: a hint (see above).
pub(crate) fn barrier_answered() {
    let _ = BARRIERS.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
        Some(v.saturating_sub(1))
    });
}
/// Objects waiting in the helper's queue that make it wait for grace
/// periods back to back rather than let more gather (a backlog): 16K
/// objects, 1 MiB of 64-byte objects.
pub(crate) const BACKLOG_OBJECTS: usize = 16 * 1024;

/// The monitor period in microseconds.
pub(crate) static MONITOR_US: AtomicU64 = AtomicU64::new(DEFAULT_MONITOR.as_micros() as u64);
/// How often the helper looks for aged batches: a batch waits at most about
/// two periods before it is handed off. The kernel's default is 20 ms
/// (`KFREE_DRAIN_JIFFIES`); a few ms keep idle memory low without waking
/// an idle process (the monitor sleeps when no batch is open).
pub const DEFAULT_MONITOR: Duration = Duration::from_millis(5);
/// Sets the monitor period (default [`DEFAULT_MONITOR`]); also
/// `KRCU_KFREE_MONITOR_MS` in the environment at first use.
pub fn set_monitor_period(period: Duration) {
    MONITOR_US.store(
        period.as_micros().clamp(100, 10_000_000) as u64,
        // Relaxed: a configuration value, delivered by the ring that follows.
        Ordering::Relaxed,
    );
    ring();
}

pub(crate) fn monitor_period() -> Duration {
    // Relaxed: see set_monitor_period.
    Duration::from_micros(MONITOR_US.load(Ordering::Relaxed))
}

/// Work a mechanism asks the helper for, besides its pending items: one bit
/// each in `WANTED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Work {
    /// The `_nolock` calls' lists and requests (nolock/drain.rs).
    Nolock = 0,
    /// The kfree_rcu block pool ran dry (kfree_rcu/block.rs).
    Blocks = 1,
    /// A cache's barn had no empty sheaf for kfree_rcu (caches).
    EmptySheaves = 2,
}

const WORKS: usize = 3;

/// The wanted-work bits and their functions (doorbell.rs).
static WANTED: Wanted<WORKS> = Wanted::new();
/// What the monitor runs, stored by [`arm_monitor`].
static MONITOR: AtomicPtr<()> = AtomicPtr::new(ptr::null_mut());

/// Asks the helper to run `run` at its next pass, as the work `work`. Sets
/// the bit only: the caller rings. Async-signal-safe.
#[inline]
pub(crate) fn want(work: Work, run: fn()) {
    WANTED.want(work as usize, run);
}

/// The helper: runs each wanted work once (every work ever asked for when
/// `all`: the first pass of a helper, which may follow a fork). Returns
/// whether any ran.
pub(crate) fn run_wanted(all: bool) -> bool {
    WANTED.take(all, |f| f())
}

/// Whether some work is wanted: the helper's last look before it sleeps.
pub(crate) fn work_wanted() -> bool {
    WANTED.any()
}

/// Arms the monitor with `run` (what a monitor pass does).
pub(crate) fn arm_monitor(run: fn()) {
    // Relaxed: published by the ring that follows (see the module's
    // orderings); the monitor always has the same function.
    MONITOR.store(run as *mut (), Ordering::Relaxed);
    ARMED.store(true, Ordering::Relaxed);
}

/// One monitor pass, if the monitor was ever armed.
pub(crate) fn run_monitor() {
    // Relaxed: stored before ARMED, which the caller read.
    let f = MONITOR.load(Ordering::Relaxed);
    if !f.is_null() {
        // SAFETY: only `arm_monitor` stores here, from an `fn()`.
        let f: fn() = unsafe { std::mem::transmute::<*mut (), fn()>(f) };
        f();
    }
}

/// Cookies for a grace period of both flavors that starts after this call.
/// They request nothing: the helper decides when to wait for them, so that
/// a flood of hand-offs does not turn into a flood of grace periods.
pub(crate) fn stamp() -> [GpCookie; 2] {
    [memb::get_state(), qsbr::get_state()]
}

/// Pushes `item`, to be freed by `free` once both grace periods of
/// `cookies` have passed, counting `objects`; does not ring or start the
/// helper (see `wake::submit`). Returns the backlog before it.
///
/// # Safety
///
/// `item` starts a pending item that `free` frees, owned by the helper from
/// now.
pub(crate) unsafe fn push(
    item: *mut PendingHead,
    free: unsafe fn(*mut PendingHead),
    cookies: [GpCookie; 2],
    objects: usize,
) -> u64 {
    // SAFETY: the item is the caller's until the push below.
    unsafe {
        (*item).free = free;
        (*item).cookies = cookies;
        (*item).objects = objects;
    }
    // Relaxed: a gauge; the item itself is published by the push.
    let before = QUEUED.fetch_add(objects as u64, Ordering::Relaxed);
    // SAFETY: the caller's contract.
    unsafe { PENDING.push(item) };
    before
}

thread_local! {
    /// Set on the helper thread.
    pub(crate) static ON_HELPER: Cell<bool> = const { Cell::new(false) };
}

/// Whether the caller is the reclaim helper (running an `rcu_dtor`).
pub(crate) fn on_helper() -> bool {
    ON_HELPER.with(Cell::get)
}

/// Wakes the helper if it sleeps (after the caller published work), or
/// records the ring for the end of this thread's scope.
pub(crate) fn ring() {
    if deferring(doorbell::IF_SLEEPING) {
        return;
    }
    BELL.ring();
}

/// Wakes the helper whatever it is doing (barriers, restocking), or records
/// the ring for the end of this thread's scope.
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

/// Records a ring for later if this thread is inside a [`defer_wakes`]
/// scope. Never in a `_nolock` call, which may be a signal handler that
/// interrupted the owner anywhere, even between the two steps that close
/// the scope: only the owner writes its scope (see doorbell.rs). The
/// orphan state never defers.
fn deferring(kind: u8) -> bool {
    let Some(ts) = current_if_set() else {
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

/// In a fork child: no helper exists, none sleeps, no barrier waits.
pub(crate) fn reset_after_fork() {
    // Relaxed (all): the child has one thread.
    BELL.reset();
    ARMED.store(false, Ordering::Relaxed);
    BARRIERS.store(0, Ordering::Relaxed);
    QUEUED.store(0, Ordering::Relaxed);
}
