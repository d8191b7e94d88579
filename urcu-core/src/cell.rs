//! `RcuCell`: an atomic owning pointer whose old values are dropped after a
//! grace period.

use crate::flavor::Memb;
use crate::flavor::{Flavor, ReadSection};
use crate::head::RcuHead;
use std::alloc::Layout;
use std::marker::PhantomData;
use std::ptr;
use std::sync::atomic::AtomicPtr;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};

/// The heap node behind an `RcuCell` value: the value plus the link its
/// deferred drop uses, so an update allocates once.
#[repr(C)]
struct Node<T> {
    head: RcuHead,
    value: T,
}

/// An atomic, optional, owning pointer to a `T` shared under RCU.
///
/// Readers [`load`](Self::load) under a read guard of flavor `F` and get a
/// reference that lives as long as the guard. Writers replace the value; the
/// old one is dropped on krcu's callback thread after a grace period, so the
/// writer never blocks. A value without drop glue (plain data) is only
/// memory: its node is freed on the updating thread after the grace period,
/// in batches, and reused by that thread's next update, so updates neither
/// allocate nor wake the callback thread. A thread holds at most 16 MiB of
/// such nodes waiting for grace periods and 2 MiB of reusable ones; the
/// rest, and what it holds when it exits, goes to the callback thread. Writers do not exclude each other: concurrent
/// `store`s all succeed, last one wins; use
/// [`compare_exchange`](Self::compare_exchange) for read-modify-write.
///
/// ```
/// use urcu_core::{memb, RcuCell};
///
/// let config = RcuCell::new(String::from("v1"));
/// let guard = memb::read_lock();
/// let old = config.swap(String::from("v2"), &guard);
/// assert_eq!(old.map(String::as_str), Some("v1")); // still readable under the guard
/// assert_eq!(config.load(&guard).map(String::as_str), Some("v2"));
/// ```
pub struct RcuCell<T: Send + Sync + 'static, F: Flavor = Memb> {
    ptr: AtomicPtr<Node<T>>,
    _marker: PhantomData<(Box<Node<T>>, F)>,
}

// SAFETY: the cell hands out &T to any thread (T: Sync) and moves T to the
// callback thread to drop it (T: Send).
unsafe impl<T: Send + Sync + 'static, F: Flavor> Send for RcuCell<T, F> {}
// SAFETY: as above; all shared access goes through atomics.
unsafe impl<T: Send + Sync + 'static, F: Flavor> Sync for RcuCell<T, F> {}

fn into_node<T, F: Flavor>(value: T) -> *mut Node<T> {
    let node = Node {
        head: RcuHead::new(),
        value,
    };
    if !std::mem::needs_drop::<T>() {
        // A node this thread retired and whose grace period has ended
        // (retire.rs): no allocation.
        if let Some(p) = crate::retire::reuse::<F>(Layout::new::<Node<T>>()) {
            let p = p.cast::<Node<T>>();
            // SAFETY: `p` is a global-allocator block of Node<T>'s layout
            // that nothing else references any more (its grace period has
            // ended and it was taken off the thread's spares).
            unsafe { p.write(node) };
            return p;
        }
    }
    Box::into_raw(Box::new(node))
}

unsafe extern "C" fn drop_node<T>(head: *mut RcuHead) {
    // SAFETY: `head` is the first field of a Node<T> from `into_node`,
    // retired once, and its grace period has ended.
    drop(unsafe { Box::from_raw(head as *mut Node<T>) });
}

impl<T: Send + Sync + 'static, F: Flavor> RcuCell<T, F> {
    /// A cell holding `value`.
    pub fn new(value: T) -> Self {
        RcuCell {
            ptr: AtomicPtr::new(into_node::<T, F>(value)),
            _marker: PhantomData,
        }
    }

    /// An empty cell.
    pub const fn empty() -> Self {
        RcuCell {
            ptr: AtomicPtr::new(ptr::null_mut()),
            _marker: PhantomData,
        }
    }

    /// The current value, valid for as long as the guard.
    #[inline]
    pub fn load<'g>(&'g self, _guard: &'g impl ReadSection<F>) -> Option<&'g T> {
        // Acquire pairs with the Release half of the writers' exchanges: the
        // node's contents are visible.
        let node = self.ptr.load(Acquire);
        // SAFETY: a node reachable from the cell is retired only after it is
        // unlinked, and dropped only after a grace period that waits for this
        // guard's read section.
        unsafe { node.as_ref().map(|n| &n.value) }
    }

    /// Replaces the value; the old one is dropped after a grace period.
    pub fn store(&self, value: T) {
        let old = self.ptr.swap(into_node::<T, F>(value), AcqRel);
        // SAFETY: `old` is unlinked by the exchange, and retired once.
        unsafe { retire::<T, F>(old) };
    }

    /// Empties the cell; the old value is dropped after a grace period.
    pub fn clear(&self) {
        let old = self.ptr.swap(ptr::null_mut(), AcqRel);
        // SAFETY: as in `store`.
        unsafe { retire::<T, F>(old) };
    }

    /// Replaces the value and returns the old one, readable under the guard
    /// and dropped after a grace period.
    pub fn swap<'g>(&'g self, value: T, _guard: &'g impl ReadSection<F>) -> Option<&'g T> {
        // AcqRel: Release publishes the new node, Acquire makes the old one's
        // contents visible to the returned reference.
        let old = self.ptr.swap(into_node::<T, F>(value), AcqRel);
        // SAFETY: retired after the guard's read section began, so the grace
        // period that frees it waits for the guard; the reference is tied to
        // the guard.
        unsafe {
            retire::<T, F>(old);
            old.as_ref().map(|n| &n.value)
        }
    }

    /// Installs `new` if the cell still holds `current` (compared by
    /// address; `None` for empty). On success returns the old value, readable
    /// under the guard and dropped after a grace period; on failure gives
    /// `new` back with the value found.
    #[allow(clippy::type_complexity)]
    pub fn compare_exchange<'g>(
        &'g self,
        current: Option<&T>,
        new: T,
        _guard: &'g impl ReadSection<F>,
    ) -> Result<Option<&'g T>, (Option<&'g T>, T)> {
        let expected = current.map_or(ptr::null_mut(), |v| {
            // `value` sits at a fixed offset inside Node<T>.
            let offset = std::mem::offset_of!(Node<T>, value);
            (v as *const T as *const u8).wrapping_sub(offset) as *mut Node<T>
        });
        let node = into_node::<T, F>(new);
        // AcqRel on success: as in `swap`. Acquire on failure: the found
        // node's contents are visible to the returned reference.
        match self.ptr.compare_exchange(expected, node, AcqRel, Acquire) {
            Ok(old) => {
                // SAFETY: as in `swap`.
                unsafe {
                    retire::<T, F>(old);
                    Ok(old.as_ref().map(|n| &n.value))
                }
            }
            Err(found) => {
                // SAFETY: `node` was never published; take it back.
                let new = unsafe { Box::from_raw(node) }.value;
                // SAFETY: as in `load`.
                Err((unsafe { found.as_ref().map(|n| &n.value) }, new))
            }
        }
    }

    /// Mutable access without synchronization: `&mut self` proves no reader
    /// or writer shares the cell.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        // SAFETY: exclusive access to the cell and so to its node.
        // Relaxed: `&mut self` is exclusive; no other thread shares the cell.
        unsafe { self.ptr.load(Relaxed).as_mut().map(|n| &mut n.value) }
    }

    /// Takes the value out of a cell no one else shares.
    pub fn into_inner(self) -> Option<T> {
        let me = std::mem::ManuallyDrop::new(self);
        // Relaxed: the cell is owned here (taken by value).
        let node = me.ptr.load(Relaxed);
        // SAFETY: owned, never shared again; the node came from into_node.
        (!node.is_null()).then(|| unsafe { Box::from_raw(node) }.value)
    }
}

/// Hands `node` (possibly null) to a grace period, then drops it.
///
/// # Safety
///
/// `node` is null or a node from `into_node` that is unreachable for new
/// readers and retired only once.
unsafe fn retire<T: Send + 'static, F: Flavor>(node: *mut Node<T>) {
    if node.is_null() {
        return;
    }
    // A value without drop glue is only memory: freed on this thread after
    // its grace period (retire.rs), where the next update reuses it.
    if !std::mem::needs_drop::<T>() {
        // SAFETY: per the contract; a node has the global allocator's
        // Node<T> layout (a Box, or a spare of that layout), and without
        // drop glue freeing it is all its drop does.
        let local =
            unsafe { crate::retire::retire_local::<F>(node.cast(), Layout::new::<Node<T>>()) };
        if local {
            return;
        }
    }
    // SAFETY: per the contract; `head` is the node's first field.
    unsafe { F::call_rcu(node as *mut RcuHead, drop_node::<T>) };
}

impl<T: Send + Sync + 'static, F: Flavor> Drop for RcuCell<T, F> {
    fn drop(&mut self) {
        // Relaxed: the cell is being dropped, so no reader or writer shares
        // it.
        let node = self.ptr.load(Relaxed);
        if !node.is_null() {
            // SAFETY: dropping the cell proves no guard-borrowed reference to
            // its value is alive (they borrow the cell).
            drop(unsafe { Box::from_raw(node) });
        }
    }
}

impl<T: Send + Sync + std::fmt::Debug + 'static, F: Flavor> std::fmt::Debug for RcuCell<T, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RcuCell")
            .field("flavor", &F::NAME)
            // Relaxed: a snapshot for Debug output.
            .field("empty", &self.ptr.load(Relaxed).is_null())
            .finish()
    }
}
