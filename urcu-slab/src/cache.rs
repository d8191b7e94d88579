//! Slab caches: `KmemCache`, its geometry, node lists, and the allocation
//! paths through sheaves, barn and slabs.

use crate::error::{AllocError, CacheError, DestroyError};
use crate::freemark;
use crate::lock::Mutex;
use crate::pages::SLAB_SIZE;
use crate::sheaf::{Barn, Sheaf};
use crate::slab::{self, Slab, SlabList};
use crate::thread::{self, SlotIndex, MAX_CACHES};
use std::ffi::c_void;
use std::fmt;
use std::ops::Deref;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use urcu_core::memb;

/// A constructor or destructor run on an object: `void (*)(void *obj)`.
pub type ObjectFn = unsafe extern "C" fn(obj: *mut c_void);

/// The byte freed objects are filled with when poisoning is on.
pub const POISON_FREE: u8 = 0x6b;

/// Empty slabs (512 KiB) a cache keeps for reuse; more go back to the
/// system. Fewer make a kfree_rcu flood unmap and remap slabs between
/// grace periods.
const MAX_EMPTY_SLABS: usize = 8;

/// Options of [`KmemCache::new`]; `CacheArgs::default()` gives the defaults.
#[derive(Clone, Copy, Debug, Default)]
pub struct CacheArgs {
    /// Object alignment, a power of two up to 4096; 0 means 8 bytes.
    pub align: usize,
    /// Objects per sheaf; 0 means no sheaves (every allocation and free
    /// takes the cache's node lock, and kfree_rcu batches every object).
    pub sheaf_capacity: u32,
    /// Run once on every object when its slab is created; objects keep
    /// their constructed state across free and allocation.
    pub ctor: Option<ObjectFn>,
    /// Run on each object freed by kfree_rcu (any path), after the grace
    /// period and before the object is reused.
    pub rcu_dtor: Option<ObjectFn>,
    /// Objects may be reused at once after a free, but their memory stays a
    /// valid object of this cache until a grace period has passed: readers
    /// must re-validate what they find (SLAB_TYPESAFE_BY_RCU).
    pub typesafe_by_rcu: bool,
    /// Fill freed objects with [`POISON_FREE`] and check the poison when
    /// they are allocated again. Always on in debug builds, and with the
    /// debug checks ([`set_debug_checks`](crate::set_debug_checks),
    /// `KRCU_SLAB_DEBUG=1`). Ignored for
    /// caches with a `ctor` or typesafe-by-RCU (poison would destroy what
    /// the constructor built or what readers may still read).
    pub poison: bool,
}

/// A cache's shared state. Never moved; freed when the cache is destroyed
/// with no objects left.
pub(crate) struct CacheInner {
    pub(crate) name: String,
    /// Index into every thread's slot table and into `CACHES`.
    pub(crate) id: usize,
    /// `id`'s place in a slot table.
    pub(crate) slot: SlotIndex,
    pub(crate) size: usize,
    pub(crate) stride: usize,
    /// Offset of the first object in a slab.
    pub(crate) first: usize,
    pub(crate) objs_per_slab: usize,
    /// Offset, within an object's stride, of the link word: the freelist
    /// link, and the free mark of a free object (freemark.rs).
    pub(crate) freeptr: usize,
    /// This cache's free-mark key (freemark.rs).
    pub(crate) free_key: u64,
    pub(crate) sheaf_capacity: usize,
    pub(crate) ctor: Option<ObjectFn>,
    pub(crate) rcu_dtor: Option<ObjectFn>,
    pub(crate) typesafe: bool,
    pub(crate) poison: bool,
    /// Held by `trim` over its whole move of the barn's objects to the
    /// slabs, and by `live` while it counts, so that a count never falls
    /// between the two (a phantom live object). Taken before the barn's
    /// and the node's locks; nothing waits for a grace period under it.
    trim_lock: Mutex<()>,
    /// Slab lists; under it only slab headers are touched (leaf lock).
    node: Mutex<Node>,
    pub(crate) barn: Barn,
    /// A kfree_rcu found no empty sheaf for its `rcu_free` sheaf: the
    /// helper puts some in the barn (the caller's path never allocates).
    /// Relaxed: a hint, delivered by the want_stock() wake that follows it;
    /// the sheaves themselves move under the barn's lock.
    pub(crate) want_empty: AtomicBool,
    pub(crate) slabs_created: AtomicU64,
    pub(crate) slabs_released: AtomicU64,
    /// Walkers holding a [`CachePin`]; `destroy` waits for zero.
    pins: AtomicUsize,
    /// Set by `destroy` under the registry lock: no new pins.
    dying: AtomicBool,
}

struct Node {
    partial: *mut Slab,
    empty: *mut Slab,
    nr_slabs: usize,
    nr_empty: usize,
    /// Objects taken from the slabs: held by users, sheaves, the barn, or
    /// waiting for a grace period.
    taken: usize,
}

// SAFETY: the slab pointers are only followed under the node lock.
unsafe impl Send for Node {}

/// Caches by id (null: a free id). The registry lock nests inside nothing.
///
/// # Walkers and destroy
///
/// Code that reaches a cache by id or by walking the registry (`trim`, the
/// helper's restock and `_nolock` stocking, a retiring thread's hand-off)
/// holds a [`CachePin`] while it works on the cache. `destroy` first marks
/// the cache dying under the registry lock, so that no new pin is given,
/// then waits until the pins already given are dropped; only then does it
/// count live objects (no walker moves them any more) and free the cache.
/// Pins are held for a bounded piece of work that never waits for a grace
/// period or for `destroy`'s caller.
static CACHES: Mutex<Vec<CachePtr>> = Mutex::new(Vec::new());

#[derive(Clone, Copy)]
struct CachePtr(*const CacheInner);
// SAFETY: caches are Sync; the pointer is only dereferenced while the cache
// is registered.
unsafe impl Send for CachePtr {}

/// A cache that `destroy` will not free until this is dropped.
pub(crate) struct CachePin(&'static CacheInner);

impl Deref for CachePin {
    type Target = CacheInner;
    fn deref(&self) -> &CacheInner {
        self.0
    }
}

impl Drop for CachePin {
    fn drop(&mut self) {
        // Release: the walker's work on the cache happens before destroy's
        // Acquire load sees the count drop.
        self.0.pins.fetch_sub(1, Ordering::Release);
    }
}

/// Pins `p` if it is a live cache; under the registry lock.
fn pin_locked(p: CachePtr) -> Option<CachePin> {
    if p.0.is_null() {
        return None;
    }
    // SAFETY: a registered cache is freed only after it is unregistered,
    // which happens under the registry lock we hold, after its pins drain.
    let c = unsafe { &*p.0 };
    // Relaxed: both are read and written under the registry lock.
    if c.dying.load(Ordering::Relaxed) {
        return None;
    }
    c.pins.fetch_add(1, Ordering::Relaxed);
    Some(CachePin(c))
}

/// The cache with id `id`, pinned, unless there is none or it is being
/// destroyed.
pub(crate) fn pin(id: usize) -> Option<CachePin> {
    let caches = CACHES.lock();
    caches.get(id).copied().and_then(pin_locked)
}

/// Every live cache, pinned (caches being destroyed are left out).
pub(crate) fn pin_all() -> Vec<CachePin> {
    let caches = CACHES.lock();
    caches.iter().copied().filter_map(pin_locked).collect()
}

impl CacheInner {
    fn create(
        name: &str,
        size: usize,
        args: &CacheArgs,
    ) -> Result<&'static CacheInner, CacheError> {
        let align = if args.align == 0 { 8 } else { args.align };
        if !align.is_power_of_two() || align > 4096 {
            return Err(CacheError::BadAlign(args.align));
        }
        if size == 0 {
            return Err(CacheError::ZeroSize);
        }
        let align = align.max(8);
        let word = size.next_multiple_of(8);
        // The freelist link may not overwrite what readers of a
        // typesafe-by-RCU cache, or a constructed object, rely on: it goes
        // after the object.
        let link_outside = args.typesafe_by_rcu || args.ctor.is_some();
        let (freeptr, stride) = if link_outside {
            (word, (word + 8).next_multiple_of(align))
        } else {
            (0, word.next_multiple_of(align))
        };
        let mut n = SLAB_SIZE / stride;
        let first = loop {
            if n == 0 {
                return Err(CacheError::TooLarge(size));
            }
            let first = slab::header_len(n).next_multiple_of(align);
            if first + n * stride <= SLAB_SIZE {
                break first;
            }
            n -= 1;
        };
        // Poison would destroy what a constructor built, or what readers of
        // a typesafe-by-RCU cache may still read.
        let poison = (args.poison || crate::kfree_rcu::debug_checks())
            && args.ctor.is_none()
            && !args.typesafe_by_rcu;
        // Before the first slab lock (see fork.rs).
        crate::fork::install();
        let mut caches = CACHES.lock();
        let id = match caches.iter().position(|p| p.0.is_null()) {
            Some(id) => id,
            None if caches.len() < MAX_CACHES => {
                caches.push(CachePtr(ptr::null()));
                caches.len() - 1
            }
            None => return Err(CacheError::TooMany),
        };
        let inner: &'static CacheInner = Box::leak(Box::new(CacheInner {
            name: name.to_owned(),
            id,
            slot: SlotIndex::of(id),
            size,
            stride,
            first,
            objs_per_slab: n,
            freeptr,
            free_key: freemark::new_key(),
            sheaf_capacity: args.sheaf_capacity as usize,
            ctor: args.ctor,
            rcu_dtor: args.rcu_dtor,
            typesafe: args.typesafe_by_rcu,
            poison,
            trim_lock: Mutex::new(()),
            node: Mutex::new(Node {
                partial: ptr::null_mut(),
                empty: ptr::null_mut(),
                nr_slabs: 0,
                nr_empty: 0,
                taken: 0,
            }),
            barn: Barn::new(args.sheaf_capacity as usize, stride),
            want_empty: AtomicBool::new(false),
            slabs_created: AtomicU64::new(0),
            slabs_released: AtomicU64::new(0),
            pins: AtomicUsize::new(0),
            dying: AtomicBool::new(false),
        }));
        caches[id] = CachePtr(inner);
        Ok(inner)
    }

    // ---- slabs (node lock) ----

    /// A new slab with its objects poisoned or constructed; made outside
    /// the node lock, since the constructor is user code.
    fn grow(&self) -> *mut Slab {
        let slab = slab::new_slab(self);
        if slab.is_null() {
            return slab;
        }
        // Relaxed: statistics.
        self.slabs_created.fetch_add(1, Ordering::Relaxed);
        // SAFETY: a fresh slab, ours alone until linked into the node.
        let s = unsafe { &mut *slab };
        for i in 0..self.objs_per_slab {
            let obj = (slab as *mut u8).wrapping_add(self.first + i * self.stride);
            if self.poison {
                // SAFETY: the object lies inside the fresh slab.
                unsafe { ptr::write_bytes(obj, POISON_FREE, self.size) };
            }
            if let Some(ctor) = self.ctor {
                // SAFETY: a fresh object of the cache's size, as ctor expects.
                unsafe { ctor(obj.cast()) };
            }
        }
        s.list = SlabList::Empty;
        slab
    }

    /// Fills `out` with objects from the slabs; returns how many (fewer only
    /// when memory cannot be had).
    pub(crate) fn take_from_slabs(&self, out: &mut [*mut u8]) -> usize {
        let mut got = 0;
        while got < out.len() {
            got += self.take_listed(&mut self.node.lock(), &mut out[got..]);
            if got == out.len() {
                break;
            }
            let fresh = self.grow();
            if fresh.is_null() {
                tracing::debug!(target: "krcu::slab", cache = %self.name, "krcu: cannot map a slab; the allocation fails");
                break;
            }
            self.node.lock().add(fresh, SlabList::Empty);
        }
        got
    }

    /// One object from the slabs this cache already has, if the node lock
    /// is free at once: for a `_nolock` call, which may not wait, map a
    /// slab or run a constructor. Null when the lock is held (by another
    /// thread, or by the code the caller interrupted) or no slab has a
    /// free object.
    pub(crate) fn try_take_one(&self) -> *mut u8 {
        let mut one = [ptr::null_mut()];
        if let Some(mut node) = self.node.try_lock() {
            self.take_listed(&mut node, &mut one);
        }
        one[0]
    }

    /// Fills `out` from the slabs on the node's lists (never maps one);
    /// returns how many it took. The caller holds the node lock.
    fn take_listed(&self, node: &mut Node, out: &mut [*mut u8]) -> usize {
        let mut got = 0;
        while got < out.len() {
            let slab = if !node.partial.is_null() {
                node.partial
            } else if !node.empty.is_null() {
                node.empty
            } else {
                break;
            };
            // SAFETY: slabs on the node lists are this cache's, and the
            // node lock is held.
            let s = unsafe { &mut *slab };
            while got < out.len() && s.inuse < s.nr_objs {
                // SAFETY: node lock held, a free object exists.
                out[got] = unsafe { s.take(self.free_key, self.freeptr) };
                got += 1;
                node.taken += 1;
            }
            let to = if s.inuse == s.nr_objs {
                SlabList::Full
            } else {
                SlabList::Partial
            };
            node.move_to(slab, to);
        }
        got
    }

    /// Makes sure the cache has a slab with a free object (mapping one if
    /// need be), for a thread that readies itself for `_nolock` calls.
    pub(crate) fn reserve_for_nolock(&self) {
        let has = {
            let node = self.node.lock();
            !node.partial.is_null() || !node.empty.is_null()
        };
        if !has {
            let fresh = self.grow();
            if !fresh.is_null() {
                self.node.lock().add(fresh, SlabList::Empty);
            }
        }
    }

    /// Returns objects to their slabs; releases slabs beyond the bound of
    /// empty ones kept.
    pub(crate) fn put_to_slabs(&self, objs: &[*mut u8]) {
        let mut release = Vec::new();
        {
            let mut node = self.node.lock();
            for &obj in objs {
                let o = slab::find(obj).expect("object of a krcu slab");
                // SAFETY: the object's slab is this cache's; node lock held.
                let s = unsafe { &mut *o.slab };
                debug_assert!(ptr::eq(s.cache, self));
                // SAFETY: node lock held, `obj` is a taken object of `s`.
                unsafe { s.put(o.start, self.free_key, self.freeptr) };
                node.taken -= 1;
                let to = if s.inuse == 0 {
                    SlabList::Empty
                } else {
                    SlabList::Partial
                };
                node.move_to(o.slab, to);
            }
            while node.nr_empty > MAX_EMPTY_SLABS {
                release.push(node.pop_empty());
            }
        }
        for slab in release {
            self.release_slab(slab);
        }
    }

    /// Gives an empty slab back to the system: at once, or after a grace
    /// period for a typesafe-by-RCU cache (readers may still read it).
    fn release_slab(&self, slab: *mut Slab) {
        // Relaxed: statistics.
        self.slabs_released.fetch_add(1, Ordering::Relaxed);
        if self.typesafe {
            crate::reclaim::submit_slab(slab);
        } else {
            // SAFETY: an empty slab off the node lists: no object is in use
            // and no reader may read freed objects of a non-typesafe cache.
            unsafe { slab::release(slab) };
        }
    }

    /// Releases every empty slab (node lists only).
    fn release_empty_slabs(&self) {
        let mut release = Vec::new();
        {
            let mut node = self.node.lock();
            while node.nr_empty > 0 {
                release.push(node.pop_empty());
            }
        }
        for slab in release {
            self.release_slab(slab);
        }
    }

    // ---- objects ----

    /// Checks that a free object's poison is intact before handing it out.
    pub(crate) fn check_poison(&self, obj: *mut u8) {
        if let Some(at) = self.poison_broken_at(obj) {
            crate::report_corruption(&format!(
                "cache `{}`: freed object {obj:p} was written at offset {at} after it was freed (use after free)",
                self.name,
            ));
        }
    }

    /// [`check_poison`](Self::check_poison) for a `_nolock` allocation,
    /// which may run in a signal handler: the report is written with
    /// `write(2)` and the process aborts (a panic would format, allocate
    /// and unwind out of the handler).
    pub(crate) fn check_poison_nolock(&self, obj: *mut u8) {
        if self.poison_broken_at(obj).is_some() {
            urcu_core::__private::die(&[
                "memory corruption: a freed object of cache `",
                &self.name,
                "` was written after it was freed (use after free); found by a _nolock allocation",
            ]);
        }
    }

    /// The first offset of a free object whose poison was overwritten.
    fn poison_broken_at(&self, obj: *mut u8) -> Option<usize> {
        let skip = if self.freeptr == 0 { 8 } else { 0 };
        // SAFETY: `obj` is a free object of `size` bytes, ours now.
        let bytes =
            unsafe { std::slice::from_raw_parts(obj.add(skip), self.size.saturating_sub(skip)) };
        bytes
            .iter()
            .position(|&b| b != POISON_FREE)
            .map(|at| at + skip)
    }

    /// Poisons an object being freed.
    #[inline]
    pub(crate) fn poison_object(&self, obj: *mut u8) {
        if self.poison {
            // SAFETY: the object is being freed; its `size` bytes are ours.
            unsafe { ptr::write_bytes(obj, POISON_FREE, self.size) };
        }
    }

    /// Allocates an object on this thread's sheaves (or from the slabs).
    #[inline(always)]
    pub(crate) fn alloc(&self) -> *mut u8 {
        let ts = thread::current();
        if !ts.is_orphan() {
            let main = ts.slot_at(self.slot).main.get();
            if !main.is_null() && !self.poison {
                // SAFETY: the owner's sheaf.
                if let Some(obj) = unsafe { (*main).pop() } {
                    freemark::clear(obj, self.freeptr);
                    return obj;
                }
            }
        }
        self.alloc_cold()
    }

    /// Allocation off the fast path: an empty sheaf, the orphan state, or a
    /// poison check.
    #[cold]
    #[inline(never)]
    fn alloc_cold(&self) -> *mut u8 {
        let obj = thread::with_alloc_state(|ts| {
            let slot = ts.slot_at(self.slot);
            let main = slot.main.get();
            if !main.is_null() {
                // SAFETY: the owner's sheaf (or the orphan's, under its lock).
                if let Some(obj) = unsafe { (*main).pop() } {
                    return obj;
                }
            }
            self.alloc_slow(slot)
        });
        if !obj.is_null() {
            if self.poison {
                self.check_poison(obj);
            }
            freemark::clear(obj, self.freeptr);
        }
        obj
    }

    #[cold]
    fn alloc_slow(&self, slot: &thread::CacheSlot) -> *mut u8 {
        thread::busy_hook();
        if self.sheaf_capacity == 0 {
            let mut one = [ptr::null_mut()];
            self.take_from_slabs(&mut one);
            return one[0];
        }
        let mut main = slot.main.get();
        if main.is_null() {
            main = self
                .barn
                .take_full()
                .unwrap_or_else(|| Sheaf::new_empty(self));
            slot.main.set(main);
        }
        // SAFETY (all sheaf derefs below): owner's sheaves.
        if unsafe { (*main).len() } == 0 {
            let spare = slot.spare.get();
            if !spare.is_null() && unsafe { (*spare).len() } > 0 {
                slot.spare.set(main);
                slot.main.set(spare);
                main = spare;
            } else {
                match self.barn.take_full() {
                    Some(full) => {
                        let empty = main;
                        slot.main.set(full);
                        main = full;
                        self.park_empty(slot, empty);
                    }
                    None => {
                        // Refill from the slabs; if kfree_rcu here lacks an
                        // rcu_free sheaf, give it this one and refill a new
                        // one (this path may allocate; kfree_rcu's may not).
                        // The emptied sheaf leaves the main slot first: from
                        // the rcu_free slot a barrier's flush may retire it
                        // at once, and statistics read the main slot.
                        let fresh = self.empty_sheaf_for_free();
                        slot.main.set(fresh);
                        if self.park_rcu_free(slot, main) {
                            main = fresh;
                        } else {
                            slot.main.set(main);
                            self.barn.put_empty(fresh);
                        }
                        let s = unsafe { &mut *main };
                        s.fill(|out| self.take_from_slabs(out));
                    }
                }
            }
        }
        unsafe { (*main).pop() }.unwrap_or(ptr::null_mut())
    }

    /// Frees an object to this thread's sheaves (or to its slab); `what`
    /// names the public call for a double-free report (an object that
    /// carries its free mark already: freemark.rs).
    #[inline(always)]
    #[track_caller]
    pub(crate) fn free(&self, obj: *mut u8, what: &'static str) {
        let mark = freemark::Mark::of(self.free_key, obj, self.freeptr);
        if mark.is_set() {
            self.double_free(obj, what, "free");
        }
        let ts = thread::current();
        if !ts.is_orphan() && !self.poison {
            let main = ts.slot_at(self.slot).main.get();
            // SAFETY: the owner's sheaf.
            if !main.is_null() && unsafe { !(*main).is_full() } {
                unsafe { (*main).push(obj) };
                mark.set();
                return;
            }
        }
        self.free_cold(obj);
    }

    /// Reports a double free of `obj` by `what`, which found it `state`.
    #[cold]
    #[inline(never)]
    #[track_caller]
    pub(crate) fn double_free(&self, obj: *mut u8, what: &str, state: &str) -> ! {
        crate::misuse(
            &format!(
                "double free: {what}({obj:p}) of an object of cache `{}` that is already {state}",
                self.name
            ),
            freemark::INSTEAD,
        )
    }

    /// Freeing off the fast path: a full sheaf, the orphan state, poison.
    #[cold]
    #[inline(never)]
    fn free_cold(&self, obj: *mut u8) {
        self.poison_object(obj);
        freemark::mark(self.free_key, obj, self.freeptr);
        thread::with_alloc_state(|ts| {
            let slot = ts.slot_at(self.slot);
            let main = slot.main.get();
            // SAFETY: the owner's sheaf (or the orphan's, under its lock).
            if !main.is_null() && unsafe { !(*main).is_full() } {
                unsafe { (*main).push(obj) };
                return;
            }
            self.free_slow(slot, obj);
        });
    }

    #[cold]
    fn free_slow(&self, slot: &thread::CacheSlot, obj: *mut u8) {
        thread::busy_hook();
        if self.sheaf_capacity == 0 {
            self.put_to_slabs(&[obj]);
            return;
        }
        let mut main = slot.main.get();
        // SAFETY (all sheaf derefs below): owner's sheaves.
        if main.is_null() {
            main = self.empty_sheaf_for_free();
            slot.main.set(main);
        } else {
            let spare = slot.spare.get();
            if spare.is_null() || unsafe { (*spare).len() } == 0 {
                let fresh = if spare.is_null() {
                    self.empty_sheaf_for_free()
                } else {
                    spare
                };
                slot.spare.set(main);
                slot.main.set(fresh);
                main = fresh;
            } else {
                // The full sheaf leaves the slot before the barn has it:
                // once there, `trim` may retire it, and statistics read
                // slots under memb only for sheaves not yet retired.
                let fresh = self.empty_sheaf_for_free();
                slot.main.set(fresh);
                match self.barn.put_full(main) {
                    Ok(()) => main = fresh,
                    Err(full) => {
                        // The barn is full: keep the sheaf, and half of it
                        // goes to the slabs.
                        slot.main.set(full);
                        self.barn.put_empty(fresh);
                        self.barn.overflows.fetch_add(1, Ordering::Relaxed);
                        let s = unsafe { &mut *full };
                        let keep = s.len() / 2;
                        self.put_to_slabs(&s.objects()[keep..]);
                        s.set_len(keep);
                    }
                }
            }
        }
        unsafe { (*main).push(obj) };
    }

    /// An empty sheaf for a free path whose sheaves are full. The reclaim
    /// helper, which frees whole kfree_rcu batches, makes new ones rather
    /// than take the barn's: those are what kfree_rcu's `rcu_free` sheaves
    /// are made of, and the helper would otherwise drain them.
    fn empty_sheaf_for_free(&self) -> *mut Sheaf {
        if crate::reclaim::on_helper() {
            return Sheaf::new_empty(self);
        }
        self.barn
            .take_empty()
            .unwrap_or_else(|| Sheaf::new_empty(self))
    }

    /// Puts an empty sheaf the allocation path gave up where it is needed
    /// most: this thread's `rcu_free` slot if that is vacant (so kfree_rcu
    /// finds one without asking the barn), else the barn.
    fn park_empty(&self, slot: &thread::CacheSlot, empty: *mut Sheaf) {
        if !self.park_rcu_free(slot, empty) {
            self.barn.put_empty(empty);
        }
    }

    /// Makes `empty` this thread's `rcu_free` sheaf if it has none.
    fn park_rcu_free(&self, slot: &thread::CacheSlot, empty: *mut Sheaf) -> bool {
        thread::with_rcu_state(|_| {
            // Under the steal protocol: the rcu_free slot is ours.
            if slot.rcu_free.get().is_null() {
                slot.rcu_free.set(empty);
                slot.rcu_backoff.set(0);
                true
            } else {
                false
            }
        })
    }

    /// Takes back a sheaf a thread no longer owns: a full one goes to the
    /// barn, or its objects to the slabs; an empty one to the barn.
    pub(crate) fn return_sheaf(&self, sheaf: *mut Sheaf) {
        // SAFETY: the caller gave the sheaf up.
        let s = unsafe { &mut *sheaf };
        if s.len() == 0 {
            self.barn.put_empty(sheaf);
            return;
        }
        if s.is_full() {
            if self.barn.put_full(sheaf).is_ok() {
                return;
            }
            self.barn.overflows.fetch_add(1, Ordering::Relaxed);
        }
        self.put_to_slabs(s.objects());
        s.set_len(0);
        self.barn.put_empty(sheaf);
    }

    /// Puts a few empty sheaves in the barn for kfree_rcu's `rcu_free`
    /// sheaves (the helper does this; the kfree_rcu path never allocates).
    pub(crate) fn stock_empty_sheaves(&self) {
        if self.want_empty.load(Ordering::Relaxed) {
            while self.barn.empty_count() < self.barn.max_sheaves {
                self.barn.put_empty(Sheaf::new_empty(self));
            }
            // Cleared after stocking: until then kfree_rcu skips the barn.
            self.want_empty.store(false, Ordering::Relaxed);
        }
    }

    /// Stocks a full sheaf for a thread's `_nolock` calls (the helper, when
    /// a call found its sheaf missing or low), unless one is waiting.
    pub(crate) fn stock_nolock(&self, slot: &thread::CacheSlot) {
        // Relaxed: only the helper installs; the thread only takes.
        if self.sheaf_capacity == 0 || !slot.incoming.peek().is_null() {
            return;
        }
        let sheaf = self.barn.take_full().unwrap_or_else(|| {
            let s = Sheaf::new_empty(self);
            // SAFETY: fresh, ours.
            unsafe { (*s).fill(|out| self.take_from_slabs(out)) };
            s
        });
        // The thread's take sees the filled sheaf (stock.rs).
        if let Err(sheaf) = slot.incoming.offer(sheaf) {
            self.return_sheaf(sheaf);
        }
    }

    /// Live objects: taken from the slabs and in no thread's sheaf or the
    /// barn (kfree_rcu'd objects count until they are freed after their
    /// grace period). Exact when no thread is using the cache; a snapshot
    /// otherwise.
    pub(crate) fn live(&self) -> u64 {
        // Sheaves are freed only after a memb grace period (sheaf.rs): one
        // loaded from a slot inside this section stays readable until it
        // ends, even if its owner has handed it on and `trim` retired it.
        let _section = memb::read_lock();
        let _trim = self.trim_lock.lock();
        let taken = self.node.lock().taken;
        let mut free = self.barn.objects();
        for ts in thread::all_states() {
            if let Some(slot) = ts.slot_if_used(self.id) {
                for s in [&slot.main, &slot.spare] {
                    let sheaf = s.get();
                    if !sheaf.is_null() {
                        // SAFETY: loaded inside `_section`, so not yet
                        // freed (see above); len() is an atomic read.
                        free += unsafe { (*sheaf).len() };
                    }
                }
                // Relaxed: a snapshot.
                for sheaf in [slot.nolock.load(Ordering::Relaxed), slot.incoming.peek()] {
                    if !sheaf.is_null() {
                        // SAFETY: as above.
                        free += unsafe { (*sheaf).len() };
                    }
                }
            }
        }
        taken.saturating_sub(free) as u64
    }

    /// Flushes the barn to the slabs and releases every empty slab.
    pub(crate) fn trim(&self) {
        let _trim = self.trim_lock.lock();
        for sheaf in self.barn.take_all() {
            // SAFETY: taken from the barn, ours now.
            let s = unsafe { &mut *sheaf };
            self.put_to_slabs(s.objects());
            s.set_len(0);
            // SAFETY: emptied, taken out of the barn.
            unsafe { Sheaf::retire(sheaf) };
        }
        self.release_empty_slabs();
    }

    pub(crate) fn stats(&self) -> CacheStats {
        let mut st = CacheStats {
            object_size: self.size as u64,
            ..CacheStats::default()
        };
        for ts in thread::all_states() {
            if let Some(slot) = ts.slot_if_used(self.id) {
                let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
                st.kfree_rcu_sheaf += get(&slot.rcu_sheaf);
                st.sheaf_failures += get(&slot.rcu_sheaf_fail);
                st.sheaf_submissions += get(&slot.sheaf_submissions);
                st.kfree_rcu_batched += get(&slot.rcu_batched);
            }
        }
        st.live = self.live();
        {
            let node = self.node.lock();
            st.slabs = node.nr_slabs as u64;
            st.empty_slabs = node.nr_empty as u64;
        }
        st.barn_hits = self.barn.hits.load(Ordering::Relaxed);
        st.barn_misses = self.barn.misses.load(Ordering::Relaxed);
        st.barn_overflows = self.barn.overflows.load(Ordering::Relaxed);
        st.barn_full_sheaves = self.barn.full_count() as u64;
        st.barn_empty_sheaves = self.barn.empty_count() as u64;
        st.slabs_created = self.slabs_created.load(Ordering::Relaxed);
        st.slabs_released = self.slabs_released.load(Ordering::Relaxed);
        st
    }
}

/// Before fork: the cache registry, then every cache's node and barn.
pub(crate) fn lock_for_fork() {
    let caches = CACHES.lock();
    for p in caches.iter().filter(|p| !p.0.is_null()) {
        // SAFETY: registered caches are alive; the registry is locked.
        let c = unsafe { &*p.0 };
        std::mem::forget(c.trim_lock.lock());
        std::mem::forget(c.node.lock());
        c.barn.lock_for_fork();
    }
    std::mem::forget(caches);
}

/// After fork, in either process: releases what [`lock_for_fork`] took.
///
/// # Safety
///
/// Called once after `lock_for_fork`, by the thread that forked.
pub(crate) unsafe fn unlock_after_fork(in_child: bool) {
    // SAFETY: the registry is still locked by this thread (lock_for_fork),
    // so the data is ours to read; each lock was taken and its guard
    // forgotten by lock_for_fork.
    unsafe {
        let caches = &*CACHES.data_ptr();
        for p in caches.iter().filter(|p| !p.0.is_null()) {
            let c = &*p.0;
            if in_child {
                // Pins of walkers that were at work in other threads of
                // the parent: those threads do not exist here, and a
                // destroy in the child would wait for them forever.
                // Relaxed: the child has one thread, and the registry
                // lock, released just below, publishes it.
                c.pins.store(0, Ordering::Relaxed);
            }
            c.barn.unlock_after_fork();
            c.node.force_unlock();
            c.trim_lock.force_unlock();
        }
        CACHES.force_unlock();
    }
}

impl Node {
    fn list_head(&mut self, list: SlabList) -> Option<&mut *mut Slab> {
        match list {
            SlabList::Full => None,
            SlabList::Partial => Some(&mut self.partial),
            SlabList::Empty => Some(&mut self.empty),
        }
    }

    /// Links a new slab (not yet on a list) into `list`.
    fn add(&mut self, slab: *mut Slab, list: SlabList) {
        self.nr_slabs += 1;
        // SAFETY: a fresh slab of this cache; node lock held (&mut self).
        unsafe { (*slab).list = SlabList::Full };
        self.move_to(slab, list);
    }

    /// Moves a slab of this node to `to` (no-op if it is there).
    fn move_to(&mut self, slab: *mut Slab, to: SlabList) {
        // SAFETY (all derefs): slabs of this node, node lock held.
        let s = unsafe { &mut *slab };
        if s.list == to {
            return;
        }
        if s.list == SlabList::Empty {
            self.nr_empty -= 1;
        }
        if let Some(head) = self.list_head(s.list) {
            if s.prev.is_null() {
                *head = s.next;
            } else {
                unsafe { (*s.prev).next = s.next };
            }
            if !s.next.is_null() {
                unsafe { (*s.next).prev = s.prev };
            }
        }
        s.prev = ptr::null_mut();
        s.next = ptr::null_mut();
        s.list = to;
        if to == SlabList::Empty {
            self.nr_empty += 1;
        }
        if let Some(head) = self.list_head(to) {
            s.next = *head;
            if !s.next.is_null() {
                unsafe { (*s.next).prev = slab };
            }
            *head = slab;
        }
    }

    /// Unlinks and returns an empty slab (`nr_empty > 0`).
    fn pop_empty(&mut self) -> *mut Slab {
        let slab = self.empty;
        self.move_to(slab, SlabList::Full);
        self.nr_slabs -= 1;
        slab
    }
}

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
        NonNull::new(crate::nolock::alloc(self.inner())).ok_or(AllocError)
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
        let o = crate::object_of(obj.as_ptr(), "KmemCache::free");
        // A large object's header has a null cache: never ours either.
        if !ptr::eq(o.slab().cache, self.inner()) {
            crate::misuse(
                &format!(
                    "KmemCache::free({:p}) on cache `{}`: the object belongs to another cache",
                    obj.as_ptr(),
                    self.name()
                ),
                "free an object with the cache it came from, or use kfree",
            );
        }
        if o.is_pending() {
            crate::double_free_pending(o, "KmemCache::free");
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
        crate::reclaim::barrier(Some(inner), what);
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
            crate::reclaim::barrier(None, what);
        }
        let leftover = inner.node.lock().nr_slabs;
        if leftover != 0 {
            crate::report_corruption(&format!(
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
            crate::warn(&format!(
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

/// A cache's counters ([`KmemCache::stats`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Object size given at creation.
    pub object_size: u64,
    /// Objects allocated and not yet freed (kfree_rcu'd objects count until
    /// they are freed after their grace period).
    pub live: u64,
    /// Slabs the cache holds now, and how many of them are entirely free.
    pub slabs: u64,
    /// See `slabs`.
    pub empty_slabs: u64,
    /// Slabs mapped and released over the cache's life.
    pub slabs_created: u64,
    /// See `slabs_created`.
    pub slabs_released: u64,
    /// Objects kfree_rcu'd into `rcu_free` sheaves.
    pub kfree_rcu_sheaf: u64,
    /// Objects kfree_rcu'd into batches (bulk arrays or lists).
    pub kfree_rcu_batched: u64,
    /// Full `rcu_free` sheaves submitted for a grace period.
    pub sheaf_submissions: u64,
    /// kfree_rcu calls that found no empty sheaf and went to a batch.
    pub sheaf_failures: u64,
    /// Sheaf exchanges the barn served, and could not serve.
    pub barn_hits: u64,
    /// See `barn_hits`.
    pub barn_misses: u64,
    /// Full sheaves the barn had no room for (flushed to the slabs).
    pub barn_overflows: u64,
    /// Full and empty sheaves in the barn now.
    pub barn_full_sheaves: u64,
    /// See `barn_full_sheaves`.
    pub barn_empty_sheaves: u64,
}
