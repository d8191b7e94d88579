//! The cadence of grace periods for callbacks (the core's cadence.rs):
//! callbacks gather instead of getting a grace period per wake, and what
//! must not wait for a gather (a barrier, `call_rcu_hurry`, `start_poll`,
//! `synchronize`, expedited grace periods) does not. Checked by counting
//! grace periods and by gathers long enough (a minute) that waiting for
//! one turns into a failure of `within`, never by timing what is fast.
//!
//! The gather time is process-wide, so the tests of this binary take
//! turns (`SERIAL`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use urcu_core::{memb, qsbr, Flavor, Memb, Qsbr, RcuHead};

mod common;
use common::within;

static SERIAL: Mutex<()> = Mutex::new(());

/// Longer than any test may take: a callback that waits for a whole
/// gather makes its test fail in `within`.
const LONG_GATHER: Duration = Duration::from_secs(600);

/// Takes this binary's turn and sets the gather; the previous one is
/// restored by the next test's call.
fn turn(gather: Duration) -> std::sync::MutexGuard<'static, ()> {
    let g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    urcu_core::set_gather_time(gather);
    g
}

#[repr(C)]
struct Counted {
    head: RcuHead,
    ran: Arc<AtomicU64>,
}

unsafe extern "C" fn count_and_free(head: *mut RcuHead) {
    // SAFETY: `head` is the first field of a boxed Counted queued once.
    let c = unsafe { Box::from_raw(head as *mut Counted) };
    c.ran.fetch_add(1, Ordering::Relaxed);
}

/// Queues one counted callback, hurried or not.
fn queue<F: Flavor>(ran: &Arc<AtomicU64>, hurry: bool) {
    let c = Box::into_raw(Box::new(Counted {
        head: RcuHead::new(),
        ran: ran.clone(),
    }));
    // SAFETY: `c` is leaked to its callback, which frees it.
    unsafe {
        if hurry {
            F::call_rcu_hurry(c.cast(), count_and_free)
        } else {
            F::call_rcu(c.cast(), count_and_free)
        }
    }
}

fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(50),
            "{what}: not within 50 s"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn barrier_right_after_a_burst<F: Flavor>() {
    let _t = turn(LONG_GATHER);
    within("barrier after a burst", || {
        // A grace period just ran: the burst below gathers.
        F::barrier();
        let ran = Arc::new(AtomicU64::new(0));
        // Fewer than a hurry's worth of callbacks (16K).
        for _ in 0..10_000 {
            queue::<F>(&ran, false);
        }
        let before = F::stats().gp_completed;
        F::barrier();
        let gps = F::stats().gp_completed - before;
        assert_eq!(
            ran.load(Ordering::Relaxed),
            10_000,
            "the barrier saw every callback run"
        );
        assert!(
            gps <= 2,
            "{} barrier after a burst took {gps} grace periods, not one or two",
            F::NAME
        );
    });
}

#[test]
fn memb_barrier_right_after_a_burst_takes_one_or_two_grace_periods() {
    barrier_right_after_a_burst::<Memb>();
}

#[test]
fn qsbr_barrier_right_after_a_burst_takes_one_or_two_grace_periods() {
    barrier_right_after_a_burst::<Qsbr>();
}

/// A callback every 20 µs for 400 ms: one grace period per wake would run
/// thousands; gathering for 20 ms runs about one per gather.
fn a_stream_gathers<F: Flavor>() {
    let gather = Duration::from_millis(20);
    let _t = turn(gather);
    within("a stream of callbacks", move || {
        F::barrier();
        let ran = Arc::new(AtomicU64::new(0));
        let before = F::stats().gp_completed;
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_millis(400) {
            queue::<F>(&ran, false);
            n += 1;
            let next = Instant::now() + Duration::from_micros(20);
            while Instant::now() < next {
                std::hint::spin_loop();
            }
        }
        let elapsed = start.elapsed();
        let gps = F::stats().gp_completed - before;
        F::barrier();
        assert_eq!(ran.load(Ordering::Relaxed), n);
        // One per gather, one per 16K callbacks (a hurry), and slack for
        // the first one and the edges.
        let bound = (elapsed.as_millis() / gather.as_millis()) as u64 + n / 16_384 + 4;
        assert!(
            gps <= bound,
            "{} ran {gps} grace periods for {n} callbacks in {elapsed:?} with a {gather:?} gather (at most {bound})",
            F::NAME
        );
    });
}

#[test]
fn memb_a_stream_of_call_rcu_gathers_into_few_grace_periods() {
    a_stream_gathers::<Memb>();
}

#[test]
fn qsbr_a_stream_of_call_rcu_gathers_into_few_grace_periods() {
    a_stream_gathers::<Qsbr>();
}

/// [`count_and_free`], keeping the callback thread busy for 5 µs.
unsafe extern "C" fn slow_count_and_free(head: *mut RcuHead) {
    // SAFETY: `head` is the first field of a boxed Counted queued once.
    let c = unsafe { Box::from_raw(head as *mut Counted) };
    let until = Instant::now() + Duration::from_micros(5);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
    c.ran.fetch_add(1, Ordering::Relaxed);
}

/// A flood of callbacks the callback thread runs slowly (5 µs each): the
/// backlog passes the throttle's 32K while a grace period has served the
/// callbacks already. The throttle used to hurry the helper at every look
/// (a grace period each time, at a futex wake each); the flood must run
/// grace periods at the gather's cadence.
fn a_flood_waiting_for_the_callback_thread_is_not_hurried<F: Flavor>() {
    let gather = Duration::from_millis(20);
    let _t = turn(gather);
    within("a flood of slow callbacks", move || {
        F::barrier();
        let ran = Arc::new(AtomicU64::new(0));
        let n = 100_000u64;
        let before = F::stats().gp_completed;
        let start = Instant::now();
        for _ in 0..n {
            let c = Box::into_raw(Box::new(Counted {
                head: RcuHead::new(),
                ran: ran.clone(),
            }));
            // SAFETY: `c` is leaked to its callback, which frees it.
            unsafe { F::call_rcu(c.cast(), slow_count_and_free) };
        }
        let elapsed = start.elapsed();
        let gps = F::stats().gp_completed - before;
        F::barrier();
        assert_eq!(ran.load(Ordering::Relaxed), n);
        // As in `a_stream_gathers`, doubled: the throttle still hurries
        // when a starved helper leaves 16K callbacks unspliced, which a
        // loaded machine may do now and then. A hurry at every look ran
        // five times this bound.
        let bound = 2 * ((elapsed.as_millis() / gather.as_millis()) as u64 + n / 16_384) + 4;
        assert!(
            gps <= bound,
            "{} ran {gps} grace periods for a flood of {n} slow callbacks in {elapsed:?} \
             with a {gather:?} gather (at most {bound}): the throttle hurried grace periods \
             the backlog was not waiting for",
            F::NAME
        );
    });
}

#[test]
fn memb_a_flood_waiting_for_the_callback_thread_is_not_hurried() {
    a_flood_waiting_for_the_callback_thread_is_not_hurried::<Memb>();
}

#[test]
fn qsbr_a_flood_waiting_for_the_callback_thread_is_not_hurried() {
    a_flood_waiting_for_the_callback_thread_is_not_hurried::<Qsbr>();
}

fn hurry_does_not_wait<F: Flavor>() {
    let _t = turn(LONG_GATHER);
    within("call_rcu_hurry", || {
        F::barrier();
        let plain = Arc::new(AtomicU64::new(0));
        queue::<F>(&plain, false);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            plain.load(Ordering::Relaxed),
            0,
            "a plain call_rcu ran before its gather ended"
        );
        let hurried = Arc::new(AtomicU64::new(0));
        queue::<F>(&hurried, true);
        wait_until("the hurried callback", || {
            hurried.load(Ordering::Relaxed) == 1
        });
        // The grace period a hurry starts serves what was queued before.
        wait_until("the callback queued before the hurried one", || {
            plain.load(Ordering::Relaxed) == 1
        });
    });
}

#[test]
fn memb_call_rcu_hurry_does_not_wait_for_the_gather() {
    hurry_does_not_wait::<Memb>();
}

#[test]
fn qsbr_call_rcu_hurry_does_not_wait_for_the_gather() {
    hurry_does_not_wait::<Qsbr>();
}

fn others_serve_gathering_callbacks<F: Flavor>(how: fn()) {
    let _t = turn(LONG_GATHER);
    within("a grace period not of the helper", move || {
        F::barrier();
        let ran = Arc::new(AtomicU64::new(0));
        queue::<F>(&ran, false);
        how();
        wait_until("a gathering callback after another grace period", || {
            ran.load(Ordering::Relaxed) == 1
        });
    });
}

#[test]
fn memb_synchronize_serves_callbacks_queued_before_it() {
    others_serve_gathering_callbacks::<Memb>(memb::synchronize);
}

#[test]
fn qsbr_synchronize_serves_callbacks_queued_before_it() {
    others_serve_gathering_callbacks::<Qsbr>(qsbr::synchronize);
}

#[test]
fn memb_synchronize_expedited_serves_callbacks_queued_before_it() {
    others_serve_gathering_callbacks::<Memb>(memb::synchronize_expedited);
}

#[test]
fn memb_start_poll_does_not_wait_for_the_gather() {
    others_serve_gathering_callbacks::<Memb>(|| {
        let c = memb::start_poll();
        wait_until("the polled cookie", || memb::poll_state(c));
    });
}

#[test]
fn qsbr_start_poll_expedited_does_not_wait_for_the_gather() {
    others_serve_gathering_callbacks::<Qsbr>(|| {
        let c = qsbr::start_poll_expedited();
        wait_until("the polled cookie", || qsbr::poll_state(c));
    });
}

/// An expedited grace period waits for a reader that was inside when it
/// began, and its cookies are the ordinary ones: a cookie taken before it
/// is satisfied by it.
fn expedited_waits_for_readers<F: Flavor>() {
    let _t = turn(Duration::from_millis(1));
    within("synchronize_expedited", || {
        let inside = Arc::new(AtomicBool::new(false));
        let left = Arc::new(AtomicBool::new(false));
        let (i2, l2) = (inside.clone(), left.clone());
        let reader = std::thread::spawn(move || {
            let _r = F::register_thread();
            let g = F::read_lock();
            i2.store(true, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(50));
            l2.store(true, Ordering::SeqCst);
            drop(g);
        });
        while !inside.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        let cookie = F::get_state();
        F::synchronize_expedited();
        assert!(
            left.load(Ordering::SeqCst),
            "{} synchronize_expedited returned while a pre-existing reader was inside",
            F::NAME
        );
        assert!(
            F::poll_state(cookie),
            "an expedited grace period satisfies a normal cookie"
        );
        reader.join().unwrap();
        let c = F::start_poll_expedited();
        F::cond_synchronize(c);
        assert!(F::poll_state(c));
    });
}

#[test]
fn memb_synchronize_expedited_waits_for_pre_existing_readers() {
    expedited_waits_for_readers::<Memb>();
}

#[test]
fn qsbr_synchronize_expedited_waits_for_pre_existing_readers() {
    expedited_waits_for_readers::<Qsbr>();
}
