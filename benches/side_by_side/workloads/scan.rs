//! scan: the latency of `synchronize` with 1, 100 and 1000 registered
//! threads that are idle (memb: outside any read section; qsbr: offline),
//! so that what it measures is the writer's pass over the registry.

use crate::child::{sync_latencies, ReaderSteps};
use crate::model::{Impl, Workload};
use krcu::rcu::{qsbr, Memb, Qsbr};
use std::sync::{Arc, Barrier};

pub fn run(imp: Impl, threads: usize) {
    match imp {
        Impl::KrcuMemb => idle_threads::<Memb>(threads),
        Impl::KrcuQsbr => idle_threads::<Qsbr>(threads),
        _ => crate::child::not_here(imp, Workload::Scan),
    }
}

/// Starts `n` threads that register with `F` and go idle (a qsbr thread
/// offline), measures `F::synchronize` while they wait, then lets them
/// exit.
fn idle_threads<F: ReaderSteps>(n: usize) {
    let ready = Arc::new(Barrier::new(n + 1));
    let done = Arc::new(Barrier::new(n + 1));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (ready, done) = (ready.clone(), done.clone());
            std::thread::Builder::new()
                .stack_size(128 << 10)
                .spawn(move || {
                    let _r = F::register_thread();
                    drop(F::read_lock());
                    F::done();
                    ready.wait();
                    done.wait();
                })
                .expect("spawn an idle thread")
        })
        .collect();
    ready.wait();
    // The measuring thread is no reader: qsbr's synchronize takes it
    // offline anyway; memb's never registers it.
    qsbr::thread_offline();
    sync_latencies(F::synchronize);
    done.wait();
    for h in handles {
        h.join().unwrap();
    }
}
