//! Debug checks: freed objects are poisoned, and a write after free is
//! reported when the object is allocated again. (Double frees are caught
//! whether the checks are on or not: see double_free.rs.)

use urcu_slab::{CacheArgs, KmemCache, POISON_FREE};

/// `set_debug_checks(true)` poisons the freed objects of caches created
/// after it, in release builds too.
#[test]
fn debug_checks_poison_caches_created_after_them() {
    urcu_slab::set_debug_checks(true);
    let c = KmemCache::new("debug-checked", 32, CacheArgs::default()).unwrap();
    let p = c.alloc().unwrap();
    // SAFETY: a live 32-byte object.
    unsafe { p.as_ptr().write_bytes(1, 32) };
    // SAFETY: live, freed once.
    unsafe { c.free(p) };
    // SAFETY: reads freed memory of a still-mapped slab, to see the poison.
    let tail = unsafe { std::slice::from_raw_parts(p.as_ptr().add(8), 24) };
    assert!(tail.iter().all(|&b| b == POISON_FREE), "{tail:?}");
    let q = c.alloc().unwrap();
    // SAFETY: live, freed once.
    unsafe { c.free(q) };
    c.destroy().unwrap();
}

#[test]
fn freed_objects_are_poisoned_and_writes_after_free_are_reported() {
    let c = KmemCache::new(
        "poisoned",
        48,
        CacheArgs {
            poison: true,
            ..Default::default()
        },
    )
    .unwrap();
    let p = c.alloc().unwrap();
    // SAFETY: a live 48-byte object.
    unsafe { p.as_ptr().write_bytes(1, 48) };
    // SAFETY: live, freed once.
    unsafe { c.free(p) };
    // Reading freed memory is the bug being demonstrated; the slab is still
    // mapped, so the read itself is harmless here.
    // SAFETY: see above.
    let tail = unsafe { std::slice::from_raw_parts(p.as_ptr().add(8), 40) };
    assert!(
        tail.iter().all(|&b| b == POISON_FREE),
        "freed object not poisoned"
    );
    // A write after free...
    // SAFETY: deliberately writes a freed object: krcu must catch it.
    unsafe { p.as_ptr().add(20).write(0) };
    // ...is found when the object is handed out again.
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        c.alloc().map(|q| q.as_ptr() as usize)
    }))
    .unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("use after free") && msg.contains("offset 20"),
        "{msg}"
    );
    std::mem::forget(c);
}
