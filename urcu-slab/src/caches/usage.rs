//! What a cache holds: live objects, `trim`, and its counters.

use super::args::CacheStats;
use super::cache::CacheInner;
use super::sheaf::Sheaf;
use crate::thread;
use std::sync::atomic::Ordering;
use urcu_core::memb;

impl CacheInner {
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
                let get = crate::stats::counters::get;
                st.kfree_rcu_sheaf += get(&slot.counters.rcu_sheaf);
                st.sheaf_failures += get(&slot.counters.rcu_sheaf_fail);
                st.sheaf_submissions += get(&slot.counters.sheaf_submissions);
                st.kfree_rcu_batched += get(&slot.counters.rcu_batched);
            }
        }
        st.live = self.live();
        {
            let node = self.node.lock();
            st.slabs = node.nr_slabs as u64;
            st.empty_slabs = node.nr_empty as u64;
        }
        st.barn_hits = crate::stats::counters::get(&self.barn.hits);
        st.barn_misses = crate::stats::counters::get(&self.barn.misses);
        st.barn_overflows = crate::stats::counters::get(&self.barn.overflows);
        st.barn_full_sheaves = self.barn.full_count() as u64;
        st.barn_empty_sheaves = self.barn.empty_count() as u64;
        st.slabs_created = crate::stats::counters::get(&self.slabs_created);
        st.slabs_released = crate::stats::counters::get(&self.slabs_released);
        st
    }
}
