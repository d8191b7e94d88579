//! A memb read side written in another language: what krcu's C header
//! inlines (`krcu_read_lock` as a static inline function over an
//! initial-exec thread-local), in the way liburcu's `_LGPL_SOURCE` read side
//! works.
//!
//! Such a read side keeps, per thread, a pointer to the thread's record
//! word ([`reader_word`]) and a pointer to memb's counter group
//! ([`gp_words`]), and performs exactly the steps of `reader::memb_lock` and
//! `reader::memb_unlock` on them (see reader.rs for why each step is there):
//!
//! ```text
//! lock:   tmp = *word                       (relaxed)
//!         if tmp & NEST_MASK: nested: *word = tmp + COUNT (overflow: nesting_overflow)
//!         else: *word = gp.ctr (relaxed); fence(gp.reader_fences)
//! unlock: tmp = *word
//!         if tmp & NEST_MASK != COUNT: nested or unbalanced: *word = tmp - COUNT (0: unbalanced_unlock)
//!         else: real = gp.reader_fences; fence(real); *word = tmp - COUNT;
//!               fence(real); if gp.futex == GP_WAITING: wake_writer()
//! fence(real): a full (SeqCst) fence if real, else a compiler fence
//! ```
//!
//! The counter group's layout is `#[repr(C)] { u64 ctr; u32 futex; bool
//! reader_fences; }` (offsets 0, 8, 12). A record word is valid until the
//! thread's memb registration ends; [`set_unregister_hook`] tells the
//! foreign side when, on that thread, before the record can be reused.

use crate::memb;
use crate::reader::{self, GpCounter};
use std::mem::offset_of;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

/// The nesting part of a record word.
pub const NEST_MASK: u64 = reader::NEST_MASK;
/// One level of nesting.
pub const COUNT: u64 = reader::COUNT;
/// `futex` while a writer sleeps waiting for readers.
pub const GP_WAITING: u32 = reader::GP_WAITING;

const _: () = {
    assert!(offset_of!(GpCounter, ctr) == 0);
    assert!(offset_of!(GpCounter, futex) == 8);
    assert!(offset_of!(GpCounter, reader_fences) == 12);
};

/// memb's counter group (see the module documentation for its layout),
/// after the domain has started (so `reader_fences` is final for readers
/// that registered after this call).
pub fn gp_words() -> *const () {
    memb::uses_membarrier();
    (&*memb::DOMAIN.gp as *const GpCounter).cast()
}

/// This thread's memb record word, registering the thread lazily. Valid
/// until the thread's memb registration ends (see [`set_unregister_hook`]).
pub fn reader_word() -> &'static AtomicU64 {
    &memb::record().ctr
}

static HOOK: AtomicPtr<()> = AtomicPtr::new(std::ptr::null_mut());

/// Sets the function called on a thread whose memb registration is ending
/// (its last explicit registration dropped, or the thread exiting), before
/// its record can be handed to another thread: a foreign read side clears
/// its cached record pointer there. One hook per process; a later call
/// replaces it.
pub fn set_unregister_hook(hook: extern "C" fn()) {
    // Release: a thread that sees the hook sees whatever the setter wrote
    // before.
    HOOK.store(hook as *mut (), Ordering::Release);
}

pub(crate) fn run_unregister_hook() {
    // Acquire: pairs with set_unregister_hook's Release.
    let hook = HOOK.load(Ordering::Acquire);
    if !hook.is_null() {
        // SAFETY: only set_unregister_hook stores here, from an
        // `extern "C" fn()`.
        let f: extern "C" fn() = unsafe { std::mem::transmute::<*mut (), extern "C" fn()>(hook) };
        f();
    }
}

/// Wakes a grace-period writer sleeping on the counter group's futex (the
/// unlock's last step, when it saw `GP_WAITING`).
#[cold]
pub fn wake_writer() {
    reader::wake_writer_slow(&memb::DOMAIN.gp);
}

/// Reports read sections nested too deep (a lock without unlock in a loop).
#[cold]
pub fn nesting_overflow() -> ! {
    reader::nesting_overflow()
}

/// Reports an unlock without a lock.
#[cold]
pub fn unbalanced_unlock() -> ! {
    reader::unbalanced_unlock()
}
