//! What the lists need of a node type and of the pointer that owns it:
//! where the link is ([`RcuListNode`], [`RcuHListNode`], written by
//! [`rcu_list_node!`](crate::rcu_list_node) and
//! [`rcu_hlist_node!`](crate::rcu_hlist_node)), and how a removed node is
//! freed after a grace period ([`NodeBox`]).

use super::link::{HListLink, ListLink};
use crate::flavor::Flavor;
use crate::head::RcuHead;
use std::ptr::NonNull;

/// A type with a [`ListLink`] at a fixed offset, which an
/// [`RcuList`](super::RcuList) links its values through.
///
/// # Safety
///
/// `LINK` is the offset of a `ListLink` field of `Self`. Implement it with
/// [`rcu_list_node!`](crate::rcu_list_node), which checks the field's type.
pub unsafe trait RcuListNode: Send + Sync + 'static {
    /// The link's offset in `Self`.
    const LINK: usize;
}

/// A type with an [`HListLink`] at a fixed offset, which an
/// [`RcuHList`](super::RcuHList) links its values through.
///
/// # Safety
///
/// `LINK` is the offset of an `HListLink` field of `Self`. Implement it
/// with [`rcu_hlist_node!`](crate::rcu_hlist_node).
pub unsafe trait RcuHListNode: Send + Sync + 'static {
    /// The link's offset in `Self`.
    const LINK: usize;
}

/// Makes a type a node of [`RcuList`](crate::RcuList)s, linked through
/// one of its fields, a [`ListLink`](crate::ListLink).
///
/// ```
/// use urcu_core::{rcu_list_node, ListLink};
///
/// struct Route { prefix: u32, link: ListLink }
/// rcu_list_node!(Route, link);
/// ```
#[macro_export]
macro_rules! rcu_list_node {
    ($node:ty, $field:ident) => {
        const _: fn(&$node) -> &$crate::ListLink = |n| &n.$field;
        // SAFETY: the line above checks that the field is a ListLink;
        // offset_of! is its offset.
        unsafe impl $crate::RcuListNode for $node {
            const LINK: usize = ::core::mem::offset_of!($node, $field);
        }
    };
}

/// Makes a type a node of [`RcuHList`](crate::RcuHList)s, linked through
/// one of its fields, an [`HListLink`](crate::HListLink).
///
/// ```
/// use urcu_core::{rcu_hlist_node, HListLink};
///
/// struct Entry { key: u64, link: HListLink }
/// rcu_hlist_node!(Entry, link);
/// ```
#[macro_export]
macro_rules! rcu_hlist_node {
    ($node:ty, $field:ident) => {
        const _: fn(&$node) -> &$crate::HListLink = |n| &n.$field;
        // SAFETY: the line above checks that the field is an HListLink;
        // offset_of! is its offset.
        unsafe impl $crate::RcuHListNode for $node {
            const LINK: usize = ::core::mem::offset_of!($node, $field);
        }
    };
}

/// Where a node's RCU head is: `OFFSET` bytes into the node (the `rcu`
/// field of its link). The lists name it for [`NodeBox::retire`]:
/// `(ListLink, T)` for an [`RcuList`](super::RcuList) node,
/// `(HListLink, T)` for an [`RcuHList`](super::RcuHList) node.
///
/// # Safety
///
/// `OFFSET` is that of an [`RcuHead`] inside `T`, 8-byte aligned.
pub unsafe trait NodeHead<T> {
    /// The head's offset in the node.
    const OFFSET: usize;
}

// SAFETY: the link is `LINK` bytes into T (RcuListNode's contract), its
// `rcu` field an RcuHead (8-byte aligned: the link is repr(C) of pointers).
unsafe impl<T: RcuListNode> NodeHead<T> for (ListLink, T) {
    const OFFSET: usize = T::LINK + std::mem::offset_of!(ListLink, rcu);
}

// SAFETY: as above, for RcuHListNode.
unsafe impl<T: RcuHListNode> NodeHead<T> for (HListLink, T) {
    const OFFSET: usize = T::LINK + std::mem::offset_of!(HListLink, rcu);
}

/// An owning pointer a list holds its nodes by, and which frees a removed
/// node after a grace period: `Box<T>` (through `call_rcu`, with the
/// link's 16-byte head: no allocation), or the slab layer's `SlabBox`
/// (through `kfree_rcu`, batched, with the head's first word as its 8-byte
/// link).
///
/// # Safety
///
/// `into_raw` gives up ownership of a valid `T` that stays where it is;
/// `free_now` drops it and frees its memory; `retire` does the same after
/// a grace period of `F` (or a longer wait), never sooner, on any thread,
/// using only the head at `H::OFFSET` of the node's memory.
pub unsafe trait NodeBox<T>: Sized {
    /// Gives up ownership.
    fn into_raw(this: Self) -> NonNull<T>;

    /// Drops and frees a node no reader can reach.
    ///
    /// # Safety
    ///
    /// `node` came from `into_raw`, and nothing references it any more.
    unsafe fn free_now(node: NonNull<T>);

    /// Drops and frees `node` after a grace period of `F`.
    ///
    /// # Safety
    ///
    /// `node` came from `into_raw` and no new reader can reach it; its head
    /// at `H::OFFSET` is unused, and the caller does not use `node` again.
    unsafe fn retire<F: Flavor, H: NodeHead<T>>(node: NonNull<T>);
}

/// `call_rcu`'s callback for a `Box` node whose head is `H::OFFSET` bytes
/// into it.
unsafe extern "C" fn drop_box<T, H: NodeHead<T>>(head: *mut RcuHead) {
    // SAFETY: `head` is `H::OFFSET` bytes into a node given up by
    // Box::into_raw and retired once; its grace period has ended.
    drop(unsafe { Box::from_raw(head.cast::<u8>().sub(H::OFFSET).cast::<T>()) });
}

// SAFETY: Box's own into_raw/from_raw; `retire` queues the head with
// call_rcu, whose callback runs after a grace period of F and frees the
// node found `H::OFFSET` bytes before the head.
unsafe impl<T: Send> NodeBox<T> for Box<T> {
    fn into_raw(this: Self) -> NonNull<T> {
        // SAFETY: Box::into_raw never returns null.
        unsafe { NonNull::new_unchecked(Box::into_raw(this)) }
    }

    unsafe fn free_now(node: NonNull<T>) {
        // SAFETY: the caller's contract: from into_raw, unreferenced.
        drop(unsafe { Box::from_raw(node.as_ptr()) });
    }

    unsafe fn retire<F: Flavor, H: NodeHead<T>>(node: NonNull<T>) {
        // SAFETY: the head is inside the node, unused (the caller's
        // contract); drop_box frees the node after the grace period.
        unsafe {
            let head = node.as_ptr().cast::<u8>().add(H::OFFSET).cast::<RcuHead>();
            F::call_rcu(head, drop_box::<T, H>);
        }
    }
}

/// The node whose link is `offset` bytes into it.
pub(crate) fn node_of<T, L>(link: NonNull<L>, offset: usize) -> NonNull<T> {
    // SAFETY: the link is `offset` bytes into a T, so the result is the
    // T's address: in bounds and non-null.
    unsafe { NonNull::new_unchecked(link.as_ptr().cast::<u8>().sub(offset).cast::<T>()) }
}

/// The link of `node`, `offset` bytes into it.
pub(crate) fn link_of<T, L>(node: NonNull<T>, offset: usize) -> NonNull<L> {
    // SAFETY: `offset` is that of an L field of T (the node traits'
    // contract): in bounds and non-null.
    unsafe { NonNull::new_unchecked(node.as_ptr().cast::<u8>().add(offset).cast::<L>()) }
}
