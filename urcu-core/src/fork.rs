//! `fork()` support: the child gets a working library.
//!
//! Before the fork, the forking thread takes every lock of both domains, so
//! that no helper is midway through moving a batch and no grace period is
//! running; the helpers are stopped at points where all their work lives in
//! the domain's shared state. In the child, records of threads that do not
//! exist there are pooled, the helpers are marked not started (the next krcu
//! call restarts them), and callback lists that a vanished producer left
//! half-linked are cut, the queue and the batches already spliced from it
//! alike; callbacks queued before the fork then run in both processes, each
//! on its own copy of memory, as liburcu's `call_rcu_after_fork_child`
//! arranges.
//!
//! A fork from inside a memb read-side critical section, or from a callback,
//! would deadlock (a grace period may be waiting for that very thread);
//! krcu aborts with a message instead. A qsbr thread that is online is taken
//! offline across the fork and put back online on both sides.
//!
//! # One lock order for the whole library
//!
//! krcu registers one set of fork handlers for both crates; the slab layer
//! hands its own steps to them ([`set_slab_hooks`]). The prepare handler
//! takes the locks in this order, which is the order in which any krcu
//! thread may nest them, and the other handlers release them in reverse:
//!
//! 1. the core, memb's domain then qsbr's: `start_lock`, `work`,
//!    `invoking`, `ready`, `gp_lock`, `registry` (the domain module);
//! 2. the slab layer (urcu-slab's fork.rs): helper start and steal rounds,
//!    the orphan state, the cache registry, each cache's trim, node and
//!    barn locks, the block pool, the state lists.
//!
//! A layer over krcu whose own fork steps must run while grace periods
//! can still complete (the C face's liburcu compat runs liburcu-cds's
//! rculfhash worker pause and restart, which may wait for one) hands them
//! over as [`OuterHooks`]: its `prepare` runs after the forking thread
//! has left its read sides (memb: checked; qsbr: offline) and before any
//! lock is taken, its `parent` and `child` after everything else.
//!
//! The core comes first because slab locks are taken under core locks and
//! never the other way: a callback runs with `invoking` held and may
//! allocate and free slab memory; a memb reader inside its section (which
//! a grace period holding `gp_lock` waits for) may call `kmalloc`. No slab
//! lock is held while waiting for a grace period or for a core lock. Taking
//! the slab's locks first, as two independent handler sets did, deadlocked
//! against either of those.
//!
//! The handlers are registered before any lock of either crate is first
//! taken (every entry point that reaches a lock passes [`install`]), and
//! the one-time initialisations use [`ForkOnce`](crate::once::ForkOnce), so
//! a fork that races the process's first krcu call still gives a working
//! child.

use crate::domain::fork::ForkGuards;
use crate::domain::{FlavorImpl, Private};
use crate::flavor::{Memb, Qsbr};
use crate::once::ForkOnce;
use crate::sys::die;
use std::cell::RefCell;
use std::sync::atomic::{AtomicPtr, Ordering};

struct Held {
    memb: ForkGuards<Memb>,
    qsbr: ForkGuards<Qsbr>,
    /// What each flavor's `before_fork` returned.
    memb_state: bool,
    qsbr_state: bool,
}

thread_local! {
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

/// The slab layer's steps of the fork handlers: `prepare` runs after the
/// core's locks are taken, `parent` and `child` before they are released.
pub struct SlabHooks {
    /// Takes the slab layer's locks.
    pub prepare: fn(),
    /// Releases them in the parent.
    pub parent: fn(),
    /// Releases them in the child and resets the slab layer there.
    pub child: fn(),
}

static SLAB_HOOKS: AtomicPtr<SlabHooks> = AtomicPtr::new(std::ptr::null_mut());

/// The steps of a layer over krcu around every fork: `prepare` runs before
/// krcu takes its locks (grace periods still complete; the forking thread
/// is outside every read side), `parent` and `child` after krcu works
/// again on each side. None may fork or take a krcu lock across the fork.
pub struct OuterHooks {
    /// Before the fork, before krcu's own steps take their locks.
    pub prepare: fn(),
    /// In the parent, last.
    pub parent: fn(),
    /// In the child, last (krcu's helpers restart lazily: the step may
    /// call into krcu).
    pub child: fn(),
}

static OUTER_HOOKS: AtomicPtr<OuterHooks> = AtomicPtr::new(std::ptr::null_mut());

/// Hands the slab layer's steps to the fork handlers (once; later calls
/// change nothing), and makes sure the handlers are registered.
pub fn set_slab_hooks(hooks: &'static SlabHooks) {
    set_once(&SLAB_HOOKS, hooks);
}

/// Hands a layer's steps to the fork handlers (once; later calls change
/// nothing), and makes sure the handlers are registered.
pub fn set_outer_hooks(hooks: &'static OuterHooks) {
    set_once(&OUTER_HOOKS, hooks);
}

/// Stores `hooks` in `slot` unless it holds some already, and registers
/// the handlers.
fn set_once<T>(slot: &AtomicPtr<T>, hooks: &'static T) {
    // Release: pairs with the Acquire load in `hooks_in`. The plain load
    // first keeps later calls free of a locked instruction.
    if slot.load(Ordering::Relaxed).is_null() {
        let _ = slot.compare_exchange(
            std::ptr::null_mut(),
            hooks as *const T as *mut T,
            Ordering::Release,
            Ordering::Relaxed,
        );
    }
    install();
}

fn hooks_in<T>(slot: &AtomicPtr<T>) -> Option<&'static T> {
    // Acquire: pairs with set_once's Release exchange.
    let p = slot.load(Ordering::Acquire);
    // SAFETY: set only from a &'static T.
    (!p.is_null()).then(|| unsafe { &*p })
}

/// Whether the slab layer's steps have been handed to the fork handlers.
pub fn slab_hooks_installed() -> bool {
    slab_hooks().is_some()
}

fn slab_hooks() -> Option<&'static SlabHooks> {
    hooks_in(&SLAB_HOOKS)
}

fn outer_hooks() -> Option<&'static OuterHooks> {
    hooks_in(&OUTER_HOOKS)
}

static INSTALL: ForkOnce = ForkOnce::new();

/// Registers the fork handlers, once per process. Must run before any
/// krcu lock is first taken. Not inside any krcu lock: glibc's fork holds
/// its handler-list lock while our prepare handler takes krcu's locks, so
/// a thread that holds a krcu lock while it registers handlers could wait
/// for a forking thread that waits for it.
#[inline]
pub fn install() {
    // The closure may run again in a fork child if the fork came before
    // the registration (glibc serialises the two): the child handler marks
    // it done whenever the registration took effect, so it never runs
    // twice where it did.
    INSTALL.call_once(|| {
        // SAFETY: the three handlers are `extern "C" fn()` with static
        // lifetime, as pthread_atfork requires.
        let rc = unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
        assert_eq!(rc, 0, "krcu: pthread_atfork failed");
    });
}

extern "C" fn prepare() {
    if crate::helper::in_helper() {
        die(
            "fork() called from inside an RCU callback would deadlock (the callback thread \
             must be stopped for the fork); fork from an ordinary thread instead",
        );
    }
    let memb_state = Memb::before_fork(Private(()));
    let qsbr_state = Qsbr::before_fork(Private(()));
    if let Some(h) = outer_hooks() {
        (h.prepare)();
    }
    let memb = Memb::domain().lock_for_fork();
    let qsbr = Qsbr::domain().lock_for_fork();
    if let Some(h) = slab_hooks() {
        (h.prepare)();
    }
    HELD.with(|h| {
        *h.borrow_mut() = Some(Held {
            memb,
            qsbr,
            memb_state,
            qsbr_state,
        })
    });
}

fn release(in_child: bool) {
    let held = HELD.with(|h| h.borrow_mut().take());
    let Some(mut held) = held else { return };
    if in_child {
        INSTALL.mark_completed();
        held.memb.reset_in_child(Memb::current_record(Private(())));
        held.qsbr.reset_in_child(Qsbr::current_record(Private(())));
    }
    if let Some(h) = slab_hooks() {
        if in_child {
            (h.child)();
        } else {
            (h.parent)();
        }
    }
    let (memb_state, qsbr_state) = (held.memb_state, held.qsbr_state);
    drop(held);
    Memb::after_fork(memb_state, Private(()));
    Qsbr::after_fork(qsbr_state, Private(()));
    if let Some(h) = outer_hooks() {
        if in_child {
            (h.child)();
        } else {
            (h.parent)();
        }
    }
}

extern "C" fn parent() {
    release(false);
}

extern "C" fn child() {
    release(true);
}
