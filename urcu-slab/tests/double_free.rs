//! Double frees are caught in every build, by every free: `kfree`,
//! `KmemCache::free`, `kfree_nolock`, kfree_rcu with either link and the
//! headless `kvfree_rcu`, in every combination of first and second free.
//! The second call panics (Rust) or aborts with the message (`_nolock`),
//! names the pointer and the cache, and frees nothing: afterwards the
//! allocator never hands one object out twice.

mod common;

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;
use urcu_core::RcuHead;
use urcu_slab::{
    kfree, kfree_nolock, kmalloc, kvfree_call_rcu, kvfree_call_rcu_ptr, kvfree_call_rcu_ptr_nolock,
    kvfree_rcu, kvfree_rcu_barrier, CacheArgs, KmemCache, RcuPtr,
};

/// The panic message of `f`, which must panic.
fn panic_of(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("the second free must be refused");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Allocates `n` objects with `alloc`, checks that no address comes twice
/// (nor `freed_twice` more than once), and frees them with `free`.
fn assert_unique(n: usize, alloc: impl Fn() -> *mut u8, free: impl Fn(*mut u8)) {
    let objs: Vec<*mut u8> = (0..n).map(|_| alloc()).collect();
    let distinct: HashSet<usize> = objs.iter().map(|&p| p as usize).collect();
    assert_eq!(distinct.len(), n, "an object was handed out twice");
    for p in objs {
        free(p);
    }
}

/// [`assert_unique`] for objects of `c`.
fn assert_unique_in(c: &KmemCache, n: usize) {
    let alloc = || c.alloc().unwrap().as_ptr();
    // SAFETY: live objects of `c`, freed once.
    let free = |q: *mut u8| unsafe { c.free(NonNull::new(q).unwrap()) };
    assert_unique(n, alloc, free);
}

fn kmalloc64() -> *mut u8 {
    kmalloc(64).unwrap().as_ptr()
}

fn kfree_it(p: *mut u8) {
    // SAFETY: a live kmalloc allocation, freed once.
    unsafe { kfree(p) }
}

fn cache(name: &str, capacity: u32) -> KmemCache {
    KmemCache::new(
        name,
        64,
        CacheArgs {
            sheaf_capacity: capacity,
            ..Default::default()
        },
    )
    .unwrap()
}

/// `kfree(p); kfree(p);` made the next two `kmalloc(64)` return the same
/// address in release builds.
#[test]
fn double_free_is_undetected_in_release_and_corrupts_the_allocator() {
    let p = kmalloc64();
    kfree_it(p);
    let msg = panic_of(|| kfree_it(p));
    assert!(
        msg.contains("double free")
            && msg.contains(&format!("kfree({p:p})"))
            && msg.contains("kmalloc-64")
            && msg.contains("already free"),
        "{msg}"
    );
    let (a, b) = (kmalloc64(), kmalloc64());
    assert_ne!(a, b, "one object handed out twice");
    kfree_it(a);
    kfree_it(b);
    assert_unique(1000, kmalloc64, kfree_it);
}

#[repr(C)]
struct Node {
    rcu: RcuPtr,
    head: RcuHead,
    value: u64,
}

/// A double kfree_rcu of one object made it come back hundreds of times
/// among later allocations (a cycle in the freed list).
#[test]
fn double_kfree_rcu_makes_the_object_come_back_many_times() {
    let c = cache("double-kfree-rcu", 8);
    let p = c.alloc().unwrap().as_ptr().cast::<Node>();
    // SAFETY: a live object of `c`, queued once; the second call is the
    // bug under test and must be refused before it queues anything.
    unsafe { urcu_slab::kfree_rcu!(p, Node, rcu) };
    // SAFETY: the second kfree_rcu, refused before it queues anything.
    let msg = panic_of(|| unsafe { urcu_slab::kfree_rcu!(p, Node, rcu) });
    assert!(
        msg.contains("double free")
            && msg.contains(&format!("kfree_rcu({:p})", p))
            && msg.contains("double-kfree-rcu")
            && msg.contains("waiting to be freed"),
        "{msg}"
    );
    kvfree_rcu_barrier();
    assert_eq!(c.stats().live, 0, "freed exactly once");
    assert_unique_in(&c, 2000);
    c.destroy().unwrap();
}

/// Every public free, as the first and as the second call: each second call
/// is refused with a message naming it and the cache.
#[test]
fn every_pair_of_frees_is_caught() {
    type Free = fn(&KmemCache, *mut u8);
    // Each free gets an object of the test's cache (a Node's size): the
    // first call frees it once; the second is the double free under test,
    // refused before it touches anything.
    let frees: [(&str, Free); 6] = [
        // SAFETY: as above.
        ("kfree", |_, p| unsafe { kfree(p) }),
        // SAFETY: as above.
        ("KmemCache::free", |c, p| unsafe {
            c.free(NonNull::new(p).unwrap())
        }),
        // SAFETY: as above.
        ("kfree_rcu", |_, p| unsafe {
            let n = p.cast::<Node>();
            urcu_slab::kfree_rcu!(n, Node, rcu)
        }),
        // SAFETY: as above.
        ("kfree_rcu", |_, p| unsafe {
            let n = p.cast::<Node>();
            kvfree_call_rcu(std::ptr::addr_of_mut!((*n).head), p)
        }),
        // SAFETY: as above.
        ("kvfree_rcu", |_, p| unsafe { kvfree_rcu(p) }),
        // SAFETY: as above.
        ("kfree_rcu", |_, p| unsafe {
            kvfree_call_rcu_ptr(p.cast::<RcuPtr>(), p)
        }),
    ];
    for (capacity, name) in [(8, "pairs-sheaves"), (0, "pairs-slabs")] {
        let c = cache(name, capacity);
        for (first_name, first) in &frees {
            for (second_name, second) in &frees {
                let p = c.alloc().unwrap().as_ptr();
                first(&c, p);
                let msg = panic_of(|| second(&c, p));
                assert!(
                    msg.contains("double free")
                        && msg.contains(&format!("{second_name}({p:p})"))
                        && msg.contains(name),
                    "{first_name} then {second_name}: {msg}"
                );
            }
        }
        kvfree_rcu_barrier();
        assert_eq!(c.stats().live, 0, "{name}: every object freed once");
        assert_unique_in(&c, 500);
        c.destroy().unwrap();
    }
}

/// Objects that went back to their slab (a cache without sheaves, or a
/// trimmed barn) carry the freelist form of the mark: a free of one is
/// caught too.
#[test]
fn double_free_of_an_object_back_on_its_slab_is_caught() {
    let c = cache("back-on-slab", 4);
    let objs: Vec<*mut u8> = (0..64).map(|_| c.alloc().unwrap().as_ptr()).collect();
    for &p in &objs {
        // SAFETY: live objects of `c`, freed once.
        unsafe { c.free(NonNull::new(p).unwrap()) };
    }
    // The frees filled sheaves that went to the barn; trim sends them to
    // the slabs' freelists.
    c.trim();
    for &p in &objs {
        // SAFETY: a second free, refused before it touches anything.
        let msg = panic_of(|| unsafe { c.free(NonNull::new(p).unwrap()) });
        assert!(msg.contains("double free"), "{msg}");
    }
    assert_unique_in(&c, 200);
    c.destroy().unwrap();
}

/// Constructed (and typesafe-by-RCU) caches keep the mark outside the
/// object, where the constructor's work is not touched.
#[test]
fn double_free_is_caught_in_a_constructed_cache() {
    unsafe extern "C" fn ctor(obj: *mut std::ffi::c_void) {
        // SAFETY: a fresh 64-byte object.
        unsafe { obj.cast::<u64>().write(0x5eed) };
    }
    let c = KmemCache::new(
        "double-ctor",
        64,
        CacheArgs {
            sheaf_capacity: 8,
            ctor: Some(ctor),
            ..Default::default()
        },
    )
    .unwrap();
    let p = c.alloc().unwrap();
    // SAFETY: a live object of `c`.
    unsafe { c.free(p) };
    // SAFETY: the second free, refused before it touches anything.
    let msg = panic_of(|| unsafe { c.free(p) });
    assert!(msg.contains("double free"), "{msg}");
    let q = c.alloc().unwrap();
    // SAFETY: constructed once, freed with its state intact.
    assert_eq!(unsafe { q.as_ptr().cast::<u64>().read() }, 0x5eed);
    // SAFETY: a live object of `c`.
    unsafe { c.free(q) };
    c.destroy().unwrap();
}

/// A large kmalloc object is unmapped by its free: a second free finds no
/// krcu mapping and says it may have been freed already.
#[test]
fn double_free_of_a_large_object_is_named() {
    let p = kmalloc(100_000).unwrap().as_ptr();
    kfree_it(p);
    let msg = panic_of(|| kfree_it(p));
    assert!(msg.contains("freed already"), "{msg}");
    let q = kmalloc(100_000).unwrap().as_ptr();
    // SAFETY: deliberately queued twice; the second must be refused.
    unsafe { kvfree_rcu(q) };
    // SAFETY: the second kvfree_rcu, refused before it queues anything.
    let msg = panic_of(|| unsafe { kvfree_rcu(q) });
    assert!(
        msg.contains("double free") && msg.contains("large kmalloc object"),
        "{msg}"
    );
    kvfree_rcu_barrier();
}

/// `kfree_nolock` and `kfree_rcu_nolock` may run in a signal handler: a
/// double free aborts with the message written by `write(2)`.
#[test]
fn double_free_nolock_aborts_with_the_message() {
    if let Ok(case) = std::env::var("KRCU_CHILD_DOUBLE_NOLOCK") {
        urcu_slab::prepare_thread();
        let c = cache("double-nolock", 8);
        let p = c.alloc().unwrap().as_ptr();
        // SAFETY: each case frees `p` twice on purpose.
        unsafe {
            match case.as_str() {
                "free-free" => {
                    kfree_nolock(p);
                    kfree_nolock(p);
                }
                "free-rcu" => {
                    kfree(p);
                    kvfree_call_rcu_ptr_nolock(p.cast::<RcuPtr>(), p);
                }
                "rcu-free" => {
                    kvfree_call_rcu_ptr_nolock(p.cast::<RcuPtr>(), p);
                    kfree_nolock(p);
                }
                "rcu-rcu" => {
                    kvfree_call_rcu_ptr_nolock(p.cast::<RcuPtr>(), p);
                    kvfree_call_rcu_ptr_nolock(p.cast::<RcuPtr>(), p);
                }
                "large" => {
                    let q = kmalloc(100_000).unwrap().as_ptr();
                    kfree_nolock(q);
                    kfree_nolock(q);
                }
                _ => unreachable!(),
            }
        }
        unreachable!("the second free must abort");
    }
    // A deferred free may be carried out by the helper between the two
    // calls: then the second finds the object free (or, for a large one,
    // unmapped) instead of waiting.
    const EITHER: &[&str] = &["already free", "waiting to be freed"];
    for (case, what, states) in [
        ("free-free", "kfree_nolock(0x", EITHER),
        ("free-rcu", "kfree_rcu_nolock(0x", &["already free"][..]),
        ("rcu-free", "kfree_nolock(0x", &["waiting to be freed"][..]),
        (
            "rcu-rcu",
            "kfree_rcu_nolock(0x",
            &["waiting to be freed"][..],
        ),
        (
            "large",
            "kfree_nolock(0x",
            &["waiting to be freed", "freed already"][..],
        ),
    ] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "double_free_nolock_aborts_with_the_message",
                "--nocapture",
            ])
            .env("KRCU_CHILD_DOUBLE_NOLOCK", case)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{case}: {stderr}");
        assert!(
            stderr.contains(what) && states.iter().any(|s| stderr.contains(s)),
            "{case}: {stderr}"
        );
        if case != "large" {
            assert!(
                stderr.contains("double free") && stderr.contains("double-nolock"),
                "{case}: {stderr}"
            );
        }
    }
}
