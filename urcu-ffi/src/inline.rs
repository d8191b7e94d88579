//! The out-of-line half of krcu.h's inline memb read side.
//!
//! `krcu_read_lock`/`krcu_read_unlock` (static inline in the header, and
//! exported from `read_side.c`) work on `krcu__memb_word_v3`, an
//! initial-exec thread-local that is this thread's memb record word itself,
//! and on `krcu__memb_gp_v3`, memb's counter group, and follow the steps
//! documented in `urcu_core::__private::foreign`. A library constructor makes that
//! word every thread's record word (Rust read sections on the thread use it
//! too). These exports are what the inline code calls off its fast path; C
//! code does not call them itself.

use crate::guard::ffi;
use std::sync::atomic::{AtomicU64, Ordering};
use urcu_core::__private::foreign;
use urcu_core::memb;

extern "C" {
    fn krcu__memb_word_addr() -> *mut u64;
}

extern "C" fn tls_word() -> *mut u64 {
    // SAFETY: returns the address of this thread's TLS word.
    unsafe { krcu__memb_word_addr() }
}

/// Marks this thread's word unregistered: called by the core when the
/// thread's memb registration has ended, so that the next inline lock
/// registers again.
extern "C" fn mark_unregistered() {
    // SAFETY: this thread's TLS word, valid while the thread runs, and
    // accessed only atomically.
    let word = unsafe { AtomicU64::from_ptr(tls_word()) };
    // Relaxed: only this thread reads the mark; krcu no longer reads the
    // word (the core calls this after detaching it).
    word.store(foreign::UNREGISTERED, Ordering::Relaxed);
}

/// Makes `krcu__memb_word_v3` the record word of every thread that
/// registers with memb from now on, and installs the library's panic hook
/// (reports in C terms). Called by read_side.c's constructor, before the
/// program can register anything.
///
/// Context: library load.
#[no_mangle]
pub extern "C" fn krcu__memb_use_tls_words() {
    ffi("krcu (library load)", || {
        crate::terms::install();
        // The slab layer's load-time entry does this too; calling it here
        // keeps that entry in a static link that names nothing of it.
        urcu_slab::__private::install_fork_steps();
        crate::guard::install_panic_hook();
        foreign::set_unregister_hook(mark_unregistered);
        // SAFETY: the word is this thread's initial-exec TLS, touched only
        // atomically by krcu.h's inline code on its thread and by krcu; it
        // lives until the thread is freed, after its thread-local
        // destructors, which is where krcu unregisters it.
        unsafe { foreign::set_word_source(tls_word) };
    })
}

/// Whether this thread's record word is the TLS one the inline code uses.
fn word_is_tls(word: *const AtomicU64) -> bool {
    std::ptr::eq(word.cast::<u64>(), tls_word())
}

/// Inline read side, a lock that found the TLS word unregistered or nested
/// [`foreign::MAX_NEST`] deep: registers the thread if it is not (its TLS
/// word then becomes its record word), and takes the lock, which aborts on
/// the nesting limit.
///
/// A thread registered without its TLS word (while running its thread-local
/// destructors) stays on this path: its TLS word stays unregistered, and its
/// read sections go through krcu.
///
/// Context: as `krcu_read_lock`; internal to krcu.h's inline functions.
#[no_mangle]
pub extern "C" fn krcu__memb_read_lock_slow() {
    ffi("krcu_read_lock", memb::raw_read_lock)
}

/// Inline read side, an unlock that found the TLS word quiescent or
/// unregistered. Unlocks a section taken through krcu when the thread's word
/// is not the TLS one; otherwise the unlock is unbalanced and aborts.
///
/// Context: internal to krcu.h's inline `krcu_read_unlock`.
#[no_mangle]
pub extern "C" fn krcu__memb_read_unlock_slow() {
    ffi("krcu_read_unlock", || {
        if memb::in_read_section() && !word_is_tls(foreign::reader_word()) {
            // SAFETY: C's read side has no guards: the caller pairs this
            // unlock with its lock (krcu.h's contract).
            return unsafe { memb::raw_read_unlock() };
        }
        foreign::unbalanced_unlock()
    })
}

/// Inline read side: wakes a writer sleeping for readers. What a program
/// compiled against an earlier krcu.h calls; krcu.h's unlock now calls
/// [`krcu__memb_wake_writer_for`].
///
/// Context: internal to krcu.h's inline `krcu_read_unlock`.
#[no_mangle]
pub extern "C" fn krcu__memb_wake_writer() {
    ffi("krcu_read_unlock", foreign::wake_writer)
}

/// Inline read side: wakes a writer sleeping for readers unless the section
/// that ended (its word before the unlock, `section`) is not one it waits
/// for.
///
/// Context: internal to krcu.h's inline `krcu_read_unlock`.
#[no_mangle]
pub extern "C" fn krcu__memb_wake_writer_for(section: u64) {
    ffi("krcu_read_unlock", || foreign::wake_writer_for(section))
}
