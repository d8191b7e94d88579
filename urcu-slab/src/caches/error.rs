//! The slab layer's errors.

use std::fmt;

/// Memory could not be had: the system refused a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocError;

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("krcu: out of memory (the system refused a mapping)")
    }
}

impl std::error::Error for AllocError {}

/// Why [`KmemCache::new`](crate::KmemCache::new) refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheError {
    /// Object size zero.
    ZeroSize,
    /// The alignment is not a power of two, or exceeds 4096.
    BadAlign(usize),
    /// No object of this size (with its alignment and link) fits in a slab.
    TooLarge(usize),
    /// Too many caches exist at once.
    TooMany,
}

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheError::ZeroSize => f.write_str("krcu: a cache's object size must be at least 1 byte"),
            CacheError::BadAlign(a) => write!(f, "krcu: cache alignment {a} is not a power of two up to 4096"),
            CacheError::TooLarge(s) => write!(
                f,
                "krcu: {s}-byte objects do not fit in a 64 KiB slab; allocate them with kmalloc, which maps large objects on their own"
            ),
            CacheError::TooMany => f.write_str("krcu: too many caches exist at once (4096); destroy unused ones"),
        }
    }
}

impl std::error::Error for CacheError {}
