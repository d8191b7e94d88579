//! A cache's shared state ([`CacheInner`]): its geometry, its node lists,
//! the registry of live caches with the pins that keep a walker's cache
//! alive, creation, and the locks a fork takes.

use super::args::{CacheArgs, ObjectFn};
use super::error::CacheError;
use super::sheaf::{Barn, Sheaf};
use crate::memory::freemark;
use crate::memory::lock::Mutex;
use crate::memory::pages::SLAB_SIZE;
use crate::memory::slab::{self, Object, Slab, SlabList};
use crate::thread::slots::{SlotIndex, MAX_CACHES};
use std::ops::Deref;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

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
    pub(crate) trim_lock: Mutex<()>,
    /// Slab lists; under it only slab headers are touched (leaf lock).
    pub(crate) node: Mutex<Node>,
    pub(crate) barn: Barn,
    /// A kfree_rcu found no empty sheaf for its `rcu_free` sheaf: the
    /// helper puts some in the barn (the caller's path never allocates).
    /// Relaxed: a hint, delivered by the want_stock() wake that follows it;
    /// the sheaves themselves move under the barn's lock.
    pub(crate) want_empty: AtomicBool,
    pub(crate) slabs_created: AtomicU64,
    pub(crate) slabs_released: AtomicU64,
    /// Walkers holding a [`CachePin`]; `destroy` waits for zero.
    pub(crate) pins: AtomicUsize,
    /// Set by `destroy` under the registry lock: no new pins.
    pub(crate) dying: AtomicBool,
}

pub(crate) struct Node {
    pub(crate) partial: *mut Slab,
    pub(crate) empty: *mut Slab,
    pub(crate) nr_slabs: usize,
    pub(crate) nr_empty: usize,
    /// Objects taken from the slabs: held by users, sheaves, the barn, or
    /// waiting for a grace period.
    pub(crate) taken: usize,
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
pub(super) static CACHES: Mutex<Vec<CachePtr>> = Mutex::new(Vec::new());

#[derive(Clone, Copy)]
pub(super) struct CachePtr(pub(super) *const CacheInner);
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
    pub(crate) fn create(
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
        let poison = (args.poison || crate::config::debug_checks())
            && args.ctor.is_none()
            && !args.typesafe_by_rcu;
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
    pub(crate) fn add(&mut self, slab: *mut Slab, list: SlabList) {
        self.nr_slabs += 1;
        // SAFETY: a fresh slab of this cache; node lock held (&mut self).
        unsafe { (*slab).list = SlabList::Full };
        self.move_to(slab, list);
    }

    /// Moves a slab of this node to `to` (no-op if it is there).
    pub(crate) fn move_to(&mut self, slab: *mut Slab, to: SlabList) {
        // SAFETY: a slab of this node; node lock held (&mut self).
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
                // SAFETY: a slab of this node; node lock held (&mut self).
                unsafe { (*s.prev).next = s.next };
            }
            if !s.next.is_null() {
                // SAFETY: as above.
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
                // SAFETY: as above.
                unsafe { (*s.next).prev = slab };
            }
            *head = slab;
        }
    }

    /// Unlinks and returns an empty slab (`nr_empty > 0`).
    pub(crate) fn pop_empty(&mut self) -> *mut Slab {
        let slab = self.empty;
        self.move_to(slab, SlabList::Full);
        self.nr_slabs -= 1;
        slab
    }
}

impl Object {
    /// The object's cache, or `None` for a large kmalloc object.
    #[inline]
    pub(crate) fn cache(&self) -> Option<&CacheInner> {
        let c = self.slab().owner.cast::<CacheInner>();
        // SAFETY: a slab's owner is the cache that made it (`node.rs`), and
        // a cache outlives its slabs.
        (!c.is_null()).then(|| unsafe { &*c })
    }
}

impl Sheaf {
    /// The sheaf's cache.
    #[inline]
    pub(crate) fn cache(&self) -> &CacheInner {
        // SAFETY: a sheaf's owner is the cache that made it (`new_sheaf`),
        // and a cache outlives its sheaves (destroy waits for them).
        unsafe { &*self.owner.cast::<CacheInner>() }
    }
}

impl CacheInner {
    /// A new empty sheaf of this cache (allocates).
    pub(crate) fn new_sheaf(&self) -> *mut Sheaf {
        Sheaf::new_empty(self as *const CacheInner as *const (), self.sheaf_capacity)
    }
}

impl CacheInner {
    /// Puts a few empty sheaves in the barn for kfree_rcu's `rcu_free`
    /// sheaves (the helper does this; the kfree_rcu path never allocates).
    pub(crate) fn stock_empty_sheaves(&self) {
        // Relaxed: a hint delivered by the want_stock ring (see `want_empty`);
        // the sheaves move under the barn's lock.
        if self.want_empty.load(Ordering::Relaxed) {
            while self.barn.empty_count() < self.barn.max_sheaves {
                self.barn.put_empty(self.new_sheaf());
            }
            // Cleared after stocking: until then kfree_rcu skips the barn.
            self.want_empty.store(false, Ordering::Relaxed);
        }
    }
}

/// The helper's work when kfree_rcu found a barn without an empty sheaf:
/// every cache that asked gets a few (`want_empty`).
pub(crate) fn stock_all_empty_sheaves() {
    for cache in pin_all() {
        cache.stock_empty_sheaves();
    }
}
