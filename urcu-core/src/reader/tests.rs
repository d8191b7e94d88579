//! The reader side's steps against a writer's sleep flag. Single-threaded:
//! every `Relaxed` access here is ordered by program order alone.

use super::*;

/// A writer sleeps (its flag is up) while this thread runs a section
/// that began after the writer's advance: the unlock leaves it asleep.
#[test]
fn a_section_begun_after_the_advance_leaves_the_writer_asleep() {
    let gp = GpCounter::new();
    let rec = ReaderRecord::new();
    writer_sleeps(&gp);
    memb_lock(&rec, &gp);
    memb_unlock(&rec, &gp);
    // Relaxed: one thread (see the module docs).
    assert_eq!(gp.futex.load(Relaxed), GP_WAITING);
}

/// A section that began before the advance is one the writer waits
/// for: its unlock wakes the writer (and clears the flag).
#[test]
fn a_section_begun_before_the_advance_wakes_the_writer() {
    let gp = GpCounter::new();
    let rec = ReaderRecord::new();
    memb_lock(&rec, &gp);
    // The grace period's advance and sleep.
    // Relaxed: one thread (see the module docs).
    gp.ctr.store(gp.ctr.load(Relaxed) + CTR_STEP, Relaxed);
    writer_sleeps(&gp);
    memb_unlock(&rec, &gp);
    // Relaxed: one thread (see the module docs).
    assert_eq!(gp.futex.load(Relaxed), 0);
}

/// Nested sections wake only at the outermost unlock, and by the
/// outermost section's snapshot.
#[test]
fn a_nested_old_section_wakes_the_writer_at_its_outermost_unlock() {
    let gp = GpCounter::new();
    let rec = ReaderRecord::new();
    memb_lock(&rec, &gp);
    // Relaxed: one thread (see the module docs).
    gp.ctr.store(gp.ctr.load(Relaxed) + CTR_STEP, Relaxed);
    writer_sleeps(&gp);
    memb_lock(&rec, &gp);
    memb_unlock(&rec, &gp);
    // Relaxed: one thread (see the module docs).
    assert_eq!(gp.futex.load(Relaxed), GP_WAITING);
    memb_unlock(&rec, &gp);
    // Relaxed: one thread (see the module docs).
    assert_eq!(gp.futex.load(Relaxed), 0);
}
