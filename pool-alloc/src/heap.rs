//! Per-thread heaps: the fast path and the owner's slow paths.
//!
//! A [`Heap`] belongs to one thread (or, for the after-teardown heap, to
//! whoever holds its lock). For each size class it has a current pool (a
//! sentinel pool with an empty free list when it has none, so the fast path
//! needs no null check), a list of partial pools (free blocks the owner knows
//! of) and a list of full pools (which may receive remote frees).
//!
//! Fast path ([`alloc_fast`], [`dealloc_fast`]): pop from / push onto the pool's
//! free list and adjust `used`, all with plain loads and stores. The free path
//! leaves it only when the pool was full (it moves to the partial list) or a
//! non-current pool became empty (it goes back to its arena).
//!
//! Slow path ([`Core::alloc_slow`](crate::core_alloc::Core)): carve more blocks
//! of the current pool, take its remote frees, take a partial pool, look at a
//! few full pools for remote frees, adopt an abandoned pool, and finally take a
//! fresh pool from an arena.

use crate::pool::{Block, Pool, PoolList, state};
use crate::size_class::NUM_CLASSES;
use crate::sync::Ordering;
use core::ptr;

/// What a heap is, for the slow path.
pub(crate) mod kind {
    /// A real heap that owns pools.
    pub(crate) const REAL: u8 = 0;
    /// The sentinel of a thread that has no heap yet.
    pub(crate) const UNINIT: u8 = 1;
    /// The sentinel of a thread whose heap was torn down with its TLS.
    pub(crate) const DEAD: u8 = 2;
}

/// A per-thread heap.
#[doc(hidden)]
#[derive(Debug)]
pub struct Heap {
    pub(crate) current: [*mut Pool; NUM_CLASSES],
    pub(crate) partial: [PoolList; NUM_CLASSES],
    pub(crate) full: [PoolList; NUM_CLASSES],
    /// One of [`kind`]'s values.
    pub(crate) kind: u8,
    /// Empty pools kept in partial lists instead of going back to their arenas.
    pub(crate) cached_empty: u32,
    /// Link in the core's list of retired heaps.
    pub(crate) next_retired: *mut Heap,
}

impl core::fmt::Debug for PoolList {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PoolList")
            .field("head", &self.head)
            .finish()
    }
}

// SAFETY: a heap is a bag of pointers to pools that its owner alone touches;
// moving it between threads (retired heap cache, after-teardown heap behind a
// lock) transfers that ownership with it.
unsafe impl Send for Heap {}

impl Heap {
    /// A heap of the given kind with no pools; `empty` is the sentinel pool.
    pub(crate) const fn new(empty: *mut Pool, kind: u8) -> Self {
        Self {
            current: [empty; NUM_CLASSES],
            partial: [PoolList::EMPTY; NUM_CLASSES],
            full: [PoolList::EMPTY; NUM_CLASSES],
            kind,
            cached_empty: 0,
            next_retired: ptr::null_mut(),
        }
    }
}

/// Pops a block of `class` from the heap's current pool; null when the slow path is needed.
///
/// # Safety
///
/// `heap` is a valid heap used by the calling thread alone; `class < NUM_CLASSES`.
#[inline(always)]
pub(crate) unsafe fn alloc_fast(heap: *mut Heap, class: usize) -> *mut u8 {
    // SAFETY: the heap and its current pool belong to this thread; the sentinel
    // pool has a null free list and is only read.
    unsafe {
        let pool = *(*heap).current.get_unchecked(class);
        let b = (*pool).free;
        if b.is_null() {
            return ptr::null_mut();
        }
        (*pool).free = (*b).next;
        Pool::add_used(pool, 1);
        b.cast()
    }
}

/// Frees a small block: a plain push when `heap` owns its pool, else a remote push.
/// Returns the pool when the owner's slow path must run.
///
/// # Safety
///
/// `p` is a live small block, freed exactly once; `heap` is the calling thread's heap.
#[inline(always)]
pub(crate) unsafe fn dealloc_fast(heap: *mut Heap, p: *mut u8) -> *mut Pool {
    let pool = Pool::of(p);
    // SAFETY: the block is live, so its pool is assigned; if we own it, its
    // plain fields are ours.
    unsafe {
        if (*pool).owner.load(Ordering::Relaxed) == heap {
            let b = p.cast::<Block>();
            (*b).next = (*pool).free;
            (*pool).free = b;
            let u = (*pool).used.load(Ordering::Relaxed).wrapping_sub(1);
            (*pool).used.store(u, Ordering::Relaxed);
            let st = (*pool).state;
            if st != state::CURRENT && (st == state::FULL || u == 0) {
                return pool;
            }
        } else {
            Pool::free_remote(pool, p);
        }
    }
    ptr::null_mut()
}
