//! The `Flavor` trait and its two flavors, read-side guards, registration
//! guards, and the per-thread steps that concern every flavor at once: the
//! thread-exit hook and the end of a user callback on a helper thread.
//!
//! `Flavor`'s supertrait, [`FlavorImpl`], is the sealed half: every
//! behaviour that differs between flavors is one of its items, implemented
//! in the flavor's module next to the flavor's thread-locals. Code generic
//! over flavors, here and in the domain, calls those items and never asks
//! which flavor it serves.

use crate::domain::{FlavorImpl, Private, Stats};
use crate::head::{RcuCallback, RcuHead};
use crate::reader::ReaderRecord;
use crate::seq::GpCookie;
use std::cell::Cell;
use std::fmt::Debug;
use std::marker::PhantomData;

/// The memb flavor (the default): see [`memb`](crate::memb).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Memb;

/// The qsbr flavor: see [`qsbr`](crate::qsbr).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Qsbr;

/// An RCU flavor: [`Memb`](crate::Memb) or [`Qsbr`](crate::Qsbr).
///
/// Sealed: only krcu's two flavors implement it. Each flavor has one
/// process-wide domain. Data structures generic over
/// `F: Flavor` call these functions; the flavor modules
/// ([`memb`](crate::memb), [`qsbr`](crate::qsbr)) offer the same as free
/// functions.
pub trait Flavor: FlavorImpl + Copy + Default + Debug + Send + Sync + 'static {
    /// "memb" or "qsbr", for messages and `Debug` output; nothing chooses
    /// a behaviour by it.
    const NAME: &'static str;

    /// Enters a read-side critical section; it ends when the guard drops.
    fn read_lock() -> Guard<Self>;

    /// Whether this thread is inside a read-side critical section.
    fn in_read_section() -> bool;

    /// Registers this thread until the returned guard drops. Optional: first
    /// use registers lazily, and thread exit unregisters.
    fn register_thread() -> Registration<Self>;

    /// Waits for a grace period: every read-side critical section that began
    /// before the call has ended when it returns.
    ///
    /// # Panics
    ///
    /// Inside a read-side critical section of this flavor (that would
    /// deadlock).
    fn synchronize();

    /// [`synchronize`](Self::synchronize), expedited: the writer rescans the
    /// readers without sleeping for up to half a millisecond, so it returns
    /// the moment the last pre-existing reader leaves (memb) or announces a
    /// quiescent state (qsbr), then waits as `synchronize` does. It costs
    /// the calling thread CPU time, not the readers. Its grace period is
    /// one of the same sequence as every other, so cookies need no
    /// expedited variant (the kernel's `_full` cookies exist because its
    /// expedited grace periods keep a sequence of their own).
    ///
    /// # Panics
    ///
    /// As for [`synchronize`](Self::synchronize).
    fn synchronize_expedited();

    /// Queues `func(head)` to run after a grace period, on krcu's callback
    /// thread. Takes no lock, allocates nothing, never blocks; while more
    /// than about 32K callbacks wait to run, one call in 256 may sleep for
    /// a few microseconds at a time (64 times at most), leaving the CPU to
    /// krcu's helper threads, so that a flood cannot outrun them without
    /// bound. The `_nolock` variants never sleep.
    ///
    /// # Safety
    ///
    /// `head` points to a valid [`RcuHead`] that is not queued, and that stays
    /// valid and untouched by the caller until `func` runs.
    unsafe fn call_rcu(head: *mut RcuHead, func: RcuCallback);

    /// [`call_rcu`](Self::call_rcu), and a grace period starts for it (and
    /// for everything queued before it) at once instead of after the
    /// callbacks have gathered (`krcu::rcu::gather_time`, 1 ms by default).
    /// For a callback whose latency matters; a flood of them costs a grace
    /// period each. Like `call_rcu`, it never blocks.
    ///
    /// # Safety
    ///
    /// As for [`call_rcu`](Self::call_rcu).
    unsafe fn call_rcu_hurry(head: *mut RcuHead, func: RcuCallback);

    /// [`call_rcu`](Self::call_rcu) for any context, a signal handler that
    /// interrupted anything included: it never locks, allocates, waits or
    /// yields, and never starts threads. Until the domain has started (any
    /// registration, `call_rcu`, `synchronize` or `barrier` starts it),
    /// callbacks wait in the queue.
    ///
    /// # Safety
    ///
    /// As for [`call_rcu`](Self::call_rcu).
    unsafe fn call_rcu_nolock(head: *mut RcuHead, func: RcuCallback);

    /// Waits until every callback queued before the call has run.
    ///
    /// # Panics
    ///
    /// Inside a read-side critical section, or inside a callback.
    fn barrier();

    /// A cookie for a grace period that starts after this call.
    fn get_state() -> GpCookie;

    /// Whether the cookie's grace period has completed. Never blocks.
    fn poll_state(cookie: GpCookie) -> bool;

    /// Like [`get_state`](Self::get_state), and makes sure that grace period
    /// will run without anyone waiting for it.
    fn start_poll() -> GpCookie;

    /// [`start_poll`](Self::start_poll), with the grace period run
    /// expedited (see [`synchronize_expedited`](Self::synchronize_expedited)).
    /// The cookie is an ordinary one: poll it with
    /// [`poll_state`](Self::poll_state).
    fn start_poll_expedited() -> GpCookie;

    /// Waits for the cookie's grace period unless it has completed.
    ///
    /// Whatever the cookie (one of the other flavor's, or one no grace
    /// period produced), the wait ends after at most one full grace period
    /// that starts after the call.
    ///
    /// # Panics
    ///
    /// When it would wait inside a read-side critical section of this
    /// flavor.
    fn cond_synchronize(cookie: GpCookie);

    /// This flavor's counters.
    fn stats() -> Stats;
}

/// A live read-side critical section of flavor `F`, as the functions that
/// hand out references taken under one (`RcuCell::load`) accept it: a
/// [`Guard<F>`], or for qsbr a [`qsbr::ReaderGuard`](crate::qsbr::ReaderGuard).
/// Sealed: only krcu's guards are sections.
pub trait ReadSection<F: Flavor>: sealed::Sealed {}

impl<F: Flavor> sealed::Sealed for Guard<F> {}
impl<F: Flavor> ReadSection<F> for Guard<F> {}

pub(crate) mod sealed {
    /// Keeps [`ReadSection`](super::ReadSection) krcu's own.
    pub trait Sealed {}
}

/// A read-side critical section of flavor `F`; it ends when the guard drops.
///
/// `!Send`: a read section belongs to its thread. References loaded under a
/// guard (e.g. [`RcuCell::load`](crate::RcuCell::load)) borrow it.
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// send(urcu_core::memb::read_lock()); // a guard cannot leave its thread
/// ```
#[must_use = "the read-side critical section ends when the guard is dropped"]
#[derive(Debug)]
pub struct Guard<F: Flavor> {
    /// memb: the record the section is on (the thread's own word on the
    /// fast path), so leaving needs no thread-local lookup; qsbr: unused
    /// (null).
    rec: *const ReaderRecord,
    _marker: PhantomData<F>,
}

impl<F: Flavor> Guard<F> {
    /// # Safety
    ///
    /// The caller has just entered a read-side critical section of `F` on
    /// this thread, which this guard's drop will leave; `rec` is what the
    /// flavor's `guard_drop` expects.
    #[inline(always)]
    pub(crate) unsafe fn entered(rec: *const ReaderRecord) -> Self {
        Guard {
            rec,
            _marker: PhantomData,
        }
    }
}

impl<F: Flavor> Drop for Guard<F> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: `rec` is what `entered` was given by the flavor.
        unsafe { <F as FlavorImpl>::guard_drop(self.rec) };
    }
}

/// An explicit registration of this thread with flavor `F`; the thread is
/// unregistered when the last one drops (or when the thread exits).
#[must_use = "the thread is unregistered when the registration is dropped"]
#[derive(Debug)]
pub struct Registration<F: Flavor> {
    _marker: PhantomData<(F, *const ())>,
}

impl<F: Flavor> Registration<F> {
    pub(crate) fn new() -> Self {
        Registration {
            _marker: PhantomData,
        }
    }
}

impl<F: Flavor> Drop for Registration<F> {
    fn drop(&mut self) {
        let last = F::explicit_registrations(Private(())).with(|c| {
            c.set(c.get() - 1);
            c.get() == 0
        });
        if last {
            if F::in_read_section() {
                crate::report::misuse(
                    &format!(
                        "a {} Registration dropped inside a read-side critical section",
                        F::NAME
                    ),
                    "end the read section (drop its guard) before unregistering",
                );
            }
            F::unregister_current(Private(()));
        }
    }
}

/// Counts an explicit registration of this thread with `F`.
pub(crate) fn count_registration<F: FlavorImpl>() {
    F::explicit_registrations(Private(())).with(|c| c.set(c.get() + 1));
}

thread_local! {
    static EXIT_HOOK: ExitHook = const { ExitHook { armed: Cell::new(false) } };
}

/// Unregisters the thread from every flavor when the thread exits.
struct ExitHook {
    armed: Cell<bool>,
}

impl Drop for ExitHook {
    fn drop(&mut self) {
        if self.armed.get() {
            // From here to the thread's end no signal handler runs on it: a
            // handler's read section would find the record gone and
            // register the thread again (the registry lock, which the
            // unregistration below may hold; an allocation; Rust's
            // thread-locals, which are being destroyed). Signals aimed at
            // this thread are dropped when it ends, as the kernel does for
            // an exiting task; process-wide ones go to another thread.
            let _ = crate::sys::block_all_signals();
            Memb::exit_current(Private(()));
            Qsbr::exit_current(Private(()));
        }
    }
}

/// Arms this thread's exit hook. Returns false when the thread is already
/// running its thread-local destructors, so nothing will unregister it.
pub(crate) fn arm_exit_hook() -> bool {
    EXIT_HOOK.try_with(|h| h.armed.set(true)).is_ok()
}

/// Runs on a helper thread after each user callback: the thread leaves
/// every read side it entered, so that no grace period waits for it.
///
/// A callback (`call_rcu`'s function, a `defer` closure, the slab layer's
/// `rcu_dtor`) runs on a helper thread and may use either flavor's read
/// side: a qsbr read section there registers the helper online for it, and
/// `quiescent_state()` is allowed. What a helper must never do is *stay* a
/// reader once the callback returns: grace periods would then wait for a
/// thread that never announces anything. So this runs after every one of
/// them and takes the thread offline with qsbr; a section the callback left
/// open (a leaked guard) stops the process with the rule named, since
/// ending it would break the leaked guard's promise and keeping it would
/// stall every grace period.
#[inline]
pub(crate) fn after_user_callback() {
    // Plain thread-local reads on the common path: the callback used no
    // read side, or left it as it found it.
    if Memb::in_read_section() || Qsbr::in_read_section() {
        left_open();
    }
    Memb::leave_after_callback(Private(()));
    Qsbr::leave_after_callback(Private(()));
}

#[cold]
fn left_open() -> ! {
    // A section still open here belongs to a guard the callback leaked
    // (`mem::forget`, `Box::leak`) or a raw lock it never paired. Ending it
    // would break the promise of a leaked guard that a later callback may
    // still read through; keeping it would stall every grace period. Both
    // are worse than stopping with the rule named.
    crate::sys::die(
        "an RCU callback (call_rcu, defer or rcu_dtor) returned inside a read-side critical \
         section (a guard was leaked or forgotten, or a read lock was not paired); every \
         later grace period would wait for it forever. Drop every guard, or pair every \
         read lock with its unlock, before the callback returns",
    )
}
