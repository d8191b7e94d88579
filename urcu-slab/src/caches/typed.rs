//! `Cache<T>`: a typed slab cache with owning handles.

use super::args::{CacheArgs, CacheStats};
use super::error::{AllocError, CacheError};
use super::kmem_cache::DestroyError;
use super::kmem_cache::KmemCache;
use std::ffi::c_void;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// A slab cache of `T`s. Allocations are [`SlabBox`]es that drop their
/// value and free the object; [`SlabBox::kfree_rcu`] drops and frees after
/// a grace period instead.
///
/// ```
/// use urcu_slab::Cache;
///
/// let cache: Cache<[u64; 4]> = Cache::new("quads").unwrap();
/// let mut b = cache.alloc([1, 2, 3, 4]).unwrap();
/// b[0] = 10;
/// assert_eq!(b.iter().sum::<u64>(), 19);
/// drop(b);
/// cache.destroy().unwrap();
/// ```
pub struct Cache<T> {
    raw: KmemCache,
    _marker: PhantomData<fn(T) -> T>,
}

/// Drops a `T` in place: the cache's `rcu_dtor`, so that kfree_rcu'd values
/// are dropped after their grace period.
unsafe extern "C" fn drop_value<T>(obj: *mut c_void) {
    // SAFETY: the cache holds initialised Ts; kfree_rcu hands each to its
    // rcu_dtor exactly once.
    unsafe { std::ptr::drop_in_place(obj.cast::<T>()) };
}

impl<T> Cache<T> {
    /// A cache for `T` with per-thread sheaves of 32 objects.
    pub fn new(name: &str) -> Result<Self, CacheError> {
        Self::with_sheaf_capacity(name, 32)
    }

    /// A cache for `T` with the given sheaf capacity (0: no sheaves).
    pub fn with_sheaf_capacity(name: &str, sheaf_capacity: u32) -> Result<Self, CacheError> {
        let args = CacheArgs {
            align: std::mem::align_of::<T>(),
            sheaf_capacity,
            rcu_dtor: std::mem::needs_drop::<T>().then_some(drop_value::<T> as crate::ObjectFn),
            ..CacheArgs::default()
        };
        Ok(Cache {
            raw: KmemCache::new(name, std::mem::size_of::<T>().max(1), args)?,
            _marker: PhantomData,
        })
    }

    /// Moves `value` into a new object.
    pub fn alloc(&self, value: T) -> Result<SlabBox<'_, T>, AllocError> {
        let p = self.raw.alloc()?.cast::<T>();
        // SAFETY: a fresh object of size_of::<T>() bytes, aligned for T.
        unsafe { p.as_ptr().write(value) };
        Ok(SlabBox {
            ptr: p,
            cache: self,
        })
    }

    /// The untyped cache underneath.
    pub fn raw(&self) -> &KmemCache {
        &self.raw
    }

    /// This cache's counters.
    pub fn stats(&self) -> CacheStats {
        self.raw.stats()
    }

    /// Destroys the cache (see [`KmemCache::destroy`]).
    pub fn destroy(self) -> Result<(), DestroyError> {
        self.raw.destroy()
    }
}

impl<T> fmt::Debug for Cache<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Cache").field(&self.raw).finish()
    }
}

/// An owned `T` in a [`Cache<T>`].
pub struct SlabBox<'c, T> {
    ptr: NonNull<T>,
    cache: &'c Cache<T>,
}

// SAFETY: a SlabBox owns its T like a Box; freeing works from any thread.
unsafe impl<T: Send> Send for SlabBox<'_, T> {}
// SAFETY: as a Box: a shared SlabBox lends out only &T.
unsafe impl<T: Sync> Sync for SlabBox<'_, T> {}

impl<'c, T> SlabBox<'c, T> {
    /// Gives up ownership; the object is freed by [`SlabBox::from_raw`] or
    /// by kfree_rcu.
    pub fn into_raw(this: Self) -> NonNull<T> {
        std::mem::ManuallyDrop::new(this).ptr
    }

    /// Takes back an object from [`SlabBox::into_raw`].
    ///
    /// # Safety
    ///
    /// `ptr` came from `into_raw` on a box of `cache`, and is owned by no
    /// one else.
    pub unsafe fn from_raw(ptr: NonNull<T>, cache: &'c Cache<T>) -> Self {
        SlabBox { ptr, cache }
    }

    /// Drops the value and frees the object after a grace period of both
    /// flavors (headless [`kvfree_rcu`](crate::kvfree_rcu): it may sleep).
    /// Readers that found the object before it was unpublished may keep
    /// reading it until then.
    ///
    /// # Panics
    ///
    /// Inside a read-side critical section.
    pub fn kfree_rcu(this: Self)
    where
        T: Send + 'static,
    {
        let p = Self::into_raw(this);
        // SAFETY: we owned the object; the cache's rcu_dtor drops the value
        // after the grace period, and nothing else uses it.
        unsafe { crate::kvfree_rcu(p.as_ptr().cast()) };
    }
}

// SAFETY: `into_raw`/`kfree` give up and free a cache object; `retire`
// hands the object to kfree_rcu, which frees it after a grace period of
// both flavors (so of F's too), linking it, if it must, through the 8-byte
// RcuPtr at the first word of the node's head (inside the object, within
// the first 4096 bytes: `kfree_rcu_link` checks), and the cache's
// rcu_dtor drops the value first.
unsafe impl<T: Send> urcu_core::NodeBox<T> for SlabBox<'_, T> {
    fn into_raw(this: Self) -> NonNull<T> {
        SlabBox::into_raw(this)
    }

    unsafe fn free_now(node: NonNull<T>) {
        // SAFETY: the caller's contract: a live object from `into_raw`,
        // referenced by nothing; krcu's kfree finds its cache.
        unsafe {
            std::ptr::drop_in_place(node.as_ptr());
            crate::kfree(node.as_ptr().cast());
        }
    }

    unsafe fn retire<F: urcu_core::Flavor, H: urcu_core::NodeHead<T>>(node: NonNull<T>) {
        // SAFETY: the caller's contract: reachable by no new reader, its
        // head unused; the head's first word is the 8-byte link.
        unsafe {
            let head = node
                .as_ptr()
                .cast::<u8>()
                .add(H::OFFSET)
                .cast::<crate::RcuPtr>();
            crate::kvfree_call_rcu_ptr(head, node.as_ptr().cast());
        }
    }
}

impl<T> Deref for SlabBox<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: an initialised T we own.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T> DerefMut for SlabBox<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: an initialised T we own uniquely.
        unsafe { self.ptr.as_mut() }
    }
}

impl<T> Drop for SlabBox<'_, T> {
    fn drop(&mut self) {
        // SAFETY: we own the value; after dropping it, the object goes back
        // to its cache and is not used again.
        unsafe {
            std::ptr::drop_in_place(self.ptr.as_ptr());
            self.cache.raw.free(self.ptr.cast());
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for SlabBox<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}
