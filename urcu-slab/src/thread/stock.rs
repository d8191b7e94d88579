//! The `_nolock` calls' stock: a one-slot hand-off of full sheaves from
//! the helper to a thread, and the way back for emptied ones.
//!
//! A thread's `_nolock` calls allocate from their own sheaf, which only
//! they touch. When it runs low they ask the helper for another; the
//! helper fills one (under the locks a handler may not take) and
//! [`offer`]s it in the thread's [`StockSlot`], if the slot is empty. The
//! thread [`take`]s it with one swap, from any context (a signal handler
//! included), and pushes its emptied sheaf on the helper's `RETURNED`
//! stack (pending.rs), which the helper drains.
//!
//! The sheaf's contents move with it: the helper's Release install pairs
//! with the thread's Acquire swap (every object pointer it wrote is seen by
//! the pops that follow), and the stack's Release push with the helper's
//! Acquire take (the thread's pops are seen by `return_sheaf`).
//!
//! [`offer`]: StockSlot::offer
//! [`take`]: StockSlot::take

use crate::primitive::AtomicPtr;
use std::ptr;
use std::sync::atomic::Ordering;

/// One sheaf (or nothing) waiting for a thread's `_nolock` calls.
pub(crate) struct StockSlot<T>(AtomicPtr<T>);

impl<T> StockSlot<T> {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        StockSlot(AtomicPtr::new(ptr::null_mut()))
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        StockSlot(AtomicPtr::new(ptr::null_mut()))
    }

    /// The helper: installs `item` if nothing waits; gives it back if
    /// something does.
    pub(crate) fn offer(&self, item: *mut T) -> Result<(), *mut T> {
        // Release: the thread's Acquire swap in `take` sees what the helper
        // wrote into `item`. Relaxed on failure: `item` stays the helper's.
        self.0
            .compare_exchange(ptr::null_mut(), item, Ordering::Release, Ordering::Relaxed)
            .map(|_| ())
            .map_err(|_| item)
    }

    /// The owner (or whoever retires the slot): takes what waits, or null.
    pub(crate) fn take(&self) -> *mut T {
        // Acquire: pairs with `offer`'s Release.
        self.0.swap(ptr::null_mut(), Ordering::Acquire)
    }

    /// Whether something waits. A hint (Relaxed): statistics, and whether
    /// to ask the helper for more.
    pub(crate) fn peek(&self) -> *mut T {
        self.0.load(Ordering::Relaxed)
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::helper::pending::{PendingHead, PendingStack};
    use loom::cell::UnsafeCell;
    use loom::sync::Arc;
    use loom::thread;

    /// A sheaf: the pending head (for the way back), and its contents.
    #[repr(C)]
    struct Sheaf {
        head: PendingHead,
        objects: UnsafeCell<u32>,
    }

    struct Sheaves([Sheaf; 2]);
    // SAFETY: each sheaf is touched by one side at a time, handed over by
    // the protocol under test.
    unsafe impl Send for Sheaves {}
    unsafe impl Sync for Sheaves {}

    /// The helper fills a sheaf and offers it while the thread's `_nolock`
    /// call takes it, pops from it, and returns its emptied one; then the
    /// helper takes the returned sheaf back. Every access to a sheaf's
    /// contents is ordered after the last one of the side that handed it
    /// over. Weakening `offer`'s Release (or `take`'s Acquire) to Relaxed
    /// makes the thread's pops race with the helper's fill.
    #[test]
    fn loom_nolock_stock_and_return() {
        loom::model(|| {
            let slot = Arc::new(StockSlot::<Sheaf>::new());
            let returned = Arc::new(PendingStack::new());
            let sheaves = Arc::new(Sheaves([0u32, 1].map(|_| Sheaf {
                head: PendingHead::new(),
                objects: UnsafeCell::new(0),
            })));
            let full = &sheaves.0[0] as *const Sheaf as *mut Sheaf;
            let emptied = &sheaves.0[1] as *const Sheaf as *mut Sheaf;
            let thread = {
                let (slot, returned, sheaves) = (slot.clone(), returned.clone(), sheaves.clone());
                thread::spawn(move || {
                    let _keep = &sheaves;
                    // The thread's own sheaf, emptied by its pops.
                    // SAFETY: the thread's until it pushes it back.
                    unsafe { (*emptied).objects.with_mut(|n| *n = 0) };
                    let got = slot.take();
                    if !got.is_null() {
                        // SAFETY: the taken sheaf is the thread's now.
                        unsafe {
                            let n = (*got).objects.with(|n| *n);
                            assert_eq!(n, 64, "the stocked sheaf arrives full");
                            (*got).objects.with_mut(|n| *n -= 1);
                            returned.push(emptied.cast());
                        }
                    }
                })
            };
            // The helper stocks a full sheaf.
            // SAFETY: the helper's until offered.
            unsafe { (*full).objects.with_mut(|n| *n = 64) };
            let offered = slot.offer(full).is_ok();
            thread.join().unwrap();
            let mut back = 0;
            returned.take_all(|h| {
                // SAFETY: a returned sheaf is the helper's again.
                let n = unsafe { (*h.cast::<Sheaf>()).objects.with(|n| *n) };
                assert_eq!(n, 0, "the emptied sheaf comes back as the thread left it");
                back += 1;
            });
            assert!(offered);
            // Taken by the thread (and its emptied one returned), or still
            // waiting in the slot.
            assert!(back == 1 || slot.take() == full);
        });
    }
}
