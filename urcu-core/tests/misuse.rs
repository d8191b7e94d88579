//! Misuse that would deadlock, or break protection, panics with a message
//! naming the rule; it never hangs.

use urcu_core::{memb, qsbr};

mod common;
use common::panic_message;

#[test]
fn synchronize_inside_memb_read_section_panics() {
    std::thread::spawn(|| {
        let g = memb::read_lock();
        let msg = panic_message(memb::synchronize);
        assert!(
            msg.contains("synchronize()") && msg.contains("read-side critical section"),
            "{msg}"
        );
        drop(g);
        memb::synchronize();
    })
    .join()
    .unwrap();
}

#[test]
fn barrier_inside_memb_read_section_panics() {
    std::thread::spawn(|| {
        let g = memb::read_lock();
        let msg = panic_message(memb::barrier);
        assert!(
            msg.contains("barrier()") && msg.contains("deadlock"),
            "{msg}"
        );
        drop(g);
    })
    .join()
    .unwrap();
}

#[test]
fn barrier_inside_a_callback_panics_and_the_callback_thread_survives() {
    let (tx, rx) = std::sync::mpsc::channel();
    memb::defer(move || {
        let msg = panic_message(memb::barrier);
        tx.send(msg).unwrap();
    });
    memb::barrier();
    let msg = rx.recv().unwrap();
    assert!(msg.contains("inside an RCU callback"), "{msg}");
    // The callback thread still works.
    memb::defer(|| {});
    memb::barrier();
}

#[test]
fn qsbr_synchronize_and_quiescent_state_inside_read_section_panic() {
    std::thread::spawn(|| {
        let _r = qsbr::register_thread();
        let g = qsbr::read_lock();
        let msg = panic_message(qsbr::synchronize);
        assert!(msg.contains("synchronize()"), "{msg}");
        let msg = panic_message(qsbr::quiescent_state);
        assert!(msg.contains("quiescent_state()"), "{msg}");
        let msg = panic_message(qsbr::barrier);
        assert!(msg.contains("barrier()"), "{msg}");
        drop(g);
        qsbr::quiescent_state();
    })
    .join()
    .unwrap();
}

#[test]
fn qsbr_read_section_on_an_offline_thread_panics() {
    std::thread::spawn(|| {
        let _r = qsbr::register_thread();
        qsbr::thread_offline();
        let msg = panic_message(|| drop(qsbr::read_lock()));
        assert!(msg.contains("offline thread"), "{msg}");
        qsbr::thread_online();
        drop(qsbr::read_lock());
    })
    .join()
    .unwrap();
}

#[test]
fn unbalanced_memb_unlock_panics() {
    std::thread::spawn(|| {
        memb::raw_read_lock();
        // SAFETY: pairs with the lock above; the second unlock is the
        // misuse under test, with no guard alive.
        unsafe { memb::raw_read_unlock() };
        // SAFETY: the unbalanced unlock is the misuse under test.
        let msg = panic_message(|| unsafe { memb::raw_read_unlock() });
        assert!(
            msg.contains("without a matching memb::raw_read_lock()"),
            "{msg}"
        );
    })
    .join()
    .unwrap();
}

/// A misuse message points at the caller's line, not at krcu's source
/// (`#[track_caller]` through the public entry points).
#[test]
fn misuse_reports_point_at_the_callers_line() {
    if let Some(case) = std::env::var_os("KRCU_CHILD_MISUSE_LINE") {
        match case.to_str() {
            Some("memb-synchronize") => {
                let _g = memb::read_lock();
                memb::synchronize();
            }
            Some("qsbr-quiescent") => {
                let _r = qsbr::register_thread();
                let _g = qsbr::read_lock();
                qsbr::quiescent_state();
            }
            Some("memb-barrier") => {
                let _g = memb::read_lock();
                memb::barrier();
            }
            _ => unreachable!(),
        }
        return;
    }
    for case in ["memb-synchronize", "qsbr-quiescent", "memb-barrier"] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "misuse_reports_point_at_the_callers_line",
                "--nocapture",
            ])
            .env("KRCU_CHILD_MISUSE_LINE", case)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{case}: the misuse was not refused");
        assert!(
            stderr.contains("panicked at urcu-core/tests/misuse.rs:"),
            "{case}: the report does not point at the caller:\n{stderr}"
        );
    }
}
