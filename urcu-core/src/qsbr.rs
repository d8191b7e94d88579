//! The qsbr flavor: read sections cost nothing; threads announce quiescent
//! states instead.
//!
//! A registered thread is *online*: grace periods wait for it to call
//! [`quiescent_state`], which promises that it holds no reference obtained
//! before the call. Around blocking calls a thread goes [`thread_offline`]
//! (or uses [`offline`]) so that it does not stall grace periods. A thread
//! that is online and never announces stalls every grace period: krcu warns
//! about it after the stall timeout.
//!
//! Guards ([`read_lock`]) are free in the generated code of a read loop, but
//! they still count nesting in a thread-local, so that announcing a
//! quiescent state or going offline while a guard is alive panics instead of
//! letting a reference outlive its protection.
//!
//! ```
//! use urcu_core::{qsbr, RcuCell, Qsbr};
//!
//! let cell: RcuCell<u64, Qsbr> = RcuCell::new(1);
//! let _reg = qsbr::register_thread();
//! {
//!     let guard = qsbr::read_lock();
//!     assert_eq!(cell.load(&guard), Some(&1));
//! }
//! qsbr::quiescent_state();
//! cell.store(2);
//! qsbr::synchronize(); // goes offline for the wait, as liburcu does
//! ```

use crate::domain::{Domain, FlavorKind, Stats};
use crate::flavor::{count_registration, Flavor, Guard, Registration};
use crate::head::{RcuCallback, RcuHead};
use crate::reader::{self, GpCounter, ReaderRecord};
use crate::registry::{arm_exit_hook, QSBR_NESTING, QSBR_ONLINE, QSBR_REC};
use crate::seq::GpCookie;
use crossbeam_utils::CachePadded;

/// qsbr's counter group: what quiescent states copy.
static GP: CachePadded<GpCounter> = CachePadded::new(GpCounter::new());
pub(crate) static DOMAIN: Domain = Domain::new(FlavorKind::Qsbr, "qsbr", &GP);

/// The qsbr flavor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Qsbr;

fn record() -> Option<&'static ReaderRecord> {
    let rec = QSBR_REC.with(|c| c.get());
    // SAFETY: non-null records are leaked and never freed.
    (!rec.is_null()).then(|| unsafe { &*rec })
}

/// Registers the thread (online) if it is not registered.
#[cold]
fn register_online() -> &'static ReaderRecord {
    if let Some(rec) = record() {
        return rec;
    }
    if !arm_exit_hook() {
        crate::misuse(
            "a qsbr thread registered during thread teardown would never go offline",
            "register the thread (qsbr::register_thread) before its thread-local destructors run",
        );
    }
    // As memb's: no handler runs while the record is half set up.
    let mask = crate::sys::block_all_signals();
    // SAFETY: no foreign word: the entry's own, which lives forever.
    let rec = unsafe { DOMAIN.register_current(None) };
    QSBR_REC.with(|c| c.set(rec));
    reader::qsbr_online(rec, &GP);
    QSBR_ONLINE.with(|c| c.set(true));
    crate::sys::restore_signals(&mask);
    rec
}

/// Registers this thread with qsbr, online, until the guard drops.
pub fn register_thread() -> Registration<Qsbr> {
    register_online();
    count_registration(1);
    Registration::new()
}

/// Unregisters this thread (exit hook, last Registration drop).
pub(crate) fn unregister_current() {
    if QSBR_REC.with(|c| c.get()).is_null() {
        return;
    }
    // As memb's: no handler runs while the record is half torn down.
    let mask = crate::sys::block_all_signals();
    let rec = QSBR_REC.with(|c| c.replace(std::ptr::null()));
    // SAFETY: non-null records are leaked and never freed.
    let rec = unsafe { &*rec };
    reader::qsbr_offline(rec, &GP);
    QSBR_ONLINE.with(|c| c.set(false));
    DOMAIN.unregister(rec);
    crate::sys::restore_signals(&mask);
}

/// The exit hook: as memb's `exit_current`. Inside a qsbr read section (a
/// guard alive in a thread-local destroyed later), the thread stays
/// registered and online, so grace periods keep waiting for it, until it
/// has ended; the guard's drop touches only this thread's nesting count.
pub(crate) fn exit_current() {
    let rec = QSBR_REC.with(|c| c.get());
    if !rec.is_null()
        && QSBR_NESTING.with(|n| n.get()) != 0
        && QSBR_ONLINE.with(|c| c.get())
        && DOMAIN.exit_in_section(rec)
    {
        return;
    }
    unregister_current();
}

/// Enters a read-side critical section; it ends when the guard drops.
///
/// Registers the thread (online) on first use.
///
/// # Panics
///
/// On a registered thread that is offline: its references would not be
/// protected.
#[inline(always)]
pub fn read_lock() -> Guard<Qsbr> {
    if !QSBR_ONLINE.with(|c| c.get()) {
        read_lock_slow();
    }
    QSBR_NESTING.with(|n| n.set(n.get() + 1));
    // SAFETY: the thread is online and the nesting count is raised; the
    // guard's drop lowers it.
    unsafe { Guard::entered(std::ptr::null()) }
}

#[cold]
#[inline(never)]
fn read_lock_slow() {
    if crate::registry::in_helper() {
        // A callback reading under qsbr: krcu's helpers are online only
        // for the callback that reads (see helper.rs), registered or not.
        thread_online();
        return;
    }
    if record().is_some() {
        crate::misuse(
            "qsbr read-side critical section on an offline thread is not protected",
            "call qsbr::thread_online() before reading, or read outside the offline region",
        );
    }
    register_online();
}

/// The qsbr read-side entry for FFI callers: nothing but the checks a
/// guard makes (liburcu's qsbr `rcu_read_lock` is empty; krcu's counts
/// nesting in a thread-local, in every build, so that announcing a
/// quiescent state, going offline or waiting for a grace period inside the
/// section is refused with the rule named).
///
/// # Panics
///
/// On a registered thread that is offline.
#[inline(always)]
pub fn raw_read_lock() {
    if !QSBR_ONLINE.with(|c| c.get()) {
        read_lock_slow();
    }
    QSBR_NESTING.with(|n| n.set(n.get() + 1));
}

/// The qsbr read-side exit for FFI callers; see [`raw_read_lock`].
///
/// ```compile_fail,E0133
/// let guard = urcu_core::qsbr::read_lock();
/// urcu_core::qsbr::raw_read_unlock(); // needs `unsafe`
/// drop(guard);
/// ```
///
/// # Safety
///
/// It pairs with an earlier [`raw_read_lock`] on this thread. Called
/// while only a [`Guard`] is alive, it would lower that guard's nesting
/// count, so that `quiescent_state()` or going offline would no longer be
/// refused while the guard still lends out references.
#[inline(always)]
pub unsafe fn raw_read_unlock() {
    guard_unlock();
}

#[inline(always)]
fn guard_unlock() {
    QSBR_NESTING.with(|n| {
        let v = n.get();
        if v == 0 {
            crate::misuse(
                "qsbr::raw_read_unlock() without a matching qsbr::raw_read_lock()",
                "pair every qsbr::raw_read_unlock() with a qsbr::raw_read_lock() on the same thread",
            );
        }
        n.set(v - 1)
    });
}

/// Whether a qsbr read guard is alive on this thread.
#[inline]
pub fn in_read_section() -> bool {
    QSBR_NESTING.with(|n| n.get()) != 0
}

/// Whether this thread is registered with qsbr and online.
pub fn is_online() -> bool {
    QSBR_ONLINE.with(|c| c.get())
}

#[track_caller]
fn forbid_in_read_section(what: &str) {
    if in_read_section() {
        crate::misuse(
            &format!("{what} called inside a qsbr read-side critical section would deadlock"),
            &format!("drop every qsbr read guard before calling {what}"),
        );
    }
}

/// Announces a quiescent state: this thread holds no reference obtained
/// before the call. Registers the thread (online) on first use; does nothing
/// on an offline thread.
#[inline]
#[track_caller]
pub fn quiescent_state() {
    forbid_in_read_section("qsbr::quiescent_state()");
    if QSBR_ONLINE.with(|c| c.get()) {
        if let Some(rec) = record() {
            reader::qsbr_quiescent(rec, &GP);
        }
    } else if record().is_none() {
        register_online();
    }
}

/// Takes this thread offline: grace periods stop waiting for it until
/// [`thread_online`]. Call it around blocking calls.
#[track_caller]
pub fn thread_offline() {
    forbid_in_read_section("qsbr::thread_offline()");
    if let (Some(rec), true) = (record(), is_online()) {
        reader::qsbr_offline(rec, &GP);
        QSBR_ONLINE.with(|c| c.set(false));
    }
}

/// Puts this thread back online (registering it on first use).
pub fn thread_online() {
    match record() {
        None => {
            register_online();
        }
        Some(rec) if !is_online() => {
            reader::qsbr_online(rec, &GP);
            QSBR_ONLINE.with(|c| c.set(true));
        }
        Some(_) => {}
    }
}

/// Runs `f` with this thread offline, and puts it back online afterwards
/// (also when `f` panics) if it was online before.
pub fn offline<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            if self.0 {
                thread_online();
            }
        }
    }
    let _restore = Restore(is_online());
    thread_offline();
    f()
}

/// Waits for a grace period. An online thread goes offline for the wait.
#[track_caller]
pub fn synchronize() {
    forbid_in_read_section("qsbr::synchronize()");
    DOMAIN.ensure_init();
    let cookie = DOMAIN.get_state();
    offline(|| DOMAIN.wait_for(cookie));
}

/// Waits until every callback queued before the call has run. An online
/// thread goes offline for the wait.
#[track_caller]
pub fn barrier() {
    forbid_in_read_section("qsbr::barrier()");
    crate::forbid_in_callback("qsbr::barrier()");
    offline(|| DOMAIN.barrier());
}

/// See [`Flavor::cond_synchronize`].
#[track_caller]
pub fn cond_synchronize(cookie: GpCookie) {
    if !DOMAIN.poll_state(cookie) {
        forbid_in_read_section("qsbr::cond_synchronize()");
        DOMAIN.ensure_init();
        let target = DOMAIN.bounded(cookie);
        offline(|| DOMAIN.wait_for(target));
    }
}

flavor_common!(Qsbr, "qsbr");

/// Leaves the read section a guard entered.
///
/// # Safety
///
/// `rec` is what this flavor's `read_lock` put in the guard.
#[inline(always)]
unsafe fn guard_drop(rec: *const ReaderRecord) {
    let _ = rec; // qsbr guards carry no record
                 // Every guard raised the count once, so it is at least 1 here.
    QSBR_NESTING.with(|n| n.set(n.get() - 1));
}
