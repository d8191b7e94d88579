//! Misuse is reported with the rule broken and what to do instead; it never
//! corrupts memory or hangs.

use urcu_core::{memb, qsbr};
use urcu_slab::{kmalloc, ksize, kvfree_call_rcu_ptr, kvfree_rcu, kvfree_rcu_barrier, RcuPtr};

fn panic_message(f: impl FnOnce()) -> String {
    let err =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("expected a panic");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn headless_kvfree_rcu_inside_a_read_section_panics() {
    let p = kmalloc(32).unwrap().as_ptr();
    let msg = panic_message(|| {
        let _g = memb::read_lock();
        // SAFETY: a live allocation; the call must refuse before using it.
        unsafe { kvfree_rcu(p) };
    });
    assert!(
        msg.contains("read-side critical section") && msg.contains("kfree_rcu!"),
        "{msg}"
    );
    // The object was not queued: it can still be freed.
    // SAFETY: live, queued once.
    unsafe { kvfree_rcu(p) };
    kvfree_rcu_barrier();
}

#[test]
fn barrier_inside_a_read_section_panics() {
    let msg = panic_message(|| {
        let _r = qsbr::register_thread();
        let _g = qsbr::read_lock();
        kvfree_rcu_barrier();
    });
    assert!(
        msg.contains("kvfree_rcu_barrier") && msg.contains("deadlock"),
        "{msg}"
    );
}

#[test]
fn kfree_rcu_with_a_link_outside_the_object_panics() {
    let p = kmalloc(64).unwrap().as_ptr();
    let mut elsewhere = RcuPtr::new();
    let msg = panic_message(|| {
        // SAFETY: deliberately wrong: krcu must refuse before linking.
        unsafe { kvfree_call_rcu_ptr(&mut elsewhere, p) };
    });
    assert!(msg.contains("not within the object"), "{msg}");
    // SAFETY: live, freed once.
    unsafe { urcu_slab::kfree(p) };
}

#[test]
fn kfree_rcu_of_a_foreign_pointer_panics_naming_it() {
    let mut on_stack = [0u64; 4];
    let p = on_stack.as_mut_ptr().cast::<u8>();
    let msg = panic_message(|| {
        // SAFETY: deliberately wrong: krcu must refuse it.
        unsafe { kvfree_call_rcu_ptr(p.cast(), p) };
    });
    assert!(
        msg.contains(&format!("{p:p}")) && msg.contains("was not allocated by krcu"),
        "{msg}"
    );
}

#[test]
fn interior_pointers_find_their_object() {
    let p = kmalloc(200).unwrap().as_ptr();
    // SAFETY: pointers into a live 256-byte object.
    unsafe {
        assert_eq!(ksize(p.add(199)), 256);
        // kfree_rcu through a pointer to the middle frees the whole object,
        // with the link at its start.
        kvfree_call_rcu_ptr(p.cast(), p.add(100));
    }
    kvfree_rcu_barrier();
}

/// A `_nolock` call may run in a signal handler, where a panic cannot be
/// caught: a foreign pointer aborts with a message written by `write(2)`.
/// The aborting calls run in a child process (this test binary again).
#[test]
fn nolock_calls_abort_on_a_foreign_pointer() {
    if let Ok(which) = std::env::var("KRCU_NOLOCK_MISUSE_CHILD") {
        let mut stack_object = [0u64; 4];
        let foreign = stack_object.as_mut_ptr().cast::<u8>();
        // SAFETY: the call must refuse the pointer before touching it.
        unsafe {
            match which.as_str() {
                "kfree" => urcu_slab::kfree_nolock(foreign),
                _ => urcu_slab::kfree_rcu_nolock_link(foreign, foreign.cast::<RcuPtr>()),
            }
        }
        unreachable!("the call returned");
    }
    for (which, name) in [("kfree", "kfree_nolock"), ("kfree_rcu", "kfree_rcu_nolock")] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "nolock_calls_abort_on_a_foreign_pointer",
                "--nocapture",
            ])
            .env("KRCU_NOLOCK_MISUSE_CHILD", which)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{stderr}");
        assert!(
            stderr.contains(&format!("krcu: {name}(0x"))
                && stderr.contains("was not allocated by krcu")
                && stderr.contains("pass only pointers returned by krcu"),
            "{stderr}"
        );
    }
}
