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
    eprintln!("krcu: {name}: aborting (the error above cannot be returned to C)");
    std::process::abort()
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
