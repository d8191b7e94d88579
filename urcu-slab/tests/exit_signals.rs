//! Signals during thread exit: a profiler's timer keeps firing on threads
//! while they unregister and their thread-locals are destroyed, and its
//! handler takes memb read sections and calls `_nolock` functions.

mod common;

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use urcu_core::memb;
use urcu_slab::testing::{install_handler, ThreadTimer};

static HANDLED: AtomicU64 = AtomicU64::new(0);
static SHARED: AtomicU64 = AtomicU64::new(7);

extern "C" fn sample(_: libc::c_int) {
    {
        let _g = memb::read_lock();
        std::hint::black_box(SHARED.load(Ordering::Acquire));
    }
    if let Ok(p) = urcu_slab::kmalloc_nolock(48) {
        // SAFETY: allocated just above, freed once.
        unsafe { urcu_slab::kfree_nolock(p.as_ptr()) };
    }
    HANDLED.fetch_add(1, Ordering::Relaxed);
    HANDLED_HERE.with(|h| h.set(true));
}

thread_local! {
    /// Whether the handler ran on this thread (a const Cell: no destructor,
    /// safe to touch from a handler).
    static HANDLED_HERE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    // Made before the thread registers with memb, so destroyed after
    // krcu's exit hook ran: the timer fires through the whole exit.
    static TIMER: RefCell<Option<ThreadTimer>> = const { RefCell::new(None) };
}

/// A handler taking a memb read section after the thread began
/// unregistering, or after its thread-locals were destroyed, registered
/// the thread again from the handler (the registry lock, which the
/// interrupted unregistration may hold: a self-deadlock; an allocation)
/// or panicked inside it ("use of std::thread::current() is not possible
/// after the thread's local data has been destroyed"), aborting the
/// process.
#[test]
fn signal_during_thread_exit_re_registers_or_panics() {
    let sig = libc::SIGRTMIN() + 3;
    // SAFETY: the handler does only async-signal-safe krcu calls.
    unsafe { install_handler(sig, sample) };
    urcu_slab::prepare_thread();
    common::within("short-lived threads under a 20 us timer", move || {
        for _ in 0..150 {
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    std::thread::spawn(move || {
                        // The timer's slot first, so that it is destroyed after krcu's
                        // exit hooks; then a registration that lasts until the thread
                        // exits, made before any handler that reads may run (a
                        // registration locks and allocates); then the timer.
                        TIMER.with(|_| ());
                        drop(memb::read_lock());
                        urcu_slab::prepare_thread();
                        TIMER.with(|t| {
                            *t.borrow_mut() =
                                Some(ThreadTimer::start(sig, Duration::from_micros(20)))
                        });
                        // Read until the timer has interrupted this thread
                        // (at most 50 ms), so its signals land on the
                        // thread's life and, some of them, on its exit.
                        let until = std::time::Instant::now() + Duration::from_millis(50);
                        while !HANDLED_HERE.with(|h| h.get()) && std::time::Instant::now() < until {
                            for _ in 0..20 {
                                let _g = memb::read_lock();
                                std::hint::black_box(SHARED.load(Ordering::Acquire));
                            }
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
        }
        memb::synchronize();
    });
    assert!(HANDLED.load(Ordering::Relaxed) > 0);
}
