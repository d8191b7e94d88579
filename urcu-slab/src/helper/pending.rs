//! The hand-off of work to the reclaim helper: an intrusive lock-free stack
//! (Treiber push, take-all pop; the deferred list's `LinkStack`).
//!
//! Producers are threads handing off a kfree_rcu batch or a full `rcu_free`
//! sheaf, a barrier's marker, or a typesafe-by-RCU slab to unmap; each item
//! embeds a [`PendingHead`], which says how to free it. The only consumer is the helper, which takes
//! the whole stack at once with one swap and reverses it, so items from one
//! producer come out in the order they were pushed, and an item pushed after
//! another push returned comes out after it. Take-all never dereferences a
//! node a concurrent pop could free, so there is no ABA problem; push is a
//! CAS loop that neither blocks nor allocates, so it is usable from a signal
//! handler.
//!
//! | operation  | who                     | concurrency                 |
//! |------------|-------------------------|-----------------------------|
//! | `push`     | any thread, any context | lock-free, multi-producer   |
//! | `take_all` | the helper only         | wait-free, single consumer  |

use crate::nolock::deferred::LinkStack;
use std::ptr;
use urcu_core::GpCookie;

/// The link every pending item starts with (`#[repr(C)]`, first field):
/// what the helper needs of any item, so that it never asks what the item
/// is. As an `rcu_head` carries its callback, the head carries the function
/// that frees the item; the item's kind is that function.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct PendingHead {
    /// Written by the pusher before the CAS that publishes the item; read by
    /// the helper after the Acquire swap. First: the stack links through it.
    next: *mut PendingHead,
    /// Frees the item once both grace periods of `cookies` have passed (a
    /// barrier's marker: answers the barrier). Called on the helper, once.
    /// Set by the pusher (`queue::push`), like the two fields below.
    pub(crate) free: unsafe fn(*mut PendingHead),
    /// The grace periods, of memb and qsbr, the item waits for. A marker
    /// waits for none: the first cookie of each flavor, which every
    /// grace-period sequence has passed.
    pub(crate) cookies: [GpCookie; 2],
    /// Objects the item frees, for the helper's backlog.
    pub(crate) objects: usize,
}

impl PendingHead {
    /// A head not handed off yet.
    pub(crate) const fn new() -> Self {
        PendingHead {
            next: ptr::null_mut(),
            free: never_pushed,
            cookies: [GpCookie { seq: 0 }; 2],
            objects: 0,
        }
    }
}

/// The `free` of a head no push has set: never called, since only pushed
/// items reach the helper.
unsafe fn never_pushed(_: *mut PendingHead) {
    unreachable!("krcu: a pending item reached the helper without being pushed");
}

/// The stack of pending items: the deferred list's intrusive stack
/// ([`LinkStack`]), linked through each item's `next`, the first word of
/// its head.
pub(crate) struct PendingStack {
    links: LinkStack,
}

impl PendingStack {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        PendingStack {
            links: LinkStack::new(),
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        PendingStack {
            links: LinkStack::new(),
        }
    }

    /// Pushes `item`.
    ///
    /// # Safety
    ///
    /// `item` is valid and not on the stack; it belongs to the helper from
    /// now on, until the helper gives it back.
    pub(crate) unsafe fn push(&self, item: *mut PendingHead) {
        // SAFETY: `next` is the head's first field (`repr(C)`): the word the
        // stack links through; the caller's contract does the rest.
        unsafe { self.links.push(item.cast()) };
    }

    /// Whether anything is pending (a hint: a push may be in progress).
    pub(crate) fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// Takes every pending item, oldest first, calling `f` on each. Only the
    /// helper calls this.
    pub(crate) fn take_all(&self, mut f: impl FnMut(*mut PendingHead)) {
        self.links.take_all(|w| f(w.cast()));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    #[repr(C)]
    struct Item {
        head: PendingHead,
        payload: loom::cell::UnsafeCell<u32>,
    }

    /// Two producers push two items each while the helper takes: every item
    /// comes out exactly once, its payload visible, and each producer's items
    /// in push order.
    #[test]
    fn loom_pending_stack() {
        loom::model(|| {
            let stack = Arc::new(PendingStack::new());
            let items: Arc<Vec<Item>> = Arc::new(
                (0..4)
                    .map(|_| Item {
                        head: PendingHead::new(),
                        payload: loom::cell::UnsafeCell::new(0),
                    })
                    .collect(),
            );
            let producers: Vec<_> = (0..2)
                .map(|p| {
                    let (stack, items) = (stack.clone(), items.clone());
                    thread::spawn(move || {
                        for k in 0..2 {
                            let i = p * 2 + k;
                            let item = &items[i] as *const Item as *mut Item;
                            // SAFETY: the item is this producer's until pushed.
                            unsafe {
                                (*item).payload.with_mut(|v| *v = 100 + i as u32);
                                stack.push(item.cast());
                            }
                        }
                    })
                })
                .collect();
            let mut seen = Vec::new();
            let take = |seen: &mut Vec<usize>| {
                stack.take_all(|h| {
                    let item = h.cast::<Item>();
                    let i = (item as usize - items.as_ptr() as usize) / std::mem::size_of::<Item>();
                    // SAFETY: taken items are the consumer's.
                    let v = unsafe { (*item).payload.with(|v| *v) };
                    assert_eq!(v, 100 + i as u32, "payload published with the item");
                    seen.push(i);
                });
            };
            take(&mut seen);
            for p in producers {
                p.join().unwrap();
            }
            take(&mut seen);
            let mut sorted = seen.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, vec![0, 1, 2, 3], "every item exactly once");
            for p in 0..2 {
                let order: Vec<_> = seen.iter().filter(|&&i| i / 2 == p).collect();
                assert!(
                    order.windows(2).all(|w| w[0] < w[1]),
                    "push order kept: {seen:?}"
                );
            }
        });
    }
}
