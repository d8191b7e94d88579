//! Process-wide counters of the slab layer.

use crate::nolock;

pub(crate) mod counters;
mod pending;

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
    /// Times a kfree_rcu caller napped, leaving the CPU to the helper,
    /// because too many objects waited (the flood bound).
    pub throttled: u64,
    /// `kmalloc_nolock` / `alloc_nolock` calls served (from the calling
    /// thread's `_nolock` sheaves).
    pub nolock_alloc: u64,
    /// ... that failed (returned null): nothing at hand without a lock.
    pub nolock_alloc_failed: u64,
    /// `kfree_nolock` calls that freed into the thread's `_nolock` sheaves.
    pub kfree_nolock: u64,
    /// ... that went to the deferred list for the helper.
    pub kfree_nolock_deferred: u64,
    /// `kfree_rcu_nolock` calls queued on the thread's own sheaf or batch.
    pub kfree_rcu_nolock: u64,
    /// ... that went to the deferred list for the helper.
    pub kfree_rcu_deferred: u64,
    /// Objects on the deferred list now (zero after a barrier, unless more
    /// were deferred meanwhile).
    pub deferred_pending: u64,
}

/// The slab layer's counters.
pub fn stats() -> SlabStats {
    let (objects_pending, bytes_pending) = pending::pending_counts();
    let get = counters::get;
    let (mut nolock_alloc, mut kfree_nolock, mut kfree_rcu_nolock) = (0u64, 0u64, 0u64);
    for ts in crate::thread::all_states() {
        nolock_alloc += get(&ts.counters.nolock_alloc);
        kfree_nolock += get(&ts.counters.nolock_free);
        kfree_rcu_nolock += get(&ts.counters.nolock_rcu);
    }
    let (kfree_nolock_deferred, kfree_rcu_deferred) = nolock::deferred_totals();
    SlabStats {
        kfree_rcu_bulk: get(&counters::FREED_BULK),
        kfree_rcu_list: get(&counters::FREED_LIST),
        kfree_rcu_sheaf: get(&counters::FREED_SHEAF),
        kfree_rcu_sync_fallback: get(&counters::FREED_SYNC),
        kfree_rcu_double: get(&counters::DOUBLE),
        objects_pending,
        bytes_pending,
        batches: get(&counters::BATCHES),
        sheaf_submissions: get(&counters::SHEAVES_SUBMITTED),
        gp_waits: get(&counters::GP_WAITS),
        bytes_mapped: crate::memory::pages::mapped_bytes() as u64,
        throttled: get(&counters::THROTTLED),
        nolock_alloc: nolock_alloc + get(&counters::ALLOC_FROM_SLABS),
        nolock_alloc_failed: get(&counters::ALLOC_FAILED),
        kfree_nolock,
        kfree_nolock_deferred,
        kfree_rcu_nolock,
        kfree_rcu_deferred,
        deferred_pending: nolock::deferred_pending(),
    }
}
