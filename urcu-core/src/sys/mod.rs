//! Linux system calls the core needs and `libc` does not wrap.

pub mod futex;
pub(crate) mod membarrier;

/// The kernel thread id of the calling thread.
pub(crate) fn gettid() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// Whether the thread `tid` of this process may still run: false once it
/// has ended (a tid is reused only by a later thread, which makes this
/// say "alive" for longer, never "gone" too early).
pub(crate) fn thread_alive(tid: i32) -> bool {
    // SAFETY: signal 0 only checks that the thread exists.
    let rc = unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
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
        crate::report::for_each_in_c_terms(p, |piece| write(piece.as_bytes()));
    }
    write(b"\n");
    std::process::abort()
}

/// [`die_parts`] with one message.
#[cold]
pub(crate) fn die(msg: &str) -> ! {
    die_parts(&[msg])
}

/// Blocks every signal on the calling thread; returns the mask to restore
/// with [`restore_signals`]. Around registration changes, so that a signal
/// handler's read section never runs while this thread's record is half
/// set up or half torn down (it would register again: a lock the thread
/// may hold, an allocation).
pub(crate) fn block_all_signals() -> libc::sigset_t {
    let mut all = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    let mut old = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigfillset initialises `all`; pthread_sigmask writes `old`
    // (it cannot fail with a valid `how`).
    unsafe {
        libc::sigfillset(all.as_mut_ptr());
        libc::pthread_sigmask(libc::SIG_BLOCK, all.as_ptr(), old.as_mut_ptr());
        old.assume_init()
    }
}

/// Restores the mask [`block_all_signals`] returned.
pub(crate) fn restore_signals(old: &libc::sigset_t) {
    // SAFETY: a mask pthread_sigmask gave us.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old, std::ptr::null_mut()) };
}

/// The calling thread's name as the kernel has it (at most 15 bytes), read
/// without Rust's thread-locals, which may already be gone when a thread
/// registers from its thread-local destructors.
pub(crate) fn thread_name() -> String {
    let mut buf = [0u8; 16];
    // SAFETY: a 16-byte buffer, the size the kernel's names fit in.
    let rc = unsafe {
        libc::pthread_getname_np(libc::pthread_self(), buf.as_mut_ptr().cast(), buf.len())
    };
    if rc != 0 {
        return "<unnamed>".to_owned();
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..len]).into_owned()
}
