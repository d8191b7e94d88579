//! The `_nolock` paths, deterministically: a signal raised from inside
//! krcu's own critical section (the busy hook) meets a busy thread state,
//! so its kfree_rcu takes the deferred path while its allocation is served
//! from the thread's own nolock sheaf; the helper frees what was deferred,
//! and a barrier covers objects deferred just before it.

use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use urcu_slab::{
    kfree_nolock, kfree_rcu, kfree_rcu_nolock, kmalloc_nolock, kvfree_rcu_barrier, stats, testing,
    CacheArgs, KmemCache, RcuHead, RcuPtr,
};

/// The tests share the process's statistics and the busy hook.
static SERIAL: Mutex<()> = Mutex::new(());

#[repr(C)]
struct Obj {
    rcu: RcuPtr,
    head: RcuHead,
    data: [u64; 2],
}

static DTORS: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn count_dtor(_: *mut c_void) {
    DTORS.fetch_add(1, Relaxed);
}

fn cache(name: &str, sheaf_capacity: u32) -> KmemCache {
    KmemCache::new(
        name,
        std::mem::size_of::<Obj>(),
        CacheArgs {
            sheaf_capacity,
            rcu_dtor: Some(count_dtor),
            ..CacheArgs::default()
        },
    )
    .unwrap()
}

/// What the handler works on, set up by the test before it raises.
static TO_FREE: AtomicPtr<u8> = AtomicPtr::new(ptr::null_mut());
static TO_KFREE_RCU: AtomicPtr<Obj> = AtomicPtr::new(ptr::null_mut());
static ALLOC_SIZE: AtomicUsize = AtomicUsize::new(0);
static ALLOCATED: AtomicPtr<u8> = AtomicPtr::new(ptr::null_mut());
static HANDLED: AtomicU64 = AtomicU64::new(0);
/// The thread whose next pass through the hook raises the signal (the hook
/// is process-wide and runs on every batch start and slow path).
static ARMED: AtomicI32 = AtomicI32::new(0);

fn tid() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

extern "C" fn on_signal(_: libc::c_int) {
    let f = TO_FREE.swap(ptr::null_mut(), Relaxed);
    // SAFETY: the test handed the object over for freeing.
    unsafe { kfree_nolock(f) };
    let r = TO_KFREE_RCU.swap(ptr::null_mut(), Relaxed);
    if !r.is_null() {
        // SAFETY: as above; the link is the object's own field.
        unsafe { kfree_rcu_nolock!(r, Obj, rcu) };
    }
    let size = ALLOC_SIZE.load(Relaxed);
    if size != 0 {
        let p = kmalloc_nolock(size).map_or(ptr::null_mut(), |p| p.as_ptr());
        ALLOCATED.store(p, Relaxed);
    }
    HANDLED.fetch_add(1, Relaxed);
}

fn install_handler() {
    // SAFETY: a handler that uses only krcu's _nolock calls and atomics.
    unsafe { testing::install_handler(libc::SIGUSR1, on_signal) };
}

/// The busy hook: raises SIGUSR1 on this thread, inside krcu's critical
/// section, once per arming.
fn raise_inside_krcu() {
    if ARMED.compare_exchange(tid(), 0, Relaxed, Relaxed).is_ok() {
        // SAFETY: raise is async-signal-safe; the handler is installed.
        unsafe { libc::raise(libc::SIGUSR1) };
    }
}

/// kfree_rcu's an object of `trigger` (a cache without sheaves) into an
/// empty batch, which runs the busy hook inside krcu; returns when the
/// handler has run.
fn trigger_inside_krcu(trigger: &KmemCache) {
    kvfree_rcu_barrier(); // this thread's batch is empty now
    let t = trigger.alloc().unwrap().as_ptr().cast::<Obj>();
    let before = HANDLED.load(Relaxed);
    ARMED.store(tid(), Relaxed);
    // SAFETY: a fresh object, not used again.
    unsafe { kfree_rcu!(t, Obj, rcu) };
    assert_eq!(
        HANDLED.load(Relaxed),
        before + 1,
        "the hook raised the signal inside krcu's critical section"
    );
}

#[test]
fn busy_state_defers_and_the_helper_frees() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    install_handler();
    testing::set_busy_hook(Some(raise_inside_krcu));
    let trigger = cache("nolock-trigger", 0);
    let plain = cache("nolock-plain", 0);
    let before = stats();
    let dtors = DTORS.load(Relaxed);

    let f = plain.alloc().unwrap().as_ptr();
    let r = plain.alloc().unwrap().as_ptr().cast::<Obj>();
    TO_FREE.store(f, Relaxed);
    TO_KFREE_RCU.store(r, Relaxed);
    trigger_inside_krcu(&trigger);

    let mid = stats();
    assert_eq!(
        mid.kfree_nolock_deferred - before.kfree_nolock_deferred,
        1,
        "kfree_nolock met a busy state: deferred"
    );
    assert_eq!(
        mid.kfree_rcu_deferred - before.kfree_rcu_deferred,
        1,
        "kfree_rcu_nolock met a busy state: deferred"
    );
    assert_eq!(mid.kfree_rcu_nolock, before.kfree_rcu_nolock);
    kvfree_rcu_barrier();
    testing::set_busy_hook(None);
    let after = stats();
    assert_eq!(after.deferred_pending, 0, "the barrier drained the list");
    // The trigger object and the deferred kfree_rcu both ran their dtor.
    assert_eq!(DTORS.load(Relaxed) - dtors, 2);
    assert_eq!(plain.stats().live, 0, "the deferred free was done");
    assert_eq!(trigger.stats().live, 0);
    plain.destroy().unwrap();
    trigger.destroy().unwrap();
}

/// Allocates with kmalloc_nolock until the helper has stocked this
/// thread's sheaf of the class (no time limit is asserted, only progress);
/// returns the failures before the first success.
fn warm_nolock(size: usize) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut failed = 0;
    loop {
        if let Ok(p) = kmalloc_nolock(size) {
            // SAFETY: a live allocation, not used again.
            unsafe { kfree_nolock(p.as_ptr()) };
            return failed;
        }
        failed += 1;
        assert!(
            Instant::now() < deadline,
            "the helper never stocked the sheaf"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A handler that interrupted krcu allocates from its own sheaf, which the
/// helper stocks after the first call asks for it (that first call is
/// served from the barn or the slabs when they have objects).
#[test]
fn handler_allocates_while_krcu_is_busy() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    install_handler();
    testing::set_busy_hook(Some(raise_inside_krcu));
    let trigger = cache("nolock-alloc-trigger", 0);
    let before = stats();
    ALLOC_SIZE.store(200, Relaxed);
    trigger_inside_krcu(&trigger);
    // No sheaf of the 256-byte class on this thread yet: the first call
    // is served from the class's barn or slabs when their lock is free
    // (it is: the handler interrupted another cache), and fails only when
    // they have nothing free.
    let first = ALLOCATED.swap(ptr::null_mut(), Relaxed);
    if first.is_null() {
        assert_eq!(stats().nolock_alloc_failed - before.nolock_alloc_failed, 1);
    } else {
        assert_eq!(stats().nolock_alloc - before.nolock_alloc, 1);
        // SAFETY: the handler's allocation, a live kmalloc object.
        unsafe { urcu_slab::kfree(first) };
    }
    let failed = warm_nolock(200);
    eprintln!("kmalloc_nolock failures before the helper stocked the sheaf: {failed}");
    let before = stats();
    trigger_inside_krcu(&trigger);
    let got = ALLOCATED.swap(ptr::null_mut(), Relaxed);
    ALLOC_SIZE.store(0, Relaxed);
    testing::set_busy_hook(None);
    assert!(!got.is_null(), "served while krcu was busy on this thread");
    assert_eq!(stats().nolock_alloc - before.nolock_alloc, 1);
    // SAFETY: the handler's allocation, a live kmalloc object.
    assert_eq!(unsafe { urcu_slab::ksize(got) }, 256);
    // SAFETY: the handler's allocation, freed once.
    unsafe { urcu_slab::kfree(got) };
    kvfree_rcu_barrier();
    trigger.destroy().unwrap();
}

/// With no signal in the way, kfree_rcu_nolock goes into this thread's own
/// kfree_rcu state and kfree_nolock into its sheaf.
#[test]
fn nolock_calls_in_place() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let c = cache("nolock-idle", 32);
    // This test thread may not have made an ordinary krcu call yet.
    urcu_slab::prepare_thread();
    let deadline = Instant::now() + Duration::from_secs(60);
    // The first call asks the helper for this thread's sheaf of the cache.
    loop {
        if let Ok(p) = c.alloc_nolock() {
            // SAFETY: an object of c, not used again.
            unsafe { kfree_nolock(p.as_ptr()) };
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the helper never stocked the sheaf"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let before = stats();
    let dtors = DTORS.load(Relaxed);
    let a = c.alloc_nolock().expect("the thread's sheaf has objects");
    let b = c.alloc_nolock().unwrap().as_ptr().cast::<Obj>();
    // SAFETY: objects of c, not used again.
    unsafe {
        kfree_nolock(a.as_ptr());
        kfree_rcu_nolock!(b, Obj, rcu);
    }
    let mid = stats();
    assert_eq!(mid.nolock_alloc - before.nolock_alloc, 2);
    assert_eq!(mid.kfree_nolock - before.kfree_nolock, 1);
    assert_eq!(mid.kfree_rcu_nolock - before.kfree_rcu_nolock, 1);
    assert_eq!(mid.kfree_nolock_deferred, before.kfree_nolock_deferred);
    assert_eq!(mid.kfree_rcu_deferred, before.kfree_rcu_deferred);
    kvfree_rcu_barrier();
    assert_eq!(DTORS.load(Relaxed) - dtors, 1);
    assert_eq!(c.stats().live, 0);
    c.destroy().unwrap();
}

/// Objects a handler defers on another thread just before a barrier starts
/// are freed when the barrier returns.
#[test]
fn barrier_covers_objects_deferred_just_before_it() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    install_handler();
    testing::set_busy_hook(Some(raise_inside_krcu));
    let trigger = cache("nolock-barrier-trigger", 0);
    let victims = cache("nolock-barrier-victims", 16);
    let dtors = DTORS.load(Relaxed);
    const ROUNDS: usize = 50;
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..ROUNDS {
                let r = victims.alloc().unwrap().as_ptr().cast::<Obj>();
                let f = victims.alloc().unwrap().as_ptr();
                TO_KFREE_RCU.store(r, Relaxed);
                TO_FREE.store(f, Relaxed);
                trigger_inside_krcu(&trigger);
            }
        });
    });
    // The spawned thread ran its last barrier before its last deferral: the
    // deferred objects are covered only by this one.
    kvfree_rcu_barrier();
    testing::set_busy_hook(None);
    // Every trigger object and every deferred kfree_rcu ran its dtor.
    assert_eq!(DTORS.load(Relaxed) - dtors, 2 * ROUNDS);
    assert_eq!(victims.stats().live, 0);
    assert_eq!(stats().deferred_pending, 0);
    victims.destroy().unwrap();
    trigger.destroy().unwrap();
}
