//! alloc: allocation and free with no RCU: krcu's kmalloc and a cache
//! against glibc's malloc.

use crate::child::{out, ALLOC_BATCH, ALLOC_ROUNDS};
use crate::model::{Impl, Workload};
use std::hint::black_box;
use std::time::Instant;

/// alloc: ALLOC_ROUNDS × (allocate ALLOC_BATCH 64-byte objects, free them),
/// no RCU; prints ns per allocation + free.
pub fn run(imp: Impl) {
    use krcu::slab::{self as slab, CacheArgs, KmemCache};
    let cache = KmemCache::new(
        "bench-alloc",
        64,
        CacheArgs {
            sheaf_capacity: 64,
            ..Default::default()
        },
    )
    .unwrap();
    let mut objs = [std::ptr::null_mut::<u8>(); ALLOC_BATCH];
    #[derive(Clone, Copy)]
    enum Alloc {
        Cache,
        Kmalloc,
        Malloc,
    }
    let which = match imp {
        Impl::KrcuCache => Alloc::Cache,
        Impl::KrcuKmalloc => Alloc::Kmalloc,
        Impl::GlibcMalloc => Alloc::Malloc,
        _ => crate::child::not_here(imp, Workload::Alloc),
    };
    let mut round = |n: usize| {
        for _ in 0..n {
            for o in objs.iter_mut() {
                *o = match which {
                    Alloc::Cache => cache.alloc().unwrap().as_ptr(),
                    Alloc::Kmalloc => slab::kmalloc(64).unwrap().as_ptr(),
                    // SAFETY: plain malloc.
                    Alloc::Malloc => unsafe { libc::malloc(64).cast() },
                };
                // SAFETY: a fresh 64-byte object.
                unsafe { o.write(1) };
            }
            for &o in objs.iter().rev() {
                // SAFETY: each object was allocated above by the same
                // allocator and is freed once.
                unsafe {
                    match which {
                        Alloc::Cache => cache.free(std::ptr::NonNull::new_unchecked(o)),
                        Alloc::Kmalloc => slab::kfree(o),
                        Alloc::Malloc => libc::free(o.cast()),
                    }
                }
            }
            black_box(&objs);
        }
    };
    round(ALLOC_ROUNDS / 10);
    let t0 = Instant::now();
    round(ALLOC_ROUNDS);
    let ns = t0.elapsed().as_secs_f64() * 1e9 / (ALLOC_ROUNDS * ALLOC_BATCH) as f64;
    out("ns_per_alloc_free", ns, "ns");
}
