//! The slab layer's process-wide counters, in one place: every mechanism
//! counts here, and [`stats`](crate::stats) reads them.
//!
//! All are Relaxed statistics: each is exact by itself, and a snapshot of
//! several is not atomic.

use std::sync::atomic::AtomicU64;

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
