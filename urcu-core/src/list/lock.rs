//! A list's writer lock: a mutex that a thread already holding it is
//! refused, naming the rule, instead of waiting for itself forever.

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Mutex, MutexGuard, PoisonError};

pub(crate) struct WriterLock {
    mutex: Mutex<()>,
    /// The token of the thread holding the mutex, 0 when none.
    owner: AtomicUsize,
}

/// Held while a writer lives.
pub(crate) struct WriterGuard<'a> {
    lock: &'a WriterLock,
    _held: MutexGuard<'a, ()>,
}

/// This thread's token: the address of a thread-local, distinct among
/// living threads and never 0.
fn token() -> usize {
    thread_local! {
        static TOKEN: u8 = const { 0 };
    }
    TOKEN.with(|t| t as *const u8 as usize)
}

impl WriterLock {
    pub(crate) const fn new() -> Self {
        WriterLock {
            mutex: Mutex::new(()),
            owner: AtomicUsize::new(0),
        }
    }

    /// Takes the lock; panics, naming the rule, on the thread that holds
    /// it already (a second writer of one list on one thread would wait for
    /// itself).
    #[track_caller]
    pub(crate) fn lock(&self) -> WriterGuard<'_> {
        let me = token();
        // Relaxed: only this thread stores its own token here, and it reads
        // its own last store; another thread's store is never `me`.
        if self.owner.load(Relaxed) == me {
            crate::report::misuse(
                "a list's writer taken by the thread that already holds one would wait for itself forever",
                "use the writer this thread has (drop it first to take a new one)",
            );
        }
        let held = self.mutex.lock().unwrap_or_else(PoisonError::into_inner);
        // Relaxed: read back only by this thread (above), and cleared by
        // it before the mutex is released.
        self.owner.store(me, Relaxed);
        WriterGuard {
            lock: self,
            _held: held,
        }
    }
}

impl Drop for WriterGuard<'_> {
    fn drop(&mut self) {
        // Relaxed: as in `lock`; the mutex guard is released after this.
        self.lock.owner.store(0, Relaxed);
    }
}
