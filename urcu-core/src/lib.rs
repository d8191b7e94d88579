//! krcu's RCU core: userspace read-copy-update in the style of liburcu.
//!
//! Two flavors, each a zero-sized type implementing [`Flavor`] with one
//! process-wide domain:
//!
//! * [`memb`] (the default): read sections store a snapshot of the
//!   grace-period counter in a thread-local record behind a compiler fence;
//!   writers pay with `membarrier()`.
//! * [`qsbr`]: read sections cost nothing; threads announce quiescent
//!   states and go offline around blocking calls.
//!
//! Grace periods are counted by a sequence number in the kernel's `rcu_seq`
//! style, the one truth behind [`GpCookie`]s, `synchronize`, and callbacks.
//! `synchronize` leads a grace period itself; a helper thread per flavor runs
//! them for [`call_rcu`](memb::call_rcu) callbacks and polled cookies, and
//! sleeps when there is no demand; callbacks run on a second helper thread.
//! Misuse that would deadlock (`synchronize` or `barrier` inside a read
//! section, `barrier` inside a callback) panics with a message naming the
//! rule. A grace period blocked past `KRCU_STALL_TIMEOUT_MS` (default 10 s)
//! is reported through `tracing`, naming the blocking thread.
//!
//! Callbacks that queue further callbacks need one more `barrier()` per
//! level, as in liburcu and the kernel: a barrier waits for the callbacks
//! queued before it, not for those they queue.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]
// Under loom only the protocol modules are compiled, without their users.
#![cfg_attr(loom, allow(dead_code))]

mod cadence;
mod entry;
mod head;
mod list;
mod primitive;
mod queue;
mod reader;
mod seq;
mod sleep;

#[cfg(not(loom))]
mod callback;
#[cfg(not(loom))]
mod cell;
#[cfg(not(loom))]
mod domain;
#[cfg(not(loom))]
mod flavor;
#[cfg(not(loom))]
#[macro_use]
mod flavor_common;
#[cfg(not(loom))]
mod foreign;
#[cfg(not(loom))]
mod fork;
#[cfg(not(loom))]
mod helper;
#[cfg(not(loom))]
pub mod memb;
#[cfg(not(loom))]
mod once;
#[cfg(not(loom))]
pub mod qsbr;
#[cfg(not(loom))]
mod qsbr_reader;
#[cfg(not(loom))]
mod qsbr_rules;
#[cfg(not(loom))]
mod registry;
#[cfg(not(loom))]
mod report;
#[cfg(not(loom))]
mod retire;
#[cfg(not(loom))]
mod retired;
#[cfg(not(loom))]
mod sys;
#[cfg(not(loom))]
mod testing;

pub use head::{RcuCallback, RcuHead};
#[cfg(not(loom))]
pub use list::{
    HIter, HListWriter, Iter, ListWriter, NodeBox, NodeHead, RcuHList, RcuHListNode, RcuList,
    RcuListNode,
};
pub use list::{HListLink, ListLink, NotInList};
pub use seq::GpCookie;

#[cfg(not(loom))]
pub use {
    cadence::{gather_time, set_gather_time},
    callback::{defer, defer_drop},
    cell::RcuCell,
    domain::{grace::set_stall_timeout, Stats},
    flavor::{Flavor, Guard, Memb, Qsbr, ReadSection, Registration},
};

/// Whether the calling thread is one of krcu's helper threads, and so
/// inside an RCU callback (a `call_rcu` function, a `defer` closure, or a
/// slab cache's `rcu_dtor`). Calls that wait for the helpers are refused
/// there.
#[cfg(not(loom))]
#[inline]
pub fn in_callback() -> bool {
    helper::in_helper()
}

/// Internals shared with krcu's other crates (`urcu-slab`, `urcu-ffi`).
/// Not API: no stability promise, and nothing here is for applications.
#[cfg(not(loom))]
#[doc(hidden)]
pub mod __private {
    /// A read side written in another language on memb's protocol (the C
    /// header's inline one): see the core's foreign.rs.
    pub mod foreign {
        pub use crate::foreign::*;
        pub use crate::memb::{
            foreign_reader_word as reader_word, foreign_wake_writer as wake_writer,
            foreign_wake_writer_for as wake_writer_for,
        };
    }

    /// Futex wait and wake on an `AtomicU32`, the sleep krcu's helper
    /// threads use: both are single async-signal-safe system calls, so a
    /// signal handler may wake a sleeper. Shared with the slab's helper.
    pub mod futex {
        pub use crate::sys::futex::{wait, wake};
    }

    pub use crate::once::{ForkOnce, ForkOnceLock};

    /// Warnings that reach people (report.rs).
    pub mod report {
        pub use crate::report::{
            emit, for_each_in_c_terms, in_c_terms, misuse, set_c_terms, set_handler, Handler,
            Level, Target, Terms,
        };
    }

    /// The library's fork handlers (see the core's fork.rs for the lock
    /// order they follow).
    pub mod fork {
        pub use crate::fork::{
            set_outer_hooks, set_slab_hooks, slab_hooks_installed, OuterHooks, SlabHooks,
        };
    }

    /// Test hooks.
    pub mod testing {
        /// Runs `hook` inside a domain's one-time initialisation, before it
        /// completes (a test forks from another thread there).
        pub fn set_init_hook(hook: Option<fn()>) {
            crate::testing::set_init_hook(hook);
        }
    }

    /// Writes `krcu: `, the parts and a newline with `write(2)`, then
    /// aborts: async-signal-safe, allocation-free.
    pub fn die(parts: &[&str]) -> ! {
        crate::sys::die_parts(parts)
    }

    /// Blocks every signal on the calling thread for the rest of its life:
    /// the first thing each of krcu's thread-exit hooks does, so that no
    /// signal handler's read section or `_nolock` call runs while krcu
    /// tears the thread's state down (see the exit hook in flavor.rs).
    pub fn block_signals_until_exit() {
        let _ = crate::sys::block_all_signals();
    }

    /// Starts a detached helper thread with every signal blocked, with
    /// `pthread_create` (std's thread start is not safe in a fork child).
    pub fn spawn_helper(name: &str, body: impl FnOnce() + Send + 'static) {
        crate::helper::spawn_helper(name, body);
    }

    /// The `pthread_t` of `F`'s callback thread (the one that runs
    /// `call_rcu` callbacks), started first if it is not running: what
    /// liburcu's `get_call_rcu_thread` returns.
    pub fn callback_thread<F: crate::Flavor>() -> libc::pthread_t {
        F::domain().callback_thread()
    }

    /// Marks the calling thread as a krcu helper that runs user callbacks
    /// (the slab layer's reclaim thread, which runs `rcu_dtor`s).
    pub fn mark_helper_thread() {
        crate::helper::mark_helper_thread();
    }

    /// To be called on a helper thread after each user callback: see
    /// `helper.rs` (the rule) and `flavor.rs` (the steps).
    #[inline]
    pub fn after_user_callback() {
        crate::flavor::after_user_callback();
    }

    /// Panics, naming the rule, inside an RCU callback of any kind.
    #[track_caller]
    pub fn forbid_in_callback(what: &str) {
        crate::helper::forbid_in_callback(what);
    }
}
