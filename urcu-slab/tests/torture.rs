//! rcutorture-style torture of the slab layer: memb and qsbr readers walk
//! shared objects and check that none they can reach has been freed, while
//! updaters (some of them short-lived threads) retire objects through every
//! kfree_rcu path: `rcu_free` sheaves, bulk arrays and lists (with RcuPtr and
//! RcuHead links), headless kvfree_rcu, kmalloc'd and cache objects, with
//! barriers in between.
//!
//! An object is "live" (magic LIVE, a unique generation) until the cache's
//! rcu_dtor marks it DEAD after its grace period; freed memory is poisoned
//! and may be reused with a new generation. A reader that sees DEAD, poison,
//! or a generation change within one read section has caught a premature
//! free. `KRCU_TORTURE_SECS` sets the duration (default 2 s).

mod common;

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::time::Duration;
use urcu_core::{memb, qsbr, RcuHead};
use urcu_slab::{kfree_rcu, kmalloc, kvfree_rcu, kvfree_rcu_barrier, CacheArgs, KmemCache, RcuPtr};

const SLOTS: usize = 32;
const LIVE: u64 = 0x11fe_11fe_11fe_11fe;
const DEAD: u64 = 0xdead_dead_dead_dead;

#[repr(C)]
struct TObj {
    head: RcuHead,
    link: RcuPtr,
    magic: AtomicU64,
    generation: AtomicU64,
    pad: [u64; 3],
}

static GENERATION: AtomicU64 = AtomicU64::new(1);
static DTORS: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn mark_dead(obj: *mut c_void) {
    // SAFETY: the cache's objects are TObjs; the dtor runs after the grace
    // period, before reuse.
    unsafe { (*obj.cast::<TObj>()).magic.store(DEAD, Relaxed) };
    DTORS.fetch_add(1, Relaxed);
}

/// Where an object came from, which decides how it may be retired.
#[derive(Clone, Copy)]
enum Source {
    SheafCache,
    BatchCache,
    Kmalloc,
}

fn new_obj(src: Source, sheafy: &KmemCache, plain: &KmemCache) -> *mut TObj {
    let p = match src {
        Source::SheafCache => sheafy.alloc(),
        Source::BatchCache => plain.alloc(),
        Source::Kmalloc => kmalloc(std::mem::size_of::<TObj>()),
    }
    .expect("memory")
    .as_ptr()
    .cast::<TObj>();
    // SAFETY: a fresh object big enough for a TObj.
    unsafe {
        p.write(TObj {
            head: RcuHead::new(),
            link: RcuPtr::new(),
            magic: AtomicU64::new(LIVE),
            generation: AtomicU64::new(GENERATION.fetch_add(1, Relaxed)),
            pad: [0; 3],
        })
    };
    p
}

/// Reads an object twice across a read section's body; false if it was
/// freed (or freed and reused) under the reader.
fn intact(p: *const TObj, linger: bool) -> bool {
    // SAFETY: reached under a read section: must not have been freed.
    let o = unsafe { &*p };
    let (m1, g1) = (o.magic.load(Relaxed), o.generation.load(Relaxed));
    if linger {
        std::thread::yield_now();
    }
    let (m2, g2) = (o.magic.load(Relaxed), o.generation.load(Relaxed));
    m1 == LIVE && m2 == LIVE && g1 == g2
}

/// Retires `old` by the path `k` picks among those its source allows.
fn retire(old: *mut TObj, src: Source, k: u64) -> &'static str {
    // SAFETY: `old` was unpublished by the caller and is retired once.
    unsafe {
        match (src, k % 3) {
            (_, 0) => {
                kfree_rcu!(old, TObj, link);
                "rcu_ptr"
            }
            (Source::Kmalloc, _) | (_, 1) => {
                kvfree_rcu(old.cast());
                "headless"
            }
            _ => {
                kfree_rcu!(old, TObj, head);
                "rcu_head"
            }
        }
    }
}

#[test]
fn torture_kfree_rcu_paths_under_memb_and_qsbr_readers() {
    let secs: f64 = std::env::var("KRCU_TORTURE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let args = |sheaf_capacity| CacheArgs {
        sheaf_capacity,
        rcu_dtor: Some(mark_dead),
        poison: true,
        ..Default::default()
    };
    let sheafy =
        Arc::new(KmemCache::new("torture-sheaf", std::mem::size_of::<TObj>(), args(16)).unwrap());
    let plain =
        Arc::new(KmemCache::new("torture-batch", std::mem::size_of::<TObj>(), args(0)).unwrap());
    let sources = [Source::SheafCache, Source::BatchCache, Source::Kmalloc];
    let slots: Arc<Vec<(AtomicPtr<TObj>, Source)>> = Arc::new(
        (0..SLOTS)
            .map(|i| {
                let src = sources[i % 3];
                (AtomicPtr::new(new_obj(src, &sheafy, &plain)), src)
            })
            .collect(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let reads = Arc::new(AtomicU64::new(0));
    let before = urcu_slab::stats();

    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (slots, stop, failures, reads) =
                (slots.clone(), stop.clone(), failures.clone(), reads.clone());
            std::thread::spawn(move || {
                let qsbr_reader = r == 1;
                let _m = memb::register_thread();
                let _q = qsbr_reader.then(qsbr::register_thread);
                let mut n = 0u64;
                while !stop.load(Relaxed) {
                    let linger = n % 64 == 0;
                    let ok = if qsbr_reader {
                        let _g = qsbr::read_lock();
                        slots.iter().all(|(s, _)| intact(s.load(Acquire), linger))
                    } else {
                        let _g = memb::read_lock();
                        slots.iter().all(|(s, _)| intact(s.load(Acquire), linger))
                    };
                    if !ok {
                        failures.fetch_add(1, Relaxed);
                    }
                    n += 1;
                    if qsbr_reader {
                        qsbr::quiescent_state();
                    }
                }
                if qsbr_reader {
                    qsbr::thread_offline();
                }
                reads.fetch_add(n, Relaxed);
            })
        })
        .collect();

    // Updaters: two long-lived, plus a stream of short-lived threads that
    // exit with objects still queued.
    let retired = Arc::new(AtomicU64::new(0));
    let updater = |u: u64, rounds: Option<u64>| {
        let (slots, stop, sheafy, plain, retired) = (
            slots.clone(),
            stop.clone(),
            sheafy.clone(),
            plain.clone(),
            retired.clone(),
        );
        std::thread::spawn(move || {
            let mut k = u * 1_000_003;
            let mut done = 0u64;
            while !stop.load(Relaxed) && rounds.is_none_or(|r| done < r) {
                k += 1;
                let (slot, src) = &slots[(k as usize * 7 + u as usize) % SLOTS];
                let old = slot.swap(new_obj(*src, &sheafy, &plain), AcqRel);
                retire(old, *src, k / 3);
                done += 1;
                if u == 0 && k % 4096 == 0 {
                    kvfree_rcu_barrier();
                }
            }
            retired.fetch_add(done, Relaxed);
        })
    };
    let long: Vec<_> = (0..2).map(|u| updater(u, None)).collect();
    let deadline = std::time::Instant::now() + Duration::from_secs_f64(secs);
    let mut short = 10;
    while std::time::Instant::now() < deadline {
        updater(short, Some(500)).join().unwrap();
        short += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    for u in long {
        u.join().unwrap();
    }
    kvfree_rcu_barrier();
    let after = urcu_slab::stats();
    let retired = retired.load(Relaxed);
    let freed = common::freed(&after) - common::freed(&before);
    eprintln!(
        "slab torture: {} reads, {retired} retirements, {freed} freed ({} sheaf, {} bulk, {} list, {} sync), {} failures",
        reads.load(Relaxed),
        after.kfree_rcu_sheaf - before.kfree_rcu_sheaf,
        after.kfree_rcu_bulk - before.kfree_rcu_bulk,
        after.kfree_rcu_list - before.kfree_rcu_list,
        after.kfree_rcu_sync_fallback - before.kfree_rcu_sync_fallback,
        failures.load(Relaxed),
    );
    assert_eq!(failures.load(Relaxed), 0, "a reader reached a freed object");
    assert!(
        reads.load(Relaxed) > 0 && retired > 0,
        "the torture did no work"
    );
    assert_eq!(freed, retired, "every retired object is freed exactly once");
    assert_eq!(after.objects_pending, 0);
    assert_eq!(after.kfree_rcu_double, before.kfree_rcu_double);
}
