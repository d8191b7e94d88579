//! The kfree_rcu state a thread carries, as data: the open batch
//! ([`RcuLocal`]), the page-sized blocks of pointers batches are made of,
//! and the descriptors batches travel in. What is done with them is in
//! `insert.rs`, `block.rs` and `batch.rs`.

use crate::helper::PendingHead;
use std::cell::UnsafeCell;
use std::ptr;
use std::sync::atomic::AtomicBool;

/// Pointers per [`Block`]: the block fills a 4 KiB object.
pub(crate) const BLOCK_PTRS: usize = (4096 - 16) / 8;

/// A page-sized array of object pointers waiting for a grace period.
#[repr(C)]
pub(crate) struct Block {
    pub(crate) next: *mut Block,
    pub(crate) nr: usize,
    pub(crate) ptrs: [*mut u8; BLOCK_PTRS],
}

impl Block {
    pub(crate) fn is_full(&self) -> bool {
        self.nr == BLOCK_PTRS
    }
}

/// A thread's open kfree_rcu batch (steal protocol).
pub(crate) struct RcuLocal {
    /// The block accepting pointers (null: take one when needed).
    pub(crate) cur: *mut Block,
    /// Full blocks of the open batch.
    pub(crate) full: *mut Block,
    /// Objects linked through their heads: each link's first word points at
    /// the next link.
    pub(crate) list: *mut u8,
    pub(crate) nr: usize,
    pub(crate) bytes: usize,
}

impl RcuLocal {
    pub(crate) const fn new() -> Self {
        RcuLocal {
            cur: ptr::null_mut(),
            full: ptr::null_mut(),
            list: ptr::null_mut(),
            nr: 0,
            bytes: 0,
        }
    }
}

/// The fields of a batch in flight.
pub(crate) struct BatchData {
    pub(crate) blocks: *mut Block,
    pub(crate) list: *mut u8,
    pub(crate) nr: usize,
    pub(crate) bytes: usize,
}

/// A batch descriptor: embedded in a thread's state (two per thread), or
/// allocated by a barrier or an exiting thread when both are in flight.
#[repr(C)]
pub(crate) struct BatchDesc {
    pub(crate) pending: UnsafeCell<PendingHead>,
    pub(crate) data: UnsafeCell<BatchData>,
    /// Set by the thread that hands the batch off, cleared (Release) by the
    /// helper once the batch is freed; the owner reuses the descriptor only
    /// after an Acquire load sees it clear.
    pub(crate) in_flight: AtomicBool,
    pub(crate) heap: bool,
}

// SAFETY: `data` is written only by the holder of the thread's kfree_rcu
// state while `in_flight` is clear, and read by the helper while it is set.
unsafe impl Sync for BatchDesc {}

impl BatchDesc {
    pub(crate) const fn new(heap: bool) -> Self {
        BatchDesc {
            pending: UnsafeCell::new(PendingHead::new()),
            data: UnsafeCell::new(BatchData {
                blocks: ptr::null_mut(),
                list: ptr::null_mut(),
                nr: 0,
                bytes: 0,
            }),
            in_flight: AtomicBool::new(false),
            heap,
        }
    }
}
