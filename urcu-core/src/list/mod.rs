//! Intrusive lists shared under RCU: [`RcuList`] (doubly linked, liburcu's
//! `cds_list_*_rcu`) and [`RcuHList`] (a hash bucket's list, liburcu's
//! `cds_hlist_*_rcu`).
//!
//! # The algorithm
//!
//! Readers walk forward only, through `next` pointers loaded with Acquire,
//! inside a read section of the list's flavor; they never write. One
//! writer at a time (each list has a lock) changes the list, and never
//! waits for a reader:
//!
//! * **insert**: fill the new node's own links while no reader can reach
//!   it, then store, with Release, the one pointer that makes it
//!   reachable. A reader that loads that pointer sees the node whole.
//! * **remove**: store the node's successor, with Release, into its
//!   predecessor's `next`. The removed node keeps its own `next`, so a
//!   reader standing on it walks on into the list; the node is freed only
//!   after a grace period, when no reader can stand on it any more.
//! * **replace**: as insert, at the removed node's place: a reader sees
//!   the old node or the new one, never neither.
//!
//! These steps are `link.rs`, written against `crate::primitive`'s atomics
//! and model-checked by `loom_model.rs`.
//!
//! # Ownership
//!
//! A list owns its nodes through an owning pointer `B` ([`NodeBox`]):
//! `Box<T>` (the default), freed through `call_rcu` with the 16-byte head
//! each link carries, or the slab layer's `SlabBox`, freed through
//! `kfree_rcu`. Readers get `&T` that borrow the guard and the list;
//! writers get the nodes' references from their own walk or from a
//! reader's. A writer's `remove` checks that the node is in this very list
//! (each link records its list), so a reference to a node of another list,
//! or to one already removed, is refused with [`NotInList`] and changes
//! nothing.

pub(crate) mod link;
#[cfg(not(loom))]
mod lock;
#[cfg(all(test, loom))]
mod loom_model;
#[cfg(not(loom))]
mod node;
#[cfg(not(loom))]
mod rcu_hlist;
#[cfg(not(loom))]
mod rcu_list;
#[cfg(all(test, not(loom)))]
mod tests;

pub use link::{HListLink, ListLink};
#[cfg(not(loom))]
pub use node::{NodeBox, NodeHead, RcuHListNode, RcuListNode};
#[cfg(not(loom))]
pub use rcu_hlist::{HIter, HListWriter, RcuHList};
#[cfg(not(loom))]
pub use rcu_list::{Iter, ListWriter, RcuList};

/// A writer was handed a node that is not in its list (another list's, or
/// one already removed): nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotInList;

impl std::fmt::Display for NotInList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "krcu: the node is not in this list (another list's, or already removed); \
             nothing changed",
        )
    }
}

impl std::error::Error for NotInList {}
