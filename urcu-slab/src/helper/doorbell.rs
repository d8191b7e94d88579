//! The reclaim helper's doorbell, and the per-thread scope that holds a
//! ring back until a busy window has closed.
//!
//! # The doorbell
//!
//! The helper sleeps on a futex word that every ring bumps. Before it
//! sleeps it says so (`sleeping`), and then looks for work once more;
//! a producer publishes its work, then looks at `sleeping`, and rings only
//! when the helper says it sleeps. Each side puts a SeqCst fence between
//! its store and its load (a store-buffering handshake): either the
//! producer sees `sleeping` and rings, or the helper's re-check sees the
//! work. An urgent ring (a barrier, a restock) bumps the word whatever the
//! helper says; the helper read the word before it said it sleeps, so a
//! bump after that read makes its futex wait return at once.
//!
//! # Deferred rings
//!
//! A kfree_rcu path that hands work off inside its busy window must not
//! wake the helper there: the woken helper could preempt this thread
//! inside the window, and a flusher would then wait for the window while
//! the window waits for the flusher's CPU. So the path runs in a
//! [`WakeScope`]: rings inside it are recorded, and made when the scope
//! ends.
//!
//! A signal handler may interrupt the owner anywhere, between the load
//! and the store that close a scope included; a ring it recorded there
//! would be overwritten and lost. So a handler never records a ring: its
//! `_nolock` call rings at once (`defer` is not called in that context),
//! and only the owner thread writes its scope. That is what makes plain
//! loads and stores enough for the scope: no locked instruction on the
//! kfree_rcu path.

use crate::primitive::{fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU8};
use std::sync::atomic::Ordering;

/// The helper's sleep word and its "I sleep" flag.
pub(crate) struct Doorbell {
    /// Bumped by every ring; the helper's futex word.
    pub(crate) word: AtomicU32,
    /// The helper is (about to be) asleep on `word`.
    sleeping: AtomicBool,
}

impl Doorbell {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Doorbell {
            word: AtomicU32::new(0),
            sleeping: AtomicBool::new(false),
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Doorbell {
            word: AtomicU32::new(0),
            sleeping: AtomicBool::new(false),
        }
    }

    /// After the caller published work (a push, a flag): wakes the helper
    /// if it says it sleeps. Returns whether it rang.
    #[inline]
    pub(crate) fn ring(&self) -> bool {
        // SeqCst fence: orders the caller's preceding store before the
        // load of `sleeping`; pairs with the fence in `prepare_sleep`.
        fence(Ordering::SeqCst);
        // Relaxed: ordered by the fences.
        if self.sleeping.load(Ordering::Relaxed) {
            self.ring_always();
            return true;
        }
        false
    }

    /// Wakes the helper whatever it is doing. Async-signal-safe.
    #[inline]
    pub(crate) fn ring_always(&self) {
        // Release: pairs with the helper's Acquire read of the word in
        // `prepare_sleep`: a hint stored before the ring is seen by the
        // pass the ring causes.
        self.word.fetch_add(1, Ordering::Release);
        #[cfg(not(loom))]
        urcu_core::__private::futex::wake(&self.word, 1);
    }

    /// The helper, before it looks for work one last time: reads the word
    /// (the value its futex wait sleeps on) and says whether it will sleep.
    #[inline]
    pub(crate) fn prepare_sleep(&self, idle: bool) -> u32 {
        // Acquire: pairs with ring_always's Release increment.
        let seen = self.word.load(Ordering::Acquire);
        // Relaxed: ordered by the fence after it.
        self.sleeping.store(idle, Ordering::Relaxed);
        // SeqCst fence: pairs with ring()'s: either the producer sees
        // `sleeping` and rings, or the re-check that follows sees its work.
        fence(Ordering::SeqCst);
        seen
    }

    /// The helper is awake again.
    #[inline]
    pub(crate) fn awake(&self) {
        // Relaxed: a producer that reads a stale `true` only rings once
        // more than needed.
        self.sleeping.store(false, Ordering::Relaxed);
    }

    /// In a fork child: no helper sleeps.
    pub(crate) fn reset(&self) {
        // Relaxed: a fork child has one thread.
        self.sleeping.store(false, Ordering::Relaxed);
    }
}

/// No ring recorded (inside a scope).
pub(crate) const NONE: u8 = 0;
/// Ring if the helper sleeps.
pub(crate) const IF_SLEEPING: u8 = 1;
/// Ring whatever the helper does.
pub(crate) const ALWAYS: u8 = 2;
/// Outside any scope.
const OUTSIDE: u8 = u8::MAX;

/// One thread's deferred ring: [`OUTSIDE`] outside a scope; inside one,
/// the strongest ring recorded. Written only by its own thread, never by a
/// signal handler (see the module documentation); atomic, with plain
/// Relaxed moves, so that the loom model can check that rule.
pub(crate) struct WakeScope(AtomicU8);

impl WakeScope {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        WakeScope(AtomicU8::new(OUTSIDE))
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        WakeScope(AtomicU8::new(OUTSIDE))
    }

    /// Opens a scope; returns the outer state for [`close`](Self::close).
    #[inline(always)]
    pub(crate) fn open(&self) -> u8 {
        // Relaxed: this thread's own state.
        let outer = self.0.load(Ordering::Relaxed);
        self.0.store(NONE, Ordering::Relaxed);
        outer
    }

    /// Closes the scope `open` returned `outer` for. Returns the ring to
    /// make now: [`NONE`], or the recorded ring when the closed scope was
    /// the outermost (a nested scope hands it to its outer one).
    #[inline(always)]
    pub(crate) fn close(&self, outer: u8) -> u8 {
        // Relaxed: this thread's own state. A load and a store: only this
        // thread writes (a handler between them never records).
        let kind = self.0.load(Ordering::Relaxed);
        self.0.store(outer, Ordering::Relaxed);
        if kind == NONE || outer == OUTSIDE {
            return kind;
        }
        self.defer(kind);
        NONE
    }

    /// Records `kind` if a scope is open; false when none is (ring now).
    /// Never called from a signal handler's `_nolock` call.
    #[inline]
    pub(crate) fn defer(&self, kind: u8) -> bool {
        // Relaxed: this thread's own state.
        let k = self.0.load(Ordering::Relaxed);
        if k == OUTSIDE {
            return false;
        }
        if kind > k {
            self.0.store(kind, Ordering::Relaxed);
        }
        true
    }
}

/// Work asked of the helper, besides its pending items: one bit per kind
/// of work, each with the function that does it, stored by the asker with
/// the bit. The helper takes the bits at the top of its pass and runs each
/// function; its last look before sleeping ([`any`](Self::any)) sees a bit
/// set before the asker's ring looked at `sleeping` (the doorbell's
/// handshake).
pub(crate) struct Wanted<const N: usize> {
    bits: AtomicU32,
    fns: [AtomicPtr<()>; N],
}

impl<const N: usize> Wanted<N> {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Wanted {
            bits: AtomicU32::new(0),
            fns: [const { AtomicPtr::new(std::ptr::null_mut()) }; N],
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Wanted {
            bits: AtomicU32::new(0),
            fns: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
        }
    }

    /// Asks for work `kind`, which `run` does. Sets the bit only: the
    /// caller rings. Async-signal-safe (two atomic operations).
    #[inline]
    pub(crate) fn want(&self, kind: usize, run: fn()) {
        // Relaxed: published by the Release below; a kind always has the
        // same function, so a racing store writes the same value.
        self.fns[kind].store(run as *mut (), Ordering::Relaxed);
        // Release: pairs with `take`'s Acquire swap: the helper sees `run`,
        // and whatever the asker published before.
        self.bits.fetch_or(1 << kind, Ordering::Release);
    }

    /// The helper: takes the wanted bits (every kind ever asked for when
    /// `all`) and calls `run` with each one's function. Returns whether any
    /// ran.
    pub(crate) fn take(&self, all: bool, mut run: impl FnMut(fn())) -> bool {
        // Acquire: pairs with `want`'s Release.
        let bits = self.bits.swap(0, Ordering::Acquire) | if all { u32::MAX } else { 0 };
        let mut ran = false;
        for (i, f) in self.fns.iter().enumerate() {
            if bits & (1 << i) == 0 {
                continue;
            }
            // Relaxed: ordered by the swap above.
            let f = f.load(Ordering::Relaxed);
            if !f.is_null() {
                // SAFETY: only `want` stores here, from an `fn()`.
                run(unsafe { std::mem::transmute::<*mut (), fn()>(f) });
                ran = true;
            }
        }
        ran
    }

    /// Whether some work is wanted: the helper's last look before it sleeps.
    /// Relaxed: ordered by the doorbell's fence before it (`prepare_sleep`),
    /// the pair of the asker's ring.
    pub(crate) fn any(&self) -> bool {
        self.bits.load(Ordering::Relaxed) != 0
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::atomic::AtomicBool as Flag;
    use loom::sync::Arc;
    use loom::thread;

    /// The helper's last look before it sleeps: says it sleeps, re-checks
    /// the work; returns the word it would sleep on, or None if it saw
    /// work.
    fn helper_sleeps(bell: &Doorbell, work: &[&Flag]) -> Option<u32> {
        let seen = bell.prepare_sleep(true);
        // Relaxed: the model's work flags are hints delivered by the ring (its
        // pair: prepare_sleep's fence).
        if work.iter().any(|w| w.load(Ordering::Relaxed)) {
            bell.awake();
            return None;
        }
        Some(seen)
    }

    /// A kfree_rcu path runs in its scope (with or without a hand-off of
    /// its own) while a signal handler on the same thread hands work off
    /// and rings, and the helper goes to sleep: the helper either sees all
    /// the work, or sleeps on a word that has moved (its futex wait returns
    /// at once). Letting the handler record its ring in the open scope
    /// (`if !scope.defer(IF_SLEEPING) { bell.ring() }` in the handler)
    /// loses it when it lands between the owner's closing load and store;
    /// weakening the fence in `ring` or `prepare_sleep` to Release/Acquire
    /// loses a ring too.
    #[test]
    fn loom_deferred_ring_against_a_handler() {
        for owner_hands_off in [false, true] {
            model(owner_hands_off);
        }
    }

    fn model(owner_hands_off: bool) {
        loom::model(move || {
            let bell = Arc::new(Doorbell::new());
            let scope = Arc::new(WakeScope::new());
            let owner_work = Arc::new(Flag::new(false));
            let handler_work = Arc::new(Flag::new(false));
            let owner = {
                let (bell, scope, work) = (bell.clone(), scope.clone(), owner_work.clone());
                thread::spawn(move || {
                    let outer = scope.open();
                    if owner_hands_off {
                        // Relaxed: published by the ring's fence.
                        work.store(true, Ordering::Relaxed);
                        if !scope.defer(IF_SLEEPING) {
                            bell.ring();
                        }
                    }
                    if scope.close(outer) == IF_SLEEPING {
                        bell.ring();
                    }
                })
            };
            // The handler: it rings at once, never records (its thread's
            // scope may be open).
            let handler = {
                let (bell, work) = (bell.clone(), handler_work.clone());
                thread::spawn(move || {
                    // Relaxed: as in the real producers, the ring's fence
                    // orders it.
                    work.store(true, Ordering::Relaxed);
                    bell.ring();
                })
            };
            let slept = helper_sleeps(&bell, &[&owner_work, &handler_work]);
            owner.join().unwrap();
            handler.join().unwrap();
            if let Some(seen) = slept {
                assert_ne!(
                    bell.word.load(Ordering::Relaxed),
                    seen,
                    "the helper sleeps with work handed off and no ring"
                );
            }
        });
    }

    // What the two works did; the model's threads run as coroutines on one
    // thread, and each iteration starts from zero.
    static DRAINED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    static STOCKED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    fn drained() {
        // Relaxed: the model's own tally, on one OS thread.
        DRAINED.fetch_add(1, Ordering::Relaxed);
    }

    fn stocked() {
        // Relaxed: as above.
        STOCKED.fetch_add(1, Ordering::Relaxed);
    }

    /// A `_nolock` call asks for work and rings (at once, as from a signal
    /// handler) while another asks quietly, and the helper takes what is
    /// wanted and goes to sleep: each asked work runs exactly once, over
    /// this pass and the next, and the helper either ran the rung work
    /// before it sleeps or sleeps on a word that moved. Weakening `want`'s
    /// Release (or `take`'s Acquire) to Relaxed lets the helper take a bit
    /// without its function, and the work never runs.
    #[test]
    fn loom_wanted_work_against_sleep() {
        loom::model(|| {
            // Relaxed: the model's own tally (see above).
            DRAINED.store(0, Ordering::Relaxed);
            STOCKED.store(0, Ordering::Relaxed);
            let bell = Arc::new(Doorbell::new());
            let wanted = Arc::new(Wanted::<2>::new());
            let asker = {
                let (bell, wanted) = (bell.clone(), wanted.clone());
                thread::spawn(move || {
                    wanted.want(0, drained);
                    bell.ring_always();
                })
            };
            let quiet = {
                let wanted = wanted.clone();
                thread::spawn(move || wanted.want(1, stocked))
            };
            wanted.take(false, |f| f());
            // Relaxed: the model's own tally.
            let rung_ran = DRAINED.load(Ordering::Relaxed) == 1;
            let seen = bell.prepare_sleep(true);
            let sleeps = !wanted.any();
            asker.join().unwrap();
            quiet.join().unwrap();
            if sleeps && !rung_ran {
                assert_ne!(
                    bell.word.load(Ordering::Relaxed),
                    seen,
                    "the helper sleeps with rung work and no ring"
                );
            }
            // Whatever this pass missed is still wanted for the next one.
            wanted.take(false, |f| f());
            assert_eq!(
                // Relaxed: the model's own tally.
                (
                    DRAINED.load(Ordering::Relaxed),
                    STOCKED.load(Ordering::Relaxed)
                ),
                (1, 1),
                "each asked work runs exactly once"
            );
        });
    }
}
