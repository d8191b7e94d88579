//! Reports and tunables from C: the log handler, and setters for what the
//! environment variables control.
//!
//! | variable | default | setter |
//! |---|---|---|
//! | `KRCU_STALL_TIMEOUT_MS` | 10000 | `krcu_set_stall_timeout_ms` |
//! | `KRCU_KFREE_MONITOR_MS` | 5 | `krcu_set_kfree_monitor_ms` |
//! | `KRCU_GATHER_US` | 1000 | `krcu_set_gather_us` |
//! | `KRCU_SLAB_DEBUG` | 0 (1 in debug builds) | `krcu_set_debug_checks` |
//! | `KRCU_FORCE_FENCE` | 0 | none: read once, when memb starts |

use crate::guard::ffi;
use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::Arc;
use std::time::Duration;
use urcu_core::__private::report::{self, Level};

/// A report's level: `KRCU_LOG_ERROR` (1) or `KRCU_LOG_WARN` (2).
pub const KRCU_LOG_ERROR: c_int = 1;
/// See [`KRCU_LOG_ERROR`].
pub const KRCU_LOG_WARN: c_int = 2;

/// A log handler: `level` is `KRCU_LOG_ERROR` or `KRCU_LOG_WARN`; `message`
/// is one line, NUL-terminated, valid only during the call; `arg` is what
/// `krcu_set_log_handler` was given.
pub type krcu_log_fn =
    Option<unsafe extern "C" fn(level: c_int, message: *const c_char, arg: *mut c_void)>;

/// `arg` as given by the C caller, who promises it may be used from any
/// thread.
struct Arg(*mut c_void);
// SAFETY: krcu_set_log_handler's contract: the handler and its argument may
// be used from any thread.
unsafe impl Send for Arg {}
// SAFETY: as for Send.
unsafe impl Sync for Arg {}

/// Reports and tunables. krcu reads these environment variables at first
/// use; the setters below change them at run time:
///
/// | variable                | default              | setter                      |
/// |-------------------------|----------------------|-----------------------------|
/// | `KRCU_STALL_TIMEOUT_MS` | 10000                | `krcu_set_stall_timeout_ms` |
/// | `KRCU_KFREE_MONITOR_MS` | 5                    | `krcu_set_kfree_monitor_ms` |
/// | `KRCU_GATHER_US`        | 1000                 | `krcu_set_gather_us`        |
/// | `KRCU_SLAB_DEBUG`       | 0 (1 in debug builds)| `krcu_set_debug_checks`     |
/// | `KRCU_FORCE_FENCE`      | 0                    | none: read when memb starts |
///
/// Sends every later krcu warning and error (stalls, a cache destroyed
/// with live objects, the synchronize fallback, a failed
/// callback) to `fn(level, message, arg)` instead of standard error. NULL
/// restores the default: one line on standard error, at most ten a second.
///
/// The handler runs on whichever thread reports (often a krcu helper), never
/// in a signal handler; it may call krcu functions, including this one.
///
/// Context: normal code.
///
/// # Safety
///
/// `fn`, if not NULL, may be called with `arg` from any thread until it is
/// replaced.
#[no_mangle]
pub unsafe extern "C" fn krcu_set_log_handler(handler: krcu_log_fn, arg: *mut c_void) {
    let arg = Arg(arg);
    ffi("krcu_set_log_handler", move || match handler {
        None => report::set_handler(None),
        Some(f) => report::set_handler(Some(Arc::new(move |level: Level, message: &str| {
            let line = CString::new(message.replace('\0', " ")).unwrap_or_default();
            let level = match level {
                Level::Error => KRCU_LOG_ERROR,
                Level::Warn => KRCU_LOG_WARN,
            };
            let arg = &arg;
            // SAFETY: the caller's contract for `f` and `arg`; the line
            // outlives the call.
            unsafe { f(level, line.as_ptr(), arg.0) };
        }))),
    })
}

/// Sets the time after which a grace period blocked by a reader is
/// reported (both flavors; the environment's `KRCU_STALL_TIMEOUT_MS` sets
/// the default, 10000). 0 is taken as 1.
///
/// Context: any but a signal handler.
#[no_mangle]
pub extern "C" fn krcu_set_stall_timeout_ms(ms: u64) {
    ffi("krcu_set_stall_timeout_ms", || {
        urcu_core::set_stall_timeout(Duration::from_millis(ms))
    })
}

/// Sets how long callbacks (`krcu_call_rcu`) and kfree_rcu batches gather
/// before a grace period starts for them, in microseconds (both flavors;
/// the environment's `KRCU_GATHER_US` sets the default, 1000). Longer
/// means fewer grace periods under a flood of callbacks, and later
/// callbacks; 0 starts a grace period whenever the helper finds work.
/// `krcu_rcu_barrier`, `krcu_call_rcu_hurry`, `krcu_start_poll_*` and
/// `krcu_synchronize_rcu` never wait for it.
///
/// Context: any but a signal handler.
#[no_mangle]
pub extern "C" fn krcu_set_gather_us(us: u64) {
    ffi("krcu_set_gather_us", || {
        urcu_core::set_gather_time(Duration::from_micros(us))
    })
}

/// Sets how often the kfree_rcu helper hands off idle threads' batches
/// (`KRCU_KFREE_MONITOR_MS`, default 5); clamped to 1 ms .. 10 s.
///
/// Context: any but a signal handler.
#[no_mangle]
pub extern "C" fn krcu_set_kfree_monitor_ms(ms: u64) {
    ffi("krcu_set_kfree_monitor_ms", || {
        urcu_slab::set_monitor_period(Duration::from_millis(ms.clamp(1, 10_000)))
    })
}

/// Turns the slab layer's debug checks on or off for caches created from
/// now on (the kmalloc classes are created by the first krcu_kmalloc):
/// freed objects are poisoned, and a write after free aborts with a report
/// when the object is handed out again (`KRCU_SLAB_DEBUG=1`; on in debug
/// builds). Double frees abort with a report whether they are on or not.
///
/// Context: any but a signal handler.
#[no_mangle]
pub extern "C" fn krcu_set_debug_checks(on: bool) {
    ffi("krcu_set_debug_checks", || urcu_slab::set_debug_checks(on))
}
