//! Grace periods: registration, the sequence and its cookies, running one
//! grace period and waiting for one, and stall reports. The steps of a
//! grace period and the lock order are in the module above.

use super::{lock, Domain, FlavorImpl, GpScratch, Private};
use crate::entry::Entry;
use crate::primitive::{fence, AtomicU64};
use crate::reader::{self, ReaderRecord, ReaderState};
use crate::seq::{self, GpCookie};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::time::{Duration, Instant};

/// Spins over the reader scan before a writer sleeps on the futex; liburcu's
/// `RCU_QS_ACTIVE_ATTEMPTS`. Readers in short sections are caught here.
const ACTIVE_ATTEMPTS: u32 = 100;

/// How long an expedited grace period rescans without sleeping before it
/// falls back to the futex: readers are caught the moment they leave (or,
/// in qsbr, announce), and a reader that stays longer than this costs the
/// writer no more CPU than a normal grace period would.
const EXPEDITED_SPIN: Duration = Duration::from_micros(500);

/// How a grace period waits for its readers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pace {
    /// [`ACTIVE_ATTEMPTS`] rescans, then sleep until readers wake the writer.
    Normal,
    /// Rescan for [`EXPEDITED_SPIN`] before sleeping.
    Expedited,
}

/// Default stall timeout; `KRCU_STALL_TIMEOUT_MS` overrides it.
const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Stall timeout in milliseconds, shared by both flavors; 0 = not yet read.
static STALL_TIMEOUT_MS: AtomicU64 = AtomicU64::new(0);

impl<F: FlavorImpl> Domain<F> {
    /// One-time start: the flavor's set-up (memb: membarrier registration),
    /// configuration, fork handlers. Runs before any reader of this flavor
    /// registers.
    pub(crate) fn ensure_init(&'static self) {
        // Before the first lock of this domain is taken, and outside the
        // once (see fork.rs).
        F::install_fork_handlers(Private(()));
        // The closure may run again in a fork child that caught it
        // running: the flavor's set-up and the switches are the same the
        // second time.
        self.init.call_once(|| {
            F::init(self.gp, Private(()));
            stall_timeout();
            crate::testing::init_hook();
        });
    }

    /// Adds the calling thread; the flavor makes the record live.
    ///
    /// # Safety
    ///
    /// `foreign`, when given, is a word in this thread's own memory,
    /// accessed only atomically, valid until this thread unregisters.
    pub(crate) unsafe fn register_current(
        &'static self,
        foreign: Option<*const ReaderRecord>,
    ) -> &'static ReaderRecord {
        self.ensure_init();
        let rec = {
            let mut registry = lock(&self.grace.registry);
            // Threads that ended after leaving an exited record behind.
            registry.reap_exited(&self.grace.passes, None);
            // SAFETY: forwarded contract.
            unsafe { registry.add_current(foreign) }
        };
        // The registrant's half of the handshake with `run_gp` (reader.rs,
        // RegistryGeneration).
        self.grace.registry_generation.registered();
        rec
    }

    /// The calling thread's exit hook found it inside a read section on
    /// its own record `rec`: a guard may still be alive in a thread-local
    /// that is destroyed after the hook, and reads until it drops. The
    /// record stays registered (grace periods keep waiting for the
    /// section) and is never given to another thread; writers reap it once
    /// the thread has ended (`Registry::reap_exited`). False for a foreign
    /// word, which dies with the thread: the caller unregisters it.
    pub(crate) fn exit_in_section(&self, rec: *const ReaderRecord) -> bool {
        lock(&self.grace.registry).mark_exited(rec)
    }

    /// As [`exit_in_section`](Self::exit_in_section), for a thread whose
    /// word is one krcu keeps in the thread's own memory (memb's Rust read
    /// side): the word dies with the thread, so its entry takes the section
    /// over first (`Entry::take_over`) and is waited for until the thread
    /// has ended. The caller then marks the word unregistered.
    pub(crate) fn exit_in_section_on_own_word(&self, rec: *const ReaderRecord) -> bool {
        let mut registry = lock(&self.grace.registry);
        registry.take_over_exited(rec, &self.grace.passes)
    }

    /// Removes a record its owner has made quiescent. When it returns, no
    /// writer reads the record's word any more (see entry.rs).
    pub(crate) fn unregister(&self, rec: *const ReaderRecord) {
        let mut registry = lock(&self.grace.registry);
        registry.remove(rec, &self.grace.passes);
        // Threads that ended after leaving an exited record behind.
        registry.reap_exited(&self.grace.passes, None);
        drop(registry);
        self.grace.registry_generation.changed();
        // A writer may be asleep waiting on this record.
        // SeqCst fence: orders the record's removal before the load of the
        // writer's sleep flag (reader.rs: the pair of the writer's fence after
        // it sets the flag).
        fence(SeqCst);
        reader::wake_writer(self.gp);
    }

    // ---- grace periods ------------------------------------------------

    /// The cookie for a full grace period from now.
    pub(crate) fn get_state(&self) -> GpCookie {
        // Orders the caller's updates (unpublishing) before reading the
        // sequence; pairs with the master fence after a grace period's start:
        // either this load sees that start (and the cookie asks for the next
        // grace period), or that grace period's readers see the updates.
        fence(SeqCst);
        GpCookie {
            seq: seq::snap(self.grace.seq.load(Relaxed)),
        }
    }

    /// Whether the grace period named by `cookie` has completed.
    pub(crate) fn poll_state(&self, cookie: GpCookie) -> bool {
        // Acquire pairs with the Release end of the grace period: what the
        // caller does next (freeing) follows the readers' critical sections.
        seq::done(self.grace.seq.load(Acquire), cookie.seq)
    }

    /// Runs grace periods, or waits for those others run, until `cookie`.
    /// Callbacks its grace periods take are passed on to the helper.
    pub(crate) fn wait_for(&self, cookie: GpCookie, pace: Pace) {
        while !self.poll_state(cookie) {
            let mut scratch = lock(&self.grace.gp_lock);
            // Whoever held the lock may have run the grace period we need.
            if !self.poll_state(cookie) && self.run_gp(&mut scratch, pace) {
                self.helpers.handed.set();
                drop(scratch);
                // After `handed` (the wake's fence orders it): the helper
                // passes the batch on to the callback thread.
                self.wake_gp_helper();
            }
        }
    }

    /// What `cond_synchronize(cookie)` waits for: the cookie, or, when the
    /// cookie lies beyond the one a grace period starting now would satisfy
    /// (no grace period of this flavor produced it: built from its field,
    /// taken from the other flavor, uninitialised C memory), that fresh
    /// cookie. Either way the wait ends after at most one full grace period
    /// that starts after the call, as the kernel's `cond_synchronize_rcu`
    /// promises; a valid cookie is never later than a fresh one.
    pub(crate) fn bounded(&self, cookie: GpCookie) -> GpCookie {
        let fresh = self.get_state();
        if seq::done(fresh.seq, cookie.seq) {
            cookie
        } else {
            fresh
        }
    }

    /// Asks the helper for a grace period satisfying `cookie` when it next
    /// runs one for callbacks (after their gather): no grace period of its
    /// own, no wake of a gathering helper.
    pub(crate) fn request_lazy(&'static self, cookie: GpCookie) {
        // SeqCst: the requester's half of the handshake with the helper's
        // sleep, as in `request`.
        let prev = self.grace.needed_lazy.fetch_max(cookie.seq, SeqCst);
        // Even when the cookie was asked for already: in a fork child the
        // asking was the parent's, whose helper does not exist here.
        self.ensure_started();
        if prev >= cookie.seq {
            // Asked already (a later or equal cookie): the helper that
            // took that request serves this one.
            return;
        }
        self.helpers.gp_sleep.wake_if_idle();
    }

    /// Asks the helper for a grace period satisfying `cookie`, run at
    /// `pace`.
    pub(crate) fn request(&'static self, cookie: GpCookie, pace: Pace) {
        if pace == Pace::Expedited {
            // Relaxed: a hint the helper reads before its next grace
            // period; one it misses runs at the normal pace.
            self.helpers.expedite.store(true, Relaxed);
        }
        // Relaxed: the CAS below re-reads it; its SeqCst success is the
        // ordering that counts.
        let mut cur = self.grace.needed.load(Relaxed);
        while !seq::done(cur, cookie.seq) {
            // SeqCst: the requester's half of the Dekker handshake with the
            // helper's sleep (see `helper_should_sleep`).
            match self
                .grace
                .needed
                .compare_exchange_weak(cur, cookie.seq, SeqCst, Relaxed)
            {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        self.ensure_started();
        self.wake_gp_helper();
    }

    /// One grace period; it serves every callback queued before it
    /// started, which it leaves in `scratch.taken`. The caller holds
    /// `gp_lock`. Returns whether it took callbacks.
    pub(super) fn run_gp(&self, scratch: &mut GpScratch, pace: Pace) -> bool {
        // Relaxed: the sequence is written only under gp_lock; the start is
        // ordered before the scan by the master fence (see `get_state`).
        let s = self.grace.seq.load(Relaxed);
        // Splices are serialized by gp_lock (the queue's one consumer).
        // Every callback spliced here was queued before the counter advance
        // below, so every reader that may hold its object is old to this
        // grace period.
        // Relaxed: an estimate for the throttle (`Domain::throttle`).
        self.callbacks
            .spliced
            .store(self.callbacks.queued.load(Relaxed), Relaxed);
        let taken = self.callbacks.queue.splice();
        self.grace.seq.store(seq::start(s), Relaxed);
        F::master_fence();
        // gp.ctr is written only here, under gp_lock; readers that load the
        // new value are ordered by the fence above (see `reader`). The
        // advance is the writer's half of the handshake in
        // `register_current` (reader.rs, RegistryGeneration).
        let gp = reader::next_counter(self.gp);
        let generation = self.grace.registry_generation.advance(self.gp, gp);
        if generation != scratch.generation {
            let registry = lock(&self.grace.registry);
            scratch.registered.clear();
            scratch
                .registered
                .extend(registry.slots.iter().map(|s| s.entry));
            // Read under the lock: every change counted so far is in the copy.
            scratch.generation = self.grace.registry_generation.current();
        }
        scratch.readers.clear();
        scratch.readers.extend_from_slice(&scratch.registered);
        self.wait_for_readers(&mut scratch.readers, gp, pace);
        F::fence_after_scan();
        let end = seq::end(seq::start(s));
        self.grace.seq.store(end, Release);
        match taken {
            Some(batch) => {
                match scratch.taken.last_mut() {
                    // SAFETY: both batches are ours (gp_lock) and disjoint;
                    // both are served.
                    Some((_, last)) => unsafe { last.append(batch) },
                    None => scratch.taken.push((end, batch)),
                }
                true
            }
            None => false,
        }
    }

    /// Whether any of `readers` is still *old*: one pass over their words,
    /// dropping the others.
    fn retain_old(&self, readers: &mut Vec<&'static Entry>, gp: u64) -> bool {
        self.grace.passes.scan(|| {
            // Relaxed (in load_ctr): the master fences around the scan
            // order it.
            // SAFETY: inside a pass.
            readers.retain(|e| F::reader_state(unsafe { e.load_ctr() }, gp) == ReaderState::Old);
        });
        !readers.is_empty()
    }

    fn wait_for_readers(&self, readers: &mut Vec<&'static Entry>, gp: u64, pace: Pace) {
        let started = Instant::now();
        let timeout = stall_timeout();
        let mut next_report = started + timeout;
        let mut backoff = timeout;
        let mut reported = false;
        let mut attempts = 0;
        loop {
            if !self.retain_old(readers, gp) {
                return;
            }
            let spin = match pace {
                Pace::Normal => attempts < ACTIVE_ATTEMPTS,
                // The clock is read once every 64 rescans.
                Pace::Expedited => attempts % 64 != 63 || started.elapsed() < EXPEDITED_SPIN,
            };
            if spin {
                // Spin, never yield: a yield hands the CPU to a runnable
                // reader and leaves this writer waiting a whole time slice
                // for it back (4 ms per grace period when readers outnumber
                // CPUs). Sleeping on the futex is the way to give way.
                attempts += 1;
                std::hint::spin_loop();
                continue;
            }
            reader::writer_sleeps(self.gp);
            // Orders the flag before the re-check; pairs with the reader's
            // fence between its ctr store and its flag load.
            F::master_fence();
            if !self.retain_old(readers, gp) {
                reader::writer_wakes(self.gp);
                return;
            }
            // A reader that exited inside its section: done once its thread
            // has ended (its last thread-local dropped its guard, or it
            // never will). Look every millisecond, not at the stall pace.
            let mut wake_at = next_report;
            {
                let mut registry = lock(&self.grace.registry);
                if registry.reap_exited(&self.grace.passes, Some(readers)) > 0 {
                    self.grace.registry_generation.changed();
                    reader::writer_wakes(self.gp);
                    continue;
                }
                if registry.any_exited(readers) {
                    wake_at = wake_at.min(Instant::now() + Duration::from_millis(1));
                }
            }
            let now = Instant::now();
            if now >= next_report {
                if !reported {
                    // Relaxed: a statistic.
                    self.grace.stalls.fetch_add(1, Relaxed);
                    reported = true;
                }
                self.report_stall(readers, now - started);
                backoff = backoff.saturating_mul(2);
                next_report = now + backoff;
            }
            // Relaxed: a statistic.
            self.grace.sleeps.fetch_add(1, Relaxed);
            reader::writer_wait(self.gp, wake_at.saturating_duration_since(now));
            // Woken by a reader (which cleared the flag), or by the stall
            // timeout or a spurious wake (which did not): clear it, so
            // that a grace period that ends at the next check leaves no
            // flag behind, sending every later unlock to the futex wake.
            // The next sleep sets it again first.
            reader::writer_wakes(self.gp);
        }
    }

    #[cold]
    fn report_stall(&self, readers: &[&'static Entry], waited: Duration) {
        // Described under the registry lock, reported after it: a log
        // handler may call krcu.
        let described: Vec<(i32, String)> = {
            let registry = lock(&self.grace.registry);
            readers
                .iter()
                .map(|r| registry.describe(r).unwrap_or((0, "<exited>".to_owned())))
                .collect()
        };
        for (tid, name) in described {
            crate::report::emit(
                crate::report::Level::Warn,
                crate::report::Target::Core,
                &format!(
                    "krcu: grace period stalled for {} ms: thread {tid} ({name}) has not left its {} \
                     read-side critical section{}",
                    waited.as_millis(),
                    self.name,
                    F::STALL_HINT
                ),
            );
        }
    }
}

/// The stall timeout: `KRCU_STALL_TIMEOUT_MS`, default 10 s.
pub(crate) fn stall_timeout() -> Duration {
    // Relaxed: a configuration value, the same whichever thread reads it
    // first.
    let ms = STALL_TIMEOUT_MS.load(Relaxed);
    if ms != 0 {
        return Duration::from_millis(ms);
    }
    let ms = std::env::var("KRCU_STALL_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&v| v > 0)
        .unwrap_or(DEFAULT_STALL_TIMEOUT.as_millis() as u64);
    STALL_TIMEOUT_MS.store(ms, Relaxed);
    Duration::from_millis(ms)
}

/// Sets the stall timeout for both flavors.
pub fn set_stall_timeout(timeout: Duration) {
    // Relaxed: a configuration value (see stall_timeout).
    STALL_TIMEOUT_MS.store((timeout.as_millis() as u64).max(1), Relaxed);
}
