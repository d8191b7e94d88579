//! What a cache is made with and what it reports: [`CacheArgs`],
//! [`ObjectFn`], the poison byte, and [`CacheStats`].

use std::ffi::c_void;

/// A constructor or destructor run on an object: `void (*)(void *obj)`.
pub type ObjectFn = unsafe extern "C" fn(obj: *mut c_void);

/// The byte freed objects are filled with when poisoning is on.
pub const POISON_FREE: u8 = 0x6b;

/// Options of [`KmemCache::new`](crate::KmemCache::new); `CacheArgs::default()` gives the defaults.
#[derive(Clone, Copy, Debug, Default)]
pub struct CacheArgs {
    /// Object alignment, a power of two up to 4096; 0 means 8 bytes.
    pub align: usize,
    /// Objects per sheaf; 0 means no sheaves (every allocation and free
    /// takes the cache's node lock, and kfree_rcu batches every object).
    pub sheaf_capacity: u32,
    /// Run once on every object when its slab is created; objects keep
    /// their constructed state across free and allocation.
    pub ctor: Option<ObjectFn>,
    /// Run on each object freed by kfree_rcu (any path), after the grace
    /// period and before the object is reused.
    pub rcu_dtor: Option<ObjectFn>,
    /// Objects may be reused at once after a free, but their memory stays a
    /// valid object of this cache until a grace period has passed: readers
    /// must re-validate what they find (SLAB_TYPESAFE_BY_RCU).
    pub typesafe_by_rcu: bool,
    /// Fill freed objects with [`POISON_FREE`] and check the poison when
    /// they are allocated again. Always on in debug builds, and with the
    /// debug checks ([`set_debug_checks`](crate::set_debug_checks),
    /// `KRCU_SLAB_DEBUG=1`). Ignored for
    /// caches with a `ctor` or typesafe-by-RCU (poison would destroy what
    /// the constructor built or what readers may still read).
    pub poison: bool,
}

/// A cache's counters (what `KmemCache::stats` returns).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Object size given at creation.
    pub object_size: u64,
    /// Objects allocated and not yet freed (kfree_rcu'd objects count until
    /// they are freed after their grace period).
    pub live: u64,
    /// Slabs the cache holds now, and how many of them are entirely free.
    pub slabs: u64,
    /// See `slabs`.
    pub empty_slabs: u64,
    /// Slabs mapped and released over the cache's life.
    pub slabs_created: u64,
    /// See `slabs_created`.
    pub slabs_released: u64,
    /// Objects kfree_rcu'd into `rcu_free` sheaves.
    pub kfree_rcu_sheaf: u64,
    /// Objects kfree_rcu'd into batches (bulk arrays or lists).
    pub kfree_rcu_batched: u64,
    /// Full `rcu_free` sheaves submitted for a grace period.
    pub sheaf_submissions: u64,
    /// kfree_rcu calls that found no empty sheaf and went to a batch.
    pub sheaf_failures: u64,
    /// Sheaf exchanges the barn served, and could not serve.
    pub barn_hits: u64,
    /// See `barn_hits`.
    pub barn_misses: u64,
    /// Full sheaves the barn had no room for (flushed to the slabs).
    pub barn_overflows: u64,
    /// Full and empty sheaves in the barn now.
    pub barn_full_sheaves: u64,
    /// See `barn_full_sheaves`.
    pub barn_empty_sheaves: u64,
}
