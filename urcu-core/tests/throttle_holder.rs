//! Regression test, in a process of its own so that no other test's flood
//! naps: `call_rcu`'s backlog throttle napped while its caller was a reader
//! the grace period waited for.

use std::sync::atomic::{AtomicU64, Ordering};
use urcu_core::{memb, qsbr};

mod common;
use common::within;

/// Past the throttle's high-water mark (32K callbacks waiting): 4 times
/// over.
const CALLS: u64 = 128 * 1024;

static RAN: AtomicU64 = AtomicU64::new(0);

fn count() {
    RAN.fetch_add(1, Ordering::Relaxed);
}

/// The throttle napped (64 naps of 10 µs per 256 calls past 32K waiting
/// callbacks) when its caller was an online qsbr thread or inside a memb
/// read section, whose grace period cannot end before the caller lets it:
/// the backlog could not shrink, and the naps only slowed the caller.
/// liburcu's own hash-table test, whose online qsbr main thread frees 1.3M
/// nodes with call_rcu, took 35 s on krcu instead of liburcu's 1.7 s.
#[test]
fn call_rcu_throttle_naps_while_its_caller_holds_up_the_grace_period() {
    within(
        "a call_rcu flood from a reader the grace period waits for",
        || {
            let _reg = qsbr::register_thread();
            let before = qsbr::stats().throttle_naps;
            for _ in 0..CALLS {
                qsbr::defer(count);
            }
            assert_eq!(
                qsbr::stats().throttle_naps,
                before,
                "an online qsbr thread napped for a grace period that waits for it"
            );
            qsbr::barrier(); // offline for the wait
            assert_eq!(RAN.load(Ordering::Relaxed), CALLS);

            let before = memb::stats().throttle_naps;
            {
                let _guard = memb::read_lock();
                for _ in 0..CALLS {
                    memb::defer(count);
                }
            }
            assert_eq!(
                memb::stats().throttle_naps,
                before,
                "a memb reader napped for a grace period that waits for it"
            );
            memb::barrier();
            assert_eq!(RAN.load(Ordering::Relaxed), 2 * CALLS);
        },
    );
}
