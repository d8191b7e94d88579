//! kfree_rcu: freeing krcu objects after a grace period, in batches.
//!
//! # The paths
//!
//! A kfree_rcu'd object waits for a grace period of *both* flavors (memb and
//! qsbr), so it may be read under either. It takes the first path that
//! works, all on per-thread state and with no allocation on the caller's
//! path:
//!
//! 1. **Sheaf.** If its cache has sheaves, the object goes into this
//!    thread's `rcu_free` sheaf (an empty one comes from the barn). A full
//!    sheaf is stamped with grace-period cookies and handed to the helper as
//!    a unit; after the grace period, the cache's `rcu_dtor` runs on each
//!    object and the sheaf goes to the barn, ready for allocations.
//! 2. **Bulk array.** Otherwise the pointer goes into this thread's open
//!    batch: a chain of page-sized [`Block`]s of pointers (taken from a pool
//!    the helper keeps stocked).
//! 3. **List.** With no block to be had, a two-argument kfree_rcu links the
//!    object into the batch through its own [`RcuHead`] or [`RcuPtr`]: the
//!    link's first word points at the next link; the object is found from
//!    the link by the slab lookup, so an 8-byte link is enough.
//!
//! The headless [`kvfree_rcu`] has no link: with no block to be had it maps
//! one, and if even that fails it waits for the grace period itself
//! (`synchronize` of both flavors) and frees the object inline.
//!
//! # Batches
//!
//! The open batch is stamped with its cookies when it is detached, after its
//! last insert, and sealed: nothing is added to it afterwards. The owner
//! detaches it once it holds a block's worth of objects; the helper's
//! monitor detaches batches that have waited a monitor period (so an idle
//! thread's objects are freed); a barrier detaches every batch; a thread
//! detaches its own at exit. Each thread has two batch descriptors; when
//! both are with the helper, the owner keeps filling its open batch, and a
//! barrier or exit allocates a descriptor. The helper frees a batch in bulk,
//! with no callback per object, once both its cookies have completed.

use crate::cache::{CacheInner, KmemCache};
use crate::freemark;
use crate::lock::Mutex;
use crate::pending::{Kind, PendingHead};
use crate::reclaim;
use crate::sheaf::Sheaf;
use crate::slab::{self, Object};
use crate::thread::{self, bump, ThreadSlab};
use std::cell::UnsafeCell;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use urcu_core::__private::ForkOnceLock;
use urcu_core::{memb, qsbr, GpCookie, RcuHead};

/// An 8-byte link for kfree_rcu: the kernel's `struct rcu_ptr`.
///
/// Objects that are only ever freed with kfree_rcu need no callback
/// pointer, so they can carry this instead of a 16-byte [`RcuHead`].
#[repr(C)]
#[derive(Debug, Default)]
pub struct RcuPtr {
    next: AtomicPtr<RcuPtr>,
}

impl RcuPtr {
    /// An unlinked link.
    pub const fn new() -> Self {
        RcuPtr {
            next: AtomicPtr::new(ptr::null_mut()),
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for urcu_core::RcuHead {}
    impl Sealed for super::RcuPtr {}
}

/// A link kfree_rcu can thread an object through: [`RcuHead`] or
/// [`RcuPtr`]. Both start with the pointer-sized word kfree_rcu uses.
pub trait RcuLink: sealed::Sealed {}
impl RcuLink for RcuHead {}
impl RcuLink for RcuPtr {}

/// A kfree_rcu link must lie within the object's first this-many bytes.
pub const KFREE_RCU_MAX_OFFSET: usize = 4096;

/// Frees a krcu object after a grace period of both flavors, through the
/// [`RcuHead`] or [`RcuPtr`] field it embeds: `kfree_rcu!(ptr, Type, field)`.
///
/// Never blocks and never allocates (the object is linked through its own
/// field when no array slot is free). While more than about 96K objects
/// wait for the helper (a flood outrunning it) it yields the CPU to the
/// helper, at most 16 times per call, which bounds the memory waiting. A field at offset 4096 or more is
/// rejected at compile time. Rust cannot name the type of an expression in a
/// constant, so the macro takes the type besides the pointer and the field.
///
/// ```
/// use urcu_slab::{kfree_rcu, kmalloc, kvfree_rcu_barrier, RcuPtr};
///
/// #[repr(C)]
/// struct Node { key: u64, rcu: RcuPtr }
///
/// let p = kmalloc(std::mem::size_of::<Node>()).unwrap().as_ptr().cast::<Node>();
/// // SAFETY: p is a fresh krcu allocation, large enough for a Node.
/// unsafe { p.write(Node { key: 7, rcu: RcuPtr::new() }) };
/// // SAFETY: p is unpublished (or unpublished before this) and not used again.
/// unsafe { kfree_rcu!(p, Node, rcu) };
/// kvfree_rcu_barrier();
/// ```
///
/// ```compile_fail
/// use urcu_slab::{kfree_rcu, RcuPtr};
/// #[repr(C)]
/// struct Big { data: [u8; 4096], rcu: RcuPtr }
/// let p: *mut Big = std::ptr::null_mut();
/// unsafe { kfree_rcu!(p, Big, rcu) }; // the link is past the first 4096 bytes
/// ```
///
/// # Safety
///
/// The expansion calls [`kfree_rcu_link`]; its contract applies.
#[macro_export]
macro_rules! kfree_rcu {
    ($ptr:expr, $ty:ty, $field:ident) => {{
        const _: () = ::core::assert!(
            ::core::mem::offset_of!($ty, $field) < $crate::KFREE_RCU_MAX_OFFSET,
            "kfree_rcu!: the link field must lie within the object's first 4096 bytes"
        );
        let __p: *mut $ty = $ptr;
        $crate::kfree_rcu_link(__p.cast::<u8>(), ::core::ptr::addr_of_mut!((*__p).$field))
    }};
}

/// The function under [`kfree_rcu!`]: frees the krcu object at `ptr`
/// after a grace period, linking it through `head` if need be. Null `ptr`
/// is a no-op.
///
/// # Safety
///
/// `ptr` is a live krcu allocation (kmalloc or any cache) that no new
/// reader can reach, and nothing uses it after the grace period; `head`
/// points into it; neither is passed to kfree_rcu again.
///
/// # Panics
///
/// When `ptr` is not a krcu allocation, or `head` does not lie within its
/// first [`KFREE_RCU_MAX_OFFSET`] bytes, or the object is free already or
/// waiting for a grace period already (a double free: nothing is queued).
#[inline]
#[track_caller]
pub unsafe fn kfree_rcu_link<H: RcuLink>(ptr: *mut u8, head: *mut H) {
    if ptr.is_null() {
        return;
    }
    let o = crate::object_of(ptr, "kfree_rcu");
    let off = (head as usize).wrapping_sub(o.start as usize);
    if off >= KFREE_RCU_MAX_OFFSET.min(o.size()) || off + 8 > o.size() {
        crate::misuse(
            &format!(
                "kfree_rcu({ptr:p}): the link at {head:p} is not within the object's first {} bytes",
                KFREE_RCU_MAX_OFFSET.min(o.size())
            ),
            "pass a pointer to an RcuHead or RcuPtr field of the object itself",
        );
    }
    mark_pending(&o, "kfree_rcu");
    thread::with_rcu_state(|ts| insert(ts, &o, Some(head.cast())));
    reclaim::throttle();
}

/// `kvfree_call_rcu` with a 16-byte head: see [`kfree_rcu_link`].
///
/// # Safety
///
/// As for [`kfree_rcu_link`].
#[inline]
#[track_caller]
pub unsafe fn kvfree_call_rcu(head: *mut RcuHead, ptr: *mut u8) {
    // SAFETY: forwarded contract.
    unsafe { kfree_rcu_link(ptr, head) }
}

/// `kvfree_call_rcu` with an 8-byte link: see [`kfree_rcu_link`].
///
/// # Safety
///
/// As for [`kfree_rcu_link`].
#[inline]
#[track_caller]
pub unsafe fn kvfree_call_rcu_ptr(head: *mut RcuPtr, ptr: *mut u8) {
    // SAFETY: forwarded contract.
    unsafe { kfree_rcu_link(ptr, head) }
}

/// Headless kvfree_rcu: frees the krcu object at `ptr` after a grace period
/// of both flavors, with no link inside it. Null is a no-op.
///
/// The pointer goes into a per-thread bulk array; when no array can be had
/// (not even by mapping one) it waits for the grace period itself and frees
/// the object before returning: it may sleep.
///
/// # Safety
///
/// As for [`kfree_rcu_link`], without the link.
///
/// # Panics
///
/// Inside a read-side critical section of either flavor (it may wait for a
/// grace period, which would deadlock), or when `ptr` is not a krcu
/// allocation, or for a double free (as [`kfree_rcu_link`]).
#[track_caller]
pub unsafe fn kvfree_rcu(ptr: *mut u8) {
    if ptr.is_null() {
        return;
    }
    forbid_sleep("kvfree_rcu()");
    let o = crate::object_of(ptr, "kvfree_rcu");
    mark_pending(&o, "kvfree_rcu");
    for _ in 0..2 {
        if thread::with_rcu_state(|ts| insert(ts, &o, None)) {
            reclaim::throttle();
            return;
        }
        // No array slot: map a block (this path may allocate and sleep).
        let block = Block::alloc();
        if block.is_null() {
            break;
        }
        thread::with_rcu_state(|ts| {
            // SAFETY: the open batch is ours under the steal protocol.
            let local = unsafe { &mut *ts.rcu.get() };
            local.adopt(block);
        });
    }
    // Nothing to queue it in: wait for the grace period here.
    crate::warn(&format!(
        "krcu: kvfree_rcu({:p}) found no pointer array (memory is short) and waits for the grace period inline; give objects an embedded link (kfree_rcu!) to avoid this",
        o.start
    ));
    let size = o.size() as u64;
    thread::with_rcu_state(|ts| {
        bump(&ts.counters.rcu_objects, 1);
        bump(&ts.counters.rcu_bytes, size);
    });
    memb::synchronize();
    qsbr::synchronize();
    // The object (and, for a large one, its header) is gone after this.
    free_after_gp(o.start);
    reclaim::FREED_SYNC.fetch_add(1, Ordering::Relaxed);
    reclaim::FREED_BYTES.fetch_add(size, Ordering::Relaxed);
}

/// Panics, naming the rule, when the caller may not wait for a grace
/// period and the helper (`what` is the public call, e.g.
/// `"kvfree_rcu_barrier()"`): inside a read-side critical section of either
/// flavor; for a barrier or a cache's destruction, inside any RCU callback
/// (`call_rcu`, `defer`, `rcu_dtor`), which runs on a krcu helper thread;
/// for the headless `kvfree_rcu`, on the reclaim helper (an `rcu_dtor`).
/// A qsbr thread that is online is fine: the waits go offline.
#[track_caller]
pub(crate) fn forbid_sleep(what: &str) {
    let headless = what.starts_with("kvfree_rcu(");
    if memb::in_read_section() || qsbr::in_read_section() {
        let instead = if headless {
            "end the read section first, or free through an embedded link with the two-argument kfree_rcu!, which never waits"
        } else {
            "end the read section (drop its guard) first"
        };
        crate::misuse(
            &format!("{what} called inside a read-side critical section may wait for a grace period, which would deadlock"),
            instead,
        );
    }
    if headless {
        if reclaim::on_helper() {
            crate::misuse(
                &format!("{what} called from an rcu_dtor would deadlock (the helper running it would wait for itself)"),
                "free objects directly with kfree from an rcu_dtor, or through an embedded link with the two-argument kfree_rcu!",
            );
        }
    } else {
        urcu_core::__private::forbid_in_callback(what);
    }
}

/// Whether the slab layer's debug checks are on: debug builds, or
/// `KRCU_SLAB_DEBUG=1` in the environment, or [`set_debug_checks`]. They
/// poison the freed objects of caches created while they are on (writes
/// after free are then reported when the object is handed out again).
/// Double frees are caught whether they are on or not (freemark.rs).
#[inline]
pub(crate) fn debug_checks() -> bool {
    FORCE_DEBUG.load(Ordering::Relaxed)
        || DEBUG_FROM_ENV.get().copied().unwrap_or_else(debug_from_env)
}

static DEBUG_FROM_ENV: ForkOnceLock<bool> = ForkOnceLock::new();

#[cold]
fn debug_from_env() -> bool {
    *DEBUG_FROM_ENV.get_or_init(|| {
        cfg!(debug_assertions) || std::env::var_os("KRCU_SLAB_DEBUG").is_some_and(|v| v == "1")
    })
}

/// Set by `set_debug_checks`; Relaxed: a configuration switch read when a
/// cache is created.
static FORCE_DEBUG: AtomicBool = AtomicBool::new(false);

/// Turns the debug checks on in release builds too, for caches created
/// from now on (the kmalloc classes are created with the first kmalloc):
/// freed objects are poisoned, and a write after free is reported when the
/// object is handed out again. They are always on in debug builds and with
/// `KRCU_SLAB_DEBUG=1`. Double frees are detected either way.
pub fn set_debug_checks(on: bool) {
    FORCE_DEBUG.store(on, Ordering::Relaxed);
}

/// Marks the object pending before kfree_rcu (the public call `what`)
/// queues it. A double free when the object is pending already (a second
/// kfree_rcu, or one after kfree_nolock deferred it) or carries its free
/// mark (kfree_rcu after a free): see freemark.rs.
#[inline(always)]
#[track_caller]
fn mark_pending(o: &Object, what: &'static str) {
    if let Some(cache) = o.cache() {
        if freemark::marked(cache.free_key, o.start, cache.freeptr) {
            cache.double_free(o.start, what, "free");
        }
    }
    if !o.mark_pending() {
        double_kfree_rcu(o, what);
    }
}

/// Counts and reports a double kfree_rcu; out of line, so that the check
/// inlines into every caller.
#[cold]
#[inline(never)]
#[track_caller]
fn double_kfree_rcu(o: &Object, what: &str) -> ! {
    reclaim::DOUBLE.fetch_add(1, Ordering::Relaxed);
    crate::double_free_pending(*o, what)
}

/// Pointers per [`Block`]: the block fills a 4 KiB object.
pub(crate) const BLOCK_PTRS: usize = (4096 - 16) / 8;

/// A page-sized array of object pointers waiting for a grace period.
#[repr(C)]
pub(crate) struct Block {
    next: *mut Block,
    nr: usize,
    ptrs: [*mut u8; BLOCK_PTRS],
}

/// Blocks ready for threads to take, kept stocked by the helper.
const BLOCK_POOL_TARGET: usize = 32;
static BLOCK_POOL: Mutex<Vec<SendBlock>> = Mutex::new(Vec::new());
/// A thread found the pool empty: the helper refills it. Relaxed: a hint,
/// delivered by the want_stock() wake that follows it (see reclaim.rs);
/// the blocks themselves move under the pool's lock.
pub(crate) static WANT_BLOCKS: AtomicBool = AtomicBool::new(false);

struct SendBlock(*mut Block);
// SAFETY: a pooled block is owned by the pool alone.
unsafe impl Send for SendBlock {}

fn block_cache() -> &'static CacheInner {
    // A fork child that caught it being made makes it again (the half-made
    // cache leaks in the child's copy).
    static BLOCKS: ForkOnceLock<KmemCache> = ForkOnceLock::new();
    BLOCKS
        .get_or_init(|| {
            KmemCache::new(
                "krcu-kfree-blocks",
                std::mem::size_of::<Block>(),
                crate::CacheArgs::default(),
            )
            .expect("the block cache's geometry is valid")
        })
        .inner()
}

impl Block {
    /// A fresh empty block from the block cache; null when memory cannot be
    /// had.
    fn alloc() -> *mut Block {
        let b = block_cache().alloc().cast::<Block>();
        if !b.is_null() {
            // SAFETY: a fresh block-sized allocation.
            unsafe {
                (*b).next = ptr::null_mut();
                (*b).nr = 0;
            }
        }
        b
    }

    /// Returns a used block to the pool, or to the block cache.
    fn recycle(b: *mut Block) {
        // SAFETY: the caller gives the block up.
        unsafe {
            (*b).next = ptr::null_mut();
            (*b).nr = 0;
        }
        let mut pool = BLOCK_POOL.lock();
        if pool.len() < BLOCK_POOL_TARGET {
            pool.push(SendBlock(b));
        } else {
            drop(pool);
            block_cache().free(b.cast(), "the kfree_rcu block pool's free");
        }
    }

    fn take_pooled() -> *mut Block {
        match BLOCK_POOL.lock().pop() {
            Some(b) => b.0,
            None => {
                if !WANT_BLOCKS.swap(true, Ordering::Relaxed) {
                    reclaim::want_stock();
                }
                ptr::null_mut()
            }
        }
    }

    fn is_full(&self) -> bool {
        self.nr == BLOCK_PTRS
    }
}

/// Before fork (see `fork.rs`).
pub(crate) fn lock_for_fork() {
    std::mem::forget(BLOCK_POOL.lock());
}

/// After fork.
///
/// # Safety
///
/// Called once after `lock_for_fork`, by the thread that forked.
pub(crate) unsafe fn unlock_after_fork() {
    // SAFETY: locked by lock_for_fork on this thread, guard forgotten.
    unsafe { BLOCK_POOL.force_unlock() };
}

/// Tops up the block pool (helper).
pub(crate) fn refill_block_pool() {
    if !WANT_BLOCKS.swap(false, Ordering::Relaxed) {
        return;
    }
    while BLOCK_POOL.lock().len() < BLOCK_POOL_TARGET {
        let b = Block::alloc();
        if b.is_null() {
            WANT_BLOCKS.store(true, Ordering::Relaxed);
            return;
        }
        BLOCK_POOL.lock().push(SendBlock(b));
    }
}

/// A thread's open kfree_rcu batch (steal protocol).
pub(crate) struct RcuLocal {
    /// The block accepting pointers (null: take one when needed).
    cur: *mut Block,
    /// Full blocks of the open batch.
    full: *mut Block,
    /// Objects linked through their heads: each link's first word points at
    /// the next link.
    list: *mut u8,
    nr: usize,
    bytes: usize,
}

impl RcuLocal {
    pub(crate) const fn new() -> Self {
        RcuLocal {
            cur: ptr::null_mut(),
            full: ptr::null_mut(),
            list: ptr::null_mut(),
            nr: 0,
            bytes: 0,
        }
    }

    /// Takes a freshly mapped block as the accepting block (or pools it).
    fn adopt(&mut self, block: *mut Block) {
        // SAFETY: blocks of the open batch are the owner's.
        if self.cur.is_null() || unsafe { (*self.cur).is_full() } {
            if !self.cur.is_null() {
                unsafe { (*self.cur).next = self.full };
                self.full = self.cur;
            }
            self.cur = block;
        } else {
            Block::recycle(block);
        }
    }
}

/// The fields of a batch in flight.
pub(crate) struct BatchData {
    blocks: *mut Block,
    list: *mut u8,
    nr: usize,
    bytes: usize,
    cookies: [GpCookie; 2],
}

/// A batch descriptor: embedded in a thread's state (two per thread), or
/// allocated by a barrier or an exiting thread when both are in flight.
#[repr(C)]
pub(crate) struct BatchDesc {
    pending: UnsafeCell<PendingHead>,
    data: UnsafeCell<BatchData>,
    /// Set by the thread that hands the batch off, cleared (Release) by the
    /// helper once the batch is freed; the owner reuses the descriptor only
    /// after an Acquire load sees it clear.
    in_flight: AtomicBool,
    heap: bool,
}

// SAFETY: `data` is written only by the holder of the thread's kfree_rcu
// state while `in_flight` is clear, and read by the helper while it is set.
unsafe impl Sync for BatchDesc {}

impl BatchDesc {
    pub(crate) const fn new(heap: bool) -> Self {
        BatchDesc {
            pending: UnsafeCell::new(PendingHead::new(Kind::Batch)),
            data: UnsafeCell::new(BatchData {
                blocks: ptr::null_mut(),
                list: ptr::null_mut(),
                nr: 0,
                bytes: 0,
                cookies: [GpCookie { seq: 0 }; 2],
            }),
            in_flight: AtomicBool::new(false),
            heap,
        }
    }
}

/// Cookies for a grace period of both flavors that starts after this call.
/// They request nothing: the reclaim helper decides when to wait for them,
/// so that a flood of hand-offs does not turn into a flood of grace periods.
pub(crate) fn stamp() -> [GpCookie; 2] {
    [memb::get_state(), qsbr::get_state()]
}

/// Queues an object on this thread's kfree_rcu state; false only for a
/// headless call with no array slot.
pub(crate) fn insert(ts: &'static ThreadSlab, o: &Object, head: Option<*mut u8>) -> bool {
    insert_with(ts, o, head, false)
}

/// [`insert`] for a `_nolock` call, in the thread's lock-free window: no
/// step that locks (the barn, the block pool) or allocates; the object is
/// linked through `head` when no array slot is at hand. False when the
/// helper does not run (in a fork child, until an ordinary call starts it):
/// nothing may be handed off then.
pub(crate) fn insert_nolock(ts: &'static ThreadSlab, o: &Object, head: *mut u8) -> bool {
    reclaim::started() && insert_with(ts, o, Some(head), true)
}

#[inline(always)]
fn insert_with(ts: &'static ThreadSlab, o: &Object, head: Option<*mut u8>, nolock: bool) -> bool {
    // Read the header first: once the object is handed off (a sheaf or a
    // batch submitted below) its grace period may end and, outside a read
    // section (the steal protocol's locked mode), its memory may be gone.
    let size = o.size();
    let cache = o.cache();
    if let Some(cache) = cache {
        if cache.sheaf_capacity > 0 && rcu_sheaf_insert(ts, cache, o.start, size, nolock) {
            if nolock {
                bump(&ts.counters.nolock_rcu, 1);
            }
            return true;
        }
    }
    // SAFETY: the open batch is ours under the steal protocol.
    let local = unsafe { &mut *ts.rcu.get() };
    // SAFETY: blocks of the open batch are ours.
    if local.cur.is_null() || unsafe { (*local.cur).is_full() } {
        if !local.cur.is_null() {
            unsafe { (*local.cur).next = local.full };
            local.full = local.cur;
        }
        local.cur = if nolock {
            ptr::null_mut()
        } else {
            Block::take_pooled()
        };
    }
    if !local.cur.is_null() {
        // SAFETY: the accepting block has a free slot.
        let b = unsafe { &mut *local.cur };
        b.ptrs[b.nr] = o.start;
        b.nr += 1;
    } else if let Some(h) = head {
        // SAFETY: the link lies inside the object (checked), which is ours
        // until its grace period ends.
        unsafe { h.cast::<*mut u8>().write(local.list) };
        local.list = h;
    } else {
        return false;
    }
    local.nr += 1;
    local.bytes += size;
    bump(&ts.counters.rcu_objects, 1);
    bump(&ts.counters.rcu_bytes, size as u64);
    if let Some(cache) = cache {
        // A `_nolock` call cannot create the slot (that allocates); the
        // object then counts in the global statistics only.
        let slot = if nolock {
            ts.slot_if_used_at(cache.slot)
        } else {
            Some(ts.slot_at(cache.slot))
        };
        if let Some(slot) = slot {
            bump(&slot.rcu_batched, 1);
        }
    }
    if nolock {
        bump(&ts.counters.nolock_rcu, 1);
    }
    if local.nr == 1 {
        thread::busy_hook();
        reclaim::note_open_batch(ts);
    } else if local.nr >= BLOCK_PTRS {
        detach(ts, false);
    }
    true
}

/// kfree_rcu calls that skip the barn after it had no empty sheaf.
const SHEAF_BACKOFF: u32 = 32;

/// Puts an object in this thread's `rcu_free` sheaf; false when no empty
/// sheaf can be had without allocating.
fn rcu_sheaf_insert(
    ts: &'static ThreadSlab,
    cache: &CacheInner,
    obj: *mut u8,
    size: usize,
    nolock: bool,
) -> bool {
    let slot = if nolock {
        match ts.slot_if_used_at(cache.slot) {
            Some(slot) => slot,
            None => return false,
        }
    } else {
        ts.slot_at(cache.slot)
    };
    let mut sheaf = slot.rcu_free.get();
    if sheaf.is_null() && nolock {
        // Taking an empty sheaf from the barn locks it.
        bump(&slot.rcu_sheaf_fail, 1);
        return false;
    }
    if sheaf.is_null() {
        // After the barn had no empty sheaf, the next objects go straight
        // to a batch rather than ask the barn (a lock) again for each one;
        // allocations refill the barn with empties meanwhile.
        let backoff = slot.rcu_backoff.get();
        if backoff > 0 {
            slot.rcu_backoff.set(backoff - 1);
            bump(&slot.rcu_sheaf_fail, 1);
            return false;
        }
        match cache.barn.take_empty() {
            Some(s) => {
                sheaf = s;
                slot.rcu_free.set(s);
            }
            None => {
                slot.rcu_backoff.set(SHEAF_BACKOFF);
                bump(&slot.rcu_sheaf_fail, 1);
                if !cache.want_empty.swap(true, Ordering::Relaxed) {
                    reclaim::want_stock();
                }
                return false;
            }
        }
    }
    // SAFETY: the rcu_free sheaf is ours under the steal protocol.
    let s = unsafe { &mut *sheaf };
    // Counted before the hand-off, so the helper never frees more than was
    // submitted.
    bump(&ts.counters.rcu_objects, 1);
    bump(&ts.counters.rcu_bytes, size as u64);
    s.push(obj);
    bump(&slot.rcu_sheaf, 1);
    if s.is_full() {
        slot.rcu_free.set(ptr::null_mut());
        bump(&slot.sheaf_submissions, 1);
        submit_sheaf(sheaf);
    }
    true
}

fn submit_sheaf(sheaf: *mut Sheaf) {
    // SAFETY: the caller gives the sheaf up to the helper.
    unsafe { (*sheaf).cookies = stamp() };
    reclaim::SHEAVES_SUBMITTED.fetch_add(1, Ordering::Relaxed);
    // SAFETY: a full sheaf starts with its pending head; the helper owns it
    // from now on.
    unsafe { reclaim::submit(sheaf.cast()) };
}

/// Seals the open batch and hands it to the helper; false when both of the
/// thread's descriptors are in flight and `allow_heap` is not set.
fn detach(ts: &'static ThreadSlab, allow_heap: bool) -> bool {
    // SAFETY: the open batch is ours (owner, or lock holder).
    let local = unsafe { &mut *ts.rcu.get() };
    if local.nr == 0 {
        return true;
    }
    // Acquire: pairs with the helper's Release clear; the descriptor's
    // previous batch is fully processed.
    let desc: &BatchDesc = match ts
        .descs
        .iter()
        .find(|d| !d.in_flight.load(Ordering::Acquire))
    {
        Some(d) => d,
        None if allow_heap => Box::leak(Box::new(BatchDesc::new(true))),
        None => return false,
    };
    let mut blocks = local.full;
    // SAFETY: blocks of the open batch are ours.
    if !local.cur.is_null() && unsafe { (*local.cur).nr } > 0 {
        unsafe { (*local.cur).next = blocks };
        blocks = local.cur;
        local.cur = ptr::null_mut();
    }
    // SAFETY: the descriptor is not in flight: ours to fill.
    unsafe {
        *desc.data.get() = BatchData {
            blocks,
            list: local.list,
            nr: local.nr,
            bytes: local.bytes,
            cookies: stamp(),
        };
    }
    local.full = ptr::null_mut();
    local.list = ptr::null_mut();
    local.nr = 0;
    local.bytes = 0;
    // Relaxed: the monitor's age hint (see ThreadSlab::batch_since).
    ts.batch_since.store(0, Ordering::Relaxed);
    // Relaxed: only this thread reads it before the helper clears it, and
    // the helper takes the descriptor through the push's Release / take's
    // Acquire.
    desc.in_flight.store(true, Ordering::Relaxed);
    reclaim::BATCHES.fetch_add(1, Ordering::Relaxed);
    // SAFETY: the descriptor is the helper's until it clears in_flight.
    unsafe { reclaim::submit(desc.pending.get()) };
    true
}

/// Hands off a thread's kfree_rcu state: its open batch (the helper's
/// monitor passes `all_sheaves = false` and only aged batches), and its
/// `rcu_free` sheaves, of `cache` only or of every cache. Called with the
/// thread's state taken (steal round, or the exiting owner).
pub(crate) fn flush_thread(ts: &'static ThreadSlab, cache: Option<&CacheInner>, all_sheaves: bool) {
    detach(ts, true);
    if !all_sheaves && cache.is_none() {
        return;
    }
    let flush = |id: usize, slot: &thread::CacheSlot| {
        let sheaf = slot.rcu_free.replace(ptr::null_mut());
        if sheaf.is_null() {
            return;
        }
        // SAFETY: taken from the slot: ours.
        if unsafe { (*sheaf).len() } == 0 {
            match crate::cache::pin(id) {
                Some(c) => c.barn.put_empty(sheaf),
                // The cache is being destroyed: an empty sheaf holds
                // nothing of it.
                // SAFETY: taken from the slot, empty: ours alone.
                None => unsafe { crate::sheaf::Sheaf::retire(sheaf) },
            }
            return;
        }
        bump(&slot.sheaf_submissions, 1);
        submit_sheaf(sheaf);
    };
    match cache {
        Some(c) => {
            if let Some(slot) = ts.slot_if_used(c.id) {
                flush(c.id, slot);
            }
        }
        None => {
            for (id, slot) in ts.slots() {
                flush(id, slot);
            }
        }
    }
}

/// The monitor's hand-off of an aged batch. It may allocate a descriptor
/// when both of the thread's are in flight (or were abandoned by a helper
/// that vanished in a fork).
pub(crate) fn detach_aged(ts: &'static ThreadSlab) {
    detach(ts, true);
}

/// Frees one object whose grace period has passed: its cache's `rcu_dtor`,
/// then back to the cache (or unmapped, for a large object).
pub(crate) fn free_after_gp(obj: *mut u8) {
    let o = slab::find(obj).expect("a queued object is a krcu object");
    match o.cache() {
        Some(cache) => {
            if let Some(dtor) = cache.rcu_dtor {
                // SAFETY: the object's grace period passed; the dtor gets
                // the object, as documented.
                unsafe { dtor(o.start.cast()) };
            }
            o.clear_pending();
            cache.free(o.start, "kfree_rcu");
        }
        None => {
            o.clear_pending();
            // SAFETY: a large object whose grace period passed; its mapping
            // holds nothing else.
            unsafe { slab::release(o.slab) };
        }
    }
}

/// Frees a batch (helper) and gives its descriptor back.
///
/// # Safety
///
/// `desc` was handed to the helper by `detach`, and its cookies completed.
pub(crate) unsafe fn process_batch(desc: *mut PendingHead) {
    let desc = desc.cast::<BatchDesc>();
    // SAFETY: in flight: the helper's.
    let d = unsafe { &mut *(*desc).data.get() };
    let (mut bulk, mut list) = (0u64, 0u64);
    let mut b = d.blocks;
    while !b.is_null() {
        // SAFETY: the batch's blocks are the helper's now.
        let blk = unsafe { &mut *b };
        for &p in &blk.ptrs[..blk.nr] {
            free_after_gp(p);
        }
        bulk += blk.nr as u64;
        let next = blk.next;
        Block::recycle(b);
        b = next;
    }
    let mut h = d.list;
    while !h.is_null() {
        // SAFETY: each link's first word was written by `insert`; read it
        // before the object is freed.
        let next = unsafe { h.cast::<*mut u8>().read() };
        let o = slab::find(h).expect("a linked object is a krcu object");
        free_after_gp(o.start);
        list += 1;
        h = next;
    }
    debug_assert_eq!(bulk + list, d.nr as u64);
    reclaim::FREED_BULK.fetch_add(bulk, Ordering::Relaxed);
    reclaim::FREED_LIST.fetch_add(list, Ordering::Relaxed);
    reclaim::FREED_BYTES.fetch_add(d.bytes as u64, Ordering::Relaxed);
    d.blocks = ptr::null_mut();
    d.list = ptr::null_mut();
    d.nr = 0;
    // SAFETY: as above.
    if unsafe { (*desc).heap } {
        // SAFETY: heap descriptors come from Box::leak in `detach`.
        drop(unsafe { Box::from_raw(desc) });
    } else {
        // Release: the owner's Acquire load sees the descriptor emptied.
        unsafe { (*desc).in_flight.store(false, Ordering::Release) };
    }
}

/// Objects in a batch in flight.
///
/// # Safety
///
/// `desc` is a batch descriptor in flight.
pub(crate) unsafe fn batch_len(desc: *mut PendingHead) -> usize {
    // SAFETY: the caller's contract.
    unsafe { (*(*desc.cast::<BatchDesc>()).data.get()).nr }
}

/// The cookies of a batch in flight.
///
/// # Safety
///
/// `desc` is a batch descriptor in flight.
pub(crate) unsafe fn batch_cookies(desc: *mut PendingHead) -> [GpCookie; 2] {
    // SAFETY: the caller's contract.
    unsafe { (*(*desc.cast::<BatchDesc>()).data.get()).cookies }
}

/// Waits until every kfree_rcu and kvfree_rcu that returned before the call
/// has freed its object, on every thread (including idle and exited ones).
///
/// # Panics
///
/// Inside a read-side critical section of either flavor, or in an
/// `rcu_dtor`: it waits for grace periods and for the helper.
#[track_caller]
pub fn kvfree_rcu_barrier() {
    reclaim::barrier(None, "kvfree_rcu_barrier()");
}

/// [`kvfree_rcu_barrier`] for one cache: flushes only that cache's
/// `rcu_free` sheaves (and every thread's batches, which mix caches), then
/// waits for them.
///
/// # Panics
///
/// As [`kvfree_rcu_barrier`].
#[track_caller]
pub fn kvfree_rcu_barrier_on_cache(cache: &KmemCache) {
    reclaim::barrier(Some(cache.inner()), "kvfree_rcu_barrier_on_cache()");
}
