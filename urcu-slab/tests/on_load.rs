//! The slab layer's fork steps are handed to the core's fork handlers when
//! the library is loaded, before any slab call.

#[test]
fn fork_steps_are_installed_at_load() {
    assert!(urcu_core::__private::fork::slab_hooks_installed());
    // A constant of the slab crate: the test links it, and calls nothing.
    assert!(urcu_slab::DEFAULT_MONITOR.as_millis() > 0);
}
