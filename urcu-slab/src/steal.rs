//! The steal flag: how another thread takes a thread's kfree_rcu state
//! without the owner paying for a lock (see `thread.rs` for the protocol
//! in context).
//!
//! ```text
//! owner                                   flusher
//! -----                                   -------
//! enter memb read section                 raise()            (steal += 1)
//! if may_enter():  use state lock-free    synchronize()      (memb grace period)
//! else: leave section, lock, use state    lock, use state, unlock
//! leave section                           lower()            (steal -= 1)
//! ```
//!
//! After the grace period, no owner section that saw `steal == 0` is still
//! running, and every later section sees `steal != 0`; so the flusher owns
//! the state under the lock. The owner's Acquire load pairs with `lower`'s
//! Release, so the owner sees what the flusher did. The flusher holds the
//! lock only after the grace period, so an owner blocked on the lock inside
//! its own read section cannot deadlock with it.

use crate::primitive::AtomicU32;
use std::sync::atomic::Ordering;

/// Count of flushers that want a thread's state.
pub(crate) struct StealFlag {
    steal: AtomicU32,
}

impl StealFlag {
    pub(crate) fn new(raised: bool) -> Self {
        StealFlag {
            steal: AtomicU32::new(u32::from(raised)),
        }
    }

    /// Owner, inside a read section: whether it may use its state without
    /// the lock.
    #[inline(always)]
    pub(crate) fn owner_may_enter(&self) -> bool {
        // Acquire: pairs with lower()'s Release. An increment this load
        // misses is ordered by the flusher's grace period, which waits for
        // this section.
        self.steal.load(Ordering::Acquire) == 0
    }

    /// Flusher, before its grace period.
    pub(crate) fn raise(&self) {
        // Relaxed: the grace period that follows starts with a full fence;
        // owner sections that begin after it see the increment.
        self.steal.fetch_add(1, Ordering::Relaxed);
    }

    /// Flusher, after its work under the lock.
    pub(crate) fn lower(&self) {
        // Release: pairs with owner_may_enter's Acquire.
        self.steal.fetch_sub(1, Ordering::Release);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::cell::UnsafeCell;
    use loom::sync::atomic::{fence, AtomicBool};
    use loom::sync::{Arc, Mutex};
    use loom::thread;

    /// A minimal RCU for the model: the reader's flag store is followed by
    /// a full fence (what membarrier() gives memb readers), and the grace
    /// period waits until the reader is outside its section.
    struct Rcu {
        active: AtomicBool,
    }

    impl Rcu {
        fn read_lock(&self) {
            self.active.store(true, Ordering::Relaxed);
            fence(Ordering::SeqCst);
        }
        fn read_unlock(&self) {
            self.active.store(false, Ordering::Release);
        }
        fn synchronize(&self) {
            fence(Ordering::SeqCst);
            while self.active.load(Ordering::Acquire) {
                thread::yield_now();
            }
        }
    }

    struct Thread {
        flag: StealFlag,
        lock: Mutex<()>,
        /// The kfree_rcu state: loom reports any access not ordered by the
        /// protocol.
        state: UnsafeCell<u32>,
    }

    /// An owner's two operations race a flusher's take: every access to
    /// the state is exclusive, and each update is seen exactly once.
    #[test]
    fn loom_steal_protocol() {
        loom::model(|| {
            let rcu = Arc::new(Rcu {
                active: AtomicBool::new(false),
            });
            let t = Arc::new(Thread {
                flag: StealFlag::new(false),
                lock: Mutex::new(()),
                state: UnsafeCell::new(0),
            });
            let owner = {
                let (rcu, t) = (rcu.clone(), t.clone());
                thread::spawn(move || {
                    for _ in 0..2 {
                        rcu.read_lock();
                        if t.flag.owner_may_enter() {
                            t.state.with_mut(|s| unsafe { *s += 1 });
                            rcu.read_unlock();
                        } else {
                            rcu.read_unlock();
                            let _g = t.lock.lock().unwrap();
                            t.state.with_mut(|s| unsafe { *s += 1 });
                        }
                    }
                })
            };
            // The flusher takes what the owner queued so far.
            t.flag.raise();
            rcu.synchronize();
            let taken = {
                let _g = t.lock.lock().unwrap();
                t.state
                    .with_mut(|s| unsafe { std::mem::replace(&mut *s, 0) })
            };
            t.flag.lower();
            owner.join().unwrap();
            let left = t.state.with(|s| unsafe { *s });
            assert_eq!(taken + left, 2, "an update was lost or seen twice");
        });
    }
}
