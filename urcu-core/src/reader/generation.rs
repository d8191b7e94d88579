//! The registry's generation: how a grace period knows, without the
//! registry lock, that the registry changed since its last copy, and the
//! handshake that makes a new registrant's read sections either seen or
//! not old.

use super::GpCounter;
use crate::primitive::{fence, AtomicU64};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};

/// The registry's generation, bumped by every change to the registry; a
/// grace period rescans the registry when it moved since its last copy.
///
/// Registration against a grace period is a store-buffering handshake: the
/// registrant adds its record (under the registry lock), bumps the
/// generation, and issues a SeqCst fence before its first read section
/// loads the counter; the writer stores the advanced counter, issues a
/// SeqCst fence, and loads the generation. Either the writer sees the bump
/// and rescans (finding the record), or the registrant's sections load
/// the advanced counter and so are not old (coherence: every later load by
/// that thread sees it too), and need no waiting.
pub(crate) struct RegistryGeneration(AtomicU64);

impl RegistryGeneration {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        RegistryGeneration(AtomicU64::new(1))
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        RegistryGeneration(AtomicU64::new(1))
    }

    /// A registrant, after adding its record under the registry lock.
    #[inline]
    pub(crate) fn registered(&self) {
        // Release: a writer that reads the bump (Acquire) and then takes
        // the registry lock finds the record.
        self.0.fetch_add(1, Release);
        // SeqCst fence: pairs with the one in `advance`.
        fence(SeqCst);
    }

    /// Any other change to the registry (a removal, a fork child's prune):
    /// a writer that misses it scans a record that is quiescent and pooled
    /// (never freed), which costs nothing.
    pub(crate) fn changed(&self) {
        // Relaxed: its handshake is `registered` and `advance` (SeqCst fences
        // on both sides).
        self.0.fetch_add(1, Relaxed);
    }

    /// The writer: stores the advanced counter `ctr`, then reads the
    /// generation to compare with its copy's.
    #[inline]
    pub(crate) fn advance(&self, gp: &GpCounter, ctr: u64) -> u64 {
        // Relaxed: ordered by the fence (and, for readers, by the master
        // fence before it: see the module docs).
        gp.ctr.store(ctr, Relaxed);
        // SeqCst fence: pairs with the one in `registered`.
        fence(SeqCst);
        // Acquire: pairs with `registered`'s Release bump.
        self.0.load(Acquire)
    }

    /// The generation, read under the registry lock while copying it: every
    /// change counted so far is in the copy.
    pub(crate) fn current(&self) -> u64 {
        // Relaxed: under the registry lock, which orders every change counted
        // so far.
        self.0.load(Relaxed)
    }
}
