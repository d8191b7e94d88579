//! Reports that reach people without set-up.
//!
//! Every warning krcu emits (a stalled grace period, a cache dropped with
//! live objects, the synchronize fallback of a headless
//! kvfree_rcu, a panicking deferred closure) goes, in this order:
//!
//! 1. to the log handler a C program installed (`krcu_set_log_handler`);
//! 2. else to `tracing`, with the target `krcu::core` or `krcu::slab`,
//!    when a subscriber is installed (so `RUST_LOG=krcu=warn` selects them);
//! 3. else one line on standard error, at most [`BURST`] lines a second;
//!    lines beyond that are counted and the count is written with the next
//!    line that goes out.
//!
//! Debug and trace events (slow paths) go to `tracing` only.

use std::borrow::Cow;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

/// Reports a misuse that would deadlock or break RCU's guarantees: names the
/// rule broken and what to do instead. A panic: in a C program the export's
/// guard turns it into an abort after the message (in C terms).
#[cold]
#[track_caller]
pub fn misuse(rule: &str, instead: &str) -> ! {
    panic!("krcu: {rule}; {instead}")
}

/// How bad a report is; the numbers are the C API's `KRCU_LOG_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Level {
    /// krcu is about to abort, or lost something.
    Error = 1,
    /// A misuse or a stall that krcu survived.
    Warn = 2,
}

/// Which crate speaks: the `tracing` target.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// `krcu::core`.
    Core,
    /// `krcu::slab`.
    Slab,
}

/// A log handler: gets each report's level and its one-line message.
pub type Handler = Arc<dyn Fn(Level, &str) + Send + Sync>;

/// The installed handler. A std mutex, held only to copy the handler out
/// (a handler may install another): reports are rare and never come from
/// a signal handler.
static HANDLER: Mutex<Option<Handler>> = Mutex::new(None);

/// Installs `handler` for every later report; `None` restores the default
/// (`tracing` if a subscriber is installed, else standard error).
pub fn set_handler(handler: Option<Handler>) {
    *HANDLER.lock().unwrap_or_else(PoisonError::into_inner) = handler;
}

/// Terms for a C caller: pairs of (the Rust API's words, the C API's
/// words), installed by the C face (libkrcu) when it loads. Every copy of
/// krcu inside libkrcu serves C programs only, so from then on every
/// report, panic message and abort message of that copy is put in C terms
/// ([`in_c_terms`], [`for_each_in_c_terms`]); a Rust program never has a
/// table and gets the messages as written.
pub type Terms = [(&'static str, &'static str)];

static C_TERMS: AtomicPtr<&'static Terms> = AtomicPtr::new(std::ptr::null_mut());

/// Installs the C face's terms (once, before any report).
pub fn set_c_terms(terms: &'static &'static Terms) {
    // Release: pairs with the Acquire in `c_terms`.
    C_TERMS.store(std::ptr::from_ref(terms).cast_mut(), Ordering::Release);
}

fn c_terms() -> Option<&'static Terms> {
    let p = C_TERMS.load(Ordering::Acquire);
    // SAFETY: only `set_c_terms` stores, from a `&'static &'static Terms`.
    (!p.is_null()).then(|| unsafe { *p })
}

/// Hands `text` to `out` in pieces, with each Rust term of the C face's
/// table replaced by its C words; the whole of `text` when no table is
/// installed. A term matches only as whole words (not after a letter,
/// digit, `_` or `:`, and, if it ends in a letter, digit or `_`, not
/// before another), and the longest term that matches wins; the
/// replacement is not scanned again. Allocates nothing and takes no lock:
/// usable where a process is about to abort, a signal handler included.
pub fn for_each_in_c_terms(text: &str, out: impl FnMut(&str)) {
    translate(c_terms().unwrap_or(&[]), text, out);
}

fn translate(terms: &Terms, text: &str, mut out: impl FnMut(&str)) {
    let bytes = text.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        let at_word = i == 0 || {
            let b = bytes[i - 1];
            !(b.is_ascii_alphanumeric() || b == b'_' || b == b':')
        };
        let hit = at_word
            .then(|| {
                terms
                    .iter()
                    .filter(|(rust, _)| {
                        let rest = &bytes[i..];
                        let word_end = |r: &[u8]| {
                            let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
                            !r.last().is_some_and(|&b| ident(b))
                                || rest.get(r.len()).is_none_or(|&b| !ident(b))
                        };
                        rest.starts_with(rust.as_bytes()) && word_end(rust.as_bytes())
                    })
                    .max_by_key(|(rust, _)| rust.len())
            })
            .flatten();
        match hit {
            Some((rust, c)) => {
                out(&text[start..i]);
                out(c);
                i += rust.len();
                start = i;
            }
            None => i += 1,
        }
    }
    out(&text[start..]);
}

/// `text` in the caller's terms: C terms inside libkrcu, else unchanged.
pub fn in_c_terms(text: &str) -> Cow<'_, str> {
    if c_terms().is_none() {
        return Cow::Borrowed(text);
    }
    let mut s = String::with_capacity(text.len() + 32);
    for_each_in_c_terms(text, |piece| s.push_str(piece));
    Cow::Owned(s)
}

/// Most lines written to standard error in one second.
const BURST: u64 = 10;
/// The second the current burst started in, and its lines so far.
static WINDOW: AtomicU64 = AtomicU64::new(0);
static IN_WINDOW: AtomicU64 = AtomicU64::new(0);
/// Lines not written since the last one that was.
static SUPPRESSED: AtomicU64 = AtomicU64::new(0);

/// Reports `message` (one line, starting with `krcu: `).
#[cold]
pub fn emit(level: Level, target: Target, message: &str) {
    let message = &*in_c_terms(message);
    let handler = HANDLER
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if let Some(h) = handler {
        h(level, message);
        return;
    }
    let subscribed =
        tracing::dispatcher::get_default(|d| !d.is::<tracing::subscriber::NoSubscriber>());
    if subscribed {
        match (level, target) {
            (Level::Error, Target::Core) => tracing::error!(target: "krcu::core", "{message}"),
            (Level::Error, Target::Slab) => tracing::error!(target: "krcu::slab", "{message}"),
            (Level::Warn, Target::Core) => tracing::warn!(target: "krcu::core", "{message}"),
            (Level::Warn, Target::Slab) => tracing::warn!(target: "krcu::slab", "{message}"),
        }
        return;
    }
    to_stderr(message);
}

fn to_stderr(message: &str) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Relaxed: a rate limit; a race costs a line more or less.
    if WINDOW.swap(now, Ordering::Relaxed) != now {
        IN_WINDOW.store(0, Ordering::Relaxed);
    }
    if IN_WINDOW.fetch_add(1, Ordering::Relaxed) >= BURST {
        SUPPRESSED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let suppressed = SUPPRESSED.swap(0, Ordering::Relaxed);
    let line = if suppressed > 0 {
        format!("{message} ({suppressed} earlier krcu messages suppressed)\n")
    } else {
        format!("{message}\n")
    };
    // One write(2), not eprintln!: std's stderr lock may have been held by
    // another thread of the parent when a fork made this process.
    // SAFETY: writes from a valid buffer to fd 2; a short or failed write
    // loses part of a report, nothing else.
    unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(text: &str) -> String {
        static TERMS: &Terms = &[
            ("kfree", "krcu_kfree"),
            ("kfree_rcu", "krcu_kfree_rcu"),
            ("kfree_rcu!", "krcu_kfree_rcu(ptr, field)"),
            ("memb::synchronize()", "krcu_synchronize_rcu()"),
        ];
        let mut s = String::new();
        translate(TERMS, text, |piece| s.push_str(piece));
        s
    }

    #[test]
    fn terms_are_replaced_as_whole_words_longest_first() {
        assert_eq!(
            c("kfree(0x10) then kfree_rcu"),
            "krcu_kfree(0x10) then krcu_kfree_rcu"
        );
        assert_eq!(
            c("use kfree_rcu!, or kfree."),
            "use krcu_kfree_rcu(ptr, field), or krcu_kfree."
        );
        assert_eq!(
            c("memb::synchronize() first"),
            "krcu_synchronize_rcu() first"
        );
        // Not inside other words, and not again inside a replacement.
        assert_eq!(
            c("kvfree(x) krcu_kfree kfreeze"),
            "kvfree(x) krcu_kfree kfreeze"
        );
        assert_eq!(c("no terms here"), "no terms here");
        assert_eq!(c(""), "");
    }
}
