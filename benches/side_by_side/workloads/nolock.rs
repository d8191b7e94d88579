//! nolock: the `_nolock` calls against the ordinary ones on one thread,
//! then a signal storm whose handlers allocate and kfree_rcu.

use crate::child::{out, KObj};
use crate::model::{Impl, Workload};
use std::time::{Duration, Instant};

/// Objects per batch of the nolock workload's allocation loop (within one
/// sheaf of the 64-byte class, so both variants stay on their fast path).
const NOLOCK_ALLOC_BATCH: usize = 64;
/// Objects per round of its kfree_rcu loop, and rounds.
const NOLOCK_RCU_BATCH: usize = 1024;
const NOLOCK_ROUNDS: usize = 2000;

/// nolock: the ordinary calls (`krcu-kmalloc`) against their `_nolock`
/// variants (`krcu-nolock`) on one thread, outside any handler: ns per
/// kmalloc, per kfree, per kfree_rcu (the objects allocated untimed, a
/// barrier between rounds untimed). `krcu-nolock` then runs the signal
/// storm and reports how many handler allocations succeeded.
pub fn run(imp: Impl) {
    use krcu::slab::{self as slab, kfree_rcu, kfree_rcu_nolock};
    let nolock = match imp {
        Impl::KrcuNolock => true,
        Impl::KrcuKmalloc => false,
        _ => crate::child::not_here(imp, Workload::Nolock),
    };
    let warmup = NOLOCK_ROUNDS / 10;
    // The first kmalloc_nolock of a class on a thread asks the helper for a
    // sheaf, and is served from the class's slabs meanwhile; wait until the
    // helper has stocked it (frees then go into it: `kfree_nolock` counts
    // them) and ten batches in a row are served.
    slab::prepare_thread();
    let mut in_a_row = 0;
    while in_a_row < 10 {
        let before = slab::stats().kfree_nolock;
        let got: Vec<_> = (0..NOLOCK_ALLOC_BATCH)
            .map(|_| slab::kmalloc_nolock(64))
            .collect();
        let all = got.iter().all(Result::is_ok);
        for p in got.into_iter().flatten() {
            // SAFETY: a live allocation, freed once.
            unsafe { slab::kfree_nolock(p.as_ptr()) };
        }
        if all && slab::stats().kfree_nolock - before == NOLOCK_ALLOC_BATCH as u64 {
            in_a_row += 1;
        } else {
            in_a_row = 0;
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    // Allocation: batches that fit the thread's sheaf, as the alloc
    // workload does, allocation and free timed apart.
    let mut objs = vec![std::ptr::null_mut::<u8>(); NOLOCK_RCU_BATCH];
    let (mut t_alloc, mut t_free) = (Duration::ZERO, Duration::ZERO);
    for round in 0..warmup + NOLOCK_ROUNDS * 10 {
        let batch = &mut objs[..NOLOCK_ALLOC_BATCH];
        let t0 = Instant::now();
        for o in batch.iter_mut() {
            *o = if nolock {
                slab::kmalloc_nolock(64)
            } else {
                slab::kmalloc(64)
            }
            .expect("the thread's sheaf serves the batch")
            .as_ptr();
        }
        let t1 = Instant::now();
        for &o in batch.iter().rev() {
            // SAFETY: allocated above, freed once.
            unsafe {
                if nolock {
                    slab::kfree_nolock(o)
                } else {
                    slab::kfree(o)
                }
            }
        }
        let t2 = Instant::now();
        if round >= warmup {
            t_alloc += t1 - t0;
            t_free += t2 - t1;
        }
    }

    // kfree_rcu: objects allocated untimed, the calls timed, a barrier
    // every 16 rounds untimed.
    let mut t_rcu = Duration::ZERO;
    for round in 0..warmup + NOLOCK_ROUNDS {
        for o in objs.iter_mut() {
            let p = slab::kmalloc(64).unwrap().as_ptr().cast::<KObj>();
            // SAFETY: a fresh 64-byte object.
            unsafe {
                p.write(KObj {
                    rcu: slab::RcuPtr::new(),
                    data: [0; 7],
                })
            };
            *o = p.cast();
        }
        let t0 = Instant::now();
        for &o in objs.iter() {
            let p = o.cast::<KObj>();
            // SAFETY: each object is queued once and not used after.
            unsafe {
                if nolock {
                    kfree_rcu_nolock!(p, KObj, rcu);
                } else {
                    kfree_rcu!(p, KObj, rcu);
                }
            }
        }
        let t1 = Instant::now();
        if round % 16 == 15 {
            slab::kvfree_rcu_barrier();
        }
        if round >= warmup {
            t_rcu += t1 - t0;
        }
    }
    let per = |t: Duration, n: usize| t.as_secs_f64() * 1e9 / n as f64;
    out(
        "ns_per_kmalloc",
        per(t_alloc, NOLOCK_ALLOC_BATCH * NOLOCK_ROUNDS * 10),
        "ns",
    );
    out(
        "ns_per_kfree",
        per(t_free, NOLOCK_ALLOC_BATCH * NOLOCK_ROUNDS * 10),
        "ns",
    );
    out(
        "ns_per_kfree_rcu",
        per(t_rcu, NOLOCK_RCU_BATCH * NOLOCK_ROUNDS),
        "ns",
    );
    if nolock {
        let st = slab::stats();
        out(
            "kfree_rcu_nolock_in_place",
            st.kfree_rcu_nolock as f64,
            "calls",
        );
        out(
            "kfree_rcu_nolock_deferred",
            st.kfree_rcu_deferred as f64,
            "calls",
        );
    }
    slab::kvfree_rcu_barrier();
    if nolock {
        storm::run();
    }
}

/// The nolock workload's signal storm: two threads, each with a 10 kHz
/// per-thread timer whose handler allocates with kmalloc_nolock and frees
/// with kfree_rcu_nolock, while the threads loop over kmalloc, kfree,
/// kfree_rcu and barriers.
mod storm {
    use crate::child::{out, KObj};
    use krcu::slab::{self as slab, kfree_rcu, kfree_rcu_nolock};
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    use std::time::{Duration, Instant};

    const SECS: u64 = 2;
    static SIGNALS: AtomicU64 = AtomicU64::new(0);
    static NULLS: AtomicU64 = AtomicU64::new(0);

    extern "C" fn on_signal(_: libc::c_int) {
        SIGNALS.fetch_add(1, Relaxed);
        match slab::kmalloc_nolock(std::mem::size_of::<KObj>()) {
            Ok(p) => {
                let p = p.as_ptr().cast::<KObj>();
                // SAFETY: a fresh object of a KObj's size, queued once.
                unsafe {
                    p.write(KObj {
                        rcu: slab::RcuPtr::new(),
                        data: [1; 7],
                    });
                    kfree_rcu_nolock!(p, KObj, rcu);
                }
            }
            Err(_) => {
                NULLS.fetch_add(1, Relaxed);
            }
        }
    }

    fn worker(end: Instant) {
        let timer = slab::testing::ThreadTimer::start(libc::SIGRTMIN(), Duration::from_micros(100));
        let mut held = Vec::with_capacity(64);
        while Instant::now() < end {
            for i in 0..256u64 {
                held.push(slab::kmalloc(64).unwrap().as_ptr());
                if held.len() == 64 {
                    for p in held.drain(..) {
                        // SAFETY: live kmalloc objects, freed once.
                        unsafe { slab::kfree(p) };
                    }
                }
                let p = slab::kmalloc(64).unwrap().as_ptr().cast::<KObj>();
                // SAFETY: a fresh object, queued once.
                unsafe {
                    p.write(KObj {
                        rcu: slab::RcuPtr::new(),
                        data: [i; 7],
                    });
                    kfree_rcu!(p, KObj, rcu);
                }
            }
            slab::kvfree_rcu_barrier();
        }
        for p in held {
            // SAFETY: as above.
            unsafe { slab::kfree(p) };
        }
        drop(timer);
    }

    pub(super) fn run() {
        // SAFETY: the handler uses only _nolock calls and atomics.
        unsafe { slab::testing::install_handler(libc::SIGRTMIN(), on_signal) };
        let end = Instant::now() + Duration::from_secs(SECS);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(move || worker(end));
            }
        });
        slab::kvfree_rcu_barrier();
        let (signals, nulls) = (SIGNALS.load(Relaxed), NULLS.load(Relaxed));
        out(
            "storm_alloc_success_pct",
            100.0 * (signals - nulls) as f64 / signals.max(1) as f64,
            "%",
        );
        out(
            "storm_signals_per_thread_sec",
            signals as f64 / (2 * SECS) as f64,
            "signals",
        );
        out("storm_alloc_nulls", nulls as f64, "calls");
    }
}
