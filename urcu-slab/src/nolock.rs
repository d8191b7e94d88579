//! The `_nolock` functions: allocation and freeing for the unknown context.
//!
//! A signal handler may interrupt any code: krcu itself on the same thread
//! (halfway through a sheaf update or holding the thread's lock), `malloc`,
//! or any lock holder. The functions here never block, never spin on a
//! lock, never allocate with the system allocator, never yield and never
//! start a thread; everything they do is a plain access to this thread's
//! state, an atomic operation, or a futex wake.
//!
//! # The paths
//!
//! * **Allocation and free**: per thread and cache, a `nolock` sheaf of
//!   free objects that only `_nolock` calls touch (the ordinary paths pay
//!   nothing for them), guarded by a per-thread flag against a nested
//!   signal handler. The helper keeps a full sheaf waiting next to it
//!   (`incoming`, taken with an atomic swap) and is asked for the next one
//!   when the sheaf runs below half; an emptied sheaf goes back to the
//!   helper on a lock-free stack. An allocation that finds nothing fails
//!   at once (ENOMEM semantics: no retry loop); a free into a full sheaf is
//!   deferred.
//! * **kfree_rcu**: this thread's `rcu_free` sheaf or open batch, inside
//!   the steal protocol's lock-free window, when the call did not interrupt
//!   the owner inside that window and no flusher wants the state; without
//!   the steps that lock (taking an empty sheaf from the barn, a block from
//!   the pool): the object takes an array slot if one is at hand, else it
//!   is linked through its own link. A full sheaf or batch is handed to
//!   the helper on its lock-free stack, as usual.
//! * **The deferred list** (`deferred.rs`): a free or kfree_rcu that cannot
//!   be done in place pushes the object, linked through its own memory,
//!   and wakes the helper, which runs the normal path. A later grace period
//!   is still a correct one.
//!
//! Barriers first have the helper drain the deferred list and hand off what
//! it queued, so an object pushed before a barrier started is freed when it
//! returns. The helper sleeps until a push wakes it: nothing polls.

use crate::cache::CacheInner;
use crate::deferred::{DrainTickets, LinkStack};
use crate::error::AllocError;
use crate::freemark;
use crate::kfree_rcu::{self, RcuLink, KFREE_RCU_MAX_OFFSET};
use crate::pending::PendingStack;
use crate::reclaim;
use crate::sheaf::Sheaf;
use crate::slab::{self, Object};
use crate::thread::{self, bump, CacheSlot, ThreadSlab};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Objects a `_nolock` free could not free in place (linked through the
/// word a free object's freelist link uses).
static DEFERRED_FREE: LinkStack = LinkStack::new();
/// Objects a `_nolock` kfree_rcu could not queue in place (linked through
/// their kfree_rcu link).
static DEFERRED_RCU: LinkStack = LinkStack::new();

/// Barriers' drain requests and the helper's answers (deferred.rs).
static DRAIN: DrainTickets = DrainTickets::new();

/// Emptied `nolock` sheaves given back to the helper (to their cache).
static RETURNED: PendingStack = PendingStack::new();

/// Some slot asked for a stocked sheaf, or some thread for a slot table chunk,
/// or `kmalloc_nolock` for the size classes. Relaxed: hints, delivered by
/// the wake that follows them.
static WANT_STOCK: AtomicBool = AtomicBool::new(false);
static WANT_CHUNKS: AtomicBool = AtomicBool::new(false);
static WANT_KMALLOC: AtomicBool = AtomicBool::new(false);

// Counters of the slow paths (atomic: any thread, any handler). The fast
// paths count per thread (`ThreadCounters::nolock_*`).
pub(crate) static ALLOC_FAILED: AtomicU64 = AtomicU64::new(0);
/// `_nolock` allocations served straight from the slabs (no sheaf at hand).
pub(crate) static ALLOC_FROM_SLABS: AtomicU64 = AtomicU64::new(0);

/// Counts one event of a slow path.
#[inline]
fn count(c: &AtomicU64) {
    // Relaxed: a statistic.
    c.fetch_add(1, Ordering::Relaxed);
}

/// Wakes the helper: an async-signal-safe futex wake.
fn wake() {
    reclaim::wake_from_anywhere();
}

/// Objects on the deferred list now.
pub(crate) fn deferred_pending() -> u64 {
    DEFERRED_FREE.len() + DEFERRED_RCU.len()
}

/// Frees and kfree_rcu calls deferred so far.
pub(crate) fn deferred_totals() -> (u64, u64) {
    (DEFERRED_FREE.pushed(), DEFERRED_RCU.pushed())
}

// ---- bad input: abort with a message, without allocating ----

/// Writes the message to stderr with `write(2)` and aborts: a `_nolock`
/// caller may be a signal handler, where a panic (which formats and
/// unwinds) is not an option.
#[cold]
fn fatal(parts: &[&str], ptr: *const u8) -> ! {
    let mut hex = [0u8; 18];
    hex[0] = b'0';
    hex[1] = b'x';
    let mut v = ptr as usize;
    for i in (2..18).rev() {
        hex[i] = b"0123456789abcdef"[v & 15];
        v >>= 4;
    }
    // The digits above are ASCII: from_utf8 cannot fail.
    let hex = std::str::from_utf8(&hex).unwrap_or("?");
    let mut all = [""; 12];
    all[0] = parts[0];
    all[1] = "(";
    all[2] = hex;
    all[3] = "): ";
    let n = parts.len().min(9);
    all[4..4 + n - 1].copy_from_slice(&parts[1..n]);
    urcu_core::__private::die(&all[..4 + n - 1])
}

/// Reports a double free of the object at `start` found by the `_nolock`
/// call `what`, which found it `state`: written with `write(2)`, then an
/// abort. Takes the pointer, not the `Object`: the fast path then keeps
/// nothing in memory for this call.
#[cold]
#[inline(never)]
fn double_free(start: *mut u8, what: &str, state: &str) -> ! {
    let o = object(start, what);
    fatal(
        &[
            what,
            "double free: the object (of cache `",
            o.cache()
                .map_or("large kmalloc objects", |c| c.name.as_str()),
            "`) is already ",
            state,
            "; ",
            freemark::INSTEAD,
        ],
        start,
    )
}

/// The krcu object containing `ptr`, or an abort naming it.
#[inline]
fn object(ptr: *const u8, what: &str) -> Object {
    match slab::find(ptr) {
        Ok(o) => o,
        Err(why) => fatal(
            &[
                what,
                "the pointer ",
                why.describe(),
                "; pass only pointers returned by krcu's kmalloc or a krcu cache's alloc",
            ],
            ptr,
        ),
    }
}

// ---- allocation ----

/// Readies the calling thread for `_nolock` calls (from this thread and its
/// signal handlers): creates its slab state and the kmalloc size classes,
/// which a `_nolock` call cannot do (both allocate and lock). Any ordinary
/// krcu slab call on the thread does the first; call this at thread start
/// in a thread whose first krcu call may be a `_nolock` one. On a thread
/// that is not ready, `_nolock` allocations fail and frees are deferred.
///
/// # Contexts
///
/// Ordinary code only (it may allocate and lock), not a signal handler.
pub fn prepare_thread() {
    let ts = thread::current();
    crate::kmalloc::init_classes();
    for size in crate::kmalloc::class_sizes() {
        if let Some(c) = crate::kmalloc::class_nolock(size) {
            // The slot tables of the size classes, so the helper can stock
            // this thread's sheaves; and a slab with a free object in every
            // class, so that a first kmalloc_nolock of any size succeeds
            // before the helper has stocked anything.
            if !ts.is_orphan() {
                ts.slot(c.id);
            }
            c.reserve_for_nolock();
        }
    }
}

/// Allocates `size` bytes from any context, a signal handler that
/// interrupted anything included: from this thread's `_nolock` sheaf of
/// the size class, which the helper keeps stocked. Never blocks, locks or
/// waits.
///
/// When the sheaf is empty and no stocked one waits, it takes a full sheaf
/// from the class's barn, or one object from the class's slabs, if their
/// lock is free at once. It fails (at once, with no retry) only when none
/// of these can be had without waiting (the locks are held, by another
/// thread or by the code the handler interrupted; or every slab is full
/// and a new one would have to be mapped), and for sizes over
/// [`KMALLOC_MAX_CACHE_SIZE`](crate::KMALLOC_MAX_CACHE_SIZE) (those need a
/// mapping). After [`prepare_thread`], a thread's first call of every size
/// succeeds; the size classes must exist (any ordinary kmalloc, or
/// [`prepare_thread`], creates them).
///
/// Free the object with [`kfree`](crate::kfree), [`kfree_nolock`], or a
/// kfree_rcu of either kind.
///
/// # Contexts
///
/// Any: ordinary code, a signal handler, a read section of either flavor,
/// an `rcu_dtor` or `call_rcu` callback.
///
/// [`kmalloc`]: crate::kmalloc
#[inline(always)]
pub fn kmalloc_nolock(size: usize) -> Result<NonNull<u8>, AllocError> {
    let Some(cache) = crate::kmalloc::class_nolock(size) else {
        return Err(no_class(size));
    };
    NonNull::new(alloc(cache)).ok_or(AllocError)
}

/// `kmalloc_nolock` of a size no class serves, or before the classes
/// exist (the helper creates them).
#[cold]
fn no_class(size: usize) -> AllocError {
    if size <= crate::KMALLOC_MAX_CACHE_SIZE && !WANT_KMALLOC.swap(true, Ordering::Relaxed) {
        wake();
    }
    count(&ALLOC_FAILED);
    AllocError
}

/// `cache.alloc_nolock()`: see [`KmemCache::alloc_nolock`](crate::KmemCache::alloc_nolock).
#[inline(always)]
pub(crate) fn alloc(cache: &CacheInner) -> *mut u8 {
    let obj = alloc_inner(cache);
    if obj.is_null() {
        return failed();
    }
    if cache.poison {
        cache.check_poison_nolock(obj);
    }
    freemark::clear(obj, cache.freeptr);
    obj
}

/// Counts one failed allocation.
#[cold]
fn failed() -> *mut u8 {
    count(&ALLOC_FAILED);
    ptr::null_mut()
}

#[inline(always)]
fn alloc_inner(cache: &CacheInner) -> *mut u8 {
    // A cache without sheaves never gets a nolock sheaf: take_stocked
    // finds none and fails.
    let Some(ts) = thread::current_nolock() else {
        return from_slabs(cache);
    };
    let Some(slot) = slot_of(ts, cache) else {
        return from_slabs(cache);
    };
    let Some(_g) = ts.enter_nolock() else {
        // A nested handler: the interrupted call has the sheaf.
        return from_slabs(cache);
    };
    // Relaxed: this thread's own pointer (see CacheSlot::nolock).
    let sheaf = slot.nolock.load(Ordering::Relaxed);
    if !sheaf.is_null() {
        // SAFETY: this thread's nolock sheaf, under enter_nolock.
        let s = unsafe { &mut *sheaf };
        if let Some(obj) = s.pop() {
            if s.len() < s.capacity() / 2 {
                want_stock(slot);
            }
            bump(&ts.counters.nolock_alloc, 1);
            return obj;
        }
    }
    take_stocked(ts, cache, slot, sheaf)
}

/// The `nolock` sheaf is empty (or missing): takes the full sheaf the
/// helper stocked, gives the empty one back, and pops an object.
#[cold]
fn take_stocked(
    ts: &ThreadSlab,
    cache: &CacheInner,
    slot: &CacheSlot,
    sheaf: *mut Sheaf,
) -> *mut u8 {
    if cache.sheaf_capacity == 0 {
        return from_slabs(cache);
    }
    // Acquire: pairs with the helper's Release install.
    let mut full = slot.incoming.take();
    if full.is_null() {
        want_stock(slot);
        // Nothing stocked yet (a first call): a full sheaf from the barn
        // if its lock is free now, else one object from the slabs.
        match cache.barn.try_take_full() {
            Some(f) => full = f,
            None => return from_slabs(cache),
        }
    }
    // Relaxed: this thread's own pointer; other threads only read it for
    // statistics (the sheaf's contents came with the Acquire swap above).
    slot.nolock.store(full, Ordering::Relaxed);
    if !sheaf.is_null() {
        // SAFETY: the emptied sheaf is ours to give back; it starts with its
        // pending head.
        unsafe { RETURNED.push(sheaf.cast()) };
    }
    want_stock(slot);
    // SAFETY: now this thread's nolock sheaf, full.
    let obj = unsafe { (*full).pop() };
    bump(&ts.counters.nolock_alloc, 1);
    obj.unwrap_or(ptr::null_mut())
}

/// One object straight from the cache's slabs, if their lock is free at
/// once (no sheaf at hand: a first call, a thread not ready, a nested
/// handler).
#[cold]
fn from_slabs(cache: &CacheInner) -> *mut u8 {
    let obj = cache.try_take_one();
    if !obj.is_null() {
        count(&ALLOC_FROM_SLABS);
    }
    obj
}

/// This thread's slot for `cache`; when it has none yet (creating one
/// allocates), asks the helper for it.
#[inline]
fn slot_of(ts: &'static ThreadSlab, cache: &CacheInner) -> Option<&'static CacheSlot> {
    let slot = ts.slot_if_used_at(cache.slot);
    if slot.is_none() && ts.want_chunk(cache.id) {
        WANT_CHUNKS.store(true, Ordering::Relaxed);
        wake();
    }
    slot
}

/// Asks the helper for a full sheaf for this slot, unless one is waiting or
/// asked for.
#[inline]
fn want_stock(slot: &CacheSlot) {
    // Relaxed: hints (see CacheSlot::want); the loads keep the common case
    // free of read-modify-writes.
    if !slot.incoming.peek().is_null() || slot.want.load(Ordering::Relaxed) {
        return;
    }
    if !slot.want.swap(true, Ordering::Relaxed) && !WANT_STOCK.swap(true, Ordering::Relaxed) {
        wake();
    }
}

// ---- freeing ----

/// Frees a krcu allocation from any context, a signal handler that
/// interrupted anything included. Never fails and never blocks: the object
/// goes into this thread's `_nolock` sheaf of its cache, or (when that is
/// full or in use by the call this one interrupted, and for large objects
/// and caches without sheaves) onto the deferred list, linked through the
/// object's own memory, for the helper to free. Null is a no-op.
///
/// # Contexts
///
/// Any: ordinary code, a signal handler, a read section of either flavor,
/// an `rcu_dtor` or `call_rcu` callback.
///
/// # Safety
///
/// `ptr` is a live krcu allocation, not used after this call.
///
/// # Aborts
///
/// When `ptr` is not a krcu allocation, or is free already or waiting to be
/// freed (a double free): the message (written with `write(2)`) names the
/// pointer and the cache. A panic is not an option where this may run.
pub unsafe fn kfree_nolock(ptr: *mut u8) {
    if ptr.is_null() {
        return;
    }
    let o = object(ptr, "kfree_nolock");
    if o.is_pending() {
        double_free(o.start, "kfree_nolock", freemark::PENDING);
    }
    let Some(cache) = o.cache() else {
        // A large object: unmapping it is the helper's job.
        defer_free(o.start, 0);
        return;
    };
    let mark = freemark::Mark::of(cache.free_key, o.start, cache.freeptr);
    if mark.is_set() {
        double_free(o.start, "kfree_nolock", "free");
    }
    if cache.sheaf_capacity > 0 && free_in_place(cache, o.start, mark) {
        return;
    }
    defer_free(o.start, cache.freeptr);
}

#[inline(always)]
fn free_in_place(cache: &CacheInner, obj: *mut u8, mark: freemark::Mark<'_>) -> bool {
    let Some(ts) = thread::current_nolock() else {
        return false;
    };
    let Some(slot) = slot_of(ts, cache) else {
        return false;
    };
    let Some(_g) = ts.enter_nolock() else {
        return false;
    };
    // Relaxed: this thread's own pointer.
    let sheaf = slot.nolock.load(Ordering::Relaxed);
    // SAFETY: this thread's nolock sheaf, under enter_nolock.
    if sheaf.is_null() || unsafe { (*sheaf).is_full() } {
        return false;
    }
    cache.poison_object(obj);
    // SAFETY: as above; not full.
    unsafe { (*sheaf).push(obj) };
    mark.set();
    bump(&ts.counters.nolock_free, 1);
    true
}

/// Pushes a free for the helper: the object's word at `link_off` links it.
/// The link takes the free mark's place, so the object is marked pending
/// instead until the helper frees it (freemark.rs).
#[cold]
fn defer_free(start: *mut u8, link_off: usize) {
    let o = object(start, "kfree_nolock");
    if !o.mark_pending() {
        double_free(start, "kfree_nolock", freemark::PENDING);
    }
    // SAFETY: the object is being freed, so its link word (the freelist
    // link's place, outside the object for typesafe and constructed caches)
    // is ours; the helper owns it from now on.
    if unsafe { DEFERRED_FREE.push(start.wrapping_add(link_off)) } {
        wake();
    }
}

/// kfree_rcu from any context, a signal handler that interrupted anything
/// included: `kfree_rcu_nolock!(ptr, Type, field)`, with an [`RcuPtr`] or
/// [`RcuHead`] field.
///
/// Only the two-argument form exists: where nothing may be allocated and
/// nothing may wait, the object must carry its own link.
///
/// ```
/// use urcu_slab::{kfree_rcu_nolock, kmalloc_nolock, kvfree_rcu_barrier, RcuPtr};
///
/// #[repr(C)]
/// struct Sample { ip: u64, rcu: RcuPtr }
///
/// // An ordinary kmalloc readies this thread's sheaves of the class.
/// let warm = urcu_slab::kmalloc(16).unwrap();
/// // SAFETY: a live allocation, not used again.
/// unsafe { urcu_slab::kfree(warm.as_ptr()) };
/// if let Ok(p) = kmalloc_nolock(std::mem::size_of::<Sample>()) {
///     let p = p.as_ptr().cast::<Sample>();
///     // SAFETY: a fresh allocation of the right size.
///     unsafe { p.write(Sample { ip: 0x400000, rcu: RcuPtr::new() }) };
///     // SAFETY: p is unpublished and not used again.
///     unsafe { kfree_rcu_nolock!(p, Sample, rcu) };
/// }
/// kvfree_rcu_barrier();
/// ```
///
/// # Safety
///
/// The expansion calls [`kfree_rcu_nolock_link`]; its contract applies.
///
/// [`RcuPtr`]: crate::RcuPtr
/// [`RcuHead`]: crate::RcuHead
#[macro_export]
macro_rules! kfree_rcu_nolock {
    ($ptr:expr, $ty:ty, $field:ident) => {{
        const _: () = ::core::assert!(
            ::core::mem::offset_of!($ty, $field) < $crate::KFREE_RCU_MAX_OFFSET,
            "kfree_rcu_nolock!: the link field must lie within the object's first 4096 bytes"
        );
        let __p: *mut $ty = $ptr;
        $crate::kfree_rcu_nolock_link(__p.cast::<u8>(), ::core::ptr::addr_of_mut!((*__p).$field))
    }};
}

/// The function under [`kfree_rcu_nolock!`]: frees the krcu object at
/// `ptr` after a grace period of both flavors, from any context.
///
/// The object goes into this thread's `rcu_free` sheaf or open batch when
/// the thread's state is free (a full sheaf or batch is handed to the
/// helper on its lock-free stack); otherwise onto the deferred list,
/// linked through `head`, and the helper queues it later (its grace period
/// then starts later, which is still correct). Never blocks, allocates or
/// yields. Null `ptr` is a no-op.
///
/// # Contexts
///
/// Any: ordinary code, a signal handler, a read section of either flavor,
/// an `rcu_dtor` or `call_rcu` callback.
///
/// # Safety
///
/// As for [`kfree_rcu_link`](crate::kfree_rcu_link).
///
/// # Aborts
///
/// When `ptr` is not a krcu allocation, `head` is not within its first
/// [`KFREE_RCU_MAX_OFFSET`] bytes, or the object is free already or waiting
/// to be freed (a double free); the message, written with `write(2)`,
/// names the pointer.
pub unsafe fn kfree_rcu_nolock_link<H: RcuLink>(ptr: *mut u8, head: *mut H) {
    if ptr.is_null() {
        return;
    }
    let o = object(ptr, "kfree_rcu_nolock");
    let off = (head as usize).wrapping_sub(o.start as usize);
    if off >= KFREE_RCU_MAX_OFFSET.min(o.size()) || off + 8 > o.size() {
        fatal(
            &[
                "kfree_rcu_nolock",
                "the link is not within the object's first 4096 bytes (or its size); ",
                "pass a pointer to an RcuHead or RcuPtr field of the object itself",
            ],
            ptr,
        );
    }
    if let Some(cache) = o.cache() {
        if freemark::marked(cache.free_key, o.start, cache.freeptr) {
            double_free(o.start, "kfree_rcu_nolock", "free");
        }
    }
    if !o.mark_pending() {
        reclaim::DOUBLE.fetch_add(1, Ordering::Relaxed);
        double_free(o.start, "kfree_rcu_nolock", freemark::PENDING);
    }
    let head = head.cast::<u8>();
    let queued = thread::current_nolock()
        .and_then(|ts| ts.try_rcu_state(|ts| kfree_rcu::insert_nolock(ts, &o, head)));
    if queued == Some(true) {
        return;
    }
    // SAFETY: the link lies inside the object (checked), which is ours
    // until its grace period ends; the helper owns it from now on.
    if unsafe { DEFERRED_RCU.push(head) } {
        wake();
    }
}

/// `kvfree_call_rcu` with a 16-byte head, from any context: see
/// [`kfree_rcu_nolock_link`].
///
/// # Safety
///
/// As for [`kfree_rcu_nolock_link`].
pub unsafe fn kvfree_call_rcu_nolock(head: *mut urcu_core::RcuHead, ptr: *mut u8) {
    // SAFETY: forwarded contract.
    unsafe { kfree_rcu_nolock_link(ptr, head) }
}

/// `kvfree_call_rcu` with an 8-byte link, from any context: see
/// [`kfree_rcu_nolock_link`].
///
/// # Safety
///
/// As for [`kfree_rcu_nolock_link`].
pub unsafe fn kvfree_call_rcu_ptr_nolock(head: *mut crate::RcuPtr, ptr: *mut u8) {
    // SAFETY: forwarded contract.
    unsafe { kfree_rcu_nolock_link(ptr, head) }
}

// ---- the helper's side ----

/// Whether the helper has nolock work (checked before it sleeps).
pub(crate) fn has_work() -> bool {
    !DEFERRED_FREE.is_empty()
        || !DEFERRED_RCU.is_empty()
        || !RETURNED.is_empty()
        || WANT_STOCK.load(Ordering::Relaxed)
        || WANT_CHUNKS.load(Ordering::Relaxed)
        || WANT_KMALLOC.load(Ordering::Relaxed)
        || DRAIN.waiting()
}

/// The helper's pass: runs the normal path for deferred objects, fills
/// reserves and slot tables, and answers barriers' drain requests.
pub(crate) fn helper_pass() {
    DRAIN.pass(drain_and_stock, || {
        // A barrier waits: hand off what the deferred objects went into
        // (this thread's batch and sheaves), ahead of the barrier's marker.
        thread::with_rcu_state(|ts| kfree_rcu::flush_thread(ts, None, true));
    });
}

/// The pass's work: the deferred lists through the normal path, then the
/// reserves and slot tables `_nolock` calls asked for.
fn drain_and_stock() {
    DEFERRED_FREE.take_all(|word| {
        let o = slab::find(word).expect("a deferred object is a krcu object");
        match o.cache() {
            Some(cache) => {
                o.clear_pending();
                cache.free(o.start, "kfree_nolock");
            }
            // SAFETY: a large object given up by kfree_nolock, alone in its
            // mapping.
            None => unsafe { slab::release(o.slab) },
        }
    });
    DEFERRED_RCU.take_all(|link| {
        let o = slab::find(link).expect("a deferred object is a krcu object");
        thread::with_rcu_state(|ts| kfree_rcu::insert(ts, &o, Some(link)));
    });
    if WANT_KMALLOC.swap(false, Ordering::Relaxed) {
        crate::kmalloc::init_classes();
    }
    if WANT_CHUNKS.swap(false, Ordering::Relaxed) {
        for ts in thread::all_states() {
            ts.install_wanted_chunks();
        }
    }
    RETURNED.take_all(|h| {
        let sheaf = h.cast::<Sheaf>();
        // SAFETY: a sheaf a thread gave up; its cache outlives it (destroy
        // runs a barrier, which waits for this pass).
        unsafe { (*(*sheaf).cache).return_sheaf(sheaf) };
    });
    if WANT_STOCK.swap(false, Ordering::Relaxed) {
        for ts in thread::all_states() {
            for (id, slot) in ts.slots() {
                if !slot.want.swap(false, Ordering::Relaxed) {
                    continue;
                }
                if let Some(cache) = crate::cache::pin(id) {
                    cache.stock_nolock(slot);
                }
            }
        }
    }
}

/// A barrier's first step: has the helper drain the deferred list and hand
/// off what it queued; returns once it has.
pub(crate) fn drain_for_barrier() {
    DRAIN.request(reclaim::wake_from_anywhere);
}

/// In a fork child: no barrier is waiting, whatever the counters said.
pub(crate) fn after_fork_child() {
    DRAIN.reset();
}
