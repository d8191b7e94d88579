//! A cache's slabs, under its node lock: growing the cache by a slab,
//! taking objects from the slabs and putting them back, and giving empty
//! slabs back to the system.

use super::args::POISON_FREE;
use super::cache::{CacheInner, Node};
use crate::memory::slab::{self, Slab, SlabList};
use std::ptr;
use std::sync::atomic::Ordering;

/// Empty slabs (512 KiB) a cache keeps for reuse; more go back to the
/// system. Fewer make a kfree_rcu flood unmap and remap slabs between
/// grace periods.
const MAX_EMPTY_SLABS: usize = 8;

impl CacheInner {
    /// A new slab with its objects poisoned or constructed; made outside
    /// the node lock, since the constructor is user code.
    fn grow(&self) -> *mut Slab {
        let geometry = slab::Geometry {
            size: self.size,
            stride: self.stride,
            first: self.first,
            nr_objs: self.objs_per_slab,
        };
        let slab = slab::new_slab(self as *const CacheInner as *const (), geometry);
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
                out[got] = unsafe { s.take(self.free_key, self.freeptr, &self.name) };
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
                debug_assert!(ptr::eq(s.owner.cast::<CacheInner>(), self));
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
            // SAFETY: an empty slab off its node: ours to hand off; its
            // header starts with its pending head.
            unsafe {
                crate::helper::submit(
                    slab.cast(),
                    slab::release_pending,
                    crate::helper::stamp(),
                    0,
                )
            };
        } else {
            // SAFETY: an empty slab off the node lists: no object is in use
            // and no reader may read freed objects of a non-typesafe cache.
            unsafe { slab::release(slab) };
        }
    }

    /// Releases every empty slab (node lists only).
    pub(crate) fn release_empty_slabs(&self) {
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
}
