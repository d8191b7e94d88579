//! Sheaves and the barn.
//!
//! A sheaf is a magazine of free object pointers of one cache. Each thread
//! keeps, per cache with a `sheaf_capacity`, a `main` and a `spare` sheaf
//! that serve allocations and frees with no lock and no atomic operation,
//! and an `rcu_free` sheaf that collects kfree_rcu'd objects. Behind them,
//! the cache's barn holds full and empty sheaves shared by all threads: an
//! allocation whose sheaves are empty swaps its empty main sheaf for a full
//! one from the barn, a free whose sheaves are full swaps the other way, and
//! only when the barn cannot serve does the thread go to the slabs.
//!
//! A full `rcu_free` sheaf waits one grace period as a unit, then (after the
//! cache's `rcu_dtor` ran on each object) goes to the barn as a full sheaf:
//! the objects freed by kfree_rcu feed allocations without touching a slab.

use crate::cache::CacheInner;
use crate::pending::{Kind, PendingHead};
use parking_lot::Mutex;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use urcu_core::GpCookie;

/// Most full sheaves a barn keeps; a further full sheaf is flushed to the
/// slabs, so a barn holds at most this many sheaves' worth of free objects.
pub(crate) const BARN_MAX_FULL: usize = 16;
/// Most empty sheaves a barn keeps; further ones are freed.
pub(crate) const BARN_MAX_EMPTY: usize = 16;

/// A magazine of free objects of one cache.
#[repr(C)]
pub(crate) struct Sheaf {
    /// Links a full `rcu_free` sheaf waiting for its grace period.
    pub(crate) pending: PendingHead,
    pub(crate) cookies: [GpCookie; 2],
    pub(crate) cache: *const CacheInner,
    pub(crate) size: usize,
    pub(crate) objects: Box<[*mut u8]>,
}

impl Sheaf {
    /// An empty sheaf of `cache`'s capacity (allocates).
    pub(crate) fn new_empty(cache: &CacheInner) -> *mut Sheaf {
        Box::into_raw(Box::new(Sheaf {
            pending: PendingHead::new(Kind::Sheaf),
            cookies: [GpCookie { seq: 0 }; 2],
            cache,
            size: 0,
            objects: vec![ptr::null_mut(); cache.sheaf_capacity].into_boxed_slice(),
        }))
    }

    /// Frees an empty sheaf.
    ///
    /// # Safety
    ///
    /// `sheaf` came from [`Sheaf::new_empty`], and nothing else refers to it.
    pub(crate) unsafe fn free(sheaf: *mut Sheaf) {
        // SAFETY: the caller's contract.
        drop(unsafe { Box::from_raw(sheaf) });
    }

    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        self.size == self.objects.len()
    }

    #[inline]
    pub(crate) fn push(&mut self, obj: *mut u8) {
        debug_assert!(!self.is_full());
        self.objects[self.size] = obj;
        self.size += 1;
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<*mut u8> {
        if self.size == 0 {
            return None;
        }
        self.size -= 1;
        Some(self.objects[self.size])
    }

    /// The objects it holds.
    pub(crate) fn objects(&self) -> &[*mut u8] {
        &self.objects[..self.size]
    }
}

/// Sheaves shared by a cache's threads.
pub(crate) struct Barn {
    /// Full and empty sheaves; a leaf lock (nothing is taken under it).
    inner: Mutex<BarnInner>,
    /// Exchanges the barn served / could not serve.
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
}

struct BarnInner {
    full: Vec<*mut Sheaf>,
    empty: Vec<*mut Sheaf>,
}

// SAFETY: the sheaf pointers are owned by the barn and only moved in and out
// under its lock.
unsafe impl Send for BarnInner {}

impl Barn {
    pub(crate) fn new() -> Self {
        Barn {
            inner: Mutex::new(BarnInner {
                // Reserved up front: putting a sheaf never allocates.
                full: Vec::with_capacity(BARN_MAX_FULL),
                empty: Vec::with_capacity(BARN_MAX_EMPTY),
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn count(&self, hit: bool) {
        let c = if hit { &self.hits } else { &self.misses };
        // Relaxed: statistics.
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Trades an empty sheaf for a full one, if the barn has one.
    pub(crate) fn exchange_empty(&self, empty: *mut Sheaf) -> Result<*mut Sheaf, *mut Sheaf> {
        let mut b = self.inner.lock();
        match b.full.pop() {
            Some(full) => {
                if b.empty.len() < BARN_MAX_EMPTY {
                    b.empty.push(empty);
                } else {
                    drop(b);
                    // SAFETY: the caller gave the empty sheaf up.
                    unsafe { Sheaf::free(empty) };
                }
                self.count(true);
                Ok(full)
            }
            None => {
                drop(b);
                self.count(false);
                Err(empty)
            }
        }
    }

    /// Takes a full sheaf, if the barn has one.
    pub(crate) fn take_full(&self) -> Option<*mut Sheaf> {
        let got = self.inner.lock().full.pop();
        self.count(got.is_some());
        got
    }

    /// Takes an empty sheaf, if the barn has one. Never allocates.
    pub(crate) fn take_empty(&self) -> Option<*mut Sheaf> {
        let got = self.inner.lock().empty.pop();
        self.count(got.is_some());
        got
    }

    /// Stores a full sheaf; gives it back when the barn is full.
    pub(crate) fn put_full(&self, sheaf: *mut Sheaf) -> Result<(), *mut Sheaf> {
        let mut b = self.inner.lock();
        if b.full.len() < BARN_MAX_FULL {
            b.full.push(sheaf);
            Ok(())
        } else {
            Err(sheaf)
        }
    }

    /// Stores an empty sheaf, or frees it when the barn has enough.
    pub(crate) fn put_empty(&self, sheaf: *mut Sheaf) {
        let mut b = self.inner.lock();
        if b.empty.len() < BARN_MAX_EMPTY {
            b.empty.push(sheaf);
        } else {
            drop(b);
            // SAFETY: the caller gave the sheaf up.
            unsafe { Sheaf::free(sheaf) };
        }
    }

    /// How many empty sheaves the barn holds.
    pub(crate) fn empty_count(&self) -> usize {
        self.inner.lock().empty.len()
    }

    /// How many full sheaves the barn holds.
    pub(crate) fn full_count(&self) -> usize {
        self.inner.lock().full.len()
    }

    /// Empties the barn: every sheaf it holds, full ones first.
    pub(crate) fn take_all(&self) -> Vec<*mut Sheaf> {
        let mut b = self.inner.lock();
        let mut all: Vec<_> = b.full.drain(..).collect();
        all.append(&mut b.empty);
        all
    }
}
