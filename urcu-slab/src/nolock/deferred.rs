//! The nolock deferred list: an intrusive lock-free stack threaded through
//! the memory of the objects on it.
//!
//! A `_nolock` call that cannot do its work where it runs (this thread's
//! slab state is busy: a signal handler interrupted krcu on this thread)
//! pushes the object here and wakes the reclaim helper, which takes the
//! whole list and runs the normal path. Each node is a pointer to a word
//! inside the object (a free object's link word, or a kfree_rcu link),
//! which holds the next node while the object is on the list. Nothing is
//! allocated, so a push cannot fail.
//!
//! | operation  | who                               | concurrency       |
//! |------------|-----------------------------------|-------------------|
//! | `push`     | any thread, a signal handler too  | lock-free (CAS)   |
//! | `take_all` | the helper, or a barrier          | wait-free (swap)  |
//!
//! `take_all` detaches the whole chain with one swap, so it never reads a
//! node another taker could have reused (no ABA). A push is a CAS loop: a
//! handler that interrupted a push on its own thread pushes on the new top
//! and the interrupted CAS then fails and retries, so a push is also safe
//! against a nested push from a signal handler.

use crate::primitive::{AtomicPtr, AtomicU32, AtomicU64};
use std::ptr;
use std::sync::atomic::Ordering;

/// A stack of words, each holding the next word's address.
pub(crate) struct LinkStack {
    top: AtomicPtr<u8>,
    /// Nodes pushed and taken (statistics; Relaxed).
    pushed: AtomicU64,
    taken: AtomicU64,
}

// SAFETY: the stack only moves pointers between threads; a node is handed
// over whole (Release push, Acquire take).
unsafe impl Sync for LinkStack {}

impl LinkStack {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        LinkStack {
            top: AtomicPtr::new(ptr::null_mut()),
            pushed: AtomicU64::new(0),
            taken: AtomicU64::new(0),
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        LinkStack {
            top: AtomicPtr::new(ptr::null_mut()),
            pushed: AtomicU64::new(0),
            taken: AtomicU64::new(0),
        }
    }

    /// Pushes the node at `word`; true when the stack was empty (the caller
    /// then wakes the consumer: a non-empty stack has a wake on its way).
    ///
    /// # Safety
    ///
    /// `word` is 8-aligned, writable, and not on the stack; it belongs to the
    /// consumer from now on.
    pub(crate) unsafe fn push(&self, word: *mut u8) -> bool {
        // Relaxed: a statistic.
        self.pushed.fetch_add(1, Ordering::Relaxed);
        let mut top = self.top.load(Ordering::Relaxed);
        loop {
            // SAFETY: the word is ours until the CAS below publishes it.
            unsafe { word.cast::<*mut u8>().write(top) };
            // Release: the word (and whatever the pusher wrote before) is
            // visible to take_all's Acquire swap. Relaxed on failure: we
            // only retry with the new top.
            match self
                .top
                .compare_exchange_weak(top, word, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return top.is_null(),
                Err(now) => top = now,
            }
        }
    }

    /// Whether the stack is empty (a hint: a push may be in progress).
    pub(crate) fn is_empty(&self) -> bool {
        // Relaxed: a hint.
        self.top.load(Ordering::Relaxed).is_null()
    }

    /// Nodes pushed and not yet taken (exact when no push or take runs).
    pub(crate) fn len(&self) -> u64 {
        // Relaxed: statistics.
        let taken = self.taken.load(Ordering::Relaxed);
        self.pushed.load(Ordering::Relaxed).saturating_sub(taken)
    }

    /// Nodes ever pushed.
    pub(crate) fn pushed(&self) -> u64 {
        // Relaxed: a statistic.
        self.pushed.load(Ordering::Relaxed)
    }

    /// Takes every node, oldest first, calling `f` on each (its word no
    /// longer needed: `f` may reuse or free the object).
    pub(crate) fn take_all(&self, mut f: impl FnMut(*mut u8)) -> usize {
        // Acquire: pairs with push's Release CAS: every node of the chain
        // and its word are visible.
        let mut node = self.top.swap(ptr::null_mut(), Ordering::Acquire);
        let mut reversed: *mut u8 = ptr::null_mut();
        while !node.is_null() {
            // SAFETY: taken nodes are ours; each word was written before
            // its node was published.
            let next = unsafe { node.cast::<*mut u8>().read() };
            // SAFETY: as above: the node is ours, its word ours to write.
            unsafe { node.cast::<*mut u8>().write(reversed) };
            reversed = node;
            node = next;
        }
        let mut n = 0;
        while !reversed.is_null() {
            // SAFETY: as above; read the link before `f` may reuse the node.
            let next = unsafe { reversed.cast::<*mut u8>().read() };
            f(reversed);
            n += 1;
            reversed = next;
        }
        // Relaxed: a statistic.
        self.taken.fetch_add(n as u64, Ordering::Relaxed);
        n
    }
}

/// Barriers' drain requests against the helper that drains the deferred
/// lists: a barrier takes a ticket, and returns once the helper has served
/// it; the helper reads the newest request before it takes the lists, and
/// serves that request after it has handled what it took. Whatever was
/// pushed before a ticket was taken is handled before the ticket is
/// served: the ticket's AcqRel increment follows the pushes, the helper's
/// Acquire load of it precedes its Acquire takes, and its Release store of
/// the served request precedes the barrier's Acquire load.
pub(crate) struct DrainTickets {
    requested: AtomicU32,
    served: AtomicU32,
}

impl DrainTickets {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        DrainTickets {
            requested: AtomicU32::new(0),
            served: AtomicU32::new(0),
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        DrainTickets {
            requested: AtomicU32::new(0),
            served: AtomicU32::new(0),
        }
    }

    /// A barrier: takes a ticket, `wake`s the helper, and returns once the
    /// helper has served it.
    pub(crate) fn request(&self, wake: impl FnOnce()) {
        let ticket = self.take();
        wake();
        while let Err(seen) = self.served(ticket) {
            self.wait(seen);
        }
    }

    /// The helper's pass: reads the newest request, runs `drain` (take the
    /// lists, handle what they held), and, when that request is not served
    /// yet, runs `hand_off` (pass on what the drain queued) and serves it.
    pub(crate) fn pass(&self, drain: impl FnOnce(), hand_off: impl FnOnce()) {
        // Before the takes: whatever was pushed before a barrier took its
        // ticket is visible to them.
        let req = self.newest();
        drain();
        if self.unserved(req) {
            hand_off();
            self.serve(req);
        }
    }

    /// A barrier's ticket.
    fn take(&self) -> u32 {
        // AcqRel: the ticket is ordered after the caller's earlier pushes
        // (and, through whatever made the caller wait for them, other
        // threads' and their handlers'); the helper's Acquire load pairs.
        self.requested
            .fetch_add(1, Ordering::AcqRel)
            .wrapping_add(1)
    }

    /// The helper, before it takes the lists: the newest request.
    fn newest(&self) -> u32 {
        // Acquire: pairs with `take`: what was pushed before the ticket is
        // visible to the takes that follow.
        self.requested.load(Ordering::Acquire)
    }

    /// Whether `newest` is newer than the last request served.
    fn unserved(&self, newest: u32) -> bool {
        // Relaxed: only the helper writes `served`.
        newest != self.served.load(Ordering::Relaxed)
    }

    /// The helper, after it handled what it took: serves `newest`.
    fn serve(&self, newest: u32) {
        // Release: pairs with the barrier's Acquire load in `served`.
        self.served.store(newest, Ordering::Release);
        #[cfg(not(loom))]
        urcu_core::__private::futex::wake(&self.served, i32::MAX);
    }

    /// Whether `ticket` has been served; else the value to sleep on.
    fn served(&self, ticket: u32) -> Result<(), u32> {
        // Acquire: pairs with `serve`: what the helper did is visible.
        let done = self.served.load(Ordering::Acquire);
        if done.wrapping_sub(ticket) as i32 >= 0 {
            Ok(())
        } else {
            Err(done)
        }
    }

    /// Sleeps until `served` moves from `seen` (yields, under loom).
    fn wait(&self, seen: u32) {
        #[cfg(not(loom))]
        urcu_core::__private::futex::wait(&self.served, seen, None);
        #[cfg(loom)]
        {
            let _ = seen;
            loom::thread::yield_now();
        }
    }

    /// In a fork child: no barrier waits, whatever the counters said.
    pub(crate) fn reset(&self) {
        self.served
            // Relaxed: a fork child has one thread.
            .store(self.requested.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::cell::UnsafeCell;
    use loom::sync::Arc;
    use loom::thread;

    /// An object on the list: its first word is the link; the payload
    /// stands for the object's contents.
    #[repr(C, align(8))]
    struct Obj {
        link: std::cell::UnsafeCell<*mut u8>,
        payload: UnsafeCell<u32>,
    }

    /// Two threads push (one pushes twice, the second push standing for a
    /// handler's push after the thread's own) while a consumer takes all,
    /// then takes the rest: every object comes out exactly once with its
    /// payload visible, and "was empty" is reported for at least the first
    /// push after each take, so the consumer is always woken.
    #[test]
    fn loom_deferred_list() {
        loom::model(|| {
            let list = Arc::new(LinkStack::new());
            let objs: Arc<Vec<Obj>> = Arc::new(
                (0..3)
                    .map(|_| Obj {
                        link: std::cell::UnsafeCell::new(ptr::null_mut()),
                        payload: UnsafeCell::new(0),
                    })
                    .collect(),
            );
            let push = |list: &LinkStack, objs: &[Obj], i: usize| -> bool {
                let o = &objs[i] as *const Obj as *mut Obj;
                // SAFETY: the object is the pusher's until pushed.
                unsafe {
                    (*o).payload.with_mut(|v| *v = 10 + i as u32);
                    list.push(o.cast())
                }
            };
            let t0 = {
                let (list, objs) = (list.clone(), objs.clone());
                thread::spawn(move || {
                    let a = push(&list, &objs, 0);
                    let b = push(&list, &objs, 1);
                    (a, b)
                })
            };
            let t1 = {
                let (list, objs) = (list.clone(), objs.clone());
                thread::spawn(move || push(&list, &objs, 2))
            };
            let mut seen = Vec::new();
            let take = |seen: &mut Vec<usize>| {
                list.take_all(|w| {
                    let i = (w as usize - objs.as_ptr() as usize) / std::mem::size_of::<Obj>();
                    // SAFETY: taken objects are the consumer's.
                    let v = unsafe { (*w.cast::<Obj>()).payload.with(|v| *v) };
                    assert_eq!(v, 10 + i as u32, "contents published with the push");
                    seen.push(i);
                })
            };
            let first = take(&mut seen);
            let (a, b) = t0.join().unwrap();
            let c = t1.join().unwrap();
            let rest = take(&mut seen);
            let mut sorted = seen.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, vec![0, 1, 2], "every object exactly once");
            assert_eq!(first + rest, 3);
            // A push found the list empty at least once per take that found
            // something: a wake was due for each batch the consumer took.
            let empties = [a, b, c].iter().filter(|&&e| e).count();
            assert!(empties >= usize::from(first > 0) + usize::from(rest > 0));
            assert_eq!(list.len(), 0);
        });
    }

    /// A barrier (a thread that pushed an object, then takes a ticket and
    /// waits for it to be served) against the helper's passes: once its
    /// ticket is served, the object it pushed before has been handled, and
    /// what the helper did is visible to it. Weakening `serve`'s Release
    /// (or `served`'s Acquire) to Relaxed makes the barrier's read of the
    /// helper's work a race; reading the newest request after the drain
    /// instead of before serves a ticket whose push was not handled.
    #[test]
    fn loom_barrier_drain_ticket() {
        let mut model = loom::model::Builder::new();
        // Two yield-spinning loops (the barrier's wait, the helper's passes).
        model.max_branches = 100_000;
        model.check(|| {
            let list = Arc::new(LinkStack::new());
            let tickets = Arc::new(DrainTickets::new());
            let objs: Arc<Vec<Obj>> = Arc::new(vec![Obj {
                link: std::cell::UnsafeCell::new(ptr::null_mut()),
                payload: UnsafeCell::new(0),
            }]);
            let barrier = {
                let (list, tickets, objs) = (list.clone(), tickets.clone(), objs.clone());
                thread::spawn(move || {
                    let o = &objs[0] as *const Obj as *mut Obj;
                    // SAFETY: the object is this thread's until pushed.
                    unsafe { list.push(o.cast()) };
                    tickets.request(|| {});
                    // The helper handled it (set its payload), and we see it.
                    // SAFETY: handled and given back by the helper.
                    let v = unsafe { (*o).payload.with(|v| *v) };
                    assert_eq!(v, 1, "a served barrier's earlier push was handled");
                })
            };
            loop {
                tickets.pass(
                    || {
                        list.take_all(|w| {
                            // SAFETY: taken objects are the helper's.
                            unsafe { (*w.cast::<Obj>()).payload.with_mut(|v| *v = 1) };
                        });
                    },
                    || {},
                );
                if tickets.served(1).is_ok() {
                    break;
                }
                thread::yield_now();
            }
            barrier.join().unwrap();
        });
    }
}
