//! One file per workload; each has a `run` for the implementations of this
//! binary (the C driver, `benches/c/driver.c`, runs the others).

pub mod alloc;
pub mod compat;
pub mod defer;
pub mod kfree;
pub mod nolock;
pub mod read;
pub mod scan;
pub mod sync;
pub mod update;
