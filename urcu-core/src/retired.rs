//! A thread's retired `RcuCell` nodes of one flavor, as data: what
//! `crate::retire` fills and frees, kept in a thread-local of each flavor's
//! module. Leaving the thread hands whatever is left to the flavor's
//! callback thread.

use crate::seq::GpCookie;
use std::alloc::Layout;
use std::collections::VecDeque;

/// A retired node: its memory, to be freed with its layout.
#[derive(Debug)]
pub struct Retired {
    pub(crate) ptr: *mut u8,
    pub(crate) layout: Layout,
}

/// One thread's retired nodes of one flavor.
#[derive(Debug)]
pub struct Local {
    /// The batch being filled.
    pub(crate) open: Vec<Retired>,
    /// Batches waiting for their grace period, oldest first.
    pub(crate) sealed: VecDeque<(GpCookie, Vec<Retired>)>,
    /// Nodes whose grace period has ended, kept for reuse (newest last).
    pub(crate) spare: Vec<Retired>,
    /// Bytes in `open` and `sealed`.
    pub(crate) held: usize,
    /// Bytes in `spare`.
    pub(crate) spare_bytes: usize,
    /// Hands a batch to the flavor's callback thread, which frees it after
    /// a grace period (`retire::hand_off::<F>`).
    hand_off: fn(Vec<Retired>),
}

impl Local {
    pub(crate) const fn new(hand_off: fn(Vec<Retired>)) -> Self {
        Local {
            open: Vec::new(),
            sealed: VecDeque::new(),
            spare: Vec::new(),
            held: 0,
            spare_bytes: 0,
            hand_off,
        }
    }

    pub(crate) fn hand_off(&self, batch: Vec<Retired>) {
        (self.hand_off)(batch);
    }
}

impl Drop for Local {
    /// The thread exits: spares are freed, what still waits for a grace
    /// period goes to the callback thread.
    fn drop(&mut self) {
        // SAFETY: spares are past their grace period and referenced by
        // nothing.
        unsafe { free_all(&self.spare) };
        let open = std::mem::take(&mut self.open);
        for batch in self.sealed.drain(..).map(|(_, b)| b).chain(Some(open)) {
            if !batch.is_empty() {
                (self.hand_off)(batch);
            }
        }
    }
}

/// The bytes of a batch's nodes.
pub(crate) fn bytes(batch: &[Retired]) -> usize {
    batch.iter().map(|r| r.layout.size()).sum()
}

/// # Safety
///
/// Every node's grace period has ended and it is freed only here.
pub(crate) unsafe fn free_all(batch: &[Retired]) {
    for r in batch {
        // SAFETY: allocated by the global allocator with this layout
        // (`retire::retire_local`'s contract), freed once.
        unsafe { std::alloc::dealloc(r.ptr, r.layout) };
    }
}
