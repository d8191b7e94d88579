//! A helper thread's sleep flag: the handshake between a helper that goes
//! to sleep and the producers that hand it work.
//!
//! The helper says it sleeps ([`announce`]), looks for work once more, and
//! then either stays awake ([`stay_awake`]) or sleeps on the flag
//! ([`sleep`], a futex wait on `SLEEPING`). A producer publishes its work
//! (a queue exchange, a compare-exchange, a push under a mutex), then
//! [`wake`]s: if the flag says the helper sleeps, it clears the flag and
//! wakes the futex. Each side puts a SeqCst fence between its store and
//! its load (a store-buffering handshake): either the producer sees
//! `SLEEPING` and wakes the helper, or the helper's last look sees the
//! work. The fences (not SeqCst loads and stores) are what loom models
//! faithfully, so the model below checks this very code.
//!
//! A producer whose work cannot have made the helper's last look come out
//! empty need not wake it: a callback enqueued behind others (the queue
//! was not empty) is seen by any look, so only the producer that makes the
//! queue non-empty pays the fence.
//!
//! [`announce`]: SleepFlag::announce
//! [`stay_awake`]: SleepFlag::stay_awake
//! [`sleep`]: SleepFlag::sleep
//! [`wake`]: SleepFlag::wake

use crate::primitive::{fence, AtomicU32};
use std::sync::atomic::Ordering::{Relaxed, SeqCst};

const AWAKE: u32 = 0;
const SLEEPING: u32 = 1;
/// Asleep until a deadline (the gp helper's gather, `crate::cadence`): it
/// will look for work then, so only urgent work ([`SleepFlag::wake`]) wakes
/// it early; [`SleepFlag::wake_if_idle`] leaves it be.
const GATHERING: u32 = 2;

/// A helper's sleep flag (its futex word).
pub(crate) struct SleepFlag {
    word: AtomicU32,
}

impl SleepFlag {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        SleepFlag {
            word: AtomicU32::new(AWAKE),
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        SleepFlag {
            word: AtomicU32::new(AWAKE),
        }
    }

    /// The helper, before its last look for work: says it sleeps.
    #[inline]
    pub(crate) fn announce(&self) {
        // Relaxed: ordered before the look by the fence.
        self.word.store(SLEEPING, Relaxed);
        // SeqCst fence: pairs with the one in `wake`.
        fence(SeqCst);
    }

    /// The gp helper, before its last look for urgent work ahead of a
    /// gather: says it sleeps until a deadline.
    #[inline]
    pub(crate) fn announce_gather(&self) {
        // Relaxed: ordered before the look by the fence.
        self.word.store(GATHERING, Relaxed);
        // SeqCst fence: pairs with the one in `wake`.
        fence(SeqCst);
    }

    /// The helper found work (or woke): it is awake.
    #[inline]
    pub(crate) fn stay_awake(&self) {
        // Relaxed: a producer that reads a stale SLEEPING wakes once more
        // than needed.
        self.word.store(AWAKE, Relaxed);
    }

    /// The helper, after a look that found nothing: sleeps until a
    /// producer wakes it (or spuriously: the caller looks again).
    #[cfg(not(loom))]
    pub(crate) fn sleep(&self) {
        crate::sys::futex::wait(&self.word, SLEEPING, None);
    }

    /// A producer, after it published work: wakes the helper if it said it
    /// sleeps, gathering or not. Returns whether it did.
    #[inline]
    pub(crate) fn wake(&self) -> bool {
        // SeqCst fence: orders the publication before the load; pairs with
        // the one in `announce` and `announce_gather`.
        fence(SeqCst);
        // Relaxed: ordered by the fences.
        if self.word.load(Relaxed) == AWAKE {
            return false;
        }
        self.wake_now()
    }

    /// A producer of work that can wait for the end of a gather (a
    /// callback, a lazy cookie), after it published it: wakes the helper
    /// only if it sleeps with no deadline. A gathering helper looks at the
    /// work when its gather ends.
    #[inline]
    pub(crate) fn wake_if_idle(&self) -> bool {
        // SeqCst fence: as in `wake`.
        fence(SeqCst);
        // Relaxed: ordered by the fences.
        if self.word.load(Relaxed) != SLEEPING {
            return false;
        }
        self.wake_now()
    }

    #[inline]
    fn wake_now(&self) -> bool {
        // Cleared before the wake: a helper not yet in its futex wait then
        // does not wait at all (the word no longer holds what it waits on).
        // Relaxed: the futex compares the value itself; the fences ordered
        // the work before the load that led here.
        self.word.store(AWAKE, Relaxed);
        #[cfg(not(loom))]
        crate::sys::futex::wake(&self.word, 1);
        true
    }

    /// Whether the flag says the helper sleeps, gathering or not (a
    /// model's final check).
    #[cfg(loom)]
    pub(crate) fn says_sleeping(&self) -> bool {
        // Relaxed: the model's threads have joined.
        self.word.load(Relaxed) != AWAKE
    }

    /// The gp helper, after `announce_gather` and a look that found nothing
    /// urgent: sleeps until an urgent producer wakes it or `timeout` passes
    /// (the caller looks again).
    #[cfg(not(loom))]
    pub(crate) fn sleep_gathering(&self, timeout: std::time::Duration) {
        crate::sys::futex::wait(&self.word, GATHERING, Some(timeout));
    }

    /// In a fork child: no helper sleeps.
    #[cfg(not(loom))]
    pub(crate) fn reset(&self) {
        // Relaxed: a fork child has one thread.
        self.word.store(AWAKE, Relaxed);
    }
}

#[cfg(all(test, loom))]
mod loom_model {
    use super::*;
    use crate::queue::loom_model::Nodes;
    use crate::queue::CallbackQueue;
    use loom::sync::Arc;
    use loom::thread;

    /// Two producers call_rcu (enqueue, then wake only if they made the
    /// queue non-empty) while the helper splices what is there and goes to
    /// sleep: the helper either sees a callback in its last look or sleeps
    /// with its flag cleared by a wake (its futex wait returns at once).
    /// Weakening either fence (in `announce` or in `wake`) to AcqRel lets
    /// both sides miss each other: the helper sleeps on a queued callback
    /// with no wake coming.
    #[test]
    fn loom_helper_sleep_against_call_rcu() {
        loom::model(|| {
            let q = Arc::new(CallbackQueue::new());
            let flag = Arc::new(SleepFlag::new());
            let nodes = Nodes::new(2);
            let producers: Vec<_> = (0..2)
                .map(|i| {
                    let (q, flag, nodes) = (q.clone(), flag.clone(), nodes.clone());
                    thread::spawn(move || {
                        // SAFETY: each node is enqueued once.
                        if unsafe { q.enqueue(nodes.0[i]) } {
                            flag.wake_if_idle();
                        }
                    })
                })
                .collect();
            let spliced = q.splice();
            flag.announce();
            let slept = q.is_empty();
            if !slept {
                flag.stay_awake();
            }
            for p in producers {
                p.join().unwrap();
            }
            // Sleeping on an empty queue needs no wake; on a callback
            // queued after the helper's look, it needs one.
            if slept && !q.is_empty() {
                assert_eq!(
                    // Relaxed: the model's threads have joined.
                    flag.word.load(Relaxed),
                    AWAKE,
                    "the helper sleeps with a callback queued and no wake"
                );
            }
            drop(spliced);
            drop(q.splice());
            for &n in &nodes.0 {
                // SAFETY: boxed above; the queue is done with them.
                drop(unsafe { Box::from_raw(n) });
            }
        });
    }
}
