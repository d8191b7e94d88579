//! The atomics the lock-free protocols are written against.
//!
//! Under `cfg(loom)` these are loom's model-checked types, so the same protocol
//! code (the callback queue, the reader/writer handshake) is explored by the
//! models in `tests/loom_*.rs`; otherwise they are `std`'s.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64};

/// One step of a wait loop: a CPU hint in real code, a yield to the model
/// checker under loom (which otherwise explores the spin forever).
#[inline]
pub(crate) fn spin_hint() {
    #[cfg(not(loom))]
    std::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}
