//! Reader records and the reader/writer handshake.
//!
//! # The protocol
//!
//! Each registered thread owns a [`ReaderRecord`] whose `ctr` the grace-period
//! writer reads. The flavor's [`GpCounter`] holds the value readers copy.
//!
//! **memb.** `ctr`'s low [`NEST_BITS`] bits count read-side nesting; the rest
//! are a snapshot of the grace-period counter taken by the outermost
//! `read_lock`. The writer starts a grace period by advancing the counter by
//! [`CTR_STEP`], then waits for every reader whose `ctr` is *old*: nested, with
//! a snapshot from before the advance. A reader holding the new snapshot
//! loaded the counter after the advance, and so began after the grace period
//! did. One advance is enough (liburcu flips a phase bit twice) because the
//! snapshot is a 48-bit counter, not one bit: a stale snapshot never looks
//! current.
//!
//! Nesting and snapshot share one word, updated by one load and one store, so
//! a signal handler that runs a whole read section between the two leaves the
//! word as it found it: memb read sections are async-signal-safe.
//!
//! Fences ("slave" on the reader side, "master" on the writer side, as in
//! liburcu): the reader orders its `ctr` store before its critical section,
//! and its critical section before the store that ends it. With membarrier the
//! reader's are compiler fences and the writer's `membarrier()` makes every
//! running thread execute a full barrier; without it, both sides use `SeqCst`
//! fences. The pairings, in fence mode:
//!
//! * reader `store ctr; fence; load p` against writer `unpublish p; fence;
//!   load ctr`: either the writer sees the reader active or the reader misses
//!   `p`.
//! * reader `accesses; fence; store ctr(0)` against writer `load ctr(0);
//!   fence; free`: the accesses happen before the free. (On x86-64 with
//!   membarrier the writer's fence here is a compiler fence: TSO orders it;
//!   see `Domain::fence_after_scan`.)
//! * reader `load ctr(new); fence` against writer `fence; store ctr(new)`:
//!   a reader holding the new snapshot sees everything unpublished before the
//!   grace period started.
//!
//! **qsbr.** `ctr` is 0 while the thread is offline, else the counter value at
//! its last quiescent state. The writer waits for every online reader whose
//! `ctr` differs from the advanced counter. All fences are real fences.
//!
//! **Waking the writer.** A writer that has spun long enough sets
//! `GpCounter::futex` to [`GP_WAITING`], issues its master fence, re-checks,
//! and sleeps. A reader leaving its critical section (memb outermost unlock,
//! qsbr quiescent state or offline) stores `ctr`, issues its fence, and wakes
//! the writer if it sees the flag: either the writer's re-check sees the new
//! `ctr`, or the reader sees the flag. A memb section that began after the
//! sleeping grace period's advance does not wake it (the writer does not
//! wait for it; see [`wake_writer_if_waited_for`]).

use crate::primitive::{fence, AtomicBool, AtomicU32, AtomicU64};
use std::sync::atomic::Ordering::{Relaxed, SeqCst};

/// Bits of a memb `ctr` that count nesting.
pub(crate) const NEST_BITS: u32 = 16;
/// One level of nesting.
pub(crate) const COUNT: u64 = 1;
/// The nesting part of a memb `ctr`.
pub(crate) const NEST_MASK: u64 = (1 << NEST_BITS) - 1;
/// The deepest memb nesting. One less than the field holds: a nesting of
/// `NEST_MASK` never occurs in a registered word, so a read side written in
/// another language marks its word unregistered with it (see foreign.rs).
pub(crate) const MAX_NEST: u64 = NEST_MASK - 1;
/// How much a grace period advances the counter.
pub(crate) const CTR_STEP: u64 = 1 << NEST_BITS;
/// `GpCounter::futex` while a writer sleeps waiting for readers.
pub(crate) const GP_WAITING: u32 = 1;

/// The per-flavor counter readers snapshot, and the writer's sleep flag,
/// on one cache line: memb's `read_lock` reads the first, `read_unlock` the
/// second. `#[repr(C)]`: a read side written in another language (the C
/// header's inline one, see `foreign.rs`) reads these fields at offsets 0,
/// 8 and 12.
#[derive(Debug)]
#[repr(C)]
pub struct GpCounter {
    /// memb: `snapshot | COUNT`, so the outermost `read_lock` stores it as is.
    /// qsbr: the value a quiescent state stores; never 0.
    pub(crate) ctr: AtomicU64,
    /// [`GP_WAITING`] while a writer sleeps in the futex.
    pub(crate) futex: AtomicU32,
    /// memb: whether readers must use real fences because membarrier is not
    /// in force. Starts true: until the domain has registered with
    /// membarrier, compiler-only fences would not be backed by the writer.
    /// Cleared once, at domain start, after registration succeeded; a reader
    /// sees the clear through the registry mutex it took before its first
    /// read section. On this line so the read side touches one line.
    pub(crate) reader_fences: AtomicBool,
}

impl GpCounter {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        GpCounter {
            ctr: AtomicU64::new(CTR_STEP | COUNT),
            futex: AtomicU32::new(0),
            reader_fences: AtomicBool::new(true),
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        GpCounter {
            ctr: AtomicU64::new(CTR_STEP | COUNT),
            futex: AtomicU32::new(0),
            reader_fences: AtomicBool::new(true),
        }
    }
}

/// A registered thread's record word, read by grace-period writers.
///
/// It lives in the thread's registry entry (leaked and pooled, never freed),
/// or, for a read side written in another language, in that thread's own
/// memory: `#[repr(transparent)]`, so such a word is a `u64` there. See
/// `entry.rs` for how a writer never reads a foreign word after it died.
#[derive(Debug)]
#[repr(transparent)]
pub struct ReaderRecord {
    pub(crate) ctr: AtomicU64,
}

impl ReaderRecord {
    pub(crate) fn new() -> Self {
        ReaderRecord {
            ctr: AtomicU64::new(0),
        }
    }

    /// A word in a thread's own memory while its thread is not registered
    /// (see foreign.rs: a nesting no registered word has, so the read side
    /// hands the section to krcu).
    #[cfg(not(loom))]
    pub(crate) const fn unregistered() -> Self {
        ReaderRecord {
            ctr: AtomicU64::new(NEST_MASK),
        }
    }
}

/// Copies a word its thread is leaving into its entry's own word (see
/// `Entry::take_over`). Relaxed: the copy's thread is the only writer of
/// both; the entry's Release pointer store publishes the copy to writers.
pub(crate) fn copy_word(from: &ReaderRecord, to: &ReaderRecord) {
    to.ctr.store(from.ctr.load(Relaxed), Relaxed);
}

/// Marks a thread's own word as no longer its record (unregistered, or
/// taken over by its entry at thread exit): its read side's next lock
/// finds a nesting no registered word has and goes to krcu. A late guard's
/// unlock still counts down on it, never to zero (guards nest at most
/// `MAX_NEST` deep). Relaxed: no writer reads the word any more.
pub(crate) fn mark_word_unregistered(rec: &ReaderRecord) {
    rec.ctr.store(NEST_MASK, Relaxed);
}

/// The reader-side fence: a compiler fence backed by the writer's
/// `membarrier()`, or a real fence in fence mode (`real`, read once per
/// lock or unlock from [`GpCounter::reader_fences`]).
#[inline(always)]
pub(crate) fn slave_fence(real: bool) {
    #[cfg(not(loom))]
    {
        if real {
            full_fence();
        } else {
            std::sync::atomic::compiler_fence(SeqCst);
        }
    }
    #[cfg(loom)]
    {
        let _ = real;
        // SeqCst fence: loom models the slave fence as a full one (its pair:
        // the master fence).
        fence(SeqCst);
    }
}

/// The fence-mode reader fence, out of line: membarrier mode is the common
/// case, and LLVM otherwise lays the fence out as the fall-through path of
/// every read_lock and read_unlock.
#[cfg(not(loom))]
#[cold]
#[inline(never)]
fn full_fence() {
    fence(SeqCst);
}

/// memb `read_lock` on `rec`.
#[inline(always)]
pub(crate) fn memb_lock(rec: &ReaderRecord, gp: &GpCounter) {
    if !memb_lock_outermost(rec, gp) {
        // Relaxed: only this thread (and its signal handlers, which restore
        // it) writes `ctr`.
        memb_lock_nested(rec, rec.ctr.load(Relaxed));
    }
}

/// memb `read_lock` on `rec` when it is the outermost section on a
/// registered word; false (and nothing done) otherwise: nested, or a word
/// that is not (or no longer) its thread's record.
#[inline(always)]
pub(crate) fn memb_lock_outermost(rec: &ReaderRecord, gp: &GpCounter) -> bool {
    // Relaxed: only this thread (and its signal handlers, which restore it)
    // writes `ctr`.
    let tmp = rec.ctr.load(Relaxed);
    if tmp & NEST_MASK != 0 {
        return false;
    }
    // Relaxed load: ordered by the fence below against the critical section
    // (third pairing in the module docs).
    rec.ctr.store(gp.ctr.load(Relaxed), Relaxed);
    // Orders the ctr store before the critical section's loads; pairs with
    // the writer's master fence before it reads ctr.
    slave_fence(gp.reader_fences.load(Relaxed));
    true
}

/// A nested `read_lock`: out of line, so that the outermost one, the common
/// case, is straight-line code.
#[cold]
#[inline(never)]
fn memb_lock_nested(rec: &ReaderRecord, tmp: u64) {
    if tmp & NEST_MASK >= MAX_NEST {
        nesting_overflow();
    }
    // Relaxed: the reader's own word; a nested section needs no fence (the
    // outermost one fenced).
    rec.ctr.store(tmp + COUNT, Relaxed);
}

/// memb `read_unlock` on `rec`.
#[inline(always)]
pub(crate) fn memb_unlock(rec: &ReaderRecord, gp: &GpCounter) {
    // Relaxed: the reader's own word and the fence mode, which changes once at
    // start (the slave fence below is the pair of the writer's master fence).
    let tmp = rec.ctr.load(Relaxed);
    if tmp & NEST_MASK != COUNT {
        return memb_unlock_nested(rec, tmp);
    }
    let real = gp.reader_fences.load(Relaxed);
    // Orders the critical section before the store that ends it; pairs with
    // the writer's master fence after it saw the reader quiescent.
    slave_fence(real);
    rec.ctr.store(tmp - COUNT, Relaxed);
    // Orders the ctr store before reading the writer's sleep flag; pairs
    // with the master fence between the writer's flag store and re-check.
    slave_fence(real);
    wake_writer_for(gp, tmp);
}

/// A nested `read_unlock` (or an unbalanced one): out of line, as for
/// `memb_lock_nested`.
#[cold]
#[inline(never)]
fn memb_unlock_nested(rec: &ReaderRecord, tmp: u64) {
    if tmp & NEST_MASK == 0 {
        unbalanced_unlock();
    }
    // Relaxed: as above, a nested section's word.
    rec.ctr.store(tmp - COUNT, Relaxed);
}

/// The memb nesting depth in `rec`.
#[inline]
pub(crate) fn memb_nesting(rec: &ReaderRecord) -> u64 {
    // Relaxed: this thread's own word.
    rec.ctr.load(Relaxed) & NEST_MASK
}

/// Wakes a writer sleeping on `gp.futex`.
#[inline(always)]
pub(crate) fn wake_writer(gp: &GpCounter) {
    // Relaxed: ordered after our ctr store by the caller's fence.
    if gp.futex.load(Relaxed) == GP_WAITING {
        wake_writer_slow(gp);
    }
}

/// Wakes a writer sleeping on `gp.futex` unless the section that just
/// ended (its word `section`, nesting included) is one the writer's grace
/// period does not wait for: the memb unlock's last step.
#[inline(always)]
pub(crate) fn wake_writer_for(gp: &GpCounter, section: u64) {
    // Relaxed: ordered after our ctr store by the caller's fence.
    if gp.futex.load(Relaxed) == GP_WAITING {
        wake_writer_if_waited_for(gp, section);
    }
}

/// A writer sleeps while a reader may be running sections in a loop: the
/// sections that began after the writer's advance are not the ones it
/// waits for, and waking it for each of them makes it rescan, fence and
/// sleep again, over and over, while the reader it does wait for (one
/// preempted inside its section) holds the grace period anyway. The
/// defer workload with two readers on two CPUs spent most of its time in
/// that storm: 16K membarriers and 30K futex calls a second.
///
/// Whether the writer can be waiting for this section: the counter is
/// read after the flag, behind the same fence (the caller's, between its
/// ctr store and its flag load). A writer that sleeps advanced the counter
/// and then raised the flag, both before its master fence and re-check;
/// so either the re-check sees this section ended (and the writer does
/// not sleep for it), or both loads here come after that fence and see
/// the advance (or a later one). A section whose snapshot is the counter
/// read here is current for every grace period that may sleep now.
#[cold]
#[inline(never)]
pub(crate) fn wake_writer_if_waited_for(gp: &GpCounter, section: u64) {
    // Relaxed: ordered by the caller's fence (see above).
    if memb_state(section, gp.ctr.load(Relaxed)) == ReaderState::Current {
        return;
    }
    wake_writer_slow(gp);
}

#[cold]
#[inline(never)]
pub(crate) fn wake_writer_slow(gp: &GpCounter) {
    // Relaxed: the writer re-checks the readers after its wake (its pair:
    // writer_sleeps' fence).
    gp.futex.store(0, Relaxed);
    #[cfg(not(loom))]
    crate::sys::futex::wake(&gp.futex, 1);
}

/// The writer is about to sleep waiting for readers: readers that leave
/// their section from now on wake it. Relaxed: the caller's master fence
/// orders it before its re-check of the readers (the pair of the readers'
/// fence between their `ctr` store and their load of the flag).
pub(crate) fn writer_sleeps(gp: &GpCounter) {
    gp.futex.store(GP_WAITING, Relaxed);
}

/// The writer's sleep on the flag [`writer_sleeps`] set, for at most
/// `timeout`; returns at once when a reader has cleared it already.
#[cfg(not(loom))]
pub(crate) fn writer_wait(gp: &GpCounter, timeout: std::time::Duration) {
    crate::sys::futex::wait(&gp.futex, GP_WAITING, Some(timeout));
}

/// The writer is awake again (woken, timed out, or done): unlocks stop
/// going to the futex. Relaxed: only the writer sets the flag, and it sets
/// it again, fenced, before its next sleep.
pub(crate) fn writer_wakes(gp: &GpCounter) {
    gp.futex.store(0, Relaxed);
}

/// [`slave_fence`] in the mode `gp` is in: for code outside the read side
/// that builds its own handshake on memb's asymmetric fences. Relaxed: the
/// mode changes once, at the domain's start, which the caller has seen.
#[inline(always)]
pub(crate) fn slave_fence_of(gp: &GpCounter) {
    slave_fence(gp.reader_fences.load(Relaxed));
}

/// The domain's start found membarrier in force: readers use compiler
/// fences from now on. Relaxed: a reader sees it through the registry mutex
/// it takes before its first read section (see [`GpCounter`]).
pub(crate) fn use_compiler_fences(gp: &GpCounter) {
    gp.reader_fences.store(false, Relaxed);
}

/// The word of `rec`, for a read side written in another language that
/// performs this module's steps on it (see foreign.rs).
pub(crate) fn word_of(rec: &ReaderRecord) -> *const AtomicU64 {
    &rec.ctr
}

/// The counter value the next grace period advances to. The counter is
/// written only by a grace period, under the domain's `gp_lock`, which the
/// caller holds: Relaxed reads its own last store.
pub(crate) fn next_counter(gp: &GpCounter) -> u64 {
    gp.ctr.load(Relaxed) + CTR_STEP
}

/// A writer's read of a word during its scan. Relaxed: the master fences
/// around the scan order it (the module's pairings).
#[inline]
pub(crate) fn scan_word(rec: &ReaderRecord) -> u64 {
    rec.ctr.load(Relaxed)
}

/// Makes a word quiescent for good: its thread is gone (a fork child, an
/// exited thread being reaped) or is leaving the flavor, and no read section
/// of it runs any more; or a foreign word joins the registry (published with
/// the entry's pointer). Relaxed: the writers' master fences around their
/// scans order it; a thread leaving issues a full fence before it.
pub(crate) fn clear_word(rec: &ReaderRecord) {
    rec.ctr.store(0, Relaxed);
}

/// How a writer sees one reader during a grace period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReaderState {
    /// Not in a read section (memb) or offline (qsbr).
    Quiescent,
    /// Began after the grace period started: not waited for.
    Current,
    /// May hold references from before the grace period: waited for.
    Old,
}

/// memb: classify `ctr` against the advanced counter `gp`.
#[inline]
pub(crate) fn memb_state(ctr: u64, gp: u64) -> ReaderState {
    if ctr & NEST_MASK == 0 {
        ReaderState::Quiescent
    } else if (ctr ^ gp) & !NEST_MASK == 0 {
        ReaderState::Current
    } else {
        ReaderState::Old
    }
}

#[cold]
#[inline(never)]
pub(crate) fn nesting_overflow() -> ! {
    panic!(
        "krcu: memb read-side critical sections nested more than {} deep; \
         a lock taken in a loop without its unlock (a forgotten guard) is the usual cause",
        MAX_NEST
    )
}

#[cold]
#[inline(never)]
pub(crate) fn unbalanced_unlock() -> ! {
    panic!(
        "krcu: memb::raw_read_unlock() without a matching memb::raw_read_lock() on this \
         thread; every memb::raw_read_unlock() must close a memb::raw_read_lock() taken on \
         the same thread"
    )
}

mod generation;
mod qsbr_steps;
#[cfg_attr(loom, allow(unused_imports))]
pub(crate) use generation::RegistryGeneration;
pub(crate) use qsbr_steps::{qsbr_offline, qsbr_online, qsbr_quiescent, qsbr_state};

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, loom))]
mod loom_model;
