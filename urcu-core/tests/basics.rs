//! Behaviour of the core seen from outside: grace periods, callbacks,
//! barriers, cookies, RcuCell, registration.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use urcu_core::{memb, qsbr, Flavor, Memb, Qsbr, RcuCell, RcuHead};

#[repr(C)]
struct Obj {
    head: RcuHead,
    freed: Arc<AtomicUsize>,
}

unsafe extern "C" fn free_obj(head: *mut RcuHead) {
    // SAFETY: head is the first field of a boxed Obj queued once.
    let obj = unsafe { Box::from_raw(head as *mut Obj) };
    obj.freed.fetch_add(1, Ordering::SeqCst);
}

fn call_rcu_then_barrier<F: Flavor>() {
    let freed = Arc::new(AtomicUsize::new(0));
    for _ in 0..1000 {
        let obj = Box::into_raw(Box::new(Obj {
            head: RcuHead::new(),
            freed: freed.clone(),
        }));
        // SAFETY: obj is leaked until free_obj reclaims it.
        unsafe { F::call_rcu(obj as *mut RcuHead, free_obj) };
    }
    F::barrier();
    assert_eq!(freed.load(Ordering::SeqCst), 1000);
}

#[test]
fn memb_call_rcu_then_barrier_runs_every_callback() {
    call_rcu_then_barrier::<Memb>();
}

#[test]
fn qsbr_call_rcu_then_barrier_runs_every_callback() {
    let _r = qsbr::register_thread();
    call_rcu_then_barrier::<Qsbr>();
}

/// synchronize waits for a reader that started before it.
fn synchronize_waits_for_preexisting_reader<F: Flavor>() {
    let entered = Arc::new(AtomicBool::new(false));
    let released = Arc::new(AtomicBool::new(false));
    let (e, r) = (entered.clone(), released.clone());
    let reader = std::thread::spawn(move || {
        let _reg = F::register_thread();
        let g = F::read_lock();
        e.store(true, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(200));
        r.store(true, Ordering::SeqCst);
        drop(g);
        if F::NAME == "qsbr" {
            qsbr::quiescent_state();
        }
    });
    while !entered.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    F::synchronize();
    assert!(
        released.load(Ordering::SeqCst),
        "{}: synchronize returned while a reader that began before it was still inside",
        F::NAME
    );
    reader.join().unwrap();
}

#[test]
fn memb_synchronize_waits_for_preexisting_reader() {
    synchronize_waits_for_preexisting_reader::<Memb>();
}

#[test]
fn qsbr_synchronize_waits_for_online_reader() {
    synchronize_waits_for_preexisting_reader::<Qsbr>();
}

#[test]
fn cookies_complete_only_after_a_grace_period() {
    // A registered reader inside its read section holds every grace period
    // that starts after it entered, whatever other tests run meanwhile.
    let (entered_tx, entered_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        let g = memb::read_lock();
        entered_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        drop(g);
    });
    entered_rx.recv().unwrap();
    let c = memb::get_state();
    let polled = memb::start_poll();
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        !memb::poll_state(c),
        "a grace period completed under a reader"
    );
    assert!(!memb::poll_state(polled));
    release_tx.send(()).unwrap();
    reader.join().unwrap();
    // start_poll: the helper completes it without anyone waiting.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !memb::poll_state(polled) {
        assert!(
            std::time::Instant::now() < deadline,
            "start_poll never completed"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    memb::cond_synchronize(c);
    assert!(memb::poll_state(c));
    let c = qsbr::start_poll();
    qsbr::cond_synchronize(c);
    assert!(qsbr::poll_state(c));
}

#[test]
fn rcu_cell_drops_old_values_after_a_grace_period() {
    struct Tracked(Arc<AtomicUsize>);
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let cell: RcuCell<Tracked> = RcuCell::new(Tracked(drops.clone()));
    {
        let g = memb::read_lock();
        let old = cell.swap(Tracked(drops.clone()), &g);
        assert!(old.is_some());
        // Still readable: the grace period cannot end while `g` lives.
        assert_eq!(drops.load(Ordering::SeqCst), 0);
    }
    memb::barrier();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    cell.store(Tracked(drops.clone()));
    cell.clear();
    memb::barrier();
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    drop(cell);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        3,
        "an empty cell drops nothing"
    );
}

#[test]
fn rcu_cell_compare_exchange() {
    let cell: RcuCell<u32> = RcuCell::new(1);
    let g = memb::read_lock();
    let cur = cell.load(&g);
    assert_eq!(cell.compare_exchange(cur, 2, &g).unwrap(), Some(&1));
    let stale = cur;
    let (found, back) = cell.compare_exchange(stale, 3, &g).unwrap_err();
    assert_eq!((found, back), (Some(&2), 3));
    drop(g);
    let mut cell = cell;
    assert_eq!(cell.get_mut(), Some(&mut 2));
    assert_eq!(cell.into_inner(), Some(2));
}

#[test]
fn defer_runs_closures_and_drops_boxes() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    memb::defer(move || {
        n2.fetch_add(1, Ordering::SeqCst);
    });
    let n3 = n.clone();
    qsbr::defer(move || {
        n3.fetch_add(10, Ordering::SeqCst);
    });
    struct D(Arc<AtomicUsize>);
    impl Drop for D {
        fn drop(&mut self) {
            self.0.fetch_add(100, Ordering::SeqCst);
        }
    }
    memb::defer_drop(Box::new(D(n.clone())));
    memb::barrier();
    qsbr::barrier();
    assert_eq!(n.load(Ordering::SeqCst), 111);
}

#[test]
fn a_panicking_deferred_closure_does_not_stop_the_others() {
    let n = Arc::new(AtomicUsize::new(0));
    memb::defer(|| panic!("deliberate"));
    let n2 = n.clone();
    memb::defer(move || {
        n2.fetch_add(1, Ordering::SeqCst);
    });
    memb::barrier();
    assert_eq!(n.load(Ordering::SeqCst), 1);
}

#[test]
fn read_sections_nest() {
    let a = memb::read_lock();
    let b = memb::read_lock();
    assert!(memb::in_read_section());
    drop(b);
    assert!(memb::in_read_section());
    drop(a);
    assert!(!memb::in_read_section());
}

#[test]
fn read_sections_nest_65534_deep_and_no_deeper() {
    let depth = std::thread::spawn(|| {
        for _ in 0..65534 {
            memb::raw_read_lock();
        }
        // The section is left open: the thread's exit ends it.
        std::panic::catch_unwind(memb::raw_read_lock)
            .expect_err("a 65535th nested section panics")
            .downcast::<String>()
            .map(|m| *m)
            .unwrap_or_default()
    })
    .join()
    .unwrap();
    assert!(depth.contains("nested more than 65534 deep"), "{depth}");
    memb::synchronize(); // the exited thread holds no section
}

#[test]
fn qsbr_offline_scope_restores_online() {
    std::thread::spawn(|| {
        let _r = qsbr::register_thread();
        assert!(qsbr::is_online());
        let v = qsbr::offline(|| {
            assert!(!qsbr::is_online());
            qsbr::synchronize();
            7
        });
        assert_eq!(v, 7);
        assert!(qsbr::is_online());
        qsbr::synchronize();
        assert!(qsbr::is_online(), "synchronize restores the online state");
    })
    .join()
    .unwrap();
}

#[test]
fn stats_count_callbacks_and_grace_periods() {
    let before = memb::stats();
    memb::defer(|| {});
    memb::barrier();
    memb::synchronize();
    let after = memb::stats();
    assert!(after.callbacks_queued > before.callbacks_queued);
    assert!(after.callbacks_invoked > before.callbacks_invoked);
    assert!(after.gp_completed > before.gp_completed);
}

/// Callbacks that queue callbacks: each level needs one more barrier, and a
/// flood queued from the callback thread itself still drains.
#[test]
fn callbacks_queueing_callbacks_drain_level_by_level() {
    static LEVEL2: AtomicUsize = AtomicUsize::new(0);
    unsafe extern "C" fn level2(head: *mut RcuHead) {
        // SAFETY: boxed below, queued once.
        drop(unsafe { Box::from_raw(head) });
        LEVEL2.fetch_add(1, Ordering::SeqCst);
    }
    memb::defer(|| {
        // 300K from the callback thread: above the backlog high-water mark.
        for _ in 0..300_000 {
            // SAFETY: leaked until level2 reclaims it.
            unsafe { memb::call_rcu(Box::into_raw(Box::new(RcuHead::new())), level2) };
        }
    });
    memb::barrier(); // the first level has run
    memb::barrier(); // and what it queued
    assert_eq!(LEVEL2.load(Ordering::SeqCst), 300_000);
}
