//! Callbacks that must not wait for the gather, and expedited grace
//! periods, of both flavors: `krcu_call_rcu_hurry`,
//! `krcu_synchronize_rcu_expedited`,
//! `krcu_start_poll_synchronize_rcu_expedited`, unprefixed (memb, the
//! default), `krcu_memb_*` and `krcu_qsbr_*`.
//!
//! An expedited grace period is one of the same sequence as every other:
//! its cookies are the ordinary `krcu_gp_cookie`, polled with
//! `krcu_poll_state_synchronize_rcu`, and a normal cookie is satisfied by
//! an expedited grace period and the reverse. The kernel's `_full`
//! cookies exist because its expedited grace periods count in a sequence
//! of their own; krcu has one sequence per flavor.

use crate::flavor::{call_rcu, Queue};
use crate::guard::ffi;
use crate::types::{krcu_gp_cookie, krcu_head};
use urcu_core::{Flavor, Memb, Qsbr};

// ---- memb (the default flavor) ----

/// As `krcu_call_rcu`, and a memb grace period starts for it (and for
/// every callback queued before it) at once, instead of after callbacks
/// have gathered (`krcu_set_gather_us`, 1 ms by default). For a callback
/// whose latency matters: a flood of them costs a grace period each.
///
/// Context: as `krcu_call_rcu`.
///
/// # Safety
///
/// As for `krcu_call_rcu`.
#[no_mangle]
pub unsafe extern "C" fn krcu_call_rcu_hurry(
    head: *mut krcu_head,
    func: Option<unsafe extern "C" fn(head: *mut krcu_head)>,
) {
    // SAFETY: the caller's contract.
    unsafe { call_rcu::<Memb>("krcu_call_rcu_hurry", head, func, Queue::Hurry) }
}

/// As `krcu_synchronize_rcu`, expedited: the caller rescans the readers
/// without sleeping for up to half a millisecond, so it returns the moment
/// the last pre-existing memb reader leaves, then waits as
/// `krcu_synchronize_rcu` does. It costs the caller CPU time, not the
/// readers.
///
/// Context: as `krcu_synchronize_rcu`.
#[no_mangle]
pub extern "C" fn krcu_synchronize_rcu_expedited() {
    ffi(
        "krcu_synchronize_rcu_expedited",
        Memb::synchronize_expedited,
    )
}

/// As `krcu_start_poll_synchronize_rcu`, with the grace period run
/// expedited. The cookie is an ordinary one.
///
/// Context: any, except signal handlers.
#[no_mangle]
pub extern "C" fn krcu_start_poll_synchronize_rcu_expedited() -> krcu_gp_cookie {
    ffi("krcu_start_poll_synchronize_rcu_expedited", || {
        Memb::start_poll_expedited().into()
    })
}

// ---- memb ----

/// As `krcu_memb_call_rcu`, and a memb grace period starts for it at once
/// (see `krcu_call_rcu_hurry`).
///
/// Context: as `krcu_memb_call_rcu`.
///
/// # Safety
///
/// As for `krcu_memb_call_rcu`.
#[no_mangle]
pub unsafe extern "C" fn krcu_memb_call_rcu_hurry(
    head: *mut krcu_head,
    func: Option<unsafe extern "C" fn(head: *mut krcu_head)>,
) {
    // SAFETY: the caller's contract.
    unsafe { call_rcu::<Memb>("krcu_memb_call_rcu_hurry", head, func, Queue::Hurry) }
}

/// As `krcu_memb_synchronize_rcu`, expedited (see
/// `krcu_synchronize_rcu_expedited`).
///
/// Context: as `krcu_memb_synchronize_rcu`.
#[no_mangle]
pub extern "C" fn krcu_memb_synchronize_rcu_expedited() {
    ffi(
        "krcu_memb_synchronize_rcu_expedited",
        Memb::synchronize_expedited,
    )
}

/// As `krcu_memb_start_poll_synchronize_rcu`, with the grace period run
/// expedited. The cookie is an ordinary one.
///
/// Context: any, except signal handlers.
#[no_mangle]
pub extern "C" fn krcu_memb_start_poll_synchronize_rcu_expedited() -> krcu_gp_cookie {
    ffi("krcu_memb_start_poll_synchronize_rcu_expedited", || {
        Memb::start_poll_expedited().into()
    })
}

// ---- qsbr ----

/// As `krcu_qsbr_call_rcu`, and a qsbr grace period starts for it at once
/// (see `krcu_call_rcu_hurry`).
///
/// Context: as `krcu_qsbr_call_rcu`.
///
/// # Safety
///
/// As for `krcu_qsbr_call_rcu`.
#[no_mangle]
pub unsafe extern "C" fn krcu_qsbr_call_rcu_hurry(
    head: *mut krcu_head,
    func: Option<unsafe extern "C" fn(head: *mut krcu_head)>,
) {
    // SAFETY: the caller's contract.
    unsafe { call_rcu::<Qsbr>("krcu_qsbr_call_rcu_hurry", head, func, Queue::Hurry) }
}

/// As `krcu_qsbr_synchronize_rcu`, expedited: the caller rescans the
/// readers without sleeping for up to half a millisecond, so it returns
/// the moment the last online reader announces a quiescent state or goes
/// offline, then waits as `krcu_qsbr_synchronize_rcu` does. An online
/// caller goes offline for the wait.
///
/// Context: as `krcu_qsbr_synchronize_rcu`.
#[no_mangle]
pub extern "C" fn krcu_qsbr_synchronize_rcu_expedited() {
    ffi(
        "krcu_qsbr_synchronize_rcu_expedited",
        Qsbr::synchronize_expedited,
    )
}

/// As `krcu_qsbr_start_poll_synchronize_rcu`, with the grace period run
/// expedited. The cookie is an ordinary one.
///
/// Context: any, except signal handlers.
#[no_mangle]
pub extern "C" fn krcu_qsbr_start_poll_synchronize_rcu_expedited() -> krcu_gp_cookie {
    ffi("krcu_qsbr_start_poll_synchronize_rcu_expedited", || {
        Qsbr::start_poll_expedited().into()
    })
}
