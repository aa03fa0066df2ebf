//! The instantiable allocator core: arenas, abandoned pools, retired heaps,
//! large-allocation counters, and the slow paths that tie them together.
//!
//! The global [`PoolAlloc`](crate::PoolAlloc) is a thin wrapper around one
//! `static` [`Core`] plus a thread-local heap pointer. Tests (unit, Miri, loom)
//! create their own `Core` and heaps.
//!
//! Lock order: the retired-heap lock (when `fork` prepares, or a new heap is
//! published), then one heap's lock, then the abandoned list, then arenas. No
//! thread holds two heaps' locks except `fork`'s `prepare`, which takes them all
//! in the order of the list of heaps. No lock is held while calling the system
//! allocator or building a `Vec`.

use crate::arena::Arenas;
use crate::heap::{Heap, HeapKind};
use crate::lock::Lock;
use crate::pool::{Pool, PoolList, PoolState};
use crate::size_class::{DIRECT_ALIGN, MAX_ALIGN, NUM_CLASSES, SMALL_LIMIT, class_size, route};
use crate::stats::{ClassStats, Stats};
use crate::sync::{AtomicPtr, AtomicUsize, Ordering};
use crate::tunables::ARENA_SIZE;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr;
use std::alloc::System;

/// The allocator state shared by all heaps.
#[doc(hidden)]
pub struct Core {
    pub(crate) arenas: Lock<Arenas>,
    pub(crate) abandoned: Lock<[PoolList; NUM_CLASSES]>,
    abandoned_count: AtomicUsize,
    pub(crate) retired: Lock<RetiredHeaps>,
    /// Every heap this core made, newest first, linked by `next_all`; only ever pushed
    /// onto (under the retired lock), so it can be walked without a lock.
    heaps: AtomicPtr<Heap>,
    large_count: AtomicUsize,
    large_bytes: AtomicUsize,
    /// The sentinel pool: an empty free list, never written.
    pub(crate) empty: Pool,
}

impl core::fmt::Debug for Core {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Core").finish_non_exhaustive()
    }
}

/// Heaps of exited threads, reused by new threads.
pub(crate) struct RetiredHeaps {
    head: *mut Heap,
}

// SAFETY: retired heaps own no pools and are reached only through the lock.
unsafe impl Send for RetiredHeaps {}

// SAFETY: all shared state is behind locks or atomic; `empty` is never written.
unsafe impl Sync for Core {}
// SAFETY: see above; a core owns its arenas.
unsafe impl Send for Core {}

macro_rules! core_init {
    () => {
        Core {
            arenas: Lock::new(Arenas::new()),
            abandoned: Lock::new([PoolList::EMPTY; NUM_CLASSES]),
            abandoned_count: AtomicUsize::new(0),
            heaps: AtomicPtr::new(ptr::null_mut()),
            retired: Lock::new(RetiredHeaps {
                head: ptr::null_mut(),
            }),
            large_count: AtomicUsize::new(0),
            large_bytes: AtomicUsize::new(0),
            empty: Pool::sentinel(),
        }
    };
}

impl Drop for Core {
    /// Frees the retired heaps and unmaps every arena. Blocks of this core must
    /// not be used afterwards (the global core is a `static` and never dropped).
    fn drop(&mut self) {
        self.retired.lock().head = ptr::null_mut();
        let mut h = self.heaps.swap(ptr::null_mut(), Ordering::Acquire);
        while !h.is_null() {
            // SAFETY: every heap was allocated by `new_heap` with this layout, and the
            // core being dropped, none is used any more.
            unsafe {
                let next = (*h).next_all;
                ptr::drop_in_place(h);
                System.dealloc(h.cast(), Layout::new::<Heap>());
                h = next;
            }
        }
        // SAFETY: the core is being dropped, so none of its blocks is in use.
        unsafe { self.arenas.lock().unmap_all() };
    }
}

impl Default for Core {
    fn default() -> Self {
        Self::new()
    }
}

impl Core {
    /// A core with no arenas.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        core_init!()
    }

    /// A core with no arenas.
    #[cfg(loom)]
    pub fn new() -> Self {
        core_init!()
    }

    /// The sentinel pool.
    pub(crate) fn empty_pool(&self) -> *mut Pool {
        (&raw const self.empty).cast_mut()
    }

    /// A new real heap (a retired one if any); null when memory is refused.
    pub fn new_heap(&self) -> *mut Heap {
        let mut r = self.retired.lock();
        let h = r.head;
        if !h.is_null() {
            // SAFETY: retired heaps are valid, own no pools and are owned by the list.
            unsafe {
                r.head = (*h).next_retired;
                drop(r);
                Heap::reuse(h, self.empty_pool());
            }
            return h;
        }
        drop(r);
        // SAFETY: Heap has non-zero size.
        let h = unsafe { System.alloc(Layout::new::<Heap>()).cast::<Heap>() };
        if h.is_null() {
            return h;
        }
        // SAFETY: `h` is valid, unaliased memory for a heap; it is published under the
        // retired lock, which `fork`'s `prepare` holds while it locks every heap.
        unsafe {
            ptr::write(h, Heap::new(self.empty_pool(), HeapKind::Real));
            let _r = self.retired.lock();
            (*h).next_all = self.heaps.load(Ordering::Relaxed);
            self.heaps.store(h, Ordering::Release);
        }
        h
    }

    /// Calls `f` on every heap this core made (retired ones too).
    pub(crate) fn for_each_heap(&self, mut f: impl FnMut(*mut Heap)) {
        let mut h = self.heaps.load(Ordering::Acquire);
        while !h.is_null() {
            f(h);
            // SAFETY: heaps in the list live as long as the core; `next_all` is set before
            // a heap is published and never changes.
            h = unsafe { (*h).next_all };
        }
    }

    /// Abandons the heap's pools (live ones are handed over to other threads,
    /// empty ones go back to their arenas) and keeps the heap for reuse.
    ///
    /// # Safety
    ///
    /// `heap` came from [`Core::new_heap`] of this core and is not used again by the caller.
    pub unsafe fn retire_heap(&self, heap: *mut Heap) {
        // SAFETY: the caller hands the heap over; its pools are ours to move, under its lock.
        unsafe {
            {
                let _g = (*heap).lock.lock();
                Heap::drain_pools(heap, self.empty_pool(), |p| self.abandon_or_free(p));
            }
            let mut r = self.retired.lock();
            (*heap).next_retired = r.head;
            r.head = heap;
        }
    }

    /// Hands a retiring heap's pool on: back to its arena if nothing in it is live, else to
    /// the abandoned list.
    ///
    /// # Safety
    ///
    /// The caller holds the lock of `p`'s heap and took `p` out of the heap.
    unsafe fn abandon_or_free(&self, p: *mut Pool) {
        // SAFETY: per the contract; frees into `p` go onto its remote list.
        unsafe {
            Pool::drain_remote(p);
            if (*p).used.load(Ordering::Relaxed) == 0 {
                self.arenas.lock().free_pool(p);
                return;
            }
            let mut ab = self.abandoned.lock();
            (*p).owner.store(ptr::null_mut(), Ordering::Release);
            Pool::set_state(p, PoolState::Abandoned);
            // A free that saw the pool current pushed its block as usual: if that was the
            // last live one, no one else will give the pool back.
            if Pool::is_all_free(p) {
                drop(ab);
                Pool::forget_blocks(p);
                self.arenas.lock().free_pool(p);
                return;
            }
            ab[(*p).class as usize].push_back(p);
            self.abandoned_count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Takes an abandoned pool of `class` for `heap`; null if there is none.
    unsafe fn adopt(&self, class: usize, heap: *mut Heap) -> *mut Pool {
        if self.abandoned_count.load(Ordering::Relaxed) == 0 {
            return ptr::null_mut();
        }
        let mut ab = self.abandoned.lock();
        // SAFETY: the abandoned lists are ours under the lock.
        unsafe {
            let p = ab[class].pop_front();
            if !p.is_null() {
                self.abandoned_count.fetch_sub(1, Ordering::Relaxed);
                (*p).owner.store(Heap::id(heap), Ordering::Relaxed);
                Pool::set_state(p, PoolState::Current);
            }
            p
        }
    }

    /// Allocates `layout` for the thread owning `heap`.
    ///
    /// # Safety
    ///
    /// `heap` is a real heap of this core used by the calling thread alone (or
    /// under a lock); `layout` has non-zero size.
    #[inline(always)]
    pub unsafe fn alloc(&self, heap: *mut Heap, layout: Layout) -> *mut u8 {
        // SAFETY: per the contract.
        unsafe {
            self.alloc_with(heap, layout, false, || {
                Core::alloc_general(layout.size(), layout.align(), heap, self, false)
            })
        }
    }

    /// Allocates zeroed memory (a pool block is cleared; a large one comes zeroed from the
    /// system allocator).
    ///
    /// # Safety
    ///
    /// As for [`Core::alloc`].
    #[inline(always)]
    pub unsafe fn alloc_zeroed(&self, heap: *mut Heap, layout: Layout) -> *mut u8 {
        // SAFETY: per the contract.
        unsafe {
            self.alloc_with(heap, layout, true, || {
                Core::alloc_general(layout.size(), layout.align(), heap, self, true)
            })
        }
    }

    /// The allocation fast path (`zero`: zeroed): a block of the current pool found by size,
    /// for sizes up to [`SMALL_LIMIT`] with an alignment of at most [`DIRECT_ALIGN`]. Larger
    /// sizes go to the system allocator; everything else (other alignments, an empty current
    /// pool) is `general`, [`Core::alloc_general`] or the global wrapper's own (which also
    /// makes a thread's heap). Each test has its own branch: tests that led to one place
    /// would be merged by the compiler into more instructions than their branches.
    ///
    /// # Safety
    ///
    /// As for [`Core::alloc`] (`heap` may also be a thread sentinel, when `general` handles
    /// the null [`Core::alloc_general`] returns for it).
    #[inline(always)]
    pub(crate) unsafe fn alloc_with(
        &self,
        heap: *mut Heap,
        layout: Layout,
        zero: bool,
        general: impl FnOnce() -> *mut u8,
    ) -> *mut u8 {
        if layout.size() > SMALL_LIMIT {
            return Core::alloc_large(layout.size(), layout.align(), zero, self);
        }
        if layout.align() > DIRECT_ALIGN {
            return general();
        }
        // SAFETY: per the contract; the size is in the table's range.
        let p = unsafe { Heap::alloc_direct(heap, layout.size()) };
        if p.is_null() {
            return general();
        }
        if zero {
            // SAFETY: the block has at least `layout.size()` bytes.
            unsafe { ptr::write_bytes(p, 0, layout.size()) };
        }
        p
    }

    // The functions the fast paths call out of line take their arguments in the order the
    // fast paths receive theirs (the block, the layout's size and alignment, the heap) and
    // the core last, so that the jump to them moves no register.

    /// Allocation beyond the fast path (`zero`: zeroed): other alignments, the current pool's
    /// refill and the slow path, large requests. Null when the OS refuses memory, or when
    /// `heap` is a thread's sentinel (which the global wrapper handles).
    ///
    /// # Safety
    ///
    /// As for [`Core::alloc`] (`heap` may also be a thread sentinel); `size` and `align` make
    /// a valid layout.
    #[inline(never)]
    pub(crate) unsafe fn alloc_general(
        size: usize,
        align: usize,
        heap: *mut Heap,
        core: &Core,
        zero: bool,
    ) -> *mut u8 {
        match route(size, align) {
            // SAFETY: per the contract; blocks are `class_size(c) >= size` bytes.
            Some(c) => unsafe {
                let mut p = Heap::alloc_class(heap, c);
                if p.is_null() {
                    p = core.alloc_slow(heap, c);
                }
                if zero && !p.is_null() {
                    ptr::write_bytes(p, 0, size);
                }
                p
            },
            None => Core::alloc_large(size, align, zero, core),
        }
    }

    /// Frees `p`, allocated with `layout` from any heap of this core.
    ///
    /// The fast path is the owner's free into a pool that stays where it is: the layout
    /// says a pool block (no class computed), the pool's owner is `heap`, and
    /// [`Pool::free_local`] pushes the block. Everything else is a call out of line, each
    /// case to its own function (so that the compiler keeps one compare and branch per
    /// test, instead of merging tests that lead to the same place).
    ///
    /// # Safety
    ///
    /// As for [`Core::alloc`]; `p` is live, allocated by this core with `layout`.
    #[inline(always)]
    pub unsafe fn dealloc(&self, heap: *mut Heap, p: *mut u8, layout: Layout) {
        if layout.size() > SMALL_LIMIT {
            // SAFETY: per the contract; large blocks come from `System` with this layout.
            return unsafe { Core::dealloc_large(p, layout.size(), layout.align(), self) };
        }
        if layout.align() > MAX_ALIGN {
            // SAFETY: as above (`route` sends these to `System` too).
            return unsafe { Core::dealloc_overaligned(p, layout.size(), layout.align(), self) };
        }
        // Within both limits `route` is `Some` (`size_class`'s tests): a pool block.
        let pool = Pool::of_in_register(p);
        // SAFETY: per the contract the block is live, so its pool is assigned; if we own it,
        // its plain fields are ours.
        unsafe {
            if (*pool).owner.load(Ordering::Relaxed) != Heap::id(heap) {
                return Core::free_remote(p, self);
            }
            if !Pool::free_local(pool, p) {
                Core::free_slow(p, heap, self);
            }
        }
    }

    /// Reallocates, keeping the block when the route does not change.
    ///
    /// # Safety
    ///
    /// As for [`Core::dealloc`]; `new_size` is non-zero and valid for `layout.align()`.
    pub unsafe fn realloc(
        &self,
        heap: *mut Heap,
        p: *mut u8,
        layout: Layout,
        new_size: usize,
    ) -> *mut u8 {
        let old = route(layout.size(), layout.align());
        let new = route(new_size, layout.align());
        if old.is_some() && old == new {
            return p;
        }
        // SAFETY: the caller guarantees a valid new layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if old.is_none() && new.is_none() {
            // SAFETY: a large block stays large: System's realloc with the same alignment.
            let q = unsafe { System.realloc(p, layout, new_size) };
            if !q.is_null() {
                self.large_bytes.fetch_add(new_size, Ordering::Relaxed);
                self.large_bytes.fetch_sub(layout.size(), Ordering::Relaxed);
            }
            return q;
        }
        // SAFETY: per the contract; both blocks are valid for the copied length.
        unsafe {
            let q = self.alloc(heap, new_layout);
            if !q.is_null() {
                ptr::copy_nonoverlapping(p, q, layout.size().min(new_size));
                self.dealloc(heap, p, layout);
            }
            q
        }
    }

    /// A block of the system allocator, counted.
    #[inline(never)]
    fn alloc_large(size: usize, align: usize, zero: bool, core: &Core) -> *mut u8 {
        // SAFETY: the caller's layout, taken apart.
        let layout = unsafe { Layout::from_size_align_unchecked(size, align) };
        // SAFETY: GlobalAlloc callers pass non-zero sizes.
        let p = unsafe {
            if zero {
                System.alloc_zeroed(layout)
            } else {
                System.alloc(layout)
            }
        };
        if !p.is_null() {
            core.large_count.fetch_add(1, Ordering::Relaxed);
            core.large_bytes.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    /// Frees a block of the system allocator.
    ///
    /// # Safety
    ///
    /// `p` was allocated by [`Core::alloc_large`] with `layout`.
    #[inline(never)]
    unsafe fn dealloc_large(p: *mut u8, size: usize, align: usize, core: &Core) {
        // SAFETY: the caller's layout, taken apart.
        let layout = unsafe { Layout::from_size_align_unchecked(size, align) };
        core.large_count.fetch_sub(1, Ordering::Relaxed);
        core.large_bytes.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: allocated by `alloc_large` with this layout.
        unsafe { System.dealloc(p, layout) }
    }

    /// Frees a small block with an alignment above [`MAX_ALIGN`]: a block of the system
    /// allocator, as [`route`] sends such requests there. (Its own function, not a branch to
    /// [`Core::dealloc_large`], so that the fast path tests size and alignment apart.)
    ///
    /// # Safety
    ///
    /// As for [`Core::dealloc_large`].
    #[inline(never)]
    unsafe fn dealloc_overaligned(p: *mut u8, size: usize, align: usize, core: &Core) {
        // SAFETY: per the contract.
        unsafe { Core::dealloc_large(p, size, align, core) }
    }

    /// The allocation slow path: the current pool of `class` has no free block.
    /// Returns the block (null when out of memory, or when `heap` is a thread's
    /// sentinel, which the global wrapper handles).
    ///
    /// # Safety
    ///
    /// As for [`Core::alloc`] (`heap` may also be a thread sentinel).
    #[cold]
    #[inline(never)]
    pub(crate) unsafe fn alloc_slow(&self, heap: *mut Heap, class: usize) -> *mut u8 {
        // SAFETY: the heap is ours; every pool we touch is owned by it or taken for it.
        unsafe {
            if (*heap).kind != HeapKind::Real {
                return ptr::null_mut();
            }
            // The current pool is in no list: refilling it needs no lock.
            let cur = Heap::current(heap, class);
            if cur != self.empty_pool() {
                let got = Heap::refill_current(heap, class);
                if !got.is_null() {
                    return got;
                }
            }
            let _g = (*heap).lock.lock();
            let arenas = &self.arenas;
            if cur != self.empty_pool() {
                Heap::set_current(heap, class, self.empty_pool());
                Heap::park_full(heap, cur, arenas);
            }
            let p = Heap::take_listed(heap, class);
            if !p.is_null() {
                return Heap::install(heap, class, p);
            }
            loop {
                let p = self.adopt(class, heap);
                if p.is_null() {
                    break;
                }
                Pool::drain_remote(p);
                if !(*p).free.is_null() || (*p).bump < (*p).end {
                    return Heap::install(heap, class, p);
                }
                Heap::park_full(heap, p, arenas);
            }
            let p = self.arenas.lock().alloc_pool(class, Heap::id(heap));
            if p.is_null() {
                return ptr::null_mut();
            }
            Heap::install(heap, class, p)
        }
    }

    /// The owner's free slow path: the block's pool is full, or not current and `block` is
    /// its last live block.
    ///
    /// # Safety
    ///
    /// `heap` is the calling thread's heap and owns the pool of `block`, a live block.
    #[cold]
    #[inline(never)]
    pub(crate) unsafe fn free_slow(block: *mut u8, heap: *mut Heap, core: &Core) {
        let pool = Pool::of(block);
        // SAFETY: per the contract.
        unsafe {
            let _g = (*heap).lock.lock();
            Heap::free_owned(heap, pool, block, &core.arenas);
        }
    }

    /// A free by a thread that does not own the block's pool: one compare-and-swap onto its
    /// remote list, or, for what looks like the last live block of a listed pool, the pool
    /// given back.
    ///
    /// # Safety
    ///
    /// `block` is a live pool block, freed exactly once; the caller holds no lock.
    #[inline(never)]
    unsafe fn free_remote(block: *mut u8, core: &Core) {
        let pool = Pool::of(block);
        // SAFETY: per the contract.
        unsafe {
            if !Pool::free_remote(pool, block) {
                core.free_last_remote(pool, block);
            }
        }
    }

    /// A free by a thread that does not own `pool`, of what looked like its last live
    /// block: gives the pool back (to its heap's cache of empty pools or to its arena)
    /// instead of leaving it for an owner that may never look, or, if the block is not
    /// the last after all, pushes it as usual.
    ///
    /// # Safety
    ///
    /// `block` is a live block of `pool`, freed exactly once; the caller holds no lock.
    #[cold]
    #[inline(never)]
    unsafe fn free_last_remote(&self, pool: *mut Pool, block: *mut u8) {
        // SAFETY: our live block keeps the pool assigned; its owner heap, if any, lives as
        // long as the core. Under the lock of the pool's list its state and owner are stable.
        unsafe {
            loop {
                let owner = Heap::from_id((*pool).owner.load(Ordering::Acquire));
                if owner.is_null() {
                    // Abandoned: `owner` changes only under this lock while a block is live.
                    let mut ab = self.abandoned.lock();
                    if !(*pool).owner.load(Ordering::Relaxed).is_null() {
                        continue; // adopted meanwhile
                    }
                    if Pool::is_last_live(pool) {
                        ab[(*pool).class as usize].remove(pool);
                        self.abandoned_count.fetch_sub(1, Ordering::Relaxed);
                        drop(ab);
                        Pool::forget_blocks(pool);
                        self.arenas.lock().free_pool(pool);
                        return;
                    }
                    break;
                }
                let _g = (*owner).lock.lock();
                if (*pool).owner.load(Ordering::Relaxed) != Heap::id(owner) {
                    continue; // abandoned meanwhile
                }
                if !Pool::is(pool, PoolState::Current) && Pool::is_last_live(pool) {
                    Heap::give_back(owner, pool, &self.arenas);
                    return;
                }
                break;
            }
            Pool::publish_remote(pool, block);
        }
    }

    /// Returns the heap's empty pools to their arenas (after taking remote frees).
    ///
    /// # Safety
    ///
    /// `heap` is a real heap of this core used by the calling thread alone.
    pub unsafe fn collect_heap(&self, heap: *mut Heap) {
        // SAFETY: per the contract; its lists under its lock.
        unsafe {
            let _g = (*heap).lock.lock();
            Heap::collect(heap, self.empty_pool(), &self.arenas);
        }
    }

    /// From any thread: gives back every heap's listed pools with no live block and
    /// abandoned pools that became empty, unmaps free arenas and purges free pools. (Each
    /// heap's current pools and the blocks on its own free lists wait for its owner's
    /// [`Core::collect_heap`].)
    pub fn collect(&self) {
        self.for_each_heap(|h| {
            // SAFETY: every heap of the list is a heap of this core; its lists under its lock.
            unsafe {
                let _g = (*h).lock.lock();
                Heap::reclaim_free_pools(h, &self.arenas);
            }
        });
        {
            let mut ab = self.abandoned.lock();
            for list in ab.iter_mut() {
                let mut p = list.head;
                while !p.is_null() {
                    // SAFETY: abandoned pools are owned by the list under its lock.
                    unsafe {
                        let next = (*p).next;
                        Pool::drain_remote(p);
                        if (*p).used.load(Ordering::Relaxed) == 0 {
                            list.remove(p);
                            self.abandoned_count.fetch_sub(1, Ordering::Relaxed);
                            self.arenas.lock().free_pool(p);
                        }
                        p = next;
                    }
                }
            }
        }
        self.arenas.lock().collect();
    }

    /// Sets how long a completely free arena beyond the one spare stays mapped
    /// (zero: unmapped at once, as in pymalloc).
    pub fn set_arena_decay(&self, decay: core::time::Duration) {
        self.arenas.lock().set_decay(decay);
    }

    /// Whether `p` lies in an assigned pool of this core (debug mode).
    #[cfg(feature = "debug")]
    pub(crate) fn owns_assigned(&self, p: *const u8) -> bool {
        self.arenas.lock().owns_assigned(p)
    }

    /// Arenas mapped now.
    pub fn arena_count(&self) -> usize {
        self.arenas.lock().count()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let mut classes = [ClassStats::default(); NUM_CLASSES];
        for (c, s) in classes.iter_mut().enumerate() {
            s.block_size = class_size(c);
        }
        let (arenas, high, released) = self.arenas.lock().gather(&mut classes);
        let small = classes.iter().map(|c| c.block_size * c.blocks_in_use).sum();
        Stats {
            small_bytes_in_use: small,
            bytes_mapped: arenas * ARENA_SIZE,
            arenas,
            arenas_high_water: high,
            arenas_released: released,
            classes: classes.to_vec(),
            large_count: self.large_count.load(Ordering::Relaxed),
            large_bytes: self.large_bytes.load(Ordering::Relaxed),
        }
    }
}
