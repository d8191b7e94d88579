//! A domain across `fork()`: the prepare handler takes every lock of the
//! domain (in the lock order of the module above), so that the child
//! inherits consistent state, and the child forgets the parent's other
//! threads and helpers before releasing them.

use super::{lock, Domain, FlavorImpl, GpScratch, Pending};
use crate::queue::Batch;
use crate::reader::{self, ReaderRecord};
use crate::registry::Registry;
use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::MutexGuard;

impl<F: FlavorImpl> Domain<F> {
    /// Takes every lock, so that the child inherits consistent state.
    pub(crate) fn lock_for_fork(&'static self) -> ForkGuards<F> {
        let start = lock(&self.helpers.start_lock);
        let work = lock(&self.helpers.work);
        let invoking = lock(&self.helpers.invoking);
        let ready = lock(&self.helpers.ready);
        let gp = lock(&self.grace.gp_lock);
        let registry = lock(&self.grace.registry);
        ForkGuards {
            domain: self,
            _start: start,
            work,
            _invoking: invoking,
            ready,
            gp,
            registry,
        }
    }
}

/// The locks of one domain, held across `fork()`.
pub(crate) struct ForkGuards<F: FlavorImpl> {
    domain: &'static Domain<F>,
    // Dropped in reverse order of locking (fields drop in declaration order,
    // and none of these nest inside another's release).
    registry: MutexGuard<'static, Registry>,
    gp: MutexGuard<'static, GpScratch>,
    ready: MutexGuard<'static, VecDeque<Batch>>,
    _invoking: MutexGuard<'static, ()>,
    work: MutexGuard<'static, Pending>,
    _start: MutexGuard<'static, ()>,
}

impl<F: FlavorImpl> ForkGuards<F> {
    /// In the child: forget the parent's other threads and helpers.
    pub(crate) fn reset_in_child(&mut self, keep: *const ReaderRecord) {
        let d = self.domain;
        d.grace.passes.reset_in_child();
        self.registry.prune_after_fork(keep, &d.grace.passes);
        d.grace.registry_generation.changed();
        // Relaxed: no other thread exists in the child; the next start
        // takes start_lock.
        d.helpers.started.store(false, Relaxed);
        d.helpers.gp_sleep.reset();
        d.helpers.reclaim_sleep.reset();
        // What a grace period took and served stays in `taken` (and
        // `handed` stays set) for the child's helper to pass on.
        d.helpers.hurry.reset();
        reader::writer_wakes(d.gp);
        // SAFETY: no other thread exists in the child, and we hold the
        // locks of the batches (the same for the two loops below).
        unsafe { d.callbacks.queue.repair_after_fork() };
        for (_, batch) in self.work.batches.iter_mut() {
            // SAFETY: as above: the child's only thread, holding `work`.
            unsafe { batch.repair_after_fork() };
        }
        for (_, batch) in self.gp.taken.iter_mut() {
            // SAFETY: as above: the child's only thread, holding `gp_lock`.
            unsafe { batch.repair_after_fork() };
        }
        for batch in self.ready.iter_mut() {
            // SAFETY: as above: the child's only thread, holding `ready`.
            unsafe { batch.repair_after_fork() };
        }
    }
}
