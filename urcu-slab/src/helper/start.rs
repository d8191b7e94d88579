//! Starting the helper (once per process, and once more in a fork child),
//! its monitor period, the mark it runs under, and the locks that fork
//! takes from it.

use super::{queue, run};
use crate::memory::lock::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

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
    let _s = START.lock();
    // Relaxed: under START, which orders it against the Release store below;
    // the monitor period is a configuration value.
    if STARTED.load(Ordering::Relaxed) {
        return;
    }
    if let Some(ms) = std::env::var("KRCU_KFREE_MONITOR_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        queue::MONITOR_US.store(ms.clamp(1, 10_000) * 1000, Ordering::Relaxed);
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
    // Relaxed: the child has one thread; the next start takes START.
    STARTED.store(false, Ordering::Relaxed);
    queue::reset_after_fork();
}
