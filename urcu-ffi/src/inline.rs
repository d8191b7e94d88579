//! The out-of-line half of krcu.h's inline memb read side.
//!
//! `krcu_read_lock`/`krcu_read_unlock` (static inline in the header, and
//! exported from `read_side.c`) work on `krcu__memb_tls`, an initial-exec
//! thread-local that points at this thread's memb record word and at memb's
//! counter group, and follow the steps documented in `urcu_core::foreign`. These exports are what the
//! inline code calls off its fast path; C code does not call them itself.

use crate::guard::ffi;
use std::ffi::c_void;
use std::sync::Once;
use urcu_core::{foreign, memb};

extern "C" {
    fn krcu__set_memb_tls(word: *mut u64, gp: *mut c_void);
}

/// Clears this thread's cached record word: called by the core when the
/// thread's memb registration ends, before the record can be reused.
extern "C" fn forget_word() {
    // SAFETY: plain stores to this thread's TLS slots.
    unsafe { krcu__set_memb_tls(std::ptr::null_mut(), std::ptr::null_mut()) };
}

/// Inline read side, first lock on this thread: registers, publishes the
/// record word to the inline code, then takes the lock.
///
/// Context: as `krcu_read_lock`; internal to krcu.h's inline functions.
#[no_mangle]
pub extern "C" fn krcu__memb_read_lock_slow() {
    ffi("krcu_read_lock", || {
        static INIT: Once = Once::new();
        // The hook first: a word published below is always cleared when
        // its record goes away.
        INIT.call_once(|| foreign::set_unregister_hook(forget_word));
        let gp = foreign::gp_words() as *mut c_void;
        let word = foreign::reader_word();
        // SAFETY: this thread's TLS slots; the word lives until the hook
        // clears it, the counter group for the process's life.
        unsafe { krcu__set_memb_tls(word.as_ptr(), gp) };
        memb::raw_read_lock();
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

/// Inline read side: an unlock without a lock; aborts.
///
/// Context: internal to krcu.h's inline `krcu_read_unlock`.
#[no_mangle]
pub extern "C" fn krcu__memb_unbalanced_unlock() -> ! {
    ffi("krcu_read_unlock", || foreign::unbalanced_unlock())
}
