//! `RcuCell` values without drop glue are retired on the updating thread
//! and their nodes reused there (the core's retire.rs). From the outside:
//! a reused node is never one a reader still holds, nothing is lost when
//! the updating thread exits, and what a thread holds stays bounded.
//!
//! A counting global allocator tells how many bytes are live.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use urcu_core::{Flavor, Memb, Qsbr, RcuCell};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator, counting bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The tests measure live bytes: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const WORDS: usize = 8;

/// Readers hold each value for a while and check it never changes under
/// them, while writers replace it as fast as they can: a node reused
/// before its grace period ended shows up as a value that changed.
fn reuse_never_hits_a_reader<F: Flavor>() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cell: Arc<RcuCell<[u64; WORDS], F>> = Arc::new(RcuCell::new([0; WORDS]));
    let stop = Arc::new(AtomicBool::new(false));
    let torn = Arc::new(AtomicU64::new(0));
    let reads = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (cell, stop, torn, reads) =
                (cell.clone(), stop.clone(), torn.clone(), reads.clone());
            std::thread::spawn(move || {
                let _r = F::register_thread();
                while !stop.load(Ordering::Relaxed) {
                    {
                        let g = F::read_lock();
                        let v = cell.load(&g).expect("never empty");
                        let first = v[0];
                        for _ in 0..200 {
                            if v.iter().any(|&w| w != first) {
                                torn.fetch_add(1, Ordering::Relaxed);
                            }
                            std::hint::spin_loop();
                        }
                        reads.fetch_add(1, Ordering::Relaxed);
                    }
                    if F::NAME == "qsbr" {
                        urcu_core::qsbr::quiescent_state();
                    }
                }
                if F::NAME == "qsbr" {
                    urcu_core::qsbr::thread_offline();
                }
            })
        })
        .collect();
    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let (cell, stop) = (cell.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = w << 40;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    cell.store([i; WORDS]);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    for t in readers.into_iter().chain(writers) {
        t.join().unwrap();
    }
    assert!(reads.load(Ordering::Relaxed) > 0);
    assert_eq!(
        torn.load(Ordering::Relaxed),
        0,
        "{}: a value changed under a read guard (a node reused too early)",
        F::NAME
    );
}

#[test]
fn memb_reused_nodes_never_change_under_a_reader() {
    reuse_never_hits_a_reader::<Memb>();
}

#[test]
fn qsbr_reused_nodes_never_change_under_a_reader() {
    reuse_never_hits_a_reader::<Qsbr>();
}

/// A thread that updates and exits leaves nothing behind once a barrier
/// has run: what it held went to the callback thread.
fn exit_loses_nothing<F: Flavor>() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cell: Arc<RcuCell<[u64; WORDS], F>> = Arc::new(RcuCell::new([0; WORDS]));
    // Settle: the helpers started, their own allocations made.
    cell.store([1; WORDS]);
    F::barrier();
    std::thread::sleep(Duration::from_millis(20));
    let baseline = LIVE.load(Ordering::Relaxed);
    // A reader holds every grace period up while the updater runs, so the
    // updater still holds its last batches (up to 16 MiB) when it exits.
    let (inside_tx, inside_rx) = std::sync::mpsc::channel();
    let (leave_tx, leave_rx) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        let _r = F::register_thread();
        let g = F::read_lock();
        inside_tx.send(()).unwrap();
        leave_rx.recv().unwrap();
        drop(g);
        if F::NAME == "qsbr" {
            urcu_core::qsbr::thread_offline();
        }
    });
    inside_rx.recv().unwrap();
    let c = cell.clone();
    std::thread::spawn(move || {
        for i in 0..100_000 {
            c.store([i; WORDS]);
        }
    })
    .join()
    .unwrap();
    leave_tx.send(()).unwrap();
    reader.join().unwrap();
    let before = LIVE.load(Ordering::Relaxed);
    F::barrier();
    F::barrier();
    let after = LIVE.load(Ordering::Relaxed);
    // 100K nodes of 80 bytes were retired; what may stay beyond the
    // baseline is the cell's value and the helpers' own bookkeeping.
    assert!(
        after - baseline < 256 << 10,
        "{}: {after} bytes live after the updating thread exited and two barriers ran ({before} before them, {baseline} at the start)",
        F::NAME
    );
    drop(cell);
}

#[test]
fn memb_an_exiting_updater_loses_nothing() {
    exit_loses_nothing::<Memb>();
}

#[test]
fn qsbr_an_exiting_updater_loses_nothing() {
    exit_loses_nothing::<Qsbr>();
}

/// While a reader holds a grace period up, an updater's thread-local
/// batches stay bounded: the rest goes to the callback queue (and is freed
/// once the reader leaves).
#[test]
fn what_an_updater_holds_is_bounded_while_a_reader_blocks() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cell: Arc<RcuCell<[u64; WORDS]>> = Arc::new(RcuCell::new([0; WORDS]));
    let (inside_tx, inside_rx) = std::sync::mpsc::channel();
    let (leave_tx, leave_rx) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        let g = urcu_core::memb::read_lock();
        inside_tx.send(()).unwrap();
        leave_rx.recv().unwrap();
        drop(g);
    });
    inside_rx.recv().unwrap();
    let queued0 = Memb::stats().callbacks_queued;
    let start = Instant::now();
    for i in 0..400_000u64 {
        cell.store([i; WORDS]);
    }
    // 400K nodes of 80 bytes is 32 MB: more than a thread keeps (16 MiB),
    // so batches went to the callback queue.
    let handed = Memb::stats().callbacks_queued - queued0;
    assert!(
        handed > 0,
        "no batch was handed to the callback thread in {:?}",
        start.elapsed()
    );
    leave_tx.send(()).unwrap();
    reader.join().unwrap();
    urcu_core::memb::barrier();
}
