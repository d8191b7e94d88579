//! liburcu's flavor-prefixed names (`urcu_memb_*`, `urcu_qsbr_*`), with
//! liburcu's signatures, for the compat headers (`include/urcu-compat`,
//! `pkg-config krcu-urcu`): a program written against liburcu compiles
//! against those headers unchanged and links here. The headers map the
//! short names (`synchronize_rcu`, `call_rcu`, ...) to these, as liburcu's
//! own `urcu/map/*.h` do, and inline the read side.
//!
//! What differs from liburcu, and why each is safe for a liburcu program:
//!
//! * Registration is optional: an unregistered thread registers at its
//!   first read section, and a thread that exits registered is unregistered
//!   for it. `urcu_*_register_thread` and `urcu_*_unregister_thread` nest
//!   (one unregister undoes one register).
//! * `urcu_qsbr_read_lock` and `urcu_qsbr_read_unlock` are no code, as
//!   liburcu's are; `urcu_qsbr_read_ongoing` is whether the thread is
//!   online, as liburcu's is.
//! * `struct rcu_head` is krcu's `krcu_head` (two pointers, the link and
//!   the callback), and `struct urcu_gp_poll_state` a krcu cookie (one
//!   64-bit word); both have liburcu's size and member order.
//!
//! cbindgen skips this module: these names are not krcu.h's.

mod atfork;
mod call_rcu_data;
mod defer;

use crate::guard::ffi;
use crate::types::{krcu_gp_cookie, krcu_head};
use urcu_core::{memb, qsbr, Flavor, Memb, Qsbr};

/// liburcu's `struct urcu_gp_poll_state`: `unsigned long grace_period_id`,
/// here a krcu cookie.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct urcu_gp_poll_state {
    grace_period_id: u64,
}

impl From<krcu_gp_cookie> for urcu_gp_poll_state {
    fn from(c: krcu_gp_cookie) -> Self {
        urcu_gp_poll_state {
            grace_period_id: c.seq,
        }
    }
}

impl From<urcu_gp_poll_state> for krcu_gp_cookie {
    fn from(s: urcu_gp_poll_state) -> Self {
        krcu_gp_cookie {
            seq: s.grace_period_id,
        }
    }
}

type Callback = Option<unsafe extern "C" fn(*mut krcu_head)>;

extern "C" {
    fn krcu__qsbr_online_addr() -> *mut u8;
}

/// Copies this thread's qsbr online state to `krcu__qsbr_online_v1`
/// (read_side.c), which the compat headers' inline `rcu_read_ongoing()`
/// reads: after every C call that may change the state (registration,
/// quiescent states, going offline and online, and the waits that go
/// offline for their duration).
pub(crate) fn mirror_qsbr_online() {
    // SAFETY: the address of this thread's initial-exec TLS byte, valid
    // while the thread runs; only this thread (and its signal handlers,
    // which restore what they change) touches it.
    let byte = unsafe { std::sync::atomic::AtomicU8::from_ptr(krcu__qsbr_online_addr()) };
    // Relaxed: read by this thread only.
    byte.store(
        u8::from(qsbr::is_online()),
        std::sync::atomic::Ordering::Relaxed,
    );
}

/// `f`, then [`mirror_qsbr_online`].
fn mirrored<R>(f: impl FnOnce() -> R) -> R {
    let r = f();
    mirror_qsbr_online();
    r
}

/// Called by the compat headers' constructor (`<urcu/krcu-compat.h>`, one
/// per translation unit that includes a flavor header, when the program
/// starts): from now on krcu's reports name liburcu's functions
/// (terms.rs). Internal to the compat headers.
#[no_mangle]
pub extern "C" fn krcu__speak_liburcu() {
    crate::terms::speak_liburcu()
}

// ---- memb ----

// urcu_memb_read_lock and urcu_memb_read_unlock (and the bp and mb
// ones) are read_side.c's: krcu.h's inline read side, as
// krcu_memb_read_lock is.

/// liburcu `urcu_memb_read_ongoing`: nonzero inside a read-side critical
/// section of this thread.
#[no_mangle]
pub extern "C" fn urcu_memb_read_ongoing() -> i32 {
    ffi("urcu_memb_read_ongoing", || {
        i32::from(memb::in_read_section())
    })
}

/// liburcu `urcu_memb_register_thread`: `krcu_memb_register_thread`.
#[no_mangle]
pub extern "C" fn urcu_memb_register_thread() {
    crate::flavor::krcu_memb_register_thread()
}

/// liburcu `urcu_memb_unregister_thread`: `krcu_memb_unregister_thread`.
#[no_mangle]
pub extern "C" fn urcu_memb_unregister_thread() {
    crate::flavor::krcu_memb_unregister_thread()
}

/// liburcu `urcu_memb_synchronize_rcu`.
#[no_mangle]
pub extern "C" fn urcu_memb_synchronize_rcu() {
    ffi(
        "synchronize_rcu (urcu_memb_synchronize_rcu)",
        Memb::synchronize,
    )
}

/// liburcu `urcu_memb_call_rcu`.
///
/// # Safety
///
/// As for `krcu_call_rcu`.
#[no_mangle]
pub unsafe extern "C" fn urcu_memb_call_rcu(head: *mut krcu_head, func: Callback) {
    // SAFETY: the caller's contract.
    unsafe {
        crate::flavor::call_rcu::<Memb>(
            "call_rcu (urcu_memb_call_rcu)",
            head,
            func,
            crate::flavor::Queue::Plain,
        )
    }
}

/// liburcu `urcu_memb_barrier`.
#[no_mangle]
pub extern "C" fn urcu_memb_barrier() {
    ffi("rcu_barrier (urcu_memb_barrier)", Memb::barrier)
}

/// liburcu `urcu_memb_start_poll_synchronize_rcu`.
#[no_mangle]
pub extern "C" fn urcu_memb_start_poll_synchronize_rcu() -> urcu_gp_poll_state {
    krcu_gp_cookie::from(ffi("start_poll_synchronize_rcu", Memb::start_poll)).into()
}

/// liburcu `urcu_memb_poll_state_synchronize_rcu`.
#[no_mangle]
pub extern "C" fn urcu_memb_poll_state_synchronize_rcu(state: urcu_gp_poll_state) -> bool {
    let cookie = krcu_gp_cookie::from(state).into();
    ffi("poll_state_synchronize_rcu", || Memb::poll_state(cookie))
}

// ---- qsbr ----

/// liburcu `urcu_qsbr_read_lock`: no code, as liburcu's (qsbr readers
/// are online threads between quiescent states).
#[no_mangle]
pub extern "C" fn urcu_qsbr_read_lock() {}

/// liburcu `urcu_qsbr_read_unlock`: no code.
#[no_mangle]
pub extern "C" fn urcu_qsbr_read_unlock() {}

/// liburcu `urcu_qsbr_read_ongoing`: nonzero while this thread is online.
#[no_mangle]
pub extern "C" fn urcu_qsbr_read_ongoing() -> i32 {
    ffi("urcu_qsbr_read_ongoing", || i32::from(qsbr::is_online()))
}

/// liburcu `urcu_qsbr_quiescent_state`.
#[no_mangle]
pub extern "C" fn urcu_qsbr_quiescent_state() {
    ffi("rcu_quiescent_state (urcu_qsbr_quiescent_state)", || {
        mirrored(qsbr::quiescent_state)
    })
}

/// liburcu `urcu_qsbr_thread_offline`.
#[no_mangle]
pub extern "C" fn urcu_qsbr_thread_offline() {
    ffi("rcu_thread_offline (urcu_qsbr_thread_offline)", || {
        mirrored(qsbr::thread_offline)
    })
}

/// liburcu `urcu_qsbr_thread_online`.
#[no_mangle]
pub extern "C" fn urcu_qsbr_thread_online() {
    ffi("rcu_thread_online (urcu_qsbr_thread_online)", || {
        mirrored(qsbr::thread_online)
    })
}

/// liburcu `urcu_qsbr_register_thread`: registered and online.
#[no_mangle]
pub extern "C" fn urcu_qsbr_register_thread() {
    crate::flavor::krcu_qsbr_register_thread()
}

/// liburcu `urcu_qsbr_unregister_thread`.
#[no_mangle]
pub extern "C" fn urcu_qsbr_unregister_thread() {
    crate::flavor::krcu_qsbr_unregister_thread()
}

/// liburcu `urcu_qsbr_synchronize_rcu`.
#[no_mangle]
pub extern "C" fn urcu_qsbr_synchronize_rcu() {
    ffi("synchronize_rcu (urcu_qsbr_synchronize_rcu)", || {
        mirrored(Qsbr::synchronize)
    })
}

/// liburcu `urcu_qsbr_call_rcu`.
///
/// # Safety
///
/// As for `krcu_call_rcu`.
#[no_mangle]
pub unsafe extern "C" fn urcu_qsbr_call_rcu(head: *mut krcu_head, func: Callback) {
    // SAFETY: the caller's contract.
    unsafe {
        crate::flavor::call_rcu::<Qsbr>(
            "call_rcu (urcu_qsbr_call_rcu)",
            head,
            func,
            crate::flavor::Queue::Plain,
        )
    }
}

/// liburcu `urcu_qsbr_barrier`.
#[no_mangle]
pub extern "C" fn urcu_qsbr_barrier() {
    ffi("rcu_barrier (urcu_qsbr_barrier)", || {
        mirrored(Qsbr::barrier)
    })
}

/// liburcu `urcu_qsbr_start_poll_synchronize_rcu`.
#[no_mangle]
pub extern "C" fn urcu_qsbr_start_poll_synchronize_rcu() -> urcu_gp_poll_state {
    krcu_gp_cookie::from(ffi("start_poll_synchronize_rcu", Qsbr::start_poll)).into()
}

/// liburcu `urcu_qsbr_poll_state_synchronize_rcu`.
#[no_mangle]
pub extern "C" fn urcu_qsbr_poll_state_synchronize_rcu(state: urcu_gp_poll_state) -> bool {
    let cookie = krcu_gp_cookie::from(state).into();
    ffi("poll_state_synchronize_rcu", || Qsbr::poll_state(cookie))
}

// ---- bp, mb and signal: krcu's memb flavor under their names ----
//
// liburcu's bp flavor registers threads lazily and lets them exit without
// unregistering, which krcu's memb does for every thread; its mb flavor
// uses real fences where memb uses membarrier(), and memb falls back to
// real fences where membarrier() is missing; its signal flavor forces the
// readers' fences with a signal to each, which membarrier() does for memb
// from the kernel. All three are memb here: the same grace periods, the
// same callbacks, the same read side.

/// Exports each `alias` as the memb function it names, with its signature.
macro_rules! memb_aliases {
    ($($alias:ident => $memb:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;)*) => {
        $(
            #[doc = concat!("liburcu `", stringify!($alias), "`: `", stringify!($memb), "`.")]
            #[no_mangle]
            pub extern "C" fn $alias($($arg: $ty),*) $(-> $ret)? {
                $memb($($arg),*)
            }
        )*
    };
}

memb_aliases! {
    urcu_bp_read_ongoing => urcu_memb_read_ongoing() -> i32;
    urcu_bp_register_thread => urcu_memb_register_thread();
    urcu_bp_unregister_thread => urcu_memb_unregister_thread();
    urcu_bp_synchronize_rcu => urcu_memb_synchronize_rcu();
    urcu_bp_barrier => urcu_memb_barrier();
    urcu_bp_start_poll_synchronize_rcu => urcu_memb_start_poll_synchronize_rcu() -> urcu_gp_poll_state;
    urcu_bp_poll_state_synchronize_rcu => urcu_memb_poll_state_synchronize_rcu(state: urcu_gp_poll_state) -> bool;
    urcu_mb_read_ongoing => urcu_memb_read_ongoing() -> i32;
    urcu_mb_register_thread => urcu_memb_register_thread();
    urcu_mb_unregister_thread => urcu_memb_unregister_thread();
    urcu_mb_synchronize_rcu => urcu_memb_synchronize_rcu();
    urcu_mb_barrier => urcu_memb_barrier();
    urcu_mb_start_poll_synchronize_rcu => urcu_memb_start_poll_synchronize_rcu() -> urcu_gp_poll_state;
    urcu_mb_poll_state_synchronize_rcu => urcu_memb_poll_state_synchronize_rcu(state: urcu_gp_poll_state) -> bool;
    urcu_signal_read_ongoing => urcu_memb_read_ongoing() -> i32;
    urcu_signal_register_thread => urcu_memb_register_thread();
    urcu_signal_unregister_thread => urcu_memb_unregister_thread();
    urcu_signal_synchronize_rcu => urcu_memb_synchronize_rcu();
    urcu_signal_barrier => urcu_memb_barrier();
    urcu_signal_start_poll_synchronize_rcu => urcu_memb_start_poll_synchronize_rcu() -> urcu_gp_poll_state;
    urcu_signal_poll_state_synchronize_rcu => urcu_memb_poll_state_synchronize_rcu(state: urcu_gp_poll_state) -> bool;
}

/// liburcu `urcu_bp_call_rcu`: `urcu_memb_call_rcu`.
///
/// # Safety
///
/// As for `krcu_call_rcu`.
#[no_mangle]
pub unsafe extern "C" fn urcu_bp_call_rcu(head: *mut krcu_head, func: Callback) {
    // SAFETY: the caller's contract.
    unsafe { urcu_memb_call_rcu(head, func) }
}

/// liburcu `urcu_signal_call_rcu`: `urcu_memb_call_rcu`.
///
/// # Safety
///
/// As for `krcu_call_rcu`.
#[no_mangle]
pub unsafe extern "C" fn urcu_signal_call_rcu(head: *mut krcu_head, func: Callback) {
    // SAFETY: the caller's contract.
    unsafe { urcu_memb_call_rcu(head, func) }
}

/// liburcu `urcu_mb_call_rcu`: `urcu_memb_call_rcu`.
///
/// # Safety
///
/// As for `krcu_call_rcu`.
#[no_mangle]
pub unsafe extern "C" fn urcu_mb_call_rcu(head: *mut krcu_head, func: Callback) {
    // SAFETY: the caller's contract.
    unsafe { urcu_memb_call_rcu(head, func) }
}
