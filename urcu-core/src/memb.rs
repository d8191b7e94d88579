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

pub use crate::flavor::Memb;

use crate::domain::grace::Pace;
use crate::domain::{Domain, FlavorImpl, Private, Stats};
use crate::flavor::{arm_exit_hook, Flavor, Guard, Registration};
use crate::head::{RcuCallback, RcuHead};
use crate::primitive::{fence, AtomicBool};
use crate::reader::{self, GpCounter, ReaderRecord, ReaderState};
use crate::seq::GpCookie;
use crate::sys::membarrier;
use crossbeam_utils::CachePadded;
use std::cell::Cell;
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed, SeqCst};
use std::thread::LocalKey;

/// memb's counter group: what read sections snapshot, at a link-time
/// address. With the `c-read-side` feature it is also the data symbol
/// `krcu__memb_gp_v3`, which krcu.h's inline read side reads (see
/// foreign.rs). The symbol stays exported from a shared library, so its
/// accesses from Rust go through the GOT, as C's `-fPIC` ones do, and a
/// program's copy relocation of it moves them too.
#[cfg_attr(feature = "c-read-side", export_name = "krcu__memb_gp_v3")]
pub(crate) static GP: CachePadded<GpCounter> = CachePadded::new(GpCounter::new());
pub(crate) static DOMAIN: Domain<Memb> = Domain::new("memb", &GP);

/// Whether memb writers use membarrier. Set once, inside the domain's
/// initialisation, which every grace period and every registration passes
/// through first (the `Once` orders it), so Relaxed loads see it.
static USE_MEMBARRIER: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// This thread's retired `RcuCell` nodes of this flavor (retire.rs).
    static RETIRED: std::cell::RefCell<crate::retired::Local> =
        const { std::cell::RefCell::new(crate::retired::Local::new(crate::retire::hand_off::<Memb>)) };
    /// This thread's memb record, or null when unregistered. A
    /// `const`-initialised `Cell` with no destructor.
    static REC: Cell<*const ReaderRecord> = const { Cell::new(ptr::null()) };
    /// The record word krcu keeps in this thread's own memory, as the C
    /// header's inline read side keeps its (foreign.rs): the thread's record
    /// when no foreign word source is set. `UNREGISTERED` while it is not;
    /// no destructor, so valid until the thread has ended.
    static WORD: ReaderRecord = const { ReaderRecord::unregistered() };
    /// Explicit memb registrations alive on this thread.
    static EXPLICIT: Cell<u32> = const { Cell::new(0) };
}

#[inline(always)]
pub(crate) fn record() -> &'static ReaderRecord {
    let rec = REC.with(|c| c.get());
    if rec.is_null() {
        register_lazily()
    } else {
        // SAFETY: a non-null REC is this thread's registered record:
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
        crate::foreign::word_for_this_thread().or(Some(own_word()))
    } else {
        None
    };
    // SAFETY: a foreign word comes from the source's contract: in
    // this thread's memory, valid until the exit hook unregisters us.
    let rec = unsafe { DOMAIN.register_current(foreign) };
    REC.with(|c| c.set(rec));
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
    crate::flavor::count_registration::<Memb>();
    Registration::new()
}

/// The exit hook: unregisters this thread, unless it is inside a read
/// section on its own record. A guard may then still be alive in a
/// thread-local destroyed after this hook, and will leave the section on
/// that record when it drops: the record must stay this thread's (never
/// pooled for another thread, whose nesting that drop would corrupt) and
/// stay waited for. It stays registered until the thread has ended
/// (`Domain::exit_in_section`). Signals are blocked for good already.
fn exit_thread() {
    let rec = REC.with(|c| c.get());
    // SAFETY: a non-null REC is this thread's live record.
    if !rec.is_null() && reader::memb_nesting(unsafe { &*rec }) != 0 {
        let kept = if ptr::eq(rec, own_word()) {
            // The word dies with the thread: its entry takes the section
            // over, and the word stops being a record (later read sections
            // go to krcu, the guards alive count down on it harmlessly).
            let kept = DOMAIN.exit_in_section_on_own_word(rec);
            if kept {
                // SAFETY: this thread's word, valid until it has ended.
                reader::mark_word_unregistered(unsafe { &*rec });
            }
            kept
        } else {
            DOMAIN.exit_in_section(rec)
        };
        if kept {
            // Read sections taken from here (later thread-locals) register
            // afresh; the guards alive keep `rec`.
            REC.with(|c| c.set(ptr::null()));
            return;
        }
    }
    unregister_current();
}

/// The address of this thread's [`WORD`].
#[inline(always)]
fn own_word() -> *const ReaderRecord {
    WORD.with(|w| w as *const ReaderRecord)
}

/// Unregisters this thread (exit hook, last Registration drop).
fn unregister_current() {
    if REC.with(|c| c.get()).is_null() {
        return;
    }
    // No handler's read section may run from here until the record is
    // gone: it would find REC cleared and register again, under the
    // registry lock this thread may hold. (At thread exit the hook has
    // blocked signals for good already.)
    let mask = crate::sys::block_all_signals();
    unregister_with_signals_blocked();
    crate::sys::restore_signals(&mask);
}

fn unregister_with_signals_blocked() {
    let rec = REC.with(|c| c.replace(ptr::null()));
    // SAFETY: this thread's record: leaked, or a foreign word that lives
    // until the DOMAIN.unregister below returns.
    let rec = unsafe { &*rec };
    // A thread that exits inside a read section (a forgotten guard, a
    // pthread_exit) is out of it now: never leave a record that a grace
    // period would wait on forever.
    // The fence orders the section's accesses before the word's clear.
    fence(SeqCst);
    reader::clear_word(rec);
    DOMAIN.unregister(rec);
    // No writer reads the word any more: its read side marks it
    // unregistered, so that its next read section registers again.
    if ptr::eq(rec, own_word()) {
        reader::mark_word_unregistered(rec);
    } else {
        crate::foreign::run_unregister_hook();
    }
}

/// Enters a read-side critical section; it ends when the guard drops.
///
/// # Panics
///
/// When sections are already nested 65534 deep on this thread (a guard
/// forgotten in a loop).
#[inline(always)]
pub fn read_lock() -> Guard<Memb> {
    // The fast path, as the C header's inline one: the outermost section on
    // the thread's own word, at a fixed `fs:`-relative address.
    // SAFETY: this thread's own word, valid until it has ended; the guard
    // that keeps the pointer is `!Send`, so it is dropped on this thread.
    let word = unsafe { &*own_word() };
    if reader::memb_lock_outermost(word, &GP) {
        // SAFETY: we just entered the section the guard will leave, on
        // `word`, the thread's record.
        return unsafe { Guard::entered(word) };
    }
    read_lock_slow()
}

/// Nested sections, the thread's first, and threads whose record is not
/// their own word (a foreign word source, a registration in teardown).
#[cold]
#[inline(never)]
fn read_lock_slow() -> Guard<Memb> {
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
    let rec = REC.with(|c| c.get());
    // SAFETY: as in `record`.
    !rec.is_null() && reader::memb_nesting(unsafe { &*rec }) != 0
}

/// Whether writers use `membarrier()` (true) or readers use real fences
/// (false: membarrier unavailable, or `KRCU_FORCE_FENCE=1`).
pub fn uses_membarrier() -> bool {
    DOMAIN.ensure_init();
    // Relaxed: set inside the initialisation just passed (see its static).
    USE_MEMBARRIER.load(Relaxed)
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
    reader::slave_fence_of(&GP);
}

/// The heavy half of memb's asymmetric fence pair (liburcu's
/// `smp_mb_master`): `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, which
/// makes every [`slave_fence`] running at that moment a full fence, or a
/// full fence when readers use real fences. See [`slave_fence`].
pub fn master_fence() {
    DOMAIN.ensure_init();
    <Memb as FlavorImpl>::master_fence();
}

#[track_caller]
fn forbid_in_read_section(what: &str) {
    if in_read_section() {
        crate::report::misuse(
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
    DOMAIN.wait_for(DOMAIN.get_state(), Pace::Normal);
}

/// [`synchronize`], expedited: after the grace period's membarrier() the
/// writer rescans the readers without sleeping for a while (each is seen
/// the moment it leaves its section), then waits as `synchronize` does.
/// Costs the calling thread CPU time; never waits for a callback gather.
/// See [`Flavor::synchronize_expedited`].
#[track_caller]
pub fn synchronize_expedited() {
    forbid_in_read_section("memb::synchronize_expedited()");
    DOMAIN.ensure_init();
    DOMAIN.wait_for(DOMAIN.get_state(), Pace::Expedited);
}

/// Waits until every callback queued before the call has run.
#[track_caller]
pub fn barrier() {
    forbid_in_read_section("memb::barrier()");
    crate::helper::forbid_in_callback("memb::barrier()");
    DOMAIN.barrier();
}

/// See [`Flavor::cond_synchronize`].
#[track_caller]
pub fn cond_synchronize(cookie: GpCookie) {
    if !DOMAIN.poll_state(cookie) {
        forbid_in_read_section("memb::cond_synchronize()");
        DOMAIN.ensure_init();
        DOMAIN.wait_for(DOMAIN.bounded(cookie), Pace::Normal);
    }
}

mod foreign_steps;
pub use foreign_steps::{foreign_reader_word, foreign_wake_writer, foreign_wake_writer_for};

flavor_common!(Memb, "memb");

impl FlavorImpl for Memb {
    const STALL_HINT: &'static str = "";

    fn domain() -> &'static Domain<Memb> {
        &DOMAIN
    }

    fn init(gp: &GpCounter, _: Private) {
        let forced = std::env::var_os("KRCU_FORCE_FENCE").is_some_and(|v| v == "1");
        if !forced && membarrier::register_private_expedited() {
            // Writers switch to membarrier before readers drop their
            // fences: a reader that sees the fences off (through the
            // registry mutex it takes next) is covered. Relaxed: see the
            // static.
            USE_MEMBARRIER.store(true, Relaxed);
            reader::use_compiler_fences(gp);
        }
        tracing::debug!(target: "krcu::core", membarrier = !forced, "krcu memb domain started");
    }

    fn install_fork_handlers(_: Private) {
        crate::fork::install();
    }

    #[inline]
    fn master_fence() {
        // Relaxed: see the static.
        if USE_MEMBARRIER.load(Relaxed) {
            membarrier::private_expedited();
        } else {
            fence(SeqCst);
        }
    }

    /// On x86-64 a memb writer needs no second `membarrier()` here, which
    /// halves the cost of a grace period. The scan has read each waited-for
    /// reader's quiescent `ctr`, which the reader stored after its critical
    /// section with only a compiler fence in between. x86-TSO never reorders
    /// a load with a later store, nor two stores, so the section's loads
    /// were performed, and its stores committed, before that `ctr` store
    /// committed. The writer's later stores (the frees, or the Release end
    /// of the sequence that the callback thread Acquires before freeing)
    /// commit after its load of `ctr` was performed, for the same reason, and
    /// TSO is multi-copy atomic. So no section can read a freed object.
    /// The Acquire fence keeps the compiler from hoisting later accesses
    /// above the scan's loads. The first master fence (step 2) stays: the
    /// store-buffering pattern it orders is what TSO does allow.
    /// Elsewhere, and in fence mode, this is the full master fence.
    #[inline]
    fn fence_after_scan() {
        // Relaxed: see the static.
        #[cfg(target_arch = "x86_64")]
        if USE_MEMBARRIER.load(Relaxed) {
            fence(Acquire);
            return;
        }
        <Memb as FlavorImpl>::master_fence();
    }

    fn reader_state(ctr: u64, gp: u64) -> ReaderState {
        reader::memb_state(ctr, gp)
    }

    fn current_record(_: Private) -> *const ReaderRecord {
        REC.with(|c| c.get())
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

    fn before_fork(_: Private) -> bool {
        if in_read_section() {
            crate::sys::die(
                "fork() called inside a memb read-side critical section would deadlock (a grace \
                 period may be waiting for this thread); end the read section (drop its guard) before fork",
            );
        }
        false
    }

    fn after_fork(_: bool, _: Private) {}

    fn after_user_callback(_: Private) {
        crate::flavor::after_user_callback();
    }

    fn leave_after_callback(_: Private) {}

    fn holds_up_grace_periods() -> bool {
        in_read_section()
    }

    #[inline(always)]
    unsafe fn guard_drop(rec: *const ReaderRecord) {
        // SAFETY: `rec` is this thread's record (its own word, or the one
        // `read_lock_slow` found), put in the guard by `read_lock`; the
        // guard is !Send, so this is still its thread.
        reader::memb_unlock(unsafe { &*rec }, &GP);
    }
}
