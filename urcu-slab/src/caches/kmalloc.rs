//! kmalloc: size classes over slab caches, and large objects mapped on
//! their own.
//!
//! Sizes up to [`KMALLOC_MAX_CACHE_SIZE`] come from one of the kernel's
//! size classes (8, 16, 32, 64, 96, 128, 192, 256, 512, 1K, 2K, 4K, 8K);
//! each object is aligned to the largest power of two dividing its class
//! size (so power-of-two sizes are naturally aligned). Larger sizes get a
//! mapping of their own whose first page is the header: the object starts
//! page-aligned one page in, and `kfree`, `ksize` and the kfree_rcu object
//! lookup find the header from any pointer into it.

use super::args::CacheArgs;
use super::cache::CacheInner;
use super::error::AllocError;
use crate::memory::slab;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use urcu_core::__private::ForkOnceLock;

/// The largest size served by a size class; larger ones are mapped.
pub const KMALLOC_MAX_CACHE_SIZE: usize = 8192;

const CLASSES: [usize; 13] = [
    8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192,
];

/// Sheaf capacity of a size class: more for small objects, as the kernel.
/// 128 for classes up to 256 bytes: a kfree_rcu flood then hands off half
/// as many sheaves (interleaved runs, 64-byte kfree_rcu: 35.3-38.5M/s vs
/// 31.9-32.8M/s with 64; alloc+free pairs 10.2-10.6 ns vs 10.8-12.7 ns).
fn sheaf_capacity(size: usize) -> u32 {
    match size {
        0..=256 => 128,
        257..=1024 => 32,
        _ => 16,
    }
}

/// The size classes. A fork child that caught them being made makes them
/// again (the half-made caches leak in the child's copy).
static CACHES: ForkOnceLock<[&'static CacheInner; 13]> = ForkOnceLock::new();

/// The size classes, made on first use.
#[inline(always)]
fn classes() -> &'static [&'static CacheInner; 13] {
    match CACHES.get() {
        Some(c) => c,
        None => make_classes(),
    }
}

#[cold]
#[inline(never)]
fn make_classes() -> &'static [&'static CacheInner; 13] {
    CACHES.get_or_init(|| {
        CLASSES.map(|size| {
            let align = 1 << size.trailing_zeros().min(12);
            // Never destroyed: the shared state is enough.
            CacheInner::create(
                &format!("kmalloc-{size}"),
                size,
                &CacheArgs {
                    align,
                    sheaf_capacity: sheaf_capacity(size),
                    ..CacheArgs::default()
                },
            )
            .expect("size-class geometry is valid")
        })
    })
}

/// The class sizes.
pub(crate) fn class_sizes() -> impl Iterator<Item = usize> {
    CLASSES.into_iter()
}

/// Set once the classes exist (Release after creating them): a `_nolock`
/// call may then look them up without initialising anything.
static READY: AtomicBool = AtomicBool::new(false);

/// Creates the size classes (the helper, for `kmalloc_nolock`;
/// `prepare_thread`).
pub(crate) fn init_classes() {
    classes();
    READY.store(true, Ordering::Release);
}

/// The size class serving `size` bytes, for a `_nolock` call: none when the
/// size is not served by a class, or the classes do not exist yet (creating
/// them allocates).
#[inline]
pub(crate) fn class_nolock(size: usize) -> Option<&'static CacheInner> {
    // Acquire: pairs with init_classes' Release; class_for then only reads.
    (size <= KMALLOC_MAX_CACHE_SIZE && READY.load(Ordering::Acquire)).then(|| class_for(size))
}

/// The size class serving `size` bytes.
#[inline]
fn class_for(size: usize) -> &'static CacheInner {
    let i = match size {
        0..=8 => 0,
        9..=16 => 1,
        17..=32 => 2,
        33..=64 => 3,
        65..=96 => 4,
        97..=128 => 5,
        129..=192 => 6,
        _ => 7 + (size.next_power_of_two().trailing_zeros() as usize - 8),
    };
    classes()[i]
}

/// Allocates `size` bytes (at least 1). Contents are undefined.
///
/// ```
/// let p = urcu_slab::kmalloc(100).unwrap();
/// assert_eq!(unsafe { urcu_slab::ksize(p.as_ptr()) }, 128);
/// unsafe { urcu_slab::kfree(p.as_ptr()) };
/// ```
#[inline]
pub fn kmalloc(size: usize) -> Result<NonNull<u8>, AllocError> {
    let p = if size <= KMALLOC_MAX_CACHE_SIZE {
        class_for(size).alloc()
    } else {
        slab::new_large(size)
    };
    NonNull::new(p).ok_or(AllocError)
}

/// Frees any krcu allocation: from kmalloc or from any cache. Null is a
/// no-op.
///
/// # Safety
///
/// `ptr` is a live krcu allocation, not used after this call.
///
/// # Panics
///
/// When `ptr` is not a krcu allocation, or is free already or waiting for
/// kfree_rcu's grace period (a double free): the message names the
/// pointer and the cache, and nothing is freed.
#[inline]
#[track_caller]
pub unsafe fn kfree(ptr: *mut u8) {
    if ptr.is_null() {
        return;
    }
    let o = crate::memory::object_of(ptr, "kfree");
    if o.is_pending() {
        crate::caches::double_free_pending(o, "kfree");
    }
    match o.cache() {
        Some(cache) => cache.free(o.start, "kfree"),
        // SAFETY: a live large object (the caller's contract), alone in its
        // mapping.
        None => unsafe { slab::release(o.slab) },
    }
}

/// The statistics of the size class serving `size` bytes; `None` for sizes
/// over [`KMALLOC_MAX_CACHE_SIZE`] (each gets a mapping of its own).
pub fn kmalloc_stats(size: usize) -> Option<crate::CacheStats> {
    (size <= KMALLOC_MAX_CACHE_SIZE).then(|| class_for(size).stats())
}

/// The usable size of the krcu allocation containing `ptr`: its size
/// class, its cache's object size, or a large object's page-rounded size.
///
/// # Safety
///
/// `ptr` points into a live krcu allocation.
///
/// # Panics
///
/// When `ptr` is not a krcu allocation.
pub unsafe fn ksize(ptr: *const u8) -> usize {
    crate::memory::object_of(ptr, "ksize").size()
}
