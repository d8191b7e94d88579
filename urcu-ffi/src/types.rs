//! The C types of the contract, with their layout checked against the Rust
//! types they stand for.

use std::ffi::c_void;
use std::mem::{align_of, offset_of, size_of};

/// A callback head for `krcu_call_rcu`, embedded in the object (16 bytes).
/// The same layout as the Rust `RcuHead`.
#[repr(C)]
pub struct krcu_head {
    pub next: *mut krcu_head,
    pub func: Option<unsafe extern "C" fn(head: *mut krcu_head)>,
}

/// An 8-byte link for `krcu_kfree_rcu` (objects only ever freed that way).
/// The same layout as the Rust `RcuPtr`.
#[repr(C)]
pub struct krcu_ptr {
    pub next: *mut krcu_ptr,
}

/// A polled grace-period cookie (per flavor).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct krcu_gp_cookie {
    pub seq: u64,
}

/// A slab cache (opaque).
pub struct krcu_cache {
    _opaque: [u8; 0],
}

/// `krcu_cache_args.flags`: objects may be reused at once; slab memory is
/// unmapped only after a grace period.
pub const KRCU_CACHE_TYPESAFE_BY_RCU: u32 = 1;
/// `krcu_cache_args.flags`: poison freed objects and check the poison.
pub const KRCU_CACHE_POISON: u32 = 2;

/// Options of `krcu_cache_create`; all zero means the defaults.
#[repr(C)]
pub struct krcu_cache_args {
    /// 0 = 8 bytes; else a power of two up to 4096.
    pub align: usize,
    /// 0 = no sheaves.
    pub sheaf_capacity: u32,
    /// `KRCU_CACHE_TYPESAFE_BY_RCU`, `KRCU_CACHE_POISON`.
    pub flags: u32,
    /// Run once on each object when its slab is created.
    pub ctor: Option<unsafe extern "C" fn(obj: *mut c_void)>,
    /// Run on each object freed by kfree_rcu, after the grace period and
    /// before reuse.
    pub rcu_dtor: Option<unsafe extern "C" fn(obj: *mut c_void)>,
}

const _: () = {
    use urcu_core::{GpCookie, RcuHead};
    use urcu_slab::RcuPtr;
    assert!(size_of::<krcu_head>() == 16 && size_of::<RcuHead>() == 16);
    assert!(align_of::<krcu_head>() == align_of::<RcuHead>());
    assert!(offset_of!(krcu_head, next) == 0 && offset_of!(krcu_head, func) == 8);
    assert!(size_of::<krcu_ptr>() == 8 && size_of::<RcuPtr>() == 8);
    assert!(size_of::<krcu_gp_cookie>() == size_of::<GpCookie>());
};

impl From<urcu_core::GpCookie> for krcu_gp_cookie {
    fn from(c: urcu_core::GpCookie) -> Self {
        krcu_gp_cookie { seq: c.seq }
    }
}

impl From<krcu_gp_cookie> for urcu_core::GpCookie {
    fn from(c: krcu_gp_cookie) -> Self {
        urcu_core::GpCookie { seq: c.seq }
    }
}
