//! Reports in C terms.
//!
//! The krcu crates word their misuse reports, warnings and abort messages
//! for Rust callers ("drop the read guard before calling
//! memb::synchronize()"). The copy of them inside libkrcu serves C programs
//! only, so when the library loads it installs this table in the core's
//! reporter, which puts every message of that copy in C terms before it is
//! shown (urcu-core's report.rs: whole words only, the longest term wins).
//! A term belongs here when it names Rust API a message uses; the test
//! `misuse_from_c_aborts_with_the_rule` in tests/c_api.rs runs every misuse
//! case from C and fails on a Rust name that slipped through.

use urcu_core::__private::report::Terms;

/// (the Rust API's words, the C API's words).
pub(crate) static C_TERMS: &Terms = &[
    // The core: grace periods, callbacks, registration.
    ("memb::synchronize()", "krcu_synchronize_rcu()"),
    ("memb::barrier()", "krcu_rcu_barrier()"),
    ("memb::cond_synchronize()", "krcu_cond_synchronize_rcu()"),
    ("memb::call_rcu", "krcu_call_rcu"),
    ("memb::start_poll", "krcu_start_poll_synchronize_rcu"),
    ("qsbr::synchronize()", "krcu_qsbr_synchronize_rcu()"),
    ("qsbr::barrier()", "krcu_qsbr_rcu_barrier()"),
    (
        "qsbr::cond_synchronize()",
        "krcu_qsbr_cond_synchronize_rcu()",
    ),
    ("qsbr::quiescent_state()", "krcu_qsbr_quiescent_state()"),
    ("qsbr::thread_offline()", "krcu_qsbr_thread_offline()"),
    ("qsbr::thread_online()", "krcu_qsbr_thread_online()"),
    ("qsbr::register_thread", "krcu_qsbr_register_thread()"),
    ("memb::raw_read_unlock()", "krcu_read_unlock()"),
    ("memb::raw_read_lock()", "krcu_read_lock()"),
    ("qsbr::raw_read_unlock()", "krcu_qsbr_read_unlock()"),
    ("qsbr::raw_read_lock()", "krcu_qsbr_read_lock()"),
    (
        "drop the read guard before calling",
        "call krcu_read_unlock() before calling",
    ),
    (
        "drop every qsbr read guard before calling",
        "call krcu_qsbr_read_unlock() for every krcu_qsbr_read_lock() before calling",
    ),
    (
        "a memb Registration dropped",
        "krcu_unregister_thread() called",
    ),
    (
        "a qsbr Registration dropped",
        "krcu_qsbr_unregister_thread() called",
    ),
    (
        "a lock taken in a loop without its unlock (a forgotten guard)",
        "a krcu_read_lock() in a loop without its krcu_read_unlock()",
    ),
    (
        "end the read section (drop its guard)",
        "end the read section (krcu_read_unlock, or krcu_qsbr_read_unlock)",
    ),
    (
        "(call_rcu, defer or rcu_dtor)",
        "(krcu_call_rcu, or a cache's rcu_dtor)",
    ),
    (
        "queue further work with call_rcu",
        "queue further work with krcu_call_rcu",
    ),
    (
        "Drop every guard, or pair every read lock with its unlock,",
        "Pair every read lock with its unlock",
    ),
    // The slab layer.
    ("KmemCache::free", "krcu_cache_free"),
    ("KmemCache::destroy()", "krcu_cache_destroy()"),
    ("kfree_rcu_nolock", "krcu_kfree_rcu_nolock"),
    ("kfree_nolock", "krcu_kfree_nolock"),
    ("kfree_rcu!", "krcu_kfree_rcu(ptr, field)"),
    ("the two-argument kfree_rcu!", "krcu_kfree_rcu(ptr, field)"),
    ("kfree_rcu", "krcu_kfree_rcu"),
    (
        "kvfree_rcu_barrier_on_cache()",
        "krcu_kvfree_rcu_barrier_on_cache()",
    ),
    ("kvfree_rcu_barrier()", "krcu_kvfree_rcu_barrier()"),
    ("kvfree_rcu", "krcu_kvfree_rcu_mightsleep"),
    ("kfree", "krcu_kfree"),
    ("ksize", "krcu_ksize"),
    ("krcu's kmalloc", "krcu_kmalloc"),
    ("a krcu cache's alloc", "krcu_cache_alloc"),
    (
        "an RcuHead or RcuPtr field",
        "a struct krcu_head or struct krcu_ptr field",
    ),
];
