//! Regression: the callback thread used to count a batch's invocations only
//! after the whole batch, so a barrier inside that batch returned before the
//! stats showed the callbacks that ran ahead of it. Alone in its process so
//! that no other test queues callbacks meanwhile.

use std::sync::atomic::{AtomicUsize, Ordering};
use urcu_core::{memb, RcuHead};

static FREED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn free_head(head: *mut RcuHead) {
    // SAFETY: heads are boxed below and queued once.
    drop(unsafe { Box::from_raw(head) });
    FREED.fetch_add(1, Ordering::Relaxed);
}

#[test]
fn stats_after_barrier_count_every_earlier_callback() {
    for round in 1..=50 {
        for _ in 0..2000 {
            // SAFETY: leaked until free_head reclaims it.
            unsafe { memb::call_rcu(Box::into_raw(Box::new(RcuHead::new())), free_head) };
        }
        memb::barrier();
        let s = memb::stats();
        assert_eq!(FREED.load(Ordering::Relaxed), round * 2000);
        assert_eq!(s.callbacks_queued, round as u64 * 2000, "{s:?}");
        assert_eq!(
            s.callbacks_invoked,
            round as u64 * 2000,
            "round {round}: {s:?}"
        );
        assert_eq!(s.callback_backlog, 0, "round {round}: {s:?}");
    }
}
