//! Callbacks: `call_rcu`'s wait-free enqueue, the backlog throttle that
//! keeps a flood from outrunning the helpers, `barrier`, and invoking a
//! batch whose grace period has ended.

use super::{Domain, FlavorImpl, Private};
use crate::cadence::HURRY_EVERY;
use crate::head::{RcuCallback, RcuHead};
use crate::primitive::{AtomicU32, AtomicU64};
use crate::queue::Batch;
use crate::sys::futex;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// Naps per check at most: `call_rcu` slows a flood but never blocks, even
/// when a stalled reader holds every grace period.
const BACKLOG_MAX_NAPS: u32 = 64;
/// One nap of a throttled `call_rcu`: a sleep, not a yield. A yield gives
/// the CPU only to a thread queued on this CPU; when the callback thread
/// waits behind a reader on the other one, the producer's yields return at
/// once and it spins on them, keeping its CPU busy, so the scheduler never
/// moves the callback thread to it. A sleep leaves the CPU idle, and the
/// callback thread is pulled over. Measured with the defer workload (10M
/// call_rcu, one reader, 2 CPUs, 6 alternated runs): yields 5.5-20.1M
/// calls/s, median 10.7M; 10 us naps 14.0-26.3M, median 18.6M.
const BACKLOG_NAP: std::time::Duration = std::time::Duration::from_micros(10);
/// Callbacks queued and not yet invoked above which `call_rcu` gives its CPU
/// to the helper threads. About 2.5 MiB of 64-byte objects (with their
/// allocator headers): two hurries' worth of batching, and small enough
/// that the callbacks waiting stay in the caches the callback thread walks
/// them from, and that a flood from threads keeping every CPU busy gives
/// the helpers a CPU in time. Measured with the defer workload (10M
/// call_rcu, medians of 8 alternated runs, 1 / 2 readers): 128K gave
/// 5.0 / 3.0M calls/s, barrier 4.4 / 13.8 ms, peak RSS 13.1 / 13.8 MiB;
/// 32K gives 10.9 / 5.4M calls/s, 0.18 / 4.5 ms, 6.4 / 8.2 MiB.
const BACKLOG_HIGH_WATER: u64 = 1 << 15;
/// How often (in calls) `call_rcu` looks at the backlog: the check reads a
/// counter the callback thread writes.
const BACKLOG_CHECK_EVERY: u64 = 256;

impl<F: FlavorImpl> Domain<F> {
    /// Queues a callback. Wait-free; async-signal-safe. Starts nothing.
    /// Returns how many user callbacks were queued before this one.
    ///
    /// # Safety
    ///
    /// As for `call_rcu`: `head` stays valid and untouched until `func` runs.
    #[inline]
    pub(crate) unsafe fn enqueue(&self, head: *mut RcuHead, func: RcuCallback) -> u64 {
        // SAFETY: the caller owns `head` until the callback runs.
        let was_empty = unsafe {
            (*head).func = Some(func);
            self.callbacks.queue.enqueue(head)
        };
        // Relaxed: a statistic, and the backlog estimate below.
        let queued = if is_barrier(func) {
            0
        } else {
            self.callbacks.queued.fetch_add(1, Relaxed)
        };
        // Behind other callbacks, this one is seen by any look of the
        // helper's (sleep.rs): only the call that made the queue non-empty
        // wakes it, and the one that completes a batch worth a grace period
        // now (crate::cadence) hurries it.
        if queued % HURRY_EVERY == HURRY_EVERY - 1 {
            self.hurry();
        } else if was_empty {
            // A gathering helper looks at the queue when its gather ends.
            self.helpers.gp_sleep.wake_if_idle();
        }
        queued
    }

    /// After an enqueue: a grace period should start for what is queued
    /// without waiting for the gather (`crate::cadence`). Async-signal-safe.
    #[inline]
    pub(crate) fn hurry(&self) {
        self.helpers.hurry.set();
        self.wake_gp_helper();
    }

    /// `call_rcu`: starts the helpers unless they run, then
    /// [`enqueue_throttled`](Self::enqueue_throttled).
    ///
    /// # Safety
    ///
    /// As for [`enqueue`](Self::enqueue).
    #[inline]
    pub(crate) unsafe fn call_rcu(&'static self, head: *mut RcuHead, func: RcuCallback) {
        self.ensure_started();
        // SAFETY: forwarded contract.
        unsafe { self.enqueue_throttled(head, func) };
    }

    /// `call_rcu`'s enqueue: [`enqueue`](Self::enqueue), then, every
    /// [`BACKLOG_CHECK_EVERY`] calls, gives way to the helpers while the
    /// backlog is above [`BACKLOG_HIGH_WATER`].
    ///
    /// # Safety
    ///
    /// As for [`enqueue`](Self::enqueue).
    #[inline]
    pub(crate) unsafe fn enqueue_throttled(&self, head: *mut RcuHead, func: RcuCallback) {
        // SAFETY: forwarded contract.
        let queued = unsafe { self.enqueue(head, func) };
        if queued % BACKLOG_CHECK_EVERY == 0 {
            self.throttle(queued);
        }
    }

    /// Naps while the backlog is above the high-water mark, at most
    /// [`BACKLOG_MAX_NAPS`] times: with every CPU busy (readers, this
    /// producer), the helpers otherwise wait a whole time slice for a CPU
    /// while the backlog grows. Measured with one reader on 2 CPUs, 10M
    /// call_rcu: peak RSS 13-70 MiB without it, 12.6-14.4 MiB with it, and
    /// calls/s the same within the noise.
    #[cold]
    fn throttle(&self, queued: u64) {
        if crate::helper::in_helper() {
            // A callback queueing callbacks: this thread is the one that
            // drains the backlog; napping would only slow it.
            return;
        }
        if F::holds_up_grace_periods() {
            // The backlog waits for a grace period that waits for this
            // thread (a memb read section, an online qsbr thread): naps
            // cannot shrink it. 64 naps per 256 calls turned liburcu's
            // hash table test, whose online qsbr thread frees 1.3M nodes,
            // from 1.7 s into 35.
            return;
        }
        for _ in 0..BACKLOG_MAX_NAPS {
            // Relaxed: estimates; a stale value costs one nap, one hurry or
            // one check.
            let backlog = queued.saturating_sub(self.callbacks.invoked.load(Relaxed));
            if backlog <= BACKLOG_HIGH_WATER {
                return;
            }
            // Hurry the grace periods only when they are what the backlog
            // waits for. Callbacks a grace period has served wait for the
            // callback thread, which needs this CPU, not a grace period;
            // waking the helper then only takes the CPU from it (a futex
            // wake per look: 20K a second in the slow runs of the defer
            // workload with one reader).
            if queued.saturating_sub(self.callbacks.spliced.load(Relaxed)) > BACKLOG_HIGH_WATER / 2
            {
                self.hurry();
            }
            // Relaxed: a statistic.
            self.callbacks.naps.fetch_add(1, Relaxed);
            std::thread::sleep(BACKLOG_NAP);
        }
    }

    /// Returns after every callback queued before the call has run.
    pub(crate) fn barrier(&'static self) {
        self.ensure_started();
        let marker = BarrierMarker {
            head: RcuHead::new(),
            done: AtomicU32::new(0),
        };
        let head = &marker.head as *const RcuHead as *mut RcuHead;
        // SAFETY: `marker` outlives its callback: we wait for it below, and
        // `head` is its first field so the callback can find `done`.
        unsafe { self.enqueue(head, barrier_done) };
        // A barrier never waits for a gather.
        self.hurry();
        // Acquire pairs with the Release store in `barrier_done`.
        while marker.done.load(Acquire) == 0 {
            futex::wait(&marker.done, 0, None);
        }
    }
}

#[repr(C)]
struct BarrierMarker {
    head: RcuHead,
    done: AtomicU32,
}

fn is_barrier(func: RcuCallback) -> bool {
    std::ptr::fn_addr_eq(func, barrier_done as RcuCallback)
}

unsafe extern "C" fn barrier_done(head: *mut RcuHead) {
    let marker = head as *const BarrierMarker;
    // SAFETY: `head` is the first field of a BarrierMarker whose barrier()
    // caller is waiting for `done` (so the marker is alive until this store
    // is seen). Release pairs with the caller's Acquire load.
    unsafe {
        (*marker).done.store(1, Release);
        // The waiter may return as soon as it sees the store; a wake on its
        // (then dead) stack address is harmless: futex wakes only name an
        // address, and every waiter in krcu re-checks its condition.
        futex::wake(&(*marker).done, 1);
    }
}

/// Invokes every callback of `batch`, in order, adding the user callbacks to
/// `invoked`: before each barrier marker, so that a barrier's caller sees
/// every callback that ran before it counted, and at the end.
pub(super) fn invoke<F: FlavorImpl>(batch: &Batch, invoked: &AtomicU64) {
    let mut n = 0;
    let mut node = batch.first;
    loop {
        // SAFETY: the batch owns its nodes until their callback runs; read
        // the link first, since the callback may free the node.
        let next = unsafe { batch.next(node) };
        if let Some(nx) = next {
            // The next node's line arrives while this callback runs: a
            // batch spliced a gather ago is out of this CPU's caches, and
            // the walk would otherwise wait for each node in turn.
            crate::primitive::prefetch(nx);
        }
        // SAFETY: `func` was set by `enqueue` before the node was published.
        let func = unsafe { (*node).func }.expect("queued head has a callback");
        if is_barrier(func) {
            // Relaxed: the marker's Release store orders it for the waiter.
            invoked.fetch_add(std::mem::take(&mut n), Relaxed);
        } else {
            n += 1;
        }
        // SAFETY: the grace period this batch waited for has ended, so the
        // callback's contract (no reader holds the object) holds.
        unsafe { func(node) };
        F::after_user_callback(Private(()));
        match next {
            Some(nx) => node = nx,
            None => break,
        }
    }
    // Relaxed: a statistic; the barrier markers' Release store orders it for a
    // barrier's caller.
    invoked.fetch_add(n, Relaxed);
}
