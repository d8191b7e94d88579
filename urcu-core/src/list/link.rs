//! The links of the RCU lists and the steps that change and follow them:
//! the lock-free half of [`RcuList`](super::RcuList) and
//! [`RcuHList`](super::RcuHList), written against `crate::primitive`'s
//! atomics so that `loom_model.rs` explores this very code.
//!
//! Readers only follow `next` pointers, with Acquire loads (liburcu's
//! `rcu_dereference`). The writer (one at a time: the lists' lock) links a
//! node in by filling its own fields first, while no reader can reach it,
//! then storing the one pointer that makes it reachable with Release
//! (liburcu's `rcu_assign_pointer`): a reader whose Acquire load returns
//! the node sees the node's fields and the value the writer put in it.
//! Unlinking stores, with Release too, the removed node's successor in
//! its predecessor's `next`: a reader that reads that pointer from the
//! unlinking store, and not from the store that once published the
//! successor, still sees the successor whole. The removed node's own
//! `next` is left as it was, so a reader standing on it walks on into the
//! list; the node is freed only after a grace period.
//!
//! `prev`, `pprev` and `list` are the writer's alone (under the lock):
//! Relaxed throughout, by that reason.

use crate::head::RcuHead;
use crate::primitive::AtomicPtr;
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// A node's link into an [`RcuList`](super::RcuList): embed one in the
/// node type and name it with [`rcu_list_node!`](crate::rcu_list_node).
/// 40 bytes: the two list pointers, the list the node is in, and the
/// 16-byte head its removal is freed through after a grace period.
#[repr(C)]
#[derive(Debug)]
pub struct ListLink {
    next: AtomicPtr<ListLink>,
    /// Writer-only.
    prev: AtomicPtr<ListLink>,
    /// The sentinel of the list the node is in, null when in none.
    /// Writer-only.
    pub(crate) list: AtomicPtr<ListLink>,
    /// `call_rcu`'s head (for `Box` nodes), or, in its first word, the
    /// 8-byte link of the slab layer's `kfree_rcu` (for slab nodes).
    pub(crate) rcu: RcuHead,
}

impl ListLink {
    /// A link in no list.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        ListLink {
            next: AtomicPtr::new(ptr::null_mut()),
            prev: AtomicPtr::new(ptr::null_mut()),
            list: AtomicPtr::new(ptr::null_mut()),
            rcu: RcuHead::new(),
        }
    }

    /// A link in no list.
    #[cfg(loom)]
    pub fn new() -> Self {
        ListLink {
            next: AtomicPtr::new(ptr::null_mut()),
            prev: AtomicPtr::new(ptr::null_mut()),
            list: AtomicPtr::new(ptr::null_mut()),
            rcu: RcuHead::new(),
        }
    }
}

impl Default for ListLink {
    fn default() -> Self {
        Self::new()
    }
}

fn p(l: &ListLink) -> *mut ListLink {
    l as *const ListLink as *mut ListLink
}

/// Makes `s` an empty list's sentinel (it points at itself both ways).
pub(crate) fn init_sentinel(s: &ListLink) {
    // Relaxed: before the list is shared (its constructor).
    s.next.store(p(s), Relaxed);
    s.prev.store(p(s), Relaxed);
    s.list.store(p(s), Relaxed);
}

/// The node after `l` (the sentinel at the end), for a reader.
///
/// # Safety
///
/// `l` is in a list, or was unlinked less than a grace period ago, and the
/// caller is inside a read section of the list's flavor.
pub(crate) unsafe fn next(l: &ListLink) -> *mut ListLink {
    // Acquire: pairs with the Release of `insert_after`, `unlink` and
    // `replace`: the node's fields and contents are visible.
    l.next.load(Acquire)
}

/// The node after `l`, for the writer.
pub(crate) fn next_locked(l: &ListLink) -> *mut ListLink {
    // Relaxed: the writer made every link it reads (the lock orders its
    // predecessors' stores before it).
    l.next.load(Relaxed)
}

/// The node before `l`, for the writer.
pub(crate) fn prev_locked(l: &ListLink) -> *mut ListLink {
    // Relaxed: writer-only.
    l.prev.load(Relaxed)
}

/// Links `new` in after `pos` (liburcu's `cds_list_add_rcu`).
///
/// # Safety
///
/// Under the list's lock; `pos` is in the list (or its sentinel), `new` in
/// none and reachable by no reader; both live until unlinked and a grace
/// period has passed.
pub(crate) unsafe fn insert_after(pos: &ListLink, new: &ListLink) {
    let next = next_locked(pos);
    // Relaxed: no reader can reach `new` before the Release below.
    new.next.store(next, Relaxed);
    new.prev.store(p(pos), Relaxed);
    // Relaxed: writer-only field.
    new.list.store(pos.list.load(Relaxed), Relaxed);
    // SAFETY: `next` is in the list (or is its sentinel), per the caller.
    // Relaxed: writer-only field.
    unsafe { (*next).prev.store(p(new), Relaxed) };
    // Release: publishes `new` (its fields and the node around it) to the
    // readers' Acquire in `next`.
    pos.next.store(p(new), Release);
}

/// Unlinks `l` (liburcu's `cds_list_del_rcu`); its own `next` stays, for
/// readers standing on it.
///
/// # Safety
///
/// Under the list's lock; `l` is in the list (not its sentinel).
pub(crate) unsafe fn unlink(l: &ListLink) {
    let (prev, next) = (prev_locked(l), next_locked(l));
    // SAFETY: `l`'s neighbours are in the list, per the caller.
    unsafe {
        // Relaxed: writer-only field.
        (*next).prev.store(prev, Relaxed);
        // Release: a reader that reads `next` from this store sees it
        // whole (see the module's documentation).
        (*prev).next.store(next, Release);
    }
    // Relaxed: writer-only field.
    l.list.store(ptr::null_mut(), Relaxed);
}

/// Puts `new` where `old` is (liburcu's `cds_list_replace_rcu`); `old`
/// keeps its `next`, for readers standing on it.
///
/// # Safety
///
/// Under the list's lock; `old` is in the list (not its sentinel), `new`
/// in none and reachable by no reader.
pub(crate) unsafe fn replace(old: &ListLink, new: &ListLink) {
    let (prev, next) = (prev_locked(old), next_locked(old));
    // Relaxed: no reader can reach `new` before the Release below.
    new.next.store(next, Relaxed);
    new.prev.store(prev, Relaxed);
    // Relaxed: writer-only fields.
    new.list.store(old.list.load(Relaxed), Relaxed);
    old.list.store(ptr::null_mut(), Relaxed);
    // SAFETY: `old`'s neighbours are in the list, per the caller.
    unsafe {
        // Relaxed: writer-only field.
        (*next).prev.store(p(new), Relaxed);
        // Release: publishes `new`, as in `insert_after`.
        (*prev).next.store(p(new), Release);
    }
}

/// A node's link into an [`RcuHList`](super::RcuHList): embed one in the
/// node type and name it with [`rcu_hlist_node!`](crate::rcu_hlist_node).
/// A hash bucket's list: singly linked forward, with a pointer to the
/// pointer that points at the node, so that the head is one word.
#[repr(C)]
#[derive(Debug)]
pub struct HListLink {
    next: AtomicPtr<HListLink>,
    /// The `next` (or the list's head) that points at this node.
    /// Writer-only.
    pprev: AtomicPtr<AtomicPtr<HListLink>>,
    /// The head of the list the node is in, null when in none.
    /// Writer-only.
    pub(crate) list: AtomicPtr<AtomicPtr<HListLink>>,
    /// As [`ListLink`]'s.
    pub(crate) rcu: RcuHead,
}

impl HListLink {
    /// A link in no list.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        HListLink {
            next: AtomicPtr::new(ptr::null_mut()),
            pprev: AtomicPtr::new(ptr::null_mut()),
            list: AtomicPtr::new(ptr::null_mut()),
            rcu: RcuHead::new(),
        }
    }

    /// A link in no list.
    #[cfg(loom)]
    pub fn new() -> Self {
        HListLink {
            next: AtomicPtr::new(ptr::null_mut()),
            pprev: AtomicPtr::new(ptr::null_mut()),
            list: AtomicPtr::new(ptr::null_mut()),
            rcu: RcuHead::new(),
        }
    }
}

impl Default for HListLink {
    fn default() -> Self {
        Self::new()
    }
}

fn hp(l: &HListLink) -> *mut HListLink {
    l as *const HListLink as *mut HListLink
}

fn slot(a: &AtomicPtr<HListLink>) -> *mut AtomicPtr<HListLink> {
    a as *const AtomicPtr<HListLink> as *mut AtomicPtr<HListLink>
}

/// The first node of the list at `head`, or of the rest after a node's
/// `next`: for a reader.
///
/// # Safety
///
/// As for [`next`].
pub(crate) unsafe fn h_first(head: &AtomicPtr<HListLink>) -> *mut HListLink {
    // Acquire: pairs with the Release of `h_add_head` and `h_unlink`.
    head.load(Acquire)
}

/// A node's `next`, for a reader.
///
/// # Safety
///
/// As for [`next`].
pub(crate) unsafe fn h_next(l: &HListLink) -> *mut HListLink {
    // SAFETY: forwarded contract.
    unsafe { h_first(&l.next) }
}

/// A node's `next`, for the writer.
pub(crate) fn h_next_locked(l: &HListLink) -> *mut HListLink {
    // Relaxed: as in `next_locked`.
    l.next.load(Relaxed)
}

/// Links `new` in first (liburcu's `cds_hlist_add_head_rcu`).
///
/// # Safety
///
/// Under the list's lock; `new` in no list and reachable by no reader;
/// `head` and every node live until unlinked and a grace period has
/// passed.
pub(crate) unsafe fn h_add_head(head: &AtomicPtr<HListLink>, new: &HListLink) {
    // Relaxed: the writer's own last store.
    let first = head.load(Relaxed);
    // Relaxed: no reader can reach `new` before the Release below.
    new.next.store(first, Relaxed);
    // Relaxed: writer-only fields.
    new.pprev.store(slot(head), Relaxed);
    new.list.store(slot(head), Relaxed);
    if !first.is_null() {
        // SAFETY: `first` is in the list, per the caller.
        // Relaxed: writer-only field.
        unsafe { (*first).pprev.store(slot(&new.next), Relaxed) };
    }
    // Release: publishes `new` to the readers' Acquire in `h_first`.
    head.store(hp(new), Release);
}

/// Unlinks `l` (liburcu's `cds_hlist_del_rcu`); its own `next` stays.
///
/// # Safety
///
/// Under the list's lock; `l` is in the list.
pub(crate) unsafe fn h_unlink(l: &HListLink) {
    let next = h_next_locked(l);
    // Relaxed: writer-only field.
    let pprev = l.pprev.load(Relaxed);
    // SAFETY: `pprev` is the head or a `next` of the list, and `next` a
    // node of it, per the caller.
    unsafe {
        // Release: as in `unlink`.
        (*pprev).store(next, Release);
        if !next.is_null() {
            // Relaxed: writer-only field.
            (*next).pprev.store(pprev, Relaxed);
        }
    }
    // Relaxed: writer-only field.
    l.list.store(ptr::null_mut(), Relaxed);
}
