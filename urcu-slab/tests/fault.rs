//! Fault injection: the slab layer's mappings fail. Allocations report the
//! failure; two-argument kfree_rcu still defers (linked through the
//! objects' own links); headless kvfree_rcu falls back to synchronize +
//! free; nothing is freed early and nothing leaks.
//!
//! One test: the failure hook is process-wide.

use std::time::Duration;
mod common;

use urcu_slab::{kfree_rcu, kmalloc, kvfree_rcu, kvfree_rcu_barrier, CacheArgs, KmemCache, RcuPtr};

#[repr(C)]
struct Node {
    rcu: RcuPtr,
    payload: [u64; 5],
}

#[test]
fn failing_mappings_degrade_without_losing_or_freeing_early() {
    // No sheaves: every object of this cache takes a batch's path.
    let cache = KmemCache::new(
        "fault-nodes",
        std::mem::size_of::<Node>(),
        CacheArgs::default(),
    )
    .unwrap();
    let mut nodes = Vec::new();
    for i in 0..2000u64 {
        let p = cache.alloc().unwrap().as_ptr().cast::<Node>();
        // SAFETY: a fresh object of the right size.
        unsafe {
            p.write(Node {
                rcu: RcuPtr::new(),
                payload: [i; 5],
            })
        };
        nodes.push(p);
    }
    let large = kmalloc(100_000).unwrap().as_ptr();
    let small = cache.alloc().unwrap().as_ptr();

    urcu_slab::testing::fail_mappings_after(0);

    // Allocation failures are reported, not fatal.
    assert!(kmalloc(200_000).is_err(), "a large kmalloc needs a mapping");
    let mut extra = Vec::new();
    loop {
        match cache.alloc() {
            Ok(p) => extra.push(p),
            Err(e) => {
                assert!(e.to_string().contains("out of memory"));
                break;
            }
        }
        assert!(extra.len() < 100_000, "allocations never failed");
    }

    // kfree_rcu of every node while a reader holds a section: no block can
    // be mapped, so they are linked through their RcuPtr; none may be
    // freed before the reader leaves.
    let before = urcu_slab::stats();
    let reader = common::Reader::enter(|| ());
    for &p in &nodes {
        // SAFETY: live objects of `cache`, queued once, not used after
        // (except for the check below, which a reader may do).
        unsafe { kfree_rcu!(p, Node, rcu) };
    }
    std::thread::sleep(Duration::from_millis(50));
    let during = urcu_slab::stats();
    assert_eq!(
        during.kfree_rcu_list + during.kfree_rcu_bulk,
        before.kfree_rcu_list + before.kfree_rcu_bulk,
        "objects were freed while a reader that may see them was in its section"
    );
    for (i, &p) in nodes.iter().enumerate() {
        // SAFETY: still waiting for the grace period the reader blocks.
        assert_eq!(
            // SAFETY: still waiting for the grace period the reader blocks.
            unsafe { (*p).payload },
            [i as u64; 5],
            "node {i} changed before its grace period"
        );
    }
    reader.leave();

    // Headless without an array: synchronize + free inline.
    // SAFETY: live krcu objects, freed once.
    unsafe {
        kvfree_rcu(large);
        kvfree_rcu(small);
    }
    kvfree_rcu_barrier();
    let after = urcu_slab::stats();
    assert_eq!(
        after.kfree_rcu_list - before.kfree_rcu_list,
        2000,
        "{after:?}"
    );
    assert_eq!(
        after.kfree_rcu_sync_fallback - before.kfree_rcu_sync_fallback,
        2
    );
    assert_eq!(after.objects_pending, 0);

    urcu_slab::testing::fail_mappings_after(u64::MAX);
    for p in extra {
        // SAFETY: live objects of `cache`.
        unsafe { cache.free(p) };
    }
    // Everything allocated was freed: the cache can go.
    cache.destroy().expect("no object leaked");
}
