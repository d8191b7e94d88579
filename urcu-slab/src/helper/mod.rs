//! The reclaim helper: one thread ("krcu-kfree") that waits for the grace
//! periods of handed-off batches, sheaves and typesafe slabs and frees them;
//! runs the monitor that detaches idle threads' aged batches and restocks
//! blocks and empty sheaves; and answers barriers.
//!
//! Work arrives on the [`PendingStack`]. The helper keeps what it took in
//! arrival order and frees from the front: an item whose cookies have both
//! completed is freed; otherwise the helper waits for the front item's grace
//! periods (`cond_synchronize` of each flavor), so while there is a backlog
//! grace periods run back to back. A barrier's marker is answered when it
//! reaches the front: everything handed off before it has been freed.
//!
//! The helper sleeps on a futex when it has nothing to do; a producer rings
//! the doorbell only when the helper says it sleeps (a store-fence-load
//! handshake on each side, so a ring is never lost). While some thread has
//! an open batch, the sleep is bounded by the monitor period.
//!
//! Orderings of the helper's flags. The work itself travels on the pending
//! stack (Release push, Acquire take) or under locks (barns, the block
//! pool), and threads read their own descriptors' in_flight with Acquire.
//! ARMED, STOCK, URGENT and the tick are hints, stored Relaxed and
//! delivered by the ring that follows them (see [`doorbell`] for the
//! ring's handshake): a hint set before a ring is seen by the helper's
//! next pass. Counters are Relaxed statistics.
//!
//! * [`pending`]: the hand-off stack;
//! * [`doorbell`]: the helper's sleep and the deferred rings (loom models);
//! * [`wake`]: handing work off and waking the helper;
//! * [`start`]: starting it;
//! * [`run`]: its loop and the monitor;
//! * [`free`]: freeing after a grace period;
//! * [`barrier`]: the kfree_rcu barriers.

#[cfg(not(loom))]
pub(crate) mod barrier;
pub(crate) mod doorbell;
#[cfg(not(loom))]
pub(crate) mod free;
pub(crate) mod pending;
#[cfg(not(loom))]
pub(crate) mod run;
#[cfg(not(loom))]
pub(crate) mod start;
#[cfg(not(loom))]
pub(crate) mod wake;

#[cfg(not(loom))]
pub(crate) use barrier::barrier;
#[cfg(not(loom))]
pub(crate) use free::free_after_gp;
#[cfg(not(loom))]
pub(crate) use pending::{Kind, PendingHead, PendingStack};
#[cfg(not(loom))]
pub(crate) use start::{
    after_fork_child, ensure_started, lock_for_fork, on_helper, started, unlock_after_fork,
    with_state_walk,
};
#[cfg(not(loom))]
pub(crate) use wake::{
    defer_wakes, note_open_batch, submit, submit_slab, throttle, wake_from_anywhere, want_stock,
};
