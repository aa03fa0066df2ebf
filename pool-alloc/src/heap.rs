//! Per-thread heaps: the fast path and the owner's slow paths.
//!
//! A [`Heap`] belongs to one thread (or, for the after-teardown heap, to
//! whoever holds its lock). For each size class it has a current pool (a
//! sentinel pool with an empty free list when it has none, so the fast path
//! needs no null check), a list of partial pools (free blocks the owner knows
//! of) and a list of full pools (which may receive remote frees). The current
//! pools are kept in a table by request size (`direct`), so that the allocation
//! fast path goes from the size to the pool with one addition, one shift and one
//! load.
//!
//! Fast path ([`Heap::alloc_direct`], [`Heap::alloc_class`] and
//! [`Pool::free_local`]): pop from / push onto the pool's free list and adjust
//! `used`, all with plain loads and stores. The free path leaves it, before
//! touching the pool, when the pool is full (it moves to the partial list) or the
//! block is a non-current pool's last (the pool goes back to its arena or the
//! heap's cache): those frees happen in the slow path, under the heap's lock.
//!
//! The heap's lock guards its partial and full lists and the states of the pools
//! in them. The owner takes it on its slow paths; another thread takes it to give
//! back a pool of this heap whose last live block it frees, or to `collect`. So a
//! pool in a list may change hands while its owner runs lock-free, but only once
//! none of its blocks is live, when the owner has no reason to touch it: the owner's
//! fast path touches a pool only to free a block of it, and frees a list pool's
//! last block under the lock.
//!
//! The heap's list transitions ([`Heap`]'s associated functions, each called with
//! the heap's lock held) are the per-heap slow path; the core
//! ([`Core::alloc_slow`](crate::core_alloc::Core)) strings them together with the
//! shared state: refill the current pool (carve more blocks, take its remote
//! frees), else take a partial pool, else a full pool with remote frees, else
//! adopt an abandoned pool, else take a fresh pool from an arena.

use crate::arena::Arenas;
use crate::lock::Lock;
use crate::pool::{Block, HeapId, Pool, PoolList, PoolState};
use crate::size_class::{DIRECT_LEN, NUM_CLASSES, direct_index, direct_indices};
use crate::sync::Ordering;
use crate::tunables::{FULL_SCAN, MAX_CACHED_EMPTY};
use core::ptr;

/// What a heap is, for the slow path.
#[repr(u8)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum HeapKind {
    /// A real heap that owns pools.
    Real,
    /// The sentinel of a thread that has no heap yet.
    Uninit,
    /// The sentinel of a thread whose heap was torn down with its TLS.
    Dead,
}

/// A per-thread heap.
#[doc(hidden)]
pub struct Heap {
    /// The current pool of every class by request size: entry [`direct_index`]`(size)` is
    /// the current pool of the class serving `size` bytes (a class above 512 bytes has four
    /// entries, [`direct_indices`]). Read through [`Heap::current`], written through
    /// [`Heap::set_current`] alone.
    direct: [*mut Pool; DIRECT_LEN],
    pub(crate) partial: [PoolList; NUM_CLASSES],
    pub(crate) full: [PoolList; NUM_CLASSES],
    pub(crate) kind: HeapKind,
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
            direct: [$empty; DIRECT_LEN],
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
    pub(crate) const fn new(empty: *mut Pool, kind: HeapKind) -> Self {
        heap_init!(empty, kind)
    }

    /// A heap of the given kind with no pools (loom: locks are not `const`).
    #[cfg(loom)]
    pub(crate) fn new(empty: *mut Pool, kind: HeapKind) -> Self {
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
            (*heap).direct = [empty; DIRECT_LEN];
            (*heap).partial = [PoolList::EMPTY; NUM_CLASSES];
            (*heap).full = [PoolList::EMPTY; NUM_CLASSES];
            (*heap).kind = HeapKind::Real;
            (*heap).cached_empty = 0;
            (*heap).next_retired = ptr::null_mut();
        }
    }

    /// The heap as its pools name their owner.
    #[inline(always)]
    pub(crate) fn id(heap: *mut Heap) -> *mut HeapId {
        heap.cast()
    }

    /// The heap a pool names as its owner.
    pub(crate) fn from_id(id: *mut HeapId) -> *mut Heap {
        id.cast()
    }

    /// The current pool of `class` (the sentinel when there is none).
    ///
    /// # Safety
    ///
    /// `heap` is a valid heap read by its owner (or under its lock); `class < NUM_CLASSES`.
    #[inline(always)]
    pub(crate) unsafe fn current(heap: *mut Heap, class: usize) -> *mut Pool {
        // SAFETY: per the contract; every class has at least one entry.
        unsafe { *(*heap).direct.get_unchecked(direct_indices(class).start) }
    }

    /// Makes `p` the current pool of `class`, in every entry of the class.
    ///
    /// # Safety
    ///
    /// As for [`Heap::current`], by the owner.
    pub(crate) unsafe fn set_current(heap: *mut Heap, class: usize, p: *mut Pool) {
        // SAFETY: per the contract.
        unsafe {
            for i in direct_indices(class) {
                (*heap).direct[i] = p;
            }
        }
    }

    /// The allocation fast path for `size` bytes with an alignment of at most
    /// [`DIRECT_ALIGN`](crate::size_class::DIRECT_ALIGN): pops a block of the current pool
    /// found by size; null when the slow path is needed.
    ///
    /// # Safety
    ///
    /// `heap` is a valid heap used by the calling thread alone; `size <= SMALL_LIMIT`.
    #[inline(always)]
    pub(crate) unsafe fn alloc_direct(heap: *mut Heap, size: usize) -> *mut u8 {
        // SAFETY: per the contract (the index is at most `DIRECT_LEN - 1`); the heap's
        // current pools belong to this thread, and the sentinel is only read.
        unsafe { Pool::pop(*(*heap).direct.get_unchecked(direct_index(size))) }
    }

    /// Pops a block of `class` from the heap's current pool; null when the slow path is
    /// needed.
    ///
    /// # Safety
    ///
    /// `heap` is a valid heap used by the calling thread alone; `class < NUM_CLASSES`.
    #[inline(always)]
    pub(crate) unsafe fn alloc_class(heap: *mut Heap, class: usize) -> *mut u8 {
        // SAFETY: per the contract.
        unsafe { Pool::pop(Heap::current(heap, class)) }
    }

    // ---- List transitions: each is called with the heap's lock held -----------------

    /// Makes `p`, owned by the heap and in no list, its current pool for `class` and pops a
    /// block from it; returns the block (null if the pool has none).
    ///
    /// # Safety
    ///
    /// The caller holds the heap's lock and is its owner.
    pub(crate) unsafe fn install(heap: *mut Heap, class: usize, p: *mut Pool) -> *mut u8 {
        // SAFETY: per the contract.
        unsafe {
            Pool::set_state(p, PoolState::Current);
            Heap::set_current(heap, class, p);
            // An emptied pool keeps its free list (the blocks its last round freed, most
            // recent first): relinking it in address order cost more cache misses and time
            // than it saved (docs/measured/pool-alloc.md).
            if (*p).free.is_null() && !Pool::carve(p) {
                Pool::drain_remote(p);
            }
            Heap::alloc_class(heap, class)
        }
    }

    /// Refills the current pool of `class` (carves more blocks, takes its remote frees) and
    /// pops a block; null if it has none left, and the caller parks it with
    /// [`Heap::park_full`].
    ///
    /// # Safety
    ///
    /// The caller is the heap's owner, and the heap has a current pool of `class` (not the
    /// sentinel). The current pool is in no list: no lock is needed.
    pub(crate) unsafe fn refill_current(heap: *mut Heap, class: usize) -> *mut u8 {
        // SAFETY: per the contract.
        unsafe {
            let cur = Heap::current(heap, class);
            if Pool::carve(cur) || Pool::drain_remote(cur) > 0 {
                return Heap::alloc_class(heap, class);
            }
            ptr::null_mut()
        }
    }

    /// A pool of `class` to allocate from: a partial one, else a full one that received
    /// remote frees (up to [`FULL_SCAN`] looked at); taken out of its list. Null if none.
    ///
    /// # Safety
    ///
    /// As for [`Heap::install`].
    pub(crate) unsafe fn take_listed(heap: *mut Heap, class: usize) -> *mut Pool {
        // SAFETY: per the contract.
        unsafe {
            let p = (*heap).partial[class].pop_front();
            if !p.is_null() {
                if (*p).used.load(Ordering::Relaxed) == 0 {
                    (*heap).cached_empty = (*heap).cached_empty.saturating_sub(1);
                }
                return p;
            }
            for _ in 0..FULL_SCAN {
                let p = (*heap).full[class].pop_front();
                if p.is_null() {
                    break;
                }
                if Pool::drain_remote(p) > 0 {
                    return p;
                }
                (*heap).full[class].push_back(p);
            }
            ptr::null_mut()
        }
    }

    /// Puts a pool with no free block the owner knows of in the full list. A free that saw
    /// it current pushed its block as usual: if that was the last live one, no one else will
    /// give the pool back, so this does.
    ///
    /// # Safety
    ///
    /// As for [`Heap::install`]; the heap owns `pool`, which is in no list.
    pub(crate) unsafe fn park_full(heap: *mut Heap, pool: *mut Pool, arenas: &Lock<Arenas>) {
        // SAFETY: per the contract.
        unsafe {
            Pool::set_state(pool, PoolState::Full);
            (*heap).full[(*pool).class as usize].push_back(pool);
            if Pool::is_all_free(pool) {
                Heap::give_back(heap, pool, arenas);
            }
        }
    }

    /// The owner frees `block` into `pool`, which is full, or not current with `block` its
    /// last live block: the pool moves to the partial list, or goes back to its arena when
    /// it is empty and the heap's cache of empty pools is full.
    ///
    /// # Safety
    ///
    /// As for [`Heap::install`]; the heap owns `pool` and `block` is a live block of it.
    pub(crate) unsafe fn free_owned(
        heap: *mut Heap,
        pool: *mut Pool,
        block: *mut u8,
        arenas: &Lock<Arenas>,
    ) {
        // SAFETY: per the contract; no one else changes a pool of ours with a live block.
        unsafe {
            let b = block.cast::<Block>();
            (*b).next = (*pool).free;
            (*pool).free = b;
            Pool::add_used(pool, -1);
            let class = (*pool).class as usize;
            let empty = (*pool).used.load(Ordering::Relaxed) == 0;
            let keep = empty && (*heap).cached_empty < MAX_CACHED_EMPTY;
            if keep {
                (*heap).cached_empty += 1;
            }
            match Pool::state(pool) {
                PoolState::Full => {
                    (*heap).full[class].remove(pool);
                    if empty && !keep {
                        arenas.lock().free_pool(pool);
                    } else {
                        Pool::set_state(pool, PoolState::Partial);
                        (*heap).partial[class].push_back(pool);
                    }
                }
                PoolState::Partial if empty && !keep => {
                    (*heap).partial[class].remove(pool);
                    arenas.lock().free_pool(pool);
                }
                _ => {}
            }
        }
    }

    /// Takes a listed pool with no live block out of the heap (from any thread): into the
    /// heap's cache of empty pools while it has room, else back to its arena.
    ///
    /// # Safety
    ///
    /// The caller holds the heap's lock; `pool` is in one of its lists and no block of it is
    /// live (but perhaps the caller's, which it then forgets).
    pub(crate) unsafe fn give_back(heap: *mut Heap, pool: *mut Pool, arenas: &Lock<Arenas>) {
        // SAFETY: per the contract.
        unsafe {
            let class = (*pool).class as usize;
            match Pool::state(pool) {
                PoolState::Full => (*heap).full[class].remove(pool),
                _ => (*heap).partial[class].remove(pool),
            }
            Pool::forget_blocks(pool);
            if (*heap).cached_empty < MAX_CACHED_EMPTY {
                (*heap).cached_empty += 1;
                Pool::set_state(pool, PoolState::Partial);
                (*heap).partial[class].push_back(pool);
            } else {
                arenas.lock().free_pool(pool);
            }
        }
    }

    /// Gives back every listed pool with no live block (the cached empty ones too) to its
    /// arena, from any thread.
    ///
    /// # Safety
    ///
    /// The caller holds the heap's lock.
    pub(crate) unsafe fn reclaim_free_pools(heap: *mut Heap, arenas: &Lock<Arenas>) {
        // SAFETY: per the contract; a pool with no live block is not touched by its owner.
        unsafe {
            for c in 0..NUM_CLASSES {
                for list in [&raw mut (*heap).partial[c], &raw mut (*heap).full[c]] {
                    let mut p = (*list).head;
                    while !p.is_null() {
                        let next = (*p).next;
                        if Pool::is_all_free(p) {
                            if (*p).used.load(Ordering::Relaxed) == 0 {
                                (*heap).cached_empty = (*heap).cached_empty.saturating_sub(1);
                            }
                            (*list).remove(p);
                            Pool::forget_blocks(p);
                            arenas.lock().free_pool(p);
                        }
                        p = next;
                    }
                }
            }
        }
    }

    /// The owner's collection: takes every pool's remote frees, gives empty pools (current
    /// ones included) back to their arenas, and moves full pools with free blocks to the
    /// partial list.
    ///
    /// # Safety
    ///
    /// As for [`Heap::install`].
    pub(crate) unsafe fn collect(heap: *mut Heap, empty: *mut Pool, arenas: &Lock<Arenas>) {
        // SAFETY: per the contract.
        unsafe {
            for c in 0..NUM_CLASSES {
                let cur = Heap::current(heap, c);
                if cur != empty {
                    Pool::drain_remote(cur);
                    if (*cur).used.load(Ordering::Relaxed) == 0 {
                        Heap::set_current(heap, c, empty);
                        arenas.lock().free_pool(cur);
                    }
                }
                for full in [false, true] {
                    let list = if full {
                        &raw mut (*heap).full[c]
                    } else {
                        &raw mut (*heap).partial[c]
                    };
                    let mut p = (*list).head;
                    while !p.is_null() {
                        let next = (*p).next;
                        Pool::drain_remote(p);
                        if (*p).used.load(Ordering::Relaxed) == 0 {
                            (*list).remove(p);
                            arenas.lock().free_pool(p);
                        } else if full && !(*p).free.is_null() {
                            (*list).remove(p);
                            Pool::set_state(p, PoolState::Partial);
                            (*heap).partial[c].push_back(p);
                        }
                        p = next;
                    }
                }
            }
            // Every empty pool of the partial lists went back just now.
            (*heap).cached_empty = 0;
        }
    }

    /// Takes every pool out of the heap (a retiring thread's), current ones first, and hands
    /// each to `f`.
    ///
    /// # Safety
    ///
    /// As for [`Heap::install`].
    pub(crate) unsafe fn drain_pools(
        heap: *mut Heap,
        empty: *mut Pool,
        mut f: impl FnMut(*mut Pool),
    ) {
        // SAFETY: per the contract.
        unsafe {
            for c in 0..NUM_CLASSES {
                let cur = Heap::current(heap, c);
                Heap::set_current(heap, c, empty);
                if cur != empty {
                    f(cur);
                }
                for list in [&raw mut (*heap).partial[c], &raw mut (*heap).full[c]] {
                    loop {
                        let p = (*list).pop_front();
                        if p.is_null() {
                            break;
                        }
                        f(p);
                    }
                }
            }
            (*heap).cached_empty = 0;
        }
    }
}
