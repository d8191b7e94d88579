//! `_nolock` allocation: the thread's `nolock` sheaf, the sheaf the helper
//! stocked next to it, and the slabs as a last resort.

use super::drain::wake;
use super::lists::*;
use crate::caches::{AllocError, CacheInner, Sheaf};
use crate::memory::freemark;
use crate::stats::counters::{self, bump};
use crate::thread::{self, CacheSlot, ThreadSlab};
use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering;

/// Readies the calling thread for `_nolock` calls (from this thread and its
/// signal handlers): creates its slab state and the kmalloc size classes,
/// which a `_nolock` call cannot do (both allocate and lock). Any ordinary
/// krcu slab call on the thread does the first; call this at thread start
/// in a thread whose first krcu call may be a `_nolock` one. On a thread
/// that is not ready, `_nolock` allocations fail and frees are deferred.
///
/// # Contexts
///
/// Ordinary code only (it may allocate and lock), not a signal handler.
pub fn prepare_thread() {
    let ts = thread::current();
    crate::caches::kmalloc::init_classes();
    for size in crate::caches::kmalloc::class_sizes() {
        if let Some(c) = crate::caches::kmalloc::class_nolock(size) {
            // The slot tables of the size classes, so the helper can stock
            // this thread's sheaves, and a first object of every class in
            // the thread's own stock, so that a first kmalloc_nolock of any
            // size succeeds before the helper has stocked anything, whoever
            // holds the class's locks then. (A slab with a free object was
            // not enough: the call could not take it while another thread
            // held the slab lock, or after others took the object.)
            if ts.is_orphan() {
                c.reserve_for_nolock();
            } else {
                c.stock_first_nolock(ts.slot(c.id));
            }
        }
    }
}

/// Allocates `size` bytes from any context, a signal handler that
/// interrupted anything included: from this thread's `_nolock` sheaf of
/// the size class, which the helper keeps stocked. Never blocks, locks or
/// waits.
///
/// When the sheaf is empty and no stocked one waits, it takes a full sheaf
/// from the class's barn, or one object from the class's slabs, if their
/// lock is free at once. It fails (at once, with no retry) only when none
/// of these can be had without waiting (the locks are held, by another
/// thread or by the code the handler interrupted; or every slab is full
/// and a new one would have to be mapped), and for sizes over
/// [`KMALLOC_MAX_CACHE_SIZE`](crate::KMALLOC_MAX_CACHE_SIZE) (those need a
/// mapping). After [`prepare_thread`], a thread's first call of every size
/// succeeds; the size classes must exist (any ordinary kmalloc, or
/// [`prepare_thread`], creates them).
///
/// Free the object with [`kfree`](crate::kfree), [`kfree_nolock`](crate::kfree_nolock), or a
/// kfree_rcu of either kind.
///
/// # Contexts
///
/// Any: ordinary code, a signal handler, a read section of either flavor,
/// an `rcu_dtor` or `call_rcu` callback.
///
/// [`kmalloc`]: crate::kmalloc
#[inline(always)]
pub fn kmalloc_nolock(size: usize) -> Result<NonNull<u8>, AllocError> {
    let Some(cache) = crate::caches::kmalloc::class_nolock(size) else {
        return Err(no_class(size));
    };
    NonNull::new(alloc(cache)).ok_or(AllocError)
}

/// `kmalloc_nolock` of a size no class serves, or before the classes
/// exist (the helper creates them).
#[cold]
fn no_class(size: usize) -> AllocError {
    // Relaxed: a hint, delivered by the wake that follows.
    if size <= crate::KMALLOC_MAX_CACHE_SIZE && !WANT_KMALLOC.swap(true, Ordering::Relaxed) {
        wake();
    }
    count(&counters::ALLOC_FAILED);
    AllocError
}

/// `cache.alloc_nolock()`: see [`KmemCache::alloc_nolock`](crate::KmemCache::alloc_nolock).
#[inline(always)]
pub(crate) fn alloc(cache: &CacheInner) -> *mut u8 {
    let obj = alloc_inner(cache);
    if obj.is_null() {
        return failed();
    }
    if cache.poison {
        cache.check_poison_nolock(obj);
    }
    freemark::clear(obj, cache.freeptr);
    obj
}

/// Counts one failed allocation.
#[cold]
fn failed() -> *mut u8 {
    count(&counters::ALLOC_FAILED);
    ptr::null_mut()
}

#[inline(always)]
fn alloc_inner(cache: &CacheInner) -> *mut u8 {
    // A cache without sheaves never gets a nolock sheaf: take_stocked
    // finds none and fails.
    let Some(ts) = thread::current_nolock() else {
        return from_slabs(cache);
    };
    let Some(slot) = slot_of(ts, cache) else {
        return from_slabs(cache);
    };
    let Some(_g) = ts.enter_nolock() else {
        // A nested handler: the interrupted call has the sheaf.
        return from_slabs(cache);
    };
    // Relaxed: this thread's own pointer (see CacheSlot::nolock).
    let sheaf = slot.nolock.load(Ordering::Relaxed);
    if !sheaf.is_null() {
        // SAFETY: this thread's nolock sheaf, under enter_nolock.
        let s = unsafe { &mut *sheaf };
        if let Some(obj) = s.pop() {
            if s.len() < s.capacity() / 2 {
                want_stock(slot);
            }
            bump(&ts.counters.nolock_alloc, 1);
            return obj;
        }
    }
    take_stocked(ts, cache, slot, sheaf)
}

/// The `nolock` sheaf is empty (or missing): takes the full sheaf the
/// helper stocked, gives the empty one back, and pops an object.
#[cold]
fn take_stocked(
    ts: &ThreadSlab,
    cache: &CacheInner,
    slot: &CacheSlot,
    sheaf: *mut Sheaf,
) -> *mut u8 {
    if cache.sheaf_capacity == 0 {
        return from_slabs(cache);
    }
    // Acquire: pairs with the helper's Release install.
    let mut full = slot.incoming.take();
    if full.is_null() {
        want_stock(slot);
        // Nothing stocked yet (a first call): a full sheaf from the barn
        // if its lock is free now, else one object from the slabs.
        match cache.barn.try_take_full() {
            Some(f) => full = f,
            None => return from_slabs(cache),
        }
    }
    // Relaxed: this thread's own pointer; other threads only read it for
    // statistics (the sheaf's contents came with the Acquire swap above).
    slot.nolock.store(full, Ordering::Relaxed);
    if !sheaf.is_null() {
        // SAFETY: the emptied sheaf is ours to give back; it starts with its
        // pending head.
        unsafe { RETURNED.push(sheaf.cast()) };
        super::drain::want_pass();
    }
    want_stock(slot);
    // SAFETY: now this thread's nolock sheaf, full.
    let obj = unsafe { (*full).pop() };
    bump(&ts.counters.nolock_alloc, 1);
    obj.unwrap_or(ptr::null_mut())
}

/// One object straight from the cache's slabs, if their lock is free at
/// once (no sheaf at hand: a first call, a thread not ready, a nested
/// handler).
#[cold]
fn from_slabs(cache: &CacheInner) -> *mut u8 {
    let obj = cache.try_take_one();
    if !obj.is_null() {
        count(&counters::ALLOC_FROM_SLABS);
    }
    obj
}

/// This thread's slot for `cache`; when it has none yet (creating one
/// allocates), asks the helper for it.
#[inline]
pub(crate) fn slot_of(ts: &'static ThreadSlab, cache: &CacheInner) -> Option<&'static CacheSlot> {
    let slot = ts.slot_if_used_at(cache.slot);
    if slot.is_none() && ts.want_chunk(cache.id) {
        // Relaxed: a hint, delivered by the wake that follows.
        WANT_CHUNKS.store(true, Ordering::Relaxed);
        wake();
    }
    slot
}

/// Asks the helper for a full sheaf for this slot, unless one is waiting or
/// asked for.
#[inline]
fn want_stock(slot: &CacheSlot) {
    // Relaxed: hints (see CacheSlot::want); the loads keep the common case
    // free of read-modify-writes.
    if !slot.incoming.peek().is_null() || slot.want.load(Ordering::Relaxed) {
        return;
    }
    if !slot.want.swap(true, Ordering::Relaxed) && !WANT_STOCK.swap(true, Ordering::Relaxed) {
        wake();
    }
}
