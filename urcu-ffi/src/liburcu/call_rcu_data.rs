//! liburcu's `call_rcu_data` API (`<urcu/call-rcu.h>`): which worker a
//! thread's `call_rcu` callbacks go to.
//!
//! liburcu runs a worker thread per `struct call_rcu_data` (the default
//! one, per-CPU ones, ones a program creates) and queues a thread's
//! callbacks on its thread's, else its CPU's, else the default. krcu has
//! one callback thread per flavor, fed by a lock-free queue that every
//! thread shares; a `struct call_rcu_data` here is a handle that records
//! what the program asked for (its flags, its CPU, where it is set), and
//! the callbacks queued through any handle run on that one thread. So:
//!
//! * every getter returns what the program set, as liburcu's do, and
//!   `get_call_rcu_thread` returns the flavor's callback thread;
//! * no callback is ever lost or delayed by a handle: `call_rcu` does not
//!   read them, `rcu_barrier` waits for every callback, and
//!   `call_rcu_data_free` has nothing to move to the default worker;
//! * what a handle does not give: a thread of its own, or the CPU
//!   affinity and real-time polling (`URCU_CALL_RCU_RT`) of one.
//!
//! Handles live in a static table (no lock, so nothing for `fork()` to
//! catch half-done, and the child keeps every handle valid), which lets
//! each call tell a handle from a foreign or freed pointer and say so
//! instead of touching it. memb, bp, mb and signal are one flavor in
//! krcu and share their handles; qsbr has its own.

use std::cell::Cell;
use std::ffi::c_ulong;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, AtomicU64};
use urcu_core::__private::report::{emit, Level, Target};
use urcu_core::__private::ForkOnceLock;
use urcu_core::{Memb, Qsbr};

/// liburcu's opaque `struct call_rcu_data`: a slot of [`TABLE`].
#[repr(C)]
pub struct call_rcu_data {
    /// [`FREE`], or the flavor's [`Group`] number plus one while live.
    state: AtomicU32,
    cpu_affinity: AtomicI32,
    flags: AtomicU64,
}

const FREE: u32 = 0;

/// Live handles a process may hold at once (beyond the two defaults):
/// `create_all_cpu_call_rcu_data` needs one per possible CPU of each
/// flavor it is called for.
const HANDLES: usize = 8192;

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: call_rcu_data = call_rcu_data {
    state: AtomicU32::new(FREE),
    cpu_affinity: AtomicI32::new(-1),
    flags: AtomicU64::new(0),
};

/// Slot 0 and 1: the default handles of memb and qsbr, live for good.
static TABLE: [call_rcu_data; HANDLES + 2] = [EMPTY; HANDLES + 2];

/// Where the search for a free slot starts (a hint; Relaxed throughout).
static NEXT: AtomicU32 = AtomicU32::new(2);

/// A flavor's share of the API: memb's (with bp and mb) or qsbr's.
#[derive(Clone, Copy)]
pub(crate) enum Group {
    Memb = 0,
    Qsbr = 1,
}

/// Per group: the per-CPU handles, made at first use.
static PER_CPU: [ForkOnceLock<Box<[AtomicPtr<call_rcu_data>]>>; 2] =
    [ForkOnceLock::new(), ForkOnceLock::new()];

thread_local! {
    /// `set_thread_call_rcu_data`'s handle of this thread, per group.
    static THREAD: [Cell<*mut call_rcu_data>; 2] =
        const { [Cell::new(std::ptr::null_mut()), Cell::new(std::ptr::null_mut())] };
}

impl Group {
    fn live(self) -> u32 {
        self as u32 + 1
    }

    /// The default handle: the group's own slot, live for good (its
    /// state is never read).
    fn default_handle(self) -> *mut call_rcu_data {
        &TABLE[self as usize] as *const call_rcu_data as *mut call_rcu_data
    }

    fn per_cpu(self) -> &'static [AtomicPtr<call_rcu_data>] {
        PER_CPU[self as usize].get_or_init(|| {
            (0..possible_cpus())
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect()
        })
    }

    fn callback_thread(self) -> libc::pthread_t {
        match self {
            Group::Memb => urcu_core::__private::callback_thread::<Memb>(),
            Group::Qsbr => urcu_core::__private::callback_thread::<Qsbr>(),
        }
    }
}

/// The number of CPUs the system may have (liburcu sizes its per-CPU
/// array the same way).
fn possible_cpus() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) };
    usize::try_from(n).unwrap_or(1).max(1)
}

pub(crate) fn warn(message: &str) {
    emit(Level::Warn, Target::Core, message);
}

/// `crdp` as a live handle of `group`, or why it is not one.
fn check(group: Group, crdp: *mut call_rcu_data) -> Result<&'static call_rcu_data, &'static str> {
    let base = TABLE.as_ptr() as usize;
    let size = std::mem::size_of::<call_rcu_data>();
    let at = (crdp as usize).wrapping_sub(base);
    if crdp as usize >= base && at % size == 0 && at / size < TABLE.len() {
        let slot = &TABLE[at / size];
        if at / size < 2 {
            return if at / size == group as usize {
                Ok(slot)
            } else {
                Err("belongs to another RCU flavor")
            };
        }
        // Acquire pairs with the Release in `create`: the slot's fields
        // were written before it went live.
        match slot.state.load(Acquire) {
            s if s == group.live() => Ok(slot),
            FREE => Err("was freed by call_rcu_data_free()"),
            _ => Err("belongs to another RCU flavor"),
        }
    } else {
        Err("is not a struct call_rcu_data from create_call_rcu_data()")
    }
}

fn create(group: Group, flags: c_ulong, cpu_affinity: i32) -> *mut call_rcu_data {
    // Relaxed: a hint; the slot's own state decides.
    let start = NEXT.load(Relaxed) as usize;
    for i in 0..HANDLES {
        let index = 2 + (start - 2 + i) % HANDLES;
        let slot = &TABLE[index];
        // Relaxed on failure: a taken slot is skipped, nothing is read.
        // Acquire on success: after a free's Release, nothing of the old
        // handle is still being written.
        if slot
            .state
            .compare_exchange(FREE, u32::MAX, Acquire, Relaxed)
            .is_ok()
        {
            slot.flags.store(flags, Relaxed);
            slot.cpu_affinity.store(cpu_affinity, Relaxed);
            // Release: the fields are written before the slot is live.
            slot.state.store(group.live(), Release);
            NEXT.store((index + 1) as u32, Relaxed);
            return slot as *const call_rcu_data as *mut call_rcu_data;
        }
    }
    warn(&format!(
        "krcu: create_call_rcu_data: {HANDLES} call_rcu_data are live, the most krcu holds; \
         free some with call_rcu_data_free() (krcu's callbacks do not need one per thread)"
    ));
    errno_set(libc::ENOMEM);
    std::ptr::null_mut()
}

fn errno_set(e: i32) {
    // SAFETY: errno is this thread's.
    unsafe { *libc::__errno_location() = e };
}

fn free(group: Group, crdp: *mut call_rcu_data) {
    if crdp.is_null() || crdp == group.default_handle() {
        return; // liburcu ignores both
    }
    let slot = match check(group, crdp) {
        Ok(slot) => slot,
        Err(why) => {
            return warn(&format!(
                "krcu: call_rcu_data_free({crdp:p}): the pointer {why}; nothing was freed"
            ))
        }
    };
    // Relaxed: only compared, never followed.
    if let Some(cpu) = group.per_cpu().iter().position(|c| c.load(Relaxed) == crdp) {
        return warn(&format!(
            "krcu: call_rcu_data_free({crdp:p}): it is still set for CPU {cpu}; call \
             set_cpu_call_rcu_data({cpu}, NULL) first (or free_all_cpu_call_rcu_data()); nothing was freed"
        ));
    }
    THREAD.with(|t| {
        if t[group as usize].get() == crdp {
            t[group as usize].set(std::ptr::null_mut());
        }
    });
    // Release: pairs with `create`'s Acquire on reuse. A second free of
    // the same handle finds FREE and is reported by `check`.
    let _ = slot
        .state
        .compare_exchange(group.live(), FREE, Release, Relaxed);
}

fn get_cpu(group: Group, cpu: i32) -> *mut call_rcu_data {
    let per_cpu = group.per_cpu();
    match usize::try_from(cpu).ok().and_then(|c| per_cpu.get(c)) {
        // Acquire pairs with `set_cpu`'s AcqRel: the handle is live.
        Some(c) => c.load(Acquire),
        None => {
            warn(&format!(
                "krcu: get_cpu_call_rcu_data({cpu}): CPU out of range (0..{})",
                per_cpu.len()
            ));
            std::ptr::null_mut()
        }
    }
}

fn set_cpu(group: Group, cpu: i32, crdp: *mut call_rcu_data) -> i32 {
    let per_cpu = group.per_cpu();
    let Some(c) = usize::try_from(cpu).ok().and_then(|c| per_cpu.get(c)) else {
        warn(&format!(
            "krcu: set_cpu_call_rcu_data({cpu}, ...): CPU out of range (0..{})",
            per_cpu.len()
        ));
        errno_set(libc::EINVAL);
        return -libc::EINVAL;
    };
    if crdp.is_null() {
        // Release: ordered after whatever the caller did with the handle.
        c.store(std::ptr::null_mut(), Release);
        return 0;
    }
    if let Err(why) = check(group, crdp) {
        warn(&format!(
            "krcu: set_cpu_call_rcu_data({cpu}, {crdp:p}): the pointer {why}; CPU {cpu} keeps its call_rcu_data"
        ));
        errno_set(libc::EINVAL);
        return -libc::EINVAL;
    }
    // AcqRel: publishes the live handle; a failure reads nothing.
    match c.compare_exchange(std::ptr::null_mut(), crdp, AcqRel, Relaxed) {
        Ok(_) => 0,
        Err(_) => {
            errno_set(libc::EEXIST);
            -libc::EEXIST
        }
    }
}

fn get(group: Group) -> *mut call_rcu_data {
    let own = THREAD.with(|t| t[group as usize].get());
    if !own.is_null() {
        return own;
    }
    if let Some(per_cpu) = PER_CPU[group as usize].get() {
        // SAFETY: sched_getcpu has no preconditions.
        let cpu = unsafe { libc::sched_getcpu() };
        if let Some(c) = usize::try_from(cpu).ok().and_then(|c| per_cpu.get(c)) {
            // Acquire: as in `get_cpu`.
            let crdp = c.load(Acquire);
            if !crdp.is_null() {
                return crdp;
            }
        }
    }
    group.default_handle()
}

fn set_thread(group: Group, crdp: *mut call_rcu_data) {
    if !crdp.is_null() {
        if let Err(why) = check(group, crdp) {
            return warn(&format!(
                "krcu: set_thread_call_rcu_data({crdp:p}): the pointer {why}; the thread keeps its call_rcu_data"
            ));
        }
    }
    THREAD.with(|t| t[group as usize].set(crdp));
}

fn thread_of(group: Group, crdp: *mut call_rcu_data) -> libc::pthread_t {
    if let Err(why) = check(group, crdp) {
        warn(&format!(
            "krcu: get_call_rcu_thread({crdp:p}): the pointer {why}; returning 0"
        ));
        return 0;
    }
    group.callback_thread()
}

fn create_all_cpu(group: Group, flags: c_ulong) -> i32 {
    for cpu in 0..group.per_cpu().len() as i32 {
        if !get_cpu(group, cpu).is_null() {
            continue;
        }
        let crdp = create(group, flags, cpu);
        if crdp.is_null() {
            return -libc::ENOMEM; // errno is set
        }
        match set_cpu(group, cpu, crdp) {
            0 => {}
            // Another thread set this CPU's first: keep its handle.
            e if e == -libc::EEXIST => free(group, crdp),
            e => {
                free(group, crdp);
                return e;
            }
        }
    }
    0
}

fn free_all_cpu(group: Group) {
    let Some(per_cpu) = PER_CPU[group as usize].get() else {
        return;
    };
    for c in per_cpu.iter() {
        // AcqRel: takes the handle out before freeing it.
        let crdp = c.swap(std::ptr::null_mut(), AcqRel);
        if !crdp.is_null() {
            free(group, crdp);
        }
    }
}

/// Exports one flavor's call_rcu_data API under liburcu's names.
macro_rules! call_rcu_data_api {
    ($group:expr;
     $create:ident, $free:ident, $get_default:ident, $get_cpu:ident, $get_thread:ident,
     $get:ident, $get_thread_of:ident, $set_thread:ident, $set_cpu:ident,
     $create_all:ident, $free_all:ident) => {
        #[doc = concat!("liburcu `", stringify!($create), "`: a handle (see the module's documentation).")]
        #[no_mangle]
        pub extern "C" fn $create(flags: c_ulong, cpu_affinity: i32) -> *mut call_rcu_data {
            create($group, flags, cpu_affinity)
        }

        #[doc = concat!("liburcu `", stringify!($free), "`.")]
        #[no_mangle]
        pub extern "C" fn $free(crdp: *mut call_rcu_data) {
            free($group, crdp)
        }

        #[doc = concat!("liburcu `", stringify!($get_default), "`.")]
        #[no_mangle]
        pub extern "C" fn $get_default() -> *mut call_rcu_data {
            $group.default_handle()
        }

        #[doc = concat!("liburcu `", stringify!($get_cpu), "`.")]
        #[no_mangle]
        pub extern "C" fn $get_cpu(cpu: i32) -> *mut call_rcu_data {
            get_cpu($group, cpu)
        }

        #[doc = concat!("liburcu `", stringify!($get_thread), "`.")]
        #[no_mangle]
        pub extern "C" fn $get_thread() -> *mut call_rcu_data {
            THREAD.with(|t| t[$group as usize].get())
        }

        #[doc = concat!("liburcu `", stringify!($get), "`: the thread's, else its CPU's, else the default.")]
        #[no_mangle]
        pub extern "C" fn $get() -> *mut call_rcu_data {
            get($group)
        }

        #[doc = concat!("liburcu `", stringify!($get_thread_of), "`: the flavor's callback thread.")]
        #[no_mangle]
        pub extern "C" fn $get_thread_of(crdp: *mut call_rcu_data) -> libc::pthread_t {
            thread_of($group, crdp)
        }

        #[doc = concat!("liburcu `", stringify!($set_thread), "`.")]
        #[no_mangle]
        pub extern "C" fn $set_thread(crdp: *mut call_rcu_data) {
            set_thread($group, crdp)
        }

        #[doc = concat!("liburcu `", stringify!($set_cpu), "`: 0, or -EINVAL or -EEXIST (and errno).")]
        #[no_mangle]
        pub extern "C" fn $set_cpu(cpu: i32, crdp: *mut call_rcu_data) -> i32 {
            set_cpu($group, cpu, crdp)
        }

        #[doc = concat!("liburcu `", stringify!($create_all), "`: 0, or -ENOMEM (and errno).")]
        #[no_mangle]
        pub extern "C" fn $create_all(flags: c_ulong) -> i32 {
            create_all_cpu($group, flags)
        }

        #[doc = concat!("liburcu `", stringify!($free_all), "`.")]
        #[no_mangle]
        pub extern "C" fn $free_all() {
            free_all_cpu($group)
        }
    };
}

call_rcu_data_api!(Group::Memb;
    urcu_memb_create_call_rcu_data, urcu_memb_call_rcu_data_free,
    urcu_memb_get_default_call_rcu_data, urcu_memb_get_cpu_call_rcu_data,
    urcu_memb_get_thread_call_rcu_data, urcu_memb_get_call_rcu_data,
    urcu_memb_get_call_rcu_thread, urcu_memb_set_thread_call_rcu_data,
    urcu_memb_set_cpu_call_rcu_data, urcu_memb_create_all_cpu_call_rcu_data,
    urcu_memb_free_all_cpu_call_rcu_data);
call_rcu_data_api!(Group::Memb;
    urcu_bp_create_call_rcu_data, urcu_bp_call_rcu_data_free,
    urcu_bp_get_default_call_rcu_data, urcu_bp_get_cpu_call_rcu_data,
    urcu_bp_get_thread_call_rcu_data, urcu_bp_get_call_rcu_data,
    urcu_bp_get_call_rcu_thread, urcu_bp_set_thread_call_rcu_data,
    urcu_bp_set_cpu_call_rcu_data, urcu_bp_create_all_cpu_call_rcu_data,
    urcu_bp_free_all_cpu_call_rcu_data);
call_rcu_data_api!(Group::Memb;
    urcu_mb_create_call_rcu_data, urcu_mb_call_rcu_data_free,
    urcu_mb_get_default_call_rcu_data, urcu_mb_get_cpu_call_rcu_data,
    urcu_mb_get_thread_call_rcu_data, urcu_mb_get_call_rcu_data,
    urcu_mb_get_call_rcu_thread, urcu_mb_set_thread_call_rcu_data,
    urcu_mb_set_cpu_call_rcu_data, urcu_mb_create_all_cpu_call_rcu_data,
    urcu_mb_free_all_cpu_call_rcu_data);
call_rcu_data_api!(Group::Memb;
    urcu_signal_create_call_rcu_data, urcu_signal_call_rcu_data_free,
    urcu_signal_get_default_call_rcu_data, urcu_signal_get_cpu_call_rcu_data,
    urcu_signal_get_thread_call_rcu_data, urcu_signal_get_call_rcu_data,
    urcu_signal_get_call_rcu_thread, urcu_signal_set_thread_call_rcu_data,
    urcu_signal_set_cpu_call_rcu_data, urcu_signal_create_all_cpu_call_rcu_data,
    urcu_signal_free_all_cpu_call_rcu_data);
call_rcu_data_api!(Group::Qsbr;
    urcu_qsbr_create_call_rcu_data, urcu_qsbr_call_rcu_data_free,
    urcu_qsbr_get_default_call_rcu_data, urcu_qsbr_get_cpu_call_rcu_data,
    urcu_qsbr_get_thread_call_rcu_data, urcu_qsbr_get_call_rcu_data,
    urcu_qsbr_get_call_rcu_thread, urcu_qsbr_set_thread_call_rcu_data,
    urcu_qsbr_set_cpu_call_rcu_data, urcu_qsbr_create_all_cpu_call_rcu_data,
    urcu_qsbr_free_all_cpu_call_rcu_data);
