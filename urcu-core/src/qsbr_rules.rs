//! The rules of a `qsbr::Reader` (qsbr_reader.rs) kept per thread: whether
//! one lives, and whether one of its methods is running a free function
//! it guards (`qsbr::forbid_with_reader`).

use std::cell::Cell;

thread_local! {
    /// Whether a `Reader` is alive on this thread.
    static READER: Cell<bool> = const { Cell::new(false) };
    /// Set while a `Reader` method runs one of the free functions it
    /// guards.
    static VIA_READER: Cell<bool> = const { Cell::new(false) };
}

/// Runs one of the functions `qsbr::forbid_with_reader` guards on a
/// `Reader`'s behalf.
#[track_caller]
pub(crate) fn via_reader<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            VIA_READER.with(|v| v.set(self.0));
        }
    }
    let _reset = Reset(VIA_READER.with(|v| v.replace(true)));
    f()
}

/// Whether a `Reader` lives on this thread.
#[inline]
pub(crate) fn reader_alive() -> bool {
    READER.with(|r| r.get())
}

/// Sets this thread's "a `Reader` lives" flag; returns the old value.
pub(crate) fn set_reader_alive(alive: bool) -> bool {
    READER.with(|r| r.replace(alive))
}

/// A `Reader` lives on this thread: refuses `what` unless the reader asked
/// for it, or the thread is offline (inside `Reader::offline`, where there
/// is nothing to announce).
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn refuse_unless_asked(what: &str, online: bool) {
    if !VIA_READER.with(|v| v.get()) && online {
        let method = what.trim_start_matches("qsbr::");
        let method = match method {
            "thread_offline()" | "offline()" => "offline(|| ...)",
            m => m,
        };
        crate::report::misuse(
            &format!(
                "{what} called on a thread that has a qsbr::Reader: krcu cannot see the Reader's guards, so it may not announce quiescence for them"
            ),
            &format!(
                "call it through the Reader: reader.{method} (other blocking calls and barriers inside reader.offline(|| ...))"
            ),
        );
    }
}
