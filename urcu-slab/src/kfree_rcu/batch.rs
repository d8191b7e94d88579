//! Batches: a thread's open batch, sealing it and handing it to the helper
//! (with the function that frees it), the same for `rcu_free` sheaves,
//! flushing a thread's kfree_rcu state, freeing a batch after its grace
//! period, and the monitor that hands off idle threads' batches.

use super::local::Block;
use super::local::{BatchData, BatchDesc, RcuLocal};
use crate::caches::{CacheInner, Sheaf};
use crate::helper::{self, free_after_gp, PendingHead};
use crate::memory::slab;
use crate::stats::counters::{self, bump};
use crate::thread::{self, ThreadSlab};
use std::ptr;
use std::sync::atomic::Ordering;

impl RcuLocal {
    /// Takes a freshly mapped block as the accepting block (or pools it).
    pub(crate) fn adopt(&mut self, block: *mut Block) {
        // SAFETY: blocks of the open batch are the owner's.
        if self.cur.is_null() || unsafe { (*self.cur).is_full() } {
            if !self.cur.is_null() {
                // SAFETY: as above: the owner's block.
                unsafe { (*self.cur).next = self.full };
                self.full = self.cur;
            }
            self.cur = block;
        } else {
            Block::recycle(block);
        }
    }
}

/// Seals the open batch and hands it to the helper; false when both of the
/// thread's descriptors are in flight and `allow_heap` is not set.
pub(crate) fn detach(ts: &'static ThreadSlab, allow_heap: bool) -> bool {
    // SAFETY: the open batch is ours (owner, or lock holder).
    let local = unsafe { &mut *ts.rcu.get() };
    if local.nr == 0 {
        return true;
    }
    // Acquire: pairs with the helper's Release clear; the descriptor's
    // previous batch is fully processed.
    let desc: &BatchDesc = match ts
        .descs
        .iter()
        .find(|d| !d.in_flight.load(Ordering::Acquire))
    {
        Some(d) => d,
        None if allow_heap => Box::leak(Box::new(BatchDesc::new(true))),
        None => return false,
    };
    let objects = local.nr;
    let mut blocks = local.full;
    // SAFETY: blocks of the open batch are ours.
    if !local.cur.is_null() && unsafe { (*local.cur).nr } > 0 {
        // SAFETY: as above.
        unsafe { (*local.cur).next = blocks };
        blocks = local.cur;
        local.cur = ptr::null_mut();
    }
    // SAFETY: the descriptor is not in flight: ours to fill.
    unsafe {
        *desc.data.get() = BatchData {
            blocks,
            list: local.list,
            nr: local.nr,
            bytes: local.bytes,
        };
    }
    local.full = ptr::null_mut();
    local.list = ptr::null_mut();
    local.nr = 0;
    local.bytes = 0;
    // Relaxed: the monitor's age hint (see ThreadSlab::batch_since).
    ts.batch_since.store(0, Ordering::Relaxed);
    // Relaxed: only this thread reads it before the helper clears it, and
    // the helper takes the descriptor through the push's Release / take's
    // Acquire.
    desc.in_flight.store(true, Ordering::Relaxed);
    counters::add(&counters::BATCHES, 1);
    // SAFETY: the descriptor is the helper's until it clears in_flight, and
    // `process_batch` frees what it holds.
    unsafe { helper::submit(desc.pending.get(), process_batch, helper::stamp(), objects) };
    true
}

/// Hands a full (or, flushed, partly filled) `rcu_free` sheaf to the
/// helper: after its grace periods, [`free_sheaf`] runs the cache's
/// `rcu_dtor` on each object and gives the sheaf to the barn.
pub(crate) fn submit_sheaf(sheaf: *mut Sheaf) {
    counters::add(&counters::SHEAVES_SUBMITTED, 1);
    // SAFETY: the caller gives the sheaf up; a sheaf starts with its pending
    // head, and the helper owns it from now on.
    unsafe {
        let objects = (*sheaf).len();
        helper::submit(sheaf.cast(), free_sheaf, helper::stamp(), objects)
    };
}

/// A submitted sheaf's `free`.
///
/// # Safety
///
/// `head` is the head of a sheaf [`submit_sheaf`] handed to the helper, and
/// its grace periods have passed.
unsafe fn free_sheaf(head: *mut PendingHead) {
    helper::free::process_sheaf(head.cast());
}

/// Hands off a thread's kfree_rcu state: its open batch (the helper's
/// monitor passes `all_sheaves = false` and only aged batches), and its
/// `rcu_free` sheaves, of `cache` only or of every cache. Called with the
/// thread's state taken (steal round, or the exiting owner).
pub(crate) fn flush_thread(ts: &'static ThreadSlab, cache: Option<&CacheInner>, all_sheaves: bool) {
    detach(ts, true);
    if !all_sheaves && cache.is_none() {
        return;
    }
    let flush = |id: usize, slot: &thread::CacheSlot| {
        let sheaf = slot.rcu_free.replace(ptr::null_mut());
        if sheaf.is_null() {
            return;
        }
        // SAFETY: taken from the slot: ours.
        if unsafe { (*sheaf).len() } == 0 {
            match crate::caches::pin(id) {
                Some(c) => c.barn.put_empty(sheaf),
                // The cache is being destroyed: an empty sheaf holds
                // nothing of it.
                // SAFETY: taken from the slot, empty: ours alone.
                None => unsafe { crate::caches::Sheaf::retire(sheaf) },
            }
            return;
        }
        bump(&slot.counters.sheaf_submissions, 1);
        submit_sheaf(sheaf);
    };
    match cache {
        Some(c) => {
            if let Some(slot) = ts.slot_if_used(c.id) {
                flush(c.id, slot);
            }
        }
        None => {
            for (id, slot) in ts.slots() {
                flush(id, slot);
            }
        }
    }
}

/// The monitor's hand-off of an aged batch. It may allocate a descriptor
/// when both of the thread's are in flight (or were abandoned by a helper
/// that vanished in a fork).
pub(crate) fn detach_aged(ts: &'static ThreadSlab) {
    detach(ts, true);
}

/// Frees a batch (helper) and gives its descriptor back.
///
/// # Safety
///
/// `desc` is the head of a descriptor `detach` handed to the helper, and
/// both its grace periods have passed (the helper calls it then).
unsafe fn process_batch(desc: *mut PendingHead) {
    let desc = desc.cast::<BatchDesc>();
    // SAFETY: in flight: the helper's.
    let d = unsafe { &mut *(*desc).data.get() };
    let (mut bulk, mut list) = (0u64, 0u64);
    let mut b = d.blocks;
    while !b.is_null() {
        // SAFETY: the batch's blocks are the helper's now.
        let blk = unsafe { &mut *b };
        for &p in &blk.ptrs[..blk.nr] {
            free_after_gp(p);
        }
        bulk += blk.nr as u64;
        let next = blk.next;
        Block::recycle(b);
        b = next;
    }
    let mut h = d.list;
    while !h.is_null() {
        // SAFETY: each link's first word was written by `insert`; read it
        // before the object is freed.
        let next = unsafe { h.cast::<*mut u8>().read() };
        let o = slab::find(h).expect("a linked object is a krcu object");
        free_after_gp(o.start);
        list += 1;
        h = next;
    }
    debug_assert_eq!(bulk + list, d.nr as u64);
    counters::add(&counters::FREED_BULK, bulk);
    counters::add(&counters::FREED_LIST, list);
    counters::add(&counters::FREED_BYTES, d.bytes as u64);
    d.blocks = ptr::null_mut();
    d.list = ptr::null_mut();
    d.nr = 0;
    // SAFETY: as above.
    if unsafe { (*desc).heap } {
        // SAFETY: heap descriptors come from Box::leak in `detach`.
        drop(unsafe { Box::from_raw(desc) });
    } else {
        // Release: the owner's Acquire load sees the descriptor emptied.
        // SAFETY: the descriptor is alive (not a heap one); the helper owns it until this store.
        unsafe { (*desc).in_flight.store(false, Ordering::Release) };
    }
}
