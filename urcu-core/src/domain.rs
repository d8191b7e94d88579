//! A flavor's process-wide domain: its grace-period sequence, registry,
//! callback queue and helper threads.
//!
//! # Grace periods
//!
//! The sequence number ([`crate::seq`]) is the one truth: a grace period
//! moves it from idle to in-progress and on to the next idle value, always
//! under `gp_lock`. Anyone may run one: a `synchronize()` caller leads a grace
//! period itself when none satisfies its cookie (as liburcu's first waiter
//! does: no hand-off latency), and the helper thread runs them for callbacks
//! and polled cookies. Callers that arrive while one runs queue on `gp_lock`
//! and find their cookie satisfied when they get it, so concurrent callers
//! share grace periods.
//!
//! One grace period:
//!
//! 1. advance the sequence to in-progress;
//! 2. master fence: updates made before the cookie was taken are visible to
//!    every reader that starts after this point, and every reader that
//!    started before it is visible to the scan;
//! 3. advance the readers' counter ([`crate::reader`]);
//! 4. snapshot the registry and wait until no reader is *old*, spinning
//!    briefly, then sleeping on the counter's futex (readers wake it), with
//!    stall reports past the stall timeout;
//! 5. master fence: the readers' critical sections are complete before what
//!    follows (on x86-64 with membarrier, TSO already guarantees this and
//!    only the compiler needs fencing; see [`Domain::fence_after_scan`]);
//! 6. advance the sequence to idle (`Release`: a poller that sees it sees 5).
//!
//! # Locks
//!
//! std's futex mutexes, not parking_lot's, because the fork handlers hold
//! them across `fork()` and unlock them in the child, where parking_lot's
//! unlock path may need its global parking table, whose locks another thread
//! of the parent may have held. Order: `start_lock`, `work`, `invoking`,
//! `ready`, `gp_lock`, `registry`; each is held only as long as its comment
//! says.

use crate::entry::{Entry, Passes};
use crate::head::{RcuCallback, RcuHead};
use crate::once::ForkOnce;
use crate::primitive::{fence, AtomicBool, AtomicU32, AtomicU64};
use crate::queue::{Batch, CallbackQueue};
use crate::reader::{
    self, GpCounter, ReaderRecord, ReaderState, RegistryGeneration, CTR_STEP, GP_WAITING,
};
use crate::registry::Registry;
use crate::seq::{self, GpCookie};
use crate::sleep::SleepFlag;
use crate::sys::{futex, membarrier};
use crossbeam_utils::CachePadded;
use std::collections::VecDeque;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Spins over the reader scan before a writer sleeps on the futex; liburcu's
/// `RCU_QS_ACTIVE_ATTEMPTS`. Readers in short sections are caught here.
const ACTIVE_ATTEMPTS: u32 = 100;

/// Default stall timeout; `KRCU_STALL_TIMEOUT_MS` overrides it.
const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Yields per check at most: `call_rcu` slows a flood but never blocks, even
/// when a stalled reader holds every grace period.
const BACKLOG_MAX_YIELDS: u32 = 64;
/// Callbacks queued and not yet invoked above which `call_rcu` gives its CPU
/// to the helper threads. About 10 MiB of 64-byte objects: enough to batch
/// well, small enough that a flood of call_rcu from threads that keep every
/// CPU busy does not grow memory without bound while the helpers wait for a
/// time slice.
const BACKLOG_HIGH_WATER: u64 = 1 << 17;
/// How often (in calls) `call_rcu` looks at the backlog: the check reads a
/// counter the callback thread writes.
const BACKLOG_CHECK_EVERY: u64 = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FlavorKind {
    Memb,
    Qsbr,
}

/// Whether memb writers use membarrier. Set once, inside memb's
/// `ensure_init`, which every grace period and every registration passes
/// through first (the `Once` orders it), so Relaxed loads see it.
static USE_MEMBARRIER: AtomicBool = AtomicBool::new(false);

/// Stall timeout in milliseconds, shared by both flavors; 0 = not yet read.
static STALL_TIMEOUT_MS: AtomicU64 = AtomicU64::new(0);

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic under one of these locks is a krcu bug reported by that panic;
    // the protected state is still consistent (every critical section is a
    // few plain updates), so keep going rather than cascade.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Callback batches waiting for their grace period, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    batches: VecDeque<(u64, Batch)>,
}

/// Scratch space of the grace-period runner, reused across grace periods.
#[derive(Debug)]
pub(crate) struct GpScratch {
    /// Every registered entry, as of registry generation `generation`.
    registered: Vec<&'static Entry>,
    generation: u64,
    /// The records the running grace period still waits for.
    readers: Vec<&'static Entry>,
}

pub(crate) struct Domain {
    pub(crate) kind: FlavorKind,
    pub(crate) name: &'static str,
    /// The counter readers snapshot; see `reader`. A static of the
    /// flavor's own, which its read side reaches at a link-time address.
    pub(crate) gp: &'static CachePadded<GpCounter>,
    /// The grace-period sequence; written only under `gp_lock`.
    seq: CachePadded<AtomicU64>,
    /// The furthest cookie asked for by `start_poll`; the helper serves it.
    needed: AtomicU64,
    /// Registered threads. Held for registration, unregistration, and the
    /// writer's snapshot when the registry changed; never while waiting.
    pub(crate) registry: Mutex<Registry>,
    /// Bumped by every registration and unregistration, so that a grace
    /// period takes the registry lock only when the registry changed:
    /// back-to-back grace periods taking it every time starve registering
    /// threads of std's unfair mutex.
    registry_generation: RegistryGeneration,
    /// The writer's scan passes over reader words (see entry.rs).
    passes: Passes,
    /// Serializes grace periods; held for the whole of one.
    gp_lock: Mutex<GpScratch>,
    /// `call_rcu`'s queue.
    callbacks: CachePadded<CallbackQueue>,
    /// Callbacks queued, and invoked (user callbacks only, not barriers).
    cb_queued: CachePadded<AtomicU64>,
    cb_invoked: AtomicU64,
    stalls: AtomicU64,
    init: ForkOnce,
    /// Guards the lazy start of the helper threads.
    start_lock: Mutex<()>,
    started: AtomicBool,
    /// The grace-period helper's state; held by the helper while it works
    /// (splicing, running a grace period, handing batches on), not asleep.
    work: Mutex<Pending>,
    /// Held by the reclaim thread while it invokes a batch.
    invoking: Mutex<()>,
    /// Batches whose grace period has ended; held to push or pop.
    ready: Mutex<VecDeque<Batch>>,
    gp_sleep: SleepFlag,
    reclaim_sleep: SleepFlag,
}

/// Counters of one flavor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Grace periods completed.
    pub gp_completed: u64,
    /// Callbacks queued by `call_rcu` (and `defer`, `RcuCell` updates).
    pub callbacks_queued: u64,
    /// Callbacks invoked.
    pub callbacks_invoked: u64,
    /// Callbacks queued and not yet invoked.
    pub callback_backlog: u64,
    /// Grace periods that exceeded the stall timeout.
    pub stalls: u64,
    /// Threads registered with this flavor.
    pub registered_threads: u64,
}

impl Domain {
    pub(crate) const fn new(
        kind: FlavorKind,
        name: &'static str,
        gp: &'static CachePadded<GpCounter>,
    ) -> Self {
        Domain {
            kind,
            name,
            gp,
            seq: CachePadded::new(AtomicU64::new(0)),
            needed: AtomicU64::new(0),
            registry: Mutex::new(Registry::new()),
            registry_generation: RegistryGeneration::new(),
            passes: Passes::new(),
            gp_lock: Mutex::new(GpScratch {
                registered: Vec::new(),
                generation: 0,
                readers: Vec::new(),
            }),
            callbacks: CachePadded::new(CallbackQueue::new()),
            cb_queued: CachePadded::new(AtomicU64::new(0)),
            cb_invoked: AtomicU64::new(0),
            stalls: AtomicU64::new(0),
            init: ForkOnce::new(),
            start_lock: Mutex::new(()),
            started: AtomicBool::new(false),
            work: Mutex::new(Pending {
                batches: VecDeque::new(),
            }),
            invoking: Mutex::new(()),
            ready: Mutex::new(VecDeque::new()),
            gp_sleep: SleepFlag::new(),
            reclaim_sleep: SleepFlag::new(),
        }
    }

    /// One-time start: membarrier registration (memb), configuration, fork
    /// handlers. Runs before any reader of this flavor registers.
    pub(crate) fn ensure_init(&'static self) {
        // Before the first lock of this domain is taken, and outside the
        // once (see fork.rs).
        crate::fork::install();
        // The closure may run again in a fork child that caught it
        // running: membarrier registration and the switches are the same
        // the second time.
        self.init.call_once(|| {
            if self.kind == FlavorKind::Memb {
                let forced = std::env::var_os("KRCU_FORCE_FENCE").is_some_and(|v| v == "1");
                if !forced && membarrier::register_private_expedited() {
                    // Writers switch to membarrier before readers drop their
                    // fences: a reader that sees READER_FENCES false (through
                    // the registry mutex it takes next) is covered.
                    USE_MEMBARRIER.store(true, Relaxed);
                    self.gp.reader_fences.store(false, Relaxed);
                }
                tracing::debug!(target: "krcu::core", membarrier = !forced, "krcu memb domain started");
            }
            stall_timeout();
            crate::testing::init_hook();
        });
    }

    /// Whether memb writers use membarrier.
    pub(crate) fn uses_membarrier(&'static self) -> bool {
        self.ensure_init();
        USE_MEMBARRIER.load(Relaxed)
    }

    #[inline]
    pub(crate) fn master_fence(&self) {
        if self.kind == FlavorKind::Memb && USE_MEMBARRIER.load(Relaxed) {
            membarrier::private_expedited();
        } else {
            fence(SeqCst);
        }
    }

    /// Step 5: orders every scanned reader's critical section before what
    /// follows the grace period (the frees).
    ///
    /// On x86-64 a memb writer needs no second `membarrier()` here, which
    /// halves the cost of a grace period. The scan has read each waited-for
    /// reader's quiescent `ctr`, which the reader stored after its critical
    /// section with only a compiler fence in between. x86-TSO never reorders
    /// a load with a later store, nor two stores, so the section's loads
    /// were performed, and its stores committed, before that `ctr` store
    /// committed. The writer's later stores (the frees, or the Release end
    /// of the sequence that the callback thread Acquires before freeing)
    /// commit after its load of `ctr` was performed, for the same reason, and
    /// TSO is multi-copy atomic. So no section can read a freed object.
    /// The Acquire fence keeps the compiler from hoisting later accesses
    /// above the scan's loads. The first master fence (step 2) stays: the
    /// store-buffering pattern it orders is what TSO does allow.
    /// Elsewhere, and in fence mode, this is the full master fence.
    #[inline]
    fn fence_after_scan(&self) {
        #[cfg(target_arch = "x86_64")]
        if self.kind == FlavorKind::Memb && USE_MEMBARRIER.load(Relaxed) {
            fence(Acquire);
            return;
        }
        self.master_fence();
    }

    fn reader_state(&self, ctr: u64, gp: u64) -> ReaderState {
        match self.kind {
            FlavorKind::Memb => reader::memb_state(ctr, gp),
            FlavorKind::Qsbr => reader::qsbr_state(ctr, gp),
        }
    }

    // ---- registration -------------------------------------------------

    /// Adds the calling thread; the flavor makes the record live.
    ///
    /// # Safety
    ///
    /// `foreign`, when given, is a word in this thread's own memory,
    /// accessed only atomically, valid until this thread unregisters.
    pub(crate) unsafe fn register_current(
        &'static self,
        foreign: Option<*const ReaderRecord>,
    ) -> &'static ReaderRecord {
        self.ensure_init();
        let rec = {
            let mut registry = lock(&self.registry);
            // Threads that ended after leaving an exited record behind.
            registry.reap_exited(&self.passes, None);
            // SAFETY: forwarded contract.
            unsafe { registry.add_current(foreign) }
        };
        // The registrant's half of the handshake with `run_gp` (reader.rs,
        // RegistryGeneration).
        self.registry_generation.registered();
        rec
    }

    /// The calling thread's exit hook found it inside a read section on
    /// its own record `rec`: a guard may still be alive in a thread-local
    /// that is destroyed after the hook, and reads until it drops. The
    /// record stays registered (grace periods keep waiting for the
    /// section) and is never given to another thread; writers reap it once
    /// the thread has ended (`Registry::reap_exited`). False for a foreign
    /// word, which dies with the thread: the caller unregisters it.
    pub(crate) fn exit_in_section(&self, rec: *const ReaderRecord) -> bool {
        lock(&self.registry).mark_exited(rec)
    }

    /// Removes a record its owner has made quiescent. When it returns, no
    /// writer reads the record's word any more (see entry.rs).
    pub(crate) fn unregister(&self, rec: *const ReaderRecord) {
        let mut registry = lock(&self.registry);
        registry.remove(rec, &self.passes);
        // Threads that ended after leaving an exited record behind.
        registry.reap_exited(&self.passes, None);
        drop(registry);
        self.registry_generation.changed();
        // A writer may be asleep waiting on this record.
        fence(SeqCst);
        reader::wake_writer(self.gp);
    }

    // ---- grace periods ------------------------------------------------

    /// The cookie for a full grace period from now.
    pub(crate) fn get_state(&self) -> GpCookie {
        // Orders the caller's updates (unpublishing) before reading the
        // sequence; pairs with the master fence after a grace period's start:
        // either this load sees that start (and the cookie asks for the next
        // grace period), or that grace period's readers see the updates.
        fence(SeqCst);
        GpCookie {
            seq: seq::snap(self.seq.load(Relaxed)),
        }
    }

    /// Whether the grace period named by `cookie` has completed.
    pub(crate) fn poll_state(&self, cookie: GpCookie) -> bool {
        // Acquire pairs with the Release end of the grace period: what the
        // caller does next (freeing) follows the readers' critical sections.
        seq::done(self.seq.load(Acquire), cookie.seq)
    }

    /// Runs grace periods, or waits for those others run, until `cookie`.
    pub(crate) fn wait_for(&self, cookie: GpCookie) {
        while !self.poll_state(cookie) {
            let mut scratch = lock(&self.gp_lock);
            // Whoever held the lock may have run the grace period we need.
            if !self.poll_state(cookie) {
                self.run_gp(&mut scratch);
            }
        }
    }

    /// What `cond_synchronize(cookie)` waits for: the cookie, or, when the
    /// cookie lies beyond the one a grace period starting now would satisfy
    /// (no grace period of this flavor produced it: built from its field,
    /// taken from the other flavor, uninitialised C memory), that fresh
    /// cookie. Either way the wait ends after at most one full grace period
    /// that starts after the call, as the kernel's `cond_synchronize_rcu`
    /// promises; a valid cookie is never later than a fresh one.
    pub(crate) fn bounded(&self, cookie: GpCookie) -> GpCookie {
        let fresh = self.get_state();
        if seq::done(fresh.seq, cookie.seq) {
            cookie
        } else {
            fresh
        }
    }

    /// Asks the helper for a grace period satisfying `cookie`.
    pub(crate) fn request(&'static self, cookie: GpCookie) {
        let mut cur = self.needed.load(Relaxed);
        while !seq::done(cur, cookie.seq) {
            // SeqCst: the requester's half of the Dekker handshake with the
            // helper's sleep (see `helper_should_sleep`).
            match self
                .needed
                .compare_exchange_weak(cur, cookie.seq, SeqCst, Relaxed)
            {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        self.ensure_started();
        self.wake_helper();
    }

    /// One grace period. The caller holds `gp_lock`.
    fn run_gp(&self, scratch: &mut GpScratch) {
        // Relaxed: the sequence is written only under gp_lock; the start is
        // ordered before the scan by the master fence (see `get_state`).
        let s = self.seq.load(Relaxed);
        self.seq.store(seq::start(s), Relaxed);
        self.master_fence();
        // gp.ctr is written only here, under gp_lock; readers that load the
        // new value are ordered by the fence above (see `reader`). The
        // advance is the writer's half of the handshake in
        // `register_current` (reader.rs, RegistryGeneration).
        let gp = self.gp.ctr.load(Relaxed) + CTR_STEP;
        let generation = self.registry_generation.advance(self.gp, gp);
        if generation != scratch.generation {
            let registry = lock(&self.registry);
            scratch.registered.clear();
            scratch
                .registered
                .extend(registry.slots.iter().map(|s| s.entry));
            // Read under the lock: every change counted so far is in the copy.
            scratch.generation = self.registry_generation.current();
        }
        scratch.readers.clear();
        scratch.readers.extend_from_slice(&scratch.registered);
        self.wait_for_readers(&mut scratch.readers, gp);
        self.fence_after_scan();
        self.seq.store(seq::end(seq::start(s)), Release);
    }

    /// Whether any of `readers` is still *old*: one pass over their words,
    /// dropping the others.
    fn retain_old(&self, readers: &mut Vec<&'static Entry>, gp: u64) -> bool {
        self.passes.scan(|| {
            // Relaxed (in load_ctr): the master fences around the scan
            // order it.
            // SAFETY: inside a pass.
            readers.retain(|e| self.reader_state(unsafe { e.load_ctr() }, gp) == ReaderState::Old);
        });
        !readers.is_empty()
    }

    fn wait_for_readers(&self, readers: &mut Vec<&'static Entry>, gp: u64) {
        let started = Instant::now();
        let timeout = stall_timeout();
        let mut next_report = started + timeout;
        let mut backoff = timeout;
        let mut reported = false;
        let mut attempts = 0;
        loop {
            if !self.retain_old(readers, gp) {
                return;
            }
            if attempts < ACTIVE_ATTEMPTS {
                // Spin, never yield: a yield hands the CPU to a runnable
                // reader and leaves this writer waiting a whole time slice
                // for it back (4 ms per grace period when readers outnumber
                // CPUs). Sleeping on the futex is the way to give way.
                attempts += 1;
                std::hint::spin_loop();
                continue;
            }
            self.gp.futex.store(GP_WAITING, Relaxed);
            // Orders the flag before the re-check; pairs with the reader's
            // fence between its ctr store and its flag load.
            self.master_fence();
            if !self.retain_old(readers, gp) {
                self.gp.futex.store(0, Relaxed);
                return;
            }
            // A reader that exited inside its section: done once its thread
            // has ended (its last thread-local dropped its guard, or it
            // never will). Look every millisecond, not at the stall pace.
            let mut wake_at = next_report;
            {
                let mut registry = lock(&self.registry);
                if registry.reap_exited(&self.passes, Some(readers)) > 0 {
                    self.registry_generation.changed();
                    self.gp.futex.store(0, Relaxed);
                    continue;
                }
                if registry.any_exited(readers) {
                    wake_at = wake_at.min(Instant::now() + Duration::from_millis(1));
                }
            }
            let now = Instant::now();
            if now >= next_report {
                if !reported {
                    // Relaxed: a statistic.
                    self.stalls.fetch_add(1, Relaxed);
                    reported = true;
                }
                self.report_stall(readers, now - started);
                backoff = backoff.saturating_mul(2);
                next_report = now + backoff;
            }
            futex::wait(
                &self.gp.futex,
                GP_WAITING,
                Some(wake_at.saturating_duration_since(now)),
            );
            // Woken by a reader (which cleared the flag), or by the stall
            // timeout or a spurious wake (which did not): clear it, so
            // that a grace period that ends at the next check leaves no
            // flag behind, sending every later unlock to the futex wake.
            // The next sleep sets it again first.
            self.gp.futex.store(0, Relaxed);
        }
    }

    #[cold]
    fn report_stall(&self, readers: &[&'static Entry], waited: Duration) {
        // Described under the registry lock, reported after it: a log
        // handler may call krcu.
        let described: Vec<(i32, String)> = {
            let registry = lock(&self.registry);
            readers
                .iter()
                .map(|r| registry.describe(r).unwrap_or((0, "<exited>".to_owned())))
                .collect()
        };
        for (tid, name) in described {
            crate::report::emit(
                crate::report::Level::Warn,
                crate::report::Target::Core,
                &format!(
                    "krcu: grace period stalled for {} ms: thread {tid} ({name}) has not left its {} \
                     read-side critical section{}",
                    waited.as_millis(),
                    self.name,
                    if self.kind == FlavorKind::Qsbr {
                        " (announce quiescent_state() or go offline around blocking calls)"
                    } else {
                        ""
                    }
                ),
            );
        }
    }

    // ---- callbacks ----------------------------------------------------

    /// Queues a callback. Wait-free; async-signal-safe. Starts nothing.
    /// Returns how many user callbacks were queued before this one.
    ///
    /// # Safety
    ///
    /// As for `call_rcu`: `head` stays valid and untouched until `func` runs.
    #[inline]
    pub(crate) unsafe fn enqueue(&self, head: *mut RcuHead, func: RcuCallback) -> u64 {
        // SAFETY: the caller owns `head` until the callback runs.
        let was_empty = unsafe {
            (*head).func = Some(func);
            self.callbacks.enqueue(head)
        };
        // Relaxed: a statistic, and the backlog estimate below.
        let queued = if is_barrier(func) {
            0
        } else {
            self.cb_queued.fetch_add(1, Relaxed)
        };
        // Behind other callbacks, this one is seen by any look of the
        // helper's (sleep.rs): only the call that made the queue non-empty
        // wakes it.
        if was_empty {
            self.wake_helper();
        }
        queued
    }

    /// `call_rcu`'s enqueue: [`enqueue`](Self::enqueue), then, every
    /// [`BACKLOG_CHECK_EVERY`] calls, gives way to the helpers while the
    /// backlog is above [`BACKLOG_HIGH_WATER`].
    ///
    /// # Safety
    ///
    /// As for [`enqueue`](Self::enqueue).
    #[inline]
    pub(crate) unsafe fn enqueue_throttled(&self, head: *mut RcuHead, func: RcuCallback) {
        // SAFETY: forwarded contract.
        let queued = unsafe { self.enqueue(head, func) };
        if queued % BACKLOG_CHECK_EVERY == 0 {
            self.throttle(queued);
        }
    }

    /// Yields while the backlog is above the high-water mark, at most
    /// [`BACKLOG_MAX_YIELDS`] times: with every CPU busy (readers, this
    /// producer), the helpers otherwise wait a whole time slice for a CPU
    /// while the backlog grows. Measured with one reader on 2 CPUs, 10M
    /// call_rcu: peak RSS 13-70 MiB without it, 12.6-14.4 MiB with it, and
    /// calls/s the same within the noise.
    #[cold]
    fn throttle(&self, queued: u64) {
        if crate::registry::in_helper() {
            // A callback queueing callbacks: this thread is the one that
            // drains the backlog; yielding would only slow it.
            return;
        }
        for _ in 0..BACKLOG_MAX_YIELDS {
            // Relaxed: an estimate; a stale value costs one yield or one
            // check.
            let backlog = queued.saturating_sub(self.cb_invoked.load(Relaxed));
            if backlog <= BACKLOG_HIGH_WATER {
                return;
            }
            self.wake_helper();
            std::thread::yield_now();
        }
    }

    #[inline]
    fn wake_helper(&self) {
        // After the exchange in `enqueue` or the compare-exchange in
        // `request`: the producer's half of the sleep handshake (sleep.rs).
        self.gp_sleep.wake();
    }

    /// Returns after every callback queued before the call has run.
    pub(crate) fn barrier(&'static self) {
        self.ensure_started();
        let marker = BarrierMarker {
            head: RcuHead::new(),
            done: AtomicU32::new(0),
        };
        let head = &marker.head as *const RcuHead as *mut RcuHead;
        // SAFETY: `marker` outlives its callback: we wait for it below, and
        // `head` is its first field so the callback can find `done`.
        unsafe { self.enqueue(head, barrier_done) };
        // Acquire pairs with the Release store in `barrier_done`.
        while marker.done.load(Acquire) == 0 {
            futex::wait(&marker.done, 0, None);
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        // Relaxed: statistics; each counter is exact, read one at a time.
        let queued = self.cb_queued.load(Relaxed);
        let invoked = self.cb_invoked.load(Relaxed);
        Stats {
            gp_completed: seq::completed(self.seq.load(Relaxed)),
            callbacks_queued: queued,
            callbacks_invoked: invoked,
            callback_backlog: queued.saturating_sub(invoked),
            stalls: self.stalls.load(Relaxed),
            registered_threads: lock(&self.registry).len() as u64,
        }
    }

    // ---- helper threads -----------------------------------------------

    /// Starts the helper threads unless they run: one Acquire load on
    /// `call_rcu`'s path, the start itself out of line.
    #[inline]
    pub(crate) fn ensure_started(&'static self) {
        // Acquire pairs with the Release store in `start_helpers`.
        if !self.started.load(Acquire) {
            self.start_helpers();
        }
    }

    #[cold]
    #[inline(never)]
    fn start_helpers(&'static self) {
        self.ensure_init();
        let _g = lock(&self.start_lock);
        // Relaxed: under start_lock, which orders it against the store below.
        if self.started.load(Relaxed) {
            return;
        }
        crate::helper::spawn(self);
        self.started.store(true, Release);
    }

    /// The grace-period helper's loop.
    pub(crate) fn gp_helper(&'static self) -> ! {
        loop {
            {
                let mut pending = lock(&self.work);
                if let Some(batch) = self.callbacks.splice() {
                    // The cookie is taken after the splice, so after every
                    // spliced callback was queued.
                    let cookie = self.get_state().seq;
                    match pending.batches.back_mut() {
                        // SAFETY: both batches are ours and disjoint.
                        Some((c, last)) if *c == cookie => unsafe { last.append(batch) },
                        _ => pending.batches.push_back((cookie, batch)),
                    }
                }
                self.hand_on_done(&mut pending);
                // Relaxed sequence loads: only deciding whether to run a
                // grace period (re-checked under gp_lock); `needed` is SeqCst
                // as in `helper_should_sleep`.
                let wanted = pending
                    .batches
                    .front()
                    .map(|(c, _)| *c)
                    .into_iter()
                    .chain(Some(self.needed.load(SeqCst)))
                    .find(|&c| !seq::done(self.seq.load(Relaxed), c));
                if let Some(c) = wanted {
                    let mut scratch = lock(&self.gp_lock);
                    if !seq::done(self.seq.load(Relaxed), c) {
                        self.run_gp(&mut scratch);
                    }
                    drop(scratch);
                    self.hand_on_done(&mut pending);
                    continue;
                }
            }
            if !self.helper_should_sleep() {
                continue;
            }
            self.gp_sleep.sleep();
        }
    }

    /// Whether there is no work; leaves the sleep flag announced when so.
    fn helper_should_sleep(&self) -> bool {
        // The helper's half of the sleep handshake with `enqueue` and
        // `request` (sleep.rs): either they see the announcement and wake
        // us, or this look sees their work. Relaxed loads: ordered by the
        // announcement's fence.
        self.gp_sleep.announce();
        let idle = self.callbacks.is_empty()
            && seq::done(self.seq.load(Relaxed), self.needed.load(Relaxed))
            && lock(&self.work).batches.is_empty();
        if !idle {
            self.gp_sleep.stay_awake();
        }
        idle
    }

    /// Moves batches whose grace period has ended to the reclaim thread.
    fn hand_on_done(&self, pending: &mut Pending) {
        let mut moved = false;
        while let Some((c, _)) = pending.batches.front() {
            if !self.poll_state(GpCookie { seq: *c }) {
                break;
            }
            let (_, batch) = pending.batches.pop_front().expect("front exists");
            lock(&self.ready).push_back(batch);
            moved = true;
        }
        // After the pushes under `ready`'s lock: the producer's half of the
        // reclaim thread's sleep handshake (sleep.rs, reclaim_helper).
        if moved {
            self.reclaim_sleep.wake();
        }
    }

    /// The reclaim thread's loop: invokes callbacks whose grace period ended.
    pub(crate) fn reclaim_helper(&'static self) -> ! {
        loop {
            let invoking = lock(&self.invoking);
            let batch = lock(&self.ready).pop_front();
            match batch {
                Some(batch) => {
                    invoke(&batch, &self.cb_invoked);
                    drop(invoking);
                }
                None => {
                    drop(invoking);
                    self.reclaim_sleep.announce();
                    if lock(&self.ready).is_empty() {
                        self.reclaim_sleep.sleep();
                    }
                    self.reclaim_sleep.stay_awake();
                }
            }
        }
    }

    // ---- fork ---------------------------------------------------------

    /// Takes every lock, so that the child inherits consistent state.
    pub(crate) fn lock_for_fork(&'static self) -> ForkGuards {
        let start = lock(&self.start_lock);
        let work = lock(&self.work);
        let invoking = lock(&self.invoking);
        let ready = lock(&self.ready);
        let gp = lock(&self.gp_lock);
        let registry = lock(&self.registry);
        ForkGuards {
            domain: self,
            _start: start,
            work,
            _invoking: invoking,
            ready,
            _gp: gp,
            registry,
        }
    }
}

/// The locks of one domain, held across `fork()`.
pub(crate) struct ForkGuards {
    domain: &'static Domain,
    // Dropped in reverse order of locking (fields drop in declaration order,
    // and none of these nest inside another's release).
    registry: MutexGuard<'static, Registry>,
    _gp: MutexGuard<'static, GpScratch>,
    ready: MutexGuard<'static, VecDeque<Batch>>,
    _invoking: MutexGuard<'static, ()>,
    work: MutexGuard<'static, Pending>,
    _start: MutexGuard<'static, ()>,
}

impl ForkGuards {
    /// In the child: forget the parent's other threads and helpers.
    pub(crate) fn reset_in_child(&mut self, keep: *const ReaderRecord) {
        let d = self.domain;
        d.passes.reset_in_child();
        self.registry.prune_after_fork(keep, &d.passes);
        d.registry_generation.changed();
        d.started.store(false, Relaxed);
        d.gp_sleep.reset();
        d.reclaim_sleep.reset();
        d.gp.futex.store(0, Relaxed);
        // SAFETY (all three): no other thread exists in the child, and we
        // hold the locks of the batches.
        unsafe { d.callbacks.repair_after_fork() };
        for (_, batch) in self.work.batches.iter_mut() {
            unsafe { batch.repair_after_fork() };
        }
        for batch in self.ready.iter_mut() {
            unsafe { batch.repair_after_fork() };
        }
    }
}

#[repr(C)]
struct BarrierMarker {
    head: RcuHead,
    done: AtomicU32,
}

fn is_barrier(func: RcuCallback) -> bool {
    std::ptr::fn_addr_eq(func, barrier_done as RcuCallback)
}

unsafe extern "C" fn barrier_done(head: *mut RcuHead) {
    let marker = head as *const BarrierMarker;
    // SAFETY: `head` is the first field of a BarrierMarker whose barrier()
    // caller is waiting for `done` (so the marker is alive until this store
    // is seen). Release pairs with the caller's Acquire load.
    unsafe {
        (*marker).done.store(1, Release);
        // The waiter may return as soon as it sees the store; a wake on its
        // (then dead) stack address is harmless: futex wakes only name an
        // address, and every waiter in krcu re-checks its condition.
        futex::wake(&(*marker).done, 1);
    }
}

/// Invokes every callback of `batch`, in order, adding the user callbacks to
/// `invoked`: before each barrier marker, so that a barrier's caller sees
/// every callback that ran before it counted, and at the end.
fn invoke(batch: &Batch, invoked: &AtomicU64) {
    let mut n = 0;
    let mut node = batch.first;
    loop {
        // SAFETY: the batch owns its nodes until their callback runs; read
        // the link first, since the callback may free the node.
        let next = unsafe { batch.next(node) };
        // SAFETY: `func` was set by `enqueue` before the node was published.
        let func = unsafe { (*node).func }.expect("queued head has a callback");
        if is_barrier(func) {
            // Relaxed: the marker's Release store orders it for the waiter.
            invoked.fetch_add(std::mem::take(&mut n), Relaxed);
        } else {
            n += 1;
        }
        // SAFETY: the grace period this batch waited for has ended, so the
        // callback's contract (no reader holds the object) holds.
        unsafe { func(node) };
        crate::helper::after_user_callback();
        match next {
            Some(nx) => node = nx,
            None => break,
        }
    }
    invoked.fetch_add(n, Relaxed);
}

/// The stall timeout: `KRCU_STALL_TIMEOUT_MS`, default 10 s.
pub(crate) fn stall_timeout() -> Duration {
    let ms = STALL_TIMEOUT_MS.load(Relaxed);
    if ms != 0 {
        return Duration::from_millis(ms);
    }
    let ms = std::env::var("KRCU_STALL_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&v| v > 0)
        .unwrap_or(DEFAULT_STALL_TIMEOUT.as_millis() as u64);
    STALL_TIMEOUT_MS.store(ms, Relaxed);
    Duration::from_millis(ms)
}

/// Sets the stall timeout for both flavors.
pub fn set_stall_timeout(timeout: Duration) {
    STALL_TIMEOUT_MS.store((timeout.as_millis() as u64).max(1), Relaxed);
}
