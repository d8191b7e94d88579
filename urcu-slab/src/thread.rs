//! Per-thread slab state, and how other threads may take it.
//!
//! Each thread has a [`ThreadSlab`]: per cache, its `main`, `spare` and
//! `rcu_free` sheaves and counters; and its open kfree_rcu batch. The
//! allocation paths (`main`, `spare`) belong to the owner alone and need no
//! synchronisation at all. The kfree_rcu state (`rcu_free` sheaves and the
//! open batch) must also be taken by other threads: the helper takes an idle
//! thread's aged batch, and a barrier takes every thread's batch and sheaves.
//! The kernel does that by running work on the target CPU; krcu uses a
//! per-thread busy flag and memb's asymmetric fences (`steal.rs`), so that
//! the owner's path costs two stores, a compiler fence and a load:
//!
//! * the owner marks itself busy, and if no flusher wants its state works
//!   on it lock-free; otherwise it takes the thread's lock;
//! * a flusher raises the thread's steal count, runs memb's master fence
//!   (`membarrier()`), waits until the owner is not busy, then takes the
//!   lock and works on the state; then it lowers the count.
//!
//! The flusher holds the lock only after the owner left its lock-free
//! window, and never waits for a grace period while holding it. The
//! owner's busy window holds up no grace period (it is not a read section),
//! and the helper is woken only after it (`reclaim::defer_wakes`).
//!
//! # The unknown context
//!
//! A signal handler may interrupt this thread anywhere, krcu's own code
//! included (`nolock.rs`). Its `_nolock` calls never touch the allocation
//! sheaves (`main`, `spare`), so the ordinary allocation paths pay nothing
//! for them: they use a `nolock` sheaf per cache of their own, guarded by
//! a per-thread flag that only `_nolock` calls set. They use the kfree_rcu
//! state only inside the steal protocol's lock-free window, after checking
//! that the owner is not inside its own window ([`ThreadSlab::try_rcu_state`]);
//! in the locked mode the steal count is raised, so they keep out too.
//! Because a handler runs on the thread it interrupted and returns before
//! that thread resumes, plain flags with compiler fences are enough: the
//! handler sees exactly the stores made before the interruption.
//!
//! A thread's state outlives the thread: at exit the thread hands its
//! batches and sheaves off, and the state goes to a pool for the next
//! thread (states are never freed, so a flusher never reads freed memory).
//! Code that runs after this thread's state is gone (other thread-local
//! destructors) uses one shared "orphan" state, always through its lock.

use crate::cache::CacheInner;
use crate::doorbell::WakeScope;
use crate::kfree_rcu::{BatchDesc, RcuLocal};
use crate::lock::{Mutex, ReentrantGuard, ReentrantMutex};
use crate::sheaf::Sheaf;
use crate::steal::StealFlag;
use crate::stock::StockSlot;
use crate::tls;
use std::cell::{Cell, UnsafeCell};
use std::ptr;
use std::sync::atomic::{compiler_fence, AtomicBool, AtomicPtr, AtomicU64, AtomicU8, Ordering};
use urcu_core::__private::ForkOnceLock;
use urcu_core::memb;

/// Cache slots per chunk of a thread's slot table.
const CHUNK: usize = 64;
/// Chunks per table: at most `CHUNK * NCHUNKS` caches exist at once.
const NCHUNKS: usize = 64;
/// The most caches (including kmalloc's) that can exist at once.
pub(crate) const MAX_CACHES: usize = CHUNK * NCHUNKS;

/// Where cache `id`'s slot lies in every thread's slot table, computed
/// once per cache so that the allocation fast paths add an offset instead
/// of dividing, multiplying and bounds-checking the id. Only [`of`]
/// makes one, so `chunk < NCHUNKS` and `offset` is a slot's offset within
/// a chunk.
///
/// [`of`]: SlotIndex::of
#[derive(Clone, Copy, Debug)]
pub(crate) struct SlotIndex {
    chunk: usize,
    offset: usize,
}

impl SlotIndex {
    pub(crate) const fn of(id: usize) -> Self {
        assert!(id < MAX_CACHES);
        SlotIndex {
            chunk: id / CHUNK,
            offset: id % CHUNK * std::mem::size_of::<CacheSlot>(),
        }
    }

    fn id(self) -> usize {
        self.chunk * CHUNK + self.offset / std::mem::size_of::<CacheSlot>()
    }
}

/// A thread's state for one cache.
pub(crate) struct CacheSlot {
    /// Owner only: the allocation sheaves (null until first needed);
    /// statistics read them from other threads.
    pub(crate) main: OwnerPtr,
    pub(crate) spare: OwnerPtr,
    /// Under the steal protocol: the sheaf collecting kfree_rcu'd objects,
    /// and how many more kfree_rcu calls skip the barn after a miss.
    pub(crate) rcu_free: Cell<*mut Sheaf>,
    pub(crate) rcu_backoff: Cell<u32>,
    /// Counters written under the steal protocol (a load and a store, no
    /// atomic read-modify-write), read by anyone.
    pub(crate) rcu_sheaf: AtomicU64,
    pub(crate) rcu_sheaf_fail: AtomicU64,
    pub(crate) sheaf_submissions: AtomicU64,
    pub(crate) rcu_batched: AtomicU64,
    /// The sheaf `_nolock` calls allocate from and free into: touched only
    /// on this thread, under [`ThreadSlab::enter_nolock`]; atomic (Relaxed,
    /// plain moves) so that statistics may read it.
    pub(crate) nolock: AtomicPtr<Sheaf>,
    /// A full sheaf the helper stocked for the `_nolock` calls: the helper
    /// installs it when it is null (Release); this thread takes it with a
    /// swap (Acquire).
    pub(crate) incoming: StockSlot<Sheaf>,
    /// A `_nolock` call found its sheaf missing or low: the helper stocks
    /// `incoming`. Relaxed: a hint, delivered by the wake that follows it.
    pub(crate) want: AtomicBool,
}

impl CacheSlot {
    fn new() -> Self {
        CacheSlot {
            main: OwnerPtr::null(),
            spare: OwnerPtr::null(),
            rcu_free: Cell::new(ptr::null_mut()),
            rcu_backoff: Cell::new(0),
            rcu_sheaf: AtomicU64::new(0),
            rcu_sheaf_fail: AtomicU64::new(0),
            sheaf_submissions: AtomicU64::new(0),
            rcu_batched: AtomicU64::new(0),
            nolock: AtomicPtr::new(ptr::null_mut()),
            incoming: StockSlot::new(),
            want: AtomicBool::new(false),
        }
    }

    /// Gives the `_nolock` sheaves back to the cache: the thread is gone,
    /// or nobody uses the cache any more.
    pub(crate) fn return_nolock_sheaves(&self, cache: &CacheInner) {
        // Acquire (both): the sheaf's contents, written by this thread's
        // calls or by the helper that stocked it, are complete.
        for sheaf in [
            self.nolock.swap(ptr::null_mut(), Ordering::Acquire),
            self.incoming.take(),
        ] {
            if !sheaf.is_null() {
                cache.return_sheaf(sheaf);
            }
        }
        self.want.store(false, Ordering::Relaxed);
    }

    /// Zeroes the counters when the cache id is retired.
    pub(crate) fn reset_counters(&self) {
        for c in [
            &self.rcu_sheaf,
            &self.rcu_sheaf_fail,
            &self.sheaf_submissions,
            &self.rcu_batched,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// A sheaf pointer that one thread writes (the slot's owner, or a holder
/// of the orphan's lock) and statistics read from any thread: an
/// `AtomicPtr` used only with Relaxed loads and stores, which compile to
/// the plain moves a `Cell` would, with no locked instruction. A reader
/// may see a sheaf the owner has since handed on; sheaves are freed only
/// after a memb grace period (sheaf.rs), so one read inside a memb section
/// stays readable.
pub(crate) struct OwnerPtr(AtomicPtr<Sheaf>);

impl OwnerPtr {
    const fn null() -> Self {
        OwnerPtr(AtomicPtr::new(ptr::null_mut()))
    }

    /// Relaxed: see the type.
    #[inline(always)]
    pub(crate) fn get(&self) -> *mut Sheaf {
        self.0.load(Ordering::Relaxed)
    }

    /// Relaxed: see the type.
    #[inline(always)]
    pub(crate) fn set(&self, sheaf: *mut Sheaf) {
        self.0.store(sheaf, Ordering::Relaxed)
    }

    /// A load and a store: only one thread writes.
    #[inline(always)]
    pub(crate) fn replace(&self, sheaf: *mut Sheaf) -> *mut Sheaf {
        let old = self.get();
        self.set(sheaf);
        old
    }
}

/// Bumps a counter that only one thread writes at a time (the owner, or a
/// holder of the thread's lock): a load and a store, no locked instruction.
#[inline(always)]
pub(crate) fn bump(c: &AtomicU64, n: u64) {
    // Relaxed: a statistic; its single writer makes load+store exact.
    c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

/// Per-thread counters of kfree_rcu submissions (single writer, see [`bump`]).
#[derive(Default)]
pub(crate) struct ThreadCounters {
    pub(crate) rcu_objects: AtomicU64,
    pub(crate) rcu_bytes: AtomicU64,
    /// `_nolock` calls served on this thread's own state: allocations from
    /// its sheaves, frees into them, kfree_rcu into its sheaf or batch.
    pub(crate) nolock_alloc: AtomicU64,
    pub(crate) nolock_free: AtomicU64,
    pub(crate) nolock_rcu: AtomicU64,
}

/// One thread's slab state.
pub(crate) struct ThreadSlab {
    /// Flushers that want the kfree_rcu state; raised sends the owner to
    /// `lock`. See the module documentation and `steal.rs`.
    steal: StealFlag,
    /// Nonzero while a `_nolock` call on this thread uses its `nolock`
    /// sheaves (a nested handler's call then keeps out); this thread only.
    nolock_busy: AtomicU8,
    /// Nonzero while the owner works on its kfree_rcu state under the lock
    /// (the steal protocol's locked mode); read by its signal handlers.
    owner_locked: AtomicU8,
    /// Protects the kfree_rcu state while `steal` is nonzero, and all of the
    /// orphan state. Reentrant: a kfree_rcu path may allocate a bulk block
    /// while holding it. Innermost lock except for barns and node locks.
    lock: ReentrantMutex,
    orphan: bool,
    chunks: [AtomicPtr<[CacheSlot; CHUNK]>; NCHUNKS],
    /// Chunks a `_nolock` call needed and could not create (a bit per
    /// chunk): the helper installs them. Relaxed: a hint, delivered by the
    /// wake that follows it.
    want_chunks: AtomicU64,
    /// The open kfree_rcu batch (steal protocol).
    pub(crate) rcu: UnsafeCell<RcuLocal>,
    /// The batch descriptors this thread hands to the helper; see kfree_rcu.
    pub(crate) descs: [BatchDesc; 2],
    /// The monitor tick (plus one) at which the open batch got its first
    /// object; zero when the batch is empty. Owner writes, helper reads,
    /// Relaxed: only an age hint; the monitor takes the batch itself
    /// through the steal protocol, and a stale reading costs at most one
    /// needless or one late round.
    pub(crate) batch_since: AtomicU64,
    pub(crate) counters: ThreadCounters,
    /// Owner only: rings of the helper deferred to the end of the busy
    /// window (`reclaim::defer_wakes`); never used on the orphan, never
    /// written by a signal handler (doorbell.rs).
    pub(crate) wake_scope: WakeScope,
}

// SAFETY: the Cells and UnsafeCell are touched only by the owner thread, or
// under `lock` by the steal protocol (module documentation); the orphan
// state is only touched under `lock`.
unsafe impl Sync for ThreadSlab {}
unsafe impl Send for ThreadSlab {}

impl ThreadSlab {
    fn new(orphan: bool) -> Self {
        ThreadSlab {
            steal: StealFlag::new(orphan),
            nolock_busy: AtomicU8::new(0),
            owner_locked: AtomicU8::new(0),
            lock: ReentrantMutex::new(),
            orphan,
            chunks: [const { AtomicPtr::new(ptr::null_mut()) }; NCHUNKS],
            want_chunks: AtomicU64::new(0),
            rcu: UnsafeCell::new(RcuLocal::new()),
            descs: [BatchDesc::new(false), BatchDesc::new(false)],
            batch_since: AtomicU64::new(0),
            counters: ThreadCounters::default(),
            wake_scope: WakeScope::new(),
        }
    }

    /// This thread's slot for cache `id`, created on first use. Owner only
    /// (or under the lock for the orphan).
    #[inline]
    pub(crate) fn slot(&self, id: usize) -> &CacheSlot {
        self.slot_at(SlotIndex::of(id))
    }

    /// [`slot`](Self::slot) by a cache's precomputed [`SlotIndex`].
    #[inline(always)]
    pub(crate) fn slot_at(&self, at: SlotIndex) -> &CacheSlot {
        match self.slot_if_used_at(at) {
            Some(slot) => slot,
            None => self.new_chunk(at.id()),
        }
    }

    #[cold]
    fn new_chunk(&self, id: usize) -> &CacheSlot {
        let chunk: Box<[CacheSlot; CHUNK]> = Box::new(std::array::from_fn(|_| CacheSlot::new()));
        let chunk = Box::into_raw(chunk);
        // Release: a flusher that finds the chunk sees initialised slots.
        // Acquire on failure: the helper installed one first (for a
        // `_nolock` call); use it.
        let installed = match self.chunks[id / CHUNK].compare_exchange(
            ptr::null_mut(),
            chunk,
            Ordering::Release,
            Ordering::Acquire,
        ) {
            Ok(_) => chunk,
            Err(theirs) => {
                // SAFETY: ours, never published.
                drop(unsafe { Box::from_raw(chunk) });
                theirs
            }
        };
        // SAFETY: installed chunks are never freed.
        unsafe { &(*installed)[id % CHUNK] }
    }

    /// A `_nolock` call found no slot for cache `id`: asks the helper to
    /// install its chunk; true when this is a new request (wake the helper).
    pub(crate) fn want_chunk(&self, id: usize) -> bool {
        let bit = 1u64 << (id / CHUNK);
        // Relaxed: see `want_chunks`.
        self.want_chunks.fetch_or(bit, Ordering::Relaxed) & bit == 0
    }

    /// Helper: installs the chunks `_nolock` calls asked for.
    pub(crate) fn install_wanted_chunks(&self) {
        let mut want = self.want_chunks.swap(0, Ordering::Relaxed);
        while want != 0 {
            let c = want.trailing_zeros() as usize;
            want &= want - 1;
            if self.chunks[c].load(Ordering::Acquire).is_null() {
                self.new_chunk(c * CHUNK);
            }
        }
    }

    /// The slot for cache `id` if this thread ever used that cache.
    #[inline]
    pub(crate) fn slot_if_used(&self, id: usize) -> Option<&CacheSlot> {
        self.slot_if_used_at(SlotIndex::of(id))
    }

    /// [`slot_if_used`](Self::slot_if_used) by a cache's [`SlotIndex`].
    #[inline(always)]
    pub(crate) fn slot_if_used_at(&self, at: SlotIndex) -> Option<&CacheSlot> {
        // Acquire: pairs with the Release store that installed the chunk
        // (the owner's own, the helper's for a `_nolock` call, or, for a
        // pooled state, its previous owner's).
        // SAFETY: `at.chunk < NCHUNKS` (SlotIndex::of).
        let chunk = unsafe { self.chunks.get_unchecked(at.chunk) }.load(Ordering::Acquire);
        // SAFETY: installed chunks are never freed, and `at.offset` is a
        // slot's offset within one.
        (!chunk.is_null())
            .then(|| unsafe { &*chunk.cast::<u8>().add(at.offset).cast::<CacheSlot>() })
    }

    /// Every slot this thread has, with its cache id.
    pub(crate) fn slots(&self) -> impl Iterator<Item = (usize, &CacheSlot)> {
        (0..NCHUNKS).flat_map(move |c| {
            let chunk = self.chunks[c].load(Ordering::Acquire);
            // SAFETY: installed chunks are never freed.
            let slots: &[CacheSlot] = if chunk.is_null() {
                &[]
            } else {
                unsafe { &*chunk }
            };
            slots
                .iter()
                .enumerate()
                .map(move |(i, s)| (c * CHUNK + i, s))
        })
    }

    /// Whether this is the shared state of threads whose own is gone.
    #[inline]
    pub(crate) fn is_orphan(&self) -> bool {
        self.orphan
    }

    /// Whether a `_nolock` call is running on this thread (perhaps in a
    /// signal handler that interrupted this thread anywhere).
    #[inline]
    pub(crate) fn in_nolock_call(&self) -> bool {
        // Relaxed: a same-thread flag (see enter_nolock).
        self.nolock_busy.load(Ordering::Relaxed) != 0
    }

    /// For a `_nolock` call: marks this thread's `nolock` sheaves in use
    /// unless a call it interrupted (a nested signal handler) has them.
    #[inline(always)]
    pub(crate) fn enter_nolock(&self) -> Option<NolockGuard<'_>> {
        // Relaxed, with the compiler fence: only code on this thread reads
        // the flag, and a handler sees this thread's stores in program
        // order. A nested handler that runs between this load and the store
        // finishes (and clears the flag) before this call resumes, so the
        // load-then-store is atomic for our purpose.
        if self.nolock_busy.load(Ordering::Relaxed) != 0 {
            return None;
        }
        Some(NolockGuard::set(&self.nolock_busy))
    }

    /// For a `_nolock` call: runs `f` on this thread's kfree_rcu state in
    /// the steal protocol's lock-free window, unless the call interrupted
    /// the owner inside its own window or in its locked mode, or a flusher
    /// wants the state: `None` then. The lock is never taken.
    #[inline]
    pub(crate) fn try_rcu_state<R>(
        &'static self,
        f: impl FnOnce(&'static ThreadSlab) -> R,
    ) -> Option<R> {
        let _g = self.enter_nolock()?;
        // Relaxed: same-thread flags (see enter_nolock).
        if self.owner_locked.load(Ordering::Relaxed) != 0
            || self.steal.owner_busy()
            || !self.steal.owner_enter(memb::slave_fence)
        {
            return None;
        }
        let _exit = ExitWindow(self);
        Some(f(self))
    }

    /// Takes the thread's lock (flushers, the orphan's users).
    pub(crate) fn lock(&self) -> ReentrantGuard<'_> {
        self.lock.lock()
    }
}

/// Sets a same-thread flag until dropped ([`ThreadSlab::enter_nolock`],
/// the owner's locked mode).
pub(crate) struct NolockGuard<'a>(&'a AtomicU8);

impl<'a> NolockGuard<'a> {
    #[inline(always)]
    fn set(flag: &'a AtomicU8) -> Self {
        // Relaxed, with the compiler fence: read only by signal handlers on
        // this thread, which see its stores in program order; the fence
        // keeps the guarded updates after the store.
        flag.store(1, Ordering::Relaxed);
        compiler_fence(Ordering::SeqCst);
        NolockGuard(flag)
    }
}

impl Drop for NolockGuard<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        compiler_fence(Ordering::SeqCst);
        self.0.store(0, Ordering::Relaxed);
    }
}

/// Leaves the steal protocol's lock-free window, also if the work in it
/// unwinds: a flusher waits for it.
struct ExitWindow(&'static ThreadSlab);

impl Drop for ExitWindow {
    #[inline(always)]
    fn drop(&mut self) {
        self.0.steal.owner_exit();
    }
}

/// Every state ever created, live or pooled (never freed).
static ALL: Mutex<Vec<&'static ThreadSlab>> = Mutex::new(Vec::new());
/// States of exited threads, drained, ready for reuse.
static POOL: Mutex<Vec<&'static ThreadSlab>> = Mutex::new(Vec::new());

/// A snapshot of every state, for flushers and statistics.
pub(crate) fn all_states() -> Vec<&'static ThreadSlab> {
    ALL.lock().clone()
}

/// A fork child that caught the first orphan being made makes another; the
/// half-made one (at most a leaked state in `ALL`) is harmless.
static ORPHAN: ForkOnceLock<&'static ThreadSlab> = ForkOnceLock::new();

fn orphan() -> &'static ThreadSlab {
    ORPHAN.get_or_init(|| {
        let ts: &'static ThreadSlab = Box::leak(Box::new(ThreadSlab::new(true)));
        ALL.lock().push(ts);
        ts
    })
}

/// The `tls` slot after this thread's state was handed back at exit.
const GONE: *const ThreadSlab = ptr::dangling();

thread_local! {
    // Its destructor hands the state back at thread exit; the pointer
    // itself lives in the `tls` slot.
    static EXIT: ExitHook = const { ExitHook };
}

struct ExitHook;

impl Drop for ExitHook {
    fn drop(&mut self) {
        // The thread is exiting: no signal handler runs on it from here
        // on (one would find its state going, or its memb record gone and
        // register it again from the handler: a lock, an allocation).
        urcu_core::__private::block_signals_until_exit();
        let ts = tls::get();
        tls::set(GONE);
        if ts as usize > GONE as usize {
            // SAFETY: states are leaked, never freed.
            retire(unsafe { &*ts });
        }
    }
}

/// This thread's state if it has one (its own or, after its own is gone,
/// the orphan), without creating one.
pub(crate) fn current_if_set() -> Option<&'static ThreadSlab> {
    let ts = tls::get();
    if ts.is_null() {
        None
    } else if ts == GONE {
        ORPHAN.get().copied()
    } else {
        // SAFETY: states are leaked, never freed.
        Some(unsafe { &*ts })
    }
}

/// This thread's own state, for a `_nolock` call: none before the thread
/// first used krcu or after its state was handed back at exit (creating
/// one allocates and locks; the orphan is used under a lock).
#[inline(always)]
pub(crate) fn current_nolock() -> Option<&'static ThreadSlab> {
    // A plain TLS load, safe in a signal handler.
    let ts = tls::get();
    // SAFETY: states are leaked, never freed.
    (ts as usize > GONE as usize).then(|| unsafe { &*ts })
}

/// This thread's state: its own, or the orphan when its own is gone.
#[inline(always)]
pub(crate) fn current() -> &'static ThreadSlab {
    let ts = tls::get();
    if ts as usize > GONE as usize {
        // SAFETY: states are leaked, never freed.
        return unsafe { &*ts };
    }
    current_slow(ts)
}

#[cold]
fn current_slow(ts: *const ThreadSlab) -> &'static ThreadSlab {
    if ts == GONE {
        return orphan();
    }
    // Before the first slab lock (see fork.rs).
    crate::fork::install();
    // Start the memb domain (a once: this thread then sees its fence mode)
    // before the first slave_fence in with_rcu_state.
    memb::uses_membarrier();
    if EXIT.try_with(|_| ()).is_err() {
        return orphan();
    }
    // What a `_nolock` call on this thread relies on, set up here where
    // locks and allocation are allowed: the helper that drains the
    // deferred list.
    if !crate::reclaim::on_helper() {
        crate::reclaim::ensure_started();
    }
    let ts = match POOL.lock().pop() {
        Some(ts) => {
            // The pooled state was retired with steal raised; give it back.
            ts.steal.lower();
            ts
        }
        None => {
            let ts: &'static ThreadSlab = Box::leak(Box::new(ThreadSlab::new(false)));
            ALL.lock().push(ts);
            ts
        }
    };
    tls::set(ts);
    ts
}

/// Hands an exiting thread's state off: its kfree_rcu batch and sheaves to
/// the helper, its allocation sheaves to the barns; then pools it.
fn retire(ts: &'static ThreadSlab) {
    // From now on anyone touching the state (a flusher) takes the lock. No
    // signal handler on this thread sees the state any more (the `tls`
    // slot is GONE).
    ts.steal.raise();
    {
        let _g = ts.lock();
        crate::kfree_rcu::flush_thread(ts, None, true);
        for (id, slot) in ts.slots() {
            // A cache being destroyed is skipped: its destroy returns this
            // slot's sheaves (forget_cache, under this state's lock).
            let Some(cache) = crate::cache::pin(id) else {
                continue;
            };
            for s in [&slot.main, &slot.spare] {
                let sheaf = s.replace(ptr::null_mut());
                if !sheaf.is_null() {
                    cache.return_sheaf(sheaf);
                }
            }
            slot.return_nolock_sheaves(&cache);
        }
    }
    POOL.lock().push(ts);
}

/// Runs `f` on this thread's kfree_rcu state under the steal protocol (see
/// the module documentation).
#[inline]
pub(crate) fn with_rcu_state<R>(f: impl FnOnce(&'static ThreadSlab) -> R) -> R {
    let ts = current();
    if ts.is_orphan() {
        let _g = ts.lock();
        return f(ts);
    }
    crate::reclaim::defer_wakes(ts, || {
        if ts.steal.owner_enter(memb::slave_fence) {
            let _exit = ExitWindow(ts);
            return f(ts);
        }
        let _g = ts.lock();
        // A signal handler on this thread must not take the lock-free
        // window while this thread updates the state under the lock (the
        // flusher that sent it here may lower the steal count meanwhile).
        let _locked = NolockGuard::set(&ts.owner_locked);
        f(ts)
    })
}

/// Takes the kfree_rcu state of every thread in `threads`: raises their
/// steal counts, runs memb's master fence, waits until each owner is out of
/// its lock-free window, then runs `f` on each under its lock.
pub(crate) fn steal_round(threads: &[&'static ThreadSlab], mut f: impl FnMut(&'static ThreadSlab)) {
    for ts in threads {
        ts.steal.raise();
    }
    memb::master_fence();
    for ts in threads {
        // An owner's window is a few dozen instructions; if it was
        // preempted inside one, let it run.
        ts.steal.wait_idle(std::thread::yield_now);
        let _g = ts.lock();
        f(ts);
    }
    for ts in threads {
        ts.steal.lower();
    }
}

/// Runs an allocation-path operation on this thread's state: directly, or
/// under the lock for the orphan.
#[inline(always)]
pub(crate) fn with_alloc_state<R>(f: impl FnOnce(&'static ThreadSlab) -> R) -> R {
    let ts = current();
    if !ts.is_orphan() {
        return f(ts);
    }
    let _g = ts.lock();
    f(ts)
}

/// Clears every thread's sheaves and counters of a cache being destroyed.
/// The caller guarantees no thread uses the cache any more.
pub(crate) fn forget_cache(cache: &CacheInner) {
    crate::reclaim::with_state_walk(|| forget_cache_walk(cache));
}

fn forget_cache_walk(cache: &CacheInner) {
    for ts in all_states() {
        let _g = ts.lock();
        let Some(slot) = ts.slot_if_used(cache.id) else {
            continue;
        };
        for sheaf in [
            slot.main.replace(ptr::null_mut()),
            slot.spare.replace(ptr::null_mut()),
            slot.rcu_free.replace(ptr::null_mut()),
        ] {
            if !sheaf.is_null() {
                cache.return_sheaf(sheaf);
            }
        }
        slot.return_nolock_sheaves(cache);
        slot.reset_counters();
    }
}

/// Before fork: the orphan state, whose users take cache locks under its
/// lock (so it comes before them).
pub(crate) fn lock_orphan_for_fork() {
    if let Some(o) = ORPHAN.get() {
        std::mem::forget(o.lock());
    }
}

/// Before fork: the state lists (leaf locks, last).
pub(crate) fn lock_lists_for_fork() {
    std::mem::forget(ALL.lock());
    std::mem::forget(POOL.lock());
}

/// After fork, in either process: releases what the two `lock_*_for_fork`
/// took.
///
/// # Safety
///
/// Called once after both, by the thread that forked.
pub(crate) unsafe fn unlock_after_fork() {
    // SAFETY: locked (guards forgotten) by lock_*_for_fork on this thread.
    unsafe {
        POOL.force_unlock();
        ALL.force_unlock();
        if let Some(o) = ORPHAN.get() {
            o.lock.force_unlock();
        }
    }
}

/// In a fork child only the forking thread exists. The states of the other
/// threads may have been mid-update when they vanished: they are abandoned
/// (their queued objects leak in the child's copy of memory) so no flusher
/// ever reads them. This thread's state, the orphan and pooled states are
/// consistent and kept.
pub(crate) fn after_fork_child() {
    let me = tls::get();
    let orphan = ORPHAN
        .get()
        .map_or(ptr::null(), |o| *o as *const ThreadSlab);
    let pool: Vec<*const ThreadSlab> = POOL
        .lock()
        .iter()
        .map(|ts| *ts as *const ThreadSlab)
        .collect();
    ALL.lock().retain(|ts| {
        let p = *ts as *const ThreadSlab;
        p == me || p == orphan || pool.contains(&p)
    });
}

/// A test hook run inside krcu's critical sections: at the start of a
/// kfree_rcu batch (in the steal protocol's window) and on the allocation
/// and free slow paths. Zero: none.
static BUSY_HOOK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Sets the hook (see `testing::set_busy_hook`).
pub(crate) fn set_busy_hook(hook: Option<fn()>) {
    // Relaxed: a test switch, set before the code it concerns runs.
    BUSY_HOOK.store(hook.map_or(0, |f| f as usize), Ordering::Relaxed);
}

/// Runs the hook, if any.
#[inline]
pub(crate) fn busy_hook() {
    let h = BUSY_HOOK.load(Ordering::Relaxed);
    if h != 0 {
        // SAFETY: a nonzero value was stored from an `fn()` by set_busy_hook.
        let f: fn() = unsafe { std::mem::transmute::<usize, fn()>(h) };
        f();
    }
}
