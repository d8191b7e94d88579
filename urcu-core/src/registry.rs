//! A flavor's registry of reader records: the registered threads as writers
//! and stall reports see them, the pool of records of exited threads, and
//! the threads that exited inside a read section.
//!
//! Each flavor's read side finds its record through a thread-local of the
//! flavor's module; the thread-exit hook that unregisters a thread is in
//! `flavor.rs`.

use crate::entry::{Entry, Passes};
use crate::reader::ReaderRecord;
use std::ptr;

/// One registered thread, as the writer and stall reports see it.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) entry: &'static Entry,
    pub(crate) tid: i32,
    pub(crate) name: String,
    /// The thread ran its exit hook inside a read section (a guard held in
    /// a thread-local that is destroyed later, or a forgotten one): the
    /// entry stays registered, and is never pooled for another thread,
    /// until the thread has ended ([`Registry::reap_exited`]).
    pub(crate) exited: bool,
}

/// A flavor's registered threads, and the pool of records of exited ones.
///
/// Protected by the domain's registry mutex. Lock order: the domain's
/// grace-period lock, then this one.
#[derive(Debug)]
pub(crate) struct Registry {
    pub(crate) slots: Vec<Slot>,
    free: Vec<&'static Entry>,
    /// Slots with `exited` set.
    exited: usize,
}

impl Registry {
    pub(crate) const fn new() -> Self {
        Registry {
            slots: Vec::new(),
            free: Vec::new(),
            exited: 0,
        }
    }

    /// Adds the calling thread with a quiescent record: its entry's own
    /// word, or `foreign`.
    ///
    /// # Safety
    ///
    /// As [`Entry::attach`].
    pub(crate) unsafe fn add_current(
        &mut self,
        foreign: Option<*const ReaderRecord>,
    ) -> &'static ReaderRecord {
        // Entries are leaked on purpose: a writer may still hold a pointer
        // to an entry whose thread has exited.
        let entry = self.free.pop().unwrap_or_else(Entry::leak);
        // SAFETY: the caller's contract; the entry is ours (off the pool).
        let rec = unsafe { entry.attach(foreign) };
        self.slots.push(Slot {
            entry,
            tid: crate::sys::gettid(),
            // Not std::thread::current(): it panics once the thread's
            // thread-locals are destroyed, and threads register then too.
            name: crate::sys::thread_name(),
            exited: false,
        });
        // SAFETY: `own` lives forever; a foreign word as long as the thread
        // stays registered, and only the thread itself uses this reference.
        unsafe { &*(rec as *const ReaderRecord) }
    }

    /// Removes the entry whose word is `rec` (quiescent: its owner stored
    /// 0), detaches a foreign word from it, and pools it. Only this
    /// thread's own word is ever passed.
    pub(crate) fn remove(&mut self, rec: *const ReaderRecord, passes: &Passes) {
        if let Some(i) = self.slots.iter().position(|s| ptr::eq(s.entry.live(), rec)) {
            self.pool(i, passes);
        }
    }

    fn pool(&mut self, i: usize, passes: &Passes) {
        let slot = self.slots.swap_remove(i);
        if slot.exited {
            self.exited -= 1;
        }
        // Under the registry lock: a writer's pass never waits for it,
        // so detach's wait is bounded by one pass.
        slot.entry.detach(passes);
        self.free.push(slot.entry);
    }

    /// The calling thread runs its exit hook inside a read section on its
    /// own word `rec`: marks its slot exited instead of removing it. False
    /// when the word is not the entry's own (a foreign word dies with the
    /// thread: the caller unregisters it as usual).
    pub(crate) fn mark_exited(&mut self, rec: *const ReaderRecord) -> bool {
        let Some(slot) = self
            .slots
            .iter_mut()
            .find(|s| ptr::eq(s.entry.live(), rec) && ptr::eq(&s.entry.own, rec))
        else {
            return false;
        };
        if !slot.exited {
            slot.exited = true;
            self.exited += 1;
        }
        true
    }

    /// The calling thread runs its exit hook inside a read section on the
    /// foreign word `rec` that krcu keeps in the thread's memory: its entry
    /// takes the section over into its own word (`Entry::take_over`), and
    /// the slot is marked exited, as for [`mark_exited`](Self::mark_exited).
    /// False when `rec` is not a registered word.
    pub(crate) fn take_over_exited(&mut self, rec: *const ReaderRecord, passes: &Passes) -> bool {
        let Some(slot) = self.slots.iter_mut().find(|s| ptr::eq(s.entry.live(), rec)) else {
            return false;
        };
        slot.entry.take_over(passes);
        if !slot.exited {
            slot.exited = true;
            self.exited += 1;
        }
        true
    }

    /// Removes and pools every exited slot whose thread has ended (and,
    /// when `only` is given, that is one of `only`): nothing can use its
    /// word any more, so it is made quiescent first, whatever section was
    /// left open in it (a forgotten guard). Returns how many were reaped.
    pub(crate) fn reap_exited(
        &mut self,
        passes: &Passes,
        only: Option<&[&'static Entry]>,
    ) -> usize {
        if self.exited == 0 {
            return 0;
        }
        let mut reaped = 0;
        let mut i = 0;
        while i < self.slots.len() {
            let s = &self.slots[i];
            let wanted = only.is_none_or(|o| o.iter().any(|e| ptr::eq(*e, s.entry)));
            if s.exited && wanted && !crate::sys::thread_alive(s.tid) {
                // The thread is gone; a writer's next scan is ordered by
                // its master fences.
                crate::reader::clear_word(&s.entry.own);
                self.pool(i, passes);
                reaped += 1;
            } else {
                i += 1;
            }
        }
        reaped
    }

    /// Whether any of `readers` belongs to an exited thread.
    pub(crate) fn any_exited(&self, readers: &[&'static Entry]) -> bool {
        self.exited > 0
            && self
                .slots
                .iter()
                .any(|s| s.exited && readers.iter().any(|e| ptr::eq(*e, s.entry)))
    }

    /// After `fork()`, in the child: keep only the records `keep` (the
    /// forking thread's), pooling the others, whose threads do not exist here.
    pub(crate) fn prune_after_fork(&mut self, keep: *const ReaderRecord, passes: &Passes) {
        let tid = crate::sys::gettid();
        let mut i = 0;
        while i < self.slots.len() {
            if ptr::eq(self.slots[i].entry.live(), keep) {
                self.slots[i].tid = tid;
                i += 1;
            } else {
                let slot = self.slots.swap_remove(i);
                crate::reader::clear_word(&slot.entry.own);
                // No pass runs in the child: detach returns at once.
                slot.entry.detach(passes);
                self.free.push(slot.entry);
            }
        }
        self.exited = self.slots.iter().filter(|s| s.exited).count();
    }

    /// Name and tid of the thread owning `rec`, for stall reports.
    pub(crate) fn describe(&self, entry: &Entry) -> Option<(i32, String)> {
        self.slots
            .iter()
            .find(|s| ptr::eq(s.entry, entry))
            .map(|s| (s.tid, s.name.clone()))
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }
}
