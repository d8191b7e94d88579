//! A flavor's process-wide domain: its grace-period sequence, registry,
//! callback queue and helper threads.
//!
//! One [`Domain`] per flavor, a static of the flavor's module. It is generic
//! over the flavor, and whatever differs between flavors (fences, what makes
//! a reader *old*, set-up, thread-local state) is an item of [`FlavorImpl`],
//! the sealed half of the public `Flavor` trait: no code asks which flavor
//! it serves.
//!
//! The mechanisms, one file each:
//!
//! * [`grace`]: the sequence, the registry and its generation, running a
//!   grace period and waiting for one, stall reports;
//! * [`callbacks`]: `call_rcu`'s queue, the backlog throttle, `barrier`,
//!   invoking a batch;
//! * [`helpers`]: the two helper threads (the grace-period loop and the
//!   reclaim loop) and their lazy start; the cadence they keep is
//!   `crate::cadence`'s;
//! * [`fork`]: the locks a domain holds across `fork()` and the child's
//!   reset.
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
//! 1. take every queued callback (they are this grace period's to serve),
//!    and advance the sequence to in-progress;
//! 2. master fence: updates made before the cookie was taken are visible to
//!    every reader that starts after this point, and every reader that
//!    started before it is visible to the scan;
//! 3. advance the readers' counter ([`crate::reader`]);
//! 4. snapshot the registry and wait until no reader is *old*, spinning
//!    briefly, then sleeping on the counter's futex (readers wake it), with
//!    stall reports past the stall timeout;
//! 5. master fence: the readers' critical sections are complete before what
//!    follows (on x86-64 with membarrier, TSO already guarantees this and
//!    only the compiler needs fencing; see memb's `fence_after_scan`);
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

mod callbacks;
pub(crate) mod fork;
pub(crate) mod grace;
mod helpers;

use crate::cadence::{Handed, Hurry};
use crate::entry::{Entry, Passes};
use crate::once::ForkOnce;
use crate::primitive::{AtomicBool, AtomicU64};
use crate::queue::{Batch, CallbackQueue};
use crate::reader::{GpCounter, ReaderRecord, ReaderState, RegistryGeneration};
use crate::registry::Registry;
use crate::sleep::SleepFlag;
use crossbeam_utils::CachePadded;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::LocalKey;

/// A proof of being inside the core: the items of [`FlavorImpl`] that
/// change a thread's registration take one, so that code outside the
/// crate, which can reach those items through a `F: Flavor` bound, cannot
/// call them.
#[derive(Clone, Copy, Debug)]
pub struct Private(pub(crate) ());

/// Everything a flavor does differently, as items of the sealed supertrait
/// of `Flavor`: the domain's set-up and fences, what makes a reader old, the
/// thread's state kept in the flavor's thread-locals, and the steps the
/// exit hook, the fork handlers and the helper threads take for it.
pub trait FlavorImpl: Sized + 'static {
    /// What a stall report adds for this flavor's readers.
    const STALL_HINT: &'static str;

    /// The flavor's domain.
    fn domain() -> &'static Domain<Self>;

    /// One-time set-up inside the domain's initialisation (memb: the
    /// membarrier registration and the readers' fence mode).
    fn init(gp: &GpCounter, _: Private);

    /// Registers the fork handlers (before any lock of the domain is taken).
    fn install_fork_handlers(_: Private);

    /// The writer's full fence of a grace period (steps 2 and 5).
    fn master_fence();

    /// Step 5: orders every scanned reader's critical section before what
    /// follows the grace period.
    fn fence_after_scan();

    /// Whether a reader whose word holds `ctr` is old for counter value `gp`.
    fn reader_state(ctr: u64, gp: u64) -> ReaderState;

    /// This thread's record, or null when it is not registered.
    fn current_record(_: Private) -> *const ReaderRecord;

    /// How many explicit registrations of this flavor are alive on the
    /// calling thread (a thread-local of the flavor's module).
    fn explicit_registrations(_: Private) -> &'static LocalKey<Cell<u32>>;

    /// The calling thread's retired `RcuCell` nodes of this flavor
    /// (`crate::retired`, a thread-local of the flavor's module).
    fn local_retire(_: Private) -> &'static LocalKey<RefCell<crate::retired::Local>>;

    /// Unregisters this thread (the last `Registration` dropped).
    fn unregister_current(_: Private);

    /// The thread-exit hook's step for this flavor.
    fn exit_current(_: Private);

    /// The fork handler's step before the fork, on the forking thread;
    /// returns what [`after_fork`](Self::after_fork) needs.
    fn before_fork(_: Private) -> bool;

    /// The fork handlers' step after the fork, in parent and child.
    fn after_fork(state: bool, _: Private);

    /// On a helper thread after each user callback, whichever flavor's
    /// domain ran it: the thread leaves every read side of every flavor
    /// (`crate::flavor::after_user_callback`).
    fn after_user_callback(_: Private);

    /// Whether the calling thread is a reader this flavor's grace periods
    /// wait for (memb: inside a read section; qsbr: online), so that
    /// waiting here for a grace period would wait for itself.
    fn holds_up_grace_periods() -> bool;

    /// This flavor's step of [`after_user_callback`](Self::after_user_callback)
    /// once no section is open (qsbr: go offline).
    fn leave_after_callback(_: Private);

    /// Leaves the read section a guard entered.
    ///
    /// # Safety
    ///
    /// `rec` is the pointer the flavor's `read_lock` put in the guard.
    unsafe fn guard_drop(rec: *const ReaderRecord);
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic under one of these locks is a krcu bug reported by that panic;
    // the protected state is still consistent (every critical section is a
    // few plain updates), so keep going rather than cascade.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Scratch space of the grace-period runner, reused across grace periods.
#[derive(Debug)]
pub(crate) struct GpScratch {
    /// Every registered entry, as of registry generation `generation`.
    registered: Vec<&'static Entry>,
    generation: u64,
    /// The records the running grace period still waits for.
    readers: Vec<&'static Entry>,
    /// Callbacks grace periods took and served, with their cookies, for the
    /// helper to pass on (`Helpers::handed` says there are some).
    taken: Vec<(u64, Batch)>,
}

/// The grace-period mechanism's state ([`grace`]).
struct GracePeriods {
    /// The grace-period sequence; written only under `gp_lock`.
    seq: CachePadded<AtomicU64>,
    /// The furthest cookie asked for by `start_poll`; the helper serves it
    /// at once.
    needed: AtomicU64,
    /// The furthest cookie asked for lazily (`RcuCell`'s retired batches,
    /// `crate::retire`); the helper serves it at the callbacks' cadence.
    needed_lazy: AtomicU64,
    /// Registered threads. Held for registration, unregistration, and the
    /// writer's snapshot when the registry changed; never while waiting.
    registry: Mutex<Registry>,
    /// Bumped by every registration and unregistration, so that a grace
    /// period takes the registry lock only when the registry changed:
    /// back-to-back grace periods taking it every time starve registering
    /// threads of std's unfair mutex.
    registry_generation: RegistryGeneration,
    /// The writer's scan passes over reader words (see entry.rs).
    passes: Passes,
    /// Serializes grace periods; held for the whole of one.
    gp_lock: Mutex<GpScratch>,
    /// Grace periods that exceeded the stall timeout.
    stalls: AtomicU64,
    /// Sleeps on the futex waiting for readers (`Stats::gp_sleeps`).
    sleeps: AtomicU64,
}

/// `call_rcu`'s state ([`callbacks`]).
struct Callbacks {
    queue: CachePadded<CallbackQueue>,
    /// Callbacks queued, and invoked (user callbacks only, not barriers).
    queued: CachePadded<AtomicU64>,
    invoked: AtomicU64,
    /// `queued` as the last grace period's splice found it: the callbacks
    /// counted since wait for a grace period to start (an estimate; see
    /// `Domain::throttle`).
    spliced: AtomicU64,
    /// Naps of throttled `call_rcu` callers (`Stats::throttle_naps`).
    naps: AtomicU64,
}

/// Callback batches waiting for their grace period, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    batches: VecDeque<(u64, Batch)>,
}

/// The helper threads' state ([`helpers`]).
struct Helpers {
    /// Guards the lazy start of the helper threads.
    start_lock: Mutex<()>,
    started: AtomicBool,
    /// The callback (reclaim) thread's `pthread_t`, set before `started`.
    callback_thread: AtomicU64,
    /// The grace-period helper's state; held by the helper while it works
    /// (splicing, running a grace period, handing batches on), not asleep.
    work: Mutex<Pending>,
    /// Held by the reclaim thread while it invokes a batch.
    invoking: Mutex<()>,
    /// Batches whose grace period has ended; held to push or pop.
    ready: Mutex<VecDeque<Batch>>,
    gp_sleep: SleepFlag,
    reclaim_sleep: SleepFlag,
    /// A grace period should start without waiting for the gather.
    hurry: Hurry,
    /// A grace period the helper did not run took callbacks.
    handed: Handed,
    /// The helper's next grace period is expedited (`start_poll_expedited`).
    expedite: AtomicBool,
}

/// A flavor's domain: see the module's documentation.
pub struct Domain<F> {
    pub(crate) name: &'static str,
    /// The counter readers snapshot; see `reader`. A static of the
    /// flavor's own, which its read side reaches at a link-time address.
    pub(crate) gp: &'static CachePadded<GpCounter>,
    init: ForkOnce,
    grace: GracePeriods,
    callbacks: Callbacks,
    helpers: Helpers,
    _flavor: PhantomData<fn() -> F>,
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
    /// Times a grace period slept waiting for a reader to leave its
    /// section (memb) or announce a quiescent state (qsbr): each costs the
    /// writer a futex wait and a fence, and the reader that wakes it a
    /// futex call.
    pub gp_sleeps: u64,
    /// Threads registered with this flavor.
    pub registered_threads: u64,
    /// Naps of `call_rcu` callers while the backlog was above its
    /// high-water mark (each leaves the CPU to the helpers for a few
    /// microseconds; a caller that grace periods wait for never naps).
    pub throttle_naps: u64,
}

impl<F: FlavorImpl> Domain<F> {
    pub(crate) const fn new(name: &'static str, gp: &'static CachePadded<GpCounter>) -> Self {
        Domain {
            name,
            gp,
            init: ForkOnce::new(),
            grace: GracePeriods {
                seq: CachePadded::new(AtomicU64::new(0)),
                needed: AtomicU64::new(0),
                needed_lazy: AtomicU64::new(0),
                registry: Mutex::new(Registry::new()),
                registry_generation: RegistryGeneration::new(),
                passes: Passes::new(),
                gp_lock: Mutex::new(GpScratch {
                    registered: Vec::new(),
                    generation: 0,
                    readers: Vec::new(),
                    taken: Vec::new(),
                }),
                stalls: AtomicU64::new(0),
                sleeps: AtomicU64::new(0),
            },
            callbacks: Callbacks {
                queue: CachePadded::new(CallbackQueue::new()),
                queued: CachePadded::new(AtomicU64::new(0)),
                invoked: AtomicU64::new(0),
                spliced: AtomicU64::new(0),
                naps: AtomicU64::new(0),
            },
            helpers: Helpers {
                start_lock: Mutex::new(()),
                started: AtomicBool::new(false),
                callback_thread: AtomicU64::new(0),
                work: Mutex::new(Pending {
                    batches: VecDeque::new(),
                }),
                invoking: Mutex::new(()),
                ready: Mutex::new(VecDeque::new()),
                gp_sleep: SleepFlag::new(),
                reclaim_sleep: SleepFlag::new(),
                hurry: Hurry::new(),
                handed: Handed::new(),
                expedite: AtomicBool::new(false),
            },
            _flavor: PhantomData,
        }
    }

    /// This flavor's counters.
    pub(crate) fn stats(&self) -> Stats {
        // Relaxed: statistics; each counter is exact, read one at a time.
        let queued = self.callbacks.queued.load(Relaxed);
        let invoked = self.callbacks.invoked.load(Relaxed);
        Stats {
            gp_completed: crate::seq::completed(self.grace.seq.load(Relaxed)),
            callbacks_queued: queued,
            callbacks_invoked: invoked,
            callback_backlog: queued.saturating_sub(invoked),
            stalls: self.grace.stalls.load(Relaxed),
            gp_sleeps: self.grace.sleeps.load(Relaxed),
            registered_threads: lock(&self.grace.registry).len() as u64,
            throttle_naps: self.callbacks.naps.load(Relaxed),
        }
    }
}
