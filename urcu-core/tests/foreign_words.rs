//! Record words in the threads' own memory (`foreign::set_word_source`, as
//! libkrcu's inline C read side uses): read sections on them protect what
//! they read, the word is the one the source gave, and threads come and go
//! (their words dying with them) while grace periods run back to back.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use urcu_core::__private::foreign;
use urcu_core::memb;

thread_local! {
    // Const-initialised, no destructor: static TLS, freed with the thread.
    // Unregistered until the thread's first read section, as the C side's.
    static WORD: AtomicU64 = const { AtomicU64::new(foreign::UNREGISTERED) };
}

extern "C" fn tls_word() -> *mut u64 {
    WORD.with(|w| w.as_ptr())
}

extern "C" fn mark_unregistered() {
    WORD.with(|w| w.store(foreign::UNREGISTERED, Ordering::Relaxed));
}

fn word() -> u64 {
    WORD.with(|w| w.load(Ordering::Relaxed))
}

fn use_tls_words() {
    foreign::set_unregister_hook(mark_unregistered);
    // SAFETY: WORD is touched only atomically, by krcu and this thread,
    // and lives in static TLS until the thread is freed, after its
    // thread-local destructors.
    unsafe { foreign::set_word_source(tls_word) };
}

const LIVE: u64 = 0x1111_2222_3333_4444;
const POISON: u64 = 0xdead_dead_dead_dead;

#[test]
fn a_word_is_zeroed_at_registration_and_marked_after_it() {
    use_tls_words();
    std::thread::spawn(|| {
        assert_eq!(word(), foreign::UNREGISTERED);
        let reg = memb::register_thread();
        assert_eq!(word(), 0, "registration makes the word quiescent");
        assert!(std::ptr::eq(foreign::reader_word() as *mut u64, tls_word()));
        let g = memb::read_lock();
        assert_eq!(word() & foreign::NEST_MASK, foreign::COUNT);
        drop(g);
        assert_eq!(word() & foreign::NEST_MASK, 0);
        drop(reg);
        assert_eq!(
            word(),
            foreign::UNREGISTERED,
            "the hook ran after unregistration"
        );
        // A read section registers again.
        drop(memb::read_lock());
        assert_eq!(word() & foreign::NEST_MASK, 0);
    })
    .join()
    .unwrap();
}

#[test]
fn foreign_words_protect_readers_across_thread_churn() {
    use_tls_words();

    // The word in use is the source's.
    let g = memb::read_lock();
    assert!(std::ptr::eq(foreign::reader_word() as *mut u64, tls_word()));
    assert_ne!(word() & foreign::NEST_MASK, 0);
    drop(g);
    assert_eq!(word() & foreign::NEST_MASK, 0);

    let shared = Arc::new(AtomicPtr::new(Box::into_raw(Box::new(LIVE))));
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let secs = std::env::var("KRCU_TORTURE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2u64);

    // Readers: short-lived threads, each a few read sections, then exit
    // (some inside a section, which the exit hook ends).
    let spawner = {
        let (shared, stop, reads) = (shared.clone(), stop.clone(), reads.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let batch: Vec<_> = (0..4)
                    .map(|k| {
                        let (shared, reads) = (shared.clone(), reads.clone());
                        std::thread::spawn(move || {
                            for _ in 0..200 {
                                let g = memb::read_lock();
                                let p = shared.load(Ordering::Acquire);
                                // SAFETY: protected by the read section.
                                let v = unsafe { std::ptr::read_volatile(p) };
                                assert_eq!(v, LIVE, "a reader saw a freed (poisoned) object");
                                reads.fetch_add(1, Ordering::Relaxed);
                                drop(g);
                            }
                            if (n + k) % 7 == 0 {
                                std::mem::forget(memb::read_lock());
                            }
                        })
                    })
                    .collect();
                for h in batch {
                    h.join().unwrap();
                }
                n += 1;
            }
        })
    };

    // The writer: replace, wait for readers, poison (the "free"); objects
    // are leaked poisoned so a late read sees POISON rather than reused
    // memory.
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut gps = 0u64;
    while Instant::now() < deadline {
        let old = shared.swap(Box::into_raw(Box::new(LIVE)), Ordering::AcqRel);
        memb::synchronize();
        // SAFETY: no reader can reach `old` after the grace period.
        unsafe { std::ptr::write_volatile(old, POISON) };
        gps += 1;
    }
    stop.store(true, Ordering::Relaxed);
    spawner.join().unwrap();
    eprintln!(
        "{gps} grace periods, {} read sections on foreign words",
        reads.load(Ordering::Relaxed)
    );
    assert!(gps > 0 && reads.load(Ordering::Relaxed) > 0);
    // No exited thread is still waited on.
    memb::synchronize();
}
