//! One thread's slab state ([`ThreadSlab`]) and the steal protocol's
//! windows on it (see the module above).

use super::slots::{CacheSlot, SlotIndex, CHUNK, NCHUNKS};
use crate::helper::doorbell::WakeScope;
use crate::kfree_rcu::{BatchDesc, RcuLocal};
use crate::memory::lock::{ReentrantGuard, ReentrantMutex};
use crate::stats::counters::ThreadCounters;
use crate::thread::steal::StealFlag;
use std::cell::UnsafeCell;
use std::ptr;
use std::sync::atomic::{compiler_fence, AtomicPtr, AtomicU64, AtomicU8, Ordering};
use urcu_core::memb;

/// One thread's slab state.
pub(crate) struct ThreadSlab {
    /// Flushers that want the kfree_rcu state; raised sends the owner to
    /// `lock`. See the module documentation and `steal.rs`.
    pub(crate) steal: StealFlag,
    /// Nonzero while a `_nolock` call on this thread uses its `nolock`
    /// sheaves (a nested handler's call then keeps out); this thread only.
    nolock_busy: AtomicU8,
    /// Nonzero while the owner works on its kfree_rcu state under the lock
    /// (the steal protocol's locked mode); read by its signal handlers.
    pub(crate) owner_locked: AtomicU8,
    /// Protects the kfree_rcu state while `steal` is nonzero, and all of the
    /// orphan state. Reentrant: a kfree_rcu path may allocate a bulk block
    /// while holding it. Innermost lock except for barns and node locks.
    pub(crate) lock: ReentrantMutex,
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
    /// window (`helper::defer_wakes`); never used on the orphan, never
    /// written by a signal handler (doorbell.rs).
    pub(crate) wake_scope: WakeScope,
}

// SAFETY: the Cells and UnsafeCell are touched only by the owner thread, or
// under `lock` by the steal protocol (module documentation); the orphan
// state is only touched under `lock`.
unsafe impl Sync for ThreadSlab {}
// SAFETY: as for Sync: nothing in it is tied to the thread that made it.
unsafe impl Send for ThreadSlab {}

impl ThreadSlab {
    pub(crate) fn new(orphan: bool) -> Self {
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
        // Relaxed: a hint, delivered by the wake that follows it (see
        // `want_chunks`).
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
                // SAFETY: installed chunks are never freed.
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
        // Relaxed: a same-thread flag (see enter_nolock).
        let owner_locked = self.owner_locked.load(Ordering::Relaxed) != 0;
        self.steal
            .handler_run(owner_locked, memb::slave_fence, || f(self))
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
    pub(crate) fn set(flag: &'a AtomicU8) -> Self {
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
        // SeqCst compiler fence and Relaxed store: a same-thread flag (see
        // NolockGuard::set).
        compiler_fence(Ordering::SeqCst);
        self.0.store(0, Ordering::Relaxed);
    }
}
