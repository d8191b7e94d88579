//! update: replacing a shared value as fast as it goes (the old one freed
//! after a grace period), with readers running.

use crate::child::{timed_updates, with_crossbeam_readers, with_krcu_readers, ReaderSteps};
use crate::model::{Impl, Workload};
use krcu::rcu::{Memb, Qsbr};
use std::sync::atomic::Ordering;

pub fn run(imp: Impl, threads: usize) {
    match imp {
        Impl::KrcuMemb => krcu::<Memb>(threads),
        Impl::KrcuQsbr => krcu::<Qsbr>(threads),
        Impl::CrossbeamEpoch => crossbeam(threads),
        _ => crate::child::not_here(imp, Workload::Update),
    }
}

fn krcu<F: ReaderSteps>(threads: usize) {
    // RcuCell allocates one 64-byte node (head + 48-byte value) per update
    // and frees the old one after a grace period: the same work as
    // liburcu's xchg + call_rcu.
    with_krcu_readers::<F>(threads, |cell| timed_updates(|i| cell.store([i; 6])));
    F::barrier();
}

fn crossbeam(threads: usize) {
    use crossbeam_epoch::{self as epoch, Owned};
    with_crossbeam_readers(threads, |shared| {
        timed_updates(|i| {
            let g = epoch::pin();
            let old = shared.swap(Owned::new([i; 6]), Ordering::AcqRel, &g);
            // SAFETY: `old` is unlinked; readers that saw it are pinned.
            unsafe { g.defer_destroy(old) };
        })
    });
}
