//! kvfree_rcu_barrier: flush every thread's kfree_rcu state, then wait for
//! a marker to come out of the helper's queue.

use super::pending::PendingHead;
use super::queue::{barrier_answered, ring_urgent, BARRIERS};
use super::start::{ensure_started, FLUSH};
use super::wake::submit;
use crate::caches::CacheInner;
use crate::kfree_rcu;
use crate::thread;
use std::sync::atomic::{AtomicU32, Ordering};
use urcu_core::__private::futex;
use urcu_core::qsbr;
use urcu_core::GpCookie;

#[repr(C)]
struct Marker {
    head: PendingHead,
    done: AtomicU32,
}

/// A marker's `free`: answers its barrier.
///
/// # Safety
///
/// `head` is the head of a [`Marker`] whose barrier waits for `done`.
unsafe fn answer(head: *mut PendingHead) {
    let m = head.cast::<Marker>();
    // Before the answer: the caller returns once it sees `done`, and a
    // barrier that has returned is no longer urgent.
    barrier_answered();
    // SAFETY: the barrier waits until `done` is set (so the marker is alive
    // until this store is seen); the futex wake only uses the address (a
    // stale wake is harmless to waiters, who re-check their word). Release
    // pairs with the barrier's Acquire load.
    unsafe {
        (*m).done.store(1, Ordering::Release);
        futex::wake(&(*m).done, i32::MAX);
    }
}

/// kvfree_rcu_barrier(_on_cache): flush, then wait for a marker. `what`
/// names the public call, for the misuse message.
///
/// The helper waits for grace periods of both flavors before it answers,
/// so an online qsbr caller goes offline for the whole barrier (as
/// `qsbr::barrier` does): a qsbr grace period would otherwise wait for this
/// thread, which waits for the helper.
#[track_caller]
pub(crate) fn barrier(cache: Option<&CacheInner>, what: &str) {
    kfree_rcu::checks::forbid_sleep(what);
    qsbr::offline(|| barrier_offline(cache));
}

fn barrier_offline(cache: Option<&CacheInner>) {
    ensure_started();
    // Objects `_nolock` calls deferred before this barrier started: the
    // helper queues them (and hands them off) before the marker below.
    crate::nolock::drain_for_barrier();
    {
        let _f = FLUSH.lock();
        let states = thread::all_states();
        thread::steal_round(&states, |ts| kfree_rcu::flush_thread(ts, cache, true));
    }
    let marker = Marker {
        head: PendingHead::new(),
        done: AtomicU32::new(0),
    };
    // Relaxed: a hint, delivered by the urgent ring below (queue.rs's
    // orderings). Before the submit: the helper counts the marker down
    // when it answers it, which the push orders after this.
    BARRIERS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: the marker lives on this frame until the helper sets `done`,
    // which is the last thing the helper reads or writes of it.
    // It waits for no grace period: everything handed off before it has
    // been freed when the helper reaches it.
    unsafe {
        submit(
            &marker as *const Marker as *mut PendingHead,
            answer,
            [GpCookie { seq: 0 }; 2],
            0,
        )
    };
    ring_urgent();
    // Acquire: pairs with the helper's Release store: everything it freed
    // before the marker is visible.
    while marker.done.load(Ordering::Acquire) == 0 {
        futex::wait(&marker.done, 0, None);
    }
}
