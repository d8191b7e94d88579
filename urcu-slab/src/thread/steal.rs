//! The steal flag: how another thread takes a thread's kfree_rcu state
//! without the owner paying for a lock (see the `thread` module for the
//! protocol in context). Its three steps ([`StealFlag::owner_run`],
//! [`StealFlag::handler_run`], [`steal_round`]) are what krcu runs and what
//! the loom models below run.
//!
//! It is memb's read-side handshake on a private pair of words: the owner
//! marks itself busy and checks `steal`; a flusher raises `steal` and then
//! waits for the owner to be idle.
//!
//! ```text
//! owner                                   flusher
//! -----                                   -------
//! busy = 1                                steal += 1
//! slave_fence (compiler fence)            master_fence (membarrier)
//! if steal == 0: use state lock-free,     wait until busy == 0 (Acquire)
//!                busy = 0 (Release)       lock, use state, unlock
//! else: busy = 0, lock, use state         steal -= 1 (Release)
//! ```
//!
//! `membarrier()` makes the owner's compiler fence a full one wherever the
//! owner is at that moment (without membarrier both are full fences), so
//! this is the store-buffering pattern with a fence on each side: either
//! the flusher sees `busy == 1` and waits for the owner, or the owner sees
//! `steal != 0` and takes the lock. The flusher's Acquire on `busy` pairs
//! with the owner's Release, so it sees the state the owner left; the
//! owner's Acquire on `steal` pairs with the flusher's Release decrement.
//!
//! Unlike a memb read section, the owner's busy window holds up no grace
//! period: only a flusher (a barrier, the monitor) ever waits for it.

use crate::primitive::AtomicU32;
use std::sync::atomic::Ordering;

/// A thread's steal count and busy flag.
pub(crate) struct StealFlag {
    steal: AtomicU32,
    busy: AtomicU32,
}

impl StealFlag {
    pub(crate) fn new(raised: bool) -> Self {
        StealFlag {
            steal: AtomicU32::new(u32::from(raised)),
            busy: AtomicU32::new(0),
        }
    }

    /// Owner: marks itself busy; true when it may then use its state
    /// without the lock (and must call [`owner_exit`](Self::owner_exit)).
    #[inline(always)]
    pub(crate) fn owner_enter(&self, slave_fence: impl FnOnce()) -> bool {
        // Relaxed: ordered before the load below by the slave fence
        // (compiler fence + the flusher's membarrier, or a full fence).
        self.busy.store(1, Ordering::Relaxed);
        slave_fence();
        // Acquire: pairs with lower()'s Release: the flusher's changes to
        // the state are visible.
        if self.steal.load(Ordering::Acquire) == 0 {
            return true;
        }
        self.owner_exit();
        false
    }

    /// Whether the owner is inside its lock-free window: asked by a signal
    /// handler on the owner's own thread (which sees the owner's stores in
    /// program order), before it enters the window itself.
    #[inline(always)]
    pub(crate) fn owner_busy(&self) -> bool {
        // Relaxed: same-thread, see above.
        self.busy.load(Ordering::Relaxed) != 0
    }

    /// Owner: done with its state.
    #[inline(always)]
    pub(crate) fn owner_exit(&self) {
        // Release: pairs with wait_idle's Acquire: the flusher sees what the
        // owner did.
        self.busy.store(0, Ordering::Release);
    }

    /// Flusher: wants the state. Follow with the master fence, then
    /// [`wait_idle`](Self::wait_idle).
    pub(crate) fn raise(&self) {
        // Relaxed: the master fence that follows orders it before the busy
        // load in wait_idle.
        self.steal.fetch_add(1, Ordering::Relaxed);
    }

    /// Flusher, after the master fence: waits until the owner is out of
    /// its lock-free window (it takes the lock from now on).
    pub(crate) fn wait_idle(&self, mut pause: impl FnMut()) {
        // Acquire: pairs with owner_exit's Release.
        while self.busy.load(Ordering::Acquire) != 0 {
            pause();
        }
    }

    /// Flusher, after its work under the lock.
    pub(crate) fn lower(&self) {
        // Release: pairs with owner_enter's Acquire.
        self.steal.fetch_sub(1, Ordering::Release);
    }
}

/// Leaves the owner's lock-free window when dropped, also if the work in
/// it unwinds: a flusher waits for it.
struct Window<'a>(&'a StealFlag);

impl Drop for Window<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.0.owner_exit();
    }
}

impl StealFlag {
    /// The owner's use of its state: `body(true)` inside the lock-free
    /// window when no flusher wants the state, else `body(false)`, which
    /// must take the state's lock. `slave_fence` is the owner's half of the
    /// fence pair.
    #[inline(always)]
    pub(crate) fn owner_run<R>(
        &self,
        slave_fence: impl FnOnce(),
        body: impl FnOnce(bool) -> R,
    ) -> R {
        if self.owner_enter(slave_fence) {
            let _window = Window(self);
            return body(true);
        }
        body(false)
    }

    /// A signal handler's use of the state of the thread it interrupted:
    /// `body` inside the lock-free window, unless the owner was interrupted
    /// inside its own window, or working under the lock (`owner_locked`),
    /// or a flusher wants the state: `None` then. Never locks.
    #[inline(always)]
    pub(crate) fn handler_run<R>(
        &self,
        owner_locked: bool,
        slave_fence: impl FnOnce(),
        body: impl FnOnce() -> R,
    ) -> Option<R> {
        if owner_locked || self.owner_busy() || !self.owner_enter(slave_fence) {
            return None;
        }
        let _window = Window(self);
        Some(body())
    }
}

/// A flusher's round over `owners`: raises each one's flag (`flag`), runs
/// the master fence once, then for each waits until its owner is out of its
/// lock-free window (`idle` between looks) and runs `take` (which locks the
/// state and works on it), and finally lowers every flag.
pub(crate) fn steal_round<T>(
    owners: &[T],
    flag: impl Fn(&T) -> &StealFlag,
    master_fence: impl FnOnce(),
    idle: impl Fn(),
    mut take: impl FnMut(&T),
) {
    for o in owners {
        flag(o).raise();
    }
    master_fence();
    for o in owners {
        // An owner's window is a few dozen instructions; if it was
        // preempted inside one, `idle` lets it run.
        flag(o).wait_idle(&idle);
        take(o);
    }
    for o in owners {
        flag(o).lower();
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::cell::UnsafeCell;
    use loom::sync::atomic::fence;
    use loom::sync::{Arc, Mutex};
    use loom::thread;

    struct Thread {
        flag: StealFlag,
        lock: Mutex<()>,
        /// The kfree_rcu state: loom reports any access not ordered by the
        /// protocol.
        state: UnsafeCell<u32>,
    }

    impl Thread {
        pub(crate) fn new() -> Self {
            Thread {
                flag: StealFlag::new(false),
                lock: Mutex::new(()),
                state: UnsafeCell::new(0),
            }
        }

        /// A flusher's take (a barrier, the monitor): the real round, on
        /// this one owner.
        fn flush(&self) -> u32 {
            let mut taken = 0;
            steal_round(
                std::slice::from_ref(self),
                |t| &t.flag,
                // SeqCst fence: the model's master fence (fence mode).
                || fence(Ordering::SeqCst),
                thread::yield_now,
                |t| {
                    let _g = t.lock.lock().unwrap();
                    taken = t
                        .state
                        .with_mut(|s| unsafe { std::mem::replace(&mut *s, 0) });
                },
            );
            taken
        }

        /// The owner's update of its state, by the real protocol.
        fn update(&self) {
            self.flag.owner_run(
                // SeqCst fence: the model's slave fence (fence mode).
                || fence(Ordering::SeqCst),
                |window| {
                    let _g = (!window).then(|| self.lock.lock().unwrap());
                    self.state.with_mut(|s| unsafe { *s += 1 });
                },
            );
        }
    }

    /// An owner's two operations race a flusher's take, with full fences
    /// on both sides (the fence mode; membarrier makes the owner's compiler
    /// fence one): every access to the state is exclusive, and each update
    /// is seen exactly once.
    #[test]
    fn loom_steal_protocol() {
        loom::model(|| {
            let t = Arc::new(Thread::new());
            let owner = {
                let t = t.clone();
                thread::spawn(move || {
                    for _ in 0..2 {
                        t.update();
                    }
                })
            };
            // The flusher takes what the owner queued so far.
            let taken = t.flush();
            owner.join().unwrap();
            let left = t.state.with(|s| unsafe { *s });
            assert_eq!(taken + left, 2, "an update was lost or seen twice");
        });
    }
    /// An object a signal handler frees: linked through its first word
    /// when it goes on the deferred list.
    #[repr(C, align(8))]
    struct Obj {
        link: std::cell::UnsafeCell<*mut u8>,
    }

    /// A signal handler's `_nolock` call on the owner's thread (the owner
    /// is interrupted, so the handler is the only code running there):
    /// uses the state in the lock-free window when the owner was neither
    /// inside its own window nor working under the lock (`locked`, a
    /// same-thread flag) and no flusher wants it, else pushes the object on
    /// the deferred list. It never takes the lock.
    fn handler(t: &Thread, list: &crate::nolock::deferred::LinkStack, locked: bool, obj: *mut u8) {
        let done = t.flag.handler_run(
            locked,
            // SeqCst fence: as above.
            || fence(Ordering::SeqCst),
            || {
                t.state.with_mut(|s| unsafe { *s += 1 });
            },
        );
        if done.is_none() {
            // SAFETY: the object is the handler's to give away.
            unsafe { list.push(obj) };
        }
    }

    /// A barrier flushes an idle thread's state while the thread is
    /// interrupted by handlers, one of which interrupts the owner inside
    /// its own window: no access to the state races, and each of the
    /// handlers' objects ends up exactly once in the state the flusher
    /// took, the state left behind, or the deferred list.
    #[test]
    fn loom_nolock_handler_vs_flush() {
        loom::model(|| {
            let t = Arc::new(Thread::new());
            let list = Arc::new(crate::nolock::deferred::LinkStack::new());
            let objs: Arc<Vec<Obj>> = Arc::new(
                (0..2)
                    .map(|_| Obj {
                        link: std::cell::UnsafeCell::new(std::ptr::null_mut()),
                    })
                    .collect(),
            );
            let owner = {
                let (t, list, objs) = (t.clone(), list.clone(), objs.clone());
                thread::spawn(move || {
                    let obj = |i: usize| &objs[i] as *const Obj as *mut u8;
                    // Interrupted while idle.
                    handler(&t, &list, false, obj(0));
                    // Interrupted inside its own window, or holding the
                    // lock in the locked mode (where the flusher may lower
                    // its count meanwhile).
                    t.flag.owner_run(
                        // SeqCst fence: as above.
                        || fence(Ordering::SeqCst),
                        |window| {
                            let _g = (!window).then(|| t.lock.lock().unwrap());
                            handler(&t, &list, !window, obj(1));
                        },
                    );
                })
            };
            let taken = t.flush();
            let mut deferred = list.take_all(|_| {});
            owner.join().unwrap();
            deferred += list.take_all(|_| {});
            let left = t.state.with(|s| unsafe { *s });
            assert!(
                deferred >= 1,
                "the handler that interrupted the owner's window or lock deferred"
            );
            assert_eq!(
                taken as usize + left as usize + deferred,
                2,
                "an object was lost or queued twice"
            );
        });
    }
}
