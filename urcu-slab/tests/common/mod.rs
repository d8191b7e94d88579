//! Helpers shared by the slab layer's integration tests (each test binary
//! uses some of them).
#![allow(dead_code)]

use std::sync::mpsc;
use std::thread::JoinHandle;
use urcu_core::memb;

/// A thread inside a memb read section until [`Reader::leave`]; `inside`
/// runs in the section just before it ends.
pub struct Reader<R> {
    leave: mpsc::Sender<()>,
    thread: JoinHandle<R>,
}

impl<R: Send + 'static> Reader<R> {
    /// Starts the thread and returns once it is inside its section.
    pub fn enter(inside: impl FnOnce() -> R + Send + 'static) -> Self {
        let (entered_tx, entered_rx) = mpsc::channel::<()>();
        let (leave, leave_rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let _g = memb::read_lock();
            entered_tx.send(()).unwrap();
            leave_rx.recv().unwrap();
            inside()
        });
        entered_rx.recv().unwrap();
        Reader { leave, thread }
    }

    /// Ends the section; returns what `inside` returned.
    pub fn leave(self) -> R {
        self.leave.send(()).unwrap();
        self.thread.join().unwrap()
    }
}

/// Objects freed after a grace period, over every path.
pub fn freed(s: &urcu_slab::SlabStats) -> u64 {
    s.kfree_rcu_bulk + s.kfree_rcu_list + s.kfree_rcu_sheaf + s.kfree_rcu_sync_fallback
}

/// Runs `f` on a thread of its own and fails the test if it has not
/// returned within a generous bound: a hang, not a slow machine.
pub fn within<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    within_for(what, std::time::Duration::from_secs(60), f)
}

/// [`within`] with a bound of the caller's.
pub fn within_for<R: Send + 'static>(
    what: &str,
    limit: std::time::Duration,
    f: impl FnOnce() -> R + Send + 'static,
) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            dump_threads();
            panic!("{what} hung (no return within {limit:?})")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what} panicked (see above)"),
    }
}

/// Runs the test `name` of this test binary again in a child process with
/// `env_key` set (the test's child half), and returns the child's exit
/// status and standard error: for misuse that aborts the process.
pub fn rerun_as_child(name: &str, env_key: &str) -> (std::process::ExitStatus, String) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture"])
        .env(env_key, "1")
        .output()
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Prints every thread's stack with gdb, if it is installed: what a hang
/// report needs.
fn dump_threads() {
    dump_threads_of(std::process::id() as i32);
}

fn dump_threads_of(pid: i32) {
    let _ = std::process::Command::new("gdb")
        .args([
            "-p",
            &pid.to_string(),
            "-batch",
            "-nx",
            "-ex",
            "thread apply all bt 40",
        ])
        .stdout(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit())
        .status();
}

/// Forks; the child runs `work` under a 30 s alarm and exits 0 if it
/// returned, 1 if it panicked. Returns the child's wait status on failure.
/// A child still running after 20 s has its stacks printed before its
/// alarm kills it.
pub fn fork_and_check(work: impl FnOnce()) -> Result<(), i32> {
    // SAFETY: fork in a test: the child only uses krcu and exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: alarm has no memory-safety preconditions.
        unsafe { libc::alarm(30) };
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).map_or(1, |()| 0);
        // SAFETY: leave the child without the test harness's exit.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    let dump_at = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        // SAFETY: waiting for our child.
        if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
            break;
        }
        if std::time::Instant::now() > dump_at {
            dump_threads_of(pid);
            // SAFETY: waiting for our child.
            assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else {
        Err(status)
    }
}
