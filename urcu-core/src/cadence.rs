//! The cadence of grace periods for callbacks, kernel-style: a grace period
//! serves every callback queued before it started, so the helper lets
//! callbacks gather before it starts one instead of running one per wake.
//!
//! * **Who takes callbacks.** Every grace period, whoever runs it (the
//!   helper, a `synchronize()` caller, the slab's helper), splices the
//!   callback queue before it starts (`Domain::run_gp`): what was queued
//!   before the start is served by it. A grace period the helper did not run
//!   hands what it took to the helper (`handed`), which passes it on to the
//!   callback thread.
//! * **The gather.** Callbacks wait in the queue until [`gather_time`] has
//!   passed since the helper last started a grace period; the first callback
//!   after an idle spell starts one at once. While the helper gathers, the
//!   queue is not empty, so producers do not wake it: only the producer that
//!   makes the queue non-empty pays for a wake, as before, and at most one
//!   grace period per gather time runs for callbacks, however fast they come.
//! * **Hurry.** Some callers must not wait for a gather: `call_rcu_hurry`,
//!   `barrier` (its marker), and the producer whose callback crosses a
//!   multiple of [`HURRY_EVERY`] (a backlog that large is worth a grace
//!   period now). They set `hurry` after their enqueue and wake the helper,
//!   which ends its gather; `start_poll` and `synchronize` never gather
//!   (the first asks through `needed`, the second runs its own grace
//!   period).
//!
//! The handshake: a hurrying producer enqueues, stores `hurry` (Release),
//! then wakes (the sleep flag's SeqCst fence); the helper's gather says it
//! sleeps (the flag's fence), then looks at `hurry`. Either the producer
//! sees the helper asleep and wakes it, or the helper's look sees `hurry`.
//! The helper clears `hurry` with an Acquire swap before the grace period's
//! splice: a hurry it consumed belongs to a callback that splice takes. The
//! loom model below checks both halves.

use crate::primitive::AtomicBool;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::Duration;

/// The default gather: one millisecond, the kernel's jiffy at HZ=1000, and
/// the slab helper's batching window. At 20M callbacks a second that is
/// 20K callbacks per grace period, about 1.3 MiB of 64-byte objects.
const DEFAULT_GATHER_US: u64 = 1000;

/// The callback count at whose multiples a producer hurries the helper:
/// 16K callbacks, about 1 MiB of 64-byte objects, waiting for a grace
/// period is a batch large enough to start one for.
pub(crate) const HURRY_EVERY: u64 = 1 << 14;

/// The gather in microseconds, shared by both flavors and the slab's
/// helper; `u64::MAX` = not yet read.
static GATHER_US: AtomicU64 = AtomicU64::new(u64::MAX);

/// How long callbacks and hand-offs gather before a grace period starts for
/// them: `KRCU_GATHER_US` (microseconds), default 1 ms, or what
/// [`set_gather_time`] set. Zero: a grace period per wake.
pub fn gather_time() -> Duration {
    // Relaxed: a configuration value, the same whichever thread reads it
    // first.
    let us = GATHER_US.load(Relaxed);
    if us != u64::MAX {
        return Duration::from_micros(us);
    }
    let us = std::env::var("KRCU_GATHER_US")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&v| v < u64::MAX)
        .unwrap_or(DEFAULT_GATHER_US);
    GATHER_US.store(us, Relaxed);
    Duration::from_micros(us)
}

/// Sets how long callbacks gather before the helpers start a grace period
/// for them (see [`gather_time`]). A longer gather means fewer grace
/// periods for a flood of `call_rcu`, and later callbacks; `barrier`,
/// `call_rcu_hurry`, `start_poll` and `synchronize` never wait for it.
pub fn set_gather_time(gather: Duration) {
    let us = (gather.as_micros() as u64).min(u64::MAX - 1);
    // Relaxed: a configuration value (see gather_time).
    GATHER_US.store(us, Relaxed);
}

/// The producer half: set after the callback's enqueue, before the wake.
pub(crate) struct Hurry {
    flag: AtomicBool,
}

impl Hurry {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Hurry {
            flag: AtomicBool::new(false),
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Hurry {
            flag: AtomicBool::new(false),
        }
    }

    /// A producer, after its enqueue and before its wake: a grace period
    /// should start for what is queued without waiting for the gather.
    #[inline]
    pub(crate) fn set(&self) {
        // Release: pairs with the helper's Acquire `take`, so the splice
        // that follows it sees this producer's enqueue.
        self.flag.store(true, Release);
    }

    /// The helper's look during a gather, after its sleep announcement.
    #[inline]
    pub(crate) fn is_set(&self) -> bool {
        // Relaxed: ordered after the announcement by its SeqCst fence (the
        // store-buffering handshake in sleep.rs); what the hurry is for is
        // ordered by `take` before the splice.
        self.flag.load(Relaxed)
    }

    /// The helper, before the grace period whose splice serves the hurry.
    #[inline]
    pub(crate) fn take(&self) -> bool {
        // Acquire: pairs with `set`'s Release; the enqueue before it is seen
        // by the splice after this.
        self.flag.swap(false, Acquire)
    }

    /// In a fork child: nothing hurries.
    #[cfg(not(loom))]
    pub(crate) fn reset(&self) {
        // Relaxed: a fork child has one thread.
        self.flag.store(false, Relaxed);
    }
}

/// A grace period run off the helper took callbacks: the helper passes them
/// on. Set under `gp_lock` (which protects what was taken) before the
/// runner's wake; the helper's sleep announcement orders its look.
pub(crate) struct Handed {
    flag: AtomicBool,
}

impl Handed {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Handed {
            flag: AtomicBool::new(false),
        }
    }

    /// The runner, under `gp_lock`, before it wakes the helper.
    pub(crate) fn set(&self) {
        // Relaxed: the batches are under gp_lock; the wake's SeqCst fence
        // orders this store before its load of the sleep flag (sleep.rs).
        self.flag.store(true, Relaxed);
    }

    /// Whether there is something to pass on.
    pub(crate) fn is_set(&self) -> bool {
        // Relaxed: a hint; the batches are read under gp_lock, and the
        // sleep announcement's fence orders the helper's last look.
        self.flag.load(Relaxed)
    }

    /// The helper, under `gp_lock`, as it takes the batches; and in a fork
    /// child, where the batches are the child's helper's to find.
    pub(crate) fn clear(&self) {
        // Relaxed: under gp_lock, as `set`.
        self.flag.store(false, Relaxed);
    }
}

#[cfg(all(test, loom))]
mod loom_model {
    use super::*;
    use crate::queue::loom_model::Nodes;
    use crate::queue::CallbackQueue;
    use crate::sleep::SleepFlag;
    use loom::sync::Arc;
    use loom::thread;

    /// A hurrying producer (enqueue, hurry, wake) against the helper's
    /// gather (announce, look at the hurry, sleep or not; then take the
    /// hurry and splice): the helper either sees the hurry in its look or
    /// sleeps with its flag cleared by the wake (no gather-long wait), and
    /// a hurry it takes is for a callback its splice finds. Weakening `set`
    /// or `take` to Relaxed loses the second (the splice may read a stale
    /// empty tail); dropping a fence of the sleep flag loses the first.
    #[test]
    fn loom_hurry_against_gather() {
        loom::model(|| {
            let q = Arc::new(CallbackQueue::new());
            let flag = Arc::new(SleepFlag::new());
            let hurry = Arc::new(Hurry::new());
            let nodes = Nodes::new(1);
            let producer = {
                let (q, flag) = (q.clone(), flag.clone());
                let (hurry, nodes) = (hurry.clone(), nodes.clone());
                thread::spawn(move || {
                    // SAFETY: the node is enqueued once.
                    unsafe { q.enqueue(nodes.0[0]) };
                    hurry.set();
                    flag.wake();
                })
            };
            flag.announce_gather();
            let saw = hurry.is_set();
            if saw {
                flag.stay_awake();
            }
            let took = hurry.take();
            let spliced = q.splice();
            if took {
                assert!(
                    spliced.is_some(),
                    "a hurry taken before the splice that misses its callback"
                );
            }
            producer.join().unwrap();
            if !saw {
                assert!(
                    !flag.says_sleeping(),
                    "the helper gathers on, asleep, with a hurry set and no wake"
                );
            }
            drop(q.splice());
            for &n in &nodes.0 {
                // SAFETY: boxed above; the queue is done with them.
                drop(unsafe { Box::from_raw(n) });
            }
        });
    }
}
