//! The out-of-line half of krcu.h's inline memb read side.
//!
//! `krcu_read_lock`/`krcu_read_unlock` (static inline in the header, and
//! exported from `read_side.c`) work on `krcu__memb_tls_v2`, an initial-exec
//! thread-local that holds this thread's memb record word itself and a
//! pointer to memb's counter group, and follow the steps documented in
//! `urcu_core::foreign`. A library constructor makes that word every
//! thread's record word (Rust read sections on the thread use it too). These
//! exports are what the inline code calls off its fast path; C code does not
//! call them itself.

use crate::guard::ffi;
use std::ffi::c_void;
use std::sync::atomic::AtomicU64;
use urcu_core::{foreign, memb};

extern "C" {
    fn krcu__memb_word_addr() -> *mut u64;
    fn krcu__set_memb_gp(gp: *mut c_void);
}

/// Clears this thread's counter-group pointer: called by the core when the
/// thread's memb registration ends, so the next lock registers again.
extern "C" fn forget_registration() {
    // SAFETY: a plain store to this thread's TLS slot.
    unsafe { krcu__set_memb_gp(std::ptr::null_mut()) };
}

extern "C" fn tls_word() -> *mut u64 {
    // SAFETY: returns the address of this thread's TLS word.
    unsafe { krcu__memb_word_addr() }
}

/// Makes `krcu__memb_tls_v2.word` the record word of every thread that
/// registers with memb from now on. Called by read_side.c's constructor,
/// before the program can register anything.
///
/// Context: library load.
#[no_mangle]
pub extern "C" fn krcu__memb_use_tls_words() {
    ffi("krcu (library load)", || {
        foreign::set_unregister_hook(forget_registration);
        // SAFETY: the word is this thread's zero-initialised initial-exec
        // TLS, touched only atomically by krcu.h's inline code and krcu; it
        // lives until the thread is freed, after its thread-local
        // destructors, which is where krcu unregisters it.
        unsafe { foreign::set_word_source(tls_word) };
    })
}

/// Whether this thread's record word is the TLS one the inline code uses.
fn word_is_tls(word: &AtomicU64) -> bool {
    std::ptr::eq(word.as_ptr(), tls_word())
}

/// Inline read side, first lock on this thread (or first since its
/// registration ended): registers, publishes the registration to the inline
/// code, then takes the lock.
///
/// A thread registered without its TLS word (while running its thread-local
/// destructors) stays on this path: its read sections go through krcu.
///
/// Context: as `krcu_read_lock`; internal to krcu.h's inline functions.
#[no_mangle]
pub extern "C" fn krcu__memb_read_lock_slow() {
    ffi("krcu_read_lock", || {
        // The unregister hook is in place: read_side.c's constructor set it,
        // and any program using this path links read_side.o.
        let gp = foreign::gp_words() as *mut c_void;
        if word_is_tls(foreign::reader_word()) {
            // SAFETY: this thread's TLS slot; the counter group lives for
            // the process's life.
            unsafe { krcu__set_memb_gp(gp) };
        }
        memb::raw_read_lock();
    })
}

/// Inline read side: an unlock that found the TLS word quiescent. Unlocks
/// a section taken through krcu when the thread's word is not the TLS one;
/// otherwise the unlock is unbalanced and aborts.
///
/// Context: internal to krcu.h's inline `krcu_read_unlock`.
#[no_mangle]
pub extern "C" fn krcu__memb_read_unlock_slow() {
    ffi("krcu_read_unlock", || {
        if memb::in_read_section() && !word_is_tls(foreign::reader_word()) {
            return memb::raw_read_unlock();
        }
        foreign::unbalanced_unlock()
    })
}

/// Inline read side: wakes a writer sleeping for readers.
///
/// Context: internal to krcu.h's inline `krcu_read_unlock`.
#[no_mangle]
pub extern "C" fn krcu__memb_wake_writer() {
    ffi("krcu_read_unlock", foreign::wake_writer)
}

/// Inline read side: read sections nested too deep; aborts.
///
/// Context: internal to krcu.h's inline `krcu_read_lock`.
#[no_mangle]
pub extern "C" fn krcu__memb_nesting_overflow() -> ! {
    ffi("krcu_read_lock", || foreign::nesting_overflow())
}
