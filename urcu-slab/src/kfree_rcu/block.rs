//! Blocks: page-sized arrays of object pointers that batches are made
//! of, from a pool the helper keeps stocked.

use super::local::Block;
use crate::caches::args::CacheArgs;
use crate::caches::CacheInner;
use crate::helper;
use crate::memory::lock::Mutex;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use urcu_core::__private::ForkOnceLock;

/// Blocks ready for threads to take, kept stocked by the helper.
const BLOCK_POOL_TARGET: usize = 32;
static BLOCK_POOL: Mutex<Vec<SendBlock>> = Mutex::new(Vec::new());
/// A thread found the pool empty: the helper refills it. Relaxed: a hint,
/// delivered by the want_stock() wake that follows it (helper/wake.rs);
/// the blocks themselves move under the pool's lock.
pub(crate) static WANT_BLOCKS: AtomicBool = AtomicBool::new(false);

struct SendBlock(*mut Block);
// SAFETY: a pooled block is owned by the pool alone.
unsafe impl Send for SendBlock {}

fn block_cache() -> &'static CacheInner {
    // A fork child that caught it being made makes it again (the half-made
    // cache leaks in the child's copy).
    static BLOCKS: ForkOnceLock<&'static CacheInner> = ForkOnceLock::new();
    BLOCKS.get_or_init(|| {
        // Never destroyed: the shared state is enough.
        CacheInner::create(
            "krcu-kfree-blocks",
            std::mem::size_of::<Block>(),
            &CacheArgs::default(),
        )
        .expect("the block cache's geometry is valid")
    })
}

impl Block {
    /// A fresh empty block from the block cache; null when memory cannot be
    /// had.
    pub(crate) fn alloc() -> *mut Block {
        let b = block_cache().alloc().cast::<Block>();
        if !b.is_null() {
            // SAFETY: a fresh block-sized allocation.
            unsafe {
                (*b).next = ptr::null_mut();
                (*b).nr = 0;
            }
        }
        b
    }

    /// Returns a used block to the pool, or to the block cache.
    pub(crate) fn recycle(b: *mut Block) {
        // SAFETY: the caller gives the block up.
        unsafe {
            (*b).next = ptr::null_mut();
            (*b).nr = 0;
        }
        let mut pool = BLOCK_POOL.lock();
        if pool.len() < BLOCK_POOL_TARGET {
            pool.push(SendBlock(b));
        } else {
            drop(pool);
            block_cache().free(b.cast(), "the kfree_rcu block pool's free");
        }
    }

    pub(crate) fn take_pooled() -> *mut Block {
        // The pool's lock is released before asking the helper, which may
        // start it (START, a lock the fork handlers take before the pool).
        let pooled = BLOCK_POOL.lock().pop();
        match pooled {
            Some(b) => b.0,
            None => {
                // Relaxed: a hint, delivered by the want_stock ring; the
                // blocks move under the pool's lock.
                if !WANT_BLOCKS.swap(true, Ordering::Relaxed) {
                    helper::want_stock(helper::Work::Blocks, refill_block_pool);
                }
                ptr::null_mut()
            }
        }
    }
}

/// Before fork (see `fork.rs`).
pub(crate) fn lock_for_fork() {
    std::mem::forget(BLOCK_POOL.lock());
}

/// After fork.
///
/// # Safety
///
/// Called once after `lock_for_fork`, by the thread that forked.
pub(crate) unsafe fn unlock_after_fork() {
    // SAFETY: locked by lock_for_fork on this thread, guard forgotten.
    unsafe { BLOCK_POOL.force_unlock() };
}

/// Tops up the block pool (helper).
pub(crate) fn refill_block_pool() {
    // Relaxed: see take_pooled.
    if !WANT_BLOCKS.swap(false, Ordering::Relaxed) {
        return;
    }
    while BLOCK_POOL.lock().len() < BLOCK_POOL_TARGET {
        let b = Block::alloc();
        if b.is_null() {
            WANT_BLOCKS.store(true, Ordering::Relaxed);
            return;
        }
        BLOCK_POOL.lock().push(SendBlock(b));
    }
}
