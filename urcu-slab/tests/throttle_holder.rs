//! Regression test, in a process of its own so that no other test's flood
//! naps: kfree_rcu's throttle napped while its caller was an online qsbr
//! thread, which the grace periods its batches wait for wait for.

use urcu_core::qsbr;
use urcu_slab::{kfree_rcu, kmalloc, kvfree_rcu_barrier, stats, RcuPtr};

/// Past the throttle's mark (96K objects queued): 4 times over.
const CALLS: usize = 384 * 1024;

#[repr(C)]
struct Obj {
    value: u64,
    rcu: RcuPtr,
}

/// kfree_rcu's batches wait for a grace period of both flavors, so an
/// online qsbr thread that floods kfree_rcu holds up every batch it
/// queues; its throttle skipped memb read sections but napped here (16
/// naps of 10 µs a call past 96K objects queued), where napping cannot
/// shrink the queue.
#[test]
fn kfree_rcu_throttle_naps_while_its_caller_holds_up_the_grace_period() {
    let _reg = qsbr::register_thread();
    let before = stats().throttled;
    for i in 0..CALLS {
        let p = kmalloc(std::mem::size_of::<Obj>())
            .unwrap()
            .as_ptr()
            .cast::<Obj>();
        // SAFETY: a fresh kmalloc'd object of Obj's size, published
        // nowhere, freed once.
        unsafe {
            p.write(Obj {
                value: i as u64,
                rcu: RcuPtr::new(),
            });
            kfree_rcu!(p, Obj, rcu);
        }
        // Checked as it goes: with the naps, the loop would take minutes.
        if i % 1024 == 1023 {
            assert_eq!(
                stats().throttled,
                before,
                "an online qsbr thread napped for grace periods that wait for it"
            );
        }
    }
    qsbr::thread_offline();
    kvfree_rcu_barrier();
    qsbr::thread_online();
}
