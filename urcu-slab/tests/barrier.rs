//! Barriers and the helper's monitor: every kfree_rcu that returned before
//! a barrier has freed its object when the barrier returns, whichever
//! thread queued it (running, idle, or exited); an idle thread's partial
//! batch is freed without any barrier.

use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use urcu_slab::{
    kfree_rcu, kvfree_rcu, kvfree_rcu_barrier, kvfree_rcu_barrier_on_cache, CacheArgs, KmemCache,
    RcuHead, RcuPtr,
};

/// The tests share the process's statistics (a barrier's test that nothing
/// is pending would see another test's objects in flight): one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

static FREED_A: AtomicUsize = AtomicUsize::new(0);
static FREED_B: AtomicUsize = AtomicUsize::new(0);
static FREED_C: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn count_a(_: *mut c_void) {
    FREED_A.fetch_add(1, Ordering::Relaxed);
}
unsafe extern "C" fn count_b(_: *mut c_void) {
    FREED_B.fetch_add(1, Ordering::Relaxed);
}
unsafe extern "C" fn count_c(_: *mut c_void) {
    FREED_C.fetch_add(1, Ordering::Relaxed);
}

#[repr(C)]
struct Obj {
    head: RcuHead,
    rcu: RcuPtr,
    data: [u64; 4],
}

fn cache(name: &str, sheaf_capacity: u32, dtor: urcu_slab::ObjectFn) -> KmemCache {
    KmemCache::new(
        name,
        std::mem::size_of::<Obj>(),
        CacheArgs {
            sheaf_capacity,
            rcu_dtor: Some(dtor),
            ..Default::default()
        },
    )
    .unwrap()
}

/// Queues `n` objects of `c` from this thread through every path: both
/// link kinds and headless.
fn queue(c: &KmemCache, n: usize) {
    for i in 0..n {
        let p = c.alloc().unwrap().as_ptr().cast::<Obj>();
        // SAFETY: a fresh object, queued once, never used after.
        unsafe {
            match i % 3 {
                0 => kfree_rcu!(p, Obj, rcu),
                1 => kfree_rcu!(p, Obj, head),
                _ => kvfree_rcu(p.cast()),
            }
        }
    }
}

#[test]
fn barrier_covers_running_idle_and_exited_threads() {
    let _serial = serial();
    // One sheaf cache and one without sheaves: objects take the sheaf and
    // the batch paths.
    let a = Arc::new(cache("barrier-a", 16, count_a));
    let b = Arc::new(cache("barrier-b", 0, count_b));
    // Exited threads.
    let exited: Vec<_> = (0..4)
        .map(|_| {
            let (a, b) = (a.clone(), b.clone());
            std::thread::spawn(move || {
                queue(&a, 1000);
                queue(&b, 1000);
            })
        })
        .collect();
    for t in exited {
        t.join().unwrap();
    }
    // Idle threads: queued, then parked (alive) across the barrier.
    let parked = Arc::new(Barrier::new(3));
    let release = Arc::new(Barrier::new(3));
    let idle: Vec<_> = (0..2)
        .map(|_| {
            let (a, b, parked, release) = (a.clone(), b.clone(), parked.clone(), release.clone());
            std::thread::spawn(move || {
                queue(&a, 777);
                queue(&b, 333);
                parked.wait();
                release.wait();
            })
        })
        .collect();
    parked.wait();
    // This thread too, with partial sheaves and batches.
    queue(&a, 5);
    queue(&b, 7);
    kvfree_rcu_barrier();
    assert_eq!(FREED_A.load(Ordering::Relaxed), 4 * 1000 + 2 * 777 + 5);
    assert_eq!(FREED_B.load(Ordering::Relaxed), 4 * 1000 + 2 * 333 + 7);
    release.wait();
    for t in idle {
        t.join().unwrap();
    }
    let st = urcu_slab::stats();
    assert_eq!(st.objects_pending, 0, "{st:?}");
    let a = Arc::into_inner(a).unwrap();
    let b = Arc::into_inner(b).unwrap();
    assert_eq!(a.stats().live, 0);
    a.destroy().unwrap();
    b.destroy().unwrap();
}

#[test]
fn barrier_on_cache_waits_for_that_caches_objects() {
    let _serial = serial();
    let c = cache("barrier-c", 8, count_c);
    let before = FREED_C.load(Ordering::Relaxed);
    std::thread::scope(|s| {
        s.spawn(|| queue(&c, 501)).join().unwrap();
    });
    queue(&c, 3);
    kvfree_rcu_barrier_on_cache(&c);
    assert_eq!(FREED_C.load(Ordering::Relaxed) - before, 504);
    c.destroy().expect("destroy after the per-cache barrier");
}

#[test]
fn an_idle_threads_partial_batch_is_freed_without_a_barrier() {
    let _serial = serial();
    // A few objects of a cache without sheaves from a thread that then
    // sleeps: the monitor detaches its aged batch and the helper frees it.
    static FREED_D: AtomicUsize = AtomicUsize::new(0);
    unsafe extern "C" fn count_d(_: *mut c_void) {
        FREED_D.fetch_add(1, Ordering::Relaxed);
    }
    let d = Arc::new(cache("monitor-d", 0, count_d));
    let t = {
        let d = d.clone();
        std::thread::spawn(move || {
            queue(&d, 10);
            std::thread::sleep(Duration::from_secs(60));
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while FREED_D.load(Ordering::Relaxed) < 10 {
        assert!(
            Instant::now() < deadline,
            "the idle thread's batch was never freed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(FREED_D.load(Ordering::Relaxed), 10);
    drop(t); // left sleeping; the process exits with it
}

#[test]
fn destroy_refuses_with_live_objects_then_succeeds_after_kfree_rcu_and_barrier() {
    let _serial = serial();
    static FREED_E: AtomicUsize = AtomicUsize::new(0);
    unsafe extern "C" fn count_e(_: *mut c_void) {
        FREED_E.fetch_add(1, Ordering::Relaxed);
    }
    let e = cache("destroy-e", 16, count_e);
    let objs: Vec<_> = (0..100)
        .map(|_| e.alloc().unwrap().as_ptr().cast::<Obj>())
        .collect();
    let err = e.destroy().unwrap_err();
    assert_eq!(err.live, 100);
    assert!(err.to_string().contains("destroy-e"), "{err}");
    let e = err.cache;
    for p in objs {
        // SAFETY: live objects of `e`, queued once.
        unsafe { kfree_rcu!(p, Obj, rcu) };
    }
    // destroy runs the per-cache barrier itself.
    e.destroy().expect("every object was kfree_rcu'd");
    assert_eq!(FREED_E.load(Ordering::Relaxed), 100);
}
