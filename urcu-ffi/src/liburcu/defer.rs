//! liburcu's `defer_rcu` API (`<urcu/defer.h>`), on krcu's callbacks.
//!
//! liburcu keeps a queue per registered thread, flushes it from a defer
//! thread or, when it fills, from `defer_rcu` itself after a
//! `synchronize_rcu`. krcu queues each deferred call as a callback of the
//! flavor: a 32-byte node (the callback head, `fct` and `p`) from a slab
//! cache of its own, whose per-thread sheaves hand the nodes the callback
//! thread frees back to the deferring thread through the barn, without
//! the cross-thread traffic of the process allocator (a boxed closure
//! when the cache cannot be had):
//!
//! * `defer_rcu` never waits for a grace period, so it may be called inside
//!   a read-side critical section and from a callback, where liburcu's may
//!   deadlock; while tens of thousands of callbacks wait it naps as
//!   `call_rcu` does, which bounds memory as liburcu's blocking flush does.
//!   It allocates, so it is not for signal handlers (neither is liburcu's).
//! * `fct(p)` runs on the flavor's callback thread, as liburcu's runs on
//!   its defer thread or on a thread that flushes.
//! * `rcu_defer_register_thread` is not needed (it returns 0 and changes
//!   nothing); `rcu_defer_unregister_thread` and `rcu_defer_barrier_thread`
//!   return when every call this thread deferred has run, as liburcu's
//!   flush of the thread's queue does (they wait only if the thread
//!   deferred something since its last barrier); `rcu_defer_barrier` when
//!   every call deferred by any thread has.

use crate::guard::{bad_argument, ffi};
use std::cell::Cell;
use std::ffi::c_void;
use std::ptr::NonNull;
use urcu_core::__private::ForkOnceLock;
use urcu_core::{Flavor, Memb, Qsbr, RcuHead};
use urcu_slab::{CacheArgs, KmemCache};

type DeferFn = Option<unsafe extern "C" fn(p: *mut c_void)>;

/// One deferred call.
struct Deferred {
    fct: unsafe extern "C" fn(p: *mut c_void),
    p: *mut c_void,
}

// SAFETY: liburcu's contract for `defer_rcu`: `fct(p)` may run on any
// thread (its defer thread, or whichever thread flushes the queue).
unsafe impl Send for Deferred {}

/// A deferred call as a callback: the head first, so the callback finds
/// the node from it.
#[repr(C)]
struct Node {
    head: RcuHead,
    call: Deferred,
}

/// Objects a thread keeps in each sheaf of the nodes' cache.
const NODE_SHEAF: u32 = 64;

/// The nodes' cache, made at the first `defer_rcu`; `None` when it could
/// not be made (then each call is a boxed closure).
static NODES: ForkOnceLock<Option<KmemCache>> = ForkOnceLock::new();

fn nodes() -> Option<&'static KmemCache> {
    NODES
        .get_or_init(|| {
            let args = CacheArgs {
                sheaf_capacity: NODE_SHEAF,
                ..CacheArgs::default()
            };
            KmemCache::new("krcu defer_rcu", std::mem::size_of::<Node>(), args).ok()
        })
        .as_ref()
}

/// The callback of a node: frees the node, then makes the call.
unsafe extern "C" fn run_node(head: *mut RcuHead) {
    let node = head.cast::<Node>();
    // SAFETY: `head` is the first field of a Node from `queue`, queued once
    // and handed to this callback once, after its grace period; the cache
    // exists (the node came from it).
    let call = unsafe {
        let call = std::ptr::read(&(*node).call);
        if let Some(cache) = nodes() {
            cache.free(NonNull::new_unchecked(node.cast()));
        }
        call
    };
    // SAFETY: the caller's contract for `defer_rcu`: `fct` accepts `p`
    // after a grace period, on any thread.
    unsafe { (call.fct)(call.p) }
}

/// Queues `call` to run after a grace period of `F`.
fn queue<F: Flavor>(call: Deferred) {
    if let Some(obj) = nodes().and_then(|c| c.alloc().ok()) {
        let node = obj.as_ptr().cast::<Node>();
        // SAFETY: a fresh object of the nodes' cache, sized and aligned for
        // a Node; handed to call_rcu once, freed by run_node.
        unsafe {
            node.write(Node {
                head: RcuHead::new(),
                call,
            });
            F::call_rcu(node.cast(), run_node);
        }
        return;
    }
    urcu_core::defer::<F>(move || {
        let call = call;
        // SAFETY: as in `run_node`.
        unsafe { (call.fct)(call.p) }
    })
}

thread_local! {
    /// Whether this thread deferred a call since its last defer barrier,
    /// per flavor (memb's, which bp and mb share, and qsbr's).
    static DEFERRED: [Cell<bool>; 2] = const { [Cell::new(false), Cell::new(false)] };
}

/// `defer_rcu(fct, p)` of flavor `F`, whose index in [`DEFERRED`] is
/// `slot`.
fn defer_rcu<F: Flavor>(slot: usize, name: &str, fct: DeferFn, p: *mut c_void) {
    let Some(fct) = fct else {
        bad_argument(name, "fct is NULL")
    };
    let call = Deferred { fct, p };
    ffi(name, move || queue::<F>(call));
    DEFERRED.with(|d| d[slot].set(true));
}

/// Waits until every call deferred before it has run (`F::barrier`);
/// `only_if_deferred`: skip it when this thread deferred nothing since its
/// last barrier.
fn defer_barrier<F: Flavor>(slot: usize, name: &'static str, only_if_deferred: bool) {
    let deferred = DEFERRED.with(|d| d[slot].replace(false));
    if only_if_deferred && !deferred {
        return;
    }
    ffi(name, F::barrier);
}

/// Exports one flavor's defer API under liburcu's names.
macro_rules! defer_api {
    ($flavor:ty, $slot:literal, $after:path, $short:literal:
     $defer_rcu:ident, $register:ident, $unregister:ident, $barrier:ident, $barrier_thread:ident) => {
        #[doc = concat!("liburcu `", stringify!($defer_rcu), "` (`defer_rcu` of <", $short, ">).")]
        ///
        /// # Safety
        ///
        /// `fct(p)` must be safe to run after a grace period, on another
        /// thread.
        #[no_mangle]
        pub unsafe extern "C" fn $defer_rcu(fct: DeferFn, p: *mut c_void) {
            defer_rcu::<$flavor>($slot, concat!("defer_rcu (", stringify!($defer_rcu), ")"), fct, p)
        }

        #[doc = concat!("liburcu `", stringify!($register), "`: returns 0; krcu needs no defer registration.")]
        #[no_mangle]
        pub extern "C" fn $register() -> i32 {
            0
        }

        #[doc = concat!("liburcu `", stringify!($unregister), "`: returns once this thread's deferred calls have run.")]
        #[no_mangle]
        pub extern "C" fn $unregister() {
            defer_barrier::<$flavor>(
                $slot,
                concat!("rcu_defer_unregister_thread (", stringify!($unregister), ")"),
                true,
            );
            $after();
        }

        #[doc = concat!("liburcu `", stringify!($barrier), "`: returns once every call deferred before it has run.")]
        #[no_mangle]
        pub extern "C" fn $barrier() {
            defer_barrier::<$flavor>(
                $slot,
                concat!("rcu_defer_barrier (", stringify!($barrier), ")"),
                false,
            );
            $after();
        }

        #[doc = concat!("liburcu `", stringify!($barrier_thread), "`: returns once this thread's deferred calls have run.")]
        #[no_mangle]
        pub extern "C" fn $barrier_thread() {
            defer_barrier::<$flavor>(
                $slot,
                concat!("rcu_defer_barrier_thread (", stringify!($barrier_thread), ")"),
                true,
            );
            $after();
        }
    };
}

/// Nothing to do after a memb call.
fn nothing() {}

defer_api!(Memb, 0, nothing, "urcu.h":
    urcu_memb_defer_rcu, urcu_memb_defer_register_thread, urcu_memb_defer_unregister_thread,
    urcu_memb_defer_barrier, urcu_memb_defer_barrier_thread);
defer_api!(Memb, 0, nothing, "urcu-bp.h":
    urcu_bp_defer_rcu, urcu_bp_defer_register_thread, urcu_bp_defer_unregister_thread,
    urcu_bp_defer_barrier, urcu_bp_defer_barrier_thread);
defer_api!(Memb, 0, nothing, "urcu-mb.h":
    urcu_mb_defer_rcu, urcu_mb_defer_register_thread, urcu_mb_defer_unregister_thread,
    urcu_mb_defer_barrier, urcu_mb_defer_barrier_thread);
defer_api!(Memb, 0, nothing, "urcu/urcu-signal.h":
    urcu_signal_defer_rcu, urcu_signal_defer_register_thread, urcu_signal_defer_unregister_thread,
    urcu_signal_defer_barrier, urcu_signal_defer_barrier_thread);
defer_api!(Qsbr, 1, super::mirror_qsbr_online, "urcu-qsbr.h":
    urcu_qsbr_defer_rcu, urcu_qsbr_defer_register_thread, urcu_qsbr_defer_unregister_thread,
    urcu_qsbr_defer_barrier, urcu_qsbr_defer_barrier_thread);
