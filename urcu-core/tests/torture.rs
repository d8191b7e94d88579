//! rcutorture-style torture: readers walk shared objects and check that none
//! they can reach has been freed, while updaters retire objects through
//! every path (synchronize and its expedited form, call_rcu and
//! call_rcu_hurry, defer_drop, RcuCell, normal and expedited polled
//! cookies), under the default cadence (callbacks gather for 1 ms).
//!
//! Freed objects are poisoned and never returned to the allocator, so a
//! premature free stays visible to any reader that still holds the object.
//! `KRCU_TORTURE_SECS` sets the duration (default 2 s per flavor).

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::time::Duration;
use urcu_core::{qsbr, Flavor, GpCookie, Memb, Qsbr, RcuCell, RcuHead};

const SLOTS: usize = 16;
const POISON: u64 = 0xdead_beef_dead_beef;

#[repr(C)]
struct TObj {
    head: RcuHead,
    generation: u64,
    /// 0 while live; POISON once "freed".
    poison: AtomicU64,
}

fn new_obj(generation: u64) -> *mut TObj {
    Box::into_raw(Box::new(TObj {
        head: RcuHead::new(),
        generation,
        poison: AtomicU64::new(0),
    }))
}

/// "Frees" an object: poisons it, and leaks it so the poison stays readable.
fn free(obj: *const TObj, freed: &AtomicUsize) {
    // SAFETY: objects are leaked, never deallocated.
    let prev = unsafe { (*obj).poison.swap(POISON, Relaxed) };
    assert_eq!(prev, 0, "object freed twice");
    freed.fetch_add(1, Relaxed);
}

static FREED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn free_cb(head: *mut RcuHead) {
    free(head as *const TObj, &FREED);
}

/// A value whose drop poisons the object it names (for defer_drop and
/// RcuCell, which drop values after a grace period).
struct Retire(*const TObj);
// SAFETY: the pointee is a leaked object only touched through atomics.
unsafe impl Send for Retire {}
// SAFETY: as for Send.
unsafe impl Sync for Retire {}
impl Drop for Retire {
    fn drop(&mut self) {
        free(self.0, &FREED);
    }
}

fn check(obj: *const TObj, failures: &AtomicUsize) {
    // SAFETY: leaked, never deallocated.
    let o = unsafe { &*obj };
    if o.poison.load(Relaxed) != 0 {
        failures.fetch_add(1, Relaxed);
    }
    std::hint::black_box(o.generation);
}

fn torture<F: Flavor>() {
    let secs: f64 = std::env::var("KRCU_TORTURE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let slots: Arc<Vec<AtomicPtr<TObj>>> = Arc::new(
        (0..SLOTS)
            .map(|i| AtomicPtr::new(new_obj(i as u64)))
            .collect(),
    );
    let cell: Arc<RcuCell<Retire, F>> = Arc::new(RcuCell::new(Retire(new_obj(0))));
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let reads = Arc::new(AtomicU64::new(0));
    let freed_before = FREED.load(Relaxed);

    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (slots, cell, stop, failures, reads) = (
                slots.clone(),
                cell.clone(),
                stop.clone(),
                failures.clone(),
                reads.clone(),
            );
            std::thread::spawn(move || {
                let _reg = F::register_thread();
                let mut n = 0u64;
                while !stop.load(Relaxed) {
                    {
                        let g = F::read_lock();
                        for s in slots.iter() {
                            check(s.load(Acquire), &failures);
                        }
                        if let Some(r) = cell.load(&g) {
                            check(r.0, &failures);
                        }
                        // Linger sometimes, so grace periods overlap readers.
                        if n % 64 == 0 {
                            std::thread::yield_now();
                            for s in slots.iter() {
                                check(s.load(Acquire), &failures);
                            }
                        }
                    }
                    n += 1;
                    if F::NAME == "qsbr" {
                        qsbr::quiescent_state();
                    }
                }
                if F::NAME == "qsbr" {
                    qsbr::thread_offline();
                }
                reads.fetch_add(n, Relaxed);
            })
        })
        .collect();

    let updaters: Vec<_> = (0..2)
        .map(|u| {
            let (slots, cell, stop) = (slots.clone(), cell.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut generation = 1000 * (u as u64 + 1);
                let mut polled: Vec<(GpCookie, *const TObj)> = Vec::new();
                let mut retired = 0u64;
                while !stop.load(Relaxed) {
                    generation += 1;
                    let slot = &slots[(generation as usize * 7 + u) % SLOTS];
                    let old = slot.swap(new_obj(generation), AcqRel);
                    match generation % 8 {
                        0 => {
                            F::synchronize();
                            free(old, &FREED);
                        }
                        5 => {
                            F::synchronize_expedited();
                            free(old, &FREED);
                        }
                        // SAFETY: `old` is unlinked and retired once.
                        1 => unsafe { F::call_rcu(old as *mut RcuHead, free_cb) },
                        // SAFETY: as above.
                        6 => unsafe { F::call_rcu_hurry(old as *mut RcuHead, free_cb) },
                        2 => urcu_core::defer_drop::<F, _>(Box::new(Retire(old))),
                        3 | 7 => {
                            let cookie = if generation % 8 == 3 {
                                F::start_poll()
                            } else {
                                F::start_poll_expedited()
                            };
                            polled.push((cookie, old));
                            polled.retain(|&(c, o)| {
                                let done = F::poll_state(c);
                                if done {
                                    free(o, &FREED);
                                }
                                !done
                            });
                        }
                        _ => {
                            // Put `old` back in circulation through the cell:
                            // the cell's previous value is retired by it.
                            cell.store(Retire(old));
                        }
                    }
                    retired += 1;
                }
                for (c, o) in polled {
                    F::cond_synchronize(c);
                    free(o, &FREED);
                }
                retired
            })
        })
        .collect();

    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    let retired: u64 = updaters.into_iter().map(|u| u.join().unwrap()).sum();
    F::barrier();
    let freed = FREED.load(Relaxed) - freed_before;
    eprintln!(
        "{} torture: {} reads, {} retirements, {} freed, {} failures",
        F::NAME,
        reads.load(Relaxed),
        retired,
        freed,
        failures.load(Relaxed)
    );
    assert_eq!(
        failures.load(Relaxed),
        0,
        "{}: a reader reached a freed object",
        F::NAME
    );
    assert!(
        reads.load(Relaxed) > 0 && retired > 0,
        "the torture did no work"
    );
    // Every retirement freed one object, except those put back in the cell
    // (generation % 5 == 4), which retire the cell's previous value instead.
    assert_eq!(
        freed as u64,
        retired,
        "{}: some retired objects were never freed",
        F::NAME
    );
}

// One torture at a time in this process: they share FREED.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn torture_memb() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    torture::<Memb>();
}

#[test]
fn torture_qsbr() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    torture::<Qsbr>();
}

/// memb with real reader fences: run in a child process, since the mode is
/// chosen once per process from KRCU_FORCE_FENCE.
#[test]
fn torture_memb_forced_fence() {
    if std::env::var_os("KRCU_FORCE_FENCE").is_some() {
        assert!(
            !urcu_core::memb::uses_membarrier(),
            "KRCU_FORCE_FENCE=1 must disable membarrier"
        );
        let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        return torture::<Memb>();
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "torture_memb_forced_fence", "--nocapture"])
        .env("KRCU_FORCE_FENCE", "1")
        .status()
        .unwrap();
    assert!(status.success(), "forced-fence torture failed: {status}");
}

#[test]
fn membarrier_is_used_when_available() {
    if std::env::var_os("KRCU_FORCE_FENCE").is_none() {
        // This machine's kernel has membarrier; the CI machine is the same kind.
        assert!(urcu_core::memb::uses_membarrier());
    }
}
