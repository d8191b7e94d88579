//! Finding this thread's state, creating it, handing it back at thread
//! exit, and taking other threads' kfree_rcu state (steal rounds).

use super::state::{NolockGuard, ThreadSlab};
use super::tls::{self, GONE, ORPHAN};
use crate::caches::CacheInner;
use crate::memory::lock::Mutex;
use std::ptr;
use urcu_core::memb;

/// Every state ever created, live or pooled (never freed).
static ALL: Mutex<Vec<&'static ThreadSlab>> = Mutex::new(Vec::new());
/// States of exited threads, drained, ready for reuse.
static POOL: Mutex<Vec<&'static ThreadSlab>> = Mutex::new(Vec::new());

/// A snapshot of every state, for flushers and statistics.
pub(crate) fn all_states() -> Vec<&'static ThreadSlab> {
    ALL.lock().clone()
}

fn orphan() -> &'static ThreadSlab {
    ORPHAN.get_or_init(|| {
        let ts: &'static ThreadSlab = Box::leak(Box::new(ThreadSlab::new(true)));
        ALL.lock().push(ts);
        ts
    })
}

thread_local! {
    // Its destructor hands the state back at thread exit; the pointer
    // itself lives in the `tls` slot.
    static EXIT: ExitHook = const { ExitHook };
}

struct ExitHook;

impl Drop for ExitHook {
    fn drop(&mut self) {
        // The thread is exiting: no signal handler runs on it from here
        // on (one would find its state going, or its memb record gone and
        // register it again from the handler: a lock, an allocation).
        urcu_core::__private::block_signals_until_exit();
        let ts = tls::get();
        tls::set(GONE);
        if ts as usize > GONE as usize {
            // SAFETY: states are leaked, never freed.
            retire(unsafe { &*ts });
        }
    }
}

/// This thread's state: its own, or the orphan when its own is gone.
#[inline(always)]
pub(crate) fn current() -> &'static ThreadSlab {
    let ts = tls::get();
    if ts as usize > GONE as usize {
        // SAFETY: states are leaked, never freed.
        return unsafe { &*ts };
    }
    current_slow(ts)
}

#[cold]
fn current_slow(ts: *const ThreadSlab) -> &'static ThreadSlab {
    if ts == GONE {
        return orphan();
    }
    // Start the memb domain (a once: this thread then sees its fence mode)
    // before the first slave_fence in with_rcu_state.
    memb::uses_membarrier();
    if EXIT.try_with(|_| ()).is_err() {
        return orphan();
    }
    // What a `_nolock` call on this thread relies on, set up here where
    // locks and allocation are allowed: the helper that drains the
    // deferred list.
    if !crate::helper::on_helper() {
        crate::helper::ensure_started();
    }
    // The pool's lock is released before the list's is taken: the fork
    // handlers take the list first (see `lock_lists_for_fork`), and a
    // guard in the `match` scrutinee would live through both arms.
    let pooled = POOL.lock().pop();
    let ts = match pooled {
        Some(ts) => {
            // The pooled state was retired with steal raised; give it back.
            ts.steal.lower();
            ts
        }
        None => {
            let ts: &'static ThreadSlab = Box::leak(Box::new(ThreadSlab::new(false)));
            ALL.lock().push(ts);
            ts
        }
    };
    tls::set(ts);
    ts
}

/// Hands an exiting thread's state off: its kfree_rcu batch and sheaves to
/// the helper, its allocation sheaves to the barns; then pools it.
fn retire(ts: &'static ThreadSlab) {
    // From now on anyone touching the state (a flusher) takes the lock. No
    // signal handler on this thread sees the state any more (the `tls`
    // slot is GONE).
    ts.steal.raise();
    {
        let _g = ts.lock();
        crate::kfree_rcu::flush_thread(ts, None, true);
        for (id, slot) in ts.slots() {
            // A cache being destroyed is skipped: its destroy returns this
            // slot's sheaves (forget_cache, under this state's lock).
            let Some(cache) = crate::caches::pin(id) else {
                continue;
            };
            for s in [&slot.main, &slot.spare] {
                let sheaf = s.replace(ptr::null_mut());
                if !sheaf.is_null() {
                    cache.return_sheaf(sheaf);
                }
            }
            for sheaf in slot.take_nolock_sheaves() {
                if !sheaf.is_null() {
                    cache.return_sheaf(sheaf);
                }
            }
        }
    }
    POOL.lock().push(ts);
}

/// Runs `f` on this thread's kfree_rcu state under the steal protocol (see
/// the module documentation).
#[inline]
pub(crate) fn with_rcu_state<R>(f: impl FnOnce(&'static ThreadSlab) -> R) -> R {
    let ts = current();
    if ts.is_orphan() {
        let _g = ts.lock();
        return f(ts);
    }
    crate::helper::defer_wakes(ts, || {
        ts.steal.owner_run(memb::slave_fence, |window| {
            if window {
                return f(ts);
            }
            let _g = ts.lock();
            // A signal handler on this thread must not take the lock-free
            // window while this thread updates the state under the lock
            // (the flusher that sent it here may lower the steal count
            // meanwhile).
            let _locked = NolockGuard::set(&ts.owner_locked);
            f(ts)
        })
    })
}

/// Takes the kfree_rcu state of every thread in `threads`: raises their
/// steal counts, runs memb's master fence, waits until each owner is out of
/// its lock-free window, then runs `f` on each under its lock.
pub(crate) fn steal_round(threads: &[&'static ThreadSlab], mut f: impl FnMut(&'static ThreadSlab)) {
    super::steal::steal_round(
        threads,
        |ts| &ts.steal,
        memb::master_fence,
        std::thread::yield_now,
        |ts| {
            let _g = ts.lock();
            f(ts);
        },
    );
}

/// Runs an allocation-path operation on this thread's state: directly, or
/// under the lock for the orphan.
#[inline(always)]
pub(crate) fn with_alloc_state<R>(f: impl FnOnce(&'static ThreadSlab) -> R) -> R {
    let ts = current();
    if !ts.is_orphan() {
        return f(ts);
    }
    let _g = ts.lock();
    f(ts)
}

/// Clears every thread's sheaves and counters of a cache being destroyed.
/// The caller guarantees no thread uses the cache any more.
pub(crate) fn forget_cache(cache: &CacheInner) {
    crate::helper::with_state_walk(|| forget_cache_walk(cache));
}

fn forget_cache_walk(cache: &CacheInner) {
    for ts in all_states() {
        let _g = ts.lock();
        let Some(slot) = ts.slot_if_used(cache.id) else {
            continue;
        };
        for sheaf in [
            slot.main.replace(ptr::null_mut()),
            slot.spare.replace(ptr::null_mut()),
            slot.rcu_free.replace(ptr::null_mut()),
        ] {
            if !sheaf.is_null() {
                cache.return_sheaf(sheaf);
            }
        }
        for sheaf in slot.take_nolock_sheaves() {
            if !sheaf.is_null() {
                cache.return_sheaf(sheaf);
            }
        }
        slot.counters.reset();
    }
}

/// Before fork: the orphan state, whose users take cache locks under its
/// lock (so it comes before them).
pub(crate) fn lock_orphan_for_fork() {
    if let Some(o) = ORPHAN.get() {
        std::mem::forget(o.lock());
    }
}

/// Before fork: the state lists (leaf locks, last).
pub(crate) fn lock_lists_for_fork() {
    std::mem::forget(ALL.lock());
    std::mem::forget(POOL.lock());
}

/// After fork, in either process: releases what the two `lock_*_for_fork`
/// took.
///
/// # Safety
///
/// Called once after both, by the thread that forked.
pub(crate) unsafe fn unlock_after_fork() {
    // SAFETY: locked (guards forgotten) by lock_*_for_fork on this thread.
    unsafe {
        POOL.force_unlock();
        ALL.force_unlock();
        if let Some(o) = ORPHAN.get() {
            o.lock.force_unlock();
        }
    }
}

/// In a fork child only the forking thread exists. The states of the other
/// threads may have been mid-update when they vanished: they are abandoned
/// (their queued objects leak in the child's copy of memory) so no flusher
/// ever reads them. This thread's state, the orphan and pooled states are
/// consistent and kept.
pub(crate) fn after_fork_child() {
    let me = tls::get();
    let orphan = ORPHAN
        .get()
        .map_or(ptr::null(), |o| *o as *const ThreadSlab);
    let pool: Vec<*const ThreadSlab> = POOL
        .lock()
        .iter()
        .map(|ts| *ts as *const ThreadSlab)
        .collect();
    ALL.lock().retain(|ts| {
        let p = *ts as *const ThreadSlab;
        p == me || p == orphan || pool.contains(&p)
    });
}
