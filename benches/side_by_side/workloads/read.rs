//! read: the cost of one read section, with one and two readers and no
//! writer.

use crate::child::{out, read_loop, with_crossbeam_readers, with_krcu_readers, Readers, READ_TIME};
use crate::model::{Impl, Workload};
use krcu::rcu::{Memb, Qsbr};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;

pub fn run(imp: Impl, threads: usize) {
    let ns = match imp {
        Impl::KrcuMemb => krcu::<Memb>(threads),
        Impl::KrcuQsbr => krcu::<Qsbr>(threads),
        Impl::CrossbeamEpoch => with_crossbeam_readers(threads, |_| std::thread::sleep(READ_TIME)),
        Impl::Plain => plain(threads),
        _ => crate::child::not_here(imp, Workload::Read),
    };
    out("ns_per_read", ns, "ns");
}

fn krcu<F: crate::child::ReaderSteps>(threads: usize) -> f64 {
    let ns = with_krcu_readers::<F>(threads, |_| std::thread::sleep(READ_TIME));
    F::barrier();
    ns
}

/// A plain atomic load of a pointer and a read through it: no RCU.
fn plain(threads: usize) -> f64 {
    let v = Box::into_raw(Box::new([1u64; 6]));
    let shared = Arc::new(AtomicPtr::new(v));
    let s = shared.clone();
    let readers = Readers::start(threads, move |stop, running| {
        read_loop(
            stop,
            running,
            // SAFETY: the pointee lives until the end of the process.
            || unsafe { (*s.load(Ordering::Acquire))[0] },
            || {},
        )
    });
    std::thread::sleep(READ_TIME);
    readers.finish()
}
