//! The part of a flavor module that is the same for every flavor, as a
//! macro each flavor module expands: the cookie, deferral and stats
//! functions, thin forwards to the module's `DOMAIN`, and the [`Flavor`]
//! impl forwarding to the module's functions.
//!
//! [`Flavor`]: crate::Flavor

/// The part of a flavor module that is the same for every flavor: the
/// cookie, deferral and stats functions, thin forwards to the module's
/// `DOMAIN`, and the [`Flavor`] impl forwarding to the module's functions.
/// The module defines what differs: the read side, registration,
/// `synchronize`, `barrier`, `cond_synchronize`, and its `FlavorImpl`.
macro_rules! flavor_common {
    ($flavor:ident, $name:literal) => {
        /// Queues `func(head)` after a grace period. See
        /// [`Flavor::call_rcu`](crate::Flavor::call_rcu).
        ///
        /// # Safety
        ///
        /// As for [`Flavor::call_rcu`](crate::Flavor::call_rcu).
        #[inline]
        pub unsafe fn call_rcu(head: *mut RcuHead, func: RcuCallback) {
            // SAFETY: forwarded contract.
            unsafe { DOMAIN.call_rcu(head, func) };
        }

        /// [`call_rcu`], and a grace period starts for it without waiting
        /// for callbacks to gather. See
        /// [`Flavor::call_rcu_hurry`](crate::Flavor::call_rcu_hurry).
        ///
        /// # Safety
        ///
        /// As for [`Flavor::call_rcu`](crate::Flavor::call_rcu).
        #[inline]
        pub unsafe fn call_rcu_hurry(head: *mut RcuHead, func: RcuCallback) {
            // SAFETY: forwarded contract.
            unsafe { call_rcu(head, func) };
            DOMAIN.hurry();
        }

        /// [`call_rcu`] for any context, a signal handler that interrupted
        /// anything included: it never locks, allocates, waits or yields, and
        /// never starts threads; a wait-free enqueue and, if the helper
        /// sleeps, a futex wake. Until the domain has started (any
        /// registration, `call_rcu`, `synchronize` or `barrier` starts it),
        /// callbacks wait in the queue.
        ///
        /// # Safety
        ///
        /// As for [`Flavor::call_rcu`](crate::Flavor::call_rcu).
        #[inline]
        pub unsafe fn call_rcu_nolock(head: *mut RcuHead, func: RcuCallback) {
            // SAFETY: forwarded contract.
            unsafe { DOMAIN.enqueue(head, func) };
        }

        /// See [`Flavor::get_state`](crate::Flavor::get_state).
        pub fn get_state() -> GpCookie {
            DOMAIN.get_state()
        }

        /// See [`Flavor::poll_state`](crate::Flavor::poll_state).
        pub fn poll_state(cookie: GpCookie) -> bool {
            DOMAIN.poll_state(cookie)
        }

        /// See [`Flavor::start_poll`](crate::Flavor::start_poll).
        pub fn start_poll() -> GpCookie {
            let c = DOMAIN.get_state();
            DOMAIN.request(c, crate::domain::grace::Pace::Normal);
            c
        }

        /// See [`Flavor::start_poll_expedited`](crate::Flavor::start_poll_expedited).
        pub fn start_poll_expedited() -> GpCookie {
            let c = DOMAIN.get_state();
            DOMAIN.request(c, crate::domain::grace::Pace::Expedited);
            c
        }

        /// Runs `f` after a grace period, on the callback thread.
        pub fn defer(f: impl FnOnce() + Send + 'static) {
            crate::callback::defer::<$flavor>(f)
        }

        /// Drops `value` after a grace period, on the callback thread.
        pub fn defer_drop<T: Send + 'static>(value: Box<T>) {
            crate::callback::defer_drop::<$flavor, T>(value)
        }

        #[doc = concat!("The ", $name, " flavor's counters.")]
        pub fn stats() -> Stats {
            DOMAIN.stats()
        }

        impl Flavor for $flavor {
            const NAME: &'static str = $name;

            #[inline(always)]
            fn read_lock() -> Guard<Self> {
                read_lock()
            }
            fn in_read_section() -> bool {
                in_read_section()
            }
            fn register_thread() -> Registration<Self> {
                register_thread()
            }
            fn synchronize() {
                synchronize()
            }
            fn synchronize_expedited() {
                synchronize_expedited()
            }
            unsafe fn call_rcu(head: *mut RcuHead, func: RcuCallback) {
                // SAFETY: forwarded contract.
                unsafe { call_rcu(head, func) }
            }
            unsafe fn call_rcu_hurry(head: *mut RcuHead, func: RcuCallback) {
                // SAFETY: forwarded contract.
                unsafe { call_rcu_hurry(head, func) }
            }
            fn start_poll_expedited() -> GpCookie {
                start_poll_expedited()
            }
            fn barrier() {
                barrier()
            }
            fn get_state() -> GpCookie {
                get_state()
            }
            fn poll_state(cookie: GpCookie) -> bool {
                poll_state(cookie)
            }
            fn start_poll() -> GpCookie {
                start_poll()
            }
            fn cond_synchronize(cookie: GpCookie) {
                cond_synchronize(cookie)
            }
            fn stats() -> Stats {
                stats()
            }
            unsafe fn call_rcu_nolock(head: *mut RcuHead, func: RcuCallback) {
                // SAFETY: forwarded contract.
                unsafe { call_rcu_nolock(head, func) }
            }
        }
    };
}
