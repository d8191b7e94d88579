//! `RcuHList`: a singly-linked intrusive list with a one-word head (a
//! hash bucket), walked by readers under a read guard while one writer at
//! a time changes it.

use super::link::{self, HListLink};
use super::lock::{WriterGuard, WriterLock};
use super::node::{link_of, node_of, NodeBox, RcuHListNode};
use super::NotInList;
use crate::flavor::{Flavor, Memb, ReadSection};
use crate::primitive::AtomicPtr;
use std::marker::PhantomData;
use std::ptr::NonNull;

/// An intrusive hash-bucket list of `T`s shared under RCU: liburcu's
/// `cds_hlist_*_rcu`, for Rust. As [`RcuList`](crate::RcuList), with
/// nodes added at the head only.
///
/// ```
/// use urcu_core::{memb, rcu_hlist_node, HListLink, RcuHList};
///
/// struct Entry { key: u64, link: HListLink }
/// rcu_hlist_node!(Entry, link);
///
/// let bucket: RcuHList<Entry> = RcuHList::new();
/// bucket.writer().push_front(Box::new(Entry { key: 7, link: HListLink::new() }));
/// let guard = memb::read_lock();
/// assert!(bucket.iter(&guard).any(|e| e.key == 7));
/// assert_eq!(bucket.writer().retain(|e| e.key != 7), 1);
/// assert!(bucket.is_empty());
/// ```
pub struct RcuHList<T: RcuHListNode, F: Flavor = Memb, B: NodeBox<T> = Box<T>> {
    /// The first node's link, at a fixed address (the first node's
    /// `pprev` points at it).
    head: Box<AtomicPtr<HListLink>>,
    /// Held by the writer.
    lock: WriterLock,
    _marker: PhantomData<(B, F, T)>,
}

// SAFETY: as RcuList's.
unsafe impl<T: RcuHListNode, F: Flavor, B: NodeBox<T> + Send> Send for RcuHList<T, F, B> {}
// SAFETY: as RcuList's.
unsafe impl<T: RcuHListNode, F: Flavor, B: NodeBox<T> + Send> Sync for RcuHList<T, F, B> {}

impl<T: RcuHListNode, F: Flavor, B: NodeBox<T>> RcuHList<T, F, B> {
    /// An empty list.
    pub fn new() -> Self {
        RcuHList {
            head: Box::new(AtomicPtr::new(std::ptr::null_mut())),
            lock: WriterLock::new(),
            _marker: PhantomData,
        }
    }

    fn head(&self) -> *mut AtomicPtr<HListLink> {
        &*self.head as *const AtomicPtr<HListLink> as *mut AtomicPtr<HListLink>
    }

    /// The nodes, first to last, as they are while the walk passes them;
    /// each reference lives as long as the guard.
    pub fn iter<'g>(&'g self, _guard: &'g impl ReadSection<F>) -> HIter<'g, T> {
        HIter {
            // SAFETY: the guard's read section lasts as long as the
            // iterator.
            next: unsafe { link::h_first(&self.head) },
            _marker: PhantomData,
        }
    }

    /// Whether the list has no node (as of the load).
    pub fn is_empty(&self) -> bool {
        // SAFETY: only compared, never followed.
        unsafe { link::h_first(&self.head).is_null() }
    }

    /// Takes the writer's lock: the returned writer changes the list.
    ///
    /// # Panics
    ///
    /// As [`RcuList::writer`](crate::RcuList::writer).
    #[track_caller]
    pub fn writer(&self) -> HListWriter<'_, T, F, B> {
        HListWriter {
            list: self,
            _lock: self.lock.lock(),
        }
    }
}

impl<T: RcuHListNode, F: Flavor, B: NodeBox<T>> Default for RcuHList<T, F, B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: RcuHListNode, F: Flavor, B: NodeBox<T>> Drop for RcuHList<T, F, B> {
    fn drop(&mut self) {
        // Relaxed: exclusive access (`&mut self`; readers borrow the list).
        let mut l = self.head.load(std::sync::atomic::Ordering::Relaxed);
        while let Some(nn) = NonNull::new(l) {
            // SAFETY: a node of the list, which owns it.
            l = link::h_next_locked(unsafe { nn.as_ref() });
            // SAFETY: given up by `into_raw` on insertion; unreachable now.
            unsafe { B::free_now(node_of(nn, T::LINK)) };
        }
    }
}

/// Walks an [`RcuHList`] under a read guard.
pub struct HIter<'g, T> {
    next: *mut HListLink,
    _marker: PhantomData<&'g T>,
}

impl<'g, T: RcuHListNode> Iterator for HIter<'g, T> {
    type Item = &'g T;

    fn next(&mut self) -> Option<&'g T> {
        let l = NonNull::new(self.next)?;
        // SAFETY: reached from the list under the guard: alive until the
        // guard's read section ends, even if removed meanwhile.
        unsafe {
            self.next = link::h_next(l.as_ref());
            Some(node_of::<T, HListLink>(l, T::LINK).as_ref())
        }
    }
}

/// The writer of an [`RcuHList`]: holds its lock.
pub struct HListWriter<'a, T: RcuHListNode, F: Flavor, B: NodeBox<T>> {
    list: &'a RcuHList<T, F, B>,
    _lock: WriterGuard<'a>,
}

impl<T: RcuHListNode, F: Flavor, B: NodeBox<T>> HListWriter<'_, T, F, B> {
    /// Adds `node` first.
    pub fn push_front(&mut self, node: B) {
        let new = link_of::<T, HListLink>(B::into_raw(node), T::LINK);
        // SAFETY: under the lock; `new` is in a fresh node no reader can
        // reach, owned by the list from now on.
        unsafe { link::h_add_head(&self.list.head, new.as_ref()) };
    }

    /// Unlinks `node` and frees it after a grace period (readers that
    /// found it may keep reading it until then); `NotInList` (and nothing
    /// changed) when `node` is not in this list.
    pub fn remove(&mut self, node: &T) -> Result<(), NotInList> {
        // SAFETY: the link is inside the node, which the caller borrows.
        let l = unsafe { link_of::<T, HListLink>(NonNull::from(node), T::LINK).as_ref() };
        // Relaxed: only this list's writer stores this list's head in a
        // link, and it holds the lock.
        if l.list.load(std::sync::atomic::Ordering::Relaxed) != self.list.head() {
            return Err(NotInList);
        }
        // SAFETY: under the lock; `l` is in the list.
        unsafe { link::h_unlink(l) };
        self.retire(NonNull::from(node));
        Ok(())
    }

    /// Removes (and frees after a grace period) every node for which `keep`
    /// returns false; returns how many.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) -> usize {
        let mut removed = 0;
        // Relaxed: the writer's own stores (under the lock).
        let mut l = self.list.head.load(std::sync::atomic::Ordering::Relaxed);
        while let Some(nn) = NonNull::new(l) {
            // SAFETY: a node of the list, alive while the lock is held.
            let link = unsafe { nn.as_ref() };
            l = link::h_next_locked(link);
            let node = node_of::<T, HListLink>(nn, T::LINK);
            // SAFETY: as above.
            if !keep(unsafe { node.as_ref() }) {
                // SAFETY: under the lock; `link` is in the list.
                unsafe { link::h_unlink(link) };
                self.retire(node);
                removed += 1;
            }
        }
        removed
    }

    /// The nodes, first to last (no guard needed: no node can be freed
    /// while the writer holds the lock and this borrow).
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        // Relaxed: the writer's own stores.
        let mut l = self.list.head.load(std::sync::atomic::Ordering::Relaxed);
        std::iter::from_fn(move || {
            let nn = NonNull::new(l)?;
            // SAFETY: a node of the list, alive while the lock is held.
            l = link::h_next_locked(unsafe { nn.as_ref() });
            // SAFETY: as above, for the borrow of the writer.
            Some(unsafe { node_of::<T, HListLink>(nn, T::LINK).as_ref() })
        })
    }

    fn retire(&self, node: NonNull<T>) {
        // SAFETY: unlinked, so no new reader can reach it; its head is
        // unused; the writer does not touch it again.
        unsafe { B::retire::<F, (HListLink, T)>(node) };
    }
}
