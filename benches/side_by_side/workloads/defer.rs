//! defer: `call_rcu` of a 64-byte object (freed by the callback) as fast
//! as it goes, then the barrier, with readers running.

use crate::child::{
    free_obj, new_obj, out, out_deferral, with_crossbeam_readers, with_krcu_readers, ReaderSteps,
};
use crate::model::{Impl, Workload};
use krcu::rcu::{Memb, Qsbr, RcuHead};
use std::time::Instant;

pub fn run(imp: Impl, threads: usize, count: u64) {
    match imp {
        Impl::KrcuMemb => krcu::<Memb>(threads, count),
        Impl::KrcuQsbr => krcu::<Qsbr>(threads, count),
        Impl::CrossbeamEpoch => crossbeam(threads, count),
        _ => crate::child::not_here(imp, Workload::Defer),
    }
}

fn krcu<F: ReaderSteps>(threads: usize, count: u64) {
    with_krcu_readers::<F>(threads, |_| {
        let t0 = Instant::now();
        for i in 0..count {
            let o = Box::into_raw(new_obj(i));
            // SAFETY: o is leaked until free_obj reclaims it.
            unsafe { F::call_rcu(o as *mut RcuHead, free_obj) };
        }
        let t1 = Instant::now();
        F::barrier();
        out_deferral(count, t0, t1);
    });
    F::barrier();
}

/// crossbeam-epoch's defer_destroy of a 64-byte object (also the kfree
/// workload's crossbeam column).
pub fn crossbeam(threads: usize, count: u64) {
    use crossbeam_epoch::{self as epoch, Owned};
    with_crossbeam_readers(threads, |_| {
        let t0 = Instant::now();
        for i in 0..count {
            let g = epoch::pin();
            let o = Owned::new([i; 8]).into_shared(&g);
            // SAFETY: `o` was never shared.
            unsafe { g.defer_destroy(o) };
        }
        out(
            "calls_per_sec",
            count as f64 / t0.elapsed().as_secs_f64(),
            "1/s",
        );
    });
}
