//! The lists' lock-free half under loom: a reader walks while the writer
//! inserts, unlinks and replaces. Every node the reader reaches must hold
//! the value the writer put in it before linking it, and the walk must end.
//! The value is a plain cell, written by the writer before it links the
//! node and read by the reader: loom reports the read as a data race
//! unless the link's Release store and the reader's Acquire load order
//! it after the write. Nodes are never freed here (the
//! grace period is the core's, modelled elsewhere).
//!
//! The reader yields before each load: loom 0.7's search misses the
//! schedules in which a load runs before a store that its thread's own
//! earlier load of the same pointer precedes (the writer reads a `next`,
//! then stores it), and explores them from the yields instead. Dropping a
//! Release of `link.rs` makes these models fail (each was tried).

use super::link::{self, HListLink, ListLink};
use crate::primitive::AtomicPtr;
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;

#[repr(C)]
struct Node {
    link: ListLink,
    value: UnsafeCell<u64>,
}

#[repr(C)]
struct HNode {
    link: HListLink,
    value: UnsafeCell<u64>,
}

// SAFETY: the cells are written by the writer before their node is linked
// and read by the reader after; loom checks exactly that.
unsafe impl Sync for Node {}
// SAFETY: as for Node.
unsafe impl Sync for HNode {}

struct List {
    sentinel: ListLink,
    nodes: [Node; 3],
}

/// The writer fills a node before linking it.
fn fill(n: &UnsafeCell<u64>, v: u64) {
    // SAFETY: no reader can reach the node yet (loom checks it).
    n.with_mut(|p| unsafe { *p = v });
}

/// The reader reads a node it reached.
fn read(n: &UnsafeCell<u64>) -> u64 {
    // SAFETY: ordered after `fill` by the links (loom checks it).
    n.with(|p| unsafe { *p })
}

/// Walks `s`'s list as a reader, checking each node's value.
fn walk(s: &List) {
    let sentinel = &s.sentinel as *const ListLink as *mut ListLink;
    // SAFETY: the nodes live as long as the model.
    thread::yield_now();
    let mut l = unsafe { link::next(&s.sentinel) };
    for _ in 0..5 {
        if l == sentinel {
            return;
        }
        let node = l as *const Node;
        // SAFETY: a link of a node of `s` (repr(C), the link first).
        unsafe {
            assert_ne!(read(&(*node).value), 0, "a node seen unfilled");
            thread::yield_now();
            l = link::next(&(*node).link);
        }
    }
    panic!("the walk did not end");
}

#[test]
fn loom_list_reader_sees_whole_nodes_through_insert_unlink_replace() {
    loom::model(|| {
        let s = Arc::new(List {
            sentinel: ListLink::new(),
            nodes: [0, 1, 2].map(|_| Node {
                link: ListLink::new(),
                value: UnsafeCell::new(0),
            }),
        });
        link::init_sentinel(&s.sentinel);
        let w = s.clone();
        let writer = thread::spawn(move || {
            let [a, b, c] = &w.nodes;
            fill(&a.value, 1);
            // SAFETY: one writer; each node is linked once, unlinked once.
            unsafe { link::insert_after(&w.sentinel, &a.link) };
            fill(&b.value, 2);
            // SAFETY: as above; `a` is in the list.
            unsafe { link::insert_after(&a.link, &b.link) };
            // SAFETY: as above.
            unsafe { link::unlink(&a.link) };
            fill(&c.value, 3);
            // SAFETY: as above; `b` is in the list, `c` in none.
            unsafe { link::replace(&b.link, &c.link) };
        });
        walk(&s);
        writer.join().unwrap();
        walk(&s);
    });
}

struct Bucket {
    head: AtomicPtr<HListLink>,
    nodes: [HNode; 2],
}

fn hwalk(s: &Bucket) {
    // SAFETY: the nodes live as long as the model.
    thread::yield_now();
    let mut l = unsafe { link::h_first(&s.head) };
    for _ in 0..4 {
        if l.is_null() {
            return;
        }
        let node = l as *const HNode;
        // SAFETY: a link of a node of `s` (repr(C), the link first).
        unsafe {
            assert_ne!(read(&(*node).value), 0, "a node seen unfilled");
            thread::yield_now();
            l = link::h_next(&(*node).link);
        }
    }
    panic!("the walk did not end");
}

#[test]
fn loom_hlist_reader_sees_whole_nodes_through_add_and_unlink() {
    loom::model(|| {
        let s = Arc::new(Bucket {
            head: AtomicPtr::new(std::ptr::null_mut()),
            nodes: [0, 1].map(|_| HNode {
                link: HListLink::new(),
                value: UnsafeCell::new(0),
            }),
        });
        let w = s.clone();
        let writer = thread::spawn(move || {
            let [a, b] = &w.nodes;
            fill(&a.value, 1);
            // SAFETY: one writer; each node is linked once, unlinked once.
            unsafe { link::h_add_head(&w.head, &a.link) };
            fill(&b.value, 2);
            // SAFETY: as above.
            unsafe { link::h_add_head(&w.head, &b.link) };
            // SAFETY: as above; `b` is in the list.
            unsafe { link::h_unlink(&b.link) };
        });
        hwalk(&s);
        writer.join().unwrap();
        hwalk(&s);
    });
}
