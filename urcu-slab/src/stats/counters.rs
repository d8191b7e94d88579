//! The slab layer's process-wide counters, in one place: every mechanism
//! counts here, and [`stats`](crate::stats) reads them.
//!
//! All are Relaxed statistics: each is exact by itself, and a snapshot of
//! several is not atomic.

use std::sync::atomic::{AtomicU64, Ordering};

/// Adds `n` to the process-wide counter `c`, from any thread or handler.
#[inline]
pub(crate) fn add(c: &AtomicU64, n: u64) {
    // Relaxed: a statistic, exact by itself; nothing is ordered by it.
    c.fetch_add(n, Ordering::Relaxed);
}

/// Reads a counter, for statistics.
#[inline]
pub(crate) fn get(c: &AtomicU64) -> u64 {
    // Relaxed: a statistic (see the module).
    c.load(Ordering::Relaxed)
}

// Counters written by the helper (or rarely by others), read by stats.
pub(crate) static FREED_BULK: AtomicU64 = AtomicU64::new(0);
pub(crate) static FREED_LIST: AtomicU64 = AtomicU64::new(0);
pub(crate) static FREED_SHEAF: AtomicU64 = AtomicU64::new(0);
pub(crate) static FREED_SYNC: AtomicU64 = AtomicU64::new(0);
pub(crate) static FREED_BYTES: AtomicU64 = AtomicU64::new(0);
pub(crate) static DOUBLE: AtomicU64 = AtomicU64::new(0);
pub(crate) static BATCHES: AtomicU64 = AtomicU64::new(0);
pub(crate) static SHEAVES_SUBMITTED: AtomicU64 = AtomicU64::new(0);
pub(crate) static GP_WAITS: AtomicU64 = AtomicU64::new(0);
pub(crate) static THROTTLED: AtomicU64 = AtomicU64::new(0);

// Counters of the slow paths (atomic: any thread, any handler). The fast
// paths count per thread (`ThreadCounters::nolock_*`).
pub(crate) static ALLOC_FAILED: AtomicU64 = AtomicU64::new(0);
/// `_nolock` allocations served straight from the slabs (no sheaf at hand).
pub(crate) static ALLOC_FROM_SLABS: AtomicU64 = AtomicU64::new(0);

/// Bumps a counter that only one thread writes at a time (the owner, or a
/// holder of the thread's lock): a load and a store, no locked instruction.
#[inline(always)]
pub(crate) fn bump(c: &AtomicU64, n: u64) {
    // Relaxed: a statistic; its single writer makes load+store exact.
    c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

/// Per-thread counters of kfree_rcu submissions (single writer, see [`bump`]).
#[derive(Default)]
pub(crate) struct ThreadCounters {
    pub(crate) rcu_objects: AtomicU64,
    pub(crate) rcu_bytes: AtomicU64,
    /// `_nolock` calls served on this thread's own state: allocations from
    /// its sheaves, frees into them, kfree_rcu into its sheaf or batch.
    pub(crate) nolock_alloc: AtomicU64,
    pub(crate) nolock_free: AtomicU64,
    pub(crate) nolock_rcu: AtomicU64,
}

/// Per-thread, per-cache counters of kfree_rcu (single writer, see
/// [`bump`]): in each thread's slot of the cache.
#[derive(Default)]
pub(crate) struct SlotCounters {
    /// Objects that went into the thread's `rcu_free` sheaf.
    pub(crate) rcu_sheaf: AtomicU64,
    /// kfree_rcu calls that found no `rcu_free` sheaf to use.
    pub(crate) rcu_sheaf_fail: AtomicU64,
    /// `rcu_free` sheaves handed to the helper.
    pub(crate) sheaf_submissions: AtomicU64,
    /// Objects that went into the thread's open batch.
    pub(crate) rcu_batched: AtomicU64,
}

impl SlotCounters {
    /// Zeroes the counters when the cache id is retired.
    pub(crate) fn reset(&self) {
        for c in [
            &self.rcu_sheaf,
            &self.rcu_sheaf_fail,
            &self.sheaf_submissions,
            &self.rcu_batched,
        ] {
            // Relaxed: a statistic; the cache is gone.
            c.store(0, Ordering::Relaxed);
        }
    }
}
