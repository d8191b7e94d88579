use crate::{memb, qsbr, rcu_hlist_node, rcu_list_node, HListLink, ListLink, NotInList, Qsbr};
use crate::{RcuHList, RcuList};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// Drops counted by a test's nodes.
#[derive(Default)]
struct Drops(AtomicUsize);

impl Drops {
    fn add(&self) {
        // Relaxed: a count, read after the drops (barrier() or the
        // list's own drop on this thread) with `get`.
        self.0.fetch_add(1, Relaxed);
    }

    fn get(&self) -> usize {
        // Relaxed: the barrier's callbacks ran before it returned, and the
        // list's drop on this thread.
        self.0.load(Relaxed)
    }
}

/// A node that counts its drops in a counter of its test.
struct Node {
    value: u32,
    drops: Arc<Drops>,
    link: ListLink,
}
rcu_list_node!(Node, link);

impl Drop for Node {
    fn drop(&mut self) {
        self.drops.add();
    }
}

fn node(value: u32, drops: &Arc<Drops>) -> Box<Node> {
    Box::new(Node {
        value,
        drops: drops.clone(),
        link: ListLink::new(),
    })
}

fn values(list: &RcuList<Node>) -> Vec<u32> {
    let guard = memb::read_lock();
    list.iter(&guard).map(|n| n.value).collect()
}

#[test]
fn push_front_and_back_keep_order() {
    let drops = Arc::new(Drops::default());
    let list: RcuList<Node> = RcuList::new();
    assert!(list.is_empty());
    let mut w = list.writer();
    w.push_back(node(2, &drops));
    w.push_back(node(3, &drops));
    w.push_front(node(1, &drops));
    assert_eq!(w.len(), 3);
    assert_eq!(w.iter().map(|n| n.value).collect::<Vec<_>>(), [1, 2, 3]);
    drop(w);
    assert_eq!(values(&list), [1, 2, 3]);
    drop(list);
    assert_eq!(drops.get(), 3, "dropping the list drops its nodes");
}

#[test]
fn a_removed_node_stays_readable_and_is_freed_after_a_grace_period() {
    let drops = Arc::new(Drops::default());
    let list: RcuList<Node> = RcuList::new();
    for v in 1..=3 {
        list.writer().push_back(node(v, &drops));
    }
    let guard = memb::read_lock();
    let mut it = list.iter(&guard);
    let first = it.next().unwrap();
    list.writer().remove(first).unwrap();
    // The reader standing on the removed node still reads it and walks on.
    assert_eq!(first.value, 1);
    assert_eq!(it.map(|n| n.value).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(
        list.iter(&guard).map(|n| n.value).collect::<Vec<_>>(),
        [2, 3]
    );
    drop(guard);
    memb::barrier();
    assert_eq!(drops.get(), 1);
}

#[test]
fn a_node_of_another_list_or_removed_twice_is_refused_and_nothing_changes() {
    let drops = Arc::new(Drops::default());
    let a: RcuList<Node> = RcuList::new();
    let b: RcuList<Node> = RcuList::new();
    a.writer().push_back(node(1, &drops));
    b.writer().push_back(node(2, &drops));
    let guard = memb::read_lock();
    let in_b = b.iter(&guard).next().unwrap();
    assert_eq!(a.writer().remove(in_b), Err(NotInList));
    let in_a = a.iter(&guard).next().unwrap();
    a.writer().remove(in_a).unwrap();
    assert_eq!(a.writer().remove(in_a), Err(NotInList), "removed twice");
    let (err, back) = a.writer().replace(in_a, node(9, &drops)).unwrap_err();
    assert_eq!(err, NotInList);
    assert_eq!(back.value, 9, "replace hands the new node back");
    drop(back);
    let stray = Node {
        value: 5,
        drops: drops.clone(),
        link: ListLink::new(),
    };
    assert_eq!(a.writer().remove(&stray), Err(NotInList));
    drop(stray);
    assert!(a.is_empty());
    assert_eq!(b.iter(&guard).map(|n| n.value).collect::<Vec<_>>(), [2]);
    assert!(NotInList.to_string().contains("nothing changed"));
}

#[test]
fn replace_retain_and_pop_front() {
    let drops = Arc::new(Drops::default());
    let list: RcuList<Node> = RcuList::new();
    for v in 1..=6 {
        list.writer().push_back(node(v, &drops));
    }
    {
        let guard = memb::read_lock();
        let third = list.iter(&guard).nth(2).unwrap();
        assert!(list.writer().replace(third, node(30, &drops)).is_ok());
        assert_eq!(third.value, 3, "the old node stays readable");
    }
    assert_eq!(values(&list), [1, 2, 30, 4, 5, 6]);
    assert_eq!(list.writer().retain(|n| n.value % 2 == 0), 2);
    assert_eq!(values(&list), [2, 30, 4, 6]);
    assert!(list.writer().pop_front());
    assert_eq!(values(&list), [30, 4, 6]);
    let mut w = list.writer();
    while w.pop_front() {}
    assert!(w.is_empty());
    drop(w);
    memb::barrier();
    assert_eq!(drops.get(), 7);
}

struct QNode {
    value: u32,
    link: ListLink,
}
rcu_list_node!(QNode, link);

#[test]
fn a_qsbr_list_reads_under_qsbr_guards() {
    let _reg = qsbr::register_thread();
    let list: RcuList<QNode, Qsbr> = RcuList::new();
    list.writer().push_back(Box::new(QNode {
        value: 4,
        link: ListLink::new(),
    }));
    {
        let guard = qsbr::read_lock();
        let n = list.iter(&guard).next().unwrap();
        list.writer().remove(n).unwrap();
        assert_eq!(n.value, 4);
    }
    qsbr::barrier();
    let reader = qsbr::Reader::register();
    let guard = reader.read_lock();
    assert_eq!(list.iter(&guard).count(), 0);
}

struct HNode {
    key: u64,
    drops: Arc<Drops>,
    link: HListLink,
}
rcu_hlist_node!(HNode, link);

impl Drop for HNode {
    fn drop(&mut self) {
        self.drops.add();
    }
}

fn hnode(key: u64, drops: &Arc<Drops>) -> Box<HNode> {
    Box::new(HNode {
        key,
        drops: drops.clone(),
        link: HListLink::new(),
    })
}

#[test]
fn hlist_adds_at_the_head_removes_anywhere_and_refuses_strangers() {
    let drops = Arc::new(Drops::default());
    let bucket: RcuHList<HNode> = RcuHList::new();
    let other: RcuHList<HNode> = RcuHList::new();
    for k in 1..=4 {
        bucket.writer().push_front(hnode(k, &drops));
    }
    other.writer().push_front(hnode(9, &drops));
    let guard = memb::read_lock();
    let keys = |l: &RcuHList<HNode>| l.iter(&guard).map(|n| n.key).collect::<Vec<_>>();
    assert_eq!(keys(&bucket), [4, 3, 2, 1]);
    let three = bucket.iter(&guard).find(|n| n.key == 3).unwrap();
    let nine = other.iter(&guard).next().unwrap();
    let mut w = bucket.writer();
    assert_eq!(w.remove(nine), Err(NotInList));
    w.remove(three).unwrap();
    assert_eq!(w.remove(three), Err(NotInList));
    assert_eq!(w.iter().map(|n| n.key).collect::<Vec<_>>(), [4, 2, 1]);
    // The head, then the last.
    assert_eq!(w.retain(|n| n.key == 2), 2);
    drop(w);
    assert_eq!(
        three.key, 3,
        "a removed node stays readable under the guard"
    );
    assert_eq!(keys(&bucket), [2]);
    drop(guard);
    memb::barrier();
    assert_eq!(drops.get(), 3);
    drop(bucket);
    drop(other);
    assert_eq!(drops.get(), 5);
}

#[test]
fn a_callback_may_change_a_list() {
    let drops = Arc::new(Drops::default());
    let list: Arc<RcuList<Node>> = Arc::new(RcuList::new());
    for v in 0..4 {
        list.writer().push_back(node(v, &drops));
    }
    let l = list.clone();
    memb::defer(move || {
        // On the callback thread: the writer's lock, a removal (freed by
        // a later grace period) and an insertion.
        assert_eq!(l.writer().retain(|n| n.value != 2), 1);
        l.writer().push_front(node(9, &Arc::new(Drops::default())));
    });
    memb::barrier(); // the closure has run
    memb::barrier(); // the node it removed has been freed
    assert_eq!(values(&list), [9, 0, 1, 3]);
    assert_eq!(drops.get(), 1);
}

#[test]
fn a_second_writer_on_the_thread_that_holds_one_is_refused() {
    let drops = Arc::new(Drops::default());
    let list: RcuList<Node> = RcuList::new();
    let bucket: RcuHList<HNode> = RcuHList::new();
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut w = list.writer();
        w.push_back(node(1, &drops));
        let _again = list.writer();
    }))
    .expect_err("a second writer on one thread must be refused");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("would wait for itself"), "{msg}");
    // The first writer's lock was released on the way out.
    list.writer().push_back(node(2, &drops));
    assert_eq!(values(&list), [1, 2]);
    let _w = bucket.writer();
    assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| bucket.writer())).is_err());
    // Another thread waits for the writer as usual.
    drop(_w);
    std::thread::scope(|s| {
        let w = list.writer();
        let t = s.spawn(|| list.writer().len());
        drop(w);
        assert_eq!(t.join().unwrap(), 2);
    });
}
