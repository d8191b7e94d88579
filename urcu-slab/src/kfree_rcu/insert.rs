//! Queueing one object: into this thread's `rcu_free` sheaf of its cache,
//! or into its open batch (an array slot, or linked through the object).
//!
//! One body serves the ordinary calls and the `_nolock` ones; what differs
//! is what the caller's context may do, a [`Context`]: the ordinary calls
//! may lock (the barn, the block pool) and allocate (a slot); a `_nolock`
//! call, which may run in a signal handler that interrupted anything, may
//! do neither, and links the object through its own field instead.

use super::batch::{detach, submit_sheaf};
use super::local::{Block, BLOCK_PTRS};
use super::monitor::MONITOR;
use crate::caches::{CacheInner, Sheaf};
use crate::helper;
use crate::memory::slab::Object;
use crate::stats::counters::bump;
use crate::thread::{CacheSlot, ThreadSlab};
use std::ptr;
use std::sync::atomic::Ordering;

/// What the caller's context may do on the kfree_rcu path.
trait Context {
    /// This thread's slot for `cache`, if the context may have it: created
    /// if need be (that allocates), or only if it exists.
    fn slot(ts: &'static ThreadSlab, cache: &CacheInner) -> Option<&'static CacheSlot>;

    /// An empty sheaf for the slot's `rcu_free`, when it has none: from
    /// the barn (that locks), or none. Counts a failure.
    fn empty_sheaf(cache: &CacheInner, slot: &CacheSlot) -> Option<*mut Sheaf>;

    /// A block of pointers for the open batch (from the pool: that locks),
    /// or null.
    fn block() -> *mut Block;

    /// Counts one object the context queued on the thread's own state.
    fn count(ts: &ThreadSlab);
}

/// The ordinary calls: may lock and allocate.
struct MayLock;

/// A `_nolock` call: neither locks nor allocates.
struct NoLock;

/// kfree_rcu calls that skip the barn after it had no empty sheaf.
const SHEAF_BACKOFF: u32 = 32;

impl Context for MayLock {
    #[inline(always)]
    fn slot(ts: &'static ThreadSlab, cache: &CacheInner) -> Option<&'static CacheSlot> {
        Some(ts.slot_at(cache.slot))
    }

    fn empty_sheaf(cache: &CacheInner, slot: &CacheSlot) -> Option<*mut Sheaf> {
        // After the barn had no empty sheaf, the next objects go straight
        // to a batch rather than ask the barn (a lock) again for each one;
        // allocations refill the barn with empties meanwhile.
        let backoff = slot.rcu_backoff.get();
        if backoff > 0 {
            slot.rcu_backoff.set(backoff - 1);
            bump(&slot.counters.rcu_sheaf_fail, 1);
            return None;
        }
        let sheaf = cache.barn.take_empty();
        if sheaf.is_none() {
            slot.rcu_backoff.set(SHEAF_BACKOFF);
            bump(&slot.counters.rcu_sheaf_fail, 1);
            // Relaxed: a hint, delivered by the wake that follows it.
            if !cache.want_empty.swap(true, Ordering::Relaxed) {
                helper::want_stock(
                    helper::Work::EmptySheaves,
                    crate::caches::stock_all_empty_sheaves,
                );
            }
        }
        sheaf
    }

    #[inline(always)]
    fn block() -> *mut Block {
        Block::take_pooled()
    }

    #[inline(always)]
    fn count(_: &ThreadSlab) {}
}

impl Context for NoLock {
    #[inline(always)]
    fn slot(ts: &'static ThreadSlab, cache: &CacheInner) -> Option<&'static CacheSlot> {
        // Creating the slot allocates; without it the object counts in the
        // global statistics only.
        ts.slot_if_used_at(cache.slot)
    }

    fn empty_sheaf(_: &CacheInner, slot: &CacheSlot) -> Option<*mut Sheaf> {
        // Taking an empty sheaf from the barn locks it.
        bump(&slot.counters.rcu_sheaf_fail, 1);
        None
    }

    #[inline(always)]
    fn block() -> *mut Block {
        ptr::null_mut()
    }

    #[inline(always)]
    fn count(ts: &ThreadSlab) {
        bump(&ts.counters.nolock_rcu, 1);
    }
}

/// Queues an object on this thread's kfree_rcu state; false only for a
/// headless call with no array slot.
pub(crate) fn insert(ts: &'static ThreadSlab, o: &Object, head: Option<*mut u8>) -> bool {
    insert_in::<MayLock>(ts, o, head)
}

/// [`insert`] for a `_nolock` call, in the thread's lock-free window: no
/// step that locks (the barn, the block pool) or allocates; the object is
/// linked through `head` when no array slot is at hand. False when the
/// helper does not run (in a fork child, until an ordinary call starts it):
/// nothing may be handed off then.
pub(crate) fn insert_nolock(ts: &'static ThreadSlab, o: &Object, head: *mut u8) -> bool {
    helper::started() && insert_in::<NoLock>(ts, o, Some(head))
}

#[inline(always)]
fn insert_in<C: Context>(ts: &'static ThreadSlab, o: &Object, head: Option<*mut u8>) -> bool {
    // Read the header first: once the object is handed off (a sheaf or a
    // batch submitted below) its grace period may end and, outside a read
    // section (the steal protocol's locked mode), its memory may be gone.
    let size = o.size();
    let cache = o.cache();
    if let Some(cache) = cache {
        if cache.sheaf_capacity > 0 && rcu_sheaf_insert::<C>(ts, cache, o.start, size) {
            C::count(ts);
            return true;
        }
    }
    // SAFETY: the open batch is ours under the steal protocol.
    let local = unsafe { &mut *ts.rcu.get() };
    // SAFETY: blocks of the open batch are ours.
    if local.cur.is_null() || unsafe { (*local.cur).is_full() } {
        if !local.cur.is_null() {
            // SAFETY: as above.
            unsafe { (*local.cur).next = local.full };
            local.full = local.cur;
        }
        local.cur = C::block();
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
    if let Some(slot) = cache.and_then(|cache| C::slot(ts, cache)) {
        bump(&slot.counters.rcu_batched, 1);
    }
    C::count(ts);
    if local.nr == 1 {
        crate::config::busy_hook();
        helper::note_open_batch(ts, MONITOR);
    } else if local.nr >= BLOCK_PTRS {
        detach(ts, false);
    }
    true
}

/// Puts an object in this thread's `rcu_free` sheaf; false when no empty
/// sheaf can be had in the context `C`.
fn rcu_sheaf_insert<C: Context>(
    ts: &'static ThreadSlab,
    cache: &CacheInner,
    obj: *mut u8,
    size: usize,
) -> bool {
    let Some(slot) = C::slot(ts, cache) else {
        return false;
    };
    let mut sheaf = slot.rcu_free.get();
    if sheaf.is_null() {
        match C::empty_sheaf(cache, slot) {
            Some(s) => {
                sheaf = s;
                slot.rcu_free.set(s);
            }
            None => return false,
        }
    }
    // SAFETY: the rcu_free sheaf is ours under the steal protocol.
    let s = unsafe { &mut *sheaf };
    // Counted before the hand-off, so the helper never frees more than was
    // submitted.
    bump(&ts.counters.rcu_objects, 1);
    bump(&ts.counters.rcu_bytes, size as u64);
    s.push(obj);
    bump(&slot.counters.rcu_sheaf, 1);
    if s.is_full() {
        slot.rcu_free.set(ptr::null_mut());
        bump(&slot.counters.sheaf_submissions, 1);
        submit_sheaf(sheaf);
    }
    true
}
