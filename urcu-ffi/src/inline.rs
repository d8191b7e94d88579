//! The out-of-line half of krcu.h's inline memb read side.
//!
//! The header's `krcu_read_lock`/`krcu_read_unlock` are static inline
//! functions over `krcu__memb_word`, an initial-exec thread-local defined in
//! `tls.c` that points at this thread's memb record word, and follow the
//! steps documented in `urcu_core::foreign`. These exports are what the
//! inline code calls off its fast path; C code does not call them itself.

use crate::guard::ffi;
use std::ffi::c_void;
use std::sync::Once;
use urcu_core::{foreign, memb};

extern "C" {
    fn krcu__set_memb_word(word: *mut u64);
    fn krcu__set_memb_gp(gp: *mut c_void);
}

/// Clears this thread's cached record word: called by the core when the
/// thread's memb registration ends, before the record can be reused.
extern "C" fn forget_word() {
    // SAFETY: a plain store to this thread's TLS slot.
    unsafe { krcu__set_memb_word(std::ptr::null_mut()) };
}

/// Inline read side, first lock on this thread: registers, publishes the
/// record word to the inline code, then takes the lock.
///
/// Context: as `krcu_read_lock`; internal to krcu.h's inline functions.
#[no_mangle]
pub extern "C" fn krcu__memb_read_lock_slow() {
    ffi("krcu_read_lock", || {
        static INIT: Once = Once::new();
        INIT.call_once(|| {
            // The hook first: a word published below is always cleared
            // when its record goes away.
            foreign::set_unregister_hook(forget_word);
            // SAFETY: a plain store of a pointer with static lifetime.
            unsafe { krcu__set_memb_gp(foreign::gp_words() as *mut c_void) };
        });
        let word = foreign::reader_word();
        // SAFETY: this thread's TLS slot; the word lives until the hook
        // clears it.
        unsafe { krcu__set_memb_word(word.as_ptr()) };
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
pub extern "C" fn krcu__memb_nesting_overflow() {
    ffi("krcu_read_lock", || foreign::nesting_overflow())
}

/// Inline read side: an unlock without a lock; aborts.
///
/// Context: internal to krcu.h's inline `krcu_read_unlock`.
#[no_mangle]
pub extern "C" fn krcu__memb_unbalanced_unlock() {
    ffi("krcu_read_unlock", || foreign::unbalanced_unlock())
}
