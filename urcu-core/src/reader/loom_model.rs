//! The grace-period handshake in fence mode. The object is "old" (1)
//! until the writer unpublishes it (2); the writer frees the old object
//! after its grace period. A reader that can still see the old object
//! must never see it freed.
use super::*;
use crate::primitive::AtomicBool;
use loom::sync::Arc;
use loom::thread;
use std::sync::atomic::Ordering::{Acquire, Release};

struct Shared {
    gp: GpCounter,
    rec: ReaderRecord,
    ptr: AtomicU64,
    freed: AtomicBool,
}

fn shared() -> Arc<Shared> {
    let s = Shared {
        gp: GpCounter::new(),
        rec: ReaderRecord::new(),
        ptr: AtomicU64::new(1),
        freed: AtomicBool::new(false),
    };
    Arc::new(s)
}

/// A reader's access to the object: if it can still see the old one,
/// that one must not have been freed.
fn read_object(s: &Shared) {
    if s.ptr.load(Acquire) == 1 {
        // Relaxed: ordered by the Acquire load above (the pair of the
        // updater's Release).
        assert!(!s.freed.load(Relaxed), "old object freed under a reader");
    }
}

/// The writer's grace period, as `Domain::run_gp` performs it, with the
/// futex sleep modelled as waiting for the reader's wake.
fn writer(s: &Shared, state: fn(u64, u64) -> ReaderState) {
    s.ptr.store(2, Release); // unpublish
    fence(SeqCst); // master fence
    let gp = s.gp.ctr.load(Relaxed) + CTR_STEP;
    s.gp.ctr.store(gp, Relaxed);
    let old = || state(s.rec.ctr.load(Relaxed), gp) == ReaderState::Old;
    if old() {
        writer_sleeps(&s.gp);
        fence(SeqCst); // master fence
        while old() {
            // "futex_wait" with no timeout: returns once a reader cleared
            // the flag, so a wake wrongly skipped spins here until loom
            // gives up.
            while s.gp.futex.load(Relaxed) == GP_WAITING {
                thread::yield_now();
            }
            if old() {
                // The writer's half of the sleep handshake again (the pair
                // of the reader's fence in memb_unlock).
                writer_sleeps(&s.gp);
                fence(SeqCst); // master fence
            }
        }
        writer_wakes(&s.gp);
    }
    fence(SeqCst); // master fence
    s.freed.store(true, Relaxed); // free the old object
}

#[test]
fn loom_memb_reader_never_sees_a_freed_object() {
    loom::model(|| {
        let s = shared();
        let r = s.clone();
        let reader = thread::spawn(move || {
            memb_lock(&r.rec, &r.gp);
            memb_lock(&r.rec, &r.gp); // nested
            read_object(&r);
            memb_unlock(&r.rec, &r.gp);
            memb_unlock(&r.rec, &r.gp);
        });
        writer(&s, memb_state);
        reader.join().unwrap();
    });
}

/// A grace period sleeps for a reader whose section began before its
/// advance, while the reader's unlock decides from the counter whether the
/// writer waits for it (`wake_writer_if_waited_for`). The writer must be
/// woken: it waits for the flag to clear (see `writer`). Dropping the
/// unlock's fence between its ctr store and its flag load (which also
/// orders its read of the counter), or taking the old section for a
/// current one, leaves the writer waiting until loom gives up.
#[test]
fn loom_old_section_wakes_the_sleeping_writer() {
    let mut model = loom::model::Builder::new();
    model.max_branches = 10_000;
    model.check(|| {
        let s = shared();
        let r = s.clone();
        // The writer starts after the reader's lock (the section is old):
        // the model is about the unlock's decision, not the lock's race.
        let locked = Arc::new(AtomicBool::new(false));
        let l = locked.clone();
        let reader = thread::spawn(move || {
            memb_lock(&r.rec, &r.gp);
            l.store(true, Release);
            read_object(&r);
            memb_unlock(&r.rec, &r.gp);
        });
        while !locked.load(Acquire) {
            thread::yield_now();
        }
        writer(&s, memb_state);
        reader.join().unwrap();
    });
}

/// The grace-period state machine with polled cookies: an updater
/// unpublishes, takes a cookie (`get_state`: fence, then snapshot of the
/// sequence), and frees once `poll_state` (Acquire) says the cookie's
/// grace period completed, while the writer runs two grace periods with
/// the sequence moves of `Domain::run_gp`. The writer stops after two; an
/// updater whose cookie they do not satisfy (one taken during the second
/// needs a third) frees nothing.
#[test]
fn loom_polled_cookie_frees_only_after_a_full_grace_period() {
    use crate::seq;
    let mut model = loom::model::Builder::new();
    // Two yield-spinning waits (the poll, the reader scan) over three
    // threads take more than the default 1000 branches.
    model.max_branches = 100_000;
    model.preemption_bound = Some(2);
    model.check(|| {
        let s = shared();
        let sequence = Arc::new(AtomicU64::new(0));
        let r = s.clone();
        let reader = thread::spawn(move || {
            memb_lock(&r.rec, &r.gp);
            read_object(&r);
            memb_unlock(&r.rec, &r.gp);
        });
        let done = Arc::new(AtomicBool::new(false));
        let (u, useq, udone) = (s.clone(), sequence.clone(), done.clone());
        let updater = thread::spawn(move || {
            u.ptr.store(2, Release); // unpublish
                                     // SeqCst fence: get_state's (its pair: the master fence after a
                                     // grace period starts); Relaxed loads: ordered by it, and by the
                                     // Acquire of `done`.
            fence(SeqCst); // get_state
            let cookie = seq::snap(useq.load(Relaxed));
            loop {
                if seq::done(useq.load(Acquire), cookie) {
                    u.freed.store(true, Relaxed);
                    break;
                }
                if udone.load(Relaxed) {
                    break; // the writer has stopped
                }
                thread::yield_now();
            }
        });
        for _ in 0..2 {
            // Relaxed: the model's sequence is written by this thread only
            // (the grace period's gp_lock).
            let cur = sequence.load(Relaxed);
            sequence.store(seq::start(cur), Relaxed);
            fence(SeqCst); // master fence
            let gp = s.gp.ctr.load(Relaxed) + CTR_STEP;
            s.gp.ctr.store(gp, Relaxed);
            while memb_state(s.rec.ctr.load(Relaxed), gp) == ReaderState::Old {
                thread::yield_now();
            }
            fence(SeqCst); // master fence
            sequence.store(seq::end(seq::start(cur)), Release);
        }
        done.store(true, Relaxed);
        reader.join().unwrap();
        updater.join().unwrap();
    });
}

/// A thread registers (adds its record under the registry lock, then
/// `registered`) and reads, while a writer whose copy of the registry
/// predates the registration runs a grace period (`advance`, and a
/// rescan under the lock when the generation moved): the reader never
/// sees the old object freed. Weakening the fence in `registered` or in
/// `advance` to AcqRel lets the writer skip the rescan while the
/// reader's section snapshots the old counter: a use after free.
#[test]
fn loom_registration_against_a_grace_period() {
    use loom::sync::Mutex;
    loom::model(|| {
        let s = shared();
        let generation = Arc::new(RegistryGeneration::new());
        let registry = Arc::new(Mutex::new(false));
        // The writer's copy of the registry: taken before the thread
        // registered, at the generation of the time.
        let copied = generation.current();
        let (r, g, reg) = (s.clone(), generation.clone(), registry.clone());
        let reader = thread::spawn(move || {
            *reg.lock().unwrap() = true;
            g.registered();
            memb_lock(&r.rec, &r.gp);
            // Relaxed: the reader's own word.
            let snapshot = r.rec.ctr.load(Relaxed);
            read_object(&r);
            memb_unlock(&r.rec, &r.gp);
            snapshot
        });
        s.ptr.store(2, Release); // unpublish
        fence(SeqCst); // master fence
        let gp = s.gp.ctr.load(Relaxed) + CTR_STEP;
        let scan = generation.advance(&s.gp, gp) != copied && *registry.lock().unwrap();
        if scan {
            while memb_state(s.rec.ctr.load(Relaxed), gp) == ReaderState::Old {
                thread::yield_now();
            }
        }
        fence(SeqCst); // master fence
        s.freed.store(true, Relaxed);
        let snapshot = reader.join().unwrap();
        // The handshake itself: a writer that did not rescan has a
        // reader whose section is not old, so it needed no waiting.
        assert!(
            scan || memb_state(snapshot, gp) != ReaderState::Old,
            "a grace period missed a registration whose section it had to wait for"
        );
    });
}

#[test]
fn loom_qsbr_reader_never_sees_a_freed_object() {
    loom::model(|| {
        let s = shared();
        let r = s.clone();
        qsbr_online(&s.rec, &s.gp);
        let reader = thread::spawn(move || {
            read_object(&r);
            qsbr_quiescent(&r.rec, &r.gp);
            qsbr_offline(&r.rec, &r.gp);
        });
        writer(&s, qsbr_state);
        reader.join().unwrap();
    });
}
