//! `fork()` support for the slab layer: the child gets a working allocator
//! and a new reclaim helper.
//!
//! Before the fork, the forking thread takes the slab layer's locks in
//! their nesting order (helper start and steal rounds, the orphan state,
//! the cache registry, every cache's node and barn, the block pool, the
//! state lists), so no other thread is midway through a slab list, a barn
//! or a steal round. In the child, other threads' per-thread states are
//! abandoned (they may have been mid-update), the helper is marked not
//! started, and the next call that hands work off starts a new one; items
//! still on the pending stack are freed by it, items the old helper held
//! leak in the child's copy of memory.

use std::sync::Once;

static INSTALL: Once = Once::new();

/// Registers the handlers (once per process).
pub(crate) fn install() {
    INSTALL.call_once(|| {
        // SAFETY: the handlers are `extern "C" fn()` with static lifetime,
        // as pthread_atfork requires.
        let rc = unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
        assert_eq!(rc, 0, "krcu: pthread_atfork failed");
    });
}

extern "C" fn prepare() {
    // The order in which the rest of the slab layer nests them.
    crate::reclaim::lock_for_fork();
    crate::thread::lock_orphan_for_fork();
    crate::cache::lock_for_fork();
    crate::kfree_rcu::lock_for_fork();
    crate::thread::lock_lists_for_fork();
}

/// # Safety
///
/// Only as the second half of `prepare`, on the forking thread.
unsafe fn unlock_all() {
    // SAFETY: prepare took each of these on this thread; released in the
    // reverse order.
    unsafe {
        crate::thread::unlock_after_fork();
        crate::kfree_rcu::unlock_after_fork();
        crate::cache::unlock_after_fork();
        crate::reclaim::unlock_after_fork();
    }
}

extern "C" fn parent() {
    // SAFETY: after prepare, on the forking thread.
    unsafe { unlock_all() };
}

extern "C" fn child() {
    // SAFETY: after prepare, on the forking thread (the only thread here).
    unsafe { unlock_all() };
    crate::thread::after_fork_child();
    crate::reclaim::after_fork_child();
}
