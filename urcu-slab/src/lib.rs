//! krcu's slab layer: slab caches, kmalloc size classes, per-thread sheaves,
//! and the kernel's `kfree_rcu` machinery, on `urcu-core`'s public API.
//!
//! # Memory
//!
//! Objects live in 64 KiB-aligned slabs obtained with `mmap`; a large
//! kmalloc object (over 8 KiB) gets a mapping of its own. An address map
//! records which 64 KiB chunks are krcu's, so from any pointer into a krcu
//! allocation the slab layer finds its header, cache, size and start, and a
//! pointer krcu did not allocate is recognised without touching it (a
//! panic names it). That lookup is what lets kfree_rcu take an 8-byte
//! [`RcuPtr`] link, or no link at all.
//!
//! # Caches and sheaves
//!
//! [`KmemCache`] (and the typed [`Cache<T>`]) serve fixed-size objects;
//! [`kmalloc`] serves sizes through size-class caches. With a
//! `sheaf_capacity`, each thread keeps magazines of free objects ("sheaves")
//! per cache, used with no lock and no atomic instruction; a per-cache barn
//! of full and empty sheaves sits between them and the slabs.
//!
//! # kfree_rcu
//!
//! [`kfree_rcu!`], [`kvfree_call_rcu`], [`kvfree_call_rcu_ptr`] and the
//! headless [`kvfree_rcu`] free an object after a grace period of both
//! flavors. Objects go into per-thread `rcu_free` sheaves (for caches with
//! sheaves) or per-thread batches of pointer arrays and head-linked lists;
//! a helper thread ("krcu-kfree") frees whole sheaves and batches once
//! their grace-period cookies have completed. [`kvfree_rcu_barrier`] and
//! [`kvfree_rcu_barrier_on_cache`] wait for everything queued before them,
//! on every thread. See the `kfree_rcu` module source for the paths, and
//! the `thread` module for how another thread takes a thread's kfree_rcu state.
//!
//! # The unknown context
//!
//! [`kmalloc_nolock`], [`KmemCache::alloc_nolock`], [`kfree_nolock`] and
//! [`kfree_rcu_nolock!`] may be called from a signal handler that
//! interrupted anything, krcu included: they never block, lock, allocate
//! with the system allocator, yield or wait. They work on per-thread
//! `nolock` sheaves the helper keeps stocked and on the kfree_rcu state
//! when it is free, and otherwise push the object on a lock-free deferred
//! list for the helper; allocations fail at once instead of waiting.
//! Barriers cover what was deferred before them. See the `nolock` module.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]
#![cfg_attr(loom, allow(dead_code))]

// The layout, one folder per mechanism (each folder's mod.rs says more):
//
//   memory/     pages, slabs, the address map, free marks, the lock
//   caches/     caches, node lists, sheaves and the barn, kmalloc, Cache<T>
//   thread/     per-thread state, the steal protocol
//   kfree_rcu/  the kfree_rcu calls, blocks, batches
//   nolock/     the _nolock calls and what they leave for the helper
//   helper/     the reclaim helper: hand-off, doorbell, loop, barriers
//   stats/      every counter, and SlabStats
//
// Under loom only the lock-free protocols are compiled (with their models).

mod helper;
mod nolock;
mod primitive;
mod thread;

#[cfg(not(loom))]
mod caches;
#[cfg(not(loom))]
mod config;
#[cfg(not(loom))]
mod fork;
#[cfg(not(loom))]
mod kfree_rcu;
#[cfg(not(loom))]
mod memory;
#[cfg(not(loom))]
mod report;
#[cfg(not(loom))]
mod stats;

#[cfg(not(loom))]
pub use {
    caches::args::{CacheArgs, CacheStats, ObjectFn, POISON_FREE},
    caches::error::{AllocError, CacheError},
    caches::kmalloc::{kfree, kmalloc, kmalloc_stats, ksize, KMALLOC_MAX_CACHE_SIZE},
    caches::kmem_cache::{DestroyError, KmemCache},
    caches::typed::{Cache, SlabBox},
    config::set_debug_checks,
    helper::queue::{set_monitor_period, DEFAULT_MONITOR},
    kfree_rcu::api::{
        kfree_rcu_link, kvfree_call_rcu, kvfree_call_rcu_ptr, kvfree_rcu, kvfree_rcu_barrier,
        kvfree_rcu_barrier_on_cache, RcuLink, RcuPtr, KFREE_RCU_MAX_OFFSET,
    },
    nolock::alloc::{kmalloc_nolock, prepare_thread},
    nolock::free::{
        kfree_nolock, kfree_rcu_nolock_link, kvfree_call_rcu_nolock, kvfree_call_rcu_ptr_nolock,
    },
    stats::{stats, SlabStats},
    urcu_core::{GpCookie, RcuHead},
};

/// Returns free memory to the system: every cache's barn goes back to its
/// slabs, and every empty slab is released (the userspace shrinker).
#[cfg(not(loom))]
pub fn trim() {
    for cache in caches::pin_all() {
        cache.trim();
    }
}

/// Internals shared with krcu's C face (`urcu-ffi`). Not API.
#[doc(hidden)]
#[cfg(not(loom))]
pub mod __private {
    /// Hands the slab layer's fork steps to the core's fork handlers: done
    /// at load time already; urcu-ffi's library constructor calls it too,
    /// which keeps the load-time entry in a static C link.
    pub fn install_fork_steps() {
        crate::fork::install();
    }
}

/// Test hooks. Not part of the stable API.
#[doc(hidden)]
#[cfg(not(loom))]
pub mod testing {
    /// Lets the next `n` slab mappings succeed and fails the ones after
    /// (`u64::MAX`: never fail). Process-wide.
    pub fn fail_mappings_after(n: u64) {
        crate::memory::pages::fail_mappings_after(n);
    }

    /// Runs `hook` inside krcu's own critical sections, with the calling
    /// thread's slab state busy: when a kfree_rcu starts a new batch, and on
    /// the allocation and free slow paths. A hook that raises a signal makes
    /// the handler's `_nolock` calls meet a busy state. Process-wide; `None`
    /// removes it.
    pub fn set_busy_hook(hook: Option<fn()>) {
        crate::config::set_busy_hook(hook);
    }

    /// Installs `handler` for `signal` (`SA_RESTART`, nothing blocked
    /// besides `signal` itself while it runs).
    ///
    /// # Safety
    ///
    /// `handler` does only what is async-signal-safe.
    pub unsafe fn install_handler(signal: libc::c_int, handler: extern "C" fn(libc::c_int)) {
        // SAFETY: a zeroed sigaction is valid; the caller vouches for the
        // handler.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            let rc = libc::sigaction(signal, &sa, std::ptr::null_mut());
            assert_eq!(rc, 0, "sigaction failed");
        }
    }

    /// A POSIX timer that sends `signal` to the calling thread alone
    /// (`SIGEV_THREAD_ID`) every `period`; deleted when dropped.
    pub struct ThreadTimer(libc::timer_t);

    impl ThreadTimer {
        /// Starts the timer.
        pub fn start(signal: libc::c_int, period: std::time::Duration) -> ThreadTimer {
            let ts = libc::timespec {
                tv_sec: period.as_secs() as libc::time_t,
                tv_nsec: period.subsec_nanos() as libc::c_long,
            };
            // SAFETY: plain libc calls on zero-initialised C structs.
            unsafe {
                let mut sev: libc::sigevent = std::mem::zeroed();
                sev.sigev_notify = libc::SIGEV_THREAD_ID;
                sev.sigev_signo = signal;
                sev.sigev_notify_thread_id = libc::gettid();
                let mut timer: libc::timer_t = std::mem::zeroed();
                let rc = libc::timer_create(libc::CLOCK_MONOTONIC, &mut sev, &mut timer);
                assert_eq!(rc, 0, "timer_create failed");
                let spec = libc::itimerspec {
                    it_interval: ts,
                    it_value: ts,
                };
                let rc = libc::timer_settime(timer, 0, &spec, std::ptr::null_mut());
                assert_eq!(rc, 0, "timer_settime failed");
                ThreadTimer(timer)
            }
        }
    }

    impl Drop for ThreadTimer {
        fn drop(&mut self) {
            // SAFETY: created by start, deleted once.
            unsafe { libc::timer_delete(self.0) };
        }
    }
}
