//! Starting the helper (once per process, and once more in a fork child),
//! its monitor period, the mark it runs under, and the locks that fork
//! takes from it.

use super::run::{self, ARMED, BARRIERS, STOCK, URGENT};
use super::wake::{BELL, QUEUED};
use crate::memory::lock::Mutex;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The monitor period in microseconds.
static MONITOR_US: AtomicU64 = AtomicU64::new(DEFAULT_MONITOR.as_micros() as u64);
/// How often the helper looks for aged batches: a batch waits at most about
/// two periods before it is handed off. The kernel's default is 20 ms
/// (`KFREE_DRAIN_JIFFIES`); a few ms keep idle memory low without waking
/// an idle process (the monitor sleeps when no batch is open).
pub const DEFAULT_MONITOR: Duration = Duration::from_millis(5);
/// Serialises the walks that take other threads' state locks: steal
/// rounds (barriers, the monitor) and a destroyed cache's clean-up. The
/// fork handlers take it, so no such walk holds a state's lock across a
/// fork (a pooled state, which the child keeps, would stay locked there).
pub(crate) static FLUSH: Mutex<()> = Mutex::new(());

/// Runs `f` with other threads' state locks ours to take (see FLUSH).
pub(crate) fn with_state_walk<R>(f: impl FnOnce() -> R) -> R {
    let _f = FLUSH.lock();
    f()
}

thread_local! {
    pub(crate) static ON_HELPER: Cell<bool> = const { Cell::new(false) };
}

/// Whether the caller is the reclaim helper (running an `rcu_dtor`).
pub(crate) fn on_helper() -> bool {
    ON_HELPER.with(Cell::get)
}

/// Sets the monitor period (default [`DEFAULT_MONITOR`]); also
/// `KRCU_KFREE_MONITOR_MS` in the environment at first use.
pub fn set_monitor_period(period: Duration) {
    MONITOR_US.store(
        period.as_micros().clamp(100, 10_000_000) as u64,
        Ordering::Relaxed,
    );
    super::wake::ring();
}

pub(crate) fn monitor_period() -> Duration {
    Duration::from_micros(MONITOR_US.load(Ordering::Relaxed))
}

/// Whether the helper runs (in this process: cleared in a fork child).
static STARTED: AtomicBool = AtomicBool::new(false);
/// Serialises starting the helper; taken around fork.
static START: Mutex<()> = Mutex::new(());

/// Whether the helper runs (a `_nolock` call may hand work off only then).
#[inline]
pub(crate) fn started() -> bool {
    // Acquire: as in ensure_started.
    STARTED.load(Ordering::Acquire)
}

/// Starts the helper once per process (and once more in a fork child).
#[inline]
pub(crate) fn ensure_started() {
    // Acquire: pairs with the Release store after the spawn.
    if !STARTED.load(Ordering::Acquire) {
        start();
    }
}

#[cold]
fn start() {
    // Before START is taken: the fork handlers take it (see fork.rs).
    crate::fork::install();
    let _s = START.lock();
    if STARTED.load(Ordering::Relaxed) {
        return;
    }
    if let Some(ms) = std::env::var("KRCU_KFREE_MONITOR_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        MONITOR_US.store(ms.clamp(1, 10_000) * 1000, Ordering::Relaxed);
    }
    // Signals blocked, as every krcu helper: it takes locks, so no signal
    // handler may run on it.
    urcu_core::__private::spawn_helper("krcu-kfree", || {
        // A panic here (a corrupted object found while freeing, a
        // panicking rcu_dtor) would leave barriers waiting forever.
        if std::panic::catch_unwind(run::helper).is_err() {
            urcu_core::__private::die(&[
                "the kfree_rcu helper thread panicked (see above); aborting, since no deferred free or barrier could complete",
            ]);
        }
    });
    STARTED.store(true, Ordering::Release);
}

/// Before fork: no helper start and no steal round may be in progress.
pub(crate) fn lock_for_fork() {
    std::mem::forget(START.lock());
    std::mem::forget(FLUSH.lock());
}

/// After fork, in either process: releases what [`lock_for_fork`] took.
///
/// # Safety
///
/// Called once after `lock_for_fork`, by the thread that forked.
pub(crate) unsafe fn unlock_after_fork() {
    // SAFETY: locked (and the guards forgotten) by lock_for_fork on this
    // thread.
    unsafe {
        FLUSH.force_unlock();
        START.force_unlock();
    }
}

/// In a fork child: the helper does not exist here. Whatever it held is
/// abandoned (the child's copy leaks); what was still on the pending stack
/// is freed by a new helper, started by the next call that needs it.
pub(crate) fn after_fork_child() {
    STARTED.store(false, Ordering::Relaxed);
    BELL.reset();
    ARMED.store(false, Ordering::Relaxed);
    STOCK.store(false, Ordering::Relaxed);
    URGENT.store(false, Ordering::Relaxed);
    BARRIERS.store(0, Ordering::Relaxed);
    QUEUED.store(0, Ordering::Relaxed);
    crate::nolock::after_fork_child();
}
