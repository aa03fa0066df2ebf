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
//! leaves it, before touching the pool, when the pool is full (it moves to the
//! partial list) or the block is a non-current pool's last (the pool goes back to
//! its arena or the heap's cache): those frees happen in the slow path, under the
//! heap's lock.
//!
//! The heap's lock guards its partial and full lists and the states of the pools
//! in them. The owner takes it on its slow paths; another thread takes it to give
//! back a pool of this heap whose last live block it frees, or to `collect`. So a
//! pool in a list may change hands while its owner runs lock-free, but only once
//! none of its blocks is live, when the owner has no reason to touch it: the owner's
//! fast path touches a pool only to free a block of it, and frees a list pool's
//! last block under the lock.
//!
//! Slow path ([`Core::alloc_slow`](crate::core_alloc::Core)): carve more blocks
//! of the current pool, take its remote frees, take a partial pool, look at a
//! few full pools for remote frees, adopt an abandoned pool, and finally take a
//! fresh pool from an arena.

use crate::lock::Lock;
use crate::pool::{Block, Pool, PoolList, PoolState};
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
    /// Link in the core's list of every heap it made (set once, before the heap is published).
    pub(crate) next_all: *mut Heap,
    /// Guards the partial and full lists, `cached_empty` and the states of listed pools.
    pub(crate) lock: Lock<()>,
}

impl core::fmt::Debug for Heap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Heap")
            .field("kind", &self.kind)
            .field("cached_empty", &self.cached_empty)
            .finish_non_exhaustive()
    }
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

macro_rules! heap_init {
    ($empty:expr, $kind:expr) => {
        Heap {
            current: [$empty; NUM_CLASSES],
            partial: [PoolList::EMPTY; NUM_CLASSES],
            full: [PoolList::EMPTY; NUM_CLASSES],
            kind: $kind,
            cached_empty: 0,
            next_retired: ptr::null_mut(),
            next_all: ptr::null_mut(),
            lock: Lock::new(()),
        }
    };
}

impl Heap {
    /// A heap of the given kind with no pools; `empty` is the sentinel pool.
    #[cfg(not(loom))]
    pub(crate) const fn new(empty: *mut Pool, kind: u8) -> Self {
        heap_init!(empty, kind)
    }

    /// A heap of the given kind with no pools (loom: locks are not `const`).
    #[cfg(loom)]
    pub(crate) fn new(empty: *mut Pool, kind: u8) -> Self {
        heap_init!(empty, kind)
    }

    /// Makes a retired heap new again for another thread, keeping its lock and its link
    /// in the core's list of heaps (a collector may be holding the one and following the
    /// other).
    ///
    /// # Safety
    ///
    /// `heap` is a retired heap (no pools) taken off the retired list by the caller.
    pub(crate) unsafe fn reuse(heap: *mut Heap, empty: *mut Pool) {
        // SAFETY: per the contract; the lists are written under the heap's lock.
        unsafe {
            let _g = (*heap).lock.lock();
            (*heap).current = [empty; NUM_CLASSES];
            (*heap).partial = [PoolList::EMPTY; NUM_CLASSES];
            (*heap).full = [PoolList::EMPTY; NUM_CLASSES];
            (*heap).kind = kind::REAL;
            (*heap).cached_empty = 0;
            (*heap).next_retired = ptr::null_mut();
        }
    }
}

/// What a free needs besides the fast path.
pub(crate) enum Freed {
    /// Nothing.
    Done,
    /// The owner's slow path must free the block into this pool (full, or its last block).
    Owner(*mut Pool),
    /// The block, freed by another thread, is the last live one of this listed pool: give
    /// the pool back.
    LastRemote(*mut Pool),
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

/// Frees a small block: a plain push when `heap` owns its pool, else a remote push; says
/// what else must happen.
///
/// # Safety
///
/// `p` is a live small block, freed exactly once; `heap` is the calling thread's heap.
#[inline(always)]
pub(crate) unsafe fn dealloc_fast(heap: *mut Heap, p: *mut u8) -> Freed {
    let pool = Pool::of(p);
    // SAFETY: the block is live, so its pool is assigned; if we own it, its
    // plain fields are ours.
    unsafe {
        if (*pool).owner.load(Ordering::Relaxed) == heap {
            let u = (*pool).used.load(Ordering::Relaxed).wrapping_sub(1);
            if !Pool::is(pool, PoolState::Current) && (u == 0 || Pool::is(pool, PoolState::Full)) {
                return Freed::Owner(pool);
            }
            let b = p.cast::<Block>();
            (*b).next = (*pool).free;
            (*pool).free = b;
            // Release: a thread that later finds the pool's blocks all free (its last one
            // freed remotely) sees these writes before it reuses the pool.
            (*pool).used.store(u, Ordering::Release);
            Freed::Done
        } else if Pool::free_remote(pool, p) {
            Freed::Done
        } else {
            Freed::LastRemote(pool)
        }
    }
}
