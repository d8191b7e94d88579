//! The side-by-side benchmark: krcu memb and qsbr against liburcu (memb,
//! qsbr), crossbeam-epoch and a plain atomic load, on the same workloads.
//!
//! `cargo bench --bench side_by_side [-- --runs N --json PATH --svg PATH
//! --defer-count N --only WORKLOAD]`
//!
//! Every (workload, implementation, reader threads) cell runs `--runs` times,
//! each in a fresh child process (this binary re-executed with `--child`, or
//! the liburcu C driver), so peak RSS is the implementation's own. The table
//! gives the median, min and max of the runs.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use krcu::rcu::{memb, qsbr, Flavor, Memb, Qsbr, RcuCell, RcuHead};

const WORKLOADS: [&str; 7] = [
    "read", "sync", "defer", "update", "kfree", "alloc", "nolock",
];
const IMPLS: [&str; 14] = [
    "krcu-memb",
    "krcu-qsbr",
    "krcu-kmalloc",
    "krcu-cache",
    "krcu-headless",
    "krcu-nolock",
    "krcu-c",
    "krcu-c-call",
    "liburcu-memb",
    "liburcu-memb-call",
    "liburcu-qsbr",
    "crossbeam-epoch",
    "glibc-malloc",
    "plain",
];
const READ_TIME: Duration = Duration::from_millis(300);
const SYNC_TIME: Duration = Duration::from_millis(300);
const UPDATE_TIME: Duration = Duration::from_millis(500);
/// Reads between qsbr quiescent states (liburcu's tests announce as often).
const QS_EVERY: usize = 1024;

/// The 64-byte object the defer and update workloads allocate.
#[repr(C)]
struct Obj {
    head: RcuHead,
    data: [u64; 6],
}

/// Objects allocated and freed per round of the alloc workload.
const ALLOC_BATCH: usize = 100;
/// Rounds of the alloc workload.
const ALLOC_ROUNDS: usize = 100_000;

/// The 64-byte object of the kfree workload: an 8-byte link and data.
#[repr(C)]
struct KObj {
    rcu: krcu::slab::RcuPtr,
    data: [u64; 7],
}

fn applies(workload: &str, imp: &str) -> bool {
    match workload {
        "kfree" => matches!(
            imp,
            "krcu-kmalloc"
                | "krcu-cache"
                | "krcu-headless"
                | "krcu-c"
                | "liburcu-memb"
                | "crossbeam-epoch"
        ),
        "alloc" => matches!(imp, "krcu-kmalloc" | "krcu-cache" | "glibc-malloc"),
        "nolock" => matches!(imp, "krcu-kmalloc" | "krcu-nolock"),
        _ => match imp {
            "plain" | "krcu-c-call" | "liburcu-memb-call" => workload == "read",
            "krcu-c" => matches!(workload, "read" | "defer"),
            "crossbeam-epoch" => workload != "sync",
            "krcu-kmalloc" | "krcu-cache" | "krcu-headless" | "krcu-nolock" | "glibc-malloc" => {
                false
            }
            _ => true,
        },
    }
}

/// Implementations that run as the C driver rather than this binary.
fn is_c_driver(imp: &str) -> bool {
    imp.starts_with("liburcu") || matches!(imp, "krcu-c" | "krcu-c-call")
}

/// Reader threads per cell: kfree runs with one memb reader, alloc with
/// none, the rest with one and two.
fn reader_counts(workload: &str) -> &'static [usize] {
    match workload {
        "kfree" => &[1],
        "alloc" | "nolock" => &[0],
        _ => &[1, 2],
    }
}

// ---------------------------------------------------------------- child side

struct Readers {
    stop: Arc<AtomicBool>,
    /// Readers that have registered and are about to loop.
    running: Arc<std::sync::atomic::AtomicUsize>,
    handles: Vec<std::thread::JoinHandle<f64>>,
}

impl Readers {
    /// Starts `n` reader threads running `body` in a loop; each returns its
    /// nanoseconds per read.
    fn start<B>(n: usize, body: B) -> Readers
    where
        B: Fn(&AtomicBool, &std::sync::atomic::AtomicUsize) -> (u64, Duration)
            + Send
            + Sync
            + Clone
            + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let handles = (0..n)
            .map(|_| {
                let (stop, body, running) = (stop.clone(), body.clone(), running.clone());
                std::thread::spawn(move || {
                    let (iters, elapsed) = body(&stop, &running);
                    elapsed.as_nanos() as f64 / iters.max(1) as f64
                })
            })
            .collect();
        let readers = Readers {
            stop,
            running,
            handles,
        };
        // Measure only once every reader is registered and looping.
        while readers.running.load(Ordering::Acquire) < n {
            std::thread::yield_now();
        }
        readers
    }

    fn finish(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        let n = self.handles.len().max(1) as f64;
        self.handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum::<f64>()
            / n
    }
}

/// A reader loop over `read` (one read section, returning the value read),
/// with `quiescent` called every QS_EVERY reads.
#[inline(always)]
fn read_loop(
    stop: &AtomicBool,
    running: &std::sync::atomic::AtomicUsize,
    read: impl Fn() -> u64,
    quiescent: impl Fn(),
) -> (u64, Duration) {
    running.fetch_add(1, Ordering::Release);
    let start = Instant::now();
    let mut iters = 0u64;
    let mut sum = 0u64;
    while !stop.load(Ordering::Relaxed) {
        for _ in 0..QS_EVERY {
            sum = sum.wrapping_add(read());
        }
        iters += QS_EVERY as u64;
        quiescent();
    }
    black_box(sum);
    (iters, start.elapsed())
}

fn new_obj(v: u64) -> Box<Obj> {
    Box::new(Obj {
        head: RcuHead::new(),
        data: [v, 0, 0, 0, 0, 0],
    })
}

unsafe extern "C" fn free_obj(head: *mut RcuHead) {
    // SAFETY: head is the first field of a Box<Obj> queued once.
    drop(unsafe { Box::from_raw(head as *mut Obj) });
}

fn out(metric: &str, value: f64, unit: &str) {
    println!("{metric} {value} {unit}");
}

/// Prints a deferral loop's rate (`count` calls from `t0` to `t1`) and how
/// long the barrier after it took (from `t1` to now).
fn out_deferral(count: u64, t0: Instant, t1: Instant) {
    out(
        "calls_per_sec",
        count as f64 / (t1 - t0).as_secs_f64(),
        "1/s",
    );
    out("barrier_ms", t1.elapsed().as_secs_f64() * 1e3, "ms");
}

/// Runs `update(i)` for UPDATE_TIME and prints the rate.
#[inline(always)]
fn timed_updates(mut update: impl FnMut(u64)) {
    let mut n = 0u64;
    let t0 = Instant::now();
    while t0.elapsed() < UPDATE_TIME {
        for i in 0..1024 {
            update(n + i);
        }
        n += 1024;
    }
    out(
        "updates_per_sec",
        n as f64 / t0.elapsed().as_secs_f64(),
        "1/s",
    );
}

fn sync_latencies(mut sync: impl FnMut()) {
    let mut lat = Vec::with_capacity(1 << 16);
    let end = Instant::now() + SYNC_TIME;
    while Instant::now() < end {
        let t = Instant::now();
        sync();
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    lat.sort_by(f64::total_cmp);
    out("sync_median_us", lat[lat.len() / 2], "us");
    out("sync_p99_us", lat[lat.len() * 99 / 100], "us");
}

/// krcu, generic over the flavor.
/// What a krcu reader thread of the benchmark does per flavor: a qsbr
/// reader announces a quiescent state between reads and goes offline at the
/// end; a memb reader does neither.
trait ReaderSteps: Flavor {
    fn between_reads() {}
    fn done() {}
}

impl ReaderSteps for Memb {}

impl ReaderSteps for Qsbr {
    fn between_reads() {
        qsbr::quiescent_state()
    }
    fn done() {
        qsbr::thread_offline()
    }
}

fn child_krcu<F: ReaderSteps>(workload: &str, threads: usize, defer_count: u64) {
    let cell: Arc<RcuCell<[u64; 6], F>> = Arc::new(RcuCell::new([1; 6]));
    let c = cell.clone();
    let readers = Readers::start(threads, move |stop, running| {
        let _reg = F::register_thread();
        let r = read_loop(
            stop,
            running,
            || {
                let g = F::read_lock();
                c.load(&g).map_or(0, |v| v[0])
            },
            F::between_reads,
        );
        F::done();
        r
    });
    match workload {
        "read" => std::thread::sleep(READ_TIME),
        "sync" => sync_latencies(F::synchronize),
        "defer" => {
            let t0 = Instant::now();
            for i in 0..defer_count {
                let o = Box::into_raw(new_obj(i));
                // SAFETY: o is leaked until free_obj reclaims it.
                unsafe { F::call_rcu(o as *mut RcuHead, free_obj) };
            }
            let t1 = Instant::now();
            F::barrier();
            out_deferral(defer_count, t0, t1);
        }
        // RcuCell allocates one 64-byte node (head + 48-byte value) per
        // update and frees the old one after a grace period: the same work
        // as liburcu's xchg + call_rcu.
        "update" => timed_updates(|i| cell.store([i; 6])),
        _ => unreachable!(),
    }
    let ns = readers.finish();
    if workload == "read" {
        out("ns_per_read", ns, "ns");
    }
    F::barrier();
}

fn child_crossbeam(workload: &str, threads: usize, defer_count: u64) {
    use crossbeam_epoch::{self as epoch, Atomic, Owned};
    let shared: Arc<Atomic<[u64; 6]>> = Arc::new(Atomic::new([1; 6]));
    let s = shared.clone();
    let readers = Readers::start(threads, move |stop, running| {
        read_loop(
            stop,
            running,
            || {
                let g = epoch::pin();
                // SAFETY: the pointer is never null and is freed only
                // through defer_destroy, after every pin that saw it.
                unsafe { s.load(Ordering::Acquire, &g).deref()[0] }
            },
            || {},
        )
    });
    match workload {
        "read" => std::thread::sleep(READ_TIME),
        "defer" => {
            let t0 = Instant::now();
            for i in 0..defer_count {
                let g = epoch::pin();
                let o = Owned::new([i; 8]).into_shared(&g);
                // SAFETY: `o` was never shared.
                unsafe { g.defer_destroy(o) };
            }
            out(
                "calls_per_sec",
                defer_count as f64 / t0.elapsed().as_secs_f64(),
                "1/s",
            );
        }
        "update" => timed_updates(|i| {
            let g = epoch::pin();
            let old = shared.swap(Owned::new([i; 6]), Ordering::AcqRel, &g);
            // SAFETY: `old` is unlinked; readers that saw it are pinned.
            unsafe { g.defer_destroy(old) };
        }),
        _ => unreachable!(),
    }
    let ns = readers.finish();
    if workload == "read" {
        out("ns_per_read", ns, "ns");
    }
}

/// One memb reader on an RcuCell, as in the other workloads.
fn memb_readers(threads: usize) -> Readers {
    let cell: Arc<RcuCell<[u64; 6], Memb>> = Arc::new(RcuCell::new([1; 6]));
    Readers::start(threads, move |stop, running| {
        let _reg = memb::register_thread();
        read_loop(
            stop,
            running,
            || {
                let g = memb::read_lock();
                cell.load(&g).map_or(0, |v| v[0])
            },
            || {},
        )
    })
}

/// kfree: `count` × (allocate a 64-byte object; kfree_rcu it), then the
/// barrier, with memb readers running.
fn child_kfree(imp: &str, threads: usize, count: u64) {
    use krcu::slab::{self as slab, kfree_rcu, CacheArgs, KmemCache};
    let cache = KmemCache::new(
        "bench-kobj",
        std::mem::size_of::<KObj>(),
        CacheArgs {
            sheaf_capacity: 64,
            ..Default::default()
        },
    )
    .unwrap();
    let readers = memb_readers(threads);
    let t0 = Instant::now();
    for i in 0..count {
        let p = match imp {
            "krcu-cache" => cache.alloc(),
            _ => slab::kmalloc(std::mem::size_of::<KObj>()),
        }
        .expect("memory")
        .as_ptr()
        .cast::<KObj>();
        // SAFETY: a fresh 64-byte krcu object, queued once and not used
        // after.
        unsafe {
            (*p).data[0] = i;
            if imp == "krcu-headless" {
                slab::kvfree_rcu(p.cast());
            } else {
                kfree_rcu!(p, KObj, rcu);
            }
        }
    }
    let t1 = Instant::now();
    let pending_at_end = slab::stats().objects_pending;
    slab::kvfree_rcu_barrier();
    out_deferral(count, t0, t1);
    let link = if imp == "krcu-headless" {
        0
    } else {
        std::mem::size_of::<slab::RcuPtr>()
    };
    out("link_bytes_in_object", link as f64, "B");
    out("pending_at_loop_end", pending_at_end as f64, "objects");
    let st = slab::stats();
    out("helper_gp_waits", st.gp_waits as f64, "waits");
    out("throttle_yields", st.throttled as f64, "yields");
    if imp == "krcu-cache" {
        let st = cache.stats();
        out("sheaf_submissions", st.sheaf_submissions as f64, "sheaves");
        out("sheaf_failures", st.sheaf_failures as f64, "calls");
        out("barn_hits", st.barn_hits as f64, "exchanges");
        out("barn_misses", st.barn_misses as f64, "exchanges");
        out("slabs_created", st.slabs_created as f64, "slabs");
        out("barn_overflows", st.barn_overflows as f64, "sheaves");
        out("barn_full_at_end", st.barn_full_sheaves as f64, "sheaves");
    }
    readers.finish();
}

/// alloc: ALLOC_ROUNDS × (allocate ALLOC_BATCH 64-byte objects, free them),
/// no RCU; prints ns per allocation + free.
fn child_alloc(imp: &str) {
    use krcu::slab::{self as slab, CacheArgs, KmemCache};
    let cache = KmemCache::new(
        "bench-alloc",
        64,
        CacheArgs {
            sheaf_capacity: 64,
            ..Default::default()
        },
    )
    .unwrap();
    let mut objs = [std::ptr::null_mut::<u8>(); ALLOC_BATCH];
    #[derive(Clone, Copy)]
    enum Alloc {
        Cache,
        Kmalloc,
        Malloc,
    }
    let which = match imp {
        "krcu-cache" => Alloc::Cache,
        "krcu-kmalloc" => Alloc::Kmalloc,
        _ => Alloc::Malloc,
    };
    let mut round = |n: usize| {
        for _ in 0..n {
            for o in objs.iter_mut() {
                *o = match which {
                    Alloc::Cache => cache.alloc().unwrap().as_ptr(),
                    Alloc::Kmalloc => slab::kmalloc(64).unwrap().as_ptr(),
                    // SAFETY: plain malloc.
                    Alloc::Malloc => unsafe { libc::malloc(64).cast() },
                };
                // SAFETY: a fresh 64-byte object.
                unsafe { o.write(1) };
            }
            for &o in objs.iter().rev() {
                // SAFETY: each object was allocated above by the same
                // allocator and is freed once.
                unsafe {
                    match which {
                        Alloc::Cache => cache.free(std::ptr::NonNull::new_unchecked(o)),
                        Alloc::Kmalloc => slab::kfree(o),
                        Alloc::Malloc => libc::free(o.cast()),
                    }
                }
            }
            black_box(&objs);
        }
    };
    round(ALLOC_ROUNDS / 10);
    let t0 = Instant::now();
    round(ALLOC_ROUNDS);
    let ns = t0.elapsed().as_secs_f64() * 1e9 / (ALLOC_ROUNDS * ALLOC_BATCH) as f64;
    out("ns_per_alloc_free", ns, "ns");
}

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
fn child_nolock(imp: &str) {
    use krcu::slab::{self as slab, kfree_rcu, kfree_rcu_nolock};
    let nolock = imp == "krcu-nolock";
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
    use super::{out, KObj};
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

fn child_plain(threads: usize) {
    let v = Box::into_raw(Box::new([1u64; 6]));
    let shared = Arc::new(AtomicPtr::new(v));
    let s = shared.clone();
    let readers = Readers::start(threads, move |stop, running| {
        read_loop(
            stop,
            running,
            // SAFETY: the pointee lives until the end of the process.
            || unsafe { (*s.load(Ordering::Acquire))[0] },
            || {},
        )
    });
    std::thread::sleep(READ_TIME);
    out("ns_per_read", readers.finish(), "ns");
}

fn child(args: &[String]) {
    let (imp, workload) = (args[0].as_str(), args[1].as_str());
    let threads: usize = args[2].parse().expect("threads");
    let defer_count: u64 = args[3].parse().expect("defer count");
    match imp {
        "krcu-memb" => child_krcu::<Memb>(workload, threads, defer_count),
        "krcu-qsbr" => child_krcu::<Qsbr>(workload, threads, defer_count),
        "crossbeam-epoch" if workload == "kfree" => child_crossbeam("defer", threads, defer_count),
        "crossbeam-epoch" => child_crossbeam(workload, threads, defer_count),
        "krcu-kmalloc" | "krcu-cache" | "krcu-headless" if workload == "kfree" => {
            child_kfree(imp, threads, defer_count)
        }
        "krcu-kmalloc" | "krcu-nolock" if workload == "nolock" => child_nolock(imp),
        "krcu-kmalloc" | "krcu-cache" | "glibc-malloc" => child_alloc(imp),
        "plain" => child_plain(threads),
        _ => panic!("unknown implementation {imp}"),
    }
    let _ = memb::uses_membarrier();
    std::io::stdout().flush().unwrap();
}

// --------------------------------------------------------------- parent side

struct Options {
    runs: usize,
    json: Option<PathBuf>,
    svg: PathBuf,
    defer_count: u64,
    only: Option<String>,
}

fn parse_options(args: &[String]) -> Options {
    let mut o = Options {
        runs: 5,
        json: None,
        svg: target_dir().join("side_by_side.svg"),
        defer_count: 10_000_000,
        only: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .cloned()
                .unwrap_or_else(|| panic!("{a} needs a value"))
        };
        match a.as_str() {
            "--runs" => o.runs = val().parse().expect("--runs N"),
            "--json" => o.json = Some(PathBuf::from(val())),
            "--svg" => o.svg = PathBuf::from(val()),
            "--defer-count" => o.defer_count = val().parse().expect("--defer-count N"),
            "--only" => o.only = Some(val()),
            "--bench" => {}
            other => panic!(
                "unknown option {other}; options: --runs N --json PATH --svg PATH --defer-count N --only WORKLOAD"
            ),
        }
    }
    o
}

fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/release/deps/side_by_side-HASH -> target/krcu-bench
    let target = exe
        .ancestors()
        .nth(3)
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let dir = target.join("krcu-bench");
    std::fs::create_dir_all(&dir).expect("create target/krcu-bench");
    dir
}

/// Compiles the C driver (`benches/c/driver.c`) into `bin` with `args`.
fn compile_driver(bin: &Path, args: &[String]) -> Result<(), String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/c/driver.c");
    let outp = Command::new("cc")
        .args(["-O2", "-std=gnu11", "-o"])
        .arg(bin)
        .arg(&src)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run cc: {e}"))?;
    if !outp.status.success() {
        return Err(String::from_utf8_lossy(&outp.stderr)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned());
    }
    Ok(())
}

/// Builds the liburcu drivers (memb and qsbr with liburcu's inline read
/// side, memb with its exported one); Err (with the reason) when liburcu is
/// absent.
fn build_liburcu() -> Result<BTreeMap<&'static str, PathBuf>, String> {
    let mut bins = BTreeMap::new();
    for (imp, flavor, extra) in [
        ("liburcu-memb", "memb", None),
        ("liburcu-qsbr", "qsbr", Some("-DFLAVOR_QSBR")),
        ("liburcu-memb-call", "memb", Some("-DLIBURCU_CALL")),
    ] {
        let bin = target_dir().join(format!("driver_{imp}"));
        let mut args: Vec<String> = extra.into_iter().map(String::from).collect();
        args.extend([
            format!("-lurcu-{flavor}"),
            "-lurcu-common".into(),
            "-lpthread".into(),
        ]);
        compile_driver(&bin, &args)?;
        bins.insert(imp, bin);
    }
    Ok(bins)
}

/// Builds the same driver against libkrcu's C API (release build of
/// urcu-ffi): with the inline read side (`krcu-c`) and with the exported
/// one (`krcu-c-call`).
fn build_krcu_c() -> Result<BTreeMap<&'static str, PathBuf>, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "--release", "-p", "urcu-ffi"])
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("building urcu-ffi failed".into());
    }
    let lib = target_dir().parent().unwrap().join("release");
    let soname = lib.join("libkrcu.so.0");
    let _ = std::fs::remove_file(&soname);
    std::os::unix::fs::symlink(lib.join("libkrcu.so"), &soname).map_err(|e| e.to_string())?;
    let mut bins = BTreeMap::new();
    for (imp, extra) in [("krcu-c", None), ("krcu-c-call", Some("-DKRCU_NO_INLINE"))] {
        let bin = target_dir().join(format!("driver_{imp}"));
        let mut args: Vec<String> = vec![
            "-DUSE_KRCU".into(),
            format!("-I{}", root.join("include").display()),
        ];
        args.extend(extra.map(String::from));
        args.extend([
            format!("-L{}", lib.display()),
            "-lkrcu".into(),
            format!("-Wl,-rpath,{}", lib.display()),
            "-lpthread".into(),
        ]);
        compile_driver(&bin, &args)?;
        bins.insert(imp, bin);
    }
    Ok(bins)
}

/// Runs one child; returns its metrics and its peak RSS in MiB.
// The child is reaped by wait4, which also returns its rusage.
#[allow(clippy::zombie_processes)]
fn run_child(mut cmd: Command) -> (Vec<(String, f64, String)>, f64) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let mut text = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our unreaped child; the out-pointers are valid.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert!(pid > 0, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "benchmark child {cmd:?} failed (status {status})"
    );
    let metrics = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((
                f.next()?.to_owned(),
                f.next()?.parse().ok()?,
                f.next()?.to_owned(),
            ))
        })
        .collect();
    (metrics, usage.ru_maxrss as f64 / 1024.0)
}

#[derive(Clone)]
struct Row {
    workload: &'static str,
    imp: &'static str,
    threads: usize,
    metric: String,
    unit: String,
    values: Vec<f64>,
}

impl Row {
    fn sorted(&self) -> Vec<f64> {
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        v
    }
    fn median(&self) -> f64 {
        let v = self.sorted();
        v[v.len() / 2]
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        return child(&args[1..]);
    }
    let opts = parse_options(&args);
    let mut drivers = BTreeMap::new();
    match build_liburcu() {
        Ok(bins) => drivers.extend(bins),
        Err(why) => println!(
            "liburcu not found ({why}): install it with `apt-get install liburcu-dev` to add the liburcu columns"
        ),
    }
    match build_krcu_c() {
        Ok(bins) => drivers.extend(bins),
        Err(why) => {
            println!("the C driver could not be built against libkrcu ({why}): no krcu-c columns")
        }
    }
    let exe = std::env::current_exe().unwrap();
    let mut rows: Vec<Row> = Vec::new();
    let cells: Vec<(&str, &str, usize)> = WORKLOADS
        .iter()
        .filter(|w| opts.only.as_deref().is_none_or(|o| o == **w))
        .flat_map(|w| {
            IMPLS
                .iter()
                .flat_map(move |i| reader_counts(w).iter().map(move |&t| (*w, *i, t)))
        })
        .filter(|(w, i, _)| applies(w, i))
        .filter(|(_, i, _)| !is_c_driver(i) || drivers.contains_key(i))
        .collect();
    // Round-robin within a workload: run k of every cell, then run k + 1,
    // so that a drift in the machine's speed (other tenants, frequency)
    // shifts all of a workload's cells alike instead of the few that ran
    // during it, and the ratios of medians stay fair.
    let schedule: Vec<(&str, &str, usize)> = cells
        .chunk_by(|a, b| a.0 == b.0)
        .flat_map(|chunk| std::iter::repeat_n(chunk, opts.runs).flatten().copied())
        .collect();
    let total = schedule.len();
    let mut done = 0;
    for (workload, imp, threads) in schedule {
        done += 1;
        eprint!("\r[{done}/{total}] {workload:<6} {imp:<15} {threads} reader(s)   ");
        let cmd = match drivers.get(imp) {
            Some(bin) => {
                let mut c = Command::new(bin);
                c.args([
                    workload,
                    &threads.to_string(),
                    &opts.defer_count.to_string(),
                ]);
                c
            }
            _ => {
                let mut c = Command::new(&exe);
                c.args([
                    "--child",
                    imp,
                    workload,
                    &threads.to_string(),
                    &opts.defer_count.to_string(),
                ]);
                c
            }
        };
        let (metrics, rss) = run_child(cmd);
        let mut record = |metric: &str, value: f64, unit: &str| match rows.iter_mut().find(|r| {
            r.workload == workload && r.imp == imp && r.threads == threads && r.metric == metric
        }) {
            Some(r) => r.values.push(value),
            None => rows.push(Row {
                workload,
                imp,
                threads,
                metric: metric.to_owned(),
                unit: unit.to_owned(),
                values: vec![value],
            }),
        };
        for (m, v, u) in &metrics {
            record(m, *v, u);
        }
        if matches!(workload, "defer" | "update" | "kfree") {
            record("peak_rss_mib", rss, "MiB");
        }
    }
    eprintln!();
    print_table(&rows, opts.runs);
    print_goals(&rows);
    if let Some(path) = &opts.json {
        write_json(&rows, path);
        println!("JSON: {}", path.display());
    }
    write_svg(&rows, &opts.svg);
    println!("SVG: {}", opts.svg.display());
}

fn print_table(rows: &[Row], runs: usize) {
    println!(
        "\nkrcu side-by-side: median of {runs} runs (min..max); membarrier in force: {}",
        memb::uses_membarrier()
    );
    println!(
        "{:<7} {:<15} {:>7} {:<16} {:>14} {:>25} {:<4}",
        "work", "metric", "readers", "impl", "median", "min..max", "unit"
    );
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by_key(|r| {
        (
            WORKLOADS.iter().position(|w| *w == r.workload),
            r.metric.clone(),
            r.threads,
            IMPLS.iter().position(|i| *i == r.imp),
        )
    });
    let mut last = None;
    for r in sorted {
        let key = (r.workload, r.metric.clone(), r.threads);
        if last.as_ref().is_some_and(|l| *l != key) {
            println!();
        }
        last = Some(key);
        let v = r.sorted();
        println!(
            "{:<7} {:<15} {:>7} {:<16} {:>14} {:>25} {:<4}",
            r.workload,
            r.metric,
            r.threads,
            r.imp,
            fmt(r.median()),
            format!("{}..{}", fmt(v[0]), fmt(v[v.len() - 1])),
            r.unit
        );
    }
}

fn fmt(v: f64) -> String {
    if v >= 1e5 {
        format!("{:.3e}", v)
    } else if v >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn median_of(rows: &[Row], workload: &str, imp: &str, threads: usize, metric: &str) -> Option<f64> {
    rows.iter()
        .find(|r| {
            r.workload == workload && r.imp == imp && r.threads == threads && r.metric == metric
        })
        .map(Row::median)
}

/// A tracked goal: krcu's median over another implementation's, or (with
/// `other` = None) krcu's median itself, against a bound.
struct Goal {
    workload: &'static str,
    metric: &'static str,
    krcu: &'static str,
    other: Option<&'static str>,
    at_most: bool,
    bound: f64,
}

const GOALS: &[Goal] = &[
    Goal {
        workload: "read",
        metric: "ns_per_read",
        krcu: "krcu-c",
        other: Some("liburcu-memb"),
        at_most: true,
        bound: 1.0,
    },
    Goal {
        workload: "read",
        metric: "ns_per_read",
        krcu: "krcu-c-call",
        other: Some("liburcu-memb-call"),
        at_most: true,
        bound: 0.3,
    },
    Goal {
        workload: "defer",
        metric: "calls_per_sec",
        krcu: "krcu-c",
        other: Some("krcu-memb"),
        at_most: false,
        bound: 0.9,
    },
    Goal {
        workload: "defer",
        metric: "peak_rss_mib",
        krcu: "krcu-c",
        other: Some("krcu-memb"),
        at_most: true,
        bound: 1.1,
    },
    Goal {
        workload: "kfree",
        metric: "calls_per_sec",
        krcu: "krcu-c",
        other: Some("krcu-kmalloc"),
        at_most: false,
        bound: 0.9,
    },
    Goal {
        workload: "kfree",
        metric: "peak_rss_mib",
        krcu: "krcu-c",
        other: Some("krcu-kmalloc"),
        at_most: true,
        bound: 1.1,
    },
    Goal {
        workload: "kfree",
        metric: "calls_per_sec",
        krcu: "krcu-kmalloc",
        other: Some("liburcu-memb"),
        at_most: false,
        bound: 5.0,
    },
    Goal {
        workload: "kfree",
        metric: "calls_per_sec",
        krcu: "krcu-cache",
        other: Some("liburcu-memb"),
        at_most: false,
        bound: 5.0,
    },
    Goal {
        workload: "kfree",
        metric: "peak_rss_mib",
        krcu: "krcu-kmalloc",
        other: Some("liburcu-memb"),
        at_most: true,
        bound: 0.25,
    },
    Goal {
        workload: "kfree",
        metric: "barrier_ms",
        krcu: "krcu-kmalloc",
        other: Some("liburcu-memb"),
        at_most: true,
        bound: 0.1,
    },
    Goal {
        workload: "alloc",
        metric: "ns_per_alloc_free",
        krcu: "krcu-cache",
        other: Some("glibc-malloc"),
        at_most: true,
        bound: 1.0,
    },
    Goal {
        workload: "alloc",
        metric: "ns_per_alloc_free",
        krcu: "krcu-kmalloc",
        other: Some("glibc-malloc"),
        at_most: true,
        bound: 1.0,
    },
    Goal {
        workload: "nolock",
        metric: "ns_per_kfree_rcu",
        krcu: "krcu-nolock",
        other: Some("krcu-kmalloc"),
        at_most: true,
        bound: 1.5,
    },
    Goal {
        workload: "nolock",
        metric: "ns_per_kmalloc",
        krcu: "krcu-nolock",
        other: Some("krcu-kmalloc"),
        at_most: true,
        bound: 1.5,
    },
    Goal {
        workload: "nolock",
        metric: "storm_alloc_success_pct",
        krcu: "krcu-nolock",
        other: None,
        at_most: false,
        bound: 99.0,
    },
    Goal {
        workload: "read",
        metric: "ns_per_read",
        krcu: "krcu-memb",
        other: Some("liburcu-memb"),
        at_most: true,
        bound: 1.0,
    },
    Goal {
        workload: "read",
        metric: "ns_per_read",
        krcu: "krcu-qsbr",
        other: Some("plain"),
        at_most: true,
        bound: 1.05,
    },
    Goal {
        workload: "sync",
        metric: "sync_median_us",
        krcu: "krcu-memb",
        other: Some("liburcu-memb"),
        at_most: true,
        bound: 0.8,
    },
    Goal {
        workload: "sync",
        metric: "sync_median_us",
        krcu: "krcu-qsbr",
        other: Some("liburcu-qsbr"),
        at_most: true,
        bound: 1.0,
    },
    Goal {
        workload: "defer",
        metric: "calls_per_sec",
        krcu: "krcu-memb",
        other: Some("liburcu-memb"),
        at_most: false,
        bound: 2.0,
    },
    Goal {
        workload: "defer",
        metric: "peak_rss_mib",
        krcu: "krcu-memb",
        other: Some("liburcu-memb"),
        at_most: true,
        bound: 0.5,
    },
    Goal {
        workload: "defer",
        metric: "barrier_ms",
        krcu: "krcu-memb",
        other: None,
        at_most: true,
        bound: 10.0,
    },
    Goal {
        workload: "update",
        metric: "updates_per_sec",
        krcu: "krcu-memb",
        other: Some("liburcu-memb"),
        at_most: false,
        bound: 2.5,
    },
    Goal {
        workload: "update",
        metric: "updates_per_sec",
        krcu: "krcu-memb",
        other: Some("crossbeam-epoch"),
        at_most: false,
        bound: 1.0,
    },
];

/// The goals, as ratios of medians in this run.
fn print_goals(rows: &[Row]) {
    println!("\ngoals (ratios of medians in this run):");
    for t in [0, 1, 2] {
        for g in GOALS
            .iter()
            .filter(|g| reader_counts(g.workload).contains(&t))
        {
            let krcu = median_of(rows, g.workload, g.krcu, t, g.metric);
            let value = match g.other {
                Some(o) => krcu
                    .zip(median_of(rows, g.workload, o, t, g.metric))
                    .map(|(a, b)| a / b),
                None => krcu,
            };
            let name = format!(
                "{} {} {}{} {} {}",
                g.workload,
                g.metric,
                g.krcu,
                g.other.map(|o| format!(" / {o}")).unwrap_or_default(),
                if g.at_most { "<=" } else { ">=" },
                g.bound
            );
            match value {
                Some(v) => {
                    let met = if g.at_most {
                        v <= g.bound
                    } else {
                        v >= g.bound
                    };
                    println!(
                        "  [{}] {t} reader(s): {name}: {v:.3}",
                        if met { "met" } else { "MISSED" }
                    );
                }
                None => println!("  [n/a] {t} reader(s): {name}: not measured"),
            }
        }
    }
    let read1 = median_of(rows, "read", "krcu-memb", 1, "ns_per_read");
    let read2 = median_of(rows, "read", "krcu-memb", 2, "ns_per_read");
    if let (Some(a), Some(b)) = (read1, read2) {
        println!(
            "  [{}] read krcu-memb 2 readers / 1 reader (flat): {:.3}",
            if b / a <= 1.1 { "met" } else { "MISSED" },
            b / a
        );
    }
}

fn write_json(rows: &[Row], path: &Path) {
    let mut s = String::from("[\n");
    for (i, r) in rows.iter().enumerate() {
        let v = r.sorted();
        s += &format!(
            "  {{\"workload\": \"{}\", \"impl\": \"{}\", \"threads\": {}, \"metric\": \"{}\", \"value\": {}, \"unit\": \"{}\", \"min\": {}, \"max\": {}, \"runs\": {}}}{}\n",
            r.workload, r.imp, r.threads, r.metric, r.median(), r.unit, v[0], v[v.len() - 1], v.len(),
            if i + 1 < rows.len() { "," } else { "" }
        );
    }
    s += "]\n";
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).expect("create JSON directory");
    }
    std::fs::write(path, s).expect("write JSON");
}

/// One panel per (workload, metric, readers), one bar per implementation,
/// each panel scaled to its own maximum.
fn write_svg(rows: &[Row], path: &Path) {
    let mut groups: BTreeMap<(usize, String, usize), Vec<&Row>> = BTreeMap::new();
    for r in rows {
        let w = WORKLOADS.iter().position(|w| *w == r.workload).unwrap();
        groups
            .entry((w, r.metric.clone(), r.threads))
            .or_default()
            .push(r);
    }
    let (pw, ph, bar_h) = (460.0, 150.0, 18.0);
    let cols = 2;
    let n = groups.len();
    let (width, height) = (pw * cols as f64 + 20.0, ph * n.div_ceil(cols) as f64 + 40.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"10\" y=\"22\" font-size=\"15\">krcu side-by-side (medians; bars scaled per panel)</text>\n"
    );
    let colour = |imp: &str| match imp {
        "krcu-memb" => "#1f77b4",
        "krcu-qsbr" => "#6baed6",
        "liburcu-memb" => "#d62728",
        "liburcu-qsbr" => "#ff9896",
        "crossbeam-epoch" => "#2ca02c",
        _ => "#7f7f7f",
    };
    for (k, ((w, metric, t), mut rs)) in groups.into_iter().enumerate() {
        rs.sort_by_key(|r| IMPLS.iter().position(|i| *i == r.imp));
        let (x0, y0) = (10.0 + (k % cols) as f64 * pw, 40.0 + (k / cols) as f64 * ph);
        let max = rs.iter().map(|r| r.median()).fold(0.0, f64::max).max(1e-12);
        s +=
            &format!(
            "<text x=\"{x0}\" y=\"{}\" font-weight=\"bold\">{} / {} / {} reader(s) ({})</text>\n",
            y0 + 12.0, WORKLOADS[w], metric, t, rs[0].unit
        );
        for (j, r) in rs.iter().enumerate() {
            let y = y0 + 20.0 + j as f64 * (bar_h + 4.0);
            let len = (pw - 200.0) * r.median() / max;
            s += &format!(
                "<text x=\"{x0}\" y=\"{}\">{}</text><rect x=\"{}\" y=\"{y}\" width=\"{len:.1}\" height=\"{bar_h}\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
                y + 13.0, r.imp, x0 + 100.0, colour(r.imp), x0 + 104.0 + len, y + 13.0, fmt(r.median())
            );
        }
    }
    s += "</svg>\n";
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).expect("create SVG directory");
    }
    std::fs::write(path, s).expect("write SVG");
}
