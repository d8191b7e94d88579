//! sync: the latency of `synchronize` with readers running.

use crate::child::{sync_latencies, with_krcu_readers, ReaderSteps};
use crate::model::{Impl, Workload};
use krcu::rcu::{Memb, Qsbr};

pub fn run(imp: Impl, threads: usize) {
    match imp {
        Impl::KrcuMemb => krcu::<Memb>(threads),
        Impl::KrcuQsbr => krcu::<Qsbr>(threads),
        _ => crate::child::not_here(imp, Workload::Sync),
    }
}

fn krcu<F: ReaderSteps>(threads: usize) {
    with_krcu_readers::<F>(threads, |_| sync_latencies(F::synchronize));
    F::barrier();
}
