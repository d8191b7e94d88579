//! typesafe_by_rcu: objects are reused at once, but their slab's memory
//! goes back to the system only after a grace period, so a reader that
//! found an object can still read (and re-validate) it.

use std::time::Duration;
mod common;

use urcu_slab::{kvfree_rcu_barrier, CacheArgs, KmemCache};

#[test]
fn objects_are_reused_at_once_and_slabs_unmapped_after_a_grace_period() {
    let c = KmemCache::new(
        "typesafe",
        256,
        CacheArgs {
            typesafe_by_rcu: true,
            sheaf_capacity: 4,
            ..Default::default()
        },
    )
    .unwrap();
    // Reuse at once: a freed object is the next one handed out.
    let p = c.alloc().unwrap();
    // SAFETY: a live object, freed once.
    unsafe { c.free(p) };
    let q = c.alloc().unwrap();
    assert_eq!(p, q, "a typesafe-by-RCU object is reused without waiting");

    // Fill several slabs, then free everything while a reader holds a
    // section with a pointer to one object.
    let objs: Vec<_> = (0..2000).map(|_| c.alloc().unwrap()).collect();
    let watched = objs[1000].as_ptr() as usize;
    // SAFETY: a live object of 256 bytes.
    unsafe { (watched as *mut u64).write(0xfeed) };
    let reader = common::Reader::enter(move || {
        // Still inside the section: the memory must still be mapped. The
        // object may have been reused; a typesafe reader re-validates what
        // it reads, so only the read itself matters here.
        // SAFETY: typesafe-by-RCU memory stays mapped until a grace period
        // after its slab is released; this section began before that.
        unsafe { std::ptr::read_volatile(watched as *const u64) }
    });
    for o in objs.into_iter().chain([q]) {
        // SAFETY: live objects of `c`, freed once.
        unsafe { c.free(o) };
    }
    let mapped_before = urcu_slab::stats().bytes_mapped;
    c.trim();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        urcu_slab::stats().bytes_mapped,
        mapped_before,
        "a typesafe-by-RCU slab was unmapped while a reader was in its section"
    );
    let seen = reader.leave();
    assert_eq!(
        seen, 0xfeed,
        "no object was reused, so the reader sees its value"
    );
    kvfree_rcu_barrier();
    assert!(
        urcu_slab::stats().bytes_mapped < mapped_before,
        "the slabs were returned after the grace period"
    );
    c.destroy().unwrap();
}
