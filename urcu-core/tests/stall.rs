//! A reader that stays in its read section past the stall timeout is
//! reported through tracing, naming its thread, and counted.

use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::{span, Event, Metadata, Subscriber};
use urcu_core::{memb, qsbr};

#[derive(Default)]
struct Capture {
    warnings: Mutex<Vec<String>>,
    next_id: AtomicU64,
}

struct Fields(String);
impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0 += &format!("{}={:?} ", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(self.next_id.fetch_add(1, Relaxed) + 1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, event: &Event<'_>) {
        if *event.metadata().level() == tracing::Level::WARN {
            let mut f = Fields(String::new());
            event.record(&mut f);
            self.warnings.lock().unwrap().push(f.0);
        }
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

struct Shared(Arc<Capture>);
impl Subscriber for Shared {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        self.0.enabled(m)
    }
    fn new_span(&self, a: &span::Attributes<'_>) -> span::Id {
        self.0.new_span(a)
    }
    fn record(&self, i: &span::Id, r: &span::Record<'_>) {
        self.0.record(i, r)
    }
    fn record_follows_from(&self, a: &span::Id, b: &span::Id) {
        self.0.record_follows_from(a, b)
    }
    fn event(&self, e: &Event<'_>) {
        self.0.event(e)
    }
    fn enter(&self, i: &span::Id) {
        self.0.enter(i)
    }
    fn exit(&self, i: &span::Id) {
        self.0.exit(i)
    }
}

#[test]
fn stalled_grace_periods_are_reported_with_the_blocking_thread() {
    let capture = Arc::new(Capture::default());
    tracing::subscriber::set_global_default(Shared(capture.clone())).unwrap();
    urcu_core::set_stall_timeout(Duration::from_millis(100));

    // memb: a named reader holds its read section for 700 ms.
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::Builder::new()
        .name("stall-reader".into())
        .spawn(move || {
            let g = memb::read_lock();
            // SAFETY: gettid has no arguments and cannot fail.
            tx.send(unsafe { libc::syscall(libc::SYS_gettid) }).unwrap();
            std::thread::sleep(Duration::from_millis(700));
            drop(g);
        })
        .unwrap();
    let tid = rx.recv().unwrap();
    let stalls = memb::stats().stalls;
    memb::synchronize();
    reader.join().unwrap();
    assert!(memb::stats().stalls > stalls, "the stall was not counted");
    let warnings = capture.warnings.lock().unwrap().clone();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(&format!("thread {tid} (stall-reader)"))),
        "no warning named the blocking thread: {warnings:?}"
    );
    // Back-off: 100 ms, then 200, 400: a few reports, not one per wake-up.
    let n = warnings
        .iter()
        .filter(|w| w.contains("stall-reader"))
        .count();
    assert!((1..=4).contains(&n), "{n} reports in 700 ms: {warnings:?}");

    // qsbr: an online thread that never announces a quiescent state.
    let (tx, rx) = std::sync::mpsc::channel();
    let (tx2, rx2) = std::sync::mpsc::channel::<()>();
    let silent = std::thread::Builder::new()
        .name("silent-qsbr".into())
        .spawn(move || {
            let _r = qsbr::register_thread();
            tx.send(()).unwrap();
            rx2.recv_timeout(Duration::from_millis(400)).ok();
            qsbr::quiescent_state();
        })
        .unwrap();
    rx.recv().unwrap();
    qsbr::synchronize();
    drop(tx2);
    silent.join().unwrap();
    let warnings = capture.warnings.lock().unwrap().clone();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("silent-qsbr") && w.contains("quiescent_state")),
        "qsbr stall not reported: {warnings:?}"
    );
}
