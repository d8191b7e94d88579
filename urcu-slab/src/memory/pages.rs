//! Memory from the operating system: aligned anonymous mappings, and the
//! address map that tells which addresses are krcu's.
//!
//! Every slab is a [`SLAB_SIZE`]-aligned mapping; a large kmalloc object is a
//! mapping of its own, also [`SLAB_SIZE`]-aligned, whose first page holds its
//! header. The address map records, for every [`SLAB_SIZE`] chunk of address
//! space that krcu mapped, how many chunks below it the mapping's header
//! sits. From any pointer, [`header_of`] therefore finds the header of the
//! krcu mapping that contains it, or says that krcu did not map it, without
//! touching memory that might not be mapped.

use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// log2 of [`SLAB_SIZE`].
pub(crate) const SLAB_SHIFT: u32 = 16;
/// Size and alignment of a slab: 64 KiB holds seven 8 KiB objects, and keeps
/// the address map at 4 bytes per 64 KiB of mapped memory.
pub(crate) const SLAB_SIZE: usize = 1 << SLAB_SHIFT;

/// User addresses on x86-64 and arm64 without a hint fit in 47 bits; the
/// kernel hands out higher ones only to a caller that asks for them.
const ADDR_BITS: u32 = 47;
/// Each second-level table covers 4 GiB of address space.
const L2_SHIFT: u32 = 32;
const L1_LEN: usize = 1 << (ADDR_BITS - L2_SHIFT);
const L2_LEN: usize = 1 << (L2_SHIFT - SLAB_SHIFT);

type L2 = [AtomicU32; L2_LEN];

/// First level of the address map: one pointer per 4 GiB, 256 KiB of
/// zero-initialised memory that the kernel maps only where it is touched.
static L1: [AtomicPtr<L2>; L1_LEN] = [const { AtomicPtr::new(ptr::null_mut()) }; L1_LEN];

/// Bytes krcu has mapped for slabs and large objects, now.
static MAPPED: AtomicUsize = AtomicUsize::new(0);

/// Test hook: this many more slab mappings succeed, then they fail (with
/// `u64::MAX`, never).
static FAIL_AFTER: AtomicU64 = AtomicU64::new(u64::MAX);

/// The system page size.
pub(crate) fn page_size() -> usize {
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    // Relaxed: a value every thread computes the same.
    let p = PAGE.load(Ordering::Relaxed);
    if p != 0 {
        return p;
    }
    // SAFETY: sysconf has no memory-safety preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let p = if p > 0 { p as usize } else { 4096 };
    assert!(
        p <= SLAB_SIZE / 2,
        "krcu: page size {p} too large for {SLAB_SIZE}-byte slabs"
    );
    // Relaxed: see above.
    PAGE.store(p, Ordering::Relaxed);
    p
}

/// Makes the next `n` slab mappings succeed and the ones after them fail,
/// until [`fail_mappings_after`] is called with `u64::MAX`.
pub(crate) fn fail_mappings_after(n: u64) {
    // Relaxed: a test switch.
    FAIL_AFTER.store(n, Ordering::Relaxed);
}

fn injected_failure() -> bool {
    // Relaxed: a test switch's countdown.
    let mut n = FAIL_AFTER.load(Ordering::Relaxed);
    loop {
        if n == u64::MAX {
            return false;
        }
        if n == 0 {
            return true;
        }
        match FAIL_AFTER.compare_exchange_weak(n, n - 1, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return false,
            Err(now) => n = now,
        }
    }
}

/// Bytes mapped by krcu for slabs and large objects.
pub(crate) fn mapped_bytes() -> usize {
    // Relaxed: a statistic.
    MAPPED.load(Ordering::Relaxed)
}

/// Maps `len` bytes (a multiple of the page size) at a [`SLAB_SIZE`]-aligned
/// address, zero-filled; null when the system (or the test hook) refuses.
/// The chunks are not yet in the address map: see [`publish`].
pub(crate) fn map_aligned(len: usize) -> *mut u8 {
    if injected_failure() {
        return ptr::null_mut();
    }
    let Some(over) = len.checked_add(SLAB_SIZE) else {
        return ptr::null_mut();
    };
    // SAFETY: an anonymous private mapping at an address of the kernel's
    // choosing aliases nothing.
    let raw = unsafe {
        libc::mmap(
            ptr::null_mut(),
            over,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return ptr::null_mut();
    }
    let raw = raw as usize;
    let start = (raw + SLAB_SIZE - 1) & !(SLAB_SIZE - 1);
    let end = start + len;
    // SAFETY: both ranges are parts of the mapping just made, outside
    // [start, end), which is what we keep.
    unsafe {
        if start > raw {
            libc::munmap(raw as *mut libc::c_void, start - raw);
        }
        if raw + over > end {
            libc::munmap(end as *mut libc::c_void, raw + over - end);
        }
    }
    if end > 1 << ADDR_BITS {
        // SAFETY: [start, end) is ours and unpublished.
        unsafe { libc::munmap(start as *mut libc::c_void, len) };
        return ptr::null_mut();
    }
    // Relaxed: a statistic.
    MAPPED.fetch_add(len, Ordering::Relaxed);
    start as *mut u8
}

/// Unmaps a mapping made by [`map_aligned`], after [`unpublish`].
///
/// # Safety
///
/// `base` and `len` are a mapping returned by `map_aligned` and not yet
/// unmapped; nothing uses it any more.
pub(crate) unsafe fn unmap(base: *mut u8, len: usize) {
    // SAFETY: the caller's contract.
    let r = unsafe { libc::munmap(base.cast(), len) };
    debug_assert_eq!(r, 0, "munmap of a krcu mapping failed");
    // Relaxed: a statistic.
    MAPPED.fetch_sub(len, Ordering::Relaxed);
}

fn l2_for(addr: usize, create: bool) -> Option<&'static L2> {
    let slot = &L1[addr >> L2_SHIFT];
    // Acquire: pairs with the Release exchange below, so the table's zeroed
    // contents are visible.
    let mut table = slot.load(Ordering::Acquire);
    if table.is_null() {
        if !create {
            return None;
        }
        // SAFETY: a fresh anonymous mapping; all-zero bytes are valid
        // AtomicU32s (not krcu's).
        let fresh = unsafe {
            libc::mmap(
                ptr::null_mut(),
                std::mem::size_of::<L2>(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if fresh == libc::MAP_FAILED {
            return None;
        }
        let fresh = fresh.cast::<L2>();
        match slot.compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => table = fresh,
            Err(winner) => {
                // SAFETY: `fresh` was never published.
                unsafe { libc::munmap(fresh.cast(), std::mem::size_of::<L2>()) };
                table = winner;
            }
        }
    }
    // SAFETY: second-level tables are never unmapped.
    Some(unsafe { &*table })
}

fn entry(addr: usize, create: bool) -> Option<&'static AtomicU32> {
    let l2 = l2_for(addr, create)?;
    Some(&l2[(addr >> SLAB_SHIFT) & (L2_LEN - 1)])
}

/// The address map's entry for `addr`, if its table exists (the lookup
/// fast path: two loads).
#[inline(always)]
fn existing_entry(addr: usize) -> Option<&'static AtomicU32> {
    // Acquire: pairs with l2_for's Release exchange (a zeroed table).
    let table = L1[addr >> L2_SHIFT].load(Ordering::Acquire);
    // SAFETY: second-level tables are never unmapped.
    (!table.is_null()).then(|| unsafe { &(*table)[(addr >> SLAB_SHIFT) & (L2_LEN - 1)] })
}

/// Enters the chunks of the mapping `[base, base + len)` in the address map;
/// false when the map cannot grow (the mapping stays unpublished).
///
/// Call it after the mapping's header is written: the Release stores pair
/// with the Acquire load in [`header_of`], so whoever finds the mapping sees
/// its header.
pub(crate) fn publish(base: *mut u8, len: usize) -> bool {
    let base = base as usize;
    let chunks = len.div_ceil(SLAB_SIZE);
    for i in 0..chunks {
        if entry(base + i * SLAB_SIZE, true).is_none() {
            unpublish(base as *mut u8, i * SLAB_SIZE);
            return false;
        }
    }
    for i in 0..chunks {
        let e = entry(base + i * SLAB_SIZE, true).expect("table created above");
        e.store(i as u32 + 1, Ordering::Release);
    }
    true
}

/// Removes the mapping's chunks from the address map, before it is unmapped.
pub(crate) fn unpublish(base: *mut u8, len: usize) {
    let base = base as usize;
    for i in 0..len.div_ceil(SLAB_SIZE) {
        if let Some(e) = entry(base + i * SLAB_SIZE, false) {
            // Relaxed: the mapping is unpublished before it is unmapped; a
            // reader of the map that raced it has a pointer krcu never handed
            // out for this mapping.
            e.store(0, Ordering::Relaxed);
        }
    }
}

/// The base of the krcu mapping that contains `p`, or `None` when krcu has
/// no mapping there. Reads only the address map, never the memory at `p`.
#[inline(always)]
pub(crate) fn header_of(p: *const u8) -> Option<*mut u8> {
    let addr = p as usize;
    if addr >> ADDR_BITS != 0 {
        return None;
    }
    let e = existing_entry(addr)?;
    // Acquire: pairs with publish's Release store (the header is written).
    let back = e.load(Ordering::Acquire);
    if back == 0 {
        return None;
    }
    let chunk = addr & !(SLAB_SIZE - 1);
    Some((chunk - (back as usize - 1) * SLAB_SIZE) as *mut u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_are_found_from_any_interior_pointer() {
        let len = 3 * SLAB_SIZE + page_size();
        let base = map_aligned(len);
        assert!(!base.is_null());
        assert_eq!(base as usize % SLAB_SIZE, 0);
        assert!(header_of(base).is_none(), "unpublished");
        assert!(publish(base, len));
        for off in [0, 1, SLAB_SIZE - 1, SLAB_SIZE, 2 * SLAB_SIZE + 17, len - 1] {
            assert_eq!(
                header_of(base.wrapping_add(off)),
                Some(base),
                "offset {off}"
            );
        }
        unpublish(base, len);
        assert!(header_of(base.wrapping_add(SLAB_SIZE)).is_none());
        // SAFETY: mapped above, unpublished, unused.
        unsafe { unmap(base, len) };
    }

    #[test]
    fn foreign_pointers_are_not_krcus() {
        let on_stack = 5u64;
        assert!(header_of(&on_stack as *const u64 as *const u8).is_none());
        let boxed = Box::new(5u64);
        assert!(header_of(&*boxed as *const u64 as *const u8).is_none());
        assert!(header_of(ptr::null()).is_none());
        assert!(header_of(usize::MAX as *const u8).is_none());
    }
}
