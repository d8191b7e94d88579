//! How the slab layer reports misuse, warnings and corruption (through
//! urcu-core's reporter, so that C programs get C terms).

/// Reports a misuse: names the rule broken and what to do instead (the
/// core's reporter, shared by every crate).
pub(crate) use urcu_core::__private::report::misuse;

/// Reports a warning: to a C log handler, a `tracing` subscriber (target
/// `krcu::slab`), or standard error (see urcu-core's report.rs).
#[cfg(not(loom))]
#[cold]
pub(crate) fn warn(message: &str) {
    use urcu_core::__private::report::{emit, Level, Target};
    emit(Level::Warn, Target::Slab, message);
}

/// Reports corruption krcu detected in its own memory (a write after free).
#[cfg(not(loom))]
#[cold]
#[track_caller]
pub(crate) fn report_corruption(what: &str) -> ! {
    panic!("krcu: memory corruption: {what}")
}
