//! Headless deferral: closures and boxes run or dropped after a grace period.

use crate::flavor::Flavor;
use crate::head::RcuHead;
use std::mem::ManuallyDrop;

#[repr(C)]
struct Deferred<C> {
    head: RcuHead,
    f: ManuallyDrop<C>,
}

unsafe extern "C" fn run_deferred<C: FnOnce()>(head: *mut RcuHead) {
    // SAFETY: `head` is the first field of the Deferred<C> boxed by `defer`,
    // handed to us once, after its grace period.
    let node = unsafe { Box::from_raw(head as *mut Deferred<C>) };
    let mut node = ManuallyDrop::new(node);
    // SAFETY: `f` is taken exactly once; the box is then freed without
    // dropping it again (Deferred has no Drop, `f` is ManuallyDrop).
    let f = unsafe { ManuallyDrop::take(&mut node.f) };
    // SAFETY: the box came from Box::new in `defer`.
    drop(unsafe { ManuallyDrop::take(&mut node) });
    // An unwinding callback must not cross this `extern "C"` frame, and one
    // failed callback must not stop the others: report it and go on.
    if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        let msg = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "<non-string panic>".into());
        crate::report::emit(
            crate::report::Level::Error,
            crate::report::Target::Core,
            &format!("krcu: a deferred closure panicked: {msg}; the other callbacks still run"),
        );
    }
}

/// Runs `f` after a grace period of `F`, on the callback thread.
pub fn defer<F: Flavor>(f: impl FnOnce() + Send + 'static) {
    fn boxed<F: Flavor, C: FnOnce() + Send + 'static>(f: C) {
        let node = Box::into_raw(Box::new(Deferred {
            head: RcuHead::new(),
            f: ManuallyDrop::new(f),
        }));
        // SAFETY: the node is leaked until `run_deferred::<C>` reclaims it,
        // and `head` is its first field.
        unsafe { F::call_rcu(node as *mut RcuHead, run_deferred::<C>) };
    }
    boxed::<F, _>(f)
}

/// Drops `value` after a grace period of `F`, on the callback thread.
pub fn defer_drop<F: Flavor, T: Send + 'static>(value: Box<T>) {
    defer::<F>(move || drop(value))
}
