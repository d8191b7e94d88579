//! `fork()` support: the child gets a working library.
//!
//! Before the fork, the forking thread takes every lock of both domains, so
//! that no helper is midway through moving a batch and no grace period is
//! running; the helpers are stopped at points where all their work lives in
//! the domain's shared state. In the child, records of threads that do not
//! exist there are pooled, the helpers are marked not started (the next krcu
//! call restarts them), and a callback queue that a vanished producer left
//! half-linked is cut; callbacks queued before the fork then run in both
//! processes, each on its own copy of memory, as liburcu's
//! `call_rcu_after_fork_child` arranges.
//!
//! A fork from inside a memb read-side critical section, or from a callback,
//! would deadlock (a grace period may be waiting for that very thread);
//! krcu aborts with a message instead. A qsbr thread that is online is taken
//! offline across the fork and put back online on both sides.

use crate::domain::ForkGuards;
use crate::registry::{MEMB_REC, QSBR_REC};
use crate::sys::die;
use std::cell::RefCell;
use std::sync::Once;

struct Held {
    memb: ForkGuards,
    qsbr: ForkGuards,
    qsbr_was_online: bool,
}

thread_local! {
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

static INSTALL: Once = Once::new();

pub(crate) fn install() {
    INSTALL.call_once(|| {
        // SAFETY: the three handlers are `extern "C" fn()` with static
        // lifetime, as pthread_atfork requires.
        let rc = unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
        assert_eq!(rc, 0, "krcu: pthread_atfork failed");
    });
}

extern "C" fn prepare() {
    if crate::registry::in_helper() {
        die(
            "fork() called from inside an RCU callback would deadlock (the callback thread \
             must be stopped for the fork); fork from an ordinary thread instead",
        );
    }
    if crate::memb::in_read_section() {
        die(
            "fork() called inside a memb read-side critical section would deadlock (a grace \
             period may be waiting for this thread); end the section (drop its guard; in C, krcu_read_unlock) before fork",
        );
    }
    let qsbr_was_online = crate::qsbr::is_online();
    if qsbr_was_online {
        crate::qsbr::thread_offline();
    }
    let memb = crate::memb::DOMAIN.lock_for_fork();
    let qsbr = crate::qsbr::DOMAIN.lock_for_fork();
    HELD.with(|h| {
        *h.borrow_mut() = Some(Held {
            memb,
            qsbr,
            qsbr_was_online,
        })
    });
}

fn release(in_child: bool) {
    let held = HELD.with(|h| h.borrow_mut().take());
    let Some(mut held) = held else { return };
    if in_child {
        held.memb.reset_in_child(MEMB_REC.with(|c| c.get()));
        held.qsbr.reset_in_child(QSBR_REC.with(|c| c.get()));
    }
    let online = held.qsbr_was_online;
    drop(held);
    if online {
        crate::qsbr::thread_online();
    }
}

extern "C" fn parent() {
    release(false);
}

extern "C" fn child() {
    release(true);
}
