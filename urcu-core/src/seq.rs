//! Grace-period sequence numbers, in the kernel's `rcu_seq` style.
//!
//! The low [`STATE_BITS`] bits of the sequence say whether a grace period is
//! in progress; the rest count completed grace periods. `start` moves an idle
//! value to "in progress", `end` rounds it up to the next idle value. A cookie
//! is the sequence value that, once reached, proves a full grace period has
//! elapsed since the cookie was taken: if a grace period is already running
//! when the cookie is taken it may have missed the caller's updates, so the
//! cookie names the end of the one after it.
//!
//! Comparisons are wrap-safe (`ULONG_CMP_GE`), though a 64-bit counter
//! advancing once a microsecond takes over 10^5 years to wrap.

/// How many low bits hold the in-progress state.
const STATE_BITS: u32 = 2;
const STATE_MASK: u64 = (1 << STATE_BITS) - 1;
/// The amount one whole grace period adds to the sequence.
#[cfg(test)]
const GP_STEP: u64 = 1 << STATE_BITS;

/// A polled grace-period cookie: the sequence value at which a grace period
/// that started after the cookie was taken has completed.
///
/// Cookies are per flavor: poll a memb cookie with memb's functions.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GpCookie {
    /// The sequence value; opaque to users, `#[repr(C)]` for the C API.
    pub seq: u64,
}

/// The value the sequence has after a grace period starts.
#[inline]
pub(crate) fn start(seq: u64) -> u64 {
    debug_assert_eq!(seq & STATE_MASK, 0, "grace period started twice");
    seq + 1
}

/// The value the sequence has after the running grace period ends.
#[inline]
pub(crate) fn end(seq: u64) -> u64 {
    debug_assert_ne!(seq & STATE_MASK, 0, "grace period ended while idle");
    (seq | STATE_MASK) + 1
}

/// The cookie for "a full grace period after now", given the current value.
#[inline]
pub(crate) fn snap(seq: u64) -> u64 {
    (seq + 2 * STATE_MASK + 1) & !STATE_MASK
}

/// Whether the sequence value `current` has reached `cookie`.
#[inline]
pub(crate) fn done(current: u64, cookie: u64) -> bool {
    current.wrapping_sub(cookie) as i64 >= 0
}

/// Completed grace periods counted by a sequence value.
#[inline]
pub(crate) fn completed(seq: u64) -> u64 {
    seq >> STATE_BITS
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn snap_of_idle_needs_the_next_grace_period() {
        let s = 8;
        assert_eq!(snap(s), s + GP_STEP);
        assert!(!done(start(s), snap(s)));
        assert!(done(end(start(s)), snap(s)));
    }

    #[test]
    fn snap_during_a_grace_period_needs_the_one_after() {
        let running = start(8);
        let c = snap(running);
        assert!(!done(end(running), c), "the running GP may miss our update");
        assert!(done(end(start(end(running))), c));
    }

    proptest! {
        /// Whatever the starting point, a cookie is reached after at most two
        /// whole grace periods, never before one full one started after it.
        #[test]
        fn cookies_complete_after_one_full_grace_period(base in any::<u64>(), running in any::<bool>()) {
            let mut seq = base & !STATE_MASK;
            if running { seq = start(seq); }
            let cookie = snap(seq);
            prop_assert!(!done(seq, cookie));
            // Finish the running one, if any: not enough on its own.
            if running { seq = end(seq); prop_assert!(!done(seq, cookie)); }
            seq = start(seq);
            prop_assert!(!done(seq, cookie));
            seq = end(seq);
            prop_assert!(done(seq, cookie));
        }

        #[test]
        fn done_is_wrap_safe(a in any::<u64>(), d in 0u64..(1 << 62)) {
            prop_assert!(done(a.wrapping_add(d), a));
            prop_assert!(!done(a, a.wrapping_add(d + 1)));
        }
    }
}
