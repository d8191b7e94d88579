//! Process-wide counters of the slab layer.

use crate::reclaim;
use std::sync::atomic::Ordering;

/// The slab layer's counters ([`stats`]); per-cache ones are in
/// [`CacheStats`](crate::CacheStats).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlabStats {
    /// Objects freed after a grace period from bulk arrays.
    pub kfree_rcu_bulk: u64,
    /// Objects freed after a grace period from lists linked through their
    /// own heads.
    pub kfree_rcu_list: u64,
    /// Objects freed after a grace period through `rcu_free` sheaves.
    pub kfree_rcu_sheaf: u64,
    /// Headless kvfree_rcu calls that found no array and waited for the
    /// grace period themselves.
    pub kfree_rcu_sync_fallback: u64,
    /// Double kfree_rcu calls detected (and ignored).
    pub kfree_rcu_double: u64,
    /// Objects handed to kfree_rcu and not yet freed.
    pub objects_pending: u64,
    /// Their bytes (object sizes).
    pub bytes_pending: u64,
    /// Batches handed to the helper.
    pub batches: u64,
    /// Full `rcu_free` sheaves handed to the helper.
    pub sheaf_submissions: u64,
    /// Times the helper waited for a grace period.
    pub gp_waits: u64,
    /// Bytes mapped for slabs and large objects now.
    pub bytes_mapped: u64,
    /// Times a kfree_rcu caller yielded the CPU to the helper because too
    /// many objects waited (the flood bound).
    pub throttled: u64,
}

/// The slab layer's counters.
pub fn stats() -> SlabStats {
    let (objects_pending, bytes_pending) = reclaim::pending_counts();
    let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    SlabStats {
        kfree_rcu_bulk: get(&reclaim::FREED_BULK),
        kfree_rcu_list: get(&reclaim::FREED_LIST),
        kfree_rcu_sheaf: get(&reclaim::FREED_SHEAF),
        kfree_rcu_sync_fallback: get(&reclaim::FREED_SYNC),
        kfree_rcu_double: get(&reclaim::DOUBLE),
        objects_pending,
        bytes_pending,
        batches: get(&reclaim::BATCHES),
        sheaf_submissions: get(&reclaim::SHEAVES_SUBMITTED),
        gp_waits: get(&reclaim::GP_WAITS),
        bytes_mapped: crate::pages::mapped_bytes() as u64,
        throttled: get(&reclaim::THROTTLED),
    }
}
