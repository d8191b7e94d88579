//! Caches: fixed-size objects served through per-thread sheaves.
//!
//! [`KmemCache`] (and the typed `Cache<T>`) serve fixed-size objects;
//! `kmalloc` serves sizes through size-class caches. With a
//! `sheaf_capacity`, each thread keeps magazines of free objects ("sheaves")
//! per cache, used with no lock and no atomic instruction; a per-cache barn
//! of full and empty sheaves sits between them and the slabs.
//!
//! * [`args`]: what a cache is made with and what it reports;
//! * [`cache`]: a cache's shared state, the registry of live caches, and
//!   creation;
//! * [`node`]: the node lists of slabs;
//! * [`sheaf`]: sheaves and the barn;
//! * [`alloc`]: the allocation and free paths;
//! * [`poison`]: write-after-free detection;
//! * [`usage`]: live objects, `trim`, counters;
//! * [`kmem_cache`], [`typed`], [`kmalloc`]: the public faces;
//! * [`error`]: the errors they return.

pub(crate) mod alloc;
pub(crate) mod args;
pub(crate) mod cache;
pub(crate) mod error;
pub(crate) mod kmalloc;
pub(crate) mod kmem_cache;
mod node;
mod poison;
pub(crate) mod sheaf;
pub(crate) mod typed;
mod usage;

pub(crate) use alloc::double_free_pending;
pub(crate) use cache::stock_all_empty_sheaves;

pub(crate) use cache::{lock_for_fork, pin, pin_all, unlock_after_fork, CacheInner};
pub(crate) use error::AllocError;
pub(crate) use kmem_cache::KmemCache;
pub(crate) use sheaf::Sheaf;
