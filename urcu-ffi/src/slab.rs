//! Slab caches, kmalloc and kfree_rcu.

use crate::guard::{bad_argument, bad_argument_nolock, ffi};
use crate::types::{
    krcu_cache, krcu_cache_args, krcu_head, krcu_ptr, KRCU_CACHE_POISON, KRCU_CACHE_TYPESAFE_BY_RCU,
};
use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr::{self, NonNull};
use urcu_slab::{CacheArgs, KmemCache, RcuPtr};

fn set_errno(e: c_int) {
    // SAFETY: __errno_location returns this thread's errno.
    unsafe { *libc::__errno_location() = e };
}

/// The cache behind a C handle, for the duration of a call.
fn with_cache<R>(name: &str, cache: *const krcu_cache, f: impl FnOnce(&KmemCache) -> R) -> R {
    if cache.is_null() {
        bad_argument(name, "cache is NULL");
    }
    // SAFETY: a handle from krcu_cache_create, not destroyed (the caller's
    // contract); ManuallyDrop keeps this temporary from destroying it.
    let c = std::mem::ManuallyDrop::new(unsafe { KmemCache::from_raw(cache as *mut c_void) });
    f(&c)
}

/// Creates a cache of `size`-byte objects. `args` may be NULL (defaults).
/// Returns NULL and sets errno: `EINVAL` for a NULL or non-UTF-8 name, a
/// zero size, a bad alignment or unknown flags; `E2BIG` for objects too
/// large for a slab (use krcu_kmalloc); `EMFILE` when 4096 caches exist.
///
/// Context: normal code.
///
/// # Safety
///
/// `name` is NULL or a NUL-terminated string; `args` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn krcu_cache_create(
    name: *const c_char,
    size: usize,
    args: *const krcu_cache_args,
) -> *mut krcu_cache {
    ffi("krcu_cache_create", || {
        if name.is_null() {
            set_errno(libc::EINVAL);
            return ptr::null_mut();
        }
        // SAFETY: the caller's contract.
        let Ok(name) = unsafe { CStr::from_ptr(name) }.to_str() else {
            set_errno(libc::EINVAL);
            return ptr::null_mut();
        };
        let mut rust_args = CacheArgs::default();
        if !args.is_null() {
            // SAFETY: the caller's contract.
            let a = unsafe { &*args };
            if a.flags & !(KRCU_CACHE_TYPESAFE_BY_RCU | KRCU_CACHE_POISON) != 0 {
                set_errno(libc::EINVAL);
                return ptr::null_mut();
            }
            rust_args = CacheArgs {
                align: a.align,
                sheaf_capacity: a.sheaf_capacity,
                ctor: a.ctor,
                rcu_dtor: a.rcu_dtor,
                typesafe_by_rcu: a.flags & KRCU_CACHE_TYPESAFE_BY_RCU != 0,
                poison: a.flags & KRCU_CACHE_POISON != 0,
            };
        }
        match KmemCache::new(name, size, rust_args) {
            Ok(c) => c.into_raw().cast(),
            Err(e) => {
                set_errno(match e {
                    urcu_slab::CacheError::TooLarge(_) => libc::E2BIG,
                    urcu_slab::CacheError::TooMany => libc::EMFILE,
                    _ => libc::EINVAL,
                });
                ptr::null_mut()
            }
        }
    })
}

/// Allocates an object; NULL with errno `ENOMEM` when memory cannot be had.
/// Aborts when `cache` is NULL.
///
/// Context: normal code (not a signal handler: see the nolock variant).
///
/// # Safety
///
/// `cache` is a live cache handle.
#[no_mangle]
pub unsafe extern "C" fn krcu_cache_alloc(cache: *mut krcu_cache) -> *mut c_void {
    ffi("krcu_cache_alloc", || {
        with_cache("krcu_cache_alloc", cache, |c| match c.alloc() {
            Ok(p) => p.as_ptr().cast(),
            Err(_) => {
                set_errno(libc::ENOMEM);
                ptr::null_mut()
            }
        })
    })
}

/// Frees an object of `cache`; NULL is a no-op. Aborts, naming the pointer,
/// when `obj` is not an object of this cache.
///
/// Context: normal code.
///
/// # Safety
///
/// `cache` is live; `obj` is NULL or a live object of it, not used after.
#[no_mangle]
pub unsafe extern "C" fn krcu_cache_free(cache: *mut krcu_cache, obj: *mut c_void) {
    ffi("krcu_cache_free", || {
        with_cache("krcu_cache_free", cache, |c| {
            if let Some(p) = NonNull::new(obj.cast::<u8>()) {
                // SAFETY: the caller's contract (krcu checks the object's
                // cache and panics, then aborts, on a mismatch).
                unsafe { c.free(p) };
            }
        })
    })
}

/// Destroys a cache: waits for in-flight kfree_rcu of its objects, then
/// frees it. Returns 0; `-EBUSY` (the cache stays usable) when objects are
/// still live; `-EINVAL` for NULL.
///
/// Context: normal code outside a read section.
///
/// # Safety
///
/// `cache` is NULL or a live handle; on 0 it must not be used again.
#[no_mangle]
pub unsafe extern "C" fn krcu_cache_destroy(cache: *mut krcu_cache) -> c_int {
    if cache.is_null() {
        return -libc::EINVAL;
    }
    ffi("krcu_cache_destroy", || {
        // SAFETY: a live handle (the caller's contract).
        let c = unsafe { KmemCache::from_raw(cache.cast()) };
        match c.destroy() {
            Ok(()) => 0,
            Err(e) => {
                // The live count is in krcu_cache_stats_get. The same handle: into_raw returns the pointer we had.
                let back = e.cache.into_raw();
                debug_assert_eq!(back, cache.cast());
                -libc::EBUSY
            }
        }
    })
}

/// Allocates `size` bytes (size classes up to 8 KiB, page-aligned mappings
/// above); NULL with errno `ENOMEM` on failure.
///
/// Context: normal code.
#[no_mangle]
pub extern "C" fn krcu_kmalloc(size: usize) -> *mut c_void {
    ffi("krcu_kmalloc", || match urcu_slab::kmalloc(size) {
        Ok(p) => p.as_ptr().cast(),
        Err(_) => {
            set_errno(libc::ENOMEM);
            ptr::null_mut()
        }
    })
}

/// Frees any krcu allocation (kmalloc'd or from any cache); NULL is a
/// no-op. Aborts, naming the pointer, when krcu did not allocate it.
///
/// Context: normal code.
///
/// # Safety
///
/// `obj` is NULL or a live krcu allocation, not used after.
#[no_mangle]
pub unsafe extern "C" fn krcu_kfree(obj: *mut c_void) {
    // SAFETY: the caller's contract.
    ffi("krcu_kfree", || unsafe { urcu_slab::kfree(obj.cast()) })
}

/// The usable size of the krcu allocation containing `obj`; 0 for NULL.
/// Aborts when krcu did not allocate it.
///
/// Context: normal code.
///
/// # Safety
///
/// `obj` is NULL or points into a live krcu allocation.
#[no_mangle]
pub unsafe extern "C" fn krcu_ksize(obj: *const c_void) -> usize {
    if obj.is_null() {
        return 0;
    }
    // SAFETY: the caller's contract.
    ffi("krcu_ksize", || unsafe { urcu_slab::ksize(obj.cast()) })
}

/// Frees `ptr` after a grace period of both flavors with no link inside it;
/// NULL is a no-op. May wait for the grace period itself when memory is
/// short.
///
/// Context: normal code outside any read section (inside one it aborts).
///
/// # Safety
///
/// `ptr` is NULL or a live krcu allocation that no new reader can reach.
#[no_mangle]
pub unsafe extern "C" fn krcu_kvfree_rcu_mightsleep(ptr: *mut c_void) {
    // SAFETY: the caller's contract.
    ffi("krcu_kvfree_rcu_mightsleep", || unsafe {
        urcu_slab::kvfree_rcu(ptr.cast())
    })
}

/// Frees `ptr` after a grace period of both flavors, linked through `head`
/// (a `struct krcu_head` in its first 4096 bytes) when needed. Never
/// sleeps, never allocates. NULL `ptr` is a no-op. Aborts when krcu did not
/// allocate `ptr` or `head` lies outside it. The `krcu_kfree_rcu` macro
/// calls this or the `_ptr` variant.
///
/// Context: normal code, read sections, callbacks.
///
/// # Safety
///
/// `ptr` is NULL or a live krcu allocation that no new reader can reach,
/// queued once.
#[no_mangle]
pub unsafe extern "C" fn krcu_kvfree_call_rcu(head: *mut krcu_head, ptr: *mut c_void) {
    // SAFETY: the caller's contract; krcu_head and RcuHead share a layout.
    ffi("krcu_kvfree_call_rcu", || unsafe {
        urcu_slab::kvfree_call_rcu(head.cast(), ptr.cast())
    })
}

/// As `krcu_kvfree_call_rcu`, with an 8-byte `struct krcu_ptr` link.
///
/// # Safety
///
/// As for `krcu_kvfree_call_rcu`.
#[no_mangle]
pub unsafe extern "C" fn krcu_kvfree_call_rcu_ptr(head: *mut krcu_ptr, ptr: *mut c_void) {
    // SAFETY: the caller's contract; krcu_ptr and RcuPtr share a layout.
    ffi("krcu_kvfree_call_rcu_ptr", || unsafe {
        urcu_slab::kvfree_call_rcu_ptr(head.cast::<RcuPtr>(), ptr.cast())
    })
}

/// Waits until every kfree_rcu / kvfree_rcu that returned before the call
/// has freed its object, on every thread.
///
/// Context: normal code outside any read section and outside an
/// `rcu_dtor` (either aborts: it would deadlock).
#[no_mangle]
pub extern "C" fn krcu_kvfree_rcu_barrier() {
    ffi("krcu_kvfree_rcu_barrier", urcu_slab::kvfree_rcu_barrier)
}

/// As `krcu_kvfree_rcu_barrier`, flushing only `cache`'s rcu sheaves.
///
/// Context: as `krcu_kvfree_rcu_barrier`. Aborts when `cache` is NULL.
///
/// # Safety
///
/// `cache` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn krcu_kvfree_rcu_barrier_on_cache(cache: *mut krcu_cache) {
    ffi("krcu_kvfree_rcu_barrier_on_cache", || {
        with_cache(
            "krcu_kvfree_rcu_barrier_on_cache",
            cache,
            urcu_slab::kvfree_rcu_barrier_on_cache,
        )
    })
}

/// Returns free memory to the system (every cache's barn and empty slabs).
///
/// Context: normal code.
#[no_mangle]
pub extern "C" fn krcu_trim() {
    ffi("krcu_trim", urcu_slab::trim)
}

// ---- the unknown context ----

/// Readies the calling thread for `_nolock` calls from it and its signal
/// handlers: creates its slab state and the kmalloc size classes, which a
/// `_nolock` call cannot do. Any ordinary slab call on the thread does the
/// first. On a thread that is not ready, `_nolock` allocations return NULL
/// and frees are deferred to the helper.
///
/// Context: normal code (it may allocate and lock), not a signal handler.
#[no_mangle]
pub extern "C" fn krcu_prepare_thread() {
    ffi("krcu_prepare_thread", urcu_slab::prepare_thread)
}

/// `krcu_kmalloc` for any context, a signal handler that interrupted
/// anything included: from this thread's nolock sheaf of the size class,
/// which krcu's helper keeps stocked. Never blocks, locks, calls malloc or
/// waits. Returns NULL, with errno `ENOMEM`, at once when nothing is at hand
/// (a thread's first call on a class asks the helper for a sheaf; later
/// calls succeed) and for sizes over 8192. A handler that must keep the
/// interrupted code's errno saves and restores it, as around any call.
///
/// Context: any (normal code, signal handlers, read sections, callbacks).
#[no_mangle]
pub extern "C" fn krcu_kmalloc_nolock(size: usize) -> *mut c_void {
    ffi("krcu_kmalloc_nolock", || {
        match urcu_slab::kmalloc_nolock(size) {
            Ok(p) => p.as_ptr().cast(),
            Err(_) => {
                set_errno(libc::ENOMEM);
                ptr::null_mut()
            }
        }
    })
}

/// `krcu_cache_alloc` for any context: see `krcu_kmalloc_nolock`. Also NULL
/// (`ENOMEM`) for a cache without sheaves. Aborts, with a message written
/// by write(2), when `cache` is NULL.
///
/// Context: any.
///
/// # Safety
///
/// `cache` is a live cache handle.
#[no_mangle]
pub unsafe extern "C" fn krcu_cache_alloc_nolock(cache: *mut krcu_cache) -> *mut c_void {
    if cache.is_null() {
        bad_argument_nolock("krcu_cache_alloc_nolock", "cache is NULL");
    }
    ffi("krcu_cache_alloc_nolock", || {
        with_cache("krcu_cache_alloc_nolock", cache, |c| {
            match c.alloc_nolock() {
                Ok(p) => p.as_ptr().cast(),
                Err(_) => {
                    set_errno(libc::ENOMEM);
                    ptr::null_mut()
                }
            }
        })
    })
}

/// `krcu_kfree` for any context: never fails, never blocks. The object
/// goes into this thread's nolock sheaf of its cache or, when that is full
/// or in use by the call this one interrupted (and for large objects), on
/// a lock-free list linked through the object itself, for krcu's helper to
/// free. NULL is a no-op. Aborts, with a message written by write(2), when
/// krcu did not allocate `obj`.
///
/// Context: any.
///
/// # Safety
///
/// `obj` is NULL or a live krcu allocation, not used after.
#[no_mangle]
pub unsafe extern "C" fn krcu_kfree_nolock(obj: *mut c_void) {
    // SAFETY: the caller's contract.
    ffi("krcu_kfree_nolock", || unsafe {
        urcu_slab::kfree_nolock(obj.cast())
    })
}

/// `krcu_kvfree_call_rcu` for any context: the object goes into this
/// thread's kfree_rcu sheaf or batch when the call did not interrupt krcu
/// on this thread, else on a lock-free list through `head` for krcu's
/// helper (a later grace period, still a correct one). Never blocks,
/// allocates or waits. NULL `ptr` is a no-op. Aborts, with a message written
/// by write(2), when krcu did not allocate `ptr` or `head` lies outside it.
/// The `krcu_kfree_rcu_nolock` macro calls this or the `_ptr` variant.
///
/// Context: any.
///
/// # Safety
///
/// As for `krcu_kvfree_call_rcu`.
#[no_mangle]
pub unsafe extern "C" fn krcu_kvfree_call_rcu_nolock(head: *mut krcu_head, ptr: *mut c_void) {
    // SAFETY: the caller's contract; krcu_head and RcuHead share a layout.
    ffi("krcu_kvfree_call_rcu_nolock", || unsafe {
        urcu_slab::kvfree_call_rcu_nolock(head.cast(), ptr.cast())
    })
}

/// As `krcu_kvfree_call_rcu_nolock`, with an 8-byte `struct krcu_ptr` link
/// (the name of the C API contract; `krcu_kfree_rcu_nolock` calls it for a
/// `struct krcu_ptr` member).
///
/// Context: any.
///
/// # Safety
///
/// As for `krcu_kvfree_call_rcu`.
#[no_mangle]
pub unsafe extern "C" fn krcu_kfree_call_rcu_nolock(head: *mut krcu_ptr, ptr: *mut c_void) {
    // SAFETY: the caller's contract; krcu_ptr and RcuPtr share a layout.
    ffi("krcu_kfree_call_rcu_nolock", || unsafe {
        urcu_slab::kvfree_call_rcu_ptr_nolock(head.cast::<RcuPtr>(), ptr.cast())
    })
}
