//! The kfree_rcu calls: links ([`RcuPtr`], [`RcuHead`]), the macro, the
//! two-argument and headless forms, and the barriers.

use super::checks::{forbid_sleep, mark_pending};
use super::insert::insert;
use super::local::Block;
use crate::caches::KmemCache;
use crate::helper;
use crate::helper::free_after_gp;
use crate::stats::counters::{self, bump};
use crate::thread;
use std::ptr;
use std::sync::atomic::AtomicPtr;
use urcu_core::{memb, qsbr, RcuHead};

/// An 8-byte link for kfree_rcu: the kernel's `struct rcu_ptr`.
///
/// Objects that are only ever freed with kfree_rcu need no callback
/// pointer, so they can carry this instead of a 16-byte [`RcuHead`].
#[repr(C)]
#[derive(Debug, Default)]
pub struct RcuPtr {
    next: AtomicPtr<RcuPtr>,
}

impl RcuPtr {
    /// An unlinked link.
    pub const fn new() -> Self {
        RcuPtr {
            next: AtomicPtr::new(ptr::null_mut()),
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for urcu_core::RcuHead {}
    impl Sealed for super::RcuPtr {}
}

/// A link kfree_rcu can thread an object through: [`RcuHead`] or
/// [`RcuPtr`]. Both start with the pointer-sized word kfree_rcu uses.
pub trait RcuLink: sealed::Sealed {}
impl RcuLink for RcuHead {}
impl RcuLink for RcuPtr {}

/// A kfree_rcu link must lie within the object's first this-many bytes.
pub const KFREE_RCU_MAX_OFFSET: usize = 4096;

/// Frees a krcu object after a grace period of both flavors, through the
/// [`RcuHead`] or [`RcuPtr`] field it embeds: `kfree_rcu!(ptr, Type, field)`.
///
/// Never blocks and never allocates (the object is linked through its own
/// field when no array slot is free). While more than about 96K objects
/// wait for the helper (a flood outrunning it) it sleeps 10 µs at a time,
/// at most 16 times per call, leaving the CPU to the helper, which bounds
/// the memory waiting. A field at offset 4096 or more is rejected at
/// compile time. Rust cannot name the type of an expression in a constant,
/// so the macro takes the type besides the pointer and the field.
///
/// ```
/// use urcu_slab::{kfree_rcu, kmalloc, kvfree_rcu_barrier, RcuPtr};
///
/// #[repr(C)]
/// struct Node { key: u64, rcu: RcuPtr }
///
/// let p = kmalloc(std::mem::size_of::<Node>()).unwrap().as_ptr().cast::<Node>();
/// // SAFETY: p is a fresh krcu allocation, large enough for a Node.
/// unsafe { p.write(Node { key: 7, rcu: RcuPtr::new() }) };
/// // SAFETY: p is unpublished (or unpublished before this) and not used again.
/// unsafe { kfree_rcu!(p, Node, rcu) };
/// kvfree_rcu_barrier();
/// ```
///
/// ```compile_fail
/// use urcu_slab::{kfree_rcu, RcuPtr};
/// #[repr(C)]
/// struct Big { data: [u8; 4096], rcu: RcuPtr }
/// let p: *mut Big = std::ptr::null_mut();
/// unsafe { kfree_rcu!(p, Big, rcu) }; // the link is past the first 4096 bytes
/// ```
///
/// # Safety
///
/// The expansion calls [`kfree_rcu_link`]; its contract applies.
#[macro_export]
macro_rules! kfree_rcu {
    ($ptr:expr, $ty:ty, $field:ident) => {{
        const _: () = ::core::assert!(
            ::core::mem::offset_of!($ty, $field) < $crate::KFREE_RCU_MAX_OFFSET,
            "kfree_rcu!: the link field must lie within the object's first 4096 bytes"
        );
        let __p: *mut $ty = $ptr;
        $crate::kfree_rcu_link(__p.cast::<u8>(), ::core::ptr::addr_of_mut!((*__p).$field))
    }};
}

/// The function under [`kfree_rcu!`]: frees the krcu object at `ptr`
/// after a grace period, linking it through `head` if need be. Null `ptr`
/// is a no-op.
///
/// # Safety
///
/// `ptr` is a live krcu allocation (kmalloc or any cache) that no new
/// reader can reach, and nothing uses it after the grace period; `head`
/// points into it; neither is passed to kfree_rcu again.
///
/// # Panics
///
/// When `ptr` is not a krcu allocation, or `head` does not lie within its
/// first [`KFREE_RCU_MAX_OFFSET`] bytes, or the object is free already or
/// waiting for a grace period already (a double free: nothing is queued).
#[inline]
#[track_caller]
pub unsafe fn kfree_rcu_link<H: RcuLink>(ptr: *mut u8, head: *mut H) {
    if ptr.is_null() {
        return;
    }
    let o = crate::memory::object_of(ptr, "kfree_rcu");
    let off = (head as usize).wrapping_sub(o.start as usize);
    if off >= KFREE_RCU_MAX_OFFSET.min(o.size()) || off + 8 > o.size() {
        crate::report::misuse(
            &format!(
                "kfree_rcu({ptr:p}): the link at {head:p} is not within the object's first {} bytes",
                KFREE_RCU_MAX_OFFSET.min(o.size())
            ),
            "pass a pointer to an RcuHead or RcuPtr field of the object itself",
        );
    }
    mark_pending(&o, "kfree_rcu");
    thread::with_rcu_state(|ts| insert(ts, &o, Some(head.cast())));
    helper::throttle();
}

/// `kvfree_call_rcu` with a 16-byte head: see [`kfree_rcu_link`].
///
/// # Safety
///
/// As for [`kfree_rcu_link`].
#[inline]
#[track_caller]
pub unsafe fn kvfree_call_rcu(head: *mut RcuHead, ptr: *mut u8) {
    // SAFETY: forwarded contract.
    unsafe { kfree_rcu_link(ptr, head) }
}

/// `kvfree_call_rcu` with an 8-byte link: see [`kfree_rcu_link`].
///
/// # Safety
///
/// As for [`kfree_rcu_link`].
#[inline]
#[track_caller]
pub unsafe fn kvfree_call_rcu_ptr(head: *mut RcuPtr, ptr: *mut u8) {
    // SAFETY: forwarded contract.
    unsafe { kfree_rcu_link(ptr, head) }
}

/// Headless kvfree_rcu: frees the krcu object at `ptr` after a grace period
/// of both flavors, with no link inside it. Null is a no-op.
///
/// The pointer goes into a per-thread bulk array; when no array can be had
/// (not even by mapping one) it waits for the grace period itself and frees
/// the object before returning: it may sleep.
///
/// # Safety
///
/// As for [`kfree_rcu_link`], without the link.
///
/// # Panics
///
/// Inside a read-side critical section of either flavor (it may wait for a
/// grace period, which would deadlock), or when `ptr` is not a krcu
/// allocation, or for a double free (as [`kfree_rcu_link`]).
#[track_caller]
pub unsafe fn kvfree_rcu(ptr: *mut u8) {
    if ptr.is_null() {
        return;
    }
    forbid_sleep("kvfree_rcu()");
    let o = crate::memory::object_of(ptr, "kvfree_rcu");
    mark_pending(&o, "kvfree_rcu");
    for _ in 0..2 {
        if thread::with_rcu_state(|ts| insert(ts, &o, None)) {
            helper::throttle();
            return;
        }
        // No array slot: map a block (this path may allocate and sleep).
        let block = Block::alloc();
        if block.is_null() {
            break;
        }
        thread::with_rcu_state(|ts| {
            // SAFETY: the open batch is ours under the steal protocol.
            let local = unsafe { &mut *ts.rcu.get() };
            local.adopt(block);
        });
    }
    // Nothing to queue it in: wait for the grace period here.
    crate::report::warn(&format!(
        "krcu: kvfree_rcu({:p}) found no pointer array (memory is short) and waits for the grace period inline; give objects an embedded link (kfree_rcu!) to avoid this",
        o.start
    ));
    let size = o.size() as u64;
    thread::with_rcu_state(|ts| {
        bump(&ts.counters.rcu_objects, 1);
        bump(&ts.counters.rcu_bytes, size);
    });
    memb::synchronize();
    qsbr::synchronize();
    // The object (and, for a large one, its header) is gone after this.
    free_after_gp(o.start);
    counters::add(&counters::FREED_SYNC, 1);
    counters::add(&counters::FREED_BYTES, size);
}

/// Waits until every kfree_rcu and kvfree_rcu that returned before the call
/// has freed its object, on every thread (including idle and exited ones).
///
/// # Panics
///
/// Inside a read-side critical section of either flavor, or in an
/// `rcu_dtor`: it waits for grace periods and for the helper.
#[track_caller]
pub fn kvfree_rcu_barrier() {
    helper::barrier(None, "kvfree_rcu_barrier()");
}

/// [`kvfree_rcu_barrier`] for one cache: flushes only that cache's
/// `rcu_free` sheaves (and every thread's batches, which mix caches), then
/// waits for them.
///
/// # Panics
///
/// As [`kvfree_rcu_barrier`].
#[track_caller]
pub fn kvfree_rcu_barrier_on_cache(cache: &KmemCache) {
    helper::barrier(Some(cache.inner()), "kvfree_rcu_barrier_on_cache()");
}
