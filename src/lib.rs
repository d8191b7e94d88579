//! krcu: userspace RCU with the kernel's `kfree_rcu` machinery.
//!
//! * [`rcu`]: the RCU core (memb and qsbr flavors, grace periods, `call_rcu`,
//!   barriers, polled cookies, [`rcu::RcuCell`]).
//! * [`slab`]: slab caches and deferred freeing.
#![doc = include_str!("../README.md")]

/// The RCU core (`urcu-core`).
pub mod rcu {
    pub use urcu_core::*;
}

/// The slab layer (`urcu-slab`).
pub mod slab {
    pub use urcu_slab::*;
}
