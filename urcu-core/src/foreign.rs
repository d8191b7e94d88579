//! A memb read side written in another language: what krcu's C header
//! inlines (`krcu_read_lock` as a static inline function over an
//! initial-exec thread-local), in the way liburcu's `_LGPL_SOURCE` read side
//! works.
//!
//! Such a read side keeps each thread's record word itself in its own
//! thread-local memory, and reads memb's counter group at a fixed address:
//! with the `c-read-side` feature that group is the data symbol
//! `krcu__memb_gp_v3`, laid out as `#[repr(C)] { u64 ctr; u32 futex; bool
//! reader_fences; }` (offsets 0, 8, 12). [`set_word_source`] tells krcu
//! where the words are, so every thread registering afterwards uses its word
//! as its record word (Rust read sections on the thread included: one word
//! per thread). The read side performs exactly the steps of
//! `reader::memb_lock` and `reader::memb_unlock` on it (see reader.rs for
//! why each step is there):
//!
//! ```text
//! lock:   tmp = *word                       (relaxed)
//!         if tmp & NEST_MASK: nested: *word = tmp + COUNT
//!             (nesting MAX_NEST or more: off to krcu, see below)
//!         else: *word = gp.ctr (relaxed); fence(gp.reader_fences)
//! unlock: tmp = *word
//!         if tmp & NEST_MASK != COUNT: nested: *word = tmp - COUNT
//!             (nesting 0 or NEST_MASK: off to krcu)
//!         else: real = gp.reader_fences; fence(real); *word = tmp - COUNT;
//!               fence(real); if gp.futex == GP_WAITING: wake_writer_for(tmp)
//! fence(real): a full (SeqCst) fence if real, else a compiler fence
//! ```
//!
//! While its thread is not registered, a word holds [`UNREGISTERED`], whose
//! nesting no registered word has, so the lock's nested branch finds it and
//! hands the section to krcu, which registers the thread (storing 0 in the
//! word) and takes the lock. A thread stays registered until its memb
//! registration ends; [`set_unregister_hook`] runs on that thread then, once
//! krcu no longer reads the word (see entry.rs), and puts `UNREGISTERED`
//! back.

use crate::reader::{self, GpCounter, ReaderRecord};
use std::mem::offset_of;
use std::sync::atomic::{AtomicPtr, Ordering};

/// The nesting part of a record word.
pub const NEST_MASK: u64 = reader::NEST_MASK;
/// One level of nesting.
pub const COUNT: u64 = reader::COUNT;
/// The deepest nesting of read sections.
pub const MAX_NEST: u64 = reader::MAX_NEST;
/// What a foreign word holds while its thread is not registered: a nesting
/// of `NEST_MASK`, deeper than [`MAX_NEST`].
pub const UNREGISTERED: u64 = NEST_MASK;
/// `futex` while a writer sleeps waiting for readers.
pub const GP_WAITING: u32 = reader::GP_WAITING;

const _: () = {
    assert!(offset_of!(GpCounter, ctr) == 0);
    assert!(offset_of!(GpCounter, futex) == 8);
    assert!(offset_of!(GpCounter, reader_fences) == 12);
};

static WORD_SOURCE: AtomicPtr<()> = AtomicPtr::new(std::ptr::null_mut());

/// Sets where the memb record word of each thread that registers from now
/// on lives: `source()`, called on the registering thread, returns the
/// address of that thread's word in its own thread-local memory. One source
/// per process; a later call replaces it for later registrations.
///
/// # Safety
///
/// For every thread that calls it, `source` returns the same non-null,
/// 8-byte-aligned address of a `u64` that only krcu and the foreign read
/// side's atomic accesses on that thread touch, and that stays valid until
/// the thread's memb registration ends (krcu unregisters a thread from its
/// thread-local destructors, before its static thread-local memory is
/// freed). krcu stores 0 in it when the thread registers.
pub unsafe fn set_word_source(source: extern "C" fn() -> *mut u64) {
    // Release: pairs with word_for_this_thread's Acquire.
    WORD_SOURCE.store(source as *mut (), Ordering::Release);
}

/// The registering thread's word from the source, if one is set.
pub(crate) fn word_for_this_thread() -> Option<*const ReaderRecord> {
    // Acquire: pairs with set_word_source's Release.
    let source = WORD_SOURCE.load(Ordering::Acquire);
    if source.is_null() {
        return None;
    }
    // SAFETY: only set_word_source stores here, from an
    // `extern "C" fn() -> *mut u64`.
    let f: extern "C" fn() -> *mut u64 =
        unsafe { std::mem::transmute::<*mut (), extern "C" fn() -> *mut u64>(source) };
    let word = f();
    assert!(
        !word.is_null() && word as usize % 8 == 0,
        "krcu: the memb word source returned a misaligned or null word ({word:p})"
    );
    // ReaderRecord is a transparent AtomicU64, which has u64's layout.
    Some(word.cast::<ReaderRecord>())
}

static HOOK: AtomicPtr<()> = AtomicPtr::new(std::ptr::null_mut());

/// Sets the function called on a thread whose memb registration has just
/// ended (its last explicit registration dropped, or the thread exiting),
/// when krcu no longer reads its word: a foreign read side marks its word
/// [`UNREGISTERED`] there. One hook per process; a later call replaces it.
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

/// Reports an unlock without a lock.
#[cold]
pub fn unbalanced_unlock() -> ! {
    reader::unbalanced_unlock()
}
