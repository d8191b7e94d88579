//! `_nolock` frees and kfree_rcus: in place when the thread's state allows
//! it, else onto the deferred lists for the helper.

use super::alloc::slot_of;
use super::drain::wake;
use super::fatal::{double_free, fatal, object};
use super::lists::*;
use crate::caches::CacheInner;
use crate::kfree_rcu::{self, RcuLink, KFREE_RCU_MAX_OFFSET};
use crate::memory::freemark;
use crate::stats::counters::{self, bump};
use crate::thread;
use std::sync::atomic::Ordering;

/// Frees a krcu allocation from any context, a signal handler that
/// interrupted anything included. Never fails and never blocks: the object
/// goes into this thread's `_nolock` sheaf of its cache, or (when that is
/// full or in use by the call this one interrupted, and for large objects
/// and caches without sheaves) onto the deferred list, linked through the
/// object's own memory, for the helper to free. Null is a no-op.
///
/// # Contexts
///
/// Any: ordinary code, a signal handler, a read section of either flavor,
/// an `rcu_dtor` or `call_rcu` callback.
///
/// # Safety
///
/// `ptr` is a live krcu allocation, not used after this call.
///
/// # Aborts
///
/// When `ptr` is not a krcu allocation, or is free already or waiting to be
/// freed (a double free): the message (written with `write(2)`) names the
/// pointer and the cache. A panic is not an option where this may run.
pub unsafe fn kfree_nolock(ptr: *mut u8) {
    if ptr.is_null() {
        return;
    }
    let o = object(ptr, "kfree_nolock");
    if o.is_pending() {
        double_free(o.start, "kfree_nolock", freemark::PENDING);
    }
    let Some(cache) = o.cache() else {
        // A large object: unmapping it is the helper's job.
        defer_free(o.start, 0);
        return;
    };
    let mark = freemark::Mark::of(cache.free_key, o.start, cache.freeptr);
    if mark.is_set() {
        double_free(o.start, "kfree_nolock", "free");
    }
    if cache.sheaf_capacity > 0 && free_in_place(cache, o.start, mark) {
        return;
    }
    defer_free(o.start, cache.freeptr);
}

#[inline(always)]
fn free_in_place(cache: &CacheInner, obj: *mut u8, mark: freemark::Mark<'_>) -> bool {
    let Some(ts) = thread::current_nolock() else {
        return false;
    };
    let Some(slot) = slot_of(ts, cache) else {
        return false;
    };
    let Some(_g) = ts.enter_nolock() else {
        return false;
    };
    // Relaxed: this thread's own pointer.
    let sheaf = slot.nolock.load(Ordering::Relaxed);
    // SAFETY: this thread's nolock sheaf, under enter_nolock.
    if sheaf.is_null() || unsafe { (*sheaf).is_full() } {
        return false;
    }
    cache.poison_object(obj);
    // SAFETY: as above; not full.
    unsafe { (*sheaf).push(obj) };
    mark.set();
    bump(&ts.counters.nolock_free, 1);
    true
}

/// Pushes a free for the helper: the object's word at `link_off` links it.
/// The link takes the free mark's place, so the object is marked pending
/// instead until the helper frees it (freemark.rs).
#[cold]
fn defer_free(start: *mut u8, link_off: usize) {
    let o = object(start, "kfree_nolock");
    if !o.mark_pending() {
        double_free(start, "kfree_nolock", freemark::PENDING);
    }
    // SAFETY: the object is being freed, so its link word (the freelist
    // link's place, outside the object for typesafe and constructed caches)
    // is ours; the helper owns it from now on.
    if unsafe { DEFERRED_FREE.push(start.wrapping_add(link_off)) } {
        wake();
    }
}

/// kfree_rcu from any context, a signal handler that interrupted anything
/// included: `kfree_rcu_nolock!(ptr, Type, field)`, with an [`RcuPtr`] or
/// [`RcuHead`] field.
///
/// Only the two-argument form exists: where nothing may be allocated and
/// nothing may wait, the object must carry its own link.
///
/// ```
/// use urcu_slab::{kfree_rcu_nolock, kmalloc_nolock, kvfree_rcu_barrier, RcuPtr};
///
/// #[repr(C)]
/// struct Sample { ip: u64, rcu: RcuPtr }
///
/// // An ordinary kmalloc readies this thread's sheaves of the class.
/// let warm = urcu_slab::kmalloc(16).unwrap();
/// // SAFETY: a live allocation, not used again.
/// unsafe { urcu_slab::kfree(warm.as_ptr()) };
/// if let Ok(p) = kmalloc_nolock(std::mem::size_of::<Sample>()) {
///     let p = p.as_ptr().cast::<Sample>();
///     // SAFETY: a fresh allocation of the right size.
///     unsafe { p.write(Sample { ip: 0x400000, rcu: RcuPtr::new() }) };
///     // SAFETY: p is unpublished and not used again.
///     unsafe { kfree_rcu_nolock!(p, Sample, rcu) };
/// }
/// kvfree_rcu_barrier();
/// ```
///
/// # Safety
///
/// The expansion calls [`kfree_rcu_nolock_link`]; its contract applies.
///
/// [`RcuPtr`]: crate::RcuPtr
/// [`RcuHead`]: crate::RcuHead
#[macro_export]
macro_rules! kfree_rcu_nolock {
    ($ptr:expr, $ty:ty, $field:ident) => {{
        const _: () = ::core::assert!(
            ::core::mem::offset_of!($ty, $field) < $crate::KFREE_RCU_MAX_OFFSET,
            "kfree_rcu_nolock!: the link field must lie within the object's first 4096 bytes"
        );
        let __p: *mut $ty = $ptr;
        $crate::kfree_rcu_nolock_link(__p.cast::<u8>(), ::core::ptr::addr_of_mut!((*__p).$field))
    }};
}

/// The function under [`kfree_rcu_nolock!`]: frees the krcu object at
/// `ptr` after a grace period of both flavors, from any context.
///
/// The object goes into this thread's `rcu_free` sheaf or open batch when
/// the thread's state is free (a full sheaf or batch is handed to the
/// helper on its lock-free stack); otherwise onto the deferred list,
/// linked through `head`, and the helper queues it later (its grace period
/// then starts later, which is still correct). Never blocks, allocates or
/// yields. Null `ptr` is a no-op.
///
/// # Contexts
///
/// Any: ordinary code, a signal handler, a read section of either flavor,
/// an `rcu_dtor` or `call_rcu` callback.
///
/// # Safety
///
/// As for [`kfree_rcu_link`](crate::kfree_rcu_link).
///
/// # Aborts
///
/// When `ptr` is not a krcu allocation, `head` is not within its first
/// [`KFREE_RCU_MAX_OFFSET`] bytes, or the object is free already or waiting
/// to be freed (a double free); the message, written with `write(2)`,
/// names the pointer.
pub unsafe fn kfree_rcu_nolock_link<H: RcuLink>(ptr: *mut u8, head: *mut H) {
    if ptr.is_null() {
        return;
    }
    let o = object(ptr, "kfree_rcu_nolock");
    let off = (head as usize).wrapping_sub(o.start as usize);
    if off >= KFREE_RCU_MAX_OFFSET.min(o.size()) || off + 8 > o.size() {
        fatal(
            &[
                "kfree_rcu_nolock",
                "the link is not within the object's first 4096 bytes (or its size); ",
                "pass a pointer to an RcuHead or RcuPtr field of the object itself",
            ],
            ptr,
        );
    }
    if let Some(cache) = o.cache() {
        if freemark::marked(cache.free_key, o.start, cache.freeptr) {
            double_free(o.start, "kfree_rcu_nolock", "free");
        }
    }
    if !o.mark_pending() {
        counters::add(&counters::DOUBLE, 1);
        double_free(o.start, "kfree_rcu_nolock", freemark::PENDING);
    }
    let head = head.cast::<u8>();
    let queued = thread::current_nolock()
        .and_then(|ts| ts.try_rcu_state(|ts| kfree_rcu::insert::insert_nolock(ts, &o, head)));
    if queued == Some(true) {
        return;
    }
    // SAFETY: the link lies inside the object (checked), which is ours
    // until its grace period ends; the helper owns it from now on.
    if unsafe { DEFERRED_RCU.push(head) } {
        wake();
    }
}

/// `kvfree_call_rcu` with a 16-byte head, from any context: see
/// [`kfree_rcu_nolock_link`].
///
/// # Safety
///
/// As for [`kfree_rcu_nolock_link`].
pub unsafe fn kvfree_call_rcu_nolock(head: *mut urcu_core::RcuHead, ptr: *mut u8) {
    // SAFETY: forwarded contract.
    unsafe { kfree_rcu_nolock_link(ptr, head) }
}

/// `kvfree_call_rcu` with an 8-byte link, from any context: see
/// [`kfree_rcu_nolock_link`].
///
/// # Safety
///
/// As for [`kfree_rcu_nolock_link`].
pub unsafe fn kvfree_call_rcu_ptr_nolock(head: *mut crate::RcuPtr, ptr: *mut u8) {
    // SAFETY: forwarded contract.
    unsafe { kfree_rcu_nolock_link(ptr, head) }
}
