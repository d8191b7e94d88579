//! The callback link embedded in objects handed to `call_rcu`.

use crate::primitive::AtomicPtr;

/// A callback function: receives the head it was queued with.
///
/// `extern "C"` so that C callers of the FFI layer pass theirs unchanged.
pub type RcuCallback = unsafe extern "C" fn(head: *mut RcuHead);

/// A 16-byte link embedded in an object so that `call_rcu` can queue the
/// object without allocating: a next pointer and the callback.
///
/// The layout is the C API's `struct krcu_head`.
#[repr(C)]
#[derive(Debug)]
pub struct RcuHead {
    pub(crate) next: AtomicPtr<RcuHead>,
    pub(crate) func: Option<RcuCallback>,
}

impl RcuHead {
    /// An unqueued head.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        RcuHead {
            next: AtomicPtr::new(std::ptr::null_mut()),
            func: None,
        }
    }

    /// An unqueued head.
    #[cfg(loom)]
    pub fn new() -> Self {
        RcuHead {
            next: AtomicPtr::new(std::ptr::null_mut()),
            func: None,
        }
    }
}

impl Default for RcuHead {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    #[test]
    fn head_is_16_bytes_like_struct_krcu_head() {
        assert_eq!(std::mem::size_of::<super::RcuHead>(), 16);
        assert_eq!(std::mem::align_of::<super::RcuHead>(), 8);
    }
}
