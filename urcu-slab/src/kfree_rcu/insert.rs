//! Queueing one object: into this thread's `rcu_free` sheaf of its cache,
//! or into its open batch (an array slot, or linked through the object).

use super::batch::{detach, submit_sheaf};
use super::local::{Block, BLOCK_PTRS};
use super::monitor::MONITOR;
use crate::caches::CacheInner;
use crate::helper;
use crate::memory::slab::Object;
use crate::thread::{bump, ThreadSlab};
use std::ptr;
use std::sync::atomic::Ordering;

/// Queues an object on this thread's kfree_rcu state; false only for a
/// headless call with no array slot.
pub(crate) fn insert(ts: &'static ThreadSlab, o: &Object, head: Option<*mut u8>) -> bool {
    insert_with(ts, o, head, false)
}

/// [`insert`] for a `_nolock` call, in the thread's lock-free window: no
/// step that locks (the barn, the block pool) or allocates; the object is
/// linked through `head` when no array slot is at hand. False when the
/// helper does not run (in a fork child, until an ordinary call starts it):
/// nothing may be handed off then.
pub(crate) fn insert_nolock(ts: &'static ThreadSlab, o: &Object, head: *mut u8) -> bool {
    helper::started() && insert_with(ts, o, Some(head), true)
}

#[inline(always)]
fn insert_with(ts: &'static ThreadSlab, o: &Object, head: Option<*mut u8>, nolock: bool) -> bool {
    // Read the header first: once the object is handed off (a sheaf or a
    // batch submitted below) its grace period may end and, outside a read
    // section (the steal protocol's locked mode), its memory may be gone.
    let size = o.size();
    let cache = o.cache();
    if let Some(cache) = cache {
        if cache.sheaf_capacity > 0 && rcu_sheaf_insert(ts, cache, o.start, size, nolock) {
            if nolock {
                bump(&ts.counters.nolock_rcu, 1);
            }
            return true;
        }
    }
    // SAFETY: the open batch is ours under the steal protocol.
    let local = unsafe { &mut *ts.rcu.get() };
    // SAFETY: blocks of the open batch are ours.
    if local.cur.is_null() || unsafe { (*local.cur).is_full() } {
        if !local.cur.is_null() {
            unsafe { (*local.cur).next = local.full };
            local.full = local.cur;
        }
        local.cur = if nolock {
            ptr::null_mut()
        } else {
            Block::take_pooled()
        };
    }
    if !local.cur.is_null() {
        // SAFETY: the accepting block has a free slot.
        let b = unsafe { &mut *local.cur };
        b.ptrs[b.nr] = o.start;
        b.nr += 1;
    } else if let Some(h) = head {
        // SAFETY: the link lies inside the object (checked), which is ours
        // until its grace period ends.
        unsafe { h.cast::<*mut u8>().write(local.list) };
        local.list = h;
    } else {
        return false;
    }
    local.nr += 1;
    local.bytes += size;
    bump(&ts.counters.rcu_objects, 1);
    bump(&ts.counters.rcu_bytes, size as u64);
    if let Some(cache) = cache {
        // A `_nolock` call cannot create the slot (that allocates); the
        // object then counts in the global statistics only.
        let slot = if nolock {
            ts.slot_if_used_at(cache.slot)
        } else {
            Some(ts.slot_at(cache.slot))
        };
        if let Some(slot) = slot {
            bump(&slot.rcu_batched, 1);
        }
    }
    if nolock {
        bump(&ts.counters.nolock_rcu, 1);
    }
    if local.nr == 1 {
        crate::config::busy_hook();
        helper::note_open_batch(ts, MONITOR);
    } else if local.nr >= BLOCK_PTRS {
        detach(ts, false);
    }
    true
}

/// kfree_rcu calls that skip the barn after it had no empty sheaf.
const SHEAF_BACKOFF: u32 = 32;

/// Puts an object in this thread's `rcu_free` sheaf; false when no empty
/// sheaf can be had without allocating.
fn rcu_sheaf_insert(
    ts: &'static ThreadSlab,
    cache: &CacheInner,
    obj: *mut u8,
    size: usize,
    nolock: bool,
) -> bool {
    let slot = if nolock {
        match ts.slot_if_used_at(cache.slot) {
            Some(slot) => slot,
            None => return false,
        }
    } else {
        ts.slot_at(cache.slot)
    };
    let mut sheaf = slot.rcu_free.get();
    if sheaf.is_null() && nolock {
        // Taking an empty sheaf from the barn locks it.
        bump(&slot.rcu_sheaf_fail, 1);
        return false;
    }
    if sheaf.is_null() {
        // After the barn had no empty sheaf, the next objects go straight
        // to a batch rather than ask the barn (a lock) again for each one;
        // allocations refill the barn with empties meanwhile.
        let backoff = slot.rcu_backoff.get();
        if backoff > 0 {
            slot.rcu_backoff.set(backoff - 1);
            bump(&slot.rcu_sheaf_fail, 1);
            return false;
        }
        match cache.barn.take_empty() {
            Some(s) => {
                sheaf = s;
                slot.rcu_free.set(s);
            }
            None => {
                slot.rcu_backoff.set(SHEAF_BACKOFF);
                bump(&slot.rcu_sheaf_fail, 1);
                if !cache.want_empty.swap(true, Ordering::Relaxed) {
                    helper::want_stock(
                        helper::Work::EmptySheaves,
                        crate::caches::stock_all_empty_sheaves,
                    );
                }
                return false;
            }
        }
    }
    // SAFETY: the rcu_free sheaf is ours under the steal protocol.
    let s = unsafe { &mut *sheaf };
    // Counted before the hand-off, so the helper never frees more than was
    // submitted.
    bump(&ts.counters.rcu_objects, 1);
    bump(&ts.counters.rcu_bytes, size as u64);
    s.push(obj);
    bump(&slot.rcu_sheaf, 1);
    if s.is_full() {
        slot.rcu_free.set(ptr::null_mut());
        bump(&slot.sheaf_submissions, 1);
        submit_sheaf(sheaf);
    }
    true
}
