//! Memory: where every krcu object lives.
//!
//! Objects live in 64 KiB-aligned slabs obtained with `mmap`; a large
//! kmalloc object (over 8 KiB) gets a mapping of its own. An address map
//! records which 64 KiB chunks are krcu's, so from any pointer into a krcu
//! allocation the slab layer finds its header, cache, size and start, and a
//! pointer krcu did not allocate is recognised without touching it (a
//! panic names it). That lookup is what lets kfree_rcu take an 8-byte
//! `RcuPtr` link, or no link at all.
//!
//! * [`pages`]: mappings and the address map;
//! * [`slab`]: the slab header, its freelist and pending flags, and the
//!   lookup from a pointer to its [`Object`];
//! * [`freemark`]: the free mark every free object carries (double-free
//!   detection, always on);
//! * [`lock`]: the slab layer's blocking lock, safe to release in a fork
//!   child;
//! * [`object`]: the lookup as the public calls use it (a panic naming a
//!   foreign pointer).

pub(crate) mod freemark;
pub(crate) mod lock;
mod object;
pub(crate) mod pages;
pub(crate) mod slab;

pub(crate) use object::object_of;
