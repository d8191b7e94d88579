//! The callback queue: wait-free multi-producer enqueue, single-consumer
//! splice, in the style of liburcu's `wfcqueue`.
//!
//! # The algorithm
//!
//! The queue is a singly linked list threaded through the callers' own
//! [`RcuHead`]s, with a `first` link (the stub's `next`) and a `tail` pointer.
//! A null `tail` means "the list is empty and the next node links from
//! `first`", which lets the queue be a `const` static with no self-pointer.
//!
//! Enqueue is two steps: exchange `tail` for the new node (this orders the
//! producers among themselves), then store the new node into the previous
//! node's `next` (or into `first` when the previous tail was null). Between
//! the two steps the list is briefly broken: the consumer can see a `tail`
//! past a node whose `next` is still null. The consumer, never the producer,
//! waits for that link, so enqueue takes no lock, never waits and allocates
//! nothing: it is async-signal-safe, and a signal handler that interrupts an
//! enqueue on the same thread may itself enqueue (it links after the half-done
//! node; the interrupted producer completes its link afterwards).
//!
//! Splice takes the whole list at once: read `first` (waiting for its link
//! if `tail` says the list is not empty), clear `first`, then exchange `tail`
//! for null. The exchange returns the last node of the taken batch; producers
//! that exchanged before it link into the batch, producers after it start a
//! new list from `first`. Walking a batch waits for each `next` link up to its
//! last node, never beyond.
//!
//! | operation | may run concurrently with            |
//! |-----------|--------------------------------------|
//! | `enqueue` | any number of `enqueue`s, one splice |
//! | `splice`  | `enqueue`s; never another `splice`   |

use crate::head::RcuHead;
use crate::primitive::{spin_hint, AtomicPtr};
use std::ptr;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

/// A wait-free MPSC queue of [`RcuHead`]s.
pub(crate) struct CallbackQueue {
    first: AtomicPtr<RcuHead>,
    tail: AtomicPtr<RcuHead>,
}

/// A spliced run of callbacks, `first ..= last`, owned by the consumer.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) first: *mut RcuHead,
    pub(crate) last: *mut RcuHead,
}

// SAFETY: a Batch owns the heads it names (they were handed over by
// `call_rcu`, whose contract makes them valid until their callback runs);
// moving it between the helper threads moves that ownership.
unsafe impl Send for Batch {}

impl CallbackQueue {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        CallbackQueue {
            first: AtomicPtr::new(ptr::null_mut()),
            tail: AtomicPtr::new(ptr::null_mut()),
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        CallbackQueue {
            first: AtomicPtr::new(ptr::null_mut()),
            tail: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Appends `node`. Wait-free and async-signal-safe. Returns whether the
    /// queue was empty: only then may the consumer have found nothing in its
    /// last look before sleeping, so only then must the caller wake it
    /// (sleep.rs).
    ///
    /// # Safety
    ///
    /// `node` is valid, not in any queue, and stays valid until the consumer
    /// is done with it.
    #[inline]
    pub(crate) unsafe fn enqueue(&self, node: *mut RcuHead) -> bool {
        // SAFETY: the caller owns `node` until it is linked.
        // Relaxed: the node is not linked yet; the tail exchange publishes it
        // (AcqRel).
        unsafe { (*node).next.store(ptr::null_mut(), Relaxed) };
        // Release publishes the null `next` before a later producer, which
        // reads this exchange (Acquire half), stores its link into it.
        let prev = self.tail.swap(node, AcqRel);
        let link = if prev.is_null() {
            &self.first
        } else {
            // SAFETY: `prev` was enqueued and its consumer cannot finish with
            // it before this link is stored: the consumer waits for the link.
            unsafe { &(*prev).next }
        };
        // Release: the consumer's Acquire load of this link sees `node`'s
        // fields (its callback) as written by the caller.
        link.store(node, Release);
        prev.is_null()
    }

    /// Whether nothing is queued (or being queued).
    ///
    /// Relaxed: the consumer's last look before it sleeps is ordered by the
    /// fence of its sleep flag's `announce` (sleep.rs).
    pub(crate) fn is_empty(&self) -> bool {
        self.tail.load(Relaxed).is_null()
    }

    /// Takes every queued callback. Only one thread may splice at a time.
    pub(crate) fn splice(&self) -> Option<Batch> {
        // Acquire pairs with the Release exchange of the producers.
        if self.tail.load(Acquire).is_null() {
            return None;
        }
        // The tail is set, so a first node is linked or about to be.
        let first = loop {
            // Acquire pairs with the producer's Release link store.
            let f = self.first.load(Acquire);
            if !f.is_null() {
                break f;
            }
            spin_hint();
        };
        self.first.store(ptr::null_mut(), Relaxed);
        // AcqRel: Acquire to see the last producer's node, Release so a
        // producer that then exchanges null and links into `first` does so
        // after the clearing store above.
        let last = self.tail.swap(ptr::null_mut(), AcqRel);
        debug_assert!(!last.is_null());
        Some(Batch { first, last })
    }
}

impl CallbackQueue {
    /// After `fork()`, in the child: cut the list where a producer of the
    /// parent, which does not exist here, exchanged the tail but never
    /// linked. The nodes behind the cut are leaked in the child (they remain
    /// the parent's to run); everything before it runs in both processes.
    ///
    /// # Safety
    ///
    /// No other thread uses the queue (true in a fork child's handler).
    #[cfg(not(loom))]
    pub(crate) unsafe fn repair_after_fork(&self) {
        // Relaxed (all below): a fork child's only thread, holding the
        // domain's locks.
        let tail = self.tail.load(Relaxed);
        if tail.is_null() {
            return;
        }
        let mut node = self.first.load(Relaxed);
        if node.is_null() {
            self.tail.store(ptr::null_mut(), Relaxed);
            return;
        }
        while node != tail {
            // SAFETY: `node` is linked, so queued and valid.
            // Relaxed: as above.
            let next = unsafe { (*node).next.load(Relaxed) };
            if next.is_null() {
                self.tail.store(node, Relaxed);
                return;
            }
            node = next;
        }
    }
}

impl Batch {
    /// After `fork()`, in the child: cut the batch where a producer of the
    /// parent exchanged the tail but never stored its link (a splice can
    /// take the list between the two steps). Walking it would otherwise
    /// wait for that link forever. The nodes behind the cut are leaked in
    /// the child, as in [`CallbackQueue::repair_after_fork`].
    ///
    /// # Safety
    ///
    /// The caller owns the batch and no other thread exists.
    #[cfg(not(loom))]
    pub(crate) unsafe fn repair_after_fork(&mut self) {
        let mut node = self.first;
        while node != self.last {
            // SAFETY: nodes up to `last` that are linked are ours.
            let next = unsafe { (*node).next.load(Relaxed) };
            if next.is_null() {
                self.last = node;
                return;
            }
            node = next;
        }
    }

    /// The node after `node` in this batch, waiting for a producer that has
    /// exchanged the tail but not yet linked. None after the last node.
    ///
    /// # Safety
    ///
    /// `node` is a node of this batch that has not been handed back to its
    /// owner (its callback has not run).
    #[inline]
    pub(crate) unsafe fn next(&self, node: *mut RcuHead) -> Option<*mut RcuHead> {
        if node == self.last {
            return None;
        }
        loop {
            // SAFETY: per the contract, `node` is still ours.
            // Acquire pairs with the producer's Release link store.
            let n = unsafe { (*node).next.load(Acquire) };
            if !n.is_null() {
                return Some(n);
            }
            spin_hint();
        }
    }

    /// Appends `other` after this batch's last node.
    ///
    /// # Safety
    ///
    /// Both batches are owned by the caller and disjoint.
    pub(crate) unsafe fn append(&mut self, other: Batch) {
        // SAFETY: `last` is ours. Its `next` is null and stays so: a producer
        // that exchanged the tail for it would have made its own node the
        // tail, and so the `last` of this batch, before the splice.
        // Relaxed: batches move between threads under a mutex.
        unsafe { (*self.last).next.store(other.first, Relaxed) };
        self.last = other.last;
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A fork child hung walking a batch spliced between a producer's
    /// tail exchange and its link store: `repair_after_fork` mended only
    /// the unspliced queue. The batch is now cut at the missing link.
    #[test]
    fn fork_child_hangs_on_spliced_half_linked_batch() {
        let q = CallbackQueue::new();
        let nodes: Vec<*mut RcuHead> = (0..3)
            .map(|_| Box::into_raw(Box::new(RcuHead::new())))
            .collect();
        // SAFETY: fresh nodes, owned by the test until freed below.
        unsafe {
            q.enqueue(nodes[0]);
            q.enqueue(nodes[1]);
            // A producer that exchanged the tail and vanished (the fork
            // came before its link store).
            // Relaxed: the model's producer stands for one that vanished; one
            // thread.
            (*nodes[2]).next.store(ptr::null_mut(), Relaxed);
            q.tail.swap(nodes[2], AcqRel);
        }
        let mut batch = q.splice().expect("three nodes queued");
        assert_eq!(batch.last, nodes[2]);
        // SAFETY: the batch is ours; no other thread uses it.
        unsafe { batch.repair_after_fork() };
        assert_eq!(
            batch.last, nodes[1],
            "the batch ends before the missing link"
        );
        let mut walked = vec![batch.first];
        // SAFETY: walking our batch.
        while let Some(n) = unsafe { batch.next(*walked.last().unwrap()) } {
            walked.push(n);
        }
        assert_eq!(walked, &nodes[..2]);
        for n in nodes {
            // SAFETY: boxed above, no longer queued.
            drop(unsafe { Box::from_raw(n) });
        }
    }
}

#[cfg(all(test, loom))]
pub(crate) mod loom_model {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// Boxed heads for a model, shared by its threads.
    pub(crate) struct Nodes(pub(crate) Vec<*mut RcuHead>);
    // SAFETY: the nodes are only touched through the queue's protocol.
    unsafe impl Send for Nodes {}
    unsafe impl Sync for Nodes {}

    impl Nodes {
        pub(crate) fn new(n: usize) -> Arc<Nodes> {
            Arc::new(Nodes(
                (0..n)
                    .map(|_| Box::into_raw(Box::new(RcuHead::new())))
                    .collect(),
            ))
        }
    }

    /// Two producers (one enqueuing twice) against a consumer that splices
    /// until it has everything: nothing lost, nothing twice, per-producer
    /// order kept, and the consumer never walks past a batch's last node.
    #[test]
    fn loom_queue_producers_against_splice() {
        loom::model(|| {
            let q = Arc::new(CallbackQueue::new());
            let nodes = Nodes::new(3);
            let (qa, na) = (q.clone(), nodes.clone());
            let a = thread::spawn(move || unsafe {
                qa.enqueue(na.0[0]);
                qa.enqueue(na.0[1]);
            });
            let (qb, nb) = (q.clone(), nodes.clone());
            let b = thread::spawn(move || unsafe { qb.enqueue(nb.0[2]) });
            let mut seen = Vec::new();
            while seen.len() < 3 {
                if let Some(batch) = q.splice() {
                    let mut node = batch.first;
                    loop {
                        seen.push(node);
                        match unsafe { batch.next(node) } {
                            Some(n) => node = n,
                            None => break,
                        }
                    }
                } else {
                    thread::yield_now();
                }
            }
            a.join().unwrap();
            b.join().unwrap();
            assert!(
                q.splice().is_none(),
                "nothing left after all three were taken"
            );
            let pos = |p| {
                seen.iter()
                    .position(|&s| s == p)
                    .expect("every node arrives")
            };
            assert!(
                pos(nodes.0[0]) < pos(nodes.0[1]),
                "a producer's order is kept"
            );
            let mut uniq = seen.clone();
            uniq.sort();
            uniq.dedup();
            assert_eq!(uniq.len(), 3, "no node twice");
            for &n in &nodes.0 {
                drop(unsafe { Box::from_raw(n) });
            }
        });
    }
}
