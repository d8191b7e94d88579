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

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

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
