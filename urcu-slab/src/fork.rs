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
//! are registered. It runs when the library is loaded (an `.init_array`
//! entry), before any slab lock can be taken, so no mechanism of the slab
//! layer needs to know about fork: this module alone names their steps.
//! (urcu-ffi's constructor calls it too, which links this module into a
//! static C program that never names it.)

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

// Run at load time, by the dynamic loader or the C runtime's start-up,
// before any code of the program can take a slab lock. rustc keeps `#[used]`
// statics of every linked crate; `tests/on_load.rs` checks it.
#[used]
#[link_section = ".init_array"]
static ON_LOAD: extern "C" fn() = on_load;

extern "C" fn on_load() {
    install();
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
    crate::nolock::after_fork_child();
}
