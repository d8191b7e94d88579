//! fork() while a registered thread reads and callbacks are pending: the
//! child can use krcu.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::Arc;
use std::time::{Duration, Instant};
use urcu_core::{memb, RcuHead};

static INVOKED: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" fn free_head(head: *mut RcuHead) {
    // SAFETY: heads are boxed by the test and queued once.
    drop(unsafe { Box::from_raw(head) });
    INVOKED.fetch_add(1, Relaxed);
}

fn queue(n: u64) {
    for _ in 0..n {
        // SAFETY: leaked until free_head.
        unsafe { memb::call_rcu(Box::into_raw(Box::new(RcuHead::new())), free_head) };
    }
}

#[test]
fn child_of_fork_registers_synchronizes_and_runs_callbacks() {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let reader = std::thread::spawn(move || {
        let _reg = memb::register_thread();
        while !s.load(Relaxed) {
            let _g = memb::read_lock();
            std::hint::spin_loop();
        }
    });
    queue(100_000); // many of these are still pending at the fork
                    // SAFETY: the child only calls krcu, atomics and _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let code = std::panic::catch_unwind(|| {
            let _reg = memb::register_thread();
            memb::synchronize();
            queue(10);
            memb::barrier();
            // Everything queued before the fork ran here too, plus our 10.
            let s = memb::stats();
            assert_eq!(s.callback_backlog, 0, "{s:?}");
            assert!(INVOKED.load(Relaxed) >= 10);
            assert_eq!(s.callbacks_invoked, s.callbacks_queued);
            assert_eq!(
                s.registered_threads, 1,
                "the parent's reader does not exist here"
            );
        })
        .map_or(1, |_| 0);
        // SAFETY: leave without running the test harness's teardown.
        unsafe { libc::_exit(code) };
    }
    assert!(pid > 0, "fork failed");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut status = 0;
    loop {
        // SAFETY: pid is our child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        if Instant::now() > deadline {
            // SAFETY: pid is our child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the fork child hung");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: {status}"
    );
    // The parent is fine too.
    memb::barrier();
    assert_eq!(INVOKED.load(Relaxed), 100_000);
    stop.store(true, Relaxed);
    reader.join().unwrap();
    memb::synchronize();
}
