//! The monitor: every period while some thread has an open batch, the
//! helper hands off the batches that have waited a whole period (so an idle
//! thread's objects are freed) and restocks blocks and empty sheaves.

use super::{batch, block};
use crate::helper::{self, queue};
use crate::thread::{self, ThreadSlab};
use std::sync::atomic::{fence, Ordering};

/// One monitor pass: hand off aged batches, restock blocks and sheaves.
/// The monitor's pass (the helper runs it every period while armed).
fn monitor() {
    // Relaxed: the tick and the batches' age are hints
    // (ThreadSlab::batch_since).
    let tick = queue::TICK.fetch_add(1, Ordering::Relaxed) + 1;
    let states = thread::all_states();
    // A batch opened at tick t (stored as t + 1) is aged once the tick has
    // moved past t + 1: it waited at least one whole period.
    let aged: Vec<&'static ThreadSlab> = states
        .iter()
        .copied()
        .filter(|ts| {
            let since = ts.batch_since.load(Ordering::Relaxed);
            since != 0 && since < tick
        })
        .collect();
    if !aged.is_empty() {
        tracing::trace!(
            target: "krcu::slab",
            threads = aged.len(),
            "krcu: monitor detaches aged kfree_rcu batches"
        );
        let _f = helper::start::FLUSH.lock();
        thread::steal_round(&aged, batch::detach_aged);
    }
    block::refill_block_pool();
    crate::caches::stock_all_empty_sheaves();
    // Disarm when no batch is open; the SeqCst fence pairs with the one in
    // the ring a thread opening a batch makes after reading ARMED clear
    // (note_open_batch), so either it sees ARMED clear and arms, or we see
    // its batch below.
    queue::ARMED.store(false, Ordering::Relaxed);
    fence(Ordering::SeqCst);
    if states
        .iter()
        .any(|ts| ts.batch_since.load(Ordering::Relaxed) != 0)
        || block::WANT_BLOCKS.load(Ordering::Relaxed)
    {
        queue::ARMED.store(true, Ordering::Relaxed);
    }
}

/// The monitor's function, as `note_open_batch` arms it.
pub(crate) const MONITOR: fn() = monitor;
