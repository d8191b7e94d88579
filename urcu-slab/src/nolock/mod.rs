//! The `_nolock` functions: allocation and freeing for the unknown context.
//!
//! A signal handler may interrupt any code: krcu itself on the same thread
//! (halfway through a sheaf update or holding the thread's lock), `malloc`,
//! or any lock holder. The functions here never block, never spin on a
//! lock, never allocate with the system allocator, never yield and never
//! start a thread; everything they do is a plain access to this thread's
//! state, an atomic operation, or a futex wake.
//!
//! # The paths
//!
//! * **Allocation and free**: per thread and cache, a `nolock` sheaf of
//!   free objects that only `_nolock` calls touch (the ordinary paths pay
//!   nothing for them), guarded by a per-thread flag against a nested
//!   signal handler. The helper keeps a full sheaf waiting next to it
//!   (`incoming`, taken with an atomic swap) and is asked for the next one
//!   when the sheaf runs below half; an emptied sheaf goes back to the
//!   helper on a lock-free stack. An allocation that finds nothing fails
//!   at once (ENOMEM semantics: no retry loop); a free into a full sheaf is
//!   deferred.
//! * **kfree_rcu**: this thread's `rcu_free` sheaf or open batch, inside
//!   the steal protocol's lock-free window, when the call did not interrupt
//!   the owner inside that window and no flusher wants the state; without
//!   the steps that lock (taking an empty sheaf from the barn, a block from
//!   the pool): the object takes an array slot if one is at hand, else it
//!   is linked through its own link. A full sheaf or batch is handed to
//!   the helper on its lock-free stack, as usual.
//! * **The deferred list** ([`deferred`]): a free or kfree_rcu that cannot
//!   be done in place pushes the object, linked through its own memory,
//!   and wakes the helper, which runs the normal path. A later grace period
//!   is still a correct one.
//!
//! Barriers first have the helper drain the deferred list and hand off what
//! it queued, so an object pushed before a barrier started is freed when it
//! returns. The helper sleeps until a push wakes it: nothing polls.
//!
//! * [`alloc`], [`free`]: the calls;
//! * [`lists`]: the lock-free lists and hints they leave for the helper;
//! * [`drain`]: the helper's side;
//! * [`deferred`]: the lock-free list and the drain tickets (loom models);
//! * [`fatal`]: bad input, reported without allocating.

#[cfg(not(loom))]
pub(crate) mod alloc;
pub(crate) mod deferred;
#[cfg(not(loom))]
pub(crate) mod drain;
#[cfg(not(loom))]
mod fatal;
#[cfg(not(loom))]
pub(crate) mod free;
#[cfg(not(loom))]
pub(crate) mod lists;

#[cfg(not(loom))]
pub(crate) use drain::{after_fork_child, drain_for_barrier};
#[cfg(not(loom))]
pub(crate) use lists::{deferred_pending, deferred_totals};
