//! Poisoning: freed objects filled with [`POISON_FREE`], checked when
//! they are handed out again, so that a write after free is reported.

use super::args::POISON_FREE;
use super::cache::CacheInner;
use std::ptr;

impl CacheInner {
    /// Checks that a free object's poison is intact before handing it out.
    pub(crate) fn check_poison(&self, obj: *mut u8) {
        if let Some(at) = self.poison_broken_at(obj) {
            crate::report::report_corruption(&format!(
                "cache `{}`: freed object {obj:p} was written at offset {at} after it was freed (use after free)",
                self.name,
            ));
        }
    }

    /// [`check_poison`](Self::check_poison) for a `_nolock` allocation,
    /// which may run in a signal handler: the report is written with
    /// `write(2)` and the process aborts (a panic would format, allocate
    /// and unwind out of the handler).
    pub(crate) fn check_poison_nolock(&self, obj: *mut u8) {
        if self.poison_broken_at(obj).is_some() {
            urcu_core::__private::die(&[
                "memory corruption: a freed object of cache `",
                &self.name,
                "` was written after it was freed (use after free); found by a _nolock allocation",
            ]);
        }
    }

    /// The first offset of a free object whose poison was overwritten.
    fn poison_broken_at(&self, obj: *mut u8) -> Option<usize> {
        let skip = if self.freeptr == 0 { 8 } else { 0 };
        // SAFETY: `obj` is a free object of `size` bytes, ours now.
        let bytes =
            unsafe { std::slice::from_raw_parts(obj.add(skip), self.size.saturating_sub(skip)) };
        bytes
            .iter()
            .position(|&b| b != POISON_FREE)
            .map(|at| at + skip)
    }

    /// Poisons an object being freed.
    #[inline]
    pub(crate) fn poison_object(&self, obj: *mut u8) {
        if self.poison {
            // SAFETY: the object is being freed; its `size` bytes are ours.
            unsafe { ptr::write_bytes(obj, POISON_FREE, self.size) };
        }
    }
}
