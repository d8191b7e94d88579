//! Linux system calls the core needs and `libc` does not wrap.

pub mod futex;
pub(crate) mod membarrier;

/// The kernel thread id of the calling thread.
pub(crate) fn gettid() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// Writes `krcu: `, each of `parts` and a newline to standard error with
/// `write(2)`, then aborts. Formats nothing, allocates nothing and takes no
/// lock, so it serves signal handlers, helper threads and fork handlers
/// alike: everywhere a panic could not report the rule (unwinding would
/// cross an `extern "C"` frame or end a helper thread).
#[cold]
#[inline(never)]
pub(crate) fn die_parts(parts: &[&str]) -> ! {
    let write = |b: &[u8]| {
        let mut b = b;
        while !b.is_empty() {
            // SAFETY: writes from a valid buffer to fd 2.
            let n = unsafe { libc::write(2, b.as_ptr().cast(), b.len()) };
            if n <= 0 {
                // EINTR is retried; any other error changes nothing: we
                // abort next.
                if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return;
            }
            b = &b[n as usize..];
        }
    };
    write(b"krcu: ");
    for p in parts {
        write(p.as_bytes());
    }
    write(b"\n");
    std::process::abort()
}

/// [`die_parts`] with one message.
#[cold]
pub(crate) fn die(msg: &str) -> ! {
    die_parts(&[msg])
}
