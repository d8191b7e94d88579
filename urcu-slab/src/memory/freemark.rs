//! Free marks: double-free detection that is always on.
//!
//! Every free object of a cache carries a *free mark* in its link word
//! (the word at the cache's `freeptr` offset: the object's first word, or
//! a word after it for constructed and typesafe-by-RCU caches), and every
//! object handed to a caller has that mark wiped. A free therefore reads
//! one word it is about to write anyway, and finds out whether the object
//! is free already, as glibc's tcache does with its key:
//!
//! ```text
//!  object in a sheaf or the barn:   key ^ addr
//!  object on its slab's freelist:   key ^ next     (next: the next free
//!                                                  object of the slab, or
//!                                                  the slab's base at the end)
//!  object handed out:               0, then whatever the caller writes
//! ```
//!
//! `key` is random per cache with its top bit set. The test `(word ^ key ^
//! addr) >> SLAB_SHIFT == 0` holds for both free forms (a freelist's next
//! object lies in the same 64 KiB slab as the object), and fails for a
//! handed-out object unless its owner happened to store, at that offset, a
//! value equal to `key ^ addr` in its upper 48 bits: a pointer (top bit
//! clear), a small integer or zero never is, and a random value is with
//! probability 2^-48.
//!
//! Objects waiting for a grace period (kfree_rcu in any form, or a `_nolock`
//! free deferred to the helper) cannot carry the mark: readers may still
//! read them, and a deferred free's link occupies the word. They carry the
//! slab's pending flag instead (`Object::mark_pending`), which every free and
//! every kfree_rcu tests, and which is cleared just before the helper frees
//! the object, when the object takes its free mark.
//!
//! So a second free of an object is caught whatever the first one was
//! (`kfree`, `KmemCache::free`, `kfree_nolock`, kfree_rcu with either link,
//! headless `kvfree_rcu`), as long as the object has not been handed out
//! again in between: then the second free is indistinguishable from a
//! valid one, as with every allocator.
//!
//! The freelist form doubles as hardening: a corrupted link (a write after
//! free over the first word) that no longer decodes to an object of the
//! same slab is reported as corruption instead of handing out a wild
//! pointer.

use super::pages::SLAB_SHIFT;
use std::sync::atomic::{AtomicU64, Ordering};

/// How a double-free report describes an object whose pending flag is set.
pub(crate) const PENDING: &str =
    "waiting to be freed (passed to kfree_rcu, or to kfree_nolock and not yet freed by the helper)";

/// What a double-free report tells the caller to do instead.
pub(crate) const INSTEAD: &str = "free each allocation exactly once, with one of kfree, KmemCache::free, kfree_nolock or a kfree_rcu form";

/// A new cache's key: random, with the top bit set (no user-space pointer
/// has it, so a freed object's mark never looks like a pointer or zero).
pub(crate) fn new_key() -> u64 {
    let mut key = 0u64;
    // SAFETY: getrandom writes at most 8 bytes into `key`.
    let n = unsafe { libc::getrandom((&raw mut key).cast(), 8, libc::GRND_NONBLOCK) };
    if n != 8 {
        // No entropy yet (early boot): the clock and an address still make
        // a key no program stores by accident.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        key = t.rotate_left(29) ^ (&raw const key as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    key | 1 << 63
}

/// The link word of the object at `obj`.
///
/// Accesses are Relaxed atomics: the word belongs to whoever owns the
/// object, with the happens-before that hand-off carries; a double free
/// from two threads at once is a race of the caller's that must not become
/// one of krcu's (it is caught or not, but never undefined behaviour).
#[inline(always)]
fn word<'a>(obj: *mut u8, freeptr: usize) -> &'a AtomicU64 {
    // SAFETY: the link word lies inside the object's stride, is 8-aligned
    // (objects and `freeptr` are), and is krcu's or the owner's to access.
    unsafe { &*obj.add(freeptr).cast::<AtomicU64>() }
}

/// One object's link word and the mark it takes, computed once for a free
/// that tests the word and later sets it.
#[derive(Clone, Copy)]
pub(crate) struct Mark<'a> {
    word: &'a AtomicU64,
    value: u64,
}

impl Mark<'_> {
    #[inline(always)]
    pub(crate) fn of(key: u64, obj: *mut u8, freeptr: usize) -> Self {
        Mark {
            word: word(obj, freeptr),
            value: key ^ obj as u64,
        }
    }

    /// Whether the object carries a free mark of either form.
    #[inline(always)]
    pub(crate) fn is_set(&self) -> bool {
        // `value` is `key ^ addr`: the same test as `is_free`.
        // Relaxed: the word is the caller's object's; a double free racing a
        // free is the caller's race (freemark.rs).
        (self.word.load(Ordering::Relaxed) ^ self.value) >> SLAB_SHIFT == 0
    }

    /// Marks the object free (in a sheaf or the barn).
    #[inline(always)]
    pub(crate) fn set(&self) {
        // Relaxed: as is_set: the object is the freeing thread's.
        self.word.store(self.value, Ordering::Relaxed);
    }
}

/// Whether `w`, read from `obj`'s link word, is a free mark of either form.
#[inline(always)]
pub(crate) fn is_free(key: u64, obj: *mut u8, w: u64) -> bool {
    (w ^ key ^ obj as u64) >> SLAB_SHIFT == 0
}

/// Whether `obj` carries a free mark.
#[inline(always)]
pub(crate) fn marked(key: u64, obj: *mut u8, freeptr: usize) -> bool {
    // Relaxed: the object is the caller's (see Mark::is_set).
    is_free(key, obj, word(obj, freeptr).load(Ordering::Relaxed))
}

/// Marks `obj` free (in a sheaf or the barn).
#[inline(always)]
pub(crate) fn mark(key: u64, obj: *mut u8, freeptr: usize) {
    // Relaxed: the object is the freeing thread's until a sheaf or slab hands
    // it on, under its own ordering.
    word(obj, freeptr).store(key ^ obj as u64, Ordering::Relaxed);
}

/// Wipes the mark of an object being handed out.
#[inline(always)]
pub(crate) fn clear(obj: *mut u8, freeptr: usize) {
    // Relaxed: the object is the allocating thread's.
    word(obj, freeptr).store(0, Ordering::Relaxed);
}

/// Links `obj` in front of `next` (null: the end) on the freelist of the
/// slab at `base`.
#[inline]
pub(crate) fn link(key: u64, obj: *mut u8, freeptr: usize, next: *mut u8, base: *mut u8) {
    let next = if next.is_null() { base } else { next };
    // Relaxed: under the node lock.
    word(obj, freeptr).store(key ^ next as u64, Ordering::Relaxed);
}

/// The object after `obj` on the freelist of the slab at `base` (null: the
/// end); `Err` with the word found when the link is not a free mark of
/// this slab (the object was written after it was freed).
#[inline]
pub(crate) fn next(key: u64, obj: *mut u8, freeptr: usize, base: *mut u8) -> Result<*mut u8, u64> {
    // Relaxed: under the node lock.
    let w = word(obj, freeptr).load(Ordering::Relaxed);
    if !is_free(key, obj, w) {
        return Err(w);
    }
    let next = (w ^ key) as *mut u8;
    Ok(if next == base {
        std::ptr::null_mut()
    } else {
        next
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::pages::SLAB_SIZE;

    #[test]
    fn keys_have_the_top_bit_and_differ() {
        let (a, b) = (new_key(), new_key());
        assert!(a >> 63 == 1 && b >> 63 == 1);
        assert_ne!(a, b);
    }

    #[test]
    fn marks_are_recognised_and_handed_out_words_are_not() {
        let key = new_key();
        let mut slab = vec![0u64; SLAB_SIZE / 8 * 2];
        let base = ((slab.as_mut_ptr() as usize).next_multiple_of(SLAB_SIZE)) as *mut u8;
        let obj = base.wrapping_add(4096);
        let other = base.wrapping_add(8192);
        assert!(!marked(key, obj, 0), "a zeroed word is not a mark");
        mark(key, obj, 0);
        assert!(marked(key, obj, 0));
        clear(obj, 0);
        assert!(!marked(key, obj, 0));
        link(key, obj, 0, other, base);
        assert!(marked(key, obj, 0));
        assert_eq!(next(key, obj, 0, base), Ok(other));
        link(key, obj, 0, std::ptr::null_mut(), base);
        assert_eq!(next(key, obj, 0, base), Ok(std::ptr::null_mut()));
        // A pointer written over the link (a write after free) is caught.
        // Relaxed: the test's own object.
        word(obj, 0).store(other as u64, Ordering::Relaxed);
        assert!(next(key, obj, 0, base).is_err());
        // Another cache's mark is not this cache's.
        mark(key ^ 1 << 40, obj, 0);
        assert!(!marked(key, obj, 0));
    }
}
