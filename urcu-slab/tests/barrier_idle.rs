//! After the helper answers a barrier's marker it goes back to sleep, even
//! while the barrier's caller, woken, waits for a CPU.
//!
//! Its own test binary: it pins threads and changes one's scheduling class.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use urcu_slab::kvfree_rcu_barrier;

/// CPU time, in ns, of the thread `tid` of this process (schedstat's first
/// field).
fn cpu_ns(tid: i32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
        .expect("schedstat of the helper thread");
    s.split_whitespace().next().unwrap().parse().unwrap()
}

/// The slab helper's thread id, found by its name.
fn helper_tid() -> i32 {
    for e in std::fs::read_dir("/proc/self/task").unwrap() {
        let path = e.unwrap().path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim_end() == "krcu-kfree" {
            return path.file_name().unwrap().to_str().unwrap().parse().unwrap();
        }
    }
    panic!("no krcu-kfree thread after a barrier");
}

fn pin(tid: i32, cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET and
    // sched_setaffinity only read and write it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        assert_eq!(
            libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set),
            0,
            "sched_setaffinity"
        );
    }
}

fn allowed_cpus() -> Vec<usize> {
    // SAFETY: as in `pin`; sched_getaffinity fills the set.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        assert_eq!(
            libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set),
            0
        );
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

/// The bug: the barrier's caller cleared the helper's urgency after it woke,
/// and until then the helper, with nothing queued, did not sleep: it ran
/// its loop for as long as the caller waited for a CPU. Here the caller is
/// a SCHED_IDLE thread sharing its CPU with a spinning one, so it waits
/// long, while the helper has a CPU of its own: the helper must spend
/// almost none of that wait on the CPU.
#[test]
fn slab_helper_spins_while_a_woken_barrier_waits_for_a_cpu() {
    let cpus = allowed_cpus();
    if cpus.len() < 2 {
        eprintln!("note: one CPU only; the helper's spin needs a CPU of its own to show");
        return;
    }
    let (shared_cpu, helper_cpu) = (cpus[0], cpus[1]);
    kvfree_rcu_barrier(); // starts the helper
    let helper = helper_tid();
    pin(helper, helper_cpu);
    let stop = Arc::new(AtomicBool::new(false));
    let spinner = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            pin(0, shared_cpu);
            while !stop.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        })
    };
    let caller = std::thread::spawn(move || {
        pin(0, shared_cpu);
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: sets this thread's own policy from a valid parameter.
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0 {
            return None;
        }
        let (start, before) = (Instant::now(), cpu_ns(helper));
        kvfree_rcu_barrier();
        Some((start.elapsed(), cpu_ns(helper) - before))
    });
    let measured = caller.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    spinner.join().unwrap();
    let Some((waited, helper_ns)) = measured else {
        eprintln!("note: SCHED_IDLE refused here; the caller cannot be made to wait for a CPU");
        return;
    };
    let helper_on_cpu = Duration::from_nanos(helper_ns);
    assert!(
        helper_on_cpu < Duration::from_millis(20) || helper_on_cpu < waited / 4,
        "the slab helper ran {helper_on_cpu:?} of the {waited:?} a barrier's caller waited \
         for a CPU: it did not sleep after answering the barrier"
    );
}
