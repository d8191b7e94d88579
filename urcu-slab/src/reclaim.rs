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
use crate::doorbell::{self, Doorbell};
use crate::kfree_rcu;
use crate::lock::Mutex;
use crate::pending::{Kind, PendingHead, PendingStack};
use crate::sheaf::Sheaf;
use crate::slab::{self, Slab};
use crate::thread::{self, ThreadSlab};
use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use urcu_core::__private::futex;
use urcu_core::{memb, qsbr, GpCookie};

// Orderings of the helper's flags. The work itself travels on the pending
// stack (Release push, Acquire take) or under locks (barns, the block
// pool), and threads read their own descriptors' in_flight with Acquire.
// ARMED, STOCK, URGENT and the tick are hints, stored Relaxed and delivered
// by the ring that follows them (see doorbell.rs for the ring's handshake):
// a hint set before a ring is seen by the helper's next pass. Counters are
// Relaxed statistics.

static PENDING: PendingStack = PendingStack::new();
/// The helper's doorbell (doorbell.rs).
static BELL: Doorbell = Doorbell::new();
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
/// Serialises the walks that take other threads' state locks: steal
/// rounds (barriers, the monitor) and a destroyed cache's clean-up. The
/// fork handlers take it, so no such walk holds a state's lock across a
/// fork (a pooled state, which the child keeps, would stay locked there).
static FLUSH: Mutex<()> = Mutex::new(());

/// Runs `f` with other threads' state locks ours to take (see FLUSH).
pub(crate) fn with_state_walk<R>(f: impl FnOnce() -> R) -> R {
    let _f = FLUSH.lock();
    f()
}

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
pub(crate) static THROTTLED: AtomicU64 = AtomicU64::new(0);

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

/// Whether the helper runs (in this process: cleared in a fork child).
static STARTED: AtomicBool = AtomicBool::new(false);
/// Serialises starting the helper; taken around fork.
static START: Mutex<()> = Mutex::new(());

/// Whether the helper runs (a `_nolock` call may hand work off only then).
#[inline]
pub(crate) fn started() -> bool {
    // Acquire: as in ensure_started.
    STARTED.load(Ordering::Acquire)
}

/// Starts the helper once per process (and once more in a fork child).
#[inline]
pub(crate) fn ensure_started() {
    // Acquire: pairs with the Release store after the spawn.
    if !STARTED.load(Ordering::Acquire) {
        start();
    }
}

#[cold]
fn start() {
    // Before START is taken: the fork handlers take it (see fork.rs).
    crate::fork::install();
    let _s = START.lock();
    if STARTED.load(Ordering::Relaxed) {
        return;
    }
    if let Some(ms) = std::env::var("KRCU_KFREE_MONITOR_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        MONITOR_US.store(ms.clamp(1, 10_000) * 1000, Ordering::Relaxed);
    }
    // Signals blocked, as every krcu helper: it takes locks, so no signal
    // handler may run on it.
    urcu_core::__private::spawn_helper("krcu-kfree", || {
        // A panic here (a corrupted object found while freeing, a
        // panicking rcu_dtor) would leave barriers waiting forever.
        if std::panic::catch_unwind(helper).is_err() {
            urcu_core::__private::die(&[
                "the kfree_rcu helper thread panicked (see above); aborting, since no deferred free or barrier could complete",
            ]);
        }
    });
    STARTED.store(true, Ordering::Release);
}

/// Before fork: no helper start and no steal round may be in progress.
pub(crate) fn lock_for_fork() {
    std::mem::forget(START.lock());
    std::mem::forget(FLUSH.lock());
}

/// After fork, in either process: releases what [`lock_for_fork`] took.
///
/// # Safety
///
/// Called once after `lock_for_fork`, by the thread that forked.
pub(crate) unsafe fn unlock_after_fork() {
    // SAFETY: locked (and the guards forgotten) by lock_for_fork on this
    // thread.
    unsafe {
        FLUSH.force_unlock();
        START.force_unlock();
    }
}

/// In a fork child: the helper does not exist here. Whatever it held is
/// abandoned (the child's copy leaks); what was still on the pending stack
/// is freed by a new helper, started by the next call that needs it.
pub(crate) fn after_fork_child() {
    STARTED.store(false, Ordering::Relaxed);
    BELL.reset();
    ARMED.store(false, Ordering::Relaxed);
    STOCK.store(false, Ordering::Relaxed);
    URGENT.store(false, Ordering::Relaxed);
    BARRIERS.store(0, Ordering::Relaxed);
    QUEUED.store(0, Ordering::Relaxed);
    crate::nolock::after_fork_child();
}

/// Wakes the helper if it sleeps (after the caller published work), or
/// records the ring for the end of this thread's scope.
fn ring() {
    if deferring(doorbell::IF_SLEEPING) {
        return;
    }
    BELL.ring();
}

/// Records a ring for later if this thread is inside a [`defer_wakes`]
/// scope. Never in a `_nolock` call, which may be a signal handler that
/// interrupted the owner anywhere, even between the two steps that close
/// the scope: only the owner writes its scope (see doorbell.rs). The
/// orphan state never defers.
fn deferring(kind: u8) -> bool {
    let Some(ts) = thread::current_if_set() else {
        return false;
    };
    if ts.is_orphan() || ts.in_nolock_call() {
        return false;
    }
    ts.wake_scope.defer(kind)
}

/// Runs `f` (a kfree_rcu path, inside `ts`'s busy window; `ts` is this
/// thread's own state, not the orphan) with the helper's wakes deferred
/// until it returns. A futex wake inside the window would let the woken
/// helper preempt this thread there; a flusher would then wait for the
/// window, and the window for the flusher's CPU: making the wake afterwards
/// keeps the window short.
#[inline(always)]
pub(crate) fn defer_wakes<R>(ts: &ThreadSlab, f: impl FnOnce() -> R) -> R {
    /// Closes the scope and makes the recorded ring, also if `f` unwinds.
    struct Scope<'a>(&'a ThreadSlab, u8);
    impl Drop for Scope<'_> {
        #[inline(always)]
        fn drop(&mut self) {
            let kind = self.0.wake_scope.close(self.1);
            if kind != doorbell::NONE {
                ring_deferred(kind);
            }
        }
    }
    debug_assert!(!ts.is_orphan());
    let _scope = Scope(ts, ts.wake_scope.open());
    f()
}

#[cold]
fn ring_deferred(kind: u8) {
    if kind == doorbell::ALWAYS {
        BELL.ring_always();
    } else {
        BELL.ring();
    }
}

/// Arms the monitor and wakes the helper.
fn kick() {
    ensure_started();
    ARMED.store(true, Ordering::Relaxed);
    ring();
}

/// Some cache wants empty sheaves, or the block pool ran dry: the helper
/// restocks at once (not at the next monitor tick), since the callers fall
/// back to slower paths until it has.
pub(crate) fn want_stock() {
    ensure_started();
    STOCK.store(true, Ordering::Relaxed);
    ring_urgent();
}

/// Barriers waiting for their marker.
static BARRIERS: AtomicU64 = AtomicU64::new(0);

/// Restocking requested (see [`want_stock`]).
static STOCK: AtomicBool = AtomicBool::new(false);

fn restock() {
    kfree_rcu::refill_block_pool();
    for cache in crate::cache::pin_all() {
        cache.stock_empty_sheaves();
    }
}

/// Hands an item to the helper.
///
/// # Safety
///
/// `item` starts a pending item of its kind, owned by the helper from now.
pub(crate) unsafe fn submit(item: *mut PendingHead) {
    ensure_started();
    let n = objects_in(item) as u64;
    // Relaxed: a gauge; the item itself is published by the push.
    let before = QUEUED.fetch_add(n, Ordering::Relaxed);
    // SAFETY: the caller's contract.
    unsafe { PENDING.push(item) };
    if before < BACKLOG_OBJECTS as u64 && before + n >= BACKLOG_OBJECTS as u64 {
        // A backlog began: wake the helper even if it is letting items
        // gather.
        ring_urgent();
    } else {
        ring();
    }
}

/// Objects handed to the helper and not yet freed.
static QUEUED: AtomicU64 = AtomicU64::new(0);

/// Objects queued beyond which a kfree_rcu caller yields the CPU to the
/// helper (64K objects, 4 MiB of 64-byte objects): on a machine with fewer
/// cores than busy threads, a flood would otherwise outrun the helper and
/// the memory waiting for grace periods would grow without bound.
const THROTTLE_OBJECTS: u64 = 96 * 1024;
/// Most yields per call.
const THROTTLE_YIELDS: u32 = 16;

/// Called by kfree_rcu outside any krcu read section: while the helper is
/// far behind, give it the CPU (a few times at most; never blocks).
#[inline]
pub(crate) fn throttle() {
    // Relaxed: a heuristic gauge.
    if QUEUED.load(Ordering::Relaxed) > THROTTLE_OBJECTS {
        throttle_slow();
    }
}

#[cold]
fn throttle_slow() {
    if on_helper() || memb::in_read_section() {
        return;
    }
    tracing::trace!(
            target: "krcu::slab",
        queued = QUEUED.load(Ordering::Relaxed),
        "krcu: kfree_rcu caller yields to the helper"
    );
    for _ in 0..THROTTLE_YIELDS {
        if QUEUED.load(Ordering::Relaxed) <= THROTTLE_OBJECTS {
            break;
        }
        THROTTLED.fetch_add(1, Ordering::Relaxed);
        std::thread::yield_now();
    }
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

/// kvfree_rcu_barrier(_on_cache): flush, then wait for a marker. `what`
/// names the public call, for the misuse message.
///
/// The helper waits for grace periods of both flavors before it answers,
/// so an online qsbr caller goes offline for the whole barrier (as
/// `qsbr::barrier` does): a qsbr grace period would otherwise wait for this
/// thread, which waits for the helper.
#[track_caller]
pub(crate) fn barrier(cache: Option<&CacheInner>, what: &str) {
    kfree_rcu::forbid_sleep(what);
    qsbr::offline(|| barrier_offline(cache));
}

fn barrier_offline(cache: Option<&CacheInner>) {
    ensure_started();
    // Objects `_nolock` calls deferred before this barrier started: the
    // helper queues them (and hands them off) before the marker below.
    crate::nolock::drain_for_barrier();
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
    BARRIERS.fetch_add(1, Ordering::Relaxed);
    URGENT.store(true, Ordering::Relaxed);
    ring_urgent();
    // Acquire: pairs with the helper's Release store: everything it freed
    // before the marker is visible.
    while marker.done.load(Ordering::Acquire) == 0 {
        futex::wait(&marker.done, 0, None);
    }
    if BARRIERS.fetch_sub(1, Ordering::Relaxed) == 1 {
        URGENT.store(false, Ordering::Relaxed);
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
        // Free now, in a sheaf: the mark a free would have set.
        crate::freemark::mark(cache.free_key, obj, cache.freeptr);
    }
    let n = s.len() as u64;
    FREED_SHEAF.fetch_add(n, Ordering::Relaxed);
    FREED_BYTES.fetch_add(n * cache.size as u64, Ordering::Relaxed);
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
        tracing::trace!(
            target: "krcu::slab",
            threads = aged.len(),
            "krcu: monitor detaches aged kfree_rcu batches"
        );
        let _f = FLUSH.lock();
        thread::steal_round(&aged, kfree_rcu::detach_aged);
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
        || kfree_rcu::WANT_BLOCKS.load(Ordering::Relaxed)
    {
        ARMED.store(true, Ordering::Relaxed);
    }
}

/// Objects waiting in the helper's queue that make it wait for grace
/// periods back to back rather than let more gather (a backlog): 16K
/// objects, 1 MiB of 64-byte objects.
const BACKLOG_OBJECTS: usize = 16 * 1024;
/// How long the oldest item may wait before the helper waits for its grace
/// period even without a backlog. Letting hand-offs gather this long makes
/// one grace period (a membarrier() and a scan) serve many of them.
const GATHER: Duration = Duration::from_millis(1);

/// A barrier waits: the helper stops gathering and runs grace periods now.
static URGENT: AtomicBool = AtomicBool::new(false);

struct Queued {
    item: *mut PendingHead,
    objects: usize,
    arrived: Instant,
}

fn objects_in(item: *mut PendingHead) -> usize {
    // SAFETY: as in cookies_of.
    unsafe {
        match (*item).kind {
            Kind::Batch => kfree_rcu::batch_len(item),
            Kind::Sheaf => (*item.cast::<Sheaf>()).len(),
            Kind::Slab | Kind::Marker => 0,
        }
    }
}

fn helper() -> ! {
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
                GP_WAITS.fetch_add(1, Ordering::Relaxed);
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

/// Wakes the helper whatever it is doing (barriers, restocking).
fn ring_urgent() {
    if deferring(doorbell::ALWAYS) {
        return;
    }
    BELL.ring_always();
}

/// Wakes the helper whatever it is doing, from any context (a signal
/// handler included): an atomic increment and a futex wake, never deferred
/// to the end of a busy window (the caller may have interrupted one).
pub(crate) fn wake_from_anywhere() {
    BELL.ring_always();
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
