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

/// Steps of a thread whose read guard lives in a thread-local that is
/// destroyed after krcu's exit hook: the hook has run, another thread may
/// act, then the guard drops.
struct LateGuard<F: urcu_core::Flavor> {
    guard: Option<urcu_core::Guard<F>>,
    hook_done: std::sync::mpsc::Sender<()>,
    go: std::sync::mpsc::Receiver<()>,
}

impl<F: urcu_core::Flavor> Drop for LateGuard<F> {
    fn drop(&mut self) {
        // Registered before krcu's exit hook, so destroyed after it.
        self.hook_done.send(()).unwrap();
        self.go.recv().unwrap();
        drop(self.guard.take());
    }
}

thread_local! {
    static LATE_MEMB: std::cell::RefCell<Option<LateGuard<memb::Memb>>> =
        const { std::cell::RefCell::new(None) };
    static LATE_QSBR: std::cell::RefCell<Option<LateGuard<qsbr::Qsbr>>> =
        const { std::cell::RefCell::new(None) };
}

/// Starts a thread that takes a read lock (registering, which arms krcu's
/// exit hook) and keeps the guard in `local`, a thread-local set up before
/// it, then exits; returns once the thread's exit hook has run, with the
/// sender that lets the guard drop.
fn exit_with_a_late_guard<F: urcu_core::Flavor + 'static>(
    local: &'static std::thread::LocalKey<std::cell::RefCell<Option<LateGuard<F>>>>,
    lock: fn() -> urcu_core::Guard<F>,
) -> (std::thread::JoinHandle<()>, std::sync::mpsc::Sender<()>) {
    let (hook_tx, hook_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel();
    let a = std::thread::spawn(move || {
        local.with(|l| {
            *l.borrow_mut() = Some(LateGuard {
                guard: None,
                hook_done: hook_tx,
                go: go_rx,
            })
        });
        let g = lock();
        local.with(|l| l.borrow_mut().as_mut().unwrap().guard = Some(g));
    });
    hook_rx.recv().unwrap();
    (a, go_tx)
}

/// Runs this test binary's test `name` again in a child process (with
/// `KRCU_CHILD=1`): a fresh registry whose record pool holds only what the
/// test puts there.
fn in_child(name: &str) {
    if std::env::var_os("KRCU_CHILD").is_some() {
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture"])
        .env("KRCU_CHILD", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name} failed in its child:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A `Guard<Memb>` held in a thread-local destroyed after krcu's exit hook
/// dropped onto a record the hook had already given back: the next thread
/// to register got that record, and the late drop ended that thread's read
/// section while it was still reading (and a grace period then stopped
/// waiting for it).
#[test]
fn guard_in_thread_local_dropped_after_exit_hook_corrupts_a_reused_record() {
    in_child("guard_in_thread_local_dropped_after_exit_hook_corrupts_a_reused_record");
    if std::env::var_os("KRCU_CHILD").is_none() {
        return;
    }
    let (a, go_tx) = exit_with_a_late_guard(&LATE_MEMB, memb::read_lock);
    // Thread A's hook has run; its guard is still alive. A grace period
    // must wait for it...
    let (sync_tx, sync_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        memb::synchronize();
        sync_tx.send(()).unwrap();
    });
    assert!(
        sync_rx.recv_timeout(Duration::from_millis(200)).is_err(),
        "a grace period ended while an exited thread's guard was alive"
    );
    // ...and a thread registering now must not get A's record.
    let (in_tx, in_rx) = std::sync::mpsc::channel();
    let (check_tx, check_rx) = std::sync::mpsc::channel::<()>();
    let b = std::thread::spawn(move || {
        let g = memb::read_lock();
        in_tx.send(()).unwrap();
        check_rx.recv().unwrap();
        let still_inside = memb::in_read_section();
        drop(g);
        still_inside
    });
    in_rx.recv().unwrap();
    go_tx.send(()).unwrap(); // A's guard drops now
    a.join().unwrap();
    check_tx.send(()).unwrap();
    assert!(
        b.join().unwrap(),
        "another thread's late guard drop ended this thread's read section"
    );
    sync_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the grace period never ended after the late guard dropped");
}

/// The qsbr side: an exited thread's guard alive in a late thread-local is
/// waited for until the thread has ended; before the fix the exit hook took
/// the thread offline under it, and grace periods stopped protecting its
/// reads.
#[test]
fn qsbr_guard_in_thread_local_dropped_after_exit_hook_is_not_protected() {
    in_child("qsbr_guard_in_thread_local_dropped_after_exit_hook_is_not_protected");
    if std::env::var_os("KRCU_CHILD").is_none() {
        return;
    }
    let (a, go_tx) = exit_with_a_late_guard(&LATE_QSBR, qsbr::read_lock);
    let (sync_tx, sync_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        qsbr::synchronize();
        sync_tx.send(()).unwrap();
    });
    assert!(
        sync_rx.recv_timeout(Duration::from_millis(200)).is_err(),
        "a qsbr grace period ended while an exited thread's guard was alive"
    );
    go_tx.send(()).unwrap();
    a.join().unwrap();
    sync_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the qsbr grace period never ended after the thread ended");
}
