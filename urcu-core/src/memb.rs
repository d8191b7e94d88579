//! The memb flavor: read sections cost a thread-local store and a compiler
//! fence; writers pay with `membarrier()`.
//!
//! Read sections nest and are async-signal-safe on a registered thread: a
//! signal handler may take and drop read locks, and leaves the interrupted
//! thread's state as it found it. Register the thread (or take one read lock)
//! before a handler may run on it, and keep it registered while one may (a
//! lazy registration takes one): a registration takes a lock and allocates,
//! which a handler must not do. krcu keeps that window closed itself where
//! it owns it: registration and unregistration run with signals blocked,
//! and from krcu's first thread-exit hook on, the exiting thread runs no
//! signal handler at all.
//!
//! ```
//! use urcu_core::{memb, RcuCell};
//!
//! let cell: RcuCell<u64> = RcuCell::new(1);
//! {
//!     let guard = memb::read_lock();
//!     assert_eq!(cell.load(&guard), Some(&1));
//! }
//! cell.store(2); // the old value is dropped after a grace period
//! memb::synchronize();
//! memb::barrier(); // ...and now it has been
//! ```

use crate::domain::{Domain, FlavorKind, Stats};
use crate::flavor::{count_registration, Flavor, Guard, Registration};
use crate::head::{RcuCallback, RcuHead};
use crate::reader::{self, GpCounter, ReaderRecord};
use crate::registry::{arm_exit_hook, MEMB_REC};
use crate::seq::GpCookie;
use crossbeam_utils::CachePadded;

/// memb's counter group: what read sections snapshot, at a link-time
/// address. With the `c-read-side` feature it is also the data symbol
/// `krcu__memb_gp_v3`, which krcu.h's inline read side reads (see
/// foreign.rs). The symbol stays exported from a shared library, so its
/// accesses from Rust go through the GOT, as C's `-fPIC` ones do, and a
/// program's copy relocation of it moves them too.
#[cfg_attr(feature = "c-read-side", export_name = "krcu__memb_gp_v3")]
pub(crate) static GP: CachePadded<GpCounter> = CachePadded::new(GpCounter::new());
pub(crate) static DOMAIN: Domain = Domain::new(FlavorKind::Memb, "memb", &GP);

/// The memb flavor (the default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Memb;

#[inline(always)]
pub(crate) fn record() -> &'static ReaderRecord {
    let rec = MEMB_REC.with(|c| c.get());
    if rec.is_null() {
        register_lazily()
    } else {
        // SAFETY: a non-null MEMB_REC is this thread's registered record:
        // leaked, or a foreign word valid while the thread is registered.
        unsafe { &*rec }
    }
}

#[cold]
#[inline(never)]
fn register_lazily() -> &'static ReaderRecord {
    // No handler's read section may run while the record is half set up:
    // it would register the thread again, under the lock we may hold.
    let mask = crate::sys::block_all_signals();
    let rec = register_with_signals_blocked();
    crate::sys::restore_signals(&mask);
    rec
}

fn register_with_signals_blocked() -> &'static ReaderRecord {
    // A foreign word (one in this thread's own memory, see foreign.rs) only
    // when the exit hook will unregister the thread before that memory dies.
    let armed = arm_exit_hook();
    let foreign = if armed {
        crate::foreign::word_for_this_thread()
    } else {
        None
    };
    // SAFETY: a foreign word comes from the source's contract: in
    // this thread's memory, valid until the exit hook unregisters us.
    let rec = unsafe { DOMAIN.register_current(foreign) };
    MEMB_REC.with(|c| c.set(rec));
    if !armed {
        // The thread is running its thread-local destructors: nothing will
        // unregister it. Its record stays registered, quiescent once this read
        // section ends, so it never delays a grace period.
        tracing::debug!(target: "krcu::core", "krcu: memb read section during thread teardown");
    }
    rec
}

/// Registers this thread with memb until the guard drops.
pub fn register_thread() -> Registration<Memb> {
    record();
    count_registration(0);
    Registration::new()
}

/// The exit hook: unregisters this thread, unless it is inside a read
/// section on its own record. A guard may then still be alive in a
/// thread-local destroyed after this hook, and will leave the section on
/// that record when it drops: the record must stay this thread's (never
/// pooled for another thread, whose nesting that drop would corrupt) and
/// stay waited for. It stays registered until the thread has ended
/// (`Domain::exit_in_section`). Signals are blocked for good already.
pub(crate) fn exit_current() {
    let rec = MEMB_REC.with(|c| c.get());
    // SAFETY: a non-null MEMB_REC is this thread's live record.
    if !rec.is_null() && reader::memb_nesting(unsafe { &*rec }) != 0 && DOMAIN.exit_in_section(rec)
    {
        // Read sections taken from here (later thread-locals) register
        // afresh; the guards alive keep `rec`.
        MEMB_REC.with(|c| c.set(std::ptr::null()));
        return;
    }
    unregister_current();
}

/// Unregisters this thread (exit hook, last Registration drop).
pub(crate) fn unregister_current() {
    if MEMB_REC.with(|c| c.get()).is_null() {
        return;
    }
    // No handler's read section may run from here until the record is
    // gone: it would find MEMB_REC cleared and register again, under the
    // registry lock this thread may hold. (At thread exit the hook has
    // blocked signals for good already.)
    let mask = crate::sys::block_all_signals();
    unregister_with_signals_blocked();
    crate::sys::restore_signals(&mask);
}

fn unregister_with_signals_blocked() {
    let rec = MEMB_REC.with(|c| c.replace(std::ptr::null()));
    // SAFETY: this thread's record: leaked, or a foreign word that lives
    // until the DOMAIN.unregister below returns.
    let rec = unsafe { &*rec };
    // A thread that exits inside a read section (a forgotten guard, a
    // pthread_exit) is out of it now: never leave a record that a grace
    // period would wait on forever.
    std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
    rec.ctr.store(0, std::sync::atomic::Ordering::Relaxed);
    DOMAIN.unregister(rec);
    // No writer reads the word any more: a foreign read side may mark it
    // unregistered, so that its next read section registers again.
    crate::foreign::run_unregister_hook();
}

/// Enters a read-side critical section; it ends when the guard drops.
///
/// # Panics
///
/// When sections are already nested 65534 deep on this thread (a guard
/// forgotten in a loop).
#[inline(always)]
pub fn read_lock() -> Guard<Memb> {
    let rec = record();
    reader::memb_lock(rec, &GP);
    // SAFETY: we just entered the section the guard will leave, on `rec`.
    unsafe { Guard::entered(rec) }
}

/// Enters a read-side critical section without a guard (for FFI and for
/// sections that span scopes); pair it with [`raw_read_unlock`].
///
/// # Panics
///
/// As [`read_lock`].
#[inline(always)]
pub fn raw_read_lock() {
    reader::memb_lock(record(), &GP);
}

/// Leaves a section entered with [`raw_read_lock`].
///
/// Unsafe because safe code could otherwise end the section a live guard
/// stands for:
///
/// ```compile_fail,E0133
/// let guard = urcu_core::memb::read_lock();
/// urcu_core::memb::raw_read_unlock(); // needs `unsafe`
/// drop(guard);
/// ```
///
/// # Safety
///
/// The section this leaves was entered with [`raw_read_lock`] on this
/// thread, and no reference obtained inside it is used afterwards. Leaving
/// a section that a live [`Guard`] stands for would end that guard's
/// protection while it still lends out references.
///
/// # Panics
///
/// If this thread is not inside a memb read section.
#[inline(always)]
pub unsafe fn raw_read_unlock() {
    reader::memb_unlock(record(), &GP);
}

/// Whether this thread is inside a memb read-side critical section
/// (liburcu's `rcu_read_ongoing`).
#[inline]
pub fn in_read_section() -> bool {
    let rec = MEMB_REC.with(|c| c.get());
    // SAFETY: as in `record`.
    !rec.is_null() && reader::memb_nesting(unsafe { &*rec }) != 0
}

/// Whether writers use `membarrier()` (true) or readers use real fences
/// (false: membarrier unavailable, or `KRCU_FORCE_FENCE=1`).
pub fn uses_membarrier() -> bool {
    DOMAIN.uses_membarrier()
}

/// The light half of memb's asymmetric fence pair (liburcu's
/// `smp_mb_slave`): a compiler fence while writers use `membarrier()`, a
/// full fence otherwise. Code that builds its own store-then-load handshake
/// in the style of memb's read side (a flag that a rare other thread must
/// see, checked against that thread's flag) puts this between its store and
/// its load, and the other side puts [`master_fence`] between its own.
///
/// The calling thread must have entered a memb read section at least once
/// (or called [`uses_membarrier`]), so that it has seen the domain's start.
#[inline(always)]
pub fn slave_fence() {
    reader::slave_fence(GP.reader_fences.load(std::sync::atomic::Ordering::Relaxed));
}

/// The heavy half of memb's asymmetric fence pair (liburcu's
/// `smp_mb_master`): `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, which
/// makes every [`slave_fence`] running at that moment a full fence, or a
/// full fence when readers use real fences. See [`slave_fence`].
pub fn master_fence() {
    DOMAIN.ensure_init();
    DOMAIN.master_fence();
}

#[track_caller]
fn forbid_in_read_section(what: &str) {
    if in_read_section() {
        crate::misuse(
            &format!("{what} called inside a memb read-side critical section would deadlock"),
            &format!(
                "drop the read guard before calling {what}, or defer the work with memb::call_rcu or memb::start_poll"
            ),
        );
    }
}

/// Waits for a grace period. See [`Flavor::synchronize`].
#[track_caller]
pub fn synchronize() {
    forbid_in_read_section("memb::synchronize()");
    DOMAIN.ensure_init();
    DOMAIN.wait_for(DOMAIN.get_state());
}

/// Waits until every callback queued before the call has run.
#[track_caller]
pub fn barrier() {
    forbid_in_read_section("memb::barrier()");
    crate::forbid_in_callback("memb::barrier()");
    DOMAIN.barrier();
}

/// See [`Flavor::cond_synchronize`].
#[track_caller]
pub fn cond_synchronize(cookie: GpCookie) {
    if !DOMAIN.poll_state(cookie) {
        forbid_in_read_section("memb::cond_synchronize()");
        DOMAIN.ensure_init();
        DOMAIN.wait_for(DOMAIN.bounded(cookie));
    }
}

flavor_common!(Memb, "memb");

/// Leaves the read section a guard entered.
///
/// # Safety
///
/// `rec` is what this flavor's `read_lock` put in the guard.
#[inline(always)]
unsafe fn guard_drop(rec: *const ReaderRecord) {
    // SAFETY: `rec` is this thread's leaked record, put in the guard by
    // `read_lock`; the guard is !Send, so this is still its thread.
    reader::memb_unlock(unsafe { &*rec }, &GP);
}
