//! kfree: kfree_rcu (krcu's kmalloc, a cache, headless) against liburcu's
//! call_rcu + free and crossbeam-epoch's defer_destroy, with one memb
//! reader.

use crate::child::{out, out_deferral, with_krcu_readers, KObj};
use crate::model::{Impl, Workload};
use krcu::rcu::Memb;
use std::time::Instant;

pub fn run(imp: Impl, threads: usize, count: u64) {
    match imp {
        Impl::CrossbeamEpoch => super::defer::crossbeam(threads, count),
        Impl::KrcuKmalloc | Impl::KrcuCache | Impl::KrcuHeadless => krcu(imp, threads, count),
        _ => crate::child::not_here(imp, Workload::Kfree),
    }
}

/// kfree: `count` × (allocate a 64-byte object; kfree_rcu it), then the
/// barrier, with memb readers running.
fn krcu(imp: Impl, threads: usize, count: u64) {
    use krcu::slab::{self as slab, kfree_rcu, CacheArgs, KmemCache};
    let cache = KmemCache::new(
        "bench-kobj",
        std::mem::size_of::<KObj>(),
        CacheArgs {
            sheaf_capacity: 64,
            ..Default::default()
        },
    )
    .unwrap();
    // One memb reader, as in the other workloads, for the whole cell.
    with_krcu_readers::<Memb>(threads, |_| {
        let t0 = Instant::now();
        for i in 0..count {
            let p = match imp {
                Impl::KrcuCache => cache.alloc(),
                _ => slab::kmalloc(std::mem::size_of::<KObj>()),
            }
            .expect("memory")
            .as_ptr()
            .cast::<KObj>();
            // SAFETY: a fresh 64-byte krcu object, queued once and not used
            // after.
            unsafe {
                (*p).data[0] = i;
                if imp == Impl::KrcuHeadless {
                    slab::kvfree_rcu(p.cast());
                } else {
                    kfree_rcu!(p, KObj, rcu);
                }
            }
        }
        let t1 = Instant::now();
        let pending_at_end = slab::stats().objects_pending;
        slab::kvfree_rcu_barrier();
        out_deferral(count, t0, t1);
        let link = if imp == Impl::KrcuHeadless {
            0
        } else {
            std::mem::size_of::<slab::RcuPtr>()
        };
        out("link_bytes_in_object", link as f64, "B");
        out("pending_at_loop_end", pending_at_end as f64, "objects");
        let st = slab::stats();
        out("helper_gp_waits", st.gp_waits as f64, "waits");
        out("throttle_naps", st.throttled as f64, "naps");
        if imp == Impl::KrcuCache {
            let st = cache.stats();
            out("sheaf_submissions", st.sheaf_submissions as f64, "sheaves");
            out("sheaf_failures", st.sheaf_failures as f64, "calls");
            out("barn_hits", st.barn_hits as f64, "exchanges");
            out("barn_misses", st.barn_misses as f64, "exchanges");
            out("slabs_created", st.slabs_created as f64, "slabs");
            out("barn_overflows", st.barn_overflows as f64, "sheaves");
            out("barn_full_at_end", st.barn_full_sheaves as f64, "sheaves");
        }
    });
}
