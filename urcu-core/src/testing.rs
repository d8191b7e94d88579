//! Test hooks: switches a test sets before the code they concern runs.

use std::sync::atomic::{AtomicUsize, Ordering};

/// A test's hook inside the domains' one-time initialisation; zero:
/// none. Relaxed: a test switch, set before the code it concerns runs.
static INIT_HOOK: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn set_init_hook(hook: Option<fn()>) {
    // Relaxed: a test switch, set before the code it concerns runs.
    INIT_HOOK.store(hook.map_or(0, |f| f as usize), Ordering::Relaxed);
}

pub(crate) fn init_hook() {
    // Relaxed: see set_init_hook.
    let h = INIT_HOOK.load(Ordering::Relaxed);
    if h != 0 {
        // SAFETY: a nonzero value was stored from an `fn()`.
        let f: fn() = unsafe { std::mem::transmute::<usize, fn()>(h) };
        f();
    }
}
