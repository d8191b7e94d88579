//! The helper's loop: run the work it is asked for, take what was handed
//! off, free what its grace periods allow (each item's own `free`), run the
//! monitor, and sleep. It knows nothing of what it frees or does: every
//! item and every work carries its function (queue.rs).

use super::pending::PendingHead;
use super::queue::{self, ARMED, BACKLOG_OBJECTS, BELL, ON_HELPER, PENDING, QUEUED};
use crate::stats::counters;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::Instant;
use urcu_core::__private::futex;
use urcu_core::{memb, qsbr, GpCookie};

struct Queued {
    item: *mut PendingHead,
    cookies: [GpCookie; 2],
    objects: usize,
    arrived: Instant,
}

fn completed(c: [GpCookie; 2]) -> bool {
    memb::poll_state(c[0]) && qsbr::poll_state(c[1])
}

pub(crate) fn helper() -> ! {
    ON_HELPER.with(|c| c.set(true));
    // rcu_dtors run here: inside a callback, for the rules of both crates.
    urcu_core::__private::mark_helper_thread();
    let mut fifo: VecDeque<Queued> = VecDeque::new();
    let mut queued_objects = 0usize;
    let mut next_monitor = Instant::now() + queue::monitor_period();
    // The first pass runs every work ever asked for: in a fork child, what
    // the parent's helper had not done yet.
    let mut first = true;
    loop {
        if queue::run_wanted(std::mem::take(&mut first)) {
            // A work may run user code (constructors of new slabs, the
            // rcu_dtors of what it freed).
            urcu_core::__private::after_user_callback();
        }
        let now = Instant::now();
        PENDING.take_all(|item| {
            // SAFETY: a pending item is the helper's; its pusher stamped
            // it before the push (queue::push).
            let (cookies, objects) = unsafe { ((*item).cookies, (*item).objects) };
            queued_objects += objects;
            fifo.push_back(Queued {
                item,
                cookies,
                objects,
                arrived: now,
            });
        });
        while let Some(front) = fifo.front() {
            if !completed(front.cookies) {
                break;
            }
            let q = fifo.pop_front().expect("front exists");
            queued_objects -= q.objects;
            // SAFETY: the item is the helper's and both its grace periods
            // have passed, as its `free` requires.
            unsafe { ((*q.item).free)(q.item) };
            // An rcu_dtor may have read under either flavor.
            urcu_core::__private::after_user_callback();
            // Saturating: in a fork child the count restarts at zero while
            // older items may still be on the stack.
            let n = q.objects as u64;
            // Relaxed: the backlog gauge and the monitor's arm are hints
            // (queue.rs's orderings).
            let _ = QUEUED.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(n))
            });
        }
        let now = Instant::now();
        if now >= next_monitor {
            if ARMED.load(Ordering::Relaxed) {
                queue::run_monitor();
                urcu_core::__private::after_user_callback();
            }
            next_monitor = now + queue::monitor_period();
        }
        // Relaxed: hints (queue.rs's orderings).
        let mut deadline = ARMED.load(Ordering::Relaxed).then_some(next_monitor);
        if let Some(front) = fifo.front() {
            // The oldest item waits for its grace period after the core's
            // gather at most, even without a backlog: the cadence the
            // core's callbacks keep (`urcu_core::gather_time`), so that
            // one grace period (a membarrier() and a scan) serves many
            // hand-offs, and callbacks and batches share it.
            let due = front.arrived + urcu_core::gather_time();
            if queued_objects >= BACKLOG_OBJECTS || now >= due || queue::urgent() {
                let c = front.cookies;
                counters::add(&counters::GP_WAITS, 1);
                memb::cond_synchronize(c[0]);
                qsbr::cond_synchronize(c[1]);
                continue;
            }
            deadline = Some(deadline.map_or(due, |d| d.min(due)));
        }
        // While items gather, only an urgent ring (a barrier, a restock,
        // a `_nolock` call) should wake the helper: it says it sleeps only
        // when idle, and producers ring only then.
        let idle = fifo.is_empty();
        let seen = BELL.prepare_sleep(idle);
        let work = (idle && !PENDING.is_empty()) || queue::work_wanted();
        // A hint; the ring of a barrier delivers it (doorbell.rs).
        if !work && !queue::urgent() {
            let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            futex::wait(&BELL.word, seen, timeout);
        }
        BELL.awake();
    }
}
