//! Process-wide switches: the slab layer's debug checks, and a test hook
//! run inside krcu's critical sections.

use std::sync::atomic::{AtomicBool, Ordering};
use urcu_core::__private::ForkOnceLock;

/// Whether the slab layer's debug checks are on: debug builds, or
/// `KRCU_SLAB_DEBUG=1` in the environment, or [`set_debug_checks`]. They
/// poison the freed objects of caches created while they are on (writes
/// after free are then reported when the object is handed out again).
/// Double frees are caught whether they are on or not (freemark.rs).
#[inline]
pub(crate) fn debug_checks() -> bool {
    // Relaxed: a configuration switch read when a cache is created.
    FORCE_DEBUG.load(Ordering::Relaxed)
        || DEBUG_FROM_ENV.get().copied().unwrap_or_else(debug_from_env)
}

static DEBUG_FROM_ENV: ForkOnceLock<bool> = ForkOnceLock::new();

#[cold]
fn debug_from_env() -> bool {
    *DEBUG_FROM_ENV.get_or_init(|| {
        cfg!(debug_assertions) || std::env::var_os("KRCU_SLAB_DEBUG").is_some_and(|v| v == "1")
    })
}

/// Set by `set_debug_checks`; Relaxed: a configuration switch read when a
/// cache is created.
static FORCE_DEBUG: AtomicBool = AtomicBool::new(false);

/// Turns the debug checks on in release builds too, for caches created
/// from now on (the kmalloc classes are created with the first kmalloc):
/// freed objects are poisoned, and a write after free is reported when the
/// object is handed out again. They are always on in debug builds and with
/// `KRCU_SLAB_DEBUG=1`. Double frees are detected either way.
pub fn set_debug_checks(on: bool) {
    // Relaxed: see debug_checks.
    FORCE_DEBUG.store(on, Ordering::Relaxed);
}

/// A test hook run inside krcu's critical sections: at the start of a
/// kfree_rcu batch (in the steal protocol's window) and on the allocation
/// and free slow paths. Zero: none.
static BUSY_HOOK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Sets the hook (see `testing::set_busy_hook`).
pub(crate) fn set_busy_hook(hook: Option<fn()>) {
    // Relaxed: a test switch, set before the code it concerns runs.
    BUSY_HOOK.store(hook.map_or(0, |f| f as usize), Ordering::Relaxed);
}

/// Runs the hook, if any.
#[inline]
pub(crate) fn busy_hook() {
    // Relaxed: a test switch, set before the code it concerns runs.
    let h = BUSY_HOOK.load(Ordering::Relaxed);
    if h != 0 {
        // SAFETY: a nonzero value was stored from an `fn()` by set_busy_hook.
        let f: fn() = unsafe { std::mem::transmute::<usize, fn()>(h) };
        f();
    }
}
