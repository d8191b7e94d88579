//! The signal storm, the userspace analogue of the kernel's slub test
//! `test_kmalloc_nolock_and_friends`: on each of two threads a per-thread
//! timer signal at 10 kHz whose handler calls `kmalloc_nolock` +
//! `kfree_rcu_nolock`, `alloc_nolock` + `kfree_nolock`, `call_rcu_nolock`
//! and a memb read section, while the threads themselves loop over
//! kmalloc / kfree / kfree_rcu / kvfree_rcu / barriers. A watchdog fails the
//! test on a deadlock; afterwards the books must balance exactly.
//!
//! `KRCU_STORM_SECS` sets the duration (default 2 s).

use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use urcu_core::{memb, RcuHead};
use urcu_slab::{
    kfree, kfree_nolock, kfree_rcu, kfree_rcu_nolock, kmalloc, kmalloc_nolock, kmalloc_stats,
    kvfree_rcu, kvfree_rcu_barrier, stats, testing, CacheArgs, KmemCache, RcuPtr,
};

#[repr(C)]
struct Sample {
    ip: u64,
    rcu: RcuPtr,
    data: [u64; 4],
}

static SIGNALS: AtomicU64 = AtomicU64::new(0);
static ALLOC_TRIES: AtomicU64 = AtomicU64::new(0);
static ALLOC_NULLS: AtomicU64 = AtomicU64::new(0);
static CB_QUEUED: AtomicU64 = AtomicU64::new(0);
static CB_RAN: AtomicU64 = AtomicU64::new(0);
static SHARED: AtomicU64 = AtomicU64::new(1);
static CACHE: OnceLock<KmemCache> = OnceLock::new();

unsafe extern "C" fn free_head(head: *mut RcuHead) {
    // SAFETY: the head is the start of a kmalloc_nolock object the handler
    // gave to call_rcu; the grace period passed.
    unsafe { kfree(head.cast()) };
    CB_RAN.fetch_add(1, Relaxed);
}

/// Counts one handler allocation; the object or null.
fn tried(p: Result<std::ptr::NonNull<u8>, urcu_slab::AllocError>) -> *mut u8 {
    ALLOC_TRIES.fetch_add(1, Relaxed);
    match p {
        Ok(p) => p.as_ptr(),
        Err(_) => {
            ALLOC_NULLS.fetch_add(1, Relaxed);
            ptr::null_mut()
        }
    }
}

extern "C" fn on_signal(_: libc::c_int) {
    SIGNALS.fetch_add(1, Relaxed);
    {
        let _g = memb::read_lock();
        std::hint::black_box(SHARED.load(Acquire));
        // kfree_rcu_nolock inside a read section: allowed, never waits.
        let s = tried(kmalloc_nolock(std::mem::size_of::<Sample>())).cast::<Sample>();
        if !s.is_null() {
            // SAFETY: a fresh allocation of a Sample's size; not used again.
            unsafe {
                s.write(Sample {
                    ip: 0x40_0000,
                    rcu: RcuPtr::new(),
                    data: [0; 4],
                });
                kfree_rcu_nolock!(s, Sample, rcu);
            }
        }
    }
    let cache = CACHE.get().expect("set before the timers start");
    let o = tried(cache.alloc_nolock());
    // SAFETY: an object of the cache (or null, a no-op), not used again.
    unsafe { kfree_nolock(o) };
    let k = tried(kmalloc_nolock(24));
    // SAFETY: as above.
    unsafe { kfree_nolock(k) };
    let h = tried(kmalloc_nolock(std::mem::size_of::<RcuHead>())).cast::<RcuHead>();
    if !h.is_null() {
        // SAFETY: a fresh allocation of a head's size, owned by the
        // callback from now on.
        unsafe {
            h.write(RcuHead::new());
            memb::call_rcu_nolock(h, free_head);
        }
        CB_QUEUED.fetch_add(1, Relaxed);
    }
}

fn storm_secs() -> u64 {
    std::env::var("KRCU_STORM_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

/// The interrupted thread's own work: every kind of ordinary call.
fn worker(end: Instant) -> u64 {
    let _reg = memb::register_thread();
    // Ordinary calls first: they ready this thread's sheaves of the classes
    // and the cache the handler uses.
    let cache = CACHE.get().unwrap();
    for size in [
        std::mem::size_of::<Sample>(),
        24,
        std::mem::size_of::<RcuHead>(),
    ] {
        let p = kmalloc(size).unwrap().as_ptr();
        // SAFETY: live, not used again.
        unsafe { kfree(p) };
    }
    let o = cache.alloc().unwrap();
    // SAFETY: an object of the cache.
    unsafe { cache.free(o) };
    // A 10 kHz timer signal for this thread only.
    let timer = testing::ThreadTimer::start(libc::SIGRTMIN(), Duration::from_micros(100));
    let mut rounds = 0u64;
    let mut held: Vec<*mut u8> = Vec::with_capacity(64);
    while Instant::now() < end {
        for i in 0..256u64 {
            let size = [16, 24, 48, 64][(i % 4) as usize];
            held.push(kmalloc(size).unwrap().as_ptr());
            if held.len() == 64 {
                for p in held.drain(..) {
                    // SAFETY: live kmalloc objects, not used again.
                    unsafe { kfree(p) };
                }
            }
            let s = kmalloc(std::mem::size_of::<Sample>())
                .unwrap()
                .as_ptr()
                .cast::<Sample>();
            // SAFETY: a fresh Sample-sized object, not used again.
            unsafe {
                s.write(Sample {
                    ip: i,
                    rcu: RcuPtr::new(),
                    data: [i; 4],
                });
                kfree_rcu!(s, Sample, rcu);
            }
            if i % 8 == 0 {
                let p = kmalloc(40).unwrap().as_ptr();
                // SAFETY: live, not used again.
                unsafe { kvfree_rcu(p) };
            }
            let o = cache.alloc().unwrap();
            // SAFETY: an object of the cache.
            unsafe { cache.free(o) };
        }
        kvfree_rcu_barrier();
        rounds += 1;
    }
    for p in held.drain(..) {
        // SAFETY: as above.
        unsafe { kfree(p) };
    }
    drop(timer);
    rounds
}

#[test]
fn signal_storm_nolock_and_friends() {
    CACHE.get_or_init(|| {
        KmemCache::new(
            "storm",
            96,
            CacheArgs {
                sheaf_capacity: 32,
                ..CacheArgs::default()
            },
        )
        .unwrap()
    });
    // SAFETY: a handler that only uses krcu's _nolock calls, memb read
    // sections and atomics.
    unsafe { testing::install_handler(libc::SIGRTMIN(), on_signal) };
    let secs = storm_secs();
    let before = stats();
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let limit = Duration::from_secs(secs * 10 + 120);
    {
        let done = done.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            while !done.load(Acquire) {
                if start.elapsed() > limit {
                    eprintln!("signal storm: no progress after {limit:?}: deadlock");
                    std::process::abort();
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
    }
    let end = Instant::now() + Duration::from_secs(secs);
    let rounds: Vec<u64> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2).map(|_| s.spawn(move || worker(end))).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // Every callback queued by a handler runs (and kfrees its head); then
    // every deferred object and every kfree_rcu is freed.
    memb::barrier();
    kvfree_rcu_barrier();
    done.store(true, Release);

    let after = stats();
    let d = |f: fn(&urcu_slab::SlabStats) -> u64| f(&after) - f(&before);
    let (signals, tries, nulls) = (
        SIGNALS.load(Relaxed),
        ALLOC_TRIES.load(Relaxed),
        ALLOC_NULLS.load(Relaxed),
    );
    eprintln!(
        "signal storm, {secs} s, 2 threads at 10 kHz: {signals} signals handled; worker rounds {rounds:?}"
    );
    eprintln!(
        "handler allocations: {tries}, null {nulls} ({:.3}% succeeded); served {}, failed {}",
        100.0 * (tries - nulls) as f64 / tries.max(1) as f64,
        d(|s| s.nolock_alloc),
        d(|s| s.nolock_alloc_failed),
    );
    eprintln!(
        "kfree_nolock: into the thread's sheaves {}, deferred {}; kfree_rcu_nolock: own state {}, deferred {}; call_rcu_nolock {}",
        d(|s| s.kfree_nolock),
        d(|s| s.kfree_nolock_deferred),
        d(|s| s.kfree_rcu_nolock),
        d(|s| s.kfree_rcu_deferred),
        CB_QUEUED.load(Relaxed),
    );
    assert!(
        signals > 1000,
        "the timers fired too rarely to test anything ({signals})"
    );
    assert_eq!(
        CB_QUEUED.load(Relaxed),
        CB_RAN.load(Relaxed),
        "every call_rcu_nolock callback ran exactly once"
    );
    assert_eq!(after.deferred_pending, 0, "the deferred list is empty");
    assert_eq!(after.objects_pending, 0, "nothing waits for a grace period");
    for size in [16, 24, 48, 64, std::mem::size_of::<RcuHead>()] {
        assert_eq!(
            kmalloc_stats(size).unwrap().live,
            0,
            "kmalloc class for {size} bytes: every allocation was freed"
        );
    }
    assert_eq!(
        CACHE.get().unwrap().stats().live,
        0,
        "the storm cache: every allocation was freed"
    );
}
