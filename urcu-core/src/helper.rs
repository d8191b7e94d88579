//! Spawning a domain's two helper threads: "gp" runs grace periods for
//! callbacks and polled cookies, "cb" invokes callbacks, so a slow callback
//! never delays the next grace period.

use crate::domain::Domain;
use std::mem::MaybeUninit;

/// Starts `domain`'s helpers with every signal blocked: they take locks and
/// must never run a signal handler that could need those locks, and no
/// handler meant for the application should land on them.
pub(crate) fn spawn(domain: &'static Domain) {
    let mut old = MaybeUninit::<libc::sigset_t>::uninit();
    let mut all = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigfillset initialises `all`; pthread_sigmask writes `old`.
    // The mask is blocked here, before spawning, so the new threads inherit it
    // with no window in which a signal could reach them; restored below.
    unsafe {
        libc::sigfillset(all.as_mut_ptr());
        libc::pthread_sigmask(libc::SIG_BLOCK, all.as_ptr(), old.as_mut_ptr());
    }
    let spawn_one = |suffix: &str, body: fn(&'static Domain) -> !| {
        std::thread::Builder::new()
            .name(format!("krcu-{}-{suffix}", domain.name))
            .spawn(move || {
                crate::registry::IN_HELPER.with(|c| c.set(true));
                body(domain)
            })
            .unwrap_or_else(|e| {
                panic!("krcu: cannot start the {} helper thread: {e}", domain.name)
            });
    };
    spawn_one("gp", Domain::gp_helper);
    spawn_one("cb", Domain::reclaim_helper);
    // SAFETY: `old` was initialised by the pthread_sigmask call above.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), std::ptr::null_mut());
    }
}
