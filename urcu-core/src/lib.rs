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

mod entry;
mod head;
mod primitive;
mod queue;
mod reader;
mod seq;

#[cfg(not(loom))]
mod callback;
#[cfg(not(loom))]
mod cell;
#[cfg(not(loom))]
mod domain;
#[cfg(not(loom))]
#[macro_use]
mod flavor;
#[cfg(not(loom))]
pub mod foreign;
#[cfg(not(loom))]
mod fork;
#[cfg(not(loom))]
mod helper;
#[cfg(not(loom))]
pub mod memb;
#[cfg(not(loom))]
pub mod qsbr;
#[cfg(not(loom))]
mod registry;
#[cfg(not(loom))]
mod sys;

/// Futex wait and wake on an `AtomicU32`, the sleep krcu's helper threads
/// use: both are single async-signal-safe system calls, so a signal handler
/// may wake a sleeper. Shared with `urcu-slab`'s helper.
#[cfg(not(loom))]
pub mod futex {
    pub use crate::sys::futex::{wait, wake};
}

pub use head::{RcuCallback, RcuHead};

#[cfg(not(loom))]
pub use {
    callback::{defer, defer_drop},
    cell::RcuCell,
    domain::{set_stall_timeout, Stats},
    flavor::{Flavor, Guard, Registration},
    memb::Memb,
    qsbr::Qsbr,
    seq::GpCookie,
};

/// Reports a misuse that would deadlock or break RCU's guarantees: names the
/// rule broken and what to do instead.
#[cfg(not(loom))]
#[cold]
#[track_caller]
pub(crate) fn misuse(rule: &str, instead: &str) -> ! {
    panic!("krcu: {rule}; {instead}")
}

#[cfg(not(loom))]
pub(crate) fn forbid_in_callback(what: &str) {
    if registry::in_helper() {
        misuse(
            &format!("{what} called inside an RCU callback would deadlock (it waits for the callback thread it runs on)"),
            &format!("call {what} from an ordinary thread, or queue further work with call_rcu instead"),
        );
    }
}
