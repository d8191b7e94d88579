//! Fork under liburcu's names: `call_rcu_before_fork` and the after-fork
//! calls, bp's fork calls, and `urcu_register_rculfhash_atfork`, through
//! which liburcu-cds's lock-free hash table hands its resize worker's
//! fork steps to the flavor.
//!
//! krcu's own `pthread_atfork` handlers prepare every fork and restart the
//! child's helpers, so the program's calls are not needed; they are
//! accepted, checked for pairing, and run the registered steps as
//! liburcu's do. The registered steps also run from krcu's handlers (as
//! `urcu_core`'s outer fork hooks: after the forking thread has left its
//! read sides, before krcu takes its locks, since pausing the worker may
//! wait for a grace period; and last on each side after the fork), so a
//! program with a hash table forks correctly without any call. rculfhash
//! counts nested calls of its steps, so a program that also makes the
//! calls pauses and restarts the worker once.

use super::call_rcu_data::warn;
use std::ffi::c_void;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32};
use urcu_core::__private::fork::{set_outer_hooks, OuterHooks};

type Step = Option<unsafe extern "C" fn(priv_: *mut c_void)>;

/// liburcu's `struct urcu_atfork`.
#[repr(C)]
pub struct urcu_atfork {
    before_fork: Step,
    after_fork_parent: Step,
    after_fork_child: Step,
    priv_: *mut c_void,
}

/// One flavor's registration: memb's (shared by bp, mb and signal), or
/// qsbr's.
struct Registration {
    /// The structure registered first (rculfhash has one, a static);
    /// kept once set, so a fork handler never follows a stale pointer.
    atfork: AtomicPtr<urcu_atfork>,
    /// Registrations not yet undone; the steps run while it is nonzero.
    users: AtomicU32,
    /// Whether krcu's prepare handler ran `before_fork`, so that its
    /// parent or child handler runs the matching step (the forking
    /// thread reads it back, on either side of the fork).
    prepared: AtomicBool,
    /// The program's `call_rcu_before_fork` calls not yet followed by an
    /// after-fork call.
    explicit: AtomicU32,
}

#[allow(clippy::declare_interior_mutable_const)]
const UNREGISTERED: Registration = Registration {
    atfork: AtomicPtr::new(std::ptr::null_mut()),
    users: AtomicU32::new(0),
    prepared: AtomicBool::new(false),
    explicit: AtomicU32::new(0),
};

/// memb's, then qsbr's.
static REGISTRATIONS: [Registration; 2] = [UNREGISTERED; 2];

/// bp's own fork calls (`urcu_bp_before_fork`, ...), which run no steps.
static BP_EXPLICIT: AtomicU32 = AtomicU32::new(0);

static HOOKS: OuterHooks = OuterHooks {
    prepare,
    parent,
    child,
};

impl Registration {
    fn register(&self, name: &str, atfork: *mut urcu_atfork) {
        if atfork.is_null() {
            return warn(&format!("krcu: {name}(NULL): nothing to register"));
        }
        // Release: the structure (a static of the caller) is complete
        // before a fork handler reads it through the pointer; Relaxed on
        // failure: only compared.
        if let Err(first) =
            self.atfork
                .compare_exchange(std::ptr::null_mut(), atfork, Release, Relaxed)
        {
            if first != atfork {
                return warn(&format!(
                    "krcu: {name}({atfork:p}): another struct urcu_atfork ({first:p}) is \
                     registered; the flavor runs one, as liburcu's does, and keeps it"
                ));
            }
        }
        // Release: pairs with the Acquire in `registered`; the pointer
        // above is stored before the count says there is one.
        self.users.fetch_add(1, Release);
        set_outer_hooks(&HOOKS);
    }

    fn unregister(&self, name: &str, atfork: *mut urcu_atfork) {
        // Relaxed: only compared.
        if atfork.is_null() || atfork != self.atfork.load(Relaxed) {
            return warn(&format!(
                "krcu: {name}({atfork:p}): not the registered struct urcu_atfork; nothing changed"
            ));
        }
        // Relaxed: the count alone decides; the pointer stays valid.
        if self
            .users
            .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
            .is_err()
        {
            warn(&format!(
                "krcu: {name}({atfork:p}): called more often than its register call; nothing changed"
            ));
        }
    }

    /// The registered structure while a registration stands.
    fn registered(&self) -> Option<&'static urcu_atfork> {
        // Acquire: pairs with `register`'s Release increment.
        if self.users.load(Acquire) == 0 {
            return None;
        }
        let p = self.atfork.load(Acquire);
        // SAFETY: non-null once `users` was raised; the caller's
        // structure lives while registered (liburcu's contract: rculfhash
        // passes a static).
        (!p.is_null()).then(|| unsafe { &*p })
    }
}

fn run(step: Step, atfork: &urcu_atfork) {
    if let Some(step) = step {
        // SAFETY: a step of the registered structure, called with its
        // own `priv`, as liburcu calls it.
        unsafe { step(atfork.priv_) }
    }
}

/// krcu's prepare handler: each registered structure's `before_fork`,
/// once per structure.
fn prepare() {
    let mut done: Option<*const urcu_atfork> = None;
    for r in &REGISTRATIONS {
        if let Some(a) = r.registered() {
            if done != Some(a as *const urcu_atfork) {
                run(a.before_fork, a);
                // Relaxed: read back by this thread after the fork.
                r.prepared.store(true, Relaxed);
                done = Some(a);
            }
        }
    }
}

fn after(in_child: bool) {
    for r in REGISTRATIONS.iter().rev() {
        // Relaxed: written by this thread before the fork.
        if r.prepared.swap(false, Relaxed) {
            // Registered when prepared: the pointer stays set for good.
            // Acquire: as in `registered`.
            // SAFETY: as in `registered`.
            let a = unsafe { &*r.atfork.load(Acquire) };
            run(
                if in_child {
                    a.after_fork_child
                } else {
                    a.after_fork_parent
                },
                a,
            );
        }
    }
}

fn parent() {
    after(false)
}

fn child() {
    after(true)
}

/// The program's `call_rcu_before_fork`: the registered steps, as liburcu
/// runs them.
fn before_fork_call(r: &Registration) {
    // Relaxed: a count the same thread reads back across fork().
    r.explicit.fetch_add(1, Relaxed);
    if let Some(a) = r.registered() {
        run(a.before_fork, a);
    }
}

/// The program's after-fork call, checked against its before-fork call.
fn after_fork_call(count: &AtomicU32, name: &str, before: &str) -> bool {
    // Relaxed: as in `before_fork_call`.
    let paired = count
        .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
        .is_ok();
    if !paired {
        warn(&format!(
            "krcu: {name}() called without {before}(); krcu's own fork \
             handlers prepare every fork, so neither call is needed"
        ));
    }
    paired
}

fn after_fork_step(r: &Registration, name: &str, in_child: bool) {
    if after_fork_call(&r.explicit, name, "call_rcu_before_fork") {
        if let Some(a) = r.registered() {
            run(
                if in_child {
                    a.after_fork_child
                } else {
                    a.after_fork_parent
                },
                a,
            );
        }
    }
}

/// Exports one flavor's fork calls and rculfhash registration under
/// liburcu's names.
macro_rules! fork_api {
    ($($slot:literal: $before:ident, $parent:ident, $child:ident, $register:ident, $unregister:ident;)*) => {$(
        #[doc = concat!("liburcu `", stringify!($before), "`: runs the registered rculfhash steps; krcu's fork handlers prepare every fork.")]
        #[no_mangle]
        pub extern "C" fn $before() {
            before_fork_call(&REGISTRATIONS[$slot])
        }

        #[doc = concat!("liburcu `", stringify!($parent), "`: runs the registered rculfhash steps; krcu's fork handlers resume the parent.")]
        #[no_mangle]
        pub extern "C" fn $parent() {
            after_fork_step(&REGISTRATIONS[$slot], "call_rcu_after_fork_parent", false)
        }

        #[doc = concat!("liburcu `", stringify!($child), "`: runs the registered rculfhash steps; krcu's fork handlers restart the child's helper threads.")]
        #[no_mangle]
        pub extern "C" fn $child() {
            after_fork_step(&REGISTRATIONS[$slot], "call_rcu_after_fork_child", true)
        }

        #[doc = concat!("liburcu `", stringify!($register), "`: the fork steps of liburcu-cds's hash table (see the module's documentation).")]
        ///
        /// # Safety
        ///
        /// `atfork` is NULL or points to a structure that lives while it
        /// is registered.
        #[no_mangle]
        pub unsafe extern "C" fn $register(atfork: *mut urcu_atfork) {
            REGISTRATIONS[$slot].register(stringify!($register), atfork)
        }

        #[doc = concat!("liburcu `", stringify!($unregister), "`: undoes one registration.")]
        #[no_mangle]
        pub extern "C" fn $unregister(atfork: *mut urcu_atfork) {
            REGISTRATIONS[$slot].unregister(stringify!($unregister), atfork)
        }
    )*};
}

fork_api! {
    0: urcu_memb_call_rcu_before_fork, urcu_memb_call_rcu_after_fork_parent,
       urcu_memb_call_rcu_after_fork_child, urcu_memb_register_rculfhash_atfork,
       urcu_memb_unregister_rculfhash_atfork;
    0: urcu_bp_call_rcu_before_fork, urcu_bp_call_rcu_after_fork_parent,
       urcu_bp_call_rcu_after_fork_child, urcu_bp_register_rculfhash_atfork,
       urcu_bp_unregister_rculfhash_atfork;
    0: urcu_mb_call_rcu_before_fork, urcu_mb_call_rcu_after_fork_parent,
       urcu_mb_call_rcu_after_fork_child, urcu_mb_register_rculfhash_atfork,
       urcu_mb_unregister_rculfhash_atfork;
    0: urcu_signal_call_rcu_before_fork, urcu_signal_call_rcu_after_fork_parent,
       urcu_signal_call_rcu_after_fork_child, urcu_signal_register_rculfhash_atfork,
       urcu_signal_unregister_rculfhash_atfork;
    1: urcu_qsbr_call_rcu_before_fork, urcu_qsbr_call_rcu_after_fork_parent,
       urcu_qsbr_call_rcu_after_fork_child, urcu_qsbr_register_rculfhash_atfork,
       urcu_qsbr_unregister_rculfhash_atfork;
}

/// liburcu `urcu_bp_before_fork`: krcu's fork handlers prepare every fork.
#[no_mangle]
pub extern "C" fn urcu_bp_before_fork() {
    // Relaxed: as in `before_fork_call`.
    BP_EXPLICIT.fetch_add(1, Relaxed);
}

/// liburcu `urcu_bp_after_fork_parent`: krcu's fork handlers resume the
/// parent.
#[no_mangle]
pub extern "C" fn urcu_bp_after_fork_parent() {
    after_fork_call(
        &BP_EXPLICIT,
        "urcu_bp_after_fork_parent",
        "urcu_bp_before_fork",
    );
}

/// liburcu `urcu_bp_after_fork_child`: krcu's fork handlers restart the
/// child's helper threads.
#[no_mangle]
pub extern "C" fn urcu_bp_after_fork_child() {
    after_fork_call(
        &BP_EXPLICIT,
        "urcu_bp_after_fork_child",
        "urcu_bp_before_fork",
    );
}
