//! [`KmemCache`]: a slab cache as the public API hands it out.

use super::args::{CacheArgs, CacheStats};
use super::cache::{CacheInner, CachePtr, CACHES};
use super::error::{AllocError, CacheError};
use crate::thread;
use std::ffi::c_void;
use std::fmt;
use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering;

/// A slab cache of fixed-size objects.
///
/// ```
/// use urcu_slab::{CacheArgs, KmemCache};
///
/// let cache = KmemCache::new("example", 48, CacheArgs { sheaf_capacity: 32, ..Default::default() })
///     .expect("cache");
/// let obj = cache.alloc().expect("memory");
/// // SAFETY: `obj` came from this cache and is not used after.
/// unsafe { cache.free(obj) };
/// cache.destroy().expect("no live objects");
/// ```
pub struct KmemCache {
    inner: NonNull<CacheInner>,
}

// SAFETY: CacheInner's shared state is behind locks and atomics; per-thread
// state lives in the thread's slots.
unsafe impl Send for KmemCache {}
// SAFETY: as for Send: every method takes &self over that shared state.
unsafe impl Sync for KmemCache {}

// krcu panics inside a cache operation only to report misuse (before any
// state changes) or corruption it found in an object it had just taken (the
// object is lost, the cache stays consistent): observing the cache after
// such a panic is sound.
impl std::panic::UnwindSafe for KmemCache {}
impl std::panic::RefUnwindSafe for KmemCache {}

impl KmemCache {
    /// Creates a cache of `size`-byte objects.
    pub fn new(name: &str, size: usize, args: CacheArgs) -> Result<KmemCache, CacheError> {
        let inner = CacheInner::create(name, size, &args)?;
        Ok(KmemCache {
            inner: NonNull::from(inner),
        })
    }

    pub(crate) fn inner(&self) -> &CacheInner {
        // SAFETY: the inner state lives until destroy succeeds, which
        // consumes `self`.
        unsafe { self.inner.as_ref() }
    }

    /// The cache's name.
    pub fn name(&self) -> &str {
        &self.inner().name
    }

    /// The object size given at creation.
    pub fn object_size(&self) -> usize {
        self.inner().size
    }

    /// Allocates an object (its contents are undefined: poison, constructed
    /// state, or an earlier object's bytes).
    #[inline]
    pub fn alloc(&self) -> Result<NonNull<u8>, AllocError> {
        NonNull::new(self.inner().alloc()).ok_or(AllocError)
    }

    /// Allocates an object from any context, a signal handler that
    /// interrupted anything included: from this thread's `_nolock` sheaf of
    /// the cache, which the helper keeps stocked. Never blocks, locks or
    /// waits; fails at once (no retry) when the sheaf is empty and no full
    /// one is waiting, or when the cache has no sheaves. A thread's first
    /// call on a cache fails and asks the helper for a sheaf; later calls
    /// succeed. The thread must have made an ordinary krcu slab call, or
    /// [`prepare_thread`](crate::prepare_thread).
    ///
    /// # Contexts
    ///
    /// Any: ordinary code, a signal handler, a read section of either
    /// flavor, an `rcu_dtor` or `call_rcu` callback.
    #[inline]
    pub fn alloc_nolock(&self) -> Result<NonNull<u8>, AllocError> {
        NonNull::new(crate::nolock::alloc::alloc(self.inner())).ok_or(AllocError)
    }

    /// Frees an object of this cache.
    ///
    /// # Safety
    ///
    /// `obj` was allocated from this cache, is not freed yet, and is not
    /// used after this call (readers of a typesafe-by-RCU cache excepted).
    ///
    /// # Panics
    ///
    /// When `obj` is not an object of this cache (krcu checks the slab it
    /// lies in), or is free already or waiting for kfree_rcu's grace period
    /// (a double free: nothing is freed).
    #[inline]
    #[track_caller]
    pub unsafe fn free(&self, obj: NonNull<u8>) {
        let o = crate::memory::object_of(obj.as_ptr(), "KmemCache::free");
        // A large object's header has a null cache: never ours either.
        if !ptr::eq(o.slab().owner.cast::<CacheInner>(), self.inner()) {
            crate::report::misuse(
                &format!(
                    "KmemCache::free({:p}) on cache `{}`: the object belongs to another cache",
                    obj.as_ptr(),
                    self.name()
                ),
                "free an object with the cache it came from, or use kfree",
            );
        }
        if o.is_pending() {
            crate::caches::double_free_pending(o, "KmemCache::free");
        }
        self.inner().free(o.start, "KmemCache::free");
    }

    /// Returns free memory held by this cache to the system: the barn's
    /// sheaves go back to their slabs and every empty slab is released.
    pub fn trim(&self) {
        self.inner().trim();
    }

    /// This cache's counters.
    pub fn stats(&self) -> CacheStats {
        self.inner().stats()
    }

    /// Destroys the cache: waits for in-flight kfree_rcu of its objects
    /// ([`kvfree_rcu_barrier_on_cache`](crate::kvfree_rcu_barrier_on_cache)),
    /// then releases its memory. Fails, handing the cache back, when objects
    /// are still live.
    #[track_caller]
    pub fn destroy(self) -> Result<(), DestroyError> {
        let this = std::mem::ManuallyDrop::new(self);
        match this.try_destroy("KmemCache::destroy()") {
            Ok(()) => Ok(()),
            Err(live) => Err(DestroyError {
                cache: KmemCache { inner: this.inner },
                live,
            }),
        }
    }

    #[track_caller]
    fn try_destroy(&self, what: &str) -> Result<(), u64> {
        let inner = self.inner();
        // Waits for the helper: the barrier refuses it, naming `what`,
        // where that would deadlock, and takes an online qsbr thread
        // offline for the wait.
        crate::helper::barrier(Some(inner), what);
        // No new walker from here on; wait for those at work (see CACHES).
        {
            let _caches = CACHES.lock();
            // Relaxed: under the registry lock, as pin_locked reads it; a
            // pin given before this is counted in `pins`, which the lock
            // makes visible below.
            inner.dying.store(true, Ordering::Relaxed);
        }
        // Acquire: pairs with CachePin's Release decrement.
        while inner.pins.load(Ordering::Acquire) != 0 {
            std::thread::yield_now();
        }
        let live = inner.live();
        if live != 0 {
            let _caches = CACHES.lock();
            // Relaxed: under the registry lock, as pin_locked reads it.
            inner.dying.store(false, Ordering::Relaxed);
            return Err(live);
        }
        thread::forget_cache(inner);
        inner.trim();
        if inner.typesafe {
            // Slabs released by trim wait for a grace period; wait for them
            // so no slab outlives its cache.
            crate::helper::barrier(None, what);
        }
        let leftover = inner.node.lock().nr_slabs;
        if leftover != 0 {
            crate::report::report_corruption(&format!(
                "cache `{}`: {leftover} slabs still hold objects after every object was freed",
                inner.name
            ));
        }
        CACHES.lock()[inner.id] = CachePtr(ptr::null());
        // SAFETY: unregistered, no slab refers to it, no thread slot holds
        // its sheaves; created by Box::leak in `create`.
        drop(unsafe { Box::from_raw(self.inner.as_ptr()) });
        Ok(())
    }

    /// The cache behind a pointer from [`KmemCache::into_raw`].
    ///
    /// # Safety
    ///
    /// `raw` came from `into_raw` and is not used again.
    pub unsafe fn from_raw(raw: *mut c_void) -> KmemCache {
        KmemCache {
            // SAFETY: the caller's contract: non-null.
            inner: unsafe { NonNull::new_unchecked(raw.cast()) },
        }
    }

    /// An opaque pointer for C (`struct krcu_cache *`).
    pub fn into_raw(self) -> *mut c_void {
        std::mem::ManuallyDrop::new(self).inner.as_ptr().cast()
    }
}

impl Drop for KmemCache {
    /// Destroys the cache; if objects are still live it is leaked (with a
    /// warning) rather than freed under them.
    fn drop(&mut self) {
        if let Err(live) = self.try_destroy("KmemCache drop") {
            crate::report::warn(&format!(
                "krcu: KmemCache `{}` dropped with {live} live objects; its memory is leaked. Free every object (and run kvfree_rcu_barrier) before dropping it, or call destroy() to get it back",
                self.name()
            ));
        }
    }
}

impl fmt::Debug for KmemCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KmemCache")
            .field("name", &self.name())
            .field("object_size", &self.object_size())
            .finish()
    }
}

/// [`KmemCache::destroy`] found live objects. The cache is handed back
/// intact: free the objects and destroy it again.
pub struct DestroyError {
    /// The cache, still usable.
    pub cache: KmemCache,
    /// Objects still allocated.
    pub live: u64,
}

impl fmt::Debug for DestroyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DestroyError")
            .field("cache", &self.cache.name())
            .field("live", &self.live)
            .finish()
    }
}

impl fmt::Display for DestroyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "krcu: cannot destroy cache `{}`: {} objects are still live; free them (kfree_rcu'd ones are waited for) and destroy again",
            self.cache.name(),
            self.live
        )
    }
}

impl std::error::Error for DestroyError {}
