//! memb's entry points for a read side written in another language (the
//! C header's inline one; see foreign.rs): this thread's record word, and
//! the unlock's wake of a sleeping writer.

use super::{record, GP};
use crate::reader;
use std::sync::atomic::AtomicU64;

/// This thread's memb record word, registering the thread lazily, for a
/// read side written in another language. Valid until the thread's memb
/// registration ends (see `foreign::set_unregister_hook`). It is the word
/// `foreign::set_word_source` gives, unless the thread registered before
/// the source was set, or while running its thread-local destructors
/// (nothing would unregister it before its memory dies): then it is a word
/// krcu keeps, and the foreign read side must go through krcu's functions.
///
/// A raw pointer, not a reference: a store through it can end the section
/// a live guard stands for, so writing it needs `unsafe` (and the foreign
/// read side's own contract). Not API: reached through
/// `__private::foreign::reader_word`.
#[doc(hidden)]
pub fn foreign_reader_word() -> *const AtomicU64 {
    reader::word_of(record())
}

/// Wakes a grace-period writer sleeping on the counter group's futex (a
/// foreign unlock's last step, when it saw `GP_WAITING`).
/// Not API: reached through `__private::foreign::wake_writer`.
#[doc(hidden)]
#[cold]
pub fn foreign_wake_writer() {
    reader::wake_writer_slow(&GP);
}

/// A foreign unlock's last step when it saw `GP_WAITING`: wakes the
/// sleeping grace-period writer unless the section that ended, whose word
/// (nesting included) was `section`, began after that grace period did and
/// so is not one it waits for.
/// Not API: reached through `__private::foreign::wake_writer_for`.
#[doc(hidden)]
#[cold]
pub fn foreign_wake_writer_for(section: u64) {
    reader::wake_writer_if_waited_for(&GP, section);
}
