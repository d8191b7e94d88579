//! The `Flavor` trait, read-side guards and registration guards.

use crate::domain::Stats;
use crate::head::{RcuCallback, RcuHead};
use crate::reader::ReaderRecord;
use crate::seq::GpCookie;
use std::fmt::Debug;
use std::marker::PhantomData;

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::Memb {}
    impl Sealed for crate::Qsbr {}
}

/// An RCU flavor: [`Memb`](crate::Memb) or [`Qsbr`](crate::Qsbr).
///
/// Each flavor has one process-wide domain. Data structures generic over
/// `F: Flavor` call these functions; the flavor modules
/// ([`memb`](crate::memb), [`qsbr`](crate::qsbr)) offer the same as free
/// functions.
pub trait Flavor: sealed::Sealed + Copy + Default + Debug + Send + Sync + 'static {
    /// "memb" or "qsbr".
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

    /// Queues `func(head)` to run after a grace period, on krcu's callback
    /// thread. Takes no lock, allocates nothing, never blocks; while more
    /// than about 128K callbacks wait to run it may yield the CPU to krcu's
    /// helper threads (a few times at most), so that a flood cannot outrun
    /// them without bound. The `_nolock` variants never yield.
    ///
    /// # Safety
    ///
    /// `head` points to a valid [`RcuHead`] that is not queued, and that stays
    /// valid and untouched by the caller until `func` runs.
    unsafe fn call_rcu(head: *mut RcuHead, func: RcuCallback);

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

    #[doc(hidden)]
    /// # Safety
    ///
    /// `rec` is the pointer the flavor's `read_lock` put in the guard.
    unsafe fn guard_drop(rec: *const ReaderRecord);
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
    /// memb: this thread's record, so leaving needs no thread-local lookup;
    /// qsbr: unused (null).
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
        unsafe { F::guard_drop(self.rec) };
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
        let idx = usize::from(F::NAME == "qsbr");
        let last = crate::registry::EXPLICIT.with(|c| {
            let mut v = c.get();
            v[idx] -= 1;
            c.set(v);
            v[idx] == 0
        });
        if last {
            if F::in_read_section() {
                crate::misuse(
                    &format!(
                        "a {} Registration dropped inside a read-side critical section",
                        F::NAME
                    ),
                    "end the read section (drop its guard) before unregistering",
                );
            }
            if idx == 0 {
                crate::memb::unregister_current();
            } else {
                crate::qsbr::unregister_current();
            }
        }
    }
}

pub(crate) fn count_registration(idx: usize) {
    crate::registry::EXPLICIT.with(|c| {
        let mut v = c.get();
        v[idx] += 1;
        c.set(v);
    });
}

/// The part of a flavor module that is the same for every flavor: the
/// cookie, deferral and stats functions, thin forwards to the module's
/// `DOMAIN`, and the [`Flavor`] impl forwarding to the module's functions.
/// The module defines what differs: the read side, registration,
/// `synchronize`, `barrier`, `cond_synchronize`, and `guard_drop`.
macro_rules! flavor_common {
    ($flavor:ident, $name:literal) => {
        /// Queues `func(head)` after a grace period. See
        /// [`Flavor::call_rcu`](crate::Flavor::call_rcu).
        ///
        /// # Safety
        ///
        /// As for [`Flavor::call_rcu`](crate::Flavor::call_rcu).
        #[inline]
        pub unsafe fn call_rcu(head: *mut RcuHead, func: RcuCallback) {
            DOMAIN.ensure_started();
            // SAFETY: forwarded contract.
            unsafe { DOMAIN.enqueue_throttled(head, func) };
        }

        /// [`call_rcu`] for any context, a signal handler that interrupted
        /// anything included: it never locks, allocates, waits or yields, and
        /// never starts threads; a wait-free enqueue and, if the helper
        /// sleeps, a futex wake. Until the domain has started (any
        /// registration, `call_rcu`, `synchronize` or `barrier` starts it),
        /// callbacks wait in the queue.
        ///
        /// # Safety
        ///
        /// As for [`Flavor::call_rcu`](crate::Flavor::call_rcu).
        #[inline]
        pub unsafe fn call_rcu_nolock(head: *mut RcuHead, func: RcuCallback) {
            // SAFETY: forwarded contract.
            unsafe { DOMAIN.enqueue(head, func) };
        }

        /// See [`Flavor::get_state`](crate::Flavor::get_state).
        pub fn get_state() -> GpCookie {
            DOMAIN.get_state()
        }

        /// See [`Flavor::poll_state`](crate::Flavor::poll_state).
        pub fn poll_state(cookie: GpCookie) -> bool {
            DOMAIN.poll_state(cookie)
        }

        /// See [`Flavor::start_poll`](crate::Flavor::start_poll).
        pub fn start_poll() -> GpCookie {
            let c = DOMAIN.get_state();
            DOMAIN.request(c);
            c
        }

        /// Runs `f` after a grace period, on the callback thread.
        pub fn defer(f: impl FnOnce() + Send + 'static) {
            crate::callback::defer::<$flavor>(f)
        }

        /// Drops `value` after a grace period, on the callback thread.
        pub fn defer_drop<T: Send + 'static>(value: Box<T>) {
            crate::callback::defer_drop::<$flavor, T>(value)
        }

        #[doc = concat!("The ", $name, " flavor's counters.")]
        pub fn stats() -> Stats {
            DOMAIN.stats()
        }

        impl Flavor for $flavor {
            const NAME: &'static str = $name;

            #[inline(always)]
            fn read_lock() -> Guard<Self> {
                read_lock()
            }
            fn in_read_section() -> bool {
                in_read_section()
            }
            fn register_thread() -> Registration<Self> {
                register_thread()
            }
            fn synchronize() {
                synchronize()
            }
            unsafe fn call_rcu(head: *mut RcuHead, func: RcuCallback) {
                // SAFETY: forwarded contract.
                unsafe { call_rcu(head, func) }
            }
            fn barrier() {
                barrier()
            }
            fn get_state() -> GpCookie {
                get_state()
            }
            fn poll_state(cookie: GpCookie) -> bool {
                poll_state(cookie)
            }
            fn start_poll() -> GpCookie {
                start_poll()
            }
            fn cond_synchronize(cookie: GpCookie) {
                cond_synchronize(cookie)
            }
            fn stats() -> Stats {
                stats()
            }
            #[inline(always)]
            unsafe fn guard_drop(rec: *const ReaderRecord) {
                // SAFETY: forwarded contract.
                unsafe { guard_drop(rec) }
            }
        }
    };
}
