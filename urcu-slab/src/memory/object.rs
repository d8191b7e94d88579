//! From a pointer to its krcu object, or a panic that names the pointer.

use super::slab::{self};
use crate::report::misuse;

/// The krcu object containing `ptr`, or a panic naming the pointer.
#[cfg(not(loom))]
#[inline(always)]
#[track_caller]
pub(crate) fn object_of(ptr: *const u8, what: &str) -> slab::Object {
    match slab::find(ptr) {
        Ok(o) => o,
        Err(why) => not_an_object(ptr, what, why),
    }
}

/// [`object_of`]'s report, out of line: the fast path does not prepare
/// its arguments.
#[cfg(not(loom))]
#[cold]
#[inline(never)]
#[track_caller]
fn not_an_object(ptr: *const u8, what: &str, why: slab::Foreign) -> ! {
    misuse(
        &format!("{what}({ptr:p}): the pointer {}", why.describe()),
        "pass only pointers returned by krcu's kmalloc or a krcu cache's alloc",
    )
}
