//! Registry entries, and records whose word lives in a thread's own memory.
//!
//! A registered thread's [`ReaderRecord`] is one word. Normally it lives in
//! its [`Entry`] (`own`), which is leaked and pooled, never freed, so a
//! grace-period writer may read it at any time. A read side written in
//! another language (the C header's inline `krcu_read_lock`) keeps the word
//! in its own thread-local instead, so that a read section is a load and a
//! store on `%fs`, with no pointer to follow first, as liburcu's is. Such a
//! word dies with its thread; the entry then points at it through `live`.
//!
//! # Detaching a foreign word
//!
//! The writer reads a reader's word only inside a *pass*, a bracket of
//! straight-line loads that never blocks: `passes.begin()`, then for each
//! entry `live` and the word it points at, then `passes.end()`. A thread
//! ending its registration points `live` back at `own` and then waits until
//! no pass that could have read the old pointer is still running; after
//! that its word may die. The handshake is a store-buffering pair:
//!
//! ```text
//! detach:  live = own;  fence(SeqCst);  s = seq;  s odd? wait until seq != s (Acquire)
//! pass:    seq += 1;    fence(SeqCst);  p = live; read *p;  seq += 1 (Release)
//! ```
//!
//! Either the pass's fence follows the detacher's in the SeqCst order, and
//! its load of `live` reads `own`, or the detacher's fence follows the
//! pass's, its load of `seq` sees the pass's increment, odd, and it waits
//! for the pass's end, whose Release makes the pass's read of the word
//! happen before the word dies. (Fences rather than SeqCst accesses: the
//! fences are what the loom model checks.)
//! Passes are serialised by the domain's grace-period lock, so `seq` is odd
//! only during one pass at a time. The wait is bounded by one pass: a few
//! loads per registered thread, unless the writer is preempted in it.

use crate::primitive::{fence, spin_hint, AtomicPtr, AtomicU64};
use crate::reader::{self, ReaderRecord};
use crossbeam_utils::CachePadded;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};

/// A registered (or pooled) thread's entry in a flavor's registry.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The word of a thread that keeps it here (every Rust reader).
    pub(crate) own: ReaderRecord,
    /// The word in use: `own`, or a foreign word while a thread that keeps
    /// its word in its own memory is registered.
    live: AtomicPtr<ReaderRecord>,
}

impl Entry {
    /// A quiescent entry, leaked, on a cache line of its own (the owner
    /// writes its word on every read section): `live` points at its own
    /// word, which needs the final address.
    pub(crate) fn leak() -> &'static Entry {
        let padded: &'static CachePadded<Entry> = Box::leak(Box::new(CachePadded::new(Entry {
            own: ReaderRecord::new(),
            live: AtomicPtr::new(std::ptr::null_mut()),
        })));
        let e: &'static Entry = padded;
        // Relaxed: the entry is not published yet; the registry lock publishes
        // it.
        e.live.store(e.own_ptr(), Relaxed);
        e
    }

    fn own_ptr(&self) -> *mut ReaderRecord {
        &self.own as *const ReaderRecord as *mut ReaderRecord
    }

    /// The word this entry's owner uses: its own, or `foreign`.
    ///
    /// # Safety
    ///
    /// `foreign` (if any) is a word of the calling thread's, which only it
    /// writes, that stays valid until [`Entry::detach`] returns. The caller
    /// owns the entry (it is not in a registry yet, or the registry lock is
    /// held).
    pub(crate) unsafe fn attach(&self, foreign: Option<*const ReaderRecord>) -> &ReaderRecord {
        let word = foreign.map_or(self.own_ptr(), |p| p as *mut ReaderRecord);
        if foreign.is_some() {
            // Quiescent from here: until now the word held what its side
            // keeps there while unregistered (foreign::UNREGISTERED).
            // Published with the pointer by the store below.
            // SAFETY: valid per the caller's contract.
            reader::clear_word(unsafe { &*word });
        }
        // Release: publishes the word's initialised state with the pointer;
        // a writer's pass acquires it through the registry mutex it took to
        // snapshot the entry (pushed to the registry after this store).
        self.live.store(word, Release);
        // SAFETY: `own`, or valid per the caller's contract.
        unsafe { &*word }
    }

    /// The word in use, for its owner and under the registry lock (which
    /// serialises attach and detach): no pass needed.
    pub(crate) fn live(&self) -> *const ReaderRecord {
        // Relaxed: attach and detach run under the registry lock, which orders
        // them for its holders; the owner reads its own store.
        self.live.load(Relaxed)
    }

    /// The word's value, read by a grace-period writer.
    ///
    /// # Safety
    ///
    /// Inside a pass ([`Passes::scan`]).
    #[inline]
    pub(crate) unsafe fn load_ctr(&self) -> u64 {
        // Acquire: pairs with `take_over`'s Release, so that a pass that
        // finds `own` in use reads the value copied there. (Otherwise the
        // pass's fence orders it (module docs), and the pointer's Release
        // store in `attach` is ordered for the pass by the registry lock
        // its writer took to snapshot the entry.)
        let p = self.live.load(Acquire);
        // SAFETY: `own` is never freed; a foreign word is valid until its
        // detach, which waits for this pass to end.
        reader::scan_word(unsafe { &*p })
    }

    /// Points the entry back at its own word, quiescent, and waits until no
    /// pass can still read the foreign word it used: after this the foreign
    /// word may die. A no-op for an entry that used its own word.
    pub(crate) fn detach(&self, passes: &Passes) {
        let own = self.own_ptr();
        // Relaxed: under the registry lock (see `live`).
        if self.live.load(Relaxed) == own {
            return;
        }
        // The own word is quiescent: its last owner stored 0, and a fresh
        // entry starts at 0.
        // Relaxed: ordered by wait_out's fence (module docs).
        self.live.store(own, Relaxed);
        passes.wait_out();
    }
}

impl Entry {
    /// At its thread's exit inside a read section on a foreign word: copies
    /// the word's value into `own`, points the entry at `own`, and waits
    /// until no pass can still read the foreign word. Writers then wait on
    /// `own`, which outlives the thread, for the section the word was in;
    /// the word's later unlocks touch only the dying thread's memory.
    ///
    /// The caller is the word's thread (the only writer of the word) and
    /// holds the registry lock.
    pub(crate) fn take_over(&self, passes: &Passes) {
        let live = self.live();
        if std::ptr::eq(live, self.own_ptr()) {
            return;
        }
        // SAFETY: the foreign word is valid until this detach returns
        // (the caller's thread owns it).
        reader::copy_word(unsafe { &*live }, &self.own);
        // Release: a pass that reads `own` here (Acquire, in `load_ctr`)
        // reads the copy.
        self.live.store(self.own_ptr(), Release);
        passes.wait_out();
    }
}

/// The writer's scan passes (see the module documentation).
#[derive(Debug)]
pub(crate) struct Passes {
    /// Odd while a pass runs.
    seq: AtomicU64,
}

impl Passes {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Passes {
            seq: AtomicU64::new(0),
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Passes {
            seq: AtomicU64::new(0),
        }
    }

    /// Runs `f`, which reads words with [`Entry::load_ctr`] and must not
    /// block, as one pass. Passes do not overlap (the caller holds the
    /// domain's grace-period lock).
    #[inline]
    pub(crate) fn scan<R>(&self, f: impl FnOnce() -> R) -> R {
        // A Relaxed increment, then the pass's fence of the handshake.
        self.seq.fetch_add(1, Relaxed);
        fence(SeqCst);
        let r = f();
        // Release: the pass's reads happen before a detacher's Acquire
        // load that sees the end.
        self.seq.fetch_add(1, Release);
        r
    }

    /// Waits until the pass running now, if any, has ended.
    fn wait_out(&self) {
        // The detacher's fence of the handshake, after its store to `live`.
        fence(SeqCst);
        let s = self.seq.load(Relaxed);
        if s & 1 == 0 {
            return;
        }
        // Acquire: pairs with the pass's Release end.
        while self.seq.load(Acquire) == s {
            spin_hint();
            #[cfg(not(loom))]
            std::thread::yield_now();
        }
    }

    /// After `fork()`, in the child: no pass runs (the writer's thread does
    /// not exist here, and its lock was held across the fork).
    #[cfg(not(loom))]
    pub(crate) fn reset_in_child(&self) {
        // Relaxed: a fork child has one thread.
        self.seq.store(0, Relaxed);
    }
}

#[cfg(all(test, loom))]
mod loom_model {
    //! A thread with a foreign word ends its registration and frees the
    //! word, while a writer runs passes over its entry: no pass may read the
    //! word after it is freed.
    use super::*;
    use crate::primitive::AtomicBool;
    use loom::sync::Arc;
    use loom::thread;

    struct Foreign {
        word: ReaderRecord,
        freed: AtomicBool,
    }

    #[test]
    fn loom_detached_word_is_never_read_after_free() {
        loom::model(|| {
            let entry: &'static Entry = Entry::leak();
            let passes = Arc::new(Passes::new());
            let foreign: &'static Foreign = Box::leak(Box::new(Foreign {
                word: ReaderRecord::new(),
                freed: AtomicBool::new(false),
            }));
            // SAFETY: the word is "valid" (not freed) until after detach.
            unsafe { entry.attach(Some(&foreign.word as *const ReaderRecord)) };
            let p = passes.clone();
            let writer = thread::spawn(move || {
                for _ in 0..2 {
                    p.scan(|| {
                        // As load_ctr, checking the word is still alive.
                        // Relaxed: the model's pass orders these (as
                        // `load_ctr`'s).
                        let w = entry.live.load(Relaxed);
                        if std::ptr::eq(w, &foreign.word) {
                            assert!(
                                !foreign.freed.load(Relaxed),
                                "a pass read a foreign word after its thread freed it"
                            );
                        }
                        // SAFETY: inside a pass.
                        unsafe { entry.load_ctr() }
                    });
                }
            });
            entry.detach(&passes);
            // Relaxed: the model's detach has waited for every pass (its
            // handshake is the pair).
            foreign.freed.store(true, Relaxed);
            writer.join().unwrap();
            assert!(std::ptr::eq(entry.live(), &entry.own));
        });
    }

    /// A thread exits inside a read section on its foreign word (value
    /// 5: in a section, nesting 1) and its entry takes the section over
    /// while a writer scans: every pass sees the section (never the
    /// quiescent 0 the own word held), on the foreign word or on the copy.
    /// Weakening `take_over`'s Release or `load_ctr`'s Acquire to Relaxed
    /// lets a pass find `own` before the copy and end the grace period
    /// under the section.
    #[test]
    fn loom_taken_over_section_stays_visible() {
        loom::model(|| {
            let entry: &'static Entry = Entry::leak();
            let passes = Arc::new(Passes::new());
            let word: &'static ReaderRecord = Box::leak(Box::new(ReaderRecord::new()));
            // SAFETY: the word lives for the whole model (leaked).
            unsafe { entry.attach(Some(word as *const ReaderRecord)) };
            // Relaxed: the model's reader thread is this one; the entry is
            // not shared yet.
            word.ctr.store(5, Relaxed);
            let p = passes.clone();
            let writer = thread::spawn(move || {
                for _ in 0..2 {
                    // SAFETY: inside a pass.
                    let v = p.scan(|| unsafe { entry.load_ctr() });
                    assert_eq!(v, 5, "a pass saw a taken-over section as quiescent");
                }
            });
            entry.take_over(&passes);
            writer.join().unwrap();
            assert!(std::ptr::eq(entry.live(), &entry.own));
        });
    }
}
