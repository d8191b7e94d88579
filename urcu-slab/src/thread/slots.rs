//! A thread's table of per-cache slots: where a cache's slot is
//! ([`SlotIndex`]), what a slot holds ([`CacheSlot`]: the thread's sheaves
//! of that cache and its counters), and the owner-written sheaf pointer.

use crate::caches::Sheaf;
use crate::stats::counters::SlotCounters;
use crate::thread::stock::StockSlot;
use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

/// Cache slots per chunk of a thread's slot table.
pub(crate) const CHUNK: usize = 64;
/// Chunks per table: at most `CHUNK * NCHUNKS` caches exist at once.
pub(crate) const NCHUNKS: usize = 64;
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
    pub(crate) chunk: usize,
    pub(crate) offset: usize,
}

impl SlotIndex {
    pub(crate) const fn of(id: usize) -> Self {
        assert!(id < MAX_CACHES);
        SlotIndex {
            chunk: id / CHUNK,
            offset: id % CHUNK * std::mem::size_of::<CacheSlot>(),
        }
    }

    pub(crate) fn id(self) -> usize {
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
    pub(crate) counters: SlotCounters,
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
    pub(crate) fn new() -> Self {
        CacheSlot {
            main: OwnerPtr::null(),
            spare: OwnerPtr::null(),
            rcu_free: Cell::new(ptr::null_mut()),
            rcu_backoff: Cell::new(0),
            counters: SlotCounters::default(),
            nolock: AtomicPtr::new(ptr::null_mut()),
            incoming: StockSlot::new(),
            want: AtomicBool::new(false),
        }
    }

    /// Takes the `_nolock` sheaves out of the slot (null where there is
    /// none), for the cache to take back: the thread is gone, or nobody
    /// uses the cache any more.
    pub(crate) fn take_nolock_sheaves(&self) -> [*mut Sheaf; 2] {
        // Acquire (both): the sheaf's contents, written by this thread's
        // calls or by the helper that stocked it, are complete.
        let taken = [
            self.nolock.swap(ptr::null_mut(), Ordering::Acquire),
            self.incoming.take(),
        ];
        // Relaxed: a hint (see `want`).
        self.want.store(false, Ordering::Relaxed);
        taken
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
