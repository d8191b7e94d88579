//! A proptest state machine of the allocator: random sequences of
//! allocations (caches and kmalloc sizes), frees, kfree_rcu (linked and
//! headless) and barriers, checked against a model after every step: live
//! objects keep their contents, ksize is right, no two live objects overlap,
//! and after a barrier nothing is pending.

use proptest::prelude::*;
use std::collections::BTreeMap;
use urcu_slab::{
    kfree, kmalloc, ksize, kvfree_call_rcu_ptr, kvfree_rcu, kvfree_rcu_barrier, CacheArgs,
    KmemCache, RcuPtr,
};

#[derive(Clone, Debug)]
enum Op {
    /// Allocate from cache `i`.
    CacheAlloc(usize),
    /// kmalloc this many bytes.
    Kmalloc(usize),
    /// Free the `i`-th live object (modulo the count) directly.
    Free(usize),
    /// kfree_rcu it through an RcuPtr at its start.
    KfreeRcu(usize),
    /// Headless kvfree_rcu.
    KvfreeRcu(usize),
    Barrier,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..4usize).prop_map(Op::CacheAlloc),
        4 => prop_oneof![1..300usize, 300..9000usize, 9000..40000usize].prop_map(Op::Kmalloc),
        3 => any::<usize>().prop_map(Op::Free),
        2 => any::<usize>().prop_map(Op::KfreeRcu),
        1 => any::<usize>().prop_map(Op::KvfreeRcu),
        1 => Just(Op::Barrier),
    ]
}

struct Live {
    /// Which cache (None: kmalloc).
    cache: Option<usize>,
    /// Bytes the user asked for, and the pattern written into them.
    size: usize,
    fill: u8,
}

fn caches() -> Vec<(KmemCache, usize)> {
    let spec = [
        ("model-24", 24, CacheArgs::default()),
        (
            "model-100",
            100,
            CacheArgs {
                sheaf_capacity: 8,
                ..Default::default()
            },
        ),
        (
            "model-256",
            256,
            CacheArgs {
                align: 64,
                sheaf_capacity: 4,
                ..Default::default()
            },
        ),
        (
            "model-3000",
            3000,
            CacheArgs {
                sheaf_capacity: 2,
                typesafe_by_rcu: true,
                ..Default::default()
            },
        ),
    ];
    spec.into_iter()
        .map(|(name, size, args)| (KmemCache::new(name, size, args).unwrap(), size))
        .collect()
}

fn check(live: &BTreeMap<usize, Live>, caches: &[(KmemCache, usize)]) -> Result<(), TestCaseError> {
    let mut prev_end = 0usize;
    for (&addr, l) in live {
        // SAFETY: a live krcu allocation.
        let usable = unsafe { ksize(addr as *const u8) };
        prop_assert!(usable >= l.size, "ksize {usable} < requested {}", l.size);
        if let Some(i) = l.cache {
            prop_assert_eq!(usable, caches[i].1);
            prop_assert_eq!(addr % if i == 2 { 64 } else { 8 }, 0);
        }
        prop_assert!(addr >= prev_end, "live objects overlap at {addr:#x}");
        prev_end = addr + usable;
        // SAFETY: `size` bytes of a live allocation.
        let bytes = unsafe { std::slice::from_raw_parts(addr as *const u8, l.size) };
        prop_assert!(
            bytes.iter().all(|&b| b == l.fill),
            "object {addr:#x} lost its contents"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn allocator_matches_its_model(ops in prop::collection::vec(op(), 1..250)) {
        let caches = caches();
        let mut live: BTreeMap<usize, Live> = BTreeMap::new();
        let mut fill = 0u8;
        for op in ops {
            fill = fill.wrapping_add(1);
            let pick = |live: &BTreeMap<usize, Live>, i: usize| live.keys().nth(i % live.len()).copied();
            match op {
                Op::CacheAlloc(i) => {
                    let (c, size) = &caches[i];
                    let p = c.alloc().unwrap().as_ptr();
                    // SAFETY: a fresh object of `size` bytes.
                    unsafe { p.write_bytes(fill, *size) };
                    let fresh = live.insert(p as usize, Live { cache: Some(i), size: *size, fill }).is_none();
                    prop_assert!(fresh, "an allocation returned a live object");
                }
                Op::Kmalloc(size) => {
                    let p = kmalloc(size).unwrap().as_ptr();
                    // SAFETY: a fresh allocation of at least `size` bytes.
                    unsafe { p.write_bytes(fill, size) };
                    let fresh = live.insert(p as usize, Live { cache: None, size, fill }).is_none();
                    prop_assert!(fresh, "kmalloc returned a live object");
                }
                Op::Free(i) | Op::KfreeRcu(i) | Op::KvfreeRcu(i) if !live.is_empty() => {
                    let addr = pick(&live, i).unwrap();
                    let l = live.remove(&addr).unwrap();
                    let p = addr as *mut u8;
                    // SAFETY: a live allocation, released once.
                    unsafe {
                        match (&op, l.cache) {
                            (Op::Free(_), Some(c)) => caches[c].0.free(std::ptr::NonNull::new(p).unwrap()),
                            (Op::Free(_), None) => kfree(p),
                            (Op::KfreeRcu(_), _) => kvfree_call_rcu_ptr(p.cast::<RcuPtr>(), p),
                            _ => kvfree_rcu(p),
                        }
                    }
                }
                Op::Barrier => {
                    kvfree_rcu_barrier();
                    prop_assert_eq!(urcu_slab::stats().objects_pending, 0);
                }
                _ => {}
            }
            check(&live, &caches)?;
        }
        for (addr, l) in std::mem::take(&mut live) {
            // SAFETY: live allocations, freed once.
            unsafe {
                match l.cache {
                    Some(c) => caches[c].0.free(std::ptr::NonNull::new(addr as *mut u8).unwrap()),
                    None => kfree(addr as *mut u8),
                }
            }
        }
        kvfree_rcu_barrier();
        for (c, _) in caches {
            prop_assert_eq!(c.stats().live, 0);
            c.destroy().map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
    }
}
