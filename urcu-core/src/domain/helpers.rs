//! The domain's two helper threads: "gp" runs grace periods for callbacks
//! and polled cookies, "cb" invokes callbacks, so a slow callback never
//! delays the next grace period. Both start on first need and sleep when
//! there is no work (the handshakes of `crate::sleep`).

use super::callbacks::invoke;
use super::{lock, Domain, FlavorImpl, Pending};
use crate::seq::{self, GpCookie};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};

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
        crate::helper::spawn_helper(&format!("krcu-{name}-cb"), move || {
            crate::helper::mark_helper_thread();
            self.reclaim_helper()
        });
        self.helpers.started.store(true, Release);
    }

    /// The grace-period helper's loop.
    fn gp_helper(&'static self) -> ! {
        loop {
            {
                let mut pending = lock(&self.helpers.work);
                if let Some(batch) = self.callbacks.queue.splice() {
                    // The cookie is taken after the splice, so after every
                    // spliced callback was queued.
                    let cookie = self.get_state().seq;
                    match pending.batches.back_mut() {
                        // SAFETY: both batches are ours and disjoint.
                        Some((c, last)) if *c == cookie => unsafe { last.append(batch) },
                        _ => pending.batches.push_back((cookie, batch)),
                    }
                }
                self.hand_on_done(&mut pending);
                // Relaxed sequence loads: only deciding whether to run a
                // grace period (re-checked under gp_lock); `needed` is SeqCst
                // as in `helper_should_sleep`.
                let wanted = pending
                    .batches
                    .front()
                    .map(|(c, _)| *c)
                    .into_iter()
                    .chain(Some(self.grace.needed.load(SeqCst)))
                    .find(|&c| !seq::done(self.grace.seq.load(Relaxed), c));
                if let Some(c) = wanted {
                    let mut scratch = lock(&self.grace.gp_lock);
                    if !seq::done(self.grace.seq.load(Relaxed), c) {
                        self.run_gp(&mut scratch);
                    }
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

    /// Whether there is no work; leaves the sleep flag announced when so.
    fn helper_should_sleep(&self) -> bool {
        // The helper's half of the sleep handshake with `enqueue` and
        // `request` (sleep.rs): either they see the announcement and wake
        // us, or this look sees their work. Relaxed loads: ordered by the
        // announcement's fence.
        self.helpers.gp_sleep.announce();
        let idle = self.callbacks.queue.is_empty()
            && seq::done(
                self.grace.seq.load(Relaxed),
                self.grace.needed.load(Relaxed),
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
