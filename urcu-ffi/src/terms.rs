//! Reports in C terms.
//!
//! The krcu crates word their misuse reports, warnings and abort messages
//! for Rust callers ("drop the read guard before calling
//! memb::synchronize()"). The copy of them inside libkrcu serves C programs
//! only, so when the library loads it installs [`C_TERMS`] in the core's
//! reporter, which puts every message of that copy in C terms before it is
//! shown (urcu-core's report.rs: whole words only, the longest term wins).
//! A program built against liburcu's names (`pkg-config krcu-urcu`) says
//! so when it starts (the compat headers' constructor calls
//! `krcu__speak_liburcu`), and gets [`LIBURCU_TERMS`] instead: the same
//! messages naming `synchronize_rcu()`, `rcu_read_unlock()`, ... where the
//! C table names `krcu_synchronize_rcu()`, `krcu_read_unlock()`.
//!
//! A term belongs here when it names Rust API a message uses; the tests
//! `misuse_from_c_aborts_with_the_rule` and
//! `misuse_under_liburcu_names_is_reported_in_liburcu_terms` in
//! tests/c_api.rs run the misuse cases from C and fail on a Rust name (or,
//! for the second, a krcu_ name) that slipped through.

use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use urcu_core::__private::report::Terms;

/// The core's terms, in krcu.h's words: (the Rust API's words, the C
/// API's words).
const CORE_IN_C: &Terms = &[
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
];

/// The slab layer's terms, in krcu.h's words (liburcu has no slab API).
const SLAB_IN_C: &Terms = &[
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

/// The core's terms in liburcu's words, for programs built against the
/// compat headers; with krcu's C words too where a message has them.
const CORE_IN_LIBURCU: &Terms = &[
    ("memb::synchronize()", "synchronize_rcu()"),
    ("memb::barrier()", "rcu_barrier()"),
    ("memb::cond_synchronize()", "krcu_cond_synchronize_rcu()"),
    ("memb::call_rcu", "call_rcu"),
    ("memb::start_poll", "start_poll_synchronize_rcu"),
    ("qsbr::synchronize()", "synchronize_rcu()"),
    ("qsbr::barrier()", "rcu_barrier()"),
    (
        "qsbr::cond_synchronize()",
        "krcu_qsbr_cond_synchronize_rcu()",
    ),
    ("qsbr::quiescent_state()", "rcu_quiescent_state()"),
    ("qsbr::thread_offline()", "rcu_thread_offline()"),
    ("qsbr::thread_online()", "rcu_thread_online()"),
    ("qsbr::register_thread", "rcu_register_thread()"),
    ("memb::raw_read_unlock()", "rcu_read_unlock()"),
    ("memb::raw_read_lock()", "rcu_read_lock()"),
    ("qsbr::raw_read_unlock()", "rcu_read_unlock()"),
    ("qsbr::raw_read_lock()", "rcu_read_lock()"),
    ("krcu_read_unlock", "rcu_read_unlock"),
    (
        "drop the read guard before calling",
        "call rcu_read_unlock() before calling",
    ),
    (
        "drop every qsbr read guard before calling",
        "call rcu_read_unlock() for every rcu_read_lock() before calling",
    ),
    (
        "a memb Registration dropped",
        "rcu_unregister_thread() called",
    ),
    (
        "a qsbr Registration dropped",
        "rcu_unregister_thread() called",
    ),
    (
        "a lock taken in a loop without its unlock (a forgotten guard)",
        "an rcu_read_lock() in a loop without its rcu_read_unlock()",
    ),
    (
        "end the read section (drop its guard)",
        "end the read section (rcu_read_unlock)",
    ),
    (
        "(call_rcu, defer or rcu_dtor)",
        "(call_rcu, defer_rcu, or a krcu cache's rcu_dtor)",
    ),
    (
        "Drop every guard, or pair every read lock with its unlock,",
        "Pair every rcu_read_lock() with its rcu_read_unlock()",
    ),
];

/// `a` then `b`, as one table (the translation looks at every entry).
const fn join<const N: usize>(a: &Terms, b: &Terms) -> [(&'static str, &'static str); N] {
    let mut out = [("", ""); N];
    let mut i = 0;
    while i < a.len() {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < b.len() {
        out[i + j] = b[j];
        j += 1;
    }
    out
}

static C_TABLE: [(&str, &str); CORE_IN_C.len() + SLAB_IN_C.len()] = join(CORE_IN_C, SLAB_IN_C);
static LIBURCU_TABLE: [(&str, &str); CORE_IN_LIBURCU.len() + SLAB_IN_C.len()] =
    join(CORE_IN_LIBURCU, SLAB_IN_C);

/// krcu.h's terms: installed when libkrcu loads.
static C_TERMS: &Terms = &C_TABLE;
/// liburcu's terms: installed by `krcu__speak_liburcu`.
static LIBURCU_TERMS: &Terms = &LIBURCU_TABLE;

/// Whether the program speaks liburcu's names.
static SPEAKS_LIBURCU: AtomicBool = AtomicBool::new(false);

/// Installs the program's terms in the core's reporter, when the library
/// loads: krcu.h's, unless the program already said it speaks liburcu's
/// (in a static link, the program's constructors may run first).
pub(crate) fn install() {
    // Relaxed: constructors run on one thread, before any other exists.
    let terms = if SPEAKS_LIBURCU.load(Relaxed) {
        &LIBURCU_TERMS
    } else {
        &C_TERMS
    };
    urcu_core::__private::report::set_c_terms(terms);
}

/// From now on krcu's reports name liburcu's functions: the program
/// speaks liburcu's names (`krcu__speak_liburcu`, liburcu/mod.rs).
pub(crate) fn speak_liburcu() {
    // Relaxed: as in `install`.
    SPEAKS_LIBURCU.store(true, Relaxed);
    urcu_core::__private::report::set_c_terms(&LIBURCU_TERMS);
}
