//! This thread's slab-state pointer, read with one load in any build.
//!
//! Every kmalloc, free and kfree_rcu starts by finding this thread's
//! [`ThreadSlab`]. A Rust `thread_local!` does that with one `%fs` load in
//! an executable, but in a shared library (libkrcu.so, or any cdylib that
//! links this crate) rustc uses the general-dynamic model: a call to
//! `__tls_get_addr` through the PLT on every access. On x86-64 Linux the
//! slot is therefore declared in assembly and read with the initial-exec
//! model, as libkrcu's C read side does: one GOT load (hoisted out of
//! loops) and one `%fs` load, which the linker turns into a single `%fs`
//! load in an executable. The cost is a static-TLS reservation of 8 bytes
//! in a shared library, which glibc's surplus covers for `dlopen` too.
//! Elsewhere (and under loom) a `thread_local!` does the same job.
//!
//! The slot is only written by its own thread (on first use and at exit),
//! and a signal handler reads it with a plain load: async-signal-safe.

use super::state::ThreadSlab;
use std::ptr;
use urcu_core::__private::ForkOnceLock;

#[cfg(all(target_arch = "x86_64", target_os = "linux", not(loom)))]
mod imp {
    use super::ThreadSlab;
    use std::arch::{asm, global_asm};

    /// The slot's symbol: hidden (it never leaves the linked object) and
    /// named after this crate's version, so two versions of the crate in
    /// one program keep separate slots.
    macro_rules! slot {
        () => {
            concat!(
                "__krcu_slab_current_",
                env!("CARGO_PKG_VERSION_MAJOR"),
                "_",
                env!("CARGO_PKG_VERSION_MINOR"),
                "_",
                env!("CARGO_PKG_VERSION_PATCH")
            )
        };
    }

    // An 8-byte, zero-initialised (null) object in the thread-local BSS.
    global_asm!(
        ".pushsection .tbss,\"awT\",@nobits",
        ".balign 8",
        concat!(".globl ", slot!()),
        concat!(".hidden ", slot!()),
        concat!(".type ", slot!(), ",@object"),
        concat!(".size ", slot!(), ",8"),
        concat!(slot!(), ":"),
        ".zero 8",
        ".popsection",
    );

    /// This thread's slot.
    #[inline(always)]
    pub(crate) fn get() -> *const ThreadSlab {
        let p: *const ThreadSlab;
        // SAFETY: an initial-exec TLS access to the 8-byte slot above: the
        // thread-pointer offset from the GOT, then a load through %fs. No
        // stack, flags untouched; `readonly` (not `nomem`) keeps it ordered
        // after `set`, the only writer.
        unsafe {
            asm!(
                concat!("mov {p}, qword ptr [rip + ", slot!(), "@GOTTPOFF]"),
                "mov {p}, qword ptr fs:[{p}]",
                p = out(reg) p,
                options(nostack, preserves_flags, readonly, pure),
            );
        }
        p
    }

    /// Sets this thread's slot.
    #[inline(always)]
    pub(crate) fn set(p: *const ThreadSlab) {
        // SAFETY: as `get`, storing into this thread's slot.
        unsafe {
            asm!(
                concat!("mov {t}, qword ptr [rip + ", slot!(), "@GOTTPOFF]"),
                "mov qword ptr fs:[{t}], {p}",
                t = out(reg) _,
                p = in(reg) p,
                options(nostack, preserves_flags),
            );
        }
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux", not(loom))))]
mod imp {
    use super::ThreadSlab;
    use std::cell::Cell;
    use std::ptr;

    thread_local! {
        // Const-initialised, no destructor: a plain TLS access.
        static SLOT: Cell<*const ThreadSlab> = const { Cell::new(ptr::null()) };
    }

    #[inline(always)]
    pub(crate) fn get() -> *const ThreadSlab {
        SLOT.with(Cell::get)
    }

    #[inline(always)]
    pub(crate) fn set(p: *const ThreadSlab) {
        SLOT.with(|c| c.set(p));
    }
}

pub(crate) use imp::{get, set};

/// A fork child that caught the first orphan being made makes another; the
/// half-made one (at most a leaked state in `ALL`) is harmless.
pub(crate) static ORPHAN: ForkOnceLock<&'static ThreadSlab> = ForkOnceLock::new();

/// The `tls` slot after this thread's state was handed back at exit.
pub(crate) const GONE: *const ThreadSlab = ptr::dangling();

/// This thread's state if it has one (its own or, after its own is gone,
/// the orphan), without creating one.
pub(crate) fn current_if_set() -> Option<&'static ThreadSlab> {
    let ts = get();
    if ts.is_null() {
        None
    } else if ts == GONE {
        ORPHAN.get().copied()
    } else {
        // SAFETY: states are leaked, never freed.
        Some(unsafe { &*ts })
    }
}

/// This thread's own state, for a `_nolock` call: none before the thread
/// first used krcu or after its state was handed back at exit (creating
/// one allocates and locks; the orphan is used under a lock).
#[inline(always)]
pub(crate) fn current_nolock() -> Option<&'static ThreadSlab> {
    // A plain TLS load, safe in a signal handler.
    let ts = get();
    // SAFETY: states are leaked, never freed.
    (ts as usize > GONE as usize).then(|| unsafe { &*ts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_thread_has_its_own_slot() {
        let mine = 0x1000 as *const ThreadSlab;
        let before = get();
        set(mine);
        assert_eq!(get(), mine);
        std::thread::spawn(|| {
            assert!(get().is_null(), "a new thread's slot starts null");
            set(0x2000 as *const ThreadSlab);
            assert_eq!(get(), 0x2000 as *const ThreadSlab);
        })
        .join()
        .unwrap();
        assert_eq!(get(), mine, "another thread's store left this slot alone");
        set(before);
    }
}
