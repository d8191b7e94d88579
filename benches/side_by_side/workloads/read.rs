//! read: the cost of one read section, with one and two readers and no
//! writer.

use crate::child::{out, read_loop, with_crossbeam_readers, with_krcu_readers, Readers, READ_TIME};
use crate::model::{Impl, Workload};
use krcu::rcu::{Memb, Qsbr};
use std::sync::atomic::{AtomicPtr, Ordering};

pub fn run(imp: Impl, threads: usize) {
    let ns = match imp {
        Impl::KrcuMemb => krcu::<Memb>(threads),
        Impl::KrcuQsbr => krcu::<Qsbr>(threads),
        Impl::KrcuQsbrReader => qsbr_reader(threads),
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

/// qsbr through a `qsbr::Reader`: its guards are zero-sized and cost
/// nothing; the quiescent state every `QS_EVERY` reads is the reader's.
/// The loop is `read_loop`'s, with the reader borrowed as it must be.
fn qsbr_reader(threads: usize) -> f64 {
    use crate::child::QS_EVERY;
    use krcu::rcu::{qsbr, RcuCell};
    use std::time::Instant;
    // Leaked, as in `with_krcu_readers`.
    let c: &'static RcuCell<[u64; 6], Qsbr> = Box::leak(Box::new(RcuCell::new([1; 6])));
    let readers = Readers::start(threads, move |stop, running| {
        let mut reader = qsbr::Reader::register();
        running.fetch_add(1, Ordering::Release);
        let start = Instant::now();
        let (mut iters, mut sum) = (0u64, 0u64);
        while !stop.load(Ordering::Relaxed) {
            for _ in 0..QS_EVERY {
                let g = reader.read_lock();
                sum = sum.wrapping_add(c.load(&g).map_or(0, |v| v[0]));
            }
            iters += QS_EVERY as u64;
            reader.quiescent_state();
        }
        std::hint::black_box(sum);
        let r = (iters, start.elapsed());
        drop(reader);
        qsbr::thread_offline();
        r
    });
    std::thread::sleep(READ_TIME);
    let ns = readers.finish();
    krcu::rcu::qsbr::barrier();
    ns
}

/// A plain atomic load of a pointer and a read through it: no RCU.
fn plain(threads: usize) -> f64 {
    let v = Box::into_raw(Box::new([1u64; 6]));
    // Leaked, as in `with_krcu_readers`.
    let s: &'static AtomicPtr<[u64; 6]> = Box::leak(Box::new(AtomicPtr::new(v)));
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
