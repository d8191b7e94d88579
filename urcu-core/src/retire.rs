//! Retiring `RcuCell` values that need no drop on the thread that retires
//! them, as crossbeam-epoch's thread-local bags do: the memory returns to
//! the updating thread's allocator cache, where its next update allocates,
//! instead of being freed by the callback thread (which costs both threads
//! a trip to glibc's shared arena, under its lock, per object).
//!
//! Only for values without drop glue: no user code runs on the updating
//! thread (where it could take a lock the updater holds, or wait inside the
//! updater's read section). A value that needs drop goes to `call_rcu` and
//! is dropped on the callback thread, as `RcuCell` documents.
//!
//! Each thread keeps, per flavor (`crate::retired`), an open batch and up
//! to [`MAX_SEALED_BYTES`] of sealed ones, each sealed batch stamped with a
//! cookie the helper is asked for lazily (its grace period runs at the
//! callbacks' cadence, one per gather, without anyone waiting for it).
//! Every retire frees the sealed batches whose grace period has ended,
//! oldest first, keeping up to [`MAX_SPARE_BYTES`] of their nodes for the
//! thread's next updates of the same layout, which then allocate nothing.
//! Memory stays bounded: past [`MAX_SEALED_BYTES`] the oldest batch is
//! handed to `call_rcu` whole (one callback per batch), and so is whatever
//! is left when the thread exits. A retire that finds the thread's batches
//! in use (a signal handler that interrupted one) goes to `call_rcu`
//! itself.

use crate::domain::{FlavorImpl, Private};
use crate::head::RcuHead;
use crate::retired::{bytes, free_all, Local, Retired};
use std::alloc::Layout;

/// Nodes per batch: one cookie and one lazy request per this many updates.
const BATCH: usize = 64;
/// Bytes of nodes past their grace period a thread keeps for its next
/// updates, per flavor: a few gathers' worth of 64-byte nodes at 10M
/// updates a second (kept until the thread updates again or exits).
const MAX_SPARE_BYTES: usize = 2 << 20;
/// Bytes of retired nodes a thread holds at most, per flavor, waiting for
/// their grace period: enough to ride out grace periods of several
/// milliseconds at several million updates a second when the helper waits
/// for a CPU (with a 4 MiB bound, a 2-reader update flood on 2 CPUs still
/// sent batches to the callback thread: 6% of perf samples in its free).
/// Past it the oldest batch goes to the callback thread.
const MAX_SEALED_BYTES: usize = 16 << 20;

fn push<F: FlavorImpl>(l: &mut Local, node: Retired) {
    free_done::<F>(l);
    if l.open.capacity() == 0 {
        l.open.reserve_exact(BATCH);
    }
    l.held += node.layout.size();
    l.open.push(node);
    if l.open.len() >= BATCH {
        let batch = std::mem::replace(&mut l.open, Vec::with_capacity(BATCH));
        // After every node of the batch was unlinked: its grace period
        // waits for every reader that could still hold one. Asked for
        // lazily: it runs at the callbacks' cadence (one per gather).
        let domain = F::domain();
        let cookie = domain.get_state();
        domain.request_lazy(cookie);
        l.sealed.push_back((cookie, batch));
        while l.held > MAX_SEALED_BYTES && l.sealed.len() > 1 {
            let (_, oldest) = l.sealed.pop_front().expect("over the bound");
            l.held -= bytes(&oldest);
            l.hand_off(oldest);
        }
    }
}

/// Frees the sealed batches whose grace period has ended, keeping spares.
fn free_done<F: FlavorImpl>(l: &mut Local) {
    while let Some((cookie, _)) = l.sealed.front() {
        if !F::domain().poll_state(*cookie) {
            break;
        }
        let (_, batch) = l.sealed.pop_front().expect("front exists");
        l.held -= bytes(&batch);
        // The batch's grace period has ended: no reader holds any of its
        // nodes. Keep some for the next updates, free the rest.
        for r in batch {
            if l.spare_bytes + r.layout.size() <= MAX_SPARE_BYTES {
                l.spare_bytes += r.layout.size();
                l.spare.push(r);
            } else {
                // SAFETY: as above; retired once, freed once, here.
                unsafe { free_all(std::slice::from_ref(&r)) };
            }
        }
    }
}

/// Retires a node of `layout` on the calling thread. False when the
/// thread's batches cannot be used (a re-entered retire, or the thread's
/// teardown): the caller queues the node with `call_rcu` instead.
///
/// # Safety
///
/// `ptr` was allocated by the global allocator with `layout`, holds a value
/// without drop glue, is unreachable for new readers, and is retired once.
pub(crate) unsafe fn retire_local<F: FlavorImpl>(ptr: *mut u8, layout: Layout) -> bool {
    F::local_retire(Private(()))
        .try_with(|l| match l.try_borrow_mut() {
            Ok(mut l) => {
                push::<F>(&mut l, Retired { ptr, layout });
                true
            }
            Err(_) => false,
        })
        .unwrap_or(false)
}

/// A block of `layout` this thread retired and whose grace period has
/// ended, for a new node: None when there is none (or the thread's batches
/// cannot be used).
pub(crate) fn reuse<F: FlavorImpl>(layout: Layout) -> Option<*mut u8> {
    F::local_retire(Private(()))
        .try_with(|l| {
            let mut l = l.try_borrow_mut().ok()?;
            if l.spare.last().is_some_and(|r| r.layout == layout) {
                l.spare_bytes -= layout.size();
                l.spare.pop().map(|r| r.ptr)
            } else {
                None
            }
        })
        .ok()
        .flatten()
}

/// A batch handed to the callback thread.
#[repr(C)]
struct HandedBatch {
    head: RcuHead,
    batch: Vec<Retired>,
}

/// Hands `batch` to `F`'s callback thread, which frees it after a grace
/// period (each `Local`'s hand-off, as a plain function pointer).
pub(crate) fn hand_off<F: FlavorImpl>(batch: Vec<Retired>) {
    let h = Box::into_raw(Box::new(HandedBatch {
        head: RcuHead::new(),
        batch,
    }));
    // SAFETY: `head` is the first field of a boxed HandedBatch, queued
    // once; free_handed frees it.
    unsafe { F::domain().call_rcu(h.cast(), free_handed) };
}

unsafe extern "C" fn free_handed(head: *mut RcuHead) {
    // SAFETY: the first field of a HandedBatch boxed by `hand_off`, whose grace
    // period has ended.
    let h = unsafe { Box::from_raw(head as *mut HandedBatch) };
    // SAFETY: as above: the grace period of every node in it has ended.
    unsafe { free_all(&h.batch) };
}
