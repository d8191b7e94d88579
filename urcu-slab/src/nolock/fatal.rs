//! Bad input in a `_nolock` call: abort with a message written by
//! `write(2)`, without allocating.

use crate::memory::freemark;
use crate::memory::slab::{self, Object};

/// Writes the message to stderr with `write(2)` and aborts: a `_nolock`
/// caller may be a signal handler, where a panic (which formats and
/// unwinds) is not an option.
#[cold]
pub(crate) fn fatal(parts: &[&str], ptr: *const u8) -> ! {
    let mut hex = [0u8; 18];
    hex[0] = b'0';
    hex[1] = b'x';
    let mut v = ptr as usize;
    for i in (2..18).rev() {
        hex[i] = b"0123456789abcdef"[v & 15];
        v >>= 4;
    }
    // The digits above are ASCII: from_utf8 cannot fail.
    let hex = std::str::from_utf8(&hex).unwrap_or("?");
    let mut all = [""; 12];
    all[0] = parts[0];
    all[1] = "(";
    all[2] = hex;
    all[3] = "): ";
    let n = parts.len().min(9);
    all[4..4 + n - 1].copy_from_slice(&parts[1..n]);
    urcu_core::__private::die(&all[..4 + n - 1])
}

/// Reports a double free of the object at `start` found by the `_nolock`
/// call `what`, which found it `state`: written with `write(2)`, then an
/// abort. Takes the pointer, not the `Object`: the fast path then keeps
/// nothing in memory for this call.
#[cold]
#[inline(never)]
pub(crate) fn double_free(start: *mut u8, what: &str, state: &str) -> ! {
    let o = object(start, what);
    fatal(
        &[
            what,
            "double free: the object (of cache `",
            o.cache()
                .map_or("large kmalloc objects", |c| c.name.as_str()),
            "`) is already ",
            state,
            "; ",
            freemark::INSTEAD,
        ],
        start,
    )
}

/// The krcu object containing `ptr`, or an abort naming it.
#[inline]
pub(crate) fn object(ptr: *const u8, what: &str) -> Object {
    match slab::find(ptr) {
        Ok(o) => o,
        Err(why) => fatal(
            &[
                what,
                "the pointer ",
                why.describe(),
                "; pass only pointers returned by krcu's kmalloc or a krcu cache's alloc",
            ],
            ptr,
        ),
    }
}
