//! The asymmetric fence: `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`.
//!
//! Called directly rather than through the `membarrier` crate because the
//! memb flavor must know, and report, which strategy is in force, and must be
//! able to force the fence fallback (`KRCU_FORCE_FENCE=1`) so tests cover it;
//! the crate silently falls back to an `mprotect` trick instead.

const MEMBARRIER_CMD_QUERY: libc::c_int = 0;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

fn membarrier(cmd: libc::c_int) -> libc::c_long {
    // SAFETY: membarrier takes (cmd, flags, cpu_id) by value and touches no
    // user memory.
    unsafe {
        libc::syscall(
            libc::SYS_membarrier,
            cmd,
            0 as libc::c_uint,
            0 as libc::c_int,
        )
    }
}

/// Registers this process for private expedited membarrier.
///
/// Returns false when the kernel lacks the command or refuses registration;
/// the caller then uses real fences on both sides.
pub(crate) fn register_private_expedited() -> bool {
    let supported = membarrier(MEMBARRIER_CMD_QUERY);
    if supported < 0 || supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED as libc::c_long == 0 {
        return false;
    }
    membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0
}

/// Executes a full memory barrier on every CPU running a thread of this
/// process, and on the caller.
///
/// Only valid after [`register_private_expedited`] returned true.
pub(crate) fn private_expedited() {
    let ret = membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
    // Registration succeeded, so the only documented failure is EINVAL for an
    // unregistered process: a broken invariant, and continuing would let a
    // grace period end early.
    assert!(
        ret == 0,
        "membarrier(PRIVATE_EXPEDITED) failed after registration: {}",
        std::io::Error::last_os_error()
    );
}
