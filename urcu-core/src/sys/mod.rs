//! Linux system calls the core needs and `libc` does not wrap.

pub mod futex;
pub(crate) mod membarrier;

/// The kernel thread id of the calling thread.
pub(crate) fn gettid() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}
