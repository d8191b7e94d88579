//! The qsbr reader's steps on its record word: quiescent states, going
//! offline and online, and how a writer classifies the word (the protocol
//! in the module above).

use super::{wake_writer, GpCounter, ReaderRecord, ReaderState};
use crate::primitive::fence;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};

/// qsbr quiescent state: announce that no reference from before this point
/// is held.
#[inline]
pub(crate) fn qsbr_quiescent(rec: &ReaderRecord, gp: &GpCounter) {
    // Relaxed: the fence below orders the store (the pair of the writer's
    // master fence); gp.ctr changes only under gp_lock, ordered by that fence
    // too.
    let cur = gp.ctr.load(Relaxed);
    if rec.ctr.load(Relaxed) == cur {
        // Already quiescent for the current grace period: the writer is not
        // waiting on us, and our earlier announcement already ordered
        // everything it needs.
        return;
    }
    // Orders the accesses before this point before the announcement; pairs
    // with the writer's fence after it sees the new ctr.
    fence(SeqCst);
    rec.ctr.store(cur, Relaxed);
    // Orders the announcement before what follows and before reading the
    // writer's sleep flag.
    fence(SeqCst);
    wake_writer(gp);
}

/// qsbr: this thread holds no references until [`qsbr_online`].
#[inline]
pub(crate) fn qsbr_offline(rec: &ReaderRecord, gp: &GpCounter) {
    // As in `qsbr_quiescent`: earlier accesses before the store, the store
    // before the flag load.
    // SeqCst fences: as in qsbr_quiescent (the pair of the writer's master
    // fences); Relaxed store between them.
    fence(SeqCst);
    rec.ctr.store(0, Relaxed);
    fence(SeqCst);
    wake_writer(gp);
}

/// qsbr: this thread may take references again.
#[inline]
pub(crate) fn qsbr_online(rec: &ReaderRecord, gp: &GpCounter) {
    // Relaxed: the caller's next quiescent state fences (as qsbr_quiescent);
    // going online needs no ordering of its own.
    rec.ctr.store(gp.ctr.load(Relaxed), Relaxed);
    // Orders the announcement before the accesses that follow; pairs with the
    // writer's master fence before it reads ctr.
    fence(SeqCst);
}

/// qsbr: classify `ctr` against the advanced counter `gp`.
#[inline]
pub(crate) fn qsbr_state(ctr: u64, gp: u64) -> ReaderState {
    if ctr == 0 {
        ReaderState::Quiescent
    } else if ctr == gp {
        ReaderState::Current
    } else {
        ReaderState::Old
    }
}
