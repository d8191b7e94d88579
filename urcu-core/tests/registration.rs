//! Explicit registration guards, lazy registration and exit-time
//! unregistration, counted exactly: alone in its process, so no other test
//! registers threads meanwhile (krcu's helper threads never register).

use urcu_core::{memb, qsbr};

#[test]
fn registration_guards_lazy_registration_and_thread_exit() {
    assert_eq!(memb::stats().registered_threads, 0);
    std::thread::spawn(|| {
        let reg = memb::register_thread();
        let reg2 = memb::register_thread();
        assert_eq!(
            memb::stats().registered_threads,
            1,
            "nested registrations count once"
        );
        drop(reg2);
        assert_eq!(
            memb::stats().registered_threads,
            1,
            "the outer registration holds"
        );
        drop(reg);
        assert_eq!(
            memb::stats().registered_threads,
            0,
            "the last guard unregisters"
        );
        drop(memb::read_lock()); // lazy registration
        assert_eq!(memb::stats().registered_threads, 1);
        let _q = qsbr::register_thread();
        assert_eq!(qsbr::stats().registered_threads, 1);
    })
    .join()
    .unwrap();
    // The lazily registered thread, and its qsbr registration, left at exit.
    assert_eq!(memb::stats().registered_threads, 0);
    assert_eq!(qsbr::stats().registered_threads, 0);
}
