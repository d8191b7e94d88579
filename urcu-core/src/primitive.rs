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

/// Asks the CPU to start loading the cache line at `p` (no effect on
/// memory, never faults: a prefetch of any address is harmless). Walking a
/// batch of callbacks, the next node's line is fetched while the current
/// node's callback runs, instead of after it.
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(all(target_arch = "x86_64", not(loom)))]
    // SAFETY: `prefetcht0` reads no memory architecturally and cannot
    // fault, whatever the address; SSE is in the x86-64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(all(target_arch = "x86_64", not(loom))))]
    let _ = p;
}
