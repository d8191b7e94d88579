//! krcu's C face: `libkrcu.so` (soname `libkrcu.so.0`), `libkrcu.a` and the
//! generated `include/krcu.h`.
//!
//! Every export has the `krcu_` prefix and takes and returns plain C types.
//! No panic unwinds into C: each export runs under [`guard::ffi`], which
//! aborts with a message naming the function (krcu's own message, naming
//! the rule broken, is printed just before). Bad input gets the documented
//! error code (`NULL` + `errno`, or a negative errno) or a documented abort;
//! never undefined behaviour.
//!
//! The names and signatures are a contract with C programs written outside
//! this repository: add to it freely, change it only with a new major
//! version (the soname's). memb functions exist unprefixed
//! (`krcu_read_lock`, the default flavor, as in liburcu's `urcu.h`) and
//! `krcu_memb_`-prefixed, qsbr functions `krcu_qsbr_`-prefixed; types are
//! `struct krcu_head` (16 bytes, as liburcu's `rcu_head`), `struct
//! krcu_ptr` (8 bytes), `krcu_gp_cookie` and the opaque `struct
//! krcu_cache`. `include/krcu.h` documents each function's context and
//! errors; `tests/c_api.rs` compiles C programs against it.

#![deny(unsafe_op_in_unsafe_fn)]
#![allow(non_camel_case_types)]

mod config;
mod expedited;
mod flavor;
mod guard;
mod inline;
/// cbindgen:ignore
mod liburcu;
mod slab;
mod stats;
mod terms;
mod types;

pub use config::*;
pub use expedited::*;
pub use flavor::*;
pub use inline::*;
pub use slab::*;
pub use stats::*;
pub use types::*;

use std::ffi::c_char;

/// The library version, e.g. `"0.1.0"`, as a NUL-terminated string with
/// static lifetime. Compare with `KRCU_VERSION_MAJOR`/`MINOR`/`PATCH`.
///
/// Context: any (normal code, signal handlers, read sections, callbacks).
#[no_mangle]
pub extern "C" fn krcu_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}
