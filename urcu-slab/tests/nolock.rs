//! The `_nolock` paths, deterministically: a signal raised from inside
//! krcu's own critical section (the busy hook) meets a busy thread state,
//! so its calls take the deferred path and the reserve; the helper frees
//! what was deferred, and a barrier covers objects deferred just before it.

use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use urcu_slab::{
    kfree_nolock, kfree_rcu, kfree_rcu_nolock, kmalloc, kmalloc_nolock, kvfree_rcu_barrier, stats,
    testing, CacheArgs, KmemCache, RcuHead, RcuPtr,
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
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as *const () as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, ptr::null_mut()), 0);
    }
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

#[test]
fn busy_state_allocates_from_the_reserve() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    install_handler();
    testing::set_busy_hook(Some(raise_inside_krcu));
    let trigger = cache("nolock-reserve-trigger", 0);
    // Readies this thread's sheaves of the 200-byte class (256).
    let warm = kmalloc(200).unwrap().as_ptr();
    // SAFETY: a live allocation, not used again.
    unsafe { urcu_slab::kfree(warm) };
    ALLOC_SIZE.store(200, Relaxed);
    // The first busy allocation may find no reserve and ask the helper for
    // one; wait (no time limit is asserted, only progress) until a busy
    // allocation is served.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut failed = 0;
    let got = loop {
        let before = stats();
        trigger_inside_krcu(&trigger);
        let p = ALLOCATED.swap(ptr::null_mut(), Relaxed);
        let after = stats();
        if !p.is_null() {
            assert_eq!(
                after.nolock_alloc_reserve - before.nolock_alloc_reserve,
                1,
                "served from the reserve, not the busy sheaves"
            );
            break p;
        }
        assert_eq!(after.nolock_alloc_failed - before.nolock_alloc_failed, 1);
        failed += 1;
        assert!(
            Instant::now() < deadline,
            "the helper never stocked the reserve"
        );
        std::thread::sleep(Duration::from_millis(1));
    };
    ALLOC_SIZE.store(0, Relaxed);
    testing::set_busy_hook(None);
    eprintln!("busy allocations that failed before the reserve was stocked: {failed}");
    // SAFETY: the handler's allocation, a live kmalloc object.
    assert_eq!(unsafe { urcu_slab::ksize(got) }, 256);
    unsafe { urcu_slab::kfree(got) };
    kvfree_rcu_barrier();
    trigger.destroy().unwrap();
}

#[test]
fn idle_state_serves_nolock_calls_in_place() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let c = cache("nolock-idle", 32);
    // Ready this thread's sheaves of the cache.
    let warm = c.alloc().unwrap();
    // SAFETY: a live object of c.
    unsafe { c.free(warm) };
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
