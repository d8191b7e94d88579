//! A grace period asleep waiting for one reader is not woken by the
//! sections other readers begin after it started.
//!
//! Its own test binary: it counts the memb domain's sleeps, which every
//! grace period of the process adds to.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;
use urcu_core::memb;

mod common;
use common::within;

/// The bug: every unlock that saw the writer's flag woke it, so a reader
/// running sections in a loop while another sat preempted in its section
/// kept the writer rescanning, fencing and going back to sleep (in the
/// defer workload with two readers on two CPUs, 16K membarriers and 30K
/// futex calls a second). Here one reader holds its section for 200 ms
/// while another runs sections as fast as it can: the grace period must
/// sleep a handful of times (once, and a spurious wake or two), not once
/// per section of the busy reader.
#[test]
fn busy_reader_storms_a_writer_waiting_for_a_held_section() {
    within("synchronize against a held section", || {
        let start = Arc::new(Barrier::new(3));
        let released = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let holder = {
            let (start, released) = (start.clone(), released.clone());
            std::thread::spawn(move || {
                let _reg = memb::register_thread();
                let g = memb::read_lock();
                start.wait();
                std::thread::sleep(Duration::from_millis(200));
                released.store(true, Ordering::SeqCst);
                drop(g);
            })
        };
        let busy = {
            let (start, stop) = (start.clone(), stop.clone());
            std::thread::spawn(move || {
                let _reg = memb::register_thread();
                start.wait();
                let mut sections = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    drop(std::hint::black_box(memb::read_lock()));
                    sections += 1;
                }
                sections
            })
        };
        start.wait();
        let before = memb::stats().gp_sleeps;
        memb::synchronize();
        let sleeps = memb::stats().gp_sleeps - before;
        assert!(
            released.load(Ordering::SeqCst),
            "synchronize returned while a section that began before it was held"
        );
        stop.store(true, Ordering::Relaxed);
        let sections = busy.join().unwrap();
        holder.join().unwrap();
        assert!(sections > 0, "the busy reader never ran");
        assert!(
            sleeps <= 5,
            "the grace period slept {sleeps} times waiting for one held section \
             ({sections} sections of the busy reader): sections that began after it \
             started woke it"
        );
    });
}
