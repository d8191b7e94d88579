//! The slab layer seen from outside: allocation, lookup, kfree_rcu paths,
//! barriers, destroy.

mod common;

use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use urcu_slab::{
    kfree, kfree_rcu, kmalloc, ksize, kvfree_call_rcu, kvfree_rcu, kvfree_rcu_barrier,
    kvfree_rcu_barrier_on_cache, Cache, CacheArgs, KmemCache, RcuHead, RcuPtr,
};

#[test]
fn kmalloc_sizes_round_up_to_their_class() {
    for (size, class) in [
        (1, 8),
        (8, 8),
        (9, 16),
        (33, 64),
        (65, 96),
        (100, 128),
        (129, 192),
        (200, 256),
        (300, 512),
        (5000, 8192),
        (8192, 8192),
    ] {
        let p = kmalloc(size).unwrap();
        // SAFETY: live allocation.
        assert_eq!(unsafe { ksize(p.as_ptr()) }, class, "kmalloc({size})");
        assert_eq!(
            p.as_ptr() as usize
                % class
                    .min(4096)
                    .next_power_of_two()
                    .min(class & class.wrapping_neg()),
            0
        );
        // SAFETY: live, not used after.
        unsafe { kfree(p.as_ptr()) };
    }
}

#[test]
fn large_kmalloc_is_page_aligned_and_found_from_inside() {
    let p = kmalloc(100_000).unwrap().as_ptr();
    assert_eq!(p as usize % 4096, 0);
    // SAFETY: live allocation; interior pointers lie within it.
    unsafe {
        assert_eq!(ksize(p), 102_400);
        assert_eq!(ksize(p.add(99_999)), 102_400);
        p.write_bytes(7, 100_000);
        kfree(p);
    }
}

#[test]
fn objects_keep_their_contents_and_do_not_overlap() {
    let mut v: Vec<(*mut u8, u8)> = Vec::new();
    for i in 0..5000u32 {
        let size = 1 + (i as usize * 37) % 3000;
        let p = kmalloc(size).unwrap().as_ptr();
        // SAFETY: a fresh allocation of `size` bytes.
        unsafe { p.write_bytes(i as u8, size) };
        v.push((p, i as u8));
    }
    for (i, &(p, b)) in v.iter().enumerate() {
        let size = 1 + (i * 37) % 3000;
        // SAFETY: live allocations.
        let s = unsafe { std::slice::from_raw_parts(p, size) };
        assert!(s.iter().all(|&x| x == b), "object {i} overwritten");
        // SAFETY: a live allocation of this test, freed once.
        unsafe { kfree(p) };
    }
}

#[test]
#[should_panic(expected = "was not allocated by krcu")]
fn kfree_of_a_foreign_pointer_panics() {
    let b = Box::new(5u64);
    // SAFETY: deliberately wrong: krcu must catch it.
    unsafe { kfree(&*b as *const u64 as *mut u8) };
}

#[test]
#[should_panic(expected = "belongs to another cache")]
fn cache_free_of_another_caches_object_panics() {
    let a = KmemCache::new("a", 40, CacheArgs::default()).unwrap();
    let b = KmemCache::new("b", 40, CacheArgs::default()).unwrap();
    let o = a.alloc().unwrap();
    // SAFETY: deliberately wrong: krcu must catch it.
    unsafe { b.free(o) };
}

#[repr(C)]
struct WithPtr {
    value: u64,
    rcu: RcuPtr,
}

#[repr(C)]
struct WithHead {
    rcu: RcuHead,
    value: u64,
}

#[test]
fn kfree_rcu_both_links_and_headless_free_after_barrier() {
    let before = urcu_slab::stats();
    for i in 0..3000u64 {
        let p = kmalloc(std::mem::size_of::<WithPtr>())
            .unwrap()
            .as_ptr()
            .cast::<WithPtr>();
        let q = kmalloc(std::mem::size_of::<WithHead>())
            .unwrap()
            .as_ptr()
            .cast::<WithHead>();
        let r = kmalloc(100).unwrap().as_ptr();
        // SAFETY: fresh allocations of the right sizes, freed once each.
        unsafe {
            p.write(WithPtr {
                value: i,
                rcu: RcuPtr::new(),
            });
            q.write(WithHead {
                rcu: RcuHead::default(),
                value: i,
            });
            kfree_rcu!(p, WithPtr, rcu);
            kvfree_call_rcu(std::ptr::addr_of_mut!((*q).rcu), q.cast());
            kvfree_rcu(r);
        }
    }
    kvfree_rcu_barrier();
    let after = urcu_slab::stats();
    let freed = common::freed(&after) - common::freed(&before);
    assert!(freed >= 9000, "freed {freed}");
}

static DTOR_RUNS: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn count_dtor(_obj: *mut c_void) {
    DTOR_RUNS.fetch_add(1, Ordering::Relaxed);
}

#[test]
fn sheaf_cache_kfree_rcu_runs_rcu_dtor_and_refills_the_barn() {
    let cache = KmemCache::new(
        "sheafy",
        64,
        CacheArgs {
            sheaf_capacity: 16,
            rcu_dtor: Some(count_dtor),
            ..Default::default()
        },
    )
    .unwrap();
    // Warm up: the first kfree_rcu finds no empty sheaf; the helper stocks
    // the barn.
    let mut objs = Vec::new();
    for _ in 0..2000 {
        objs.push(cache.alloc().unwrap().as_ptr());
    }
    for &o in &objs {
        // SAFETY: live objects, queued once.
        unsafe { kvfree_call_rcu(o.cast(), o) };
    }
    kvfree_rcu_barrier_on_cache(&cache);
    assert_eq!(DTOR_RUNS.load(Ordering::Relaxed), 2000);
    let st = cache.stats();
    assert_eq!(st.live, 0, "{st:?}");
    cache.destroy().unwrap();
}

#[test]
fn destroy_with_live_objects_names_the_cache_and_count() {
    let cache = KmemCache::new("busy-cache", 24, CacheArgs::default()).unwrap();
    let a = cache.alloc().unwrap();
    let b = cache.alloc().unwrap();
    let err = cache.destroy().unwrap_err();
    assert_eq!(err.live, 2);
    let msg = err.to_string();
    assert!(msg.contains("busy-cache") && msg.contains('2'), "{msg}");
    let cache = err.cache;
    // SAFETY: objects of this cache, freed once.
    unsafe {
        cache.free(a);
        kvfree_rcu(b.as_ptr());
    }
    cache.destroy().unwrap();
}

#[test]
fn typed_cache_drops_values_including_after_kfree_rcu() {
    let cache: Cache<String> = Cache::new("strings").unwrap();
    let a = cache.alloc("a".repeat(10)).unwrap();
    let b = cache.alloc("b".repeat(10)).unwrap();
    drop(a);
    urcu_slab::SlabBox::kfree_rcu(b);
    kvfree_rcu_barrier();
    cache.destroy().unwrap();
}
