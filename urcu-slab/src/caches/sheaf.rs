//! Sheaves and the barn.
//!
//! A sheaf is a magazine of free object pointers of one cache. Each thread
//! keeps, per cache with a `sheaf_capacity`, a `main` and a `spare` sheaf
//! that serve allocations and frees with no lock and no atomic operation,
//! and an `rcu_free` sheaf that collects kfree_rcu'd objects. Behind them,
//! the cache's barn holds full and empty sheaves shared by all threads: an
//! allocation whose sheaves are empty swaps its empty main sheaf for a full
//! one from the barn, a free whose sheaves are full swaps the other way, and
//! only when the barn cannot serve does the thread go to the slabs.
//!
//! A full `rcu_free` sheaf waits one grace period as a unit, then (after the
//! cache's `rcu_dtor` ran on each object) goes to the barn as a full sheaf:
//! the objects freed by kfree_rcu feed allocations without touching a slab.
//!
//! Statistics read other threads' sheaves (their `len`) inside a memb read
//! section: a sheaf's memory is therefore freed only after a memb grace
//! period ([`Sheaf::retire`]), so a sheaf pointer loaded from a slot or the
//! barn under that section stays readable until it ends, whatever its
//! owner, the barn or `trim` did with it meanwhile.

use crate::helper::PendingHead;
use crate::memory::lock::Mutex;
use std::alloc::{self, Layout};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use urcu_core::{memb, RcuHead};

/// Free-object bytes a barn's full sheaves may hold: enough for the
/// `rcu_free` sheaves that come back from one grace period under a
/// kfree_rcu flood (the reclaim helper lets ~16K objects gather per grace
/// period), so that they feed allocations instead of going to the slabs.
const BARN_BYTES: usize = 4 << 20;
/// Bounds on the number of full (and empty) sheaves a barn keeps.
const BARN_MIN_SHEAVES: usize = 16;
const BARN_MAX_SHEAVES: usize = 512;

/// A magazine of free objects of one cache: this header, followed in the
/// same allocation by `capacity` object pointers (one indirection less on
/// the allocation fast path than a separate array).
#[repr(C)]
pub(crate) struct Sheaf {
    /// Links a full `rcu_free` sheaf waiting for its grace period.
    pub(crate) pending: PendingHead,
    /// The owning cache, opaque here (the caches mechanism reads it:
    /// `Sheaf::cache`).
    pub(crate) owner: *const (),
    capacity: usize,
    /// Objects held. Written only by the sheaf's owner; atomic (Relaxed,
    /// plain moves) so that statistics may read another thread's sheaf.
    size: AtomicUsize,
    /// Frees the sheaf after a memb grace period ([`Sheaf::retire`]).
    rcu: RcuHead,
}

impl Sheaf {
    fn layout(capacity: usize) -> Layout {
        Layout::new::<Sheaf>()
            .extend(Layout::array::<*mut u8>(capacity).expect("sheaf size"))
            .expect("sheaf size")
            .0
    }

    /// An empty sheaf of `capacity` objects of the cache `owner`
    /// (allocates).
    pub(crate) fn new_empty(owner: *const (), capacity: usize) -> *mut Sheaf {
        let layout = Self::layout(capacity);
        // SAFETY: the layout has a nonzero size (the header).
        let sheaf = unsafe { alloc::alloc(layout) }.cast::<Sheaf>();
        if sheaf.is_null() {
            alloc::handle_alloc_error(layout);
        }
        // SAFETY: a fresh allocation for the header and the array; the array
        // needs no initialisation (only the first `size` slots are read).
        unsafe {
            sheaf.write(Sheaf {
                pending: PendingHead::new(),
                owner,
                capacity,
                size: AtomicUsize::new(0),
                rcu: RcuHead::new(),
            });
        }
        sheaf
    }

    /// Frees a sheaf after a memb grace period: statistics may still be
    /// reading its length (see the module documentation). Its objects, if
    /// any, must have been taken out.
    ///
    /// # Safety
    ///
    /// `sheaf` came from [`Sheaf::new_empty`], and no slot, barn or list
    /// holds it any more.
    pub(crate) unsafe fn retire(sheaf: *mut Sheaf) {
        unsafe extern "C" fn free_after_gp(head: *mut RcuHead) {
            // SAFETY: `head` is the `rcu` field of a retired sheaf, handed
            // to us once after the grace period; the offset is the field's.
            unsafe {
                let sheaf = head
                    .byte_sub(std::mem::offset_of!(Sheaf, rcu))
                    .cast::<Sheaf>();
                alloc::dealloc(sheaf.cast(), Sheaf::layout((*sheaf).capacity));
            }
        }
        // SAFETY: the caller gave the sheaf up; its header outlives the
        // callback, which frees it.
        unsafe { memb::call_rcu(&raw mut (*sheaf).rcu, free_after_gp) };
    }

    #[inline(always)]
    fn slots(&self) -> *mut *mut u8 {
        // SAFETY: the array follows the header in the same allocation
        // (`layout`: the header's size is a multiple of pointer alignment).
        unsafe { (self as *const Sheaf).add(1) as *mut *mut u8 }
    }

    /// Objects held.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        // Relaxed: only the owner writes it; others read it for statistics.
        self.size.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn set_len(&self, n: usize) {
        debug_assert!(n <= self.capacity);
        // Relaxed: only the owner writes; readers of another thread's length
        // take a snapshot (see `size`).
        self.size.store(n, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        self.len() == self.capacity
    }

    /// Adds an object; the sheaf is not full.
    #[inline]
    pub(crate) fn push(&mut self, obj: *mut u8) {
        let n = self.len();
        assert!(n < self.capacity);
        // SAFETY: n < capacity: inside the array.
        unsafe { self.slots().add(n).write(obj) };
        self.set_len(n + 1);
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<*mut u8> {
        let n = self.len().checked_sub(1)?;
        self.set_len(n);
        // SAFETY: slot n < size was written by push or fill.
        Some(unsafe { self.slots().add(n).read() })
    }

    /// The objects it holds.
    pub(crate) fn objects(&self) -> &[*mut u8] {
        // SAFETY: the first `size` slots are initialised.
        unsafe { std::slice::from_raw_parts(self.slots(), self.len()) }
    }

    /// Fills the empty sheaf with `fill`, which writes objects into the
    /// slice it is given and returns how many.
    pub(crate) fn fill(&mut self, fill: impl FnOnce(&mut [*mut u8]) -> usize) {
        debug_assert_eq!(self.len(), 0);
        // SAFETY: the whole array is ours; null-initialise it so the slice
        // holds valid values.
        let all = unsafe {
            std::ptr::write_bytes(self.slots(), 0, self.capacity);
            std::slice::from_raw_parts_mut(self.slots(), self.capacity)
        };
        let n = fill(all);
        self.set_len(n);
    }

    /// The most objects it holds.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }
}

/// Sheaves shared by a cache's threads.
pub(crate) struct Barn {
    /// Full and empty sheaves; a leaf lock (nothing is taken under it).
    inner: Mutex<BarnInner>,
    /// Most full sheaves kept (a further one is flushed to the slabs), and
    /// most empty ones (a further one is freed).
    pub(crate) max_sheaves: usize,
    /// Exchanges the barn served / could not serve.
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    /// Full sheaves it had no room for.
    pub(crate) overflows: AtomicU64,
}

struct BarnInner {
    full: Vec<*mut Sheaf>,
    empty: Vec<*mut Sheaf>,
}

// SAFETY: the sheaf pointers are owned by the barn and only moved in and out
// under its lock.
unsafe impl Send for BarnInner {}

impl Barn {
    /// A barn for sheaves of `capacity` objects of `size` bytes.
    pub(crate) fn new(capacity: usize, size: usize) -> Self {
        let max_sheaves =
            (BARN_BYTES / (capacity.max(1) * size)).clamp(BARN_MIN_SHEAVES, BARN_MAX_SHEAVES);
        Barn {
            inner: Mutex::new(BarnInner {
                // Reserved up front: putting a sheaf never allocates.
                full: Vec::with_capacity(max_sheaves),
                empty: Vec::with_capacity(max_sheaves),
            }),
            max_sheaves,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            overflows: AtomicU64::new(0),
        }
    }

    fn count(&self, hit: bool) {
        let c = if hit { &self.hits } else { &self.misses };
        // Relaxed: statistics.
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes a full sheaf, if the barn has one.
    pub(crate) fn take_full(&self) -> Option<*mut Sheaf> {
        let got = self.inner.lock().full.pop();
        self.count(got.is_some());
        got
    }

    /// Takes a full sheaf if the barn has one and its lock is free at once
    /// (a `_nolock` call: never waits).
    pub(crate) fn try_take_full(&self) -> Option<*mut Sheaf> {
        self.inner.try_lock()?.full.pop()
    }

    /// Takes an empty sheaf, if the barn has one. Never allocates.
    pub(crate) fn take_empty(&self) -> Option<*mut Sheaf> {
        let got = self.inner.lock().empty.pop();
        self.count(got.is_some());
        got
    }

    /// Stores a full sheaf; gives it back when the barn is full.
    pub(crate) fn put_full(&self, sheaf: *mut Sheaf) -> Result<(), *mut Sheaf> {
        let mut b = self.inner.lock();
        if b.full.len() < self.max_sheaves {
            b.full.push(sheaf);
            Ok(())
        } else {
            Err(sheaf)
        }
    }

    /// Stores an empty sheaf, or frees it when the barn has enough.
    pub(crate) fn put_empty(&self, sheaf: *mut Sheaf) {
        let mut b = self.inner.lock();
        if b.empty.len() < self.max_sheaves {
            b.empty.push(sheaf);
        } else {
            drop(b);
            // SAFETY: the caller gave the sheaf up.
            unsafe { Sheaf::retire(sheaf) };
        }
    }

    /// How many empty sheaves the barn holds.
    pub(crate) fn empty_count(&self) -> usize {
        self.inner.lock().empty.len()
    }

    /// How many full sheaves the barn holds.
    pub(crate) fn full_count(&self) -> usize {
        self.inner.lock().full.len()
    }

    /// Free objects in the barn's sheaves.
    pub(crate) fn objects(&self) -> usize {
        let b = self.inner.lock();
        // SAFETY: the barn owns its sheaves.
        b.full.iter().map(|&s| unsafe { (*s).len() }).sum()
    }

    /// Before fork (see `fork.rs`).
    pub(crate) fn lock_for_fork(&self) {
        std::mem::forget(self.inner.lock());
    }

    /// After fork.
    ///
    /// # Safety
    ///
    /// Called once after `lock_for_fork`, by the thread that forked.
    pub(crate) unsafe fn unlock_after_fork(&self) {
        // SAFETY: locked by lock_for_fork on this thread, guard forgotten.
        unsafe { self.inner.force_unlock() };
    }

    /// Empties the barn: every sheaf it holds, full ones first.
    pub(crate) fn take_all(&self) -> Vec<*mut Sheaf> {
        let mut b = self.inner.lock();
        let mut all: Vec<_> = b.full.drain(..).collect();
        all.append(&mut b.empty);
        all
    }
}
