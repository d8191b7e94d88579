//! Per-thread slab state, and how other threads may take it.
//!
//! Each thread has a [`ThreadSlab`]: per cache, its `main`, `spare` and
//! `rcu_free` sheaves and counters; and its open kfree_rcu batch. The
//! allocation paths (`main`, `spare`) belong to the owner alone and need no
//! synchronisation at all. The kfree_rcu state (`rcu_free` sheaves and the
//! open batch) must also be taken by other threads: the helper takes an idle
//! thread's aged batch, and a barrier takes every thread's batch and sheaves.
//! The kernel does that by running work on the target CPU; krcu uses a
//! per-thread busy flag and memb's asymmetric fences ([`steal`]), so that
//! the owner's path costs two stores, a compiler fence and a load:
//!
//! * the owner marks itself busy, and if no flusher wants its state works
//!   on it lock-free; otherwise it takes the thread's lock;
//! * a flusher raises the thread's steal count, runs memb's master fence
//!   (`membarrier()`), waits until the owner is not busy, then takes the
//!   lock and works on the state; then it lowers the count.
//!
//! The flusher holds the lock only after the owner left its lock-free
//! window, and never waits for a grace period while holding it. The
//! owner's busy window holds up no grace period (it is not a read section),
//! and the helper is woken only after it (`helper::defer_wakes`).
//!
//! # The unknown context
//!
//! A signal handler may interrupt this thread anywhere, krcu's own code
//! included (the `nolock` module). Its `_nolock` calls never touch the allocation
//! sheaves (`main`, `spare`), so the ordinary allocation paths pay nothing
//! for them: they use a `nolock` sheaf per cache of their own, guarded by
//! a per-thread flag that only `_nolock` calls set. They use the kfree_rcu
//! state only inside the steal protocol's lock-free window, after checking
//! that the owner is not inside its own window ([`ThreadSlab::try_rcu_state`]);
//! in the locked mode the steal count is raised, so they keep out too.
//! Because a handler runs on the thread it interrupted and returns before
//! that thread resumes, plain flags with compiler fences are enough: the
//! handler sees exactly the stores made before the interruption.
//!
//! A thread's state outlives the thread: at exit the thread hands its
//! batches and sheaves off, and the state goes to a pool for the next
//! thread (states are never freed, so a flusher never reads freed memory).
//! Code that runs after this thread's state is gone (other thread-local
//! destructors) uses one shared "orphan" state, always through its lock.
//!
//! * [`slots`]: a thread's per-cache slots;
//! * [`state`]: the thread's state and the steal protocol's windows;
//! * [`current`]: finding, creating and retiring states, steal rounds;
//! * [`tls`]: the thread-local slot that points at the state;
//! * [`steal`]: the busy flag and steal count (a loom model);
//! * [`stock`]: the slot through which the helper stocks a sheaf.

#[cfg(not(loom))]
pub(crate) mod current;
#[cfg(not(loom))]
pub(crate) mod slots;
#[cfg(not(loom))]
pub(crate) mod state;
pub(crate) mod steal;
pub(crate) mod stock;
#[cfg(not(loom))]
pub(crate) mod tls;

#[cfg(not(loom))]
pub(crate) use current::{
    after_fork_child, all_states, current, forget_cache, lock_lists_for_fork, lock_orphan_for_fork,
    steal_round, unlock_after_fork, with_alloc_state, with_rcu_state,
};
#[cfg(not(loom))]
pub(crate) use slots::CacheSlot;
#[cfg(not(loom))]
pub(crate) use state::ThreadSlab;
#[cfg(not(loom))]
pub(crate) use tls::current_nolock;
