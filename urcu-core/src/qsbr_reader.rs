//! qsbr's zero-cost safe read side: a per-thread [`Reader`] handle whose
//! guards borrow it.
//!
//! `qsbr::read_lock()` counts its guards in a thread-local, so that
//! `quiescent_state()` can refuse to run under one: a count per section.
//! A [`Reader`] needs no count. Its [`read_lock`](Reader::read_lock)
//! takes `&self` and its guards borrow the reader, while everything that
//! makes the thread quiescent ([`quiescent_state`](Reader::quiescent_state),
//! [`offline`](Reader::offline), [`synchronize`](Reader::synchronize),
//! [`barrier`](Reader::barrier)) takes `&mut self`: the borrow checker
//! refuses them while a guard lives, and the read side compiles to nothing.
//!
//! The rules that keep that promise where the borrow checker cannot see:
//!
//! * one `Reader` per thread (a second one's `&mut self` would not be
//!   exclusive with the first one's guards), never on krcu's callback
//!   threads (they go offline after every callback);
//! * while a `Reader` lives, the thread's free functions that announce a
//!   quiescent state or go offline (`qsbr::quiescent_state`,
//!   `qsbr::thread_offline`, and so `qsbr::offline`, `qsbr::synchronize`,
//!   `qsbr::barrier`, the slab barriers) panic, naming the `Reader` method
//!   to call instead: krcu cannot tell whether one of its guards is alive;
//! * `fork()` from a thread whose `Reader` is online aborts with the rule
//!   (the fork handler must take the thread offline, as it does for every
//!   online qsbr thread, and cannot tell whether a guard is alive); fork
//!   inside [`Reader::offline`], where no guard can be;
//! * a thread that exits with a `Reader` alive (leaked, or held by a
//!   thread-local destroyed after krcu's exit hook, whose guards may live
//!   as long) stays registered and online until it has ended, as one that
//!   exits inside a read section does.

use crate::flavor::Qsbr;
use crate::flavor::Registration;
use crate::qsbr;
use std::marker::PhantomData;

/// This thread's qsbr reader: registered and online while it lives, with a
/// read side that costs nothing. See the module's documentation for the
/// rules it adds.
///
/// ```
/// use urcu_core::{qsbr, RcuCell, Qsbr};
///
/// let cell: RcuCell<u64, Qsbr> = RcuCell::new(1);
/// let mut reader = qsbr::Reader::register();
/// {
///     let guard = reader.read_lock();
///     assert_eq!(cell.load(&guard), Some(&1));
/// }
/// reader.quiescent_state();
/// ```
///
/// While a guard lives, the reader cannot announce a quiescent state:
///
/// ```compile_fail,E0502
/// let mut reader = urcu_core::qsbr::Reader::register();
/// let guard = reader.read_lock();
/// reader.quiescent_state();
/// drop(guard);
/// ```
///
/// A reader belongs to its thread:
///
/// ```compile_fail,E0277
/// fn send<T: Send>(_: T) {}
/// send(urcu_core::qsbr::Reader::register());
/// ```
#[derive(Debug)]
pub struct Reader {
    _registration: Registration<Qsbr>,
    _not_send: PhantomData<*const ()>,
}

/// A qsbr read-side critical section of a [`Reader`]: zero-sized, free to
/// make and drop. References loaded under it (e.g.
/// [`RcuCell::load`](crate::RcuCell::load)) borrow it.
///
/// ```compile_fail,E0277
/// fn send<T: Send>(_: T) {}
/// let reader = urcu_core::qsbr::Reader::register();
/// send(reader.read_lock());
/// ```
#[must_use = "the read-side critical section ends when the guard is dropped"]
#[derive(Debug)]
pub struct ReaderGuard<'r> {
    _reader: PhantomData<&'r Reader>,
    _not_send: PhantomData<*const ()>,
}

impl Reader {
    /// Registers this thread with qsbr, online, until the reader drops.
    ///
    /// # Panics
    ///
    /// When this thread already has a `Reader`, or inside an RCU callback.
    #[track_caller]
    pub fn register() -> Reader {
        if crate::helper::in_helper() {
            crate::report::misuse(
                "a qsbr::Reader cannot live inside an RCU callback (the callback thread goes offline after each callback)",
                "use qsbr::read_lock() in callbacks",
            );
        }
        if crate::qsbr_rules::set_reader_alive(true) {
            crate::report::misuse(
                "this thread already has a qsbr::Reader: a second one could announce a quiescent state under the first one's guards",
                "pass the thread's Reader by reference (&Reader to read, &mut Reader to announce)",
            );
        }
        let registration = qsbr::register_thread();
        qsbr::thread_online();
        Reader {
            _registration: registration,
            _not_send: PhantomData,
        }
    }

    /// Enters a read-side critical section: no code at all. The thread is
    /// online (the reader's `&mut self` methods put it back online before
    /// they return), and while the guard borrows the reader nothing can
    /// make it quiescent.
    #[inline(always)]
    pub fn read_lock(&self) -> ReaderGuard<'_> {
        ReaderGuard {
            _reader: PhantomData,
            _not_send: PhantomData,
        }
    }

    /// Announces a quiescent state: no reference from before the call is
    /// held (the borrow checker has seen to that).
    ///
    /// # Panics
    ///
    /// Inside a `qsbr::read_lock()` section of this thread.
    #[track_caller]
    pub fn quiescent_state(&mut self) {
        crate::qsbr_rules::via_reader(qsbr::quiescent_state)
    }

    /// Runs `f` with the thread offline (around blocking calls, and around
    /// `fork()`), then puts it back online.
    #[track_caller]
    pub fn offline<R>(&mut self, f: impl FnOnce() -> R) -> R {
        struct Online;
        impl Drop for Online {
            fn drop(&mut self) {
                qsbr::thread_online();
            }
        }
        crate::qsbr_rules::via_reader(qsbr::thread_offline);
        let _online = Online;
        f()
    }

    /// Waits for a qsbr grace period, offline meanwhile.
    #[track_caller]
    pub fn synchronize(&mut self) {
        crate::qsbr_rules::via_reader(qsbr::synchronize)
    }

    /// [`synchronize`](Self::synchronize), expedited.
    #[track_caller]
    pub fn synchronize_expedited(&mut self) {
        crate::qsbr_rules::via_reader(qsbr::synchronize_expedited)
    }

    /// Waits until every qsbr callback queued before the call has run,
    /// offline meanwhile.
    #[track_caller]
    pub fn barrier(&mut self) {
        crate::qsbr_rules::via_reader(qsbr::barrier)
    }
}

impl crate::flavor::sealed::Sealed for ReaderGuard<'_> {}
impl crate::flavor::ReadSection<Qsbr> for ReaderGuard<'_> {}

impl Drop for Reader {
    fn drop(&mut self) {
        crate::qsbr_rules::set_reader_alive(false);
    }
}
