//! The core's RCU lists with nodes in a slab cache (`SlabBox`): a removed
//! node is freed by kfree_rcu, through the first word of its link's head,
//! after a grace period of both flavors, with its value dropped by the
//! cache's rcu_dtor; readers of either flavor walk meanwhile.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use urcu_core::{memb, qsbr, rcu_hlist_node, rcu_list_node, HListLink, ListLink, Memb, Qsbr};
use urcu_core::{RcuHList, RcuList};
use urcu_slab::{kvfree_rcu_barrier, stats, Cache, SlabBox};

static DROPS: AtomicU64 = AtomicU64::new(0);

struct Entry {
    key: u64,
    alive: AtomicBool,
    link: ListLink,
}
rcu_list_node!(Entry, link);

impl Drop for Entry {
    fn drop(&mut self) {
        // Relaxed: a poison for readers that would read freed memory.
        self.alive.store(false, Relaxed);
        DROPS.fetch_add(1, Relaxed);
    }
}

struct Slot {
    key: u64,
    link: HListLink,
}
rcu_hlist_node!(Slot, link);

fn entry(key: u64) -> Entry {
    Entry {
        key,
        alive: AtomicBool::new(true),
        link: ListLink::new(),
    }
}

/// Pushes slots with keys `0..n` from `cache` onto `bucket`.
fn fill<'c, F: urcu_core::Flavor>(
    bucket: &RcuHList<Slot, F, SlabBox<'c, Slot>>,
    cache: &'c Cache<Slot>,
    n: u64,
) {
    for key in 0..n {
        let slot = Slot {
            key,
            link: HListLink::new(),
        };
        bucket.writer().push_front(cache.alloc(slot).unwrap());
    }
}

#[test]
fn slab_nodes_are_freed_by_kfree_rcu_after_both_flavors_grace_periods() {
    let cache: Cache<Entry> = Cache::new("rcu-list entries").unwrap();
    let slots: Cache<Slot> = Cache::new("rcu-hlist slots").unwrap();
    {
        let list: RcuList<Entry, Memb, SlabBox<'_, Entry>> = RcuList::new();
        let bucket: RcuHList<Slot, Qsbr, SlabBox<'_, Slot>> = RcuHList::new();
        for k in 0..1000 {
            list.writer().push_back(cache.alloc(entry(k)).unwrap());
        }
        fill(&bucket, &slots, 1000);
        let freed = || {
            let s = stats();
            s.kfree_rcu_bulk + s.kfree_rcu_list + s.kfree_rcu_sheaf
        };
        let batched_before = freed();
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(Relaxed) {
                    let g = memb::read_lock();
                    for e in list.iter(&g) {
                        assert!(e.alive.load(Relaxed), "an entry freed under a reader");
                    }
                }
            });
            s.spawn(|| {
                let mut reader = qsbr::Reader::register();
                while !stop.load(Relaxed) {
                    let g = reader.read_lock();
                    assert!(bucket.iter(&g).all(|s| s.key < 1000));
                    drop(g);
                    reader.quiescent_state();
                }
            });
            for round in 0..10 {
                assert_eq!(list.writer().retain(|e| e.key % 10 != round), 100);
                assert_eq!(bucket.writer().retain(|s| s.key % 10 != round), 100);
                let g = memb::read_lock();
                let first = list.iter(&g).next().map(|e| e.key);
                drop(g);
                if let Some(k) = first {
                    let mut w = list.writer();
                    let old: *const Entry = w.iter().next().unwrap();
                    // SAFETY: a node of the list, alive under the lock.
                    let old = unsafe { &*old };
                    assert!(w.replace(old, cache.alloc(entry(k)).unwrap()).is_ok());
                }
            }
            stop.store(true, Relaxed);
        });
        assert!(list.is_empty() && bucket.is_empty());
        kvfree_rcu_barrier();
        assert_eq!(
            DROPS.load(Relaxed),
            1009,
            "each removed or replaced entry dropped once, by the cache's rcu_dtor"
        );
        assert!(
            freed() >= batched_before + 2009,
            "the nodes went through kfree_rcu (its arrays, lists or sheaves)"
        );
    }
    assert_eq!(cache.stats().live, 0);
    assert_eq!(slots.stats().live, 0);
    cache.destroy().unwrap();
    slots.destroy().unwrap();
}

#[test]
fn dropping_a_list_of_slab_nodes_frees_them_at_once() {
    let cache: Cache<Slot> = Cache::new("hlist drop").unwrap();
    let bucket: RcuHList<Slot, Memb, SlabBox<'_, Slot>> = RcuHList::new();
    fill(&bucket, &cache, 64);
    assert_eq!(cache.stats().live, 64);
    drop(bucket);
    assert_eq!(cache.stats().live, 0);
    cache.destroy().unwrap();
}

/// A cache destroyed right after its list's nodes were removed (their
/// kfree_rcu still waiting for a grace period) waits for them, then goes:
/// destroy runs the cache's barrier first.
#[test]
fn destroying_a_cache_right_after_its_nodes_left_a_list_waits_for_them() {
    let cache: Cache<Slot> = Cache::new("hlist destroy").unwrap();
    {
        let bucket: RcuHList<Slot, Qsbr, SlabBox<'_, Slot>> = RcuHList::new();
        fill(&bucket, &cache, 256);
        assert_eq!(bucket.writer().retain(|_| false), 256);
    }
    cache
        .destroy()
        .unwrap_or_else(|e| panic!("destroy refused with removed nodes in flight: {e:?}"));
}
