//! `RcuList`: a doubly-linked intrusive list that readers walk under a
//! read guard while one writer at a time changes it.

use super::link::{self, ListLink};
use super::lock::{WriterGuard, WriterLock};
use super::node::{link_of, node_of, NodeBox, RcuListNode};
use super::NotInList;
use crate::flavor::{Flavor, Memb, ReadSection};
use std::marker::PhantomData;
use std::ptr::NonNull;

/// An intrusive doubly-linked list of `T`s shared under RCU: liburcu's
/// `cds_list_*_rcu`, for Rust.
///
/// Readers [`iter`](Self::iter) under a read guard of flavor `F` and get
/// references that live as long as the guard. Writers take the list's
/// [`writer`](Self::writer) lock (one at a time) and add, replace and
/// remove nodes; a removed node stays readable by the readers that found
/// it and is freed after a grace period, by its owning pointer `B`:
/// `Box<T>` through `call_rcu` with the head in its [`ListLink`], or the
/// slab layer's `SlabBox` through `kfree_rcu`. The writer never waits for
/// a grace period, so it may write inside a read section or a callback.
/// The writer's lock is an ordinary mutex: a `fork()` while another thread
/// holds it leaves it held in the child, and a writer that waits for a
/// grace period or a barrier must not hold it if callbacks take it.
///
/// ```
/// use urcu_core::{memb, rcu_list_node, ListLink, RcuList};
///
/// struct Route { prefix: u32, link: ListLink }
/// rcu_list_node!(Route, link);
///
/// let routes: RcuList<Route> = RcuList::new();
/// let mut w = routes.writer();
/// w.push_back(Box::new(Route { prefix: 10, link: ListLink::new() }));
/// w.push_back(Box::new(Route { prefix: 192, link: ListLink::new() }));
/// drop(w);
///
/// let guard = memb::read_lock();
/// let first = routes.iter(&guard).next().unwrap();
/// routes.writer().remove(first).unwrap(); // freed after a grace period
/// assert_eq!(first.prefix, 10); // still readable under the guard
/// let left: Vec<u32> = routes.iter(&guard).map(|r| r.prefix).collect();
/// assert_eq!(left, [192]);
/// ```
pub struct RcuList<T: RcuListNode, F: Flavor = Memb, B: NodeBox<T> = Box<T>> {
    /// The list's sentinel, at a fixed address (nodes point at it).
    sentinel: Box<ListLink>,
    /// Held by the writer: the list changes under one writer at a time.
    lock: WriterLock,
    _marker: PhantomData<(B, F, T)>,
}

// SAFETY: the list owns its nodes through B (sent with it) and hands out
// only &T (T: Sync); all shared state is atomics or behind the lock.
unsafe impl<T: RcuListNode, F: Flavor, B: NodeBox<T> + Send> Send for RcuList<T, F, B> {}
// SAFETY: readers on any thread get &T (T: Sync); writers serialize on
// the lock; removed nodes are freed on krcu's helper threads (B: Send).
unsafe impl<T: RcuListNode, F: Flavor, B: NodeBox<T> + Send> Sync for RcuList<T, F, B> {}

impl<T: RcuListNode, F: Flavor, B: NodeBox<T>> RcuList<T, F, B> {
    /// An empty list.
    pub fn new() -> Self {
        let sentinel = Box::new(ListLink::new());
        link::init_sentinel(&sentinel);
        RcuList {
            sentinel,
            lock: WriterLock::new(),
            _marker: PhantomData,
        }
    }

    fn sentinel(&self) -> *mut ListLink {
        &*self.sentinel as *const ListLink as *mut ListLink
    }

    /// The nodes, first to last, as they are while the walk passes them;
    /// each reference lives as long as the guard.
    pub fn iter<'g>(&'g self, _guard: &'g impl ReadSection<F>) -> Iter<'g, T> {
        Iter {
            // SAFETY: the sentinel is in the list, and the guard's read
            // section lasts as long as the iterator.
            next: unsafe { link::next(&self.sentinel) },
            sentinel: self.sentinel(),
            _marker: PhantomData,
        }
    }

    /// Whether the list has no node (as of the load).
    pub fn is_empty(&self) -> bool {
        // SAFETY: only compared, never followed.
        unsafe { link::next(&self.sentinel) == self.sentinel() }
    }

    /// Takes the writer's lock: the returned writer changes the list.
    /// Writers wait for each other, never for readers.
    ///
    /// # Panics
    ///
    /// On a thread that holds this list's writer already (it would wait
    /// for itself).
    #[track_caller]
    pub fn writer(&self) -> ListWriter<'_, T, F, B> {
        ListWriter {
            list: self,
            _lock: self.lock.lock(),
        }
    }

    /// The node behind a link of this list.
    fn node(link: *mut ListLink) -> NonNull<T> {
        // SAFETY: a link of the list, inside a node (not the sentinel).
        node_of(unsafe { NonNull::new_unchecked(link) }, T::LINK)
    }
}

impl<T: RcuListNode, F: Flavor, B: NodeBox<T>> Default for RcuList<T, F, B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: RcuListNode, F: Flavor, B: NodeBox<T>> Drop for RcuList<T, F, B> {
    fn drop(&mut self) {
        // No reader can hold a node: their references borrow the list.
        let s = self.sentinel();
        let mut l = link::next_locked(&self.sentinel);
        while l != s {
            // SAFETY: a node of the list, which owns it.
            let next = link::next_locked(unsafe { &*l });
            // SAFETY: given up by `into_raw` on insertion; unreachable now.
            unsafe { B::free_now(Self::node(l)) };
            l = next;
        }
    }
}

/// Walks an [`RcuList`] under a read guard.
pub struct Iter<'g, T> {
    next: *mut ListLink,
    sentinel: *mut ListLink,
    _marker: PhantomData<&'g T>,
}

impl<'g, T: RcuListNode> Iterator for Iter<'g, T> {
    type Item = &'g T;

    fn next(&mut self) -> Option<&'g T> {
        if self.next == self.sentinel {
            return None;
        }
        let l = self.next;
        // SAFETY: reached from the list under the guard: the node is
        // alive until the guard's read section ends (`'g`), even if it is
        // removed meanwhile, and so is its successor.
        unsafe {
            self.next = link::next(&*l);
            Some(node_of::<T, ListLink>(NonNull::new_unchecked(l), T::LINK).as_ref())
        }
    }
}

/// The writer of an [`RcuList`]: holds its lock.
pub struct ListWriter<'a, T: RcuListNode, F: Flavor, B: NodeBox<T>> {
    list: &'a RcuList<T, F, B>,
    _lock: WriterGuard<'a>,
}

impl<T: RcuListNode, F: Flavor, B: NodeBox<T>> ListWriter<'_, T, F, B> {
    /// The link of `node` if `node` is in this list.
    fn own<'n>(&self, node: &'n T) -> Result<&'n ListLink, NotInList> {
        // SAFETY: the link is inside the node, which the caller borrows.
        let l = unsafe { link_of::<T, ListLink>(NonNull::from(node), T::LINK).as_ref() };
        // Relaxed: only this list's writer stores this list's sentinel in
        // a link, and it holds the lock.
        if l.list.load(std::sync::atomic::Ordering::Relaxed) == self.list.sentinel() {
            Ok(l)
        } else {
            Err(NotInList)
        }
    }

    /// Adds `node` first.
    pub fn push_front(&mut self, node: B) {
        let new = link_of::<T, ListLink>(B::into_raw(node), T::LINK);
        // SAFETY: under the lock; the sentinel is in the list; `new` is in
        // a fresh node no reader can reach, owned by the list from now on.
        unsafe { link::insert_after(&self.list.sentinel, new.as_ref()) };
    }

    /// Adds `node` last.
    pub fn push_back(&mut self, node: B) {
        let new = link_of::<T, ListLink>(B::into_raw(node), T::LINK);
        let last = link::prev_locked(&self.list.sentinel);
        // SAFETY: as in `push_front`; `last` is in the list (or is the
        // sentinel).
        unsafe { link::insert_after(&*last, new.as_ref()) };
    }

    /// Unlinks `node` and frees it after a grace period; readers that
    /// found it may keep reading it until then. `NotInList` (and nothing
    /// changed) when `node` is not in this list.
    pub fn remove(&mut self, node: &T) -> Result<(), NotInList> {
        let l = self.own(node)?;
        // SAFETY: under the lock; `l` is in the list.
        unsafe { link::unlink(l) };
        self.retire(NonNull::from(node));
        Ok(())
    }

    /// Puts `new` where `old` is and frees `old` after a grace period; a
    /// reader sees one or the other, never neither. `old` not in this
    /// list: `new` is handed back and nothing changed.
    pub fn replace(&mut self, old: &T, new: B) -> Result<(), (NotInList, B)> {
        let l = match self.own(old) {
            Ok(l) => l,
            Err(e) => return Err((e, new)),
        };
        let n = link_of::<T, ListLink>(B::into_raw(new), T::LINK);
        // SAFETY: under the lock; `l` is in the list, `n` in a fresh node.
        unsafe { link::replace(l, n.as_ref()) };
        self.retire(NonNull::from(old));
        Ok(())
    }

    /// Removes (and frees after a grace period) every node for which `keep`
    /// returns false; returns how many.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) -> usize {
        let s = self.list.sentinel();
        let mut removed = 0;
        let mut l = link::next_locked(&self.list.sentinel);
        while l != s {
            // SAFETY: a node of the list, alive while the lock is held.
            let next = link::next_locked(unsafe { &*l });
            let node = RcuList::<T, F, B>::node(l);
            // SAFETY: as above.
            if !keep(unsafe { node.as_ref() }) {
                // SAFETY: under the lock; `l` is in the list.
                unsafe { link::unlink(&*l) };
                self.retire(node);
                removed += 1;
            }
            l = next;
        }
        removed
    }

    /// Removes the first node (freed after a grace period); false when the
    /// list is empty.
    pub fn pop_front(&mut self) -> bool {
        let mut first = true;
        self.retain(|_| !std::mem::take(&mut first)) == 1
    }

    /// The nodes, first to last (the writer needs no guard: no node can be
    /// freed while it holds the lock and this borrow).
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        let s = self.list.sentinel();
        let mut l = link::next_locked(&self.list.sentinel);
        std::iter::from_fn(move || {
            if l == s {
                return None;
            }
            let node = RcuList::<T, F, B>::node(l);
            // SAFETY: a node of the list, alive while the lock is held.
            l = link::next_locked(unsafe { &*l });
            // SAFETY: as above, for the borrow of the writer.
            Some(unsafe { node.as_ref() })
        })
    }

    /// How many nodes the list has.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the list has no node.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    fn retire(&self, node: NonNull<T>) {
        // SAFETY: unlinked above, so no new reader can reach it; its head is
        // unused (a node is retired once: it is in no list any more); the
        // writer does not touch it again.
        unsafe { B::retire::<F, (ListLink, T)>(node) };
    }
}
