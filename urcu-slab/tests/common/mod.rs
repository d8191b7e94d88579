//! Helpers shared by the slab layer's integration tests (each test binary
//! uses some of them).
#![allow(dead_code)]

use std::sync::mpsc;
use std::thread::JoinHandle;
use urcu_core::memb;

/// A thread inside a memb read section until [`Reader::leave`]; `inside`
/// runs in the section just before it ends.
pub struct Reader<R> {
    leave: mpsc::Sender<()>,
    thread: JoinHandle<R>,
}

impl<R: Send + 'static> Reader<R> {
    /// Starts the thread and returns once it is inside its section.
    pub fn enter(inside: impl FnOnce() -> R + Send + 'static) -> Self {
        let (entered_tx, entered_rx) = mpsc::channel::<()>();
        let (leave, leave_rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let _g = memb::read_lock();
            entered_tx.send(()).unwrap();
            leave_rx.recv().unwrap();
            inside()
        });
        entered_rx.recv().unwrap();
        Reader { leave, thread }
    }

    /// Ends the section; returns what `inside` returned.
    pub fn leave(self) -> R {
        self.leave.send(()).unwrap();
        self.thread.join().unwrap()
    }
}

/// Objects freed after a grace period, over every path.
pub fn freed(s: &urcu_slab::SlabStats) -> u64 {
    s.kfree_rcu_bulk + s.kfree_rcu_list + s.kfree_rcu_sheaf + s.kfree_rcu_sync_fallback
}
