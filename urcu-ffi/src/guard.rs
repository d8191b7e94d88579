//! The boundary: no panic crosses into C.

use std::panic::{catch_unwind, UnwindSafe};

/// Runs an export's body; a panic (krcu reporting a misuse, a foreign
/// pointer, corruption) aborts the process after its message, since
/// unwinding into C is undefined behaviour.
#[inline(always)]
pub(crate) fn ffi<R>(name: &str, f: impl FnOnce() -> R + UnwindSafe) -> R {
    match catch_unwind(f) {
        Ok(r) => r,
        Err(_) => die(name),
    }
}

#[cold]
#[inline(never)]
fn die(name: &str) -> ! {
    urcu_core::__private::die(&[name, ": aborting (the error above cannot be returned to C)"])
}

/// The library's panic hook, installed when libkrcu is loaded: every panic
/// in it comes from a C call (a misuse krcu reports, a foreign pointer,
/// corruption), so a C programmer gets krcu's one-line message, not Rust's
/// "thread panicked at <Rust file>" banner and its RUST_BACKTRACE hint;
/// `ffi` then names the function and aborts. The hook is this library's
/// own: a cdylib carries its own copy of Rust's runtime, so the hooks of
/// other Rust code in the process are not touched.
pub(crate) fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("krcu: an internal error (a non-string panic)");
        let msg = urcu_core::__private::report::in_c_terms(msg);
        let line = format!("{}\n", msg.trim_end());
        // SAFETY: writes from a valid buffer to fd 2 (one write: stderr's
        // lock may be held by a thread the process forked away from).
        unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
    }));
}

/// Aborts with a message for a bad argument that has no error code.
#[cold]
#[inline(never)]
pub(crate) fn bad_argument(name: &str, what: &str) -> ! {
    eprintln!("krcu: {name}: {what}; aborting");
    std::process::abort()
}

/// Aborts for a bad argument of a `_nolock` export, which may run in a
/// signal handler: the message goes out with `write(2)`, nothing formats
/// or allocates.
#[cold]
#[inline(never)]
pub(crate) fn bad_argument_nolock(name: &str, what: &str) -> ! {
    urcu_core::__private::die(&[name, ": ", what, "; aborting"])
}
