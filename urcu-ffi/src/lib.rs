//! krcu's C face: `libkrcu.so`, `libkrcu.a` and `include/krcu.h`.
//!
//! The C API is developed in its own milestone; the library currently
//! exports the version string.

use std::ffi::c_char;

/// The library version, as a NUL-terminated string.
#[no_mangle]
pub extern "C" fn krcu_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}
