//! Regression tests for bugs found where the slab layer meets the core,
//! each named after its bug. Every one of them hung or misbehaved before
//! its fix.

mod common;

use common::within;
use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use urcu_core::{memb, qsbr};
use urcu_slab::{kvfree_rcu_barrier, kvfree_rcu_barrier_on_cache, CacheArgs, KmemCache, RcuPtr};

#[repr(C)]
struct Obj {
    rcu: RcuPtr,
    value: u64,
}

fn queue(cache: &KmemCache, n: usize) {
    for _ in 0..n {
        let p = cache.alloc().unwrap().as_ptr().cast::<Obj>();
        // SAFETY: a fresh object of this cache, freed once.
        unsafe { urcu_slab::kfree_rcu!(p, Obj, rcu) };
    }
}

/// `kvfree_rcu_barrier()`, `kvfree_rcu_barrier_on_cache()` and cache
/// destruction waited for the reclaim helper while the caller stayed qsbr
/// online; the helper waited for a qsbr grace period, which waited for the
/// caller: a hang.
#[test]
fn slab_barrier_from_online_qsbr_thread_hangs() {
    within("slab barriers from an online qsbr thread", || {
        let _reg = qsbr::register_thread();
        assert!(qsbr::is_online());
        let cache = KmemCache::new("seam-qsbr", 32, CacheArgs::default()).unwrap();
        queue(&cache, 100);
        kvfree_rcu_barrier();
        assert!(qsbr::is_online(), "the barrier puts the thread back online");
        queue(&cache, 100);
        kvfree_rcu_barrier_on_cache(&cache);
        queue(&cache, 100);
        cache.destroy().unwrap();
        let sheaves = KmemCache::new(
            "seam-qsbr-sheaves",
            32,
            CacheArgs {
                sheaf_capacity: 8,
                ..CacheArgs::default()
            },
        )
        .unwrap();
        queue(&sheaves, 100);
        drop(sheaves); // Drop destroys too.
        assert!(qsbr::is_online());
    });
}

static DTOR_READS: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" fn dtor_reads_under_qsbr(_obj: *mut c_void) {
    let _g = qsbr::read_lock();
    DTOR_READS.fetch_add(1, Ordering::Relaxed);
}

/// An `rcu_dtor` that took a qsbr read lock left the reclaim helper
/// registered and online with qsbr: every later qsbr grace period waited
/// for it, and so did every later barrier.
#[test]
fn qsbr_read_lock_in_rcu_dtor_wedges_qsbr_grace_periods() {
    within(
        "qsbr grace periods after an rcu_dtor read under qsbr",
        || {
            let cache = KmemCache::new(
                "seam-dtor",
                32,
                CacheArgs {
                    rcu_dtor: Some(dtor_reads_under_qsbr),
                    ..CacheArgs::default()
                },
            )
            .unwrap();
            queue(&cache, 10);
            kvfree_rcu_barrier();
            assert_eq!(DTOR_READS.load(Ordering::Relaxed), 10);
            qsbr::synchronize();
            queue(&cache, 10);
            kvfree_rcu_barrier();
            qsbr::synchronize();
            cache.destroy().unwrap();
        },
    );
}

unsafe extern "C" fn dtor_calls_memb_barrier(_obj: *mut c_void) {
    memb::barrier();
}

/// The same misuse inside a callback had different outcomes by callback
/// kind: `memb::barrier()` from an `rcu_dtor` was not refused (the reclaim
/// helper was not known as a callback thread to the core) and could wait
/// for a callback that itself waited for the reclaim helper. It is now the
/// rule `barrier()` breaks inside any callback: a panic naming it, which
/// the helper turns into an abort with the message.
#[test]
fn memb_barrier_in_rcu_dtor_is_refused_like_in_a_callback() {
    if std::env::var_os("KRCU_CHILD_DTOR_BARRIER").is_some() {
        let cache = KmemCache::new(
            "seam-dtor-barrier",
            32,
            CacheArgs {
                rcu_dtor: Some(dtor_calls_memb_barrier),
                ..CacheArgs::default()
            },
        )
        .unwrap();
        queue(&cache, 1);
        kvfree_rcu_barrier();
        unreachable!("the barrier in the rcu_dtor must be refused");
    }
    let (status, stderr) = common::rerun_as_child(
        "memb_barrier_in_rcu_dtor_is_refused_like_in_a_callback",
        "KRCU_CHILD_DTOR_BARRIER",
    );
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("barrier() called inside an RCU callback (call_rcu, defer or rcu_dtor)"),
        "{stderr}"
    );
}

unsafe extern "C" fn free_obj(head: *mut urcu_core::RcuHead) {
    // SAFETY: boxed below, handed to us once.
    drop(unsafe { Box::from_raw(head) });
    kvfree_rcu_barrier();
}

/// `kvfree_rcu_barrier()` inside a `call_rcu` callback is refused as
/// `barrier()` is.
#[test]
fn kvfree_rcu_barrier_in_callback_is_refused() {
    if std::env::var_os("KRCU_CHILD_CB_KVBARRIER").is_some() {
        let head = Box::into_raw(Box::new(urcu_core::RcuHead::new()));
        // SAFETY: a fresh head, freed by the callback.
        unsafe { memb::call_rcu(head, free_obj) };
        memb::barrier();
        unreachable!("the barrier in the callback must be refused");
    }
    let (status, stderr) = common::rerun_as_child(
        "kvfree_rcu_barrier_in_callback_is_refused",
        "KRCU_CHILD_CB_KVBARRIER",
    );
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("kvfree_rcu_barrier() called inside an RCU callback"),
        "{stderr}"
    );
}

/// Cache destruction inside a memb read section is refused with the rule,
/// naming `destroy`.
#[test]
fn cache_destroy_in_read_section_names_destroy() {
    let cache = KmemCache::new("seam-destroy-in-section", 32, CacheArgs::default()).unwrap();
    let obj: NonNull<u8> = cache.alloc().unwrap();
    // SAFETY: ours, freed once.
    unsafe { cache.free(obj) };
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _g = memb::read_lock();
        let _ = cache.destroy();
    }));
    let msg = r.expect_err("destroy in a read section must panic");
    let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("KmemCache::destroy() called inside a read-side critical section"),
        "{msg}"
    );
}

/// `trim()` and the reclaim helper's restock walked a snapshot of every
/// cache with no pin while `destroy` freed one: a use-after-free (under
/// ASan), a false "memory corruption: 1 slabs still hold objects" panic, or
/// `destroy` refusing with phantom live objects.
#[test]
fn trim_and_restock_race_cache_destroy() {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    let stop = Arc::new(AtomicBool::new(false));
    let trimmer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                urcu_slab::trim();
            }
        })
    };
    within("cache create/destroy against trim", || {
        for round in 0..300 {
            let cache = KmemCache::new(
                "seam-trim",
                48,
                CacheArgs {
                    sheaf_capacity: 4,
                    ..CacheArgs::default()
                },
            )
            .unwrap();
            let objs: Vec<_> = (0..40).map(|_| cache.alloc().unwrap()).collect();
            for o in objs {
                // SAFETY: ours, freed once.
                unsafe { cache.free(o) };
            }
            // kfree_rcu through sheaves wants empty sheaves: the helper
            // restocks this cache while it is destroyed.
            queue(&cache, 20);
            if let Err(e) = cache.destroy() {
                panic!("round {round}: destroy refused with phantom live objects: {e}");
            }
        }
    });
    stop.store(true, Ordering::Relaxed);
    trimmer.join().unwrap();
}

/// `stats()` counted live objects by reading other threads' allocation
/// sheaves through unsynchronised cells, and read sheaves their owner had
/// already handed to the barn, where `trim` freed them: a use-after-free
/// (under ASan).
#[test]
fn stats_read_sheaves_that_trim_frees() {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    let cache = Arc::new(
        KmemCache::new(
            "seam-stats",
            64,
            CacheArgs {
                sheaf_capacity: 2,
                ..CacheArgs::default()
            },
        )
        .unwrap(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for _ in 0..2 {
        let (cache, stop) = (cache.clone(), stop.clone());
        // Owners: fill and drain their sheaves, trading them with the barn.
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let objs: Vec<_> = (0..9).map(|_| cache.alloc().unwrap()).collect();
                for o in objs {
                    // SAFETY: ours, freed once.
                    unsafe { cache.free(o) };
                }
            }
        }));
    }
    {
        let (cache, stop) = (cache.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                cache.trim();
            }
        }));
    }
    within("stats against trim", {
        let cache = cache.clone();
        move || {
            let until = std::time::Instant::now() + std::time::Duration::from_millis(500);
            while std::time::Instant::now() < until {
                // A snapshot while objects move: only its safety is
                // promised (ASan checks it); exactness once all is still.
                let _ = cache.stats();
                let _ = urcu_slab::stats();
            }
        }
    });
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let cache = Arc::into_inner(cache).unwrap();
    assert_eq!(cache.stats().live, 0);
    cache.destroy().unwrap();
}

static FIRST_CALLS: [std::sync::atomic::AtomicPtr<u8>; 13] =
    [const { std::sync::atomic::AtomicPtr::new(std::ptr::null_mut()) }; 13];
const CLASS_SIZES: [usize; 13] = [
    8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192,
];

extern "C" fn first_kmalloc_nolock_of_every_class(_: libc::c_int) {
    for (i, size) in CLASS_SIZES.into_iter().enumerate() {
        let p = urcu_slab::kmalloc_nolock(size).map_or(std::ptr::null_mut(), |p| p.as_ptr());
        FIRST_CALLS[i].store(p, Ordering::Relaxed);
    }
}

/// `kmalloc_nolock` failed on a thread's first call of each size class,
/// even after `prepare_thread()`: nothing was stocked yet, and a null
/// meant "first call", not "nothing could be had without waiting". The
/// README's example, and a sampling profiler's first sample per class.
#[test]
fn kmalloc_nolock_fails_on_first_call_of_each_size_class() {
    // SAFETY: the handler only calls kmalloc_nolock and stores atomics.
    unsafe {
        urcu_slab::testing::install_handler(libc::SIGUSR2, first_kmalloc_nolock_of_every_class)
    };
    std::thread::spawn(|| {
        urcu_slab::prepare_thread();
        // SAFETY: raise delivers the signal to this thread, synchronously.
        assert_eq!(unsafe { libc::raise(libc::SIGUSR2) }, 0);
        for (i, size) in CLASS_SIZES.into_iter().enumerate() {
            let p = FIRST_CALLS[i].load(Ordering::Relaxed);
            assert!(!p.is_null(), "the first kmalloc_nolock({size}) failed");
            // SAFETY: allocated above, freed once.
            unsafe {
                assert!(urcu_slab::ksize(p) >= size);
                urcu_slab::kfree(p);
            }
        }
    })
    .join()
    .unwrap();
}
