//! Regression tests for bugs found where the core meets other layers, each
//! named after its bug. Every one of them hung or misbehaved before its fix.

use std::sync::atomic::{AtomicU64, Ordering};
use urcu_core::{memb, qsbr, GpCookie, RcuHead};

mod common;
use common::within;

static TOOK_QSBR: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" fn reads_under_qsbr(head: *mut RcuHead) {
    {
        let _g = qsbr::read_lock();
        TOOK_QSBR.fetch_add(1, Ordering::Relaxed);
    }
    qsbr::quiescent_state();
    // SAFETY: boxed by the test below, handed to us once.
    drop(unsafe { Box::from_raw(head) });
}

/// A callback that took a qsbr read lock (or announced a quiescent state)
/// left krcu's callback thread registered and online with qsbr, so every
/// later qsbr grace period waited for it forever.
#[test]
fn qsbr_read_lock_in_callback_wedges_qsbr_grace_periods() {
    within(
        "qsbr grace periods after callbacks that read under qsbr",
        || {
            for _ in 0..3 {
                let head = Box::into_raw(Box::new(RcuHead::new()));
                // SAFETY: a fresh head, freed by the callback.
                unsafe { memb::call_rcu(head, reads_under_qsbr) };
                memb::barrier();
                qsbr::synchronize();
                let head = Box::into_raw(Box::new(RcuHead::new()));
                // SAFETY: as above, on qsbr's own callback thread.
                unsafe { qsbr::call_rcu(head, reads_under_qsbr) };
                qsbr::barrier();
                qsbr::synchronize();
            }
            assert_eq!(TOOK_QSBR.load(Ordering::Relaxed), 6);
            // The same through a deferred closure.
            qsbr::defer(|| {
                let _g = qsbr::read_lock();
            });
            qsbr::barrier();
            qsbr::synchronize();
        },
    );
}

/// A cookie no grace period produced (built from its public field) made
/// `cond_synchronize` run grace periods until the sequence reached it:
/// forever. It now waits for at most one full grace period.
#[test]
fn cond_synchronize_with_bogus_cookie_runs_forever() {
    for bogus in [u64::MAX / 2, u64::MAX / 2 + 1, 1 << 40, 3, u64::MAX] {
        let c = GpCookie { seq: bogus };
        within("memb::cond_synchronize(bogus)", move || {
            memb::cond_synchronize(c)
        });
        within("qsbr::cond_synchronize(bogus)", move || {
            qsbr::cond_synchronize(c)
        });
        // poll_state answers at once, whatever the cookie.
        let _ = memb::poll_state(c);
        let _ = qsbr::poll_state(c);
    }
    // A cookie of the other flavor, far ahead after many grace periods.
    for _ in 0..50 {
        memb::synchronize();
    }
    let ahead = memb::get_state();
    within("qsbr::cond_synchronize(memb cookie)", move || {
        qsbr::cond_synchronize(ahead)
    });
}
