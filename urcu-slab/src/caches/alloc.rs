//! The allocation and free paths of a cache: this thread's sheaves, the
//! barn, the slabs, and the double-free check on every free.

use super::cache::CacheInner;
use super::sheaf::Sheaf;
use crate::memory::freemark;
use crate::memory::slab::Object;
use crate::thread;
use std::ptr;

impl CacheInner {
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
        crate::config::busy_hook();
        if self.sheaf_capacity == 0 {
            let mut one = [ptr::null_mut()];
            self.take_from_slabs(&mut one);
            return one[0];
        }
        let mut main = slot.main.get();
        if main.is_null() {
            main = self.barn.take_full().unwrap_or_else(|| self.new_sheaf());
            slot.main.set(main);
        }
        // SAFETY: the owner's main sheaf (as every sheaf below: the
        // owner's).
        if unsafe { (*main).len() } == 0 {
            let spare = slot.spare.get();
            // SAFETY: the owner's spare sheaf.
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
                        // SAFETY: the owner's main sheaf, just installed.
                        let s = unsafe { &mut *main };
                        s.fill(|out| self.take_from_slabs(out));
                    }
                }
            }
        }
        // SAFETY: the owner's main sheaf.
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
                // SAFETY: the owner's sheaf, not full.
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
        crate::report::misuse(
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
                // SAFETY: as above, not full.
                unsafe { (*main).push(obj) };
                return;
            }
            self.free_slow(slot, obj);
        });
    }

    #[cold]
    fn free_slow(&self, slot: &thread::CacheSlot, obj: *mut u8) {
        crate::config::busy_hook();
        if self.sheaf_capacity == 0 {
            self.put_to_slabs(&[obj]);
            return;
        }
        let mut main = slot.main.get();
        // Every sheaf below is the owner's.
        if main.is_null() {
            main = self.empty_sheaf_for_free();
            slot.main.set(main);
        } else {
            let spare = slot.spare.get();
            // SAFETY: the owner's spare sheaf.
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
                        crate::stats::counters::add(&self.barn.overflows, 1);
                        // SAFETY: the owner's sheaf, kept in the main slot.
                        let s = unsafe { &mut *full };
                        let keep = s.len() / 2;
                        self.put_to_slabs(&s.objects()[keep..]);
                        s.set_len(keep);
                    }
                }
            }
        }
        // SAFETY: the owner's main sheaf, with room.
        unsafe { (*main).push(obj) };
    }

    /// An empty sheaf for a free path whose sheaves are full. The reclaim
    /// helper, which frees whole kfree_rcu batches, makes new ones rather
    /// than take the barn's: those are what kfree_rcu's `rcu_free` sheaves
    /// are made of, and the helper would otherwise drain them.
    fn empty_sheaf_for_free(&self) -> *mut Sheaf {
        if crate::helper::on_helper() {
            return self.new_sheaf();
        }
        self.barn.take_empty().unwrap_or_else(|| self.new_sheaf())
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
            crate::stats::counters::add(&self.barn.overflows, 1);
        }
        self.put_to_slabs(s.objects());
        s.set_len(0);
        self.barn.put_empty(sheaf);
    }

    /// Stocks a sheaf holding one object for a thread's first `_nolock`
    /// call of this cache (`prepare_thread`, on the thread, in ordinary
    /// code), unless one is waiting or the thread has its sheaf already.
    /// One object, not a full sheaf: a prepared thread keeps about 16 KiB
    /// over the 13 size classes, not 370 KiB; the call that takes it asks
    /// the helper for a full one, as a call finding its sheaf low does.
    pub(crate) fn stock_first_nolock(&self, slot: &thread::CacheSlot) {
        // Relaxed: this thread's own pointers (the helper only installs in
        // `incoming`, which `offer` decides).
        if self.sheaf_capacity == 0
            || !slot.incoming.peek().is_null()
            || !slot
                .nolock
                .load(std::sync::atomic::Ordering::Relaxed)
                .is_null()
        {
            return;
        }
        let sheaf = self.new_sheaf();
        let mut obj = [std::ptr::null_mut(); 1];
        if self.take_from_slabs(&mut obj) == 1 {
            // SAFETY: fresh and ours until offered.
            unsafe { (*sheaf).push(obj[0]) };
        }
        if let Err(sheaf) = slot.incoming.offer(sheaf) {
            self.return_sheaf(sheaf);
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
            let s = self.new_sheaf();
            // SAFETY: fresh, ours.
            unsafe { (*s).fill(|out| self.take_from_slabs(out)) };
            s
        });
        // The thread's take sees the filled sheaf (stock.rs).
        if let Err(sheaf) = slot.incoming.offer(sheaf) {
            self.return_sheaf(sheaf);
        }
    }
}

/// Reports a free or kfree_rcu, by the public call `what`, of an object
/// that waits to be freed already (its pending flag: freemark.rs).
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn double_free_pending(o: Object, what: &str) -> ! {
    match o.cache() {
        Some(cache) => cache.double_free(o.start, what, freemark::PENDING),
        None => crate::report::misuse(
            &format!(
                "double free: {what}({:p}) of a large kmalloc object that is already {}",
                o.start,
                freemark::PENDING
            ),
            freemark::INSTEAD,
        ),
    }
}
