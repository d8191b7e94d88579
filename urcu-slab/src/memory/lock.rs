//! The slab layer's blocking lock: a futex mutex with no state outside its
//! own word.
//!
//! The fork handlers hold every slab lock across `fork()` and release them
//! in both processes. parking_lot's mutexes keep their waiters in a global
//! table: a thread of the parent parked on a lock at fork time stays queued
//! in the child's copy of that table, where an unlock may hand the lock to
//! it and the lock is then never free again (measured: the fork test hung
//! in about one run in fifteen). Here a waiter lives only in the kernel,
//! which forgets the parent's threads in the child, so releasing the word
//! is all an unlock needs there. (urcu-core uses std's futex mutexes for
//! the same reason; this one adds the `force_unlock` the fork handlers
//! need.)
//!
//! The word: 0 free, 1 locked, 2 locked with possible waiters (the classic
//! three-state futex mutex).

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU32, Ordering};
use urcu_core::__private::futex;

/// A mutual-exclusion lock over a `T`.
pub(crate) struct Mutex<T> {
    word: AtomicU32,
    data: UnsafeCell<T>,
}

// SAFETY: the data is only reached through a guard, which exists for one
// holder at a time.
unsafe impl<T: Send> Sync for Mutex<T> {}
// SAFETY: as std's Mutex: it owns its T.
unsafe impl<T: Send> Send for Mutex<T> {}

impl<T> Mutex<T> {
    pub(crate) const fn new(data: T) -> Self {
        Mutex {
            word: AtomicU32::new(0),
            data: UnsafeCell::new(data),
        }
    }

    /// Takes the lock, sleeping while another thread holds it.
    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        // Acquire: pairs with the Release in unlock(): the previous holder's
        // writes are visible.
        if self
            .word
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        MutexGuard { lock: self }
    }

    /// Takes the lock if it is free, never waiting: a lock held by anyone
    /// (another thread, or the code a signal handler interrupted) makes it
    /// fail. Async-signal-safe, as is dropping the guard (a swap and, with
    /// waiters, a futex wake).
    #[inline]
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        // Acquire: as in lock().
        self.word
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| MutexGuard { lock: self })
    }

    #[cold]
    fn lock_contended(&self) {
        // Spin briefly: holders keep these locks for a few list operations.
        for _ in 0..100 {
            std::hint::spin_loop();
            // Relaxed: a look before the CAS; the CAS's Acquire is the pair of
            // the unlock's Release.
            if self.word.load(Ordering::Relaxed) == 0
                && self
                    .word
                    .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return;
            }
        }
        // Acquire: as in lock(). Marking the word 2 makes the holder's
        // unlock wake a waiter.
        while self.word.swap(2, Ordering::Acquire) != 0 {
            futex::wait(&self.word, 2, None);
        }
    }

    fn unlock(&self) {
        // Release: pairs with the next holder's Acquire.
        if self.word.swap(0, Ordering::Release) == 2 {
            futex::wake(&self.word, 1);
        }
    }

    /// Releases a lock whose guard was given to [`std::mem::forget`].
    ///
    /// # Safety
    ///
    /// The lock is held, by a forgotten guard of the calling thread (or, in
    /// a fork child, of the thread that forked).
    pub(crate) unsafe fn force_unlock(&self) {
        self.unlock();
    }

    /// The data, for a caller that holds the lock through a forgotten
    /// guard.
    pub(crate) fn data_ptr(&self) -> *mut T {
        self.data.get()
    }
}

/// Holds a [`Mutex`]; releases it when dropped.
pub(crate) struct MutexGuard<'a, T> {
    lock: &'a Mutex<T>,
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

/// A reentrant lock on [`Mutex`]: the thread that holds it may take it
/// again (a kfree_rcu path that allocates a block under a thread state's
/// lock). The same futex word underneath, so a fork child can release it
/// (parking_lot's reentrant mutex keeps its waiters in a global table that
/// a child inherits with the parent's threads in it).
pub(crate) struct ReentrantMutex {
    inner: Mutex<()>,
    /// The holding thread (the address of a thread-local of its own), or
    /// 0. Relaxed: a thread compares it only with its own id, which only it
    /// stores; another thread's id is never mistaken for it.
    owner: std::sync::atomic::AtomicUsize,
    /// Times the owner holds it; touched only by the owner.
    depth: std::cell::Cell<u32>,
}

// SAFETY: `depth` is touched only by the thread that holds `inner`.
unsafe impl Sync for ReentrantMutex {}
// SAFETY: an unlocked mutex holds nothing of a thread.
unsafe impl Send for ReentrantMutex {}

fn this_thread() -> usize {
    thread_local! {
        static ID: u8 = const { 0 };
    }
    ID.with(|id| id as *const u8 as usize)
}

impl ReentrantMutex {
    pub(crate) const fn new() -> Self {
        ReentrantMutex {
            inner: Mutex::new(()),
            owner: std::sync::atomic::AtomicUsize::new(0),
            depth: std::cell::Cell::new(0),
        }
    }

    /// Takes the lock, or takes it once more if this thread holds it.
    pub(crate) fn lock(&self) -> ReentrantGuard<'_> {
        let me = this_thread();
        // Relaxed: `owner` equals this thread only if this thread stored it;
        // any other value means not us.
        if self.owner.load(Ordering::Relaxed) == me {
            self.depth.set(self.depth.get() + 1);
        } else {
            std::mem::forget(self.inner.lock());
            self.owner.store(me, Ordering::Relaxed);
            self.depth.set(1);
        }
        ReentrantGuard { lock: self }
    }

    fn unlock(&self) {
        let d = self.depth.get() - 1;
        self.depth.set(d);
        if d == 0 {
            // Relaxed: as above (the unlock's Release orders the data).
            self.owner.store(0, Ordering::Relaxed);
            // SAFETY: this thread took `inner` in lock() and forgot the
            // guard.
            unsafe { self.inner.force_unlock() };
        }
    }

    /// Releases a lock whose guard was given to [`std::mem::forget`], in a
    /// fork child (the forking thread took it once in the parent).
    ///
    /// # Safety
    ///
    /// As [`Mutex::force_unlock`]; the lock is held exactly once.
    pub(crate) unsafe fn force_unlock(&self) {
        self.unlock();
    }
}

/// Holds a [`ReentrantMutex`] once; releases that hold when dropped.
pub(crate) struct ReentrantGuard<'a> {
    lock: &'a ReentrantMutex,
}

impl Drop for ReentrantGuard<'_> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}
