//! The atomics the slab layer's lock-free hand-off is written against:
//! loom's under `cfg(loom)`, so the models in `pending.rs`, `deferred.rs`,
//! `doorbell.rs` and `steal.rs` check the same code; `std`'s otherwise.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8};
