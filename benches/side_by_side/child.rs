//! The child side: one cell of the benchmark in a fresh process (this
//! binary re-executed with `--child IMPL WORKLOAD THREADS DEFER_COUNT`),
//! which prints `metric value unit` lines; and what the workloads share.

use crate::model::{Impl, Workload};
use crate::workloads;
use krcu::rcu::{memb, qsbr, Flavor, Memb, Qsbr, RcuCell, RcuHead};
use std::hint::black_box;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn child(args: &[String]) {
    let imp =
        Impl::from_name(&args[0]).unwrap_or_else(|| panic!("unknown implementation {}", args[0]));
    let workload =
        Workload::from_name(&args[1]).unwrap_or_else(|| panic!("unknown workload {}", args[1]));
    let threads: usize = args[2].parse().expect("threads");
    let defer_count: u64 = args[3].parse().expect("defer count");
    match workload {
        Workload::Read => workloads::read::run(imp, threads),
        Workload::Sync => workloads::sync::run(imp, threads),
        Workload::Defer => workloads::defer::run(imp, threads, defer_count),
        Workload::Update => workloads::update::run(imp, threads),
        Workload::Kfree => workloads::kfree::run(imp, threads, defer_count),
        Workload::Alloc => workloads::alloc::run(imp),
        Workload::Nolock => workloads::nolock::run(imp),
        Workload::Scan => workloads::scan::run(imp, threads),
        Workload::Compat => workloads::compat::run(imp, threads),
    }
    let _ = memb::uses_membarrier();
    std::io::stdout().flush().unwrap();
}

/// An implementation this binary does not run for the workload.
pub fn not_here(imp: Impl, workload: Workload) -> ! {
    panic!(
        "{} does not run the {} workload",
        imp.name(),
        workload.name()
    )
}

pub const READ_TIME: Duration = Duration::from_millis(300);
pub const SYNC_TIME: Duration = Duration::from_millis(300);
pub const UPDATE_TIME: Duration = Duration::from_millis(500);
/// Reads between qsbr quiescent states (liburcu's tests announce as often).
pub const QS_EVERY: usize = 1024;

/// The 64-byte object the defer and update workloads allocate.
#[repr(C)]
pub struct Obj {
    pub head: RcuHead,
    pub data: [u64; 6],
}

/// Objects allocated and freed per round of the alloc workload.
pub const ALLOC_BATCH: usize = 100;
/// Rounds of the alloc workload.
pub const ALLOC_ROUNDS: usize = 100_000;

/// The 64-byte object of the kfree workload: an 8-byte link and data.
#[repr(C)]
pub struct KObj {
    pub rcu: krcu::slab::RcuPtr,
    pub data: [u64; 7],
}

pub struct Readers {
    stop: Arc<AtomicBool>,
    /// Readers that have registered and are about to loop.
    running: Arc<std::sync::atomic::AtomicUsize>,
    handles: Vec<std::thread::JoinHandle<f64>>,
}

impl Readers {
    /// Starts `n` reader threads running `body` in a loop; each returns its
    /// nanoseconds per read.
    pub fn start<B>(n: usize, body: B) -> Readers
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

    pub fn finish(self) -> f64 {
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
pub fn read_loop(
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

pub fn new_obj(v: u64) -> Box<Obj> {
    Box::new(Obj {
        head: RcuHead::new(),
        data: [v, 0, 0, 0, 0, 0],
    })
}

pub unsafe extern "C" fn free_obj(head: *mut RcuHead) {
    // SAFETY: head is the first field of a Box<Obj> queued once.
    drop(unsafe { Box::from_raw(head as *mut Obj) });
}

pub fn out(metric: &str, value: f64, unit: &str) {
    println!("{metric} {value} {unit}");
}

/// Prints a deferral loop's rate (`count` calls from `t0` to `t1`) and how
/// long the barrier after it took (from `t1` to now).
pub fn out_deferral(count: u64, t0: Instant, t1: Instant) {
    out(
        "calls_per_sec",
        count as f64 / (t1 - t0).as_secs_f64(),
        "1/s",
    );
    out("barrier_ms", t1.elapsed().as_secs_f64() * 1e3, "ms");
}

/// Runs `update(i)` for UPDATE_TIME and prints the rate.
#[inline(always)]
pub fn timed_updates(mut update: impl FnMut(u64)) {
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

pub fn sync_latencies(mut sync: impl FnMut()) {
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

/// What a krcu reader thread of the benchmark does per flavor: a qsbr
/// reader announces a quiescent state between reads and goes offline at the
/// end; a memb reader does neither.
pub trait ReaderSteps: Flavor {
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

/// krcu readers (flavor `F`) on a shared cell: starts `threads` of them,
/// runs `body` with the cell, stops them; returns their ns per read.
pub fn with_krcu_readers<F: ReaderSteps>(
    threads: usize,
    body: impl FnOnce(&RcuCell<[u64; 6], F>),
) -> f64 {
    // Leaked, as the C driver's `shared` is a global: the readers reach
    // the cell at a fixed address, with no reference count to follow.
    let cell: &'static RcuCell<[u64; 6], F> = Box::leak(Box::new(RcuCell::new([1; 6])));
    let c = cell;
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
    body(cell);
    readers.finish()
}

/// crossbeam-epoch readers on a shared pointer: as [`with_krcu_readers`].
pub fn with_crossbeam_readers(
    threads: usize,
    body: impl FnOnce(&crossbeam_epoch::Atomic<[u64; 6]>),
) -> f64 {
    use crossbeam_epoch::{self as epoch, Atomic};
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
    body(&shared);
    readers.finish()
}
