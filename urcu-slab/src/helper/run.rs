//! The helper's loop: take what was handed off, free what its grace
//! periods allow, restock, run the monitor, and sleep.

use super::barrier::Marker;
use super::free::process_sheaf;
use super::pending::{Kind, PendingHead};
use super::start::{monitor_period, FLUSH, ON_HELPER};
use super::wake::{BELL, PENDING, QUEUED};
use crate::caches::Sheaf;
use crate::kfree_rcu;
use crate::memory::slab::{self, Slab};
use crate::stats::counters;
use crate::thread::{self, ThreadSlab};
use std::collections::VecDeque;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use urcu_core::__private::futex;
use urcu_core::{memb, qsbr, GpCookie};

/// Some thread has an open batch: the helper runs its monitor.
pub(crate) static ARMED: AtomicBool = AtomicBool::new(false);
/// Monitor periods elapsed; batches record the tick of their first object.
pub(crate) static TICK: AtomicU64 = AtomicU64::new(0);

/// Barriers waiting for their marker.
pub(crate) static BARRIERS: AtomicU64 = AtomicU64::new(0);

/// Restocking requested (see [`want_stock`]).
pub(crate) static STOCK: AtomicBool = AtomicBool::new(false);

fn restock() {
    kfree_rcu::block::refill_block_pool();
    for cache in crate::caches::pin_all() {
        cache.stock_empty_sheaves();
    }
}

fn cookies_of(item: *mut PendingHead) -> Option<[GpCookie; 2]> {
    // SAFETY: pending items are the helper's; the kind says what they are.
    unsafe {
        match (*item).kind {
            Kind::Batch => Some(kfree_rcu::batch::batch_cookies(item)),
            Kind::Sheaf => Some((*item.cast::<Sheaf>()).cookies),
            Kind::Slab => Some((*item.cast::<Slab>()).cookies),
            Kind::Marker => None,
        }
    }
}

fn completed(c: [GpCookie; 2]) -> bool {
    memb::poll_state(c[0]) && qsbr::poll_state(c[1])
}

/// Frees an item whose grace periods completed (or answers a marker).
fn process(item: *mut PendingHead) {
    // SAFETY: as in cookies_of.
    match unsafe { (*item).kind } {
        // SAFETY: a batch whose cookies completed.
        Kind::Batch => unsafe { kfree_rcu::batch::process_batch(item) },
        Kind::Sheaf => process_sheaf(item.cast()),
        // SAFETY: an empty typesafe slab whose grace period passed.
        Kind::Slab => unsafe { slab::release(item.cast()) },
        Kind::Marker => {
            let m = item.cast::<Marker>();
            // SAFETY: the barrier waits until `done` is set; the futex wake
            // only uses the address (a stale wake is harmless to waiters,
            // who re-check their word).
            unsafe {
                (*m).done.store(1, Ordering::Release);
                futex::wake(&(*m).done, i32::MAX);
            }
        }
    }
}

/// One monitor pass: hand off aged batches, restock blocks and sheaves.
fn monitor() {
    let tick = TICK.fetch_add(1, Ordering::Relaxed) + 1;
    let states = thread::all_states();
    // A batch opened at tick t (stored as t + 1) is aged once the tick has
    // moved past t + 1: it waited at least one whole period.
    let aged: Vec<&'static ThreadSlab> = states
        .iter()
        .copied()
        .filter(|ts| {
            let since = ts.batch_since.load(Ordering::Relaxed);
            since != 0 && since < tick
        })
        .collect();
    if !aged.is_empty() {
        tracing::trace!(
            target: "krcu::slab",
            threads = aged.len(),
            "krcu: monitor detaches aged kfree_rcu batches"
        );
        let _f = FLUSH.lock();
        thread::steal_round(&aged, kfree_rcu::batch::detach_aged);
    }
    restock();
    // Disarm when no batch is open; the SeqCst fence pairs with the one in
    // ring() that a thread opening a batch runs after reading ARMED clear
    // (via kick), so either it sees ARMED clear and kicks, or we see its
    // batch below.
    ARMED.store(false, Ordering::Relaxed);
    fence(Ordering::SeqCst);
    if states
        .iter()
        .any(|ts| ts.batch_since.load(Ordering::Relaxed) != 0)
        || kfree_rcu::block::WANT_BLOCKS.load(Ordering::Relaxed)
    {
        ARMED.store(true, Ordering::Relaxed);
    }
}

/// Objects waiting in the helper's queue that make it wait for grace
/// periods back to back rather than let more gather (a backlog): 16K
/// objects, 1 MiB of 64-byte objects.
pub(crate) const BACKLOG_OBJECTS: usize = 16 * 1024;
/// How long the oldest item may wait before the helper waits for its grace
/// period even without a backlog. Letting hand-offs gather this long makes
/// one grace period (a membarrier() and a scan) serve many of them.
const GATHER: Duration = Duration::from_millis(1);

/// A barrier waits: the helper stops gathering and runs grace periods now.
pub(crate) static URGENT: AtomicBool = AtomicBool::new(false);

struct Queued {
    item: *mut PendingHead,
    objects: usize,
    arrived: Instant,
}

pub(crate) fn objects_in(item: *mut PendingHead) -> usize {
    // SAFETY: as in cookies_of.
    unsafe {
        match (*item).kind {
            Kind::Batch => kfree_rcu::batch::batch_len(item),
            Kind::Sheaf => (*item.cast::<Sheaf>()).len(),
            Kind::Slab | Kind::Marker => 0,
        }
    }
}

pub(crate) fn helper() -> ! {
    ON_HELPER.with(|c| c.set(true));
    // rcu_dtors run here: inside a callback, for the rules of both crates.
    urcu_core::__private::mark_helper_thread();
    let mut fifo: VecDeque<Queued> = VecDeque::new();
    let mut queued_objects = 0usize;
    let mut next_monitor = Instant::now() + monitor_period();
    loop {
        crate::nolock::helper_pass();
        let now = Instant::now();
        PENDING.take_all(|item| {
            let objects = objects_in(item);
            queued_objects += objects;
            fifo.push_back(Queued {
                item,
                objects,
                arrived: now,
            });
        });
        while let Some(front) = fifo.front() {
            match cookies_of(front.item) {
                Some(c) if !completed(c) => break,
                _ => {
                    let q = fifo.pop_front().expect("front exists");
                    queued_objects -= q.objects;
                    process(q.item);
                    // An rcu_dtor may have read under either flavor.
                    urcu_core::__private::after_user_callback();
                    // Saturating: in a fork child the count restarts at
                    // zero while older items may still be on the stack.
                    let n = q.objects as u64;
                    let _ = QUEUED.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                        Some(v.saturating_sub(n))
                    });
                }
            }
        }
        if STOCK.swap(false, Ordering::Relaxed) {
            restock();
            // New slabs ran the caches' constructors: user code.
            urcu_core::__private::after_user_callback();
        }
        let now = Instant::now();
        if now >= next_monitor {
            if ARMED.load(Ordering::Relaxed) {
                monitor();
                urcu_core::__private::after_user_callback();
            }
            next_monitor = now + monitor_period();
        }
        let mut deadline = ARMED.load(Ordering::Relaxed).then_some(next_monitor);
        if let Some(front) = fifo.front() {
            let due = front.arrived + GATHER;
            if queued_objects >= BACKLOG_OBJECTS || now >= due || URGENT.load(Ordering::Relaxed) {
                let c = cookies_of(front.item).expect("markers are processed at once");
                counters::GP_WAITS.fetch_add(1, Ordering::Relaxed);
                memb::cond_synchronize(c[0]);
                qsbr::cond_synchronize(c[1]);
                continue;
            }
            deadline = Some(deadline.map_or(due, |d| d.min(due)));
        }
        // While items gather, only an urgent ring (a barrier, a restock)
        // should wake the helper: it says it sleeps only when idle, and
        // producers ring only then.
        let idle = fifo.is_empty();
        let seen = BELL.prepare_sleep(idle);
        let work = (idle && !PENDING.is_empty()) || crate::nolock::has_work();
        if !work && !STOCK.load(Ordering::Relaxed) && !URGENT.load(Ordering::Relaxed) {
            let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            futex::wait(&BELL.word, seen, timeout);
        }
        BELL.awake();
    }
}
