//! Freeing after a grace period: one object (its cache's `rcu_dtor`, then
//! back to its cache), and a whole `rcu_free` sheaf.

use crate::caches::Sheaf;
use crate::memory::slab;
use crate::stats::counters;

/// Frees one object whose grace period has passed: its cache's `rcu_dtor`,
/// then back to the cache (or unmapped, for a large object).
pub(crate) fn free_after_gp(obj: *mut u8) {
    let o = slab::find(obj).expect("a queued object is a krcu object");
    match o.cache() {
        Some(cache) => {
            if let Some(dtor) = cache.rcu_dtor {
                // SAFETY: the object's grace period passed; the dtor gets
                // the object, as documented.
                unsafe { dtor(o.start.cast()) };
            }
            o.clear_pending();
            cache.free(o.start, "kfree_rcu");
        }
        None => {
            o.clear_pending();
            // SAFETY: a large object whose grace period passed; its mapping
            // holds nothing else.
            unsafe { slab::release(o.slab) };
        }
    }
}

/// A full `rcu_free` sheaf after its grace period: rcu_dtor on each object,
/// then to the barn as a full sheaf (or its objects to the slabs).
pub(crate) fn process_sheaf(sheaf: *mut Sheaf) {
    // SAFETY: the sheaf is the helper's; its cache outlives it (destroy
    // waits for its sheaves with a barrier).
    let s = unsafe { &mut *sheaf };
    let cache = s.cache();
    for &obj in s.objects() {
        if let Some(dtor) = cache.rcu_dtor {
            // SAFETY: the object's grace period passed.
            unsafe { dtor(obj.cast()) };
        }
        if let Ok(o) = slab::find(obj) {
            o.clear_pending();
        }
        cache.poison_object(obj);
        // Free now, in a sheaf: the mark a free would have set.
        crate::memory::freemark::mark(cache.free_key, obj, cache.freeptr);
    }
    let n = s.len() as u64;
    counters::add(&counters::FREED_SHEAF, n);
    counters::add(&counters::FREED_BYTES, n * cache.size as u64);
    cache.return_sheaf(sheaf);
}
