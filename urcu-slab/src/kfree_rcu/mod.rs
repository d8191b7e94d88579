//! kfree_rcu: freeing krcu objects after a grace period, in batches.
//!
//! # The paths
//!
//! A kfree_rcu'd object waits for a grace period of *both* flavors (memb and
//! qsbr), so it may be read under either. It takes the first path that
//! works, all on per-thread state and with no allocation on the caller's
//! path:
//!
//! 1. **Sheaf.** If its cache has sheaves, the object goes into this
//!    thread's `rcu_free` sheaf (an empty one comes from the barn). A full
//!    sheaf is stamped with grace-period cookies and handed to the helper as
//!    a unit; after the grace period, the cache's `rcu_dtor` runs on each
//!    object and the sheaf goes to the barn, ready for allocations.
//! 2. **Bulk array.** Otherwise the pointer goes into this thread's open
//!    batch: a chain of page-sized [`Block`]s of pointers (taken from a pool
//!    the helper keeps stocked).
//! 3. **List.** With no block to be had, a two-argument kfree_rcu links the
//!    object into the batch through its own [`RcuHead`] or [`RcuPtr`]: the
//!    link's first word points at the next link; the object is found from
//!    the link by the slab lookup, so an 8-byte link is enough.
//!
//! The headless [`kvfree_rcu`] has no link: with no block to be had it maps
//! one, and if even that fails it waits for the grace period itself
//! (`synchronize` of both flavors) and frees the object inline.
//!
//! # Batches
//!
//! The open batch is stamped with its cookies when it is detached, after its
//! last insert, and sealed: nothing is added to it afterwards. The owner
//! detaches it once it holds a block's worth of objects; the helper's
//! monitor detaches batches that have waited a monitor period (so an idle
//! thread's objects are freed); a barrier detaches every batch; a thread
//! detaches its own at exit. Each thread has two batch descriptors; when
//! both are with the helper, the owner keeps filling its open batch, and a
//! barrier or exit allocates a descriptor. The helper frees a batch in bulk,
//! with no callback per object, once both its cookies have completed.
//!
//! * [`api`]: the public calls and the links;
//! * [`checks`]: what each call checks first;
//! * [`insert`]: queueing one object;
//! * [`local`]: the kfree_rcu state a thread carries, as data;
//! * [`block`]: the pool of pointer arrays;
//! * [`batch`]: batches, their hand-off and their freeing;
//! * [`monitor`]: handing off idle threads' batches.

pub(crate) mod api;
pub(crate) mod batch;
pub(crate) mod block;
pub(crate) mod checks;
pub(crate) mod insert;
pub(crate) mod local;
pub(crate) mod monitor;

pub(crate) use api::{RcuLink, KFREE_RCU_MAX_OFFSET};
pub(crate) use batch::flush_thread;
pub(crate) use block::{lock_for_fork, unlock_after_fork};
pub(crate) use local::{BatchDesc, RcuLocal};
