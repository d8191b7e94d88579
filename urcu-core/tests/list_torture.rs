//! RcuList and RcuHList under load: readers walk while a writer inserts,
//! replaces and removes, for each flavor. A node's drop poisons it before
//! its memory is freed; a reader that reaches a poisoned node (one freed
//! under it) fails the test, as does a count of drops that does not add
//! up. `KRCU_LIST_SECS` sets the seconds per flavor (default 1).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use urcu_core::{
    memb, qsbr, rcu_hlist_node, rcu_list_node, Flavor, HListLink, ListLink, Memb, Qsbr, RcuHList,
    RcuList,
};

mod common;
use common::within;

const ALIVE: u64 = 0xa11e_a11e;
const DEAD: u64 = 0xdead_dead;

static DROPS: AtomicU64 = AtomicU64::new(0);

struct Node {
    key: u64,
    state: AtomicU64,
    link: ListLink,
}
rcu_list_node!(Node, link);

struct HNode {
    key: u64,
    state: AtomicU64,
    link: HListLink,
}
rcu_hlist_node!(HNode, link);

impl Drop for Node {
    fn drop(&mut self) {
        // Relaxed: a reader that reads it here reads freed memory too; the
        // poison makes that visible most of the time (and ASan always).
        self.state.store(DEAD, Relaxed);
        DROPS.fetch_add(1, Relaxed);
    }
}

impl Drop for HNode {
    fn drop(&mut self) {
        // Relaxed: as for Node.
        self.state.store(DEAD, Relaxed);
        DROPS.fetch_add(1, Relaxed);
    }
}

fn node(key: u64) -> Box<Node> {
    Box::new(Node {
        key,
        state: AtomicU64::new(ALIVE),
        link: ListLink::new(),
    })
}

fn hnode(key: u64) -> Box<HNode> {
    Box::new(HNode {
        key,
        state: AtomicU64::new(ALIVE),
        link: HListLink::new(),
    })
}

fn seconds() -> Duration {
    let s = std::env::var("KRCU_LIST_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    Duration::from_secs_f64(s)
}

struct Shared<F: Flavor> {
    list: RcuList<Node, F>,
    bucket: RcuHList<HNode, F>,
    stop: AtomicBool,
    walks: AtomicU64,
}

/// A node a reader reached: alive, with a key the writer could have given.
fn check(what: &str, state: &AtomicU64, key: u64) {
    assert_eq!(
        state.load(Relaxed),
        ALIVE,
        "a {what} node freed under a reader"
    );
    assert!(key < 1 << 40);
}

/// One reader's walk of both lists under `guard`: every node alive.
fn walk<F: Flavor>(s: &Shared<F>, guard: &impl urcu_core::ReadSection<F>) {
    for n in s.list.iter(guard) {
        check("list", &n.state, n.key);
    }
    for n in s.bucket.iter(guard) {
        check("bucket", &n.state, n.key);
    }
    s.walks.fetch_add(1, Relaxed);
}

/// The writer: a mix of inserts at both ends, replaces and removes, by a
/// cheap random sequence; returns how many nodes it created.
fn write<F: Flavor>(s: &Shared<F>, until: Instant) -> u64 {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut created = 0;
    let mut key = 0;
    while Instant::now() < until {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        key += 1;
        let mut w = s.list.writer();
        let len = w.len() as u64;
        match x % 6 {
            0 | 1 if len < 64 => {
                if x & 8 == 0 {
                    w.push_front(node(key));
                } else {
                    w.push_back(node(key));
                }
                created += 1;
            }
            2 => {
                let victim = (x >> 8) % len.max(1);
                let mut i = 0;
                w.retain(|_| {
                    i += 1;
                    i - 1 != victim
                });
            }
            3 if len > 0 => {
                let at = ((x >> 8) % len) as usize;
                let old: *const Node = w.iter().nth(at).unwrap();
                // SAFETY: a node of the list, alive while the lock is held
                // (the borrow of the walk ended above).
                assert!(w.replace(unsafe { &*old }, node(key)).is_ok());
                created += 1;
            }
            4 => {
                let mut b = s.bucket.writer();
                b.push_front(hnode(key));
                created += 1;
            }
            _ => {
                let mut b = s.bucket.writer();
                let drop_key = (x >> 8) % 4;
                b.retain(|n| n.key % 4 != drop_key);
            }
        }
    }
    created
}

fn torture<F: Flavor>(reader: fn(Arc<Shared<F>>)) {
    let before = DROPS.load(Relaxed);
    let s = Arc::new(Shared {
        list: RcuList::new(),
        bucket: RcuHList::new(),
        stop: AtomicBool::new(false),
        walks: AtomicU64::new(0),
    });
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || reader(s))
        })
        .collect();
    let created = write(&s, Instant::now() + seconds());
    s.stop.store(true, Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    assert!(s.walks.load(Relaxed) > 0);
    F::barrier();
    let s = Arc::try_unwrap(s).ok().expect("the readers are done");
    let left = (s.list.writer().len() + s.bucket.writer().iter().count()) as u64;
    assert_eq!(
        DROPS.load(Relaxed) - before,
        created - left,
        "every removed node freed once, after the barrier"
    );
    drop(s);
    assert_eq!(DROPS.load(Relaxed) - before, created);
    eprintln!("{}: {created} nodes", F::NAME);
}

#[test]
fn lists_under_readers_and_a_writer_on_both_flavors() {
    within("the list torture", || {
        torture::<Memb>(|s| {
            while !s.stop.load(Relaxed) {
                let guard = memb::read_lock();
                walk(&s, &guard);
            }
        });
        torture::<Qsbr>(|s| {
            let mut reader = qsbr::Reader::register();
            while !s.stop.load(Relaxed) {
                let guard = reader.read_lock();
                walk(&s, &guard);
                drop(guard);
                reader.quiescent_state();
            }
        });
    });
}
