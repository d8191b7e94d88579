//! A slab: one [`SLAB_SIZE`]-aligned mapping holding objects of one cache,
//! with its header at the start. A large kmalloc object has a mapping of its
//! own with the same header in its first page.
//!
//! ```text
//!  base (SLAB_SIZE-aligned)
//!  | Slab header | pending bytes | pad | obj 0 | obj 1 | ... | obj n-1 |
//!                                       ^ base + first, stride apart
//! ```
//!
//! From any interior pointer, [`find`] gets the mapping from the address map
//! ([`pages::header_of`]), checks the header's magic, and computes the
//! object's index and start. Free objects are threaded through a freelist
//! whose link sits at the cache's `freeptr` offset, encoded as a free mark
//! (freemark.rs); objects past `never_used` have never been handed out and
//! are free without being on the list, so a new slab is not touched page by
//! page.
//!
//! The pending bytes hold one flag per object: set while the object waits
//! for a grace period in a kfree_rcu batch or sheaf, or for the helper to
//! free it after a deferred `_nolock` free, so that a second free or
//! kfree_rcu of it is caught (freemark.rs). A byte, not a bit: each flag is
//! then written with a plain store by whoever owns the object (its freeing
//! thread, then the helper), never with a locked read-modify-write of a
//! word that 63 other objects' owners write too.

use super::freemark;
use super::pages::{self, SLAB_SIZE};
use crate::helper::PendingHead;
use std::ptr;
use std::sync::atomic::{AtomicU8, Ordering};

const SLAB_MAGIC: u64 = 0x6b72_6375_736c_6162; // "krcuslab"
const LARGE_MAGIC: u64 = 0x6b72_6375_6c61_7267; // "krcularg"

/// Which node list a slab is on (under the cache's node lock).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SlabList {
    /// Every object handed out: on no list.
    Full,
    /// Some objects free.
    Partial,
    /// Every object free.
    Empty,
}

/// The header at the start of every krcu mapping.
#[repr(C)]
pub(crate) struct Slab {
    /// Links a typesafe-by-RCU slab waiting for a grace period before it is
    /// unmapped.
    pub(crate) pending: PendingHead,
    magic: u64,
    /// The owning cache, opaque here (the caches mechanism reads it:
    /// `Object::cache`); null for a large kmalloc object.
    pub(crate) owner: *const (),
    /// Length of the whole mapping.
    pub(crate) map_len: usize,
    /// Large objects: the usable size. Slabs: the cache's object size.
    pub(crate) obj_size: usize,
    pub(crate) stride: u32,
    /// `ceil(2^32 / stride)`: offset / stride is `(offset * recip) >> 32`,
    /// exact for offsets and strides below 2^16 (a slab is 2^16 bytes).
    pub(crate) recip: u32,
    pub(crate) first: u32,
    pub(crate) nr_objs: u32,
    // The fields below are protected by the cache's node lock.
    pub(crate) inuse: u32,
    pub(crate) never_used: u32,
    pub(crate) freelist: *mut u8,
    pub(crate) list: SlabList,
    pub(crate) prev: *mut Slab,
    pub(crate) next: *mut Slab,
}

/// The size of a slab header with pending bytes for `nr_objs` objects.
pub(crate) const fn header_len(nr_objs: usize) -> usize {
    std::mem::size_of::<Slab>() + nr_objs.next_multiple_of(8)
}

/// Why a pointer is not a krcu object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Foreign {
    /// No krcu mapping contains it.
    NotMapped,
    /// It points into a slab's header, not at an object.
    Header,
    /// The mapping's header does not carry krcu's magic: memory corruption.
    Corrupt,
}

impl Foreign {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Foreign::NotMapped => {
                "was not allocated by krcu, or was freed already (no krcu slab or large mapping contains it)"
            }
            Foreign::Header => "points into a krcu slab's header, not at an object",
            Foreign::Corrupt => "lies in a krcu mapping whose header is corrupt",
        }
    }
}

/// A krcu object found from a pointer into it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Object {
    pub(crate) slab: *mut Slab,
    pub(crate) start: *mut u8,
    pub(crate) index: u32,
}

impl Object {
    /// The slab's header.
    #[inline]
    pub(crate) fn slab(&self) -> &Slab {
        // SAFETY: `find` returned a published mapping's header, and the
        // caller owns an object in it, so the mapping is not unmapped
        // while it is used.
        unsafe { &*self.slab }
    }

    /// Usable size of the object.
    #[inline]
    pub(crate) fn size(&self) -> usize {
        self.slab().obj_size
    }

    #[inline(always)]
    fn pending_byte(&self) -> &AtomicU8 {
        let bytes = (self.slab as usize + std::mem::size_of::<Slab>()) as *const AtomicU8;
        // SAFETY: the bytes follow the header, one per object (header_len);
        // they are initialised (zero) with the mapping.
        unsafe { &*bytes.add(self.index as usize) }
    }

    /// Marks the object as waiting for a grace period or a deferred free;
    /// false when it already was (a double kfree_rcu or free).
    ///
    /// Relaxed load and store, not a read-modify-write: the flag only
    /// detects a repeat of the same object by its owner, which wrote it
    /// last (or received the object, with the flag cleared, through a
    /// hand-off that orders the clear before). Two threads freeing one
    /// object at once race in the caller's code; the check may then miss
    /// it, never report a valid free.
    #[inline(always)]
    pub(crate) fn mark_pending(&self) -> bool {
        let b = self.pending_byte();
        if b.load(Ordering::Relaxed) != 0 {
            return false;
        }
        b.store(1, Ordering::Relaxed);
        true
    }

    /// Whether the object waits for a grace period or a deferred free: a
    /// free of it now is a double free. Relaxed: as for `mark_pending`.
    #[inline(always)]
    pub(crate) fn is_pending(&self) -> bool {
        self.pending_byte().load(Ordering::Relaxed) != 0
    }

    /// Clears the pending mark when the object is freed after its grace
    /// period (the helper, which owns it then).
    #[inline]
    pub(crate) fn clear_pending(&self) {
        // Relaxed: the object's owner writes its flag (slab.rs's pending
        // bytes).
        self.pending_byte().store(0, Ordering::Relaxed);
    }
}

/// Finds the krcu object containing `p`.
#[inline]
pub(crate) fn find(p: *const u8) -> Result<Object, Foreign> {
    let base = pages::header_of(p).ok_or(Foreign::NotMapped)?;
    let slab = base.cast::<Slab>();
    // SAFETY: the address map holds only published mappings, whose header
    // was written before publication (Release/Acquire in the map).
    let s = unsafe { &*slab };
    let off = p as usize - base as usize;
    if s.magic == (LARGE_MAGIC ^ base as u64) {
        if off < s.first as usize {
            return Err(Foreign::Header);
        }
        return Ok(Object {
            slab,
            start: base.wrapping_add(s.first as usize),
            index: 0,
        });
    }
    if s.magic != (SLAB_MAGIC ^ base as u64) {
        return Err(Foreign::Corrupt);
    }
    if off < s.first as usize {
        return Err(Foreign::Header);
    }
    let index = (((off - s.first as usize) as u64 * s.recip as u64) >> 32) as u32;
    debug_assert_eq!(index as usize, (off - s.first as usize) / s.stride as usize);
    if index >= s.nr_objs {
        return Err(Foreign::Header);
    }
    Ok(Object {
        slab,
        start: base.wrapping_add(s.first as usize + index as usize * s.stride as usize),
        index,
    })
}

/// `ceil(2^32 / stride)` for [`Slab::recip`].
const fn reciprocal(stride: usize) -> u32 {
    assert!(stride >= 8 && stride <= SLAB_SIZE);
    (1u64 << 32).div_ceil(stride as u64) as u32
}

/// The `free` of a typesafe-by-RCU cache's empty slab handed to the helper:
/// unmaps it.
///
/// # Safety
///
/// `head` is the pending head of an empty slab off its cache's lists, whose
/// grace periods have passed.
pub(crate) unsafe fn release_pending(head: *mut PendingHead) {
    // SAFETY: the head is the slab header's first field (`repr(C)`); the
    // caller's contract does the rest.
    unsafe { release(head.cast()) };
}

/// A slab's layout: object size, stride, offset of the first object, and
/// objects per slab.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    pub(crate) size: usize,
    pub(crate) stride: usize,
    pub(crate) first: usize,
    pub(crate) nr_objs: usize,
}

/// Maps and publishes a new slab of `geometry` for the cache `owner`; null
/// when memory cannot be had.
pub(crate) fn new_slab(owner: *const (), geometry: Geometry) -> *mut Slab {
    let base = pages::map_aligned(SLAB_SIZE);
    if base.is_null() {
        return ptr::null_mut();
    }
    let slab = base.cast::<Slab>();
    let g = geometry;
    let mut h = Slab::header(base, SLAB_MAGIC, SLAB_SIZE, g.size);
    h.owner = owner;
    h.stride = g.stride as u32;
    h.recip = reciprocal(g.stride);
    h.first = g.first as u32;
    h.nr_objs = g.nr_objs as u32;
    // SAFETY: a fresh, zeroed, SLAB_SIZE mapping, large enough for the header
    // and pending bytes (the cache's geometry was computed from header_len).
    unsafe { slab.write(h) };
    if !pages::publish(base, SLAB_SIZE) {
        // SAFETY: never published, nothing else knows it.
        unsafe { pages::unmap(base, SLAB_SIZE) };
        return ptr::null_mut();
    }
    slab
}

/// Maps a large object of `size` bytes: its header in the first page, the
/// object page-aligned after it. Returns the object, or null.
pub(crate) fn new_large(size: usize) -> *mut u8 {
    let page = pages::page_size();
    let Some(usable) = size.max(1).checked_next_multiple_of(page) else {
        return ptr::null_mut();
    };
    let Some(len) = usable.checked_add(page) else {
        return ptr::null_mut();
    };
    let base = pages::map_aligned(len);
    if base.is_null() {
        return ptr::null_mut();
    }
    let slab = base.cast::<Slab>();
    debug_assert!(header_len(1) <= page);
    let mut h = Slab::header(base, LARGE_MAGIC, len, usable);
    h.first = page as u32;
    h.nr_objs = 1;
    h.inuse = 1;
    h.never_used = 1;
    h.list = SlabList::Full;
    // SAFETY: a fresh mapping of at least one page, enough for the header.
    unsafe { slab.write(h) };
    if !pages::publish(base, len) {
        // SAFETY: never published.
        unsafe { pages::unmap(base, len) };
        return ptr::null_mut();
    }
    base.wrapping_add(page)
}

/// Unpublishes and unmaps a slab or large mapping.
///
/// # Safety
///
/// No object of it is in use or referenced by krcu any more, and no reader
/// can still be reading it (typesafe-by-RCU slabs: a grace period passed).
pub(crate) unsafe fn release(slab: *mut Slab) {
    // SAFETY: the caller's contract; the header is valid until the unmap.
    let len = unsafe { (*slab).map_len };
    pages::unpublish(slab.cast(), len);
    // SAFETY: as above.
    unsafe { pages::unmap(slab.cast(), len) };
}

impl Slab {
    /// A header for the mapping at `base`; the caller fills in the geometry.
    fn header(base: *mut u8, magic: u64, map_len: usize, obj_size: usize) -> Slab {
        Slab {
            pending: PendingHead::new(),
            magic: magic ^ base as u64,
            owner: ptr::null(),
            map_len,
            obj_size,
            stride: 0,
            recip: 0,
            first: 0,
            nr_objs: 0,
            inuse: 0,
            never_used: 0,
            freelist: ptr::null_mut(),
            list: SlabList::Empty,
            prev: ptr::null_mut(),
            next: ptr::null_mut(),
        }
    }

    /// Takes a free object, free-marked for a sheaf (freemark.rs). Node
    /// lock held; the slab has one. A freelist link that is no free mark
    /// of this slab (written after free) aborts: following it would hand
    /// out a wild pointer, in whatever context the caller runs.
    ///
    /// # Safety
    ///
    /// The caller holds the owning cache's node lock and `inuse < nr_objs`;
    /// `key`, `freeptr` and `name` are the cache's.
    pub(crate) unsafe fn take(&mut self, key: u64, freeptr: usize, name: &str) -> *mut u8 {
        debug_assert!(self.inuse < self.nr_objs);
        self.inuse += 1;
        let base = self as *mut Slab as *mut u8;
        let obj = if !self.freelist.is_null() {
            let obj = self.freelist;
            // Freelist objects are free objects of this slab, linked by `put`.
            match freemark::next(key, obj, freeptr, base) {
                Ok(next) => self.freelist = next,
                Err(_) => corrupt_freelist(name),
            }
            obj
        } else {
            let i = self.never_used;
            self.never_used += 1;
            base.wrapping_add(self.first as usize + i as usize * self.stride as usize)
        };
        freemark::mark(key, obj, freeptr);
        obj
    }

    /// Returns a free object to the slab. Node lock held.
    ///
    /// # Safety
    ///
    /// The caller holds the node lock; `obj` is an object of this slab that
    /// was taken and is no longer used; `key` and `freeptr` are the cache's.
    pub(crate) unsafe fn put(&mut self, obj: *mut u8, key: u64, freeptr: usize) {
        debug_assert!(self.inuse > 0);
        let base = self as *mut Slab as *mut u8;
        freemark::link(key, obj, freeptr, self.freelist, base);
        self.freelist = obj;
        self.inuse -= 1;
    }
}

#[cold]
#[inline(never)]
fn corrupt_freelist(name: &str) -> ! {
    urcu_core::__private::die(&[
        "memory corruption: a free object of cache `",
        name,
        "` was written after it was freed (its freelist link is overwritten)",
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reciprocal_division_is_exact_for_every_slab_offset() {
        for stride in (8..=SLAB_SIZE / 2).step_by(8) {
            let r = reciprocal(stride) as u64;
            for off in (0..SLAB_SIZE).step_by(stride.max(64) / 8) {
                assert_eq!(
                    ((off as u64 * r) >> 32) as usize,
                    off / stride,
                    "stride {stride} off {off}"
                );
            }
            for k in 1..SLAB_SIZE / stride {
                let off = k * stride;
                assert_eq!(((off as u64 * r) >> 32) as usize, k);
                assert_eq!((((off - 1) as u64 * r) >> 32) as usize, k - 1);
            }
        }
    }
}
