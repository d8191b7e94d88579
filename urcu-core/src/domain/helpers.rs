//! The domain's two helper threads: "gp" runs grace periods for callbacks
//! and polled cookies, "cb" invokes callbacks, so a slow callback never
//! delays the next grace period. Both start on first need and sleep when
//! there is no work (the handshakes of `crate::sleep`).

use super::callbacks::invoke;
use super::grace::Pace;
use super::{lock, Domain, FlavorImpl, GpScratch, Pending};
use crate::seq::{self, GpCookie};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::time::Instant;

impl<F: FlavorImpl> Domain<F> {
    /// Wakes the grace-period helper if it sleeps. After the exchange in
    /// `enqueue` or the compare-exchange in `request`: the producer's half
    /// of the sleep handshake (sleep.rs).
    #[inline]
    pub(super) fn wake_gp_helper(&self) {
        self.helpers.gp_sleep.wake();
    }

    /// Starts the helper threads unless they run: one Acquire load on
    /// `call_rcu`'s path, the start itself out of line.
    #[inline]
    pub(crate) fn ensure_started(&'static self) {
        // Acquire pairs with the Release store in `start_helpers`.
        if !self.helpers.started.load(Acquire) {
            self.start_helpers();
        }
    }

    #[cold]
    #[inline(never)]
    fn start_helpers(&'static self) {
        self.ensure_init();
        let _g = lock(&self.helpers.start_lock);
        // Relaxed: under start_lock, which orders it against the store below.
        if self.helpers.started.load(Relaxed) {
            return;
        }
        let name = self.name;
        crate::helper::spawn_helper(&format!("krcu-{name}-gp"), move || {
            crate::helper::mark_helper_thread();
            self.gp_helper()
        });
        let cb = crate::helper::spawn_helper(&format!("krcu-{name}-cb"), move || {
            crate::helper::mark_helper_thread();
            self.reclaim_helper()
        });
        // Relaxed: published by the Release store of `started` below.
        self.helpers.callback_thread.store(cb as u64, Relaxed);
        self.helpers.started.store(true, Release);
    }

    /// The callback thread's `pthread_t`, starting the helpers first.
    pub(crate) fn callback_thread(&'static self) -> libc::pthread_t {
        self.ensure_started();
        // Relaxed: `ensure_started` saw `started` with Acquire (or set it
        // under `start_lock`), after the store in `start_helpers`.
        self.helpers.callback_thread.load(Relaxed) as libc::pthread_t
    }

    /// The grace-period helper's loop: passes on what grace periods served,
    /// and runs a grace period for queued callbacks once they have gathered
    /// (`crate::cadence`) or something hurries them, and for polled cookies
    /// at once.
    fn gp_helper(&'static self) -> ! {
        // When this helper last started a grace period.
        let mut last_start: Option<Instant> = None;
        loop {
            {
                let mut pending = lock(&self.helpers.work);
                if self.helpers.handed.is_set() {
                    self.take_handed(&mut lock(&self.grace.gp_lock), &mut pending);
                }
                self.hand_on_done(&mut pending);
                let callbacks = !self.callbacks.queue.is_empty() || self.lazily_polled();
                if callbacks || self.polled() {
                    let due = last_start.map(|t| t + crate::cadence::gather_time());
                    if let Some(due) = due.filter(|&d| Instant::now() < d) {
                        if !self.helpers.hurry.is_set() && !self.polled() {
                            drop(pending);
                            self.gather(due);
                            continue;
                        }
                    }
                    // Before the splice in run_gp: the callbacks of the
                    // hurries it takes are in that splice.
                    self.helpers.hurry.take();
                    // Relaxed: a hint; a missed one runs this grace period
                    // at the normal pace.
                    let pace = if self.helpers.expedite.swap(false, Relaxed) {
                        Pace::Expedited
                    } else {
                        Pace::Normal
                    };
                    let mut scratch = lock(&self.grace.gp_lock);
                    // Another runner may have served them while we waited.
                    if self.polled() || self.lazily_polled() || !self.callbacks.queue.is_empty() {
                        last_start = Some(Instant::now());
                        self.run_gp(&mut scratch, pace);
                    }
                    self.take_handed(&mut scratch, &mut pending);
                    drop(scratch);
                    self.hand_on_done(&mut pending);
                    continue;
                }
            }
            if !self.helper_should_sleep() {
                continue;
            }
            self.helpers.gp_sleep.sleep();
        }
    }

    /// Whether a polled cookie (`start_poll`) waits for a grace period.
    fn polled(&self) -> bool {
        // SeqCst `needed`: as in `helper_should_sleep`. Relaxed sequence:
        // only deciding; re-checked under gp_lock.
        !seq::done(self.grace.seq.load(Relaxed), self.grace.needed.load(SeqCst))
    }

    /// Whether a lazily polled cookie (`request_lazy`) waits for a grace
    /// period.
    fn lazily_polled(&self) -> bool {
        // SeqCst: as `polled`'s.
        !seq::done(
            self.grace.seq.load(Relaxed),
            self.grace.needed_lazy.load(SeqCst),
        )
    }

    /// Lets callbacks gather in the queue until `due`, unless a producer
    /// hurries the helper, a cookie is polled, or another grace period
    /// hands callbacks on. While the queue is not empty producers do not
    /// wake the helper (`enqueue`), so a gather costs them nothing.
    fn gather(&self, due: Instant) {
        // The helper's half of the handshake of `crate::cadence`: say it
        // sleeps, then look. Relaxed loads: ordered by the announcement's
        // fence.
        self.helpers.gp_sleep.announce_gather();
        let early = self.helpers.hurry.is_set()
            || self.helpers.handed.is_set()
            || !seq::done(
                self.grace.seq.load(Relaxed),
                self.grace.needed.load(Relaxed),
            );
        if !early {
            self.helpers
                .gp_sleep
                .sleep_gathering(due.saturating_duration_since(Instant::now()));
        }
        self.helpers.gp_sleep.stay_awake();
    }

    /// Moves the callbacks grace periods served from `scratch` to `pending`.
    fn take_handed(&self, scratch: &mut GpScratch, pending: &mut Pending) {
        self.helpers.handed.clear();
        for (cookie, batch) in scratch.taken.drain(..) {
            match pending.batches.back_mut() {
                // SAFETY: both batches are ours and disjoint.
                Some((c, last)) if *c == cookie => unsafe { last.append(batch) },
                _ => pending.batches.push_back((cookie, batch)),
            }
        }
    }

    /// Whether there is no work; leaves the sleep flag announced when so.
    fn helper_should_sleep(&self) -> bool {
        // The helper's half of the sleep handshake with `enqueue` and
        // `request` (sleep.rs): either they see the announcement and wake
        // us, or this look sees their work. Relaxed loads: ordered by the
        // announcement's fence.
        self.helpers.gp_sleep.announce();
        let idle = self.callbacks.queue.is_empty()
            && !self.helpers.handed.is_set()
            && seq::done(
                self.grace.seq.load(Relaxed),
                self.grace.needed.load(Relaxed),
            )
            && seq::done(
                self.grace.seq.load(Relaxed),
                self.grace.needed_lazy.load(Relaxed),
            )
            && lock(&self.helpers.work).batches.is_empty();
        if !idle {
            self.helpers.gp_sleep.stay_awake();
        }
        idle
    }

    /// Moves batches whose grace period has ended to the reclaim thread.
    fn hand_on_done(&self, pending: &mut Pending) {
        let mut moved = false;
        while let Some((c, _)) = pending.batches.front() {
            if !self.poll_state(GpCookie { seq: *c }) {
                break;
            }
            let (_, batch) = pending.batches.pop_front().expect("front exists");
            lock(&self.helpers.ready).push_back(batch);
            moved = true;
        }
        // After the pushes under `ready`'s lock: the producer's half of the
        // reclaim thread's sleep handshake (sleep.rs, reclaim_helper).
        if moved {
            self.helpers.reclaim_sleep.wake();
        }
    }

    /// The reclaim thread's loop: invokes callbacks whose grace period ended.
    fn reclaim_helper(&'static self) -> ! {
        loop {
            let invoking = lock(&self.helpers.invoking);
            let batch = lock(&self.helpers.ready).pop_front();
            match batch {
                Some(batch) => {
                    invoke::<F>(&batch, &self.callbacks.invoked);
                    drop(invoking);
                }
                None => {
                    drop(invoking);
                    self.helpers.reclaim_sleep.announce();
                    if lock(&self.helpers.ready).is_empty() {
                        self.helpers.reclaim_sleep.sleep();
                    }
                    self.helpers.reclaim_sleep.stay_awake();
                }
            }
        }
    }
}
