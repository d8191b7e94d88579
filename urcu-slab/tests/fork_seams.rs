//! fork() where the layers meet: under slab load from callbacks and
//! readers, and racing the process's first krcu call. Each test names the
//! bug it pins; each child does real work under a watchdog and exits 0.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use urcu_core::{memb, qsbr, RcuHead};
use urcu_slab::{kfree, kmalloc, kvfree_rcu_barrier, CacheArgs, KmemCache};

/// Forks, runs `work` in the child (see `common::fork_and_check`), and
/// returns whether the child exited 0.
fn fork_and_check(work: fn()) -> bool {
    common::fork_and_check(work).is_ok()
}

/// What a fork child does: both flavors' grace periods and callbacks, and
/// the slab layer's allocation, deferred freeing and barrier.
fn child_work() {
    let p = kmalloc(100).unwrap();
    // SAFETY: ours, freed once.
    unsafe { kfree(p.as_ptr()) };
    let p = kmalloc(64).unwrap();
    // SAFETY: ours, freed once after a grace period.
    unsafe { urcu_slab::kvfree_rcu(p.as_ptr()) };
    memb::synchronize();
    qsbr::synchronize();
    memb::defer(|| {});
    memb::barrier();
    kvfree_rcu_barrier();
}

/// A cache without sheaves: every allocation and free takes its node
/// lock, so the load below takes slab locks all the time.
fn locked_cache() -> &'static KmemCache {
    static CACHE: OnceLock<KmemCache> = OnceLock::new();
    CACHE.get_or_init(|| KmemCache::new("fork-seams", 40, CacheArgs::default()).unwrap())
}

/// Allocates and frees through slab locks.
fn churn() {
    let c = locked_cache();
    let p = c.alloc().unwrap();
    // SAFETY: ours, freed once.
    unsafe { c.free(p) };
    let p = kmalloc(3000).unwrap();
    // SAFETY: ours, freed once.
    unsafe { kfree(p.as_ptr()) };
}

unsafe extern "C" fn allocating_callback(head: *mut RcuHead) {
    // A callback runs with the core's `invoking` lock held: it allocates
    // and frees slab memory, taking slab locks under it.
    churn();
    // SAFETY: boxed by the producer, handed to us once.
    drop(unsafe { Box::from_raw(head) });
}

/// The slab's and the core's fork handlers took their locks in the order
/// opposite to the one a callback (holding the core's `invoking` lock)
/// and a memb reader (inside its section, which a grace period holding
/// `gp_lock` waits for) take them when they call kmalloc: fork deadlocked
/// under slab load.
#[test]
fn fork_under_slab_load_deadlocks() {
    locked_cache();
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    // Callbacks that allocate, queued without pause.
    {
        let stop = stop.clone();
        load.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..64 {
                    let head = Box::into_raw(Box::new(RcuHead::new()));
                    // SAFETY: a fresh head, freed by the callback.
                    unsafe { memb::call_rcu(head, allocating_callback) };
                }
                memb::barrier();
            }
        }));
    }
    // Readers that allocate inside their sections, against grace periods.
    for _ in 0..2 {
        let stop = stop.clone();
        load.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _g = memb::read_lock();
                churn();
            }
        }));
    }
    {
        let stop = stop.clone();
        load.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                memb::synchronize();
            }
        }));
    }
    common::within("fork under slab load", || {
        for round in 0..40 {
            assert!(fork_and_check(child_work), "fork child {round} failed");
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.join().unwrap();
    }
}

static INSIDE: AtomicBool = AtomicBool::new(false);
static FORK_DONE: AtomicBool = AtomicBool::new(false);

/// Runs inside the core's one-time initialisation, on the thread making
/// the process's first krcu call: holds it there until the main thread
/// has forked.
fn hold_first_init_for_a_fork() {
    if INSIDE.swap(true, Ordering::AcqRel) {
        return;
    }
    while !FORK_DONE.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A fork while another thread made the process's first krcu call left
/// the child stuck forever: a `Once` copied mid-initialisation, and the
/// fork handlers installed only at its end. The child now runs the
/// initialisation itself.
#[test]
fn fork_during_first_krcu_call_leaves_child_stuck() {
    if std::env::var_os("KRCU_CHILD_FIRST_CALL").is_some() {
        // A fresh process: nothing of krcu has run yet.
        urcu_core::__private::testing::set_init_hook(Some(hold_first_init_for_a_fork));
        let first = std::thread::spawn(|| {
            let p = kmalloc(32).unwrap();
            // SAFETY: ours, freed once.
            unsafe { kfree(p.as_ptr()) };
        });
        while !INSIDE.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(1));
        }
        let ok = fork_and_check(child_work);
        FORK_DONE.store(true, Ordering::Release);
        first.join().unwrap();
        assert!(
            ok,
            "the fork child, caught in krcu's first initialisation, failed"
        );
        child_work();
        return;
    }
    let (status, stderr) = common::rerun_as_child(
        "fork_during_first_krcu_call_leaves_child_stuck",
        "KRCU_CHILD_FIRST_CALL",
    );
    assert!(status.success(), "{status}: {stderr}");
}
