//! qsbr's zero-cost safe read side, `qsbr::Reader`, from the outside: its
//! guards protect what they load, and every way the thread could become
//! quiescent without the borrow checker seeing it (the free functions, a
//! second reader, fork, thread exit, a callback) is refused or waited for.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use urcu_core::{qsbr, Qsbr, RcuCell};

mod common;
use common::panic_message;

struct Tracked {
    alive: Arc<AtomicBool>,
    value: u64,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.alive.store(false, Ordering::SeqCst);
    }
}

/// A value loaded under a reader's guard stays alive until the reader
/// announces a quiescent state, however long the guard lives.
#[test]
fn a_reader_guard_protects_until_the_reader_announces() {
    let alive = Arc::new(AtomicBool::new(true));
    let cell: Arc<RcuCell<Tracked, Qsbr>> = Arc::new(RcuCell::new(Tracked {
        alive: alive.clone(),
        value: 7,
    }));
    let (loaded_tx, loaded_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let c2 = cell.clone();
    let a2 = alive.clone();
    let reader = std::thread::spawn(move || {
        let mut reader = qsbr::Reader::register();
        {
            let guard = reader.read_lock();
            let v = c2.load(&guard).unwrap();
            loaded_tx.send(()).unwrap();
            // The writer replaces the value and waits for a grace period.
            std::thread::sleep(Duration::from_millis(200));
            assert_eq!(v.value, 7);
            assert!(
                a2.load(Ordering::SeqCst),
                "a value loaded under a Reader's guard was dropped under it"
            );
        }
        go_rx.recv().unwrap();
        reader.quiescent_state();
    });
    loaded_rx.recv().unwrap();
    cell.store(Tracked {
        alive: Arc::new(AtomicBool::new(true)),
        value: 8,
    });
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        qsbr::synchronize();
        qsbr::barrier();
        done_tx.send(()).unwrap();
    });
    assert!(
        done_rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "a grace period ended before the Reader announced a quiescent state"
    );
    go_tx.send(()).unwrap();
    reader.join().unwrap();
    done_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the grace period never ended after the Reader announced");
    assert!(!alive.load(Ordering::SeqCst), "the old value was dropped");
}

/// The free functions that announce quiescence are refused on a thread
/// with a Reader, naming the Reader's method; through the Reader they run.
#[test]
fn free_quiescent_functions_are_refused_on_a_reader_thread() {
    std::thread::spawn(|| {
        let mut reader = qsbr::Reader::register();
        for (what, f) in [
            ("qsbr::quiescent_state()", qsbr::quiescent_state as fn()),
            ("qsbr::thread_offline()", qsbr::thread_offline),
            ("qsbr::synchronize()", qsbr::synchronize),
            ("qsbr::barrier()", qsbr::barrier),
        ] {
            let msg = panic_message(f);
            assert!(
                msg.contains(what) && msg.contains("qsbr::Reader") && msg.contains("reader."),
                "the refusal names the rule and the Reader: {msg}"
            );
        }
        reader.quiescent_state();
        reader.synchronize();
        reader.synchronize_expedited();
        reader.barrier();
        let r = reader.offline(|| {
            qsbr::synchronize(); // offline: nothing to refuse
            5
        });
        assert_eq!(r, 5);
        // Back online: the reader reads again.
        let _g = reader.read_lock();
    })
    .join()
    .unwrap();
}

#[test]
fn a_second_reader_on_one_thread_is_refused() {
    std::thread::spawn(|| {
        let _first = qsbr::Reader::register();
        let msg = panic_message(|| drop(qsbr::Reader::register()));
        assert!(msg.contains("already has a qsbr::Reader"), "{msg}");
    })
    .join()
    .unwrap();
    // Once dropped, a thread may have a new one.
    std::thread::spawn(|| {
        drop(qsbr::Reader::register());
        drop(qsbr::Reader::register());
    })
    .join()
    .unwrap();
}

#[test]
fn a_reader_in_a_callback_is_refused() {
    let (tx, rx) = mpsc::channel();
    qsbr::defer(move || {
        tx.send(panic_message(|| drop(qsbr::Reader::register())))
            .unwrap();
    });
    qsbr::barrier();
    let msg = rx.recv().unwrap();
    assert!(msg.contains("inside an RCU callback"), "{msg}");
}

/// Steps of a thread whose Reader guard lives in a thread-local destroyed
/// after krcu's exit hook (the Reader leaked, so the guard is 'static).
struct LateReaderGuard {
    guard: Option<qsbr::ReaderGuard<'static>>,
    hook_done: mpsc::Sender<()>,
    go: mpsc::Receiver<()>,
}

impl Drop for LateReaderGuard {
    fn drop(&mut self) {
        self.hook_done.send(()).unwrap();
        self.go.recv().unwrap();
        // The guard's section ends here (it has no code of its own).
        self.guard = None;
    }
}

thread_local! {
    static LATE: std::cell::RefCell<Option<LateReaderGuard>> =
        const { std::cell::RefCell::new(None) };
}

/// A thread that exits with its Reader alive (leaked, its guard in a late
/// thread-local) is waited for until it has ended.
#[test]
fn a_thread_exiting_with_a_live_reader_is_waited_for_until_it_ends() {
    let (hook_tx, hook_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel();
    let a = std::thread::spawn(move || {
        LATE.with(|l| {
            *l.borrow_mut() = Some(LateReaderGuard {
                guard: None,
                hook_done: hook_tx,
                go: go_rx,
            })
        });
        let reader: &'static qsbr::Reader = Box::leak(Box::new(qsbr::Reader::register()));
        let g = reader.read_lock();
        LATE.with(|l| l.borrow_mut().as_mut().unwrap().guard = Some(g));
    });
    hook_rx.recv().unwrap();
    let (sync_tx, sync_rx) = mpsc::channel();
    std::thread::spawn(move || {
        qsbr::synchronize();
        sync_tx.send(()).unwrap();
    });
    assert!(
        sync_rx.recv_timeout(Duration::from_millis(200)).is_err(),
        "a grace period ended while an exiting thread's Reader guard was alive"
    );
    go_tx.send(()).unwrap();
    a.join().unwrap();
    sync_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the grace period never ended after the thread ended");
}

/// fork() from a thread whose Reader is online aborts with the rule (the
/// fork handler would take the thread offline under guards it cannot
/// see); inside `reader.offline` it forks.
///
/// Run in a process of its own (this binary again, with `KRCU_CHILD=1`):
/// forking while the other tests' threads hold grace periods would only
/// test their timing.
#[test]
fn fork_with_an_online_reader_aborts_and_inside_offline_forks() {
    if std::env::var_os("KRCU_CHILD").is_none() {
        let name = "fork_with_an_online_reader_aborts_and_inside_offline_forks";
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--nocapture", "--test-threads=1"])
            .env("KRCU_CHILD", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{name} failed in its child:\n{stderr}"
        );
        assert!(
            stderr.contains("fork() called on a thread whose qsbr::Reader is online")
                && stderr.contains("reader.offline(|| ...)"),
            "the refused fork named the rule: {stderr}"
        );
        return;
    }
    static CHILDREN_OK: AtomicU64 = AtomicU64::new(0);
    // SAFETY: the test's child processes only run async-signal-safe code
    // and krcu's fork-safe paths, then _exit.
    let probe = unsafe { libc::fork() };
    assert!(probe >= 0);
    if probe == 0 {
        // A sacrificial process: the fork below aborts it.
        let _reader = qsbr::Reader::register();
        // SAFETY: as above.
        let _ = unsafe { libc::fork() };
        // SAFETY: not reached when the rule holds.
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    // SAFETY: our child.
    assert_eq!(unsafe { libc::waitpid(probe, &mut status, 0) }, probe);
    assert!(
        !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0),
        "fork() with an online Reader was not refused"
    );
    std::thread::spawn(|| {
        let mut reader = qsbr::Reader::register();
        let pid = reader.offline(|| {
            // SAFETY: as above.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                qsbr::synchronize();
                // SAFETY: the child ends here.
                unsafe { libc::_exit(0) };
            }
            pid
        });
        assert!(pid > 0);
        let mut status = 0;
        // SAFETY: our child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
        CHILDREN_OK.fetch_add(1, Ordering::Relaxed);
        reader.quiescent_state();
    })
    .join()
    .unwrap();
    assert_eq!(CHILDREN_OK.load(Ordering::Relaxed), 1);
}
