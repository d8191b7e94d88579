//! Counters, printable from C.

use crate::guard::ffi;
use crate::types::krcu_cache;
use std::ffi::{c_int, c_void};
use urcu_slab::{CacheStats, KmemCache};

/// Process-wide counters: the memb flavor's (unprefixed) and the qsbr
/// flavor's, and the slab layer's.
#[repr(C)]
#[derive(Default)]
pub struct krcu_stats {
    /// memb: grace periods completed, callbacks invoked and waiting,
    /// stalled grace periods, registered threads.
    pub gp_completed: u64,
    pub callbacks_invoked: u64,
    pub callback_backlog: u64,
    pub stalls: u64,
    pub registered_threads: u64,
    /// The same for qsbr.
    pub qsbr_gp_completed: u64,
    pub qsbr_callbacks_invoked: u64,
    pub qsbr_callback_backlog: u64,
    pub qsbr_stalls: u64,
    pub qsbr_registered_threads: u64,
    /// Objects freed after a grace period from bulk arrays, from lists
    /// linked through their heads, through rcu sheaves, and inline by
    /// kvfree_rcu when no array could be had.
    pub kfree_rcu_bulk: u64,
    pub kfree_rcu_list: u64,
    pub kfree_rcu_sheaf: u64,
    pub kfree_rcu_sync_fallback: u64,
    /// Double kfree_rcu calls detected (and ignored).
    pub kfree_rcu_double: u64,
    /// Objects (and their bytes) handed to kfree_rcu, not yet freed.
    pub objects_pending: u64,
    pub bytes_pending: u64,
    /// Batches and full rcu sheaves handed to the helper.
    pub batches: u64,
    pub sheaf_submissions: u64,
    /// Bytes krcu has mapped for slabs and large objects.
    pub bytes_mapped: u64,
    /// `_nolock` calls by path: allocations served and failed; frees into
    /// the thread's nolock sheaves and deferred to the helper; kfree_rcu
    /// queued on the thread's own state and deferred; objects on the
    /// deferred list now.
    pub nolock_alloc: u64,
    pub nolock_alloc_failed: u64,
    pub kfree_nolock: u64,
    pub kfree_nolock_deferred: u64,
    pub kfree_rcu_nolock: u64,
    pub kfree_rcu_deferred: u64,
    pub deferred_pending: u64,
}

/// Fills `out` with the counters. Does nothing for NULL.
///
/// Context: normal code.
///
/// # Safety
///
/// `out` is NULL or points to writable memory for a `struct krcu_stats`.
#[no_mangle]
pub unsafe extern "C" fn krcu_stats_get(out: *mut krcu_stats) {
    if out.is_null() {
        return;
    }
    let s = ffi("krcu_stats_get", || {
        let (m, q, sl) = (
            urcu_core::memb::stats(),
            urcu_core::qsbr::stats(),
            urcu_slab::stats(),
        );
        krcu_stats {
            gp_completed: m.gp_completed,
            callbacks_invoked: m.callbacks_invoked,
            callback_backlog: m.callback_backlog,
            stalls: m.stalls,
            registered_threads: m.registered_threads,
            qsbr_gp_completed: q.gp_completed,
            qsbr_callbacks_invoked: q.callbacks_invoked,
            qsbr_callback_backlog: q.callback_backlog,
            qsbr_stalls: q.stalls,
            qsbr_registered_threads: q.registered_threads,
            kfree_rcu_bulk: sl.kfree_rcu_bulk,
            kfree_rcu_list: sl.kfree_rcu_list,
            kfree_rcu_sheaf: sl.kfree_rcu_sheaf,
            kfree_rcu_sync_fallback: sl.kfree_rcu_sync_fallback,
            kfree_rcu_double: sl.kfree_rcu_double,
            objects_pending: sl.objects_pending,
            bytes_pending: sl.bytes_pending,
            batches: sl.batches,
            sheaf_submissions: sl.sheaf_submissions,
            bytes_mapped: sl.bytes_mapped,
            nolock_alloc: sl.nolock_alloc,
            nolock_alloc_failed: sl.nolock_alloc_failed,
            kfree_nolock: sl.kfree_nolock,
            kfree_nolock_deferred: sl.kfree_nolock_deferred,
            kfree_rcu_nolock: sl.kfree_rcu_nolock,
            kfree_rcu_deferred: sl.kfree_rcu_deferred,
            deferred_pending: sl.deferred_pending,
        }
    });
    // SAFETY: the caller's contract.
    unsafe { out.write(s) };
}

/// Fills `out` with `cache`'s counters (`struct krcu_cache_stats` in C:
/// the Rust `CacheStats`, `#[repr(C)]`, renamed by cbindgen): 0, or `-EINVAL` for NULL arguments.
///
/// Context: normal code.
///
/// # Safety
///
/// `cache` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn krcu_cache_stats_get(
    cache: *const krcu_cache,
    out: *mut CacheStats,
) -> c_int {
    if cache.is_null() || out.is_null() {
        return -libc::EINVAL;
    }
    let s = ffi("krcu_cache_stats_get", || {
        // SAFETY: a live handle; ManuallyDrop keeps it from being destroyed.
        let c = std::mem::ManuallyDrop::new(unsafe { KmemCache::from_raw(cache as *mut c_void) });
        c.stats()
    });
    // SAFETY: the caller's contract.
    unsafe { out.write(s) };
    0
}
