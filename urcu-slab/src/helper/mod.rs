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
//! Every item handed off carries the function that frees it, and every
//! work asked for the function that does it (see [`queue`]): the helper's
//! loop dispatches on neither, and depends on nothing above it.
//!
//! * [`pending`]: the hand-off stack and the head every item starts with;
//! * [`doorbell`]: the helper's sleep and the deferred rings (loom models);
//! * [`queue`]: what producers and the helper share, the wanted-work bits;
//! * [`wake`]: handing work off, starting and waking the helper;
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
pub(crate) mod queue;
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
pub(crate) use pending::{PendingHead, PendingStack};
#[cfg(not(loom))]
pub(crate) use queue::{defer_wakes, on_helper, stamp, wake_from_anywhere, Work};
#[cfg(not(loom))]
pub(crate) use start::{
    after_fork_child, ensure_started, lock_for_fork, started, unlock_after_fork, with_state_walk,
};
#[cfg(not(loom))]
pub(crate) use wake::{note_open_batch, submit, throttle, want_stock};
