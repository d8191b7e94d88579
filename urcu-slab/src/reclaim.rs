//! The reclaim helper: one thread ("krcu-kfree") that waits for the grace
//! periods of handed-off batches, sheaves and typesafe slabs and frees them;
//! runs the monitor that detaches idle threads' aged batches and restocks
//! blocks and empty sheaves; and answers barriers.
//!
//! Work arrives on the [`PendingStack`]. The helper keeps what it took in
//! arrival order and frees from the front: an item whose cookies have both
//! completed is freed; otherwise the helper waits for the front item's grace
//! periods (`cond_synchronize` of each flavor), so while there is a backlog
//! grace periods run back to back. A barrier's marker is answered when it
//! reaches the front: everything handed off before it has been freed.
//!
//! The helper sleeps on a futex when it has nothing to do; a producer rings
//! the doorbell only when the helper says it sleeps (a store-fence-load
//! handshake on each side, so a ring is never lost). While some thread has
//! an open batch, the sleep is bounded by the monitor period.

use crate::cache::CacheInner;
use crate::kfree_rcu;
use crate::pending::{Kind, PendingHead, PendingStack};
use crate::sheaf::Sheaf;
use crate::slab::{self, Slab};
use crate::thread::{self, ThreadSlab};
use parking_lot::Mutex;
use std::cell::Cell;
use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use urcu_core::futex;
use urcu_core::{memb, qsbr, GpCookie};

static PENDING: PendingStack = PendingStack::new();
/// The helper's futex word: bumped by every ring.
static DOORBELL: AtomicU32 = AtomicU32::new(0);
/// The helper is (about to be) asleep on DOORBELL.
static SLEEPING: AtomicBool = AtomicBool::new(false);
/// Some thread has an open batch: the helper runs its monitor.
static ARMED: AtomicBool = AtomicBool::new(false);
/// Monitor periods elapsed; batches record the tick of their first object.
pub(crate) static TICK: AtomicU64 = AtomicU64::new(0);
/// The monitor period in microseconds.
static MONITOR_US: AtomicU64 = AtomicU64::new(DEFAULT_MONITOR.as_micros() as u64);
/// How often the helper looks for aged batches: a batch waits at most about
/// two periods before it is handed off. The kernel's default is 20 ms
/// (`KFREE_DRAIN_JIFFIES`); a few ms keep idle memory low without waking
/// an idle process (the monitor sleeps when no batch is open).
pub const DEFAULT_MONITOR: Duration = Duration::from_millis(5);
/// Serialises steal rounds (barriers, the monitor).
static FLUSH: Mutex<()> = Mutex::new(());

// Counters written by the helper (or rarely by others), read by stats.
pub(crate) static FREED_BULK: AtomicU64 = AtomicU64::new(0);
pub(crate) static FREED_LIST: AtomicU64 = AtomicU64::new(0);
pub(crate) static FREED_SHEAF: AtomicU64 = AtomicU64::new(0);
pub(crate) static FREED_SYNC: AtomicU64 = AtomicU64::new(0);
pub(crate) static FREED_BYTES: AtomicU64 = AtomicU64::new(0);
pub(crate) static DOUBLE: AtomicU64 = AtomicU64::new(0);
pub(crate) static BATCHES: AtomicU64 = AtomicU64::new(0);
pub(crate) static SHEAVES_SUBMITTED: AtomicU64 = AtomicU64::new(0);
pub(crate) static GP_WAITS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static ON_HELPER: Cell<bool> = const { Cell::new(false) };
}

/// Whether the caller is the reclaim helper (running an `rcu_dtor`).
pub(crate) fn on_helper() -> bool {
    ON_HELPER.with(Cell::get)
}

/// Sets the monitor period (default [`DEFAULT_MONITOR`]); also
/// `KRCU_KFREE_MONITOR_MS` in the environment at first use.
pub fn set_monitor_period(period: Duration) {
    MONITOR_US.store(
        period.as_micros().clamp(100, 10_000_000) as u64,
        Ordering::Relaxed,
    );
    ring();
}

fn monitor_period() -> Duration {
    Duration::from_micros(MONITOR_US.load(Ordering::Relaxed))
}

/// Starts the helper once per process.
fn ensure_started() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        if let Some(ms) = std::env::var("KRCU_KFREE_MONITOR_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        {
            MONITOR_US.store(ms.clamp(1, 10_000) * 1000, Ordering::Relaxed);
        }
        let mut old = MaybeUninit::<libc::sigset_t>::uninit();
        let mut all = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigfillset initialises `all`; pthread_sigmask writes `old`.
        // The helper inherits the full mask: it takes locks, so no signal
        // handler may run on it. Restored below.
        unsafe {
            libc::sigfillset(all.as_mut_ptr());
            libc::pthread_sigmask(libc::SIG_BLOCK, all.as_ptr(), old.as_mut_ptr());
        }
        std::thread::Builder::new()
            .name("krcu-kfree".into())
            .spawn(helper)
            .unwrap_or_else(|e| panic!("krcu: cannot start the kfree_rcu helper thread: {e}"));
        // SAFETY: `old` was initialised above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), std::ptr::null_mut()) };
    });
}

/// Wakes the helper if it sleeps.
fn ring() {
    // SeqCst fence: orders the caller's preceding store (a push, a flag)
    // before the load of SLEEPING; pairs with the helper's fence between
    // its SLEEPING store and its re-check of the work.
    fence(Ordering::SeqCst);
    if SLEEPING.load(Ordering::Relaxed) {
        DOORBELL.fetch_add(1, Ordering::Release);
        futex::wake(&DOORBELL, 1);
    }
}

/// Wakes the helper for restocking work (blocks, empty sheaves).
pub(crate) fn kick() {
    ensure_started();
    ARMED.store(true, Ordering::Relaxed);
    ring();
}

/// Hands an item to the helper.
///
/// # Safety
///
/// `item` starts a pending item of its kind, owned by the helper from now.
pub(crate) unsafe fn submit(item: *mut PendingHead) {
    ensure_started();
    // SAFETY: the caller's contract.
    unsafe { PENDING.push(item) };
    ring();
}

/// Hands a typesafe-by-RCU cache's empty slab to the helper, to be unmapped
/// after a grace period.
pub(crate) fn submit_slab(slab: *mut Slab) {
    // SAFETY: an empty slab off its node: ours to hand off.
    unsafe {
        (*slab).cookies = kfree_rcu::stamp();
        submit(slab.cast());
    }
}

/// A thread's batch got its first object: note the tick, arm the monitor.
pub(crate) fn note_open_batch(ts: &ThreadSlab) {
    ts.batch_since
        .store(TICK.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    if !ARMED.load(Ordering::Relaxed) {
        kick();
    }
}

#[repr(C)]
struct Marker {
    head: PendingHead,
    done: AtomicU32,
}

/// kvfree_rcu_barrier(_on_cache): flush, then wait for a marker.
pub(crate) fn barrier(cache: Option<&CacheInner>) {
    kfree_rcu::forbid_sleep(if cache.is_some() {
        "kvfree_rcu_barrier_on_cache()"
    } else {
        "kvfree_rcu_barrier()"
    });
    {
        let _f = FLUSH.lock();
        let states = thread::all_states();
        thread::steal_round(&states, |ts| kfree_rcu::flush_thread(ts, cache, true));
    }
    let marker = Marker {
        head: PendingHead::new(Kind::Marker),
        done: AtomicU32::new(0),
    };
    // SAFETY: the marker lives on this frame until the helper sets `done`,
    // which is the last thing the helper reads or writes of it.
    unsafe { submit(&marker as *const Marker as *mut PendingHead) };
    // Acquire: pairs with the helper's Release store: everything it freed
    // before the marker is visible.
    while marker.done.load(Ordering::Acquire) == 0 {
        futex::wait(&marker.done, 0, None);
    }
}

fn cookies_of(item: *mut PendingHead) -> Option<[GpCookie; 2]> {
    // SAFETY: pending items are the helper's; the kind says what they are.
    unsafe {
        match (*item).kind {
            Kind::Batch => Some(kfree_rcu::batch_cookies(item)),
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
        Kind::Batch => unsafe { kfree_rcu::process_batch(item) },
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

/// A full `rcu_free` sheaf after its grace period: rcu_dtor on each object,
/// then to the barn as a full sheaf (or its objects to the slabs).
fn process_sheaf(sheaf: *mut Sheaf) {
    // SAFETY: the sheaf is the helper's; its cache outlives it (destroy
    // waits for its sheaves with a barrier).
    let s = unsafe { &mut *sheaf };
    let cache = unsafe { &*s.cache };
    for &obj in s.objects() {
        if let Some(dtor) = cache.rcu_dtor {
            // SAFETY: the object's grace period passed.
            unsafe { dtor(obj.cast()) };
        }
        if let Ok(o) = slab::find(obj) {
            o.clear_pending();
        }
        cache.poison_object(obj);
    }
    let n = s.size as u64;
    FREED_SHEAF.fetch_add(n, Ordering::Relaxed);
    FREED_BYTES.fetch_add(n * cache.size as u64, Ordering::Relaxed);
    // The objects are free now: count them as this (helper) thread's frees.
    thread::with_alloc_state(|ts| thread::bump(&ts.slot(cache.id).frees, n));
    cache.return_sheaf(sheaf);
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
        let _f = FLUSH.lock();
        thread::steal_round(&aged, kfree_rcu::detach_aged);
    }
    kfree_rcu::refill_block_pool();
    for cache in crate::cache::all_caches() {
        cache.stock_empty_sheaves();
    }
    // Disarm when no batch is open; the SeqCst fence pairs with the one in
    // ring() that a thread opening a batch runs after reading ARMED clear
    // (via kick), so either it sees ARMED clear and kicks, or we see its
    // batch below.
    ARMED.store(false, Ordering::Relaxed);
    fence(Ordering::SeqCst);
    if states
        .iter()
        .any(|ts| ts.batch_since.load(Ordering::Relaxed) != 0)
        || kfree_rcu::WANT_BLOCKS.load(Ordering::Relaxed)
    {
        ARMED.store(true, Ordering::Relaxed);
    }
}

fn helper() {
    ON_HELPER.with(|c| c.set(true));
    let mut fifo: VecDeque<*mut PendingHead> = VecDeque::new();
    let mut next_monitor = Instant::now() + monitor_period();
    loop {
        PENDING.take_all(|item| fifo.push_back(item));
        while let Some(&front) = fifo.front() {
            match cookies_of(front) {
                Some(c) if !completed(c) => break,
                _ => {
                    fifo.pop_front();
                    process(front);
                }
            }
        }
        let now = Instant::now();
        if now >= next_monitor {
            if ARMED.load(Ordering::Relaxed) {
                monitor();
            }
            next_monitor = now + monitor_period();
        }
        if let Some(&front) = fifo.front() {
            let c = cookies_of(front).expect("markers are processed at once");
            GP_WAITS.fetch_add(1, Ordering::Relaxed);
            memb::cond_synchronize(c[0]);
            qsbr::cond_synchronize(c[1]);
            continue;
        }
        let seen = DOORBELL.load(Ordering::Acquire);
        SLEEPING.store(true, Ordering::Relaxed);
        // SeqCst fence: pairs with ring()'s; either the producer sees
        // SLEEPING and rings, or we see its push here.
        fence(Ordering::SeqCst);
        if PENDING.is_empty() {
            let timeout = ARMED
                .load(Ordering::Relaxed)
                .then(|| next_monitor.saturating_duration_since(Instant::now()));
            futex::wait(&DOORBELL, seen, timeout);
        }
        SLEEPING.store(false, Ordering::Relaxed);
    }
}

/// Objects handed to kfree_rcu and not yet freed, and their bytes.
pub(crate) fn pending_counts() -> (u64, u64) {
    let (mut objs, mut bytes) = (0u64, 0u64);
    for ts in thread::all_states() {
        objs = objs.wrapping_add(ts.counters.rcu_objects.load(Ordering::Relaxed));
        bytes = bytes.wrapping_add(ts.counters.rcu_bytes.load(Ordering::Relaxed));
    }
    let freed = FREED_BULK.load(Ordering::Relaxed)
        + FREED_LIST.load(Ordering::Relaxed)
        + FREED_SHEAF.load(Ordering::Relaxed)
        + FREED_SYNC.load(Ordering::Relaxed);
    (
        objs.saturating_sub(freed),
        bytes.saturating_sub(FREED_BYTES.load(Ordering::Relaxed)),
    )
}
