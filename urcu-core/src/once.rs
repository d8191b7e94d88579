//! One-time initialisation that survives `fork()`.
//!
//! `std::sync::Once` keeps a "running" state while its closure runs; a
//! `fork()` from another thread at that moment copies the state into a
//! child where the running thread does not exist, and every later call
//! there waits for it forever. krcu's first call can race a fork in the
//! application (a server that forks workers while another thread starts
//! up), so its one-time steps use [`ForkOnce`] instead: the running state
//! names the process that runs the closure (its pid), and a caller that
//! finds it named by another process, its own parent, knows that the
//! runner vanished in a fork and runs the closure itself.
//!
//! A closure may therefore run twice: once cut short in the parent's copy
//! of memory, once whole in the child. krcu's closures only do steps that
//! may be repeated after a partial run (a system call that registers the
//! same thing again, a cache whose half-made copy is leaked); each use says
//! why it may.

use crate::sys::futex;
use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU32, Ordering};

const NEW: u32 = 0;
const DONE: u32 = 1;
/// Low bits of a running state; the pid is above them (pids fit in 22
/// bits: the kernel's `PID_MAX_LIMIT`).
const RUNNING: u32 = 2;

fn running_here() -> u32 {
    // SAFETY: getpid takes no arguments and cannot fail.
    let pid = unsafe { libc::getpid() } as u32;
    (pid << 2) | RUNNING
}

/// A `Once` whose closure a fork child runs again if the fork caught it
/// running.
pub struct ForkOnce {
    state: AtomicU32,
}

impl ForkOnce {
    /// A `ForkOnce` that has not run.
    pub const fn new() -> Self {
        ForkOnce {
            state: AtomicU32::new(NEW),
        }
    }

    /// Whether the closure has completed (in this process's memory).
    #[inline]
    pub fn is_completed(&self) -> bool {
        // Acquire: pairs with the Release store that ends `call_once`.
        self.state.load(Ordering::Acquire) == DONE
    }

    /// Runs `f` unless it has completed; returns once it has (run here, by
    /// another thread, or again here when a fork cut a run short). A panic
    /// in `f` leaves the `ForkOnce` as new.
    #[inline]
    pub fn call_once(&self, f: impl FnOnce()) {
        if !self.is_completed() {
            self.call_once_slow(f);
        }
    }

    #[cold]
    fn call_once_slow(&self, f: impl FnOnce()) {
        let me = running_here();
        let mut f = Some(f);
        loop {
            // Acquire: as in is_completed.
            let s = self.state.load(Ordering::Acquire);
            if s == DONE {
                return;
            }
            if s == me {
                // Another thread of this process runs it: wait for it.
                futex::wait(&self.state, s, None);
                continue;
            }
            // New, or running in a process that is not this one (the
            // parent, before the fork that made this child): take it.
            // Acquire: see what a completed run published, if it completes
            // meanwhile (then the exchange fails and we loop).
            if self
                .state
                .compare_exchange(s, me, Ordering::Acquire, Ordering::Acquire)
                .is_err()
            {
                continue;
            }
            struct Reset<'a>(&'a AtomicU32);
            impl Drop for Reset<'_> {
                fn drop(&mut self) {
                    // f unwound: leave it new for the next caller.
                    self.0.store(NEW, Ordering::Release);
                    futex::wake(self.0, i32::MAX);
                }
            }
            let reset = Reset(&self.state);
            (f.take().expect("taken once"))();
            std::mem::forget(reset);
            // Release: what f did is visible to every Acquire load that
            // sees DONE.
            self.state.store(DONE, Ordering::Release);
            futex::wake(&self.state, i32::MAX);
            return;
        }
    }

    /// Marks the closure completed without running it: for a fork child
    /// handler that knows the closure's effect is in place.
    pub fn mark_completed(&self) {
        self.state.store(DONE, Ordering::Release);
    }
}

impl Default for ForkOnce {
    fn default() -> Self {
        Self::new()
    }
}

/// A `OnceLock` over [`ForkOnce`]: a value made once, by a fork child
/// again if the fork caught it being made.
pub struct ForkOnceLock<T> {
    once: ForkOnce,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: the value is written once, inside the once, before the Release
// store of DONE, and only read after an Acquire load of DONE; it may be
// made on one thread (Send) and is then shared by all (Sync).
unsafe impl<T: Send + Sync> Sync for ForkOnceLock<T> {}

impl<T> ForkOnceLock<T> {
    /// An empty cell.
    pub const fn new() -> Self {
        ForkOnceLock {
            once: ForkOnce::new(),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// The value, if it has been made.
    #[inline]
    pub fn get(&self) -> Option<&T> {
        if self.once.is_completed() {
            // SAFETY: completed: written before the DONE this saw, never
            // written again.
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }

    /// The value, made by `f` if it has not been.
    #[inline]
    pub fn get_or_init(&self, f: impl FnOnce() -> T) -> &T {
        if let Some(v) = self.get() {
            return v;
        }
        self.once.call_once(|| {
            // SAFETY: inside the once, no other thread reads or writes
            // the value; a run cut short by a fork wrote nothing that a
            // reader could see (the state was not DONE).
            unsafe { (*self.value.get()).write(f()) };
        });
        self.get().expect("made by call_once")
    }
}

impl<T> Default for ForkOnceLock<T> {
    fn default() -> Self {
        Self::new()
    }
}
