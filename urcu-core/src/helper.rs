//! Spawning a domain's two helper threads: "gp" runs grace periods for
//! callbacks and polled cookies, "cb" invokes callbacks, so a slow callback
//! never delays the next grace period.
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
//! callback, whatever its kind ([`crate::forbid_in_callback`]).

use crate::domain::Domain;
use std::mem::MaybeUninit;

/// Starts `domain`'s helpers (see [`spawn_helper`]).
pub(crate) fn spawn(domain: &'static Domain) {
    spawn_helper(&format!("krcu-{}-gp", domain.name), move || {
        mark_helper_thread();
        domain.gp_helper()
    });
    spawn_helper(&format!("krcu-{}-cb", domain.name), move || {
        mark_helper_thread();
        domain.reclaim_helper()
    });
}

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
pub(crate) fn spawn_helper(name: &str, body: impl FnOnce() + Send + 'static) {
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
}

/// Marks the calling thread as one of krcu's helpers: user code it runs is
/// inside a callback ([`crate::in_callback`]).
pub(crate) fn mark_helper_thread() {
    crate::registry::IN_HELPER.with(|c| c.set(true));
}

/// Runs on a helper thread after each user callback: the thread leaves
/// every read side it entered, so that no grace period waits for it.
#[inline]
pub(crate) fn after_user_callback() {
    use crate::registry::{MEMB_REC, QSBR_NESTING, QSBR_ONLINE};
    // Plain thread-local reads on the common path: the callback used no
    // read side, or left it as it found it.
    let memb_open = {
        let rec = MEMB_REC.with(|c| c.get());
        // SAFETY: a non-null MEMB_REC is this thread's registered record.
        !rec.is_null() && crate::reader::memb_nesting(unsafe { &*rec }) != 0
    };
    if memb_open || QSBR_ONLINE.with(|c| c.get()) || QSBR_NESTING.with(|c| c.get()) != 0 {
        leave_read_sides(memb_open);
    }
}

#[cold]
fn leave_read_sides(memb_open: bool) {
    use crate::registry::QSBR_NESTING;
    // A section still open here belongs to a guard the callback leaked
    // (`mem::forget`, `Box::leak`) or a raw lock it never paired. Ending it
    // would break the promise of a leaked guard that a later callback may
    // still read through; keeping it would stall every grace period. Both
    // are worse than stopping with the rule named.
    if memb_open || QSBR_NESTING.with(|c| c.get()) != 0 {
        crate::sys::die(
            "an RCU callback (call_rcu, defer or rcu_dtor) returned inside a read-side critical \
             section (a guard was leaked or forgotten, or a read lock was not paired); every \
             later grace period would wait for it forever. Drop every guard, or pair every \
             read lock with its unlock, before the callback returns",
        );
    }
    crate::qsbr::thread_offline();
}
