//! fork(): the child gets a working slab layer (allocations, kfree_rcu, a
//! new helper, barriers), with objects queued before the fork pending.

use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use urcu_slab::{kfree_rcu, kvfree_rcu_barrier, CacheArgs, KmemCache, RcuPtr};

static FREED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn count(_: *mut c_void) {
    FREED.fetch_add(1, Ordering::Relaxed);
}

#[repr(C)]
struct Obj {
    rcu: RcuPtr,
    v: u64,
}

fn queue(c: &KmemCache, n: usize) {
    for i in 0..n {
        let p = c.alloc().unwrap().as_ptr().cast::<Obj>();
        // SAFETY: a fresh object, queued once.
        unsafe {
            p.write(Obj {
                rcu: RcuPtr::new(),
                v: i as u64,
            });
            kfree_rcu!(p, Obj, rcu);
        }
    }
}

#[test]
fn the_child_of_a_fork_frees_and_barriers() {
    let c = KmemCache::new(
        "fork",
        std::mem::size_of::<Obj>(),
        CacheArgs {
            sheaf_capacity: 8,
            rcu_dtor: Some(count),
            ..Default::default()
        },
    )
    .unwrap();
    // Another thread keeps allocating and queueing across the fork.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let busy = {
        let stop = stop.clone();
        let c2 = KmemCache::new(
            "fork-busy",
            64,
            CacheArgs {
                sheaf_capacity: 16,
                ..Default::default()
            },
        )
        .unwrap();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                queue(&c2, 100);
            }
            kvfree_rcu_barrier();
            c2.destroy().unwrap();
        })
    };
    queue(&c, 1000);
    // SAFETY: fork in a test: the child only uses krcu and exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // A child that hangs (a barrier waiting for a helper that does not
        // exist here) dies of SIGALRM, and the parent reports it.
        // SAFETY: alarm has no memory-safety preconditions.
        unsafe { libc::alarm(30) };
        let code = std::panic::catch_unwind(|| {
            let before = FREED.load(Ordering::Relaxed);
            queue(&c, 500);
            kvfree_rcu_barrier();
            // The 500 queued here are freed; of the 1000 queued before the
            // fork, those not yet handed to the parent's helper are too.
            assert!(FREED.load(Ordering::Relaxed) - before >= 500);
            let p = c.alloc().unwrap();
            // SAFETY: a live object of `c`.
            unsafe { c.free(p) };
        })
        .map_or(1, |()| 0);
        // SAFETY: leave the child without running the test harness's exit.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waiting for our child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: {status}"
    );
    stop.store(true, Ordering::Relaxed);
    busy.join().unwrap();
    kvfree_rcu_barrier();
    assert_eq!(FREED.load(Ordering::Relaxed), 1000);
    c.destroy().unwrap();
}

/// The seam of fork, the `_nolock` calls and the helper's wanted work: in
/// a fork child no helper runs until an ordinary call starts one, and a
/// `_nolock` free deferred there meanwhile (a large object always is) must
/// be drained by the child's new helper without a barrier asking for it.
#[test]
fn a_nolock_free_deferred_in_a_fork_child_is_drained_by_its_new_helper() {
    let c = KmemCache::new(
        "fork-nolock",
        std::mem::size_of::<Obj>(),
        CacheArgs::default(),
    )
    .unwrap();
    // The parent's helper runs and has done a `_nolock` pass.
    let warm = urcu_slab::kmalloc(64 * 1024).unwrap().as_ptr();
    // SAFETY: a live allocation, freed once.
    unsafe { urcu_slab::kfree_nolock(warm) };
    kvfree_rcu_barrier();
    // SAFETY: fork in a test: the child only uses krcu and exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: alarm has no memory-safety preconditions.
        unsafe { libc::alarm(30) };
        let code = std::panic::catch_unwind(|| {
            let p = urcu_slab::kmalloc(64 * 1024).unwrap().as_ptr();
            // SAFETY: a live allocation, freed once; deferred (large).
            unsafe { urcu_slab::kfree_nolock(p) };
            assert_eq!(urcu_slab::stats().deferred_pending, 1);
            // An ordinary kfree_rcu starts the child's helper; nothing asks
            // it for the `_nolock` pass but the work the free asked for.
            queue(&c, 1);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while urcu_slab::stats().deferred_pending != 0 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the child's helper left the deferred free undone"
                );
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            kvfree_rcu_barrier();
        })
        .map_or(1, |()| 0);
        // SAFETY: leave the child without running the test harness's exit.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waiting for our child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: {status}"
    );
    c.destroy().unwrap();
}
