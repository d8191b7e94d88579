//! Objects handed to kfree_rcu and not yet freed.

use super::counters;
use crate::thread;
use std::sync::atomic::Ordering;

/// Objects handed to kfree_rcu and not yet freed, and their bytes.
pub(crate) fn pending_counts() -> (u64, u64) {
    let (mut objs, mut bytes) = (0u64, 0u64);
    for ts in thread::all_states() {
        // Relaxed: statistics.
        objs = objs.wrapping_add(ts.counters.rcu_objects.load(Ordering::Relaxed));
        bytes = bytes.wrapping_add(ts.counters.rcu_bytes.load(Ordering::Relaxed));
    }
    let freed = counters::get(&counters::FREED_BULK)
        + counters::get(&counters::FREED_LIST)
        + counters::get(&counters::FREED_SHEAF)
        + counters::get(&counters::FREED_SYNC);
    (
        objs.saturating_sub(freed),
        bytes.saturating_sub(counters::get(&counters::FREED_BYTES)),
    )
}
