//! memb read sections and call_rcu from a signal handler, at a high rate,
//! while the interrupted thread runs read sections and synchronize().

use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering::*};
use std::time::{Duration, Instant};
use urcu_core::{memb, RcuHead};

const HEADS: usize = 200_000;
static NEXT_HEAD: AtomicUsize = AtomicUsize::new(0);
static HEAD_POOL: AtomicPtr<RcuHead> = AtomicPtr::new(std::ptr::null_mut());
static QUEUED: AtomicU64 = AtomicU64::new(0);
static INVOKED: AtomicU64 = AtomicU64::new(0);
static HANDLED: AtomicU64 = AtomicU64::new(0);
static SHARED: AtomicU64 = AtomicU64::new(1);

unsafe extern "C" fn count(_head: *mut RcuHead) {
    INVOKED.fetch_add(1, Relaxed);
}

extern "C" fn on_signal(_: libc::c_int) {
    // Nested read sections, on top of whatever the thread was doing.
    memb::raw_read_lock();
    memb::raw_read_lock();
    std::hint::black_box(SHARED.load(Acquire));
    // SAFETY: pairs with the two locks above; nothing was read.
    unsafe {
        memb::raw_read_unlock();
        memb::raw_read_unlock();
    }
    let i = NEXT_HEAD.fetch_add(1, Relaxed);
    if i < HEADS {
        // SAFETY: the pool holds HEADS heads that live for the whole
        // process; each index is handed out once.
        unsafe { memb::call_rcu_nolock(HEAD_POOL.load(Acquire).add(i), count) };
        QUEUED.fetch_add(1, Relaxed);
    }
    HANDLED.fetch_add(1, Relaxed);
}

#[test]
fn signal_handler_read_sections_and_call_rcu_during_synchronize() {
    let pool: Vec<RcuHead> = (0..HEADS).map(|_| RcuHead::new()).collect();
    HEAD_POOL.store(Box::leak(pool.into_boxed_slice()).as_mut_ptr(), Release);
    let _reg = memb::register_thread();
    memb::synchronize(); // starts the domain outside the handler

    // SAFETY: installing a handler that only uses async-signal-safe krcu
    // calls and atomics; the timer is deleted before the test returns.
    let timer = unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as *const () as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGRTMIN(), &sa, std::ptr::null_mut()),
            0
        );
        let mut sev: libc::sigevent = std::mem::zeroed();
        sev.sigev_notify = libc::SIGEV_THREAD_ID;
        sev.sigev_signo = libc::SIGRTMIN();
        sev.sigev_notify_thread_id = libc::syscall(libc::SYS_gettid) as libc::c_int;
        let mut timer: libc::timer_t = std::mem::zeroed();
        assert_eq!(
            libc::timer_create(libc::CLOCK_MONOTONIC, &mut sev, &mut timer),
            0
        );
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 50_000,
            }, // 20 kHz
            it_value: libc::timespec {
                tv_sec: 0,
                tv_nsec: 50_000,
            },
        };
        assert_eq!(
            libc::timer_settime(timer, 0, &spec, std::ptr::null_mut()),
            0
        );
        timer
    };

    let end = Instant::now() + Duration::from_secs(2);
    let mut syncs = 0;
    let mut reads = 0u64;
    while Instant::now() < end {
        for _ in 0..1000 {
            let g = memb::read_lock();
            std::hint::black_box(SHARED.load(Acquire));
            drop(g);
            reads += 1;
        }
        memb::synchronize();
        syncs += 1;
    }
    // SAFETY: the timer was created above.
    unsafe { libc::timer_delete(timer) };
    assert!(
        !memb::in_read_section(),
        "handlers left the thread's record as they found it"
    );
    memb::barrier();
    let (handled, queued, invoked) = (
        HANDLED.load(Relaxed),
        QUEUED.load(Relaxed),
        INVOKED.load(Relaxed),
    );
    eprintln!("signals handled {handled}, call_rcu from handlers {queued}, invoked {invoked}, synchronize {syncs}, reads {reads}");
    assert!(
        handled > 1000,
        "the timer fired too rarely to test anything ({handled})"
    );
    assert_eq!(
        queued, invoked,
        "every callback queued from a handler ran exactly once"
    );
}
