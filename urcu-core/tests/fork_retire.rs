//! fork() meets RcuCell's thread-local retirement (the core's retire.rs):
//! batches a thread retired before the fork, whose grace period the
//! parent's helper had been asked for, still get one in the child.

use std::time::{Duration, Instant};
use urcu_core::{memb, RcuCell};

/// A lazy grace-period request the parent's helper took but had not
/// served (it was gathering) was already recorded when the child asked
/// again, so the child's request started nothing: the child had no helper
/// (helpers do not survive fork), no grace period ran there, and its
/// retired values waited until 16 MiB of them went to the callback thread.
#[test]
fn a_lazy_request_made_before_fork_starts_no_helper_in_the_child() {
    let cell: RcuCell<[u64; 8]> = RcuCell::new([0; 8]);
    // A grace period just ran; with a long gather the helper now holds the
    // request of the batch sealed below without serving it.
    urcu_core::set_gather_time(Duration::from_secs(600));
    memb::barrier();
    for i in 0..64 {
        cell.store([i; 8]);
    }
    // SAFETY: the child only calls krcu and _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let code = std::panic::catch_unwind(|| {
            urcu_core::set_gather_time(Duration::from_millis(1));
            let before = memb::stats().gp_completed;
            // Seals another batch; its cookie is the one asked for in the
            // parent.
            for i in 0..64 {
                cell.store([i; 8]);
            }
            let start = Instant::now();
            while memb::stats().gp_completed == before {
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "no grace period ran in the fork child for its retired values"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
        })
        .map_or(1, |_| 0);
        // SAFETY: leave without running the test harness's teardown.
        unsafe { libc::_exit(code) };
    }
    assert!(pid > 0, "fork failed");
    let mut status = 0;
    // SAFETY: pid is our child; it ends within its own bound.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child failed: {status}"
    );
    urcu_core::set_gather_time(Duration::from_millis(1));
    memb::barrier();
}
