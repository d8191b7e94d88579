//! Spawning a domain's two helper threads: "gp" runs grace periods for
//! callbacks and polled cookies, "cb" invokes callbacks, so a slow callback
//! never delays the next grace period.
//!
//! # User code on a helper thread
//!
//! A callback (`call_rcu`'s function, a `defer` closure, the slab layer's
//! `rcu_dtor`) runs on a helper thread and may use either flavor's read
//! side: a qsbr read section there registers the helper online for it, and
//! `quiescent_state()` is allowed. What a helper must never do is *stay* a
//! reader once the callback returns: grace periods would then wait for a
//! thread that never announces anything. So [`after_user_callback`] runs
//! after every one of them and takes the thread offline with qsbr; a section
//! the callback left open (a leaked guard) stops the process with the rule
//! named, since ending it would break the leaked guard's promise and
//! keeping it would stall every grace period. Calls that wait for a helper (`barrier()`,
//! `kvfree_rcu_barrier()`, cache destruction) are refused inside any
//! callback, whatever its kind ([`crate::forbid_in_callback`]).

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
                mark_helper_thread();
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

/// Marks the calling thread as one of krcu's helpers: user code it runs is
/// inside a callback ([`crate::in_callback`]).
pub(crate) fn mark_helper_thread() {
    crate::registry::IN_HELPER.with(|c| c.set(true));
}

/// Runs on a helper thread after each user callback: the thread leaves
/// every read side it entered, so that no grace period waits for it.
#[inline]
pub(crate) fn after_user_callback() {
    use crate::registry::{MEMB_REC, QSBR_NESTING, QSBR_ONLINE};
    // Plain thread-local reads on the common path: the callback used no
    // read side, or left it as it found it.
    let memb_open = {
        let rec = MEMB_REC.with(|c| c.get());
        // SAFETY: a non-null MEMB_REC is this thread's registered record.
        !rec.is_null() && crate::reader::memb_nesting(unsafe { &*rec }) != 0
    };
    if memb_open || QSBR_ONLINE.with(|c| c.get()) || QSBR_NESTING.with(|c| c.get()) != 0 {
        leave_read_sides(memb_open);
    }
}

#[cold]
fn leave_read_sides(memb_open: bool) {
    use crate::registry::QSBR_NESTING;
    // A section still open here belongs to a guard the callback leaked
    // (`mem::forget`, `Box::leak`) or a raw lock it never paired. Ending it
    // would break the promise of a leaked guard that a later callback may
    // still read through; keeping it would stall every grace period. Both
    // are worse than stopping with the rule named.
    if memb_open || QSBR_NESTING.with(|c| c.get()) != 0 {
        crate::sys::die(
            "an RCU callback (call_rcu, defer or rcu_dtor) returned inside a read-side critical \
             section (a guard was leaked or forgotten, or a read lock was not paired); every \
             later grace period would wait for it forever. Drop every guard, or pair every \
             read lock with its unlock, before the callback returns",
        );
    }
    crate::qsbr::thread_offline();
}
