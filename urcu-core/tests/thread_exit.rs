//! Threads that exit without unregistering, even inside a read section or
//! while qsbr-online, never leave a record that stalls grace periods.

use std::time::{Duration, Instant};
use urcu_core::{memb, qsbr};

fn synchronize_within(limit: Duration, f: fn()) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let t = Instant::now();
        f();
        tx.send(t.elapsed()).unwrap();
    });
    let took = rx
        .recv_timeout(limit)
        .expect("synchronize hung: an exited thread's record is still waited on");
    eprintln!("synchronize after the exits took {took:?}");
}

#[test]
fn a_thousand_exiting_memb_threads_leave_no_record() {
    let before = memb::stats().registered_threads;
    let handles: Vec<_> = (0..1000)
        .map(|i| {
            std::thread::spawn(move || {
                let g = memb::read_lock();
                if i % 10 == 0 {
                    // Exit inside the read section: the exit hook ends it.
                    std::mem::forget(g);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    synchronize_within(Duration::from_secs(20), memb::synchronize);
    assert!(memb::stats().registered_threads <= before + 1);
}

#[test]
fn exiting_qsbr_threads_that_stay_online_leave_no_record() {
    let handles: Vec<_> = (0..200)
        .map(|_| {
            std::thread::spawn(|| {
                let _g = qsbr::read_lock(); // registers, online
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    synchronize_within(Duration::from_secs(20), qsbr::synchronize);
}
