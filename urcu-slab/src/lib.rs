//! krcu's slab layer: slab caches, kmalloc size classes and `kfree_rcu`
//! batching, built on `urcu-core`'s public API.
//!
//! The slab layer is developed in its own milestone; this crate currently
//! re-exports the core types it will build on.

pub use urcu_core::{GpCookie, RcuHead};
