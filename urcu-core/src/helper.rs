//! krcu's helper threads, of both crates: how one is started (with every
//! signal blocked, by `pthread_create`), and the mark that tells krcu's
//! code it runs on one, and so inside a callback. Each domain's two helpers
//! are started by `domain::helpers`, the slab layer's by its reclaim
//! module.
//!
//! # User code on a helper thread
//!
//! A callback (`call_rcu`'s function, a `defer` closure, the slab layer's
//! `rcu_dtor`) runs on a helper thread and may use either flavor's read
//! side: a qsbr read section there registers the helper online for it, and
//! `quiescent_state()` is allowed. What a helper must never do is *stay* a
//! reader once the callback returns: grace periods would then wait for a
//! thread that never announces anything. So [`after_user_callback`] runs
//! after every one of them and takes the thread offline with qsbr; a section
//! the callback left open (a leaked guard) stops the process with the rule
//! named, since ending it would break the leaked guard's promise and
//! keeping it would stall every grace period. Calls that wait for a helper (`barrier()`,
//! `kvfree_rcu_barrier()`, cache destruction) are refused inside any
//! callback, whatever its kind ([`forbid_in_callback`]).

use std::cell::Cell;
use std::mem::MaybeUninit;

/// Starts a detached helper thread named `name` that runs `body`, with
/// every signal blocked: helpers take locks and must never run a signal
/// handler that could need those locks, and no handler meant for the
/// application should land on them. The mask is blocked before the thread
/// is created, so it inherits it with no window for a signal.
///
/// A raw `pthread_create`, not `std::thread`: helpers are also started in
/// a fork child, and std's thread start takes process-wide locks of its own
/// (its thread-info table) that another thread of the parent may have held
/// at the fork; the child's helpers then waited for them forever (seen in
/// the seam torture). glibc makes `pthread_create` work in a fork child.
///
/// Returns the thread's `pthread_t`, valid for the life of the process
/// (helpers never exit), or of the fork child that started it.
pub(crate) fn spawn_helper(name: &str, body: impl FnOnce() + Send + 'static) -> libc::pthread_t {
    type Body = Box<dyn FnOnce() + Send>;
    extern "C" fn start(arg: *mut libc::c_void) -> *mut libc::c_void {
        // SAFETY: `arg` is the Box<Body> leaked by spawn_helper, handed to
        // this thread alone.
        let body = unsafe { Box::from_raw(arg.cast::<Body>()) };
        // A panic cannot unwind out of this extern "C" frame: it aborts,
        // after the panic's own message.
        body();
        std::ptr::null_mut()
    }
    let mask = crate::sys::block_all_signals();
    let arg = Box::into_raw(Box::new(Box::new(body) as Body));
    let mut thread = MaybeUninit::<libc::pthread_t>::uninit();
    // SAFETY: default attributes; `start` takes ownership of `arg`.
    let rc =
        unsafe { libc::pthread_create(thread.as_mut_ptr(), std::ptr::null(), start, arg.cast()) };
    crate::sys::restore_signals(&mask);
    if rc != 0 {
        // SAFETY: the thread was not created; the box is still ours.
        drop(unsafe { Box::from_raw(arg) });
        panic!(
            "krcu: cannot start the helper thread {name}: {}",
            std::io::Error::from_raw_os_error(rc)
        );
    }
    // SAFETY: created above.
    let thread = unsafe { thread.assume_init() };
    // The kernel's names are at most 15 bytes.
    let mut cname = [0u8; 16];
    let n = name.len().min(15);
    cname[..n].copy_from_slice(&name.as_bytes()[..n]);
    // SAFETY: a NUL-terminated name of at most 15 bytes; the thread exists
    // (helpers never exit); detaching a joinable thread is allowed once.
    unsafe {
        libc::pthread_setname_np(thread, cname.as_ptr().cast());
        libc::pthread_detach(thread);
    }
    thread
}

thread_local! {
    /// Set on krcu's helper threads, and so inside every callback.
    static IN_HELPER: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread as one of krcu's helpers: user code it runs is
/// inside a callback ([`crate::in_callback`]).
pub(crate) fn mark_helper_thread() {
    IN_HELPER.with(|c| c.set(true));
}

/// Whether this thread is one of krcu's helpers (so, inside a callback).
pub(crate) fn in_helper() -> bool {
    IN_HELPER.with(Cell::get)
}

/// Panics, naming the rule, when `what` (a call that waits for krcu's
/// helper threads) is called inside an RCU callback of any kind.
#[track_caller]
pub(crate) fn forbid_in_callback(what: &str) {
    if in_helper() {
        crate::report::misuse(
            &format!("{what} called inside an RCU callback (call_rcu, defer or rcu_dtor) would deadlock (it waits for krcu's helper threads, one of which runs the callback)"),
            &format!("call {what} from an ordinary thread, or queue further work with call_rcu instead"),
        );
    }
}
