//! `fork()` support for the slab layer: the child gets a working allocator
//! and a new reclaim helper.
//!
//! The slab layer's steps run inside the core's fork handlers, after the
//! core's locks are taken (the library's one lock order is written down in
//! urcu-core's fork.rs): before the fork, the forking thread takes the slab
//! layer's locks in their nesting order (helper start and steal rounds,
//! the orphan state, the cache registry, every cache's trim, node and barn
//! locks, the block pool, the state lists), so no other thread is midway
//! through a slab list, a barn or a steal round. In the child, other
//! threads' per-thread states are abandoned (they may have been
//! mid-update), the helper is marked not started, and the next call that
//! hands work off starts a new one; items still on the pending stack are
//! freed by it, items the old helper held leak in the child's copy of
//! memory.
//!
//! [`install`] hands these steps to the core and makes sure the handlers
//! are registered; every path that first takes a slab lock passes it
//! (cache creation, a thread's first state, the helper's start).

use urcu_core::__private::fork::{set_slab_hooks, SlabHooks};

static HOOKS: SlabHooks = SlabHooks {
    prepare: prepare_hook,
    parent: parent_hook,
    child: child_hook,
};

/// Registers the slab layer's fork steps (cheap after the first call).
/// Never called with a slab lock held (see the core's `install`).
#[inline]
pub(crate) fn install() {
    set_slab_hooks(&HOOKS);
}

fn prepare_hook() {
    // The order in which the rest of the slab layer nests them.
    crate::helper::lock_for_fork();
    crate::thread::lock_orphan_for_fork();
    crate::caches::lock_for_fork();
    crate::kfree_rcu::lock_for_fork();
    crate::thread::lock_lists_for_fork();
}

/// # Safety
///
/// Only as the second half of `prepare`, on the forking thread.
unsafe fn unlock_all(in_child: bool) {
    // SAFETY: prepare took each of these on this thread; released in the
    // reverse order.
    unsafe {
        crate::thread::unlock_after_fork();
        crate::kfree_rcu::unlock_after_fork();
        crate::caches::unlock_after_fork(in_child);
        crate::helper::unlock_after_fork();
    }
}

fn parent_hook() {
    // SAFETY: after prepare, on the forking thread.
    unsafe { unlock_all(false) };
}

fn child_hook() {
    // SAFETY: after prepare, on the forking thread (the only thread here).
    unsafe { unlock_all(true) };
    crate::thread::after_fork_child();
    crate::helper::after_fork_child();
}
