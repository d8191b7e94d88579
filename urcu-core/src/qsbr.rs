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

pub use crate::flavor::Qsbr;
pub use crate::qsbr_reader::{Reader, ReaderGuard};

use crate::domain::grace::Pace;
use crate::domain::{Domain, FlavorImpl, Private, Stats};
use crate::flavor::{arm_exit_hook, Flavor, Guard, Registration};
use crate::head::{RcuCallback, RcuHead};
use crate::primitive::fence;
use crate::reader::{self, GpCounter, ReaderRecord, ReaderState};
use crate::seq::GpCookie;
use crossbeam_utils::CachePadded;
use std::cell::Cell;
use std::ptr;
use std::sync::atomic::Ordering::SeqCst;
use std::thread::LocalKey;

/// qsbr's counter group: what quiescent states copy.
static GP: CachePadded<GpCounter> = CachePadded::new(GpCounter::new());
pub(crate) static DOMAIN: Domain<Qsbr> = Domain::new("qsbr", &GP);

thread_local! {
    /// This thread's retired `RcuCell` nodes of this flavor (retire.rs).
    static RETIRED: std::cell::RefCell<crate::retired::Local> =
        const { std::cell::RefCell::new(crate::retired::Local::new(crate::retire::hand_off::<Qsbr>)) };
    /// This thread's qsbr record, or null when unregistered.
    static QSBR_REC: Cell<*const ReaderRecord> = const { Cell::new(ptr::null()) };
    /// Whether this thread is registered with qsbr and online: a plain copy
    /// of "QSBR_REC is set and its ctr is non-zero" that the read side can
    /// check without an atomic load.
    static QSBR_ONLINE: Cell<bool> = const { Cell::new(false) };
    /// Depth of `Guard<Qsbr>`s alive on this thread; checked by the qsbr
    /// functions that announce quiescence.
    static QSBR_NESTING: Cell<u32> = const { Cell::new(0) };
    /// Explicit qsbr registrations alive on this thread.
    static EXPLICIT: Cell<u32> = const { Cell::new(0) };
}

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
        crate::report::misuse(
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
    crate::flavor::count_registration::<Qsbr>();
    Registration::new()
}

/// Unregisters this thread (exit hook, last Registration drop).
fn unregister_current() {
    if QSBR_REC.with(|c| c.get()).is_null() {
        return;
    }
    // As memb's: no handler runs while the record is half torn down.
    let mask = crate::sys::block_all_signals();
    let rec = QSBR_REC.with(|c| c.replace(ptr::null()));
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
fn exit_thread() {
    let rec = QSBR_REC.with(|c| c.get());
    // A live Reader may have live guards, which krcu cannot count.
    if !rec.is_null()
        && (QSBR_NESTING.with(|n| n.get()) != 0 || crate::qsbr_rules::reader_alive())
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
    unsafe { Guard::entered(ptr::null()) }
}

#[cold]
#[inline(never)]
fn read_lock_slow() {
    if crate::helper::in_helper() {
        // A callback reading under qsbr: krcu's helpers are online only
        // for the callback that reads (see helper.rs), registered or not.
        thread_online();
        return;
    }
    if record().is_some() {
        crate::report::misuse(
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
            crate::report::misuse(
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
        crate::report::misuse(
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
    forbid_with_reader("qsbr::quiescent_state()");
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
    forbid_with_reader("qsbr::thread_offline()");
    go_offline();
}

/// [`thread_offline`] once its caller has checked the rules.
fn go_offline() {
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
#[track_caller]
pub fn offline<R>(f: impl FnOnce() -> R) -> R {
    forbid_in_read_section("qsbr::offline()");
    forbid_with_reader("qsbr::offline()");
    offline_checked(f)
}

/// [`offline`] once its caller has checked the rules (no read guard, no
/// `Reader` that did not ask).
fn offline_checked<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            if self.0 {
                thread_online();
            }
        }
    }
    let _restore = Restore(is_online());
    go_offline();
    f()
}

/// Waits for a grace period. An online thread goes offline for the wait.
#[track_caller]
pub fn synchronize() {
    forbid_in_read_section("qsbr::synchronize()");
    forbid_with_reader("qsbr::synchronize()");
    DOMAIN.ensure_init();
    let cookie = DOMAIN.get_state();
    offline_checked(|| DOMAIN.wait_for(cookie, Pace::Normal));
}

/// [`synchronize`], expedited: the writer rescans the readers without
/// sleeping for a while (they are seen the moment they announce a
/// quiescent state or go offline), then waits as `synchronize` does. Costs
/// the calling thread CPU time; never waits for a callback gather. See
/// [`Flavor::synchronize_expedited`].
#[track_caller]
pub fn synchronize_expedited() {
    forbid_in_read_section("qsbr::synchronize_expedited()");
    forbid_with_reader("qsbr::synchronize_expedited()");
    DOMAIN.ensure_init();
    let cookie = DOMAIN.get_state();
    offline_checked(|| DOMAIN.wait_for(cookie, Pace::Expedited));
}

/// Waits until every callback queued before the call has run. An online
/// thread goes offline for the wait.
#[track_caller]
pub fn barrier() {
    forbid_in_read_section("qsbr::barrier()");
    forbid_with_reader("qsbr::barrier()");
    crate::helper::forbid_in_callback("qsbr::barrier()");
    offline_checked(|| DOMAIN.barrier());
}

/// See [`Flavor::cond_synchronize`].
#[track_caller]
pub fn cond_synchronize(cookie: GpCookie) {
    if !DOMAIN.poll_state(cookie) {
        forbid_in_read_section("qsbr::cond_synchronize()");
        forbid_with_reader("qsbr::cond_synchronize()");
        DOMAIN.ensure_init();
        let target = DOMAIN.bounded(cookie);
        offline_checked(|| DOMAIN.wait_for(target, Pace::Normal));
    }
}

/// Refuses `what` (a function that makes the thread quiescent) on a thread
/// whose `Reader` did not ask for it: its guards are invisible to krcu.
#[inline]
#[track_caller]
pub(crate) fn forbid_with_reader(what: &str) {
    if crate::qsbr_rules::reader_alive() {
        crate::qsbr_rules::refuse_unless_asked(what, is_online());
    }
}

flavor_common!(Qsbr, "qsbr");

impl FlavorImpl for Qsbr {
    const STALL_HINT: &'static str =
        " (announce qsbr::quiescent_state(), or go offline with qsbr::thread_offline() around blocking calls)";

    fn domain() -> &'static Domain<Qsbr> {
        &DOMAIN
    }

    fn init(_: &GpCounter, _: Private) {}

    fn install_fork_handlers(_: Private) {
        crate::fork::install();
    }

    /// qsbr readers use real fences: so does the writer.
    #[inline]
    fn master_fence() {
        fence(SeqCst);
    }

    #[inline]
    fn fence_after_scan() {
        // qsbr readers use real fences: so does the writer, a SeqCst fence.
        fence(SeqCst);
    }

    fn reader_state(ctr: u64, gp: u64) -> ReaderState {
        reader::qsbr_state(ctr, gp)
    }

    fn current_record(_: Private) -> *const ReaderRecord {
        QSBR_REC.with(|c| c.get())
    }

    fn explicit_registrations(_: Private) -> &'static LocalKey<Cell<u32>> {
        &EXPLICIT
    }

    fn local_retire(_: Private) -> &'static LocalKey<std::cell::RefCell<crate::retired::Local>> {
        &RETIRED
    }

    fn unregister_current(_: Private) {
        unregister_current();
    }

    fn exit_current(_: Private) {
        exit_thread();
    }

    /// An online forking thread goes offline for the fork: the prepare
    /// handler takes the registry locks a grace period may hold while it
    /// waits for this thread.
    fn before_fork(_: Private) -> bool {
        let was_online = is_online();
        if was_online && crate::qsbr_rules::reader_alive() {
            crate::sys::die(
                "fork() called on a thread whose qsbr::Reader is online: the fork must take the thread \
                 offline, and krcu cannot see whether a guard of the Reader is alive; fork inside \
                 reader.offline(|| ...)",
            );
        }
        if was_online {
            thread_offline();
        }
        was_online
    }

    fn after_fork(was_online: bool, _: Private) {
        if was_online {
            thread_online();
        }
    }

    fn after_user_callback(_: Private) {
        crate::flavor::after_user_callback();
    }

    fn holds_up_grace_periods() -> bool {
        is_online()
    }

    fn leave_after_callback(_: Private) {
        if is_online() {
            thread_offline();
        }
    }

    #[inline(always)]
    unsafe fn guard_drop(rec: *const ReaderRecord) {
        let _ = rec; // qsbr guards carry no record
                     // Every guard raised the count once, so it is at least 1 here.
        QSBR_NESTING.with(|n| n.set(n.get() - 1));
    }
}
