//! The slab layer's errors.

use super::kmem_cache::KmemCache;
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

/// Why [`KmemCache::new`] refused.
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

/// [`KmemCache::destroy`] found live objects. The cache is handed back
/// intact: free the objects and destroy it again.
pub struct DestroyError {
    /// The cache, still usable.
    pub cache: KmemCache,
    /// Objects still allocated.
    pub live: u64,
}

impl fmt::Debug for DestroyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DestroyError")
            .field("cache", &self.cache.name())
            .field("live", &self.live)
            .finish()
    }
}

impl fmt::Display for DestroyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "krcu: cannot destroy cache `{}`: {} objects are still live; free them (kfree_rcu'd ones are waited for) and destroy again",
            self.cache.name(),
            self.live
        )
    }
}

impl std::error::Error for DestroyError {}
