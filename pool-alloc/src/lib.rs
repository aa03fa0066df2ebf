//! # pool-alloc
//!
//! A pymalloc-style small-object allocator (CPython's `Objects/obmalloc.c`:
//! size classes, pools, arenas) made thread-safe, usable as a
//! `#[global_allocator]`.
//!
//! ## Layers
//!
//! Each file is one concern; the dependencies run one way (`thread` → `core_alloc` →
//! `heap` → `arena` → `pool` → `os`), and every tunable is in `tunables.rs`.
//!
//! * **Size classes** (`size_class.rs`): requests up to 1 KiB with alignment up
//!   to 128 are served from 40 classes (16-byte steps to 512, 64-byte steps to
//!   1024). One function, `route(size, align)`, is used by `alloc`, `dealloc`
//!   and `realloc`; Rust hands the layout back on free, so there is no address
//!   lookup. Everything else goes to the system allocator.
//! * **Pools** (`pool.rs`): 16 KiB, aligned to 16 KiB, one class each. A header,
//!   then blocks carved lazily (a page's worth at a time) into a LIFO free
//!   list. A block's pool is found by masking its address. The pool states and
//!   who may change them are one table there (`PoolState`).
//! * **Arenas** (`arena.rs`, `os.rs`): 1 MiB mappings aligned to 1 MiB, 63 pools
//!   each (pool 0 holds the arena header with free/zero bitmaps). pymalloc's
//!   policy: new pools come from the most-used arena with room (arenas are
//!   bucketed by free-pool count, so that choice is O(1)), completely free
//!   arenas are unmapped with one kept as a spare, `collect()` unmaps them all
//!   and purges free pools. Against thrashing, up to 8 free arenas beyond the
//!   spare stay mapped for 50 ms (checked at the next arena event); a ninth is
//!   unmapped at once. `os.rs` is the only platform-specific file.
//! * **Heaps** (`heap.rs`): one per thread. Each class has a current pool, a
//!   partial list and a full list. The fast path pops or pushes the current
//!   pool's free list with plain loads and stores, no lock and no atomic
//!   read-modify-write. A free from another thread is one CAS push onto the
//!   pool's `remote` list, which the owner takes in one step when its own
//!   list is empty; the list's length rides in the head word, so the owner does
//!   not walk blocks still hot in the freeing thread's cache. A heap keeps up to
//!   64 empty pools (1 MiB) for reuse; other emptied pools go back to their arenas.
//!   Each heap has a lock for its lists, taken by its owner's slow paths and by
//!   the other threads that give its pools back (next point).
//! * **Memory back without the owner**: a pool's last live block freed by
//!   another thread gives the pool back at once (to the owner's cache of empty
//!   pools, or its arena): an idle or exited owner keeps nothing. The head word
//!   of the remote list carries a flag saying the pool is in a list, so the
//!   freer decides from the word its CAS checks and cannot race the owner moving
//!   the pool. `collect()` from any thread gives back every heap's pools with no
//!   live block.
//! * **Core** (`core_alloc.rs`): the shared state (arenas behind a lock,
//!   abandoned pools, retired heaps, the list of every heap, large-allocation
//!   counters) and the slow paths that string the heaps' list transitions
//!   together with it. It is an ordinary value: tests, Miri and loom build their
//!   own.
//! * **Threads** (`thread.rs`): a `const` `thread_local!` heap pointer that
//!   starts at a sentinel heap (so the fast path has no init check; the core
//!   returns null for a sentinel and this layer makes the thread's heap), a
//!   `pthread_key` destructor (a thread-local guard elsewhere) that abandons the
//!   thread's live pools at exit, a locked heap for allocations during and after
//!   TLS teardown, and `pthread_atfork` handlers so a forked child can allocate.
//! * **Locks** (`lock.rs`): a spin-then-yield lock that never allocates (no
//!   parking table), used on slow paths only.
//! * **Stats** (`stats.rs`): `PoolAlloc::stats()` walks the arenas under the
//!   arena lock. Per-pool `used` counts are owner-written atomics, so the fast
//!   path pays nothing extra; blocks on a remote list count as free, and pools
//!   are read one by one while other threads run, so the snapshot is exact only
//!   when the process is quiescent.
//!
//! Nothing here panics on the allocation paths: when the OS refuses memory the
//! allocator returns null. `alloc_zeroed` skips the memset for blocks carved
//! from memory fresh from `mmap` (or purged).

#![cfg_attr(loom, allow(dead_code))]
// In system mode `PoolAlloc` forwards to the system allocator: the pools are built but unused.
#![cfg_attr(feature = "system", allow(dead_code))]

mod arena;
mod core_alloc;
#[cfg(all(feature = "debug", not(loom)))]
pub mod debug;
mod heap;
mod lock;
mod os;
mod pool;
mod size_class;
mod stats;
mod sync;
#[cfg(all(test, not(loom)))]
mod tests;
#[cfg(not(loom))]
mod thread;
#[cfg(not(loom))]
pub mod trace;
/// The tracer's counter slots alone, for the loom models (the rest of `trace` needs statics
/// and thread-locals that loom does not model).
#[cfg(loom)]
#[path = "trace/slot.rs"]
mod trace_slot;
mod tunables;

pub use stats::{ClassStats, Stats};

/// Internals exposed for the loom models and white-box tests; not a stable API.
#[doc(hidden)]
pub mod __internal {
    pub use crate::core_alloc::Core;
    pub use crate::heap::Heap;
    pub use crate::size_class::{NUM_CLASSES, SMALL_LIMIT, class_size, route};
    #[cfg(not(loom))]
    pub use crate::trace::slot::{BUCKETS, BucketTotals, Slot as TraceSlot};
    #[cfg(loom)]
    pub use crate::trace_slot::{BUCKETS, BucketTotals, Slot as TraceSlot};
}

use core::alloc::{GlobalAlloc, Layout};

/// The allocator. Install it with `#[global_allocator]`.
///
/// Every `PoolAlloc` value is a handle to the same process-wide allocator.
///
/// # Examples
///
/// ```
/// #[global_allocator]
/// static GLOBAL: pool_alloc::PoolAlloc = pool_alloc::PoolAlloc::new();
///
/// let v = vec![1u8; 100];
/// assert_eq!(v.len(), 100);
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct PoolAlloc {
    _private: (),
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PoolAlloc>();
    assert_send_sync::<Stats>();
};

impl PoolAlloc {
    /// Creates the allocator handle; usable in a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// static A: pool_alloc::PoolAlloc = pool_alloc::PoolAlloc::new();
    /// let _ = A.stats();
    /// ```
    pub const fn new() -> Self {
        Self { _private: () }
    }

    /// Returns free memory to the OS now, from any thread: the calling thread's
    /// empty pools go back to their arenas, every other heap's pools with no live
    /// block too (its current pools and the blocks on its own free lists wait for
    /// it), abandoned pools that became empty too; completely free arenas are
    /// unmapped (the spare included) and free pools of the others are purged.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::alloc::{GlobalAlloc, Layout};
    /// let a = pool_alloc::PoolAlloc::new();
    /// let l = Layout::new::<[u8; 32]>();
    /// unsafe {
    ///     let p = a.alloc(l);
    ///     assert!(!p.is_null());
    ///     a.dealloc(p, l);
    /// }
    /// a.collect();
    /// ```
    pub fn collect(&self) {
        #[cfg(not(loom))]
        thread::collect();
    }

    /// Returns a snapshot of the counters (see the crate docs for how exact it is).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = pool_alloc::PoolAlloc::new().stats();
    /// assert!(s.bytes_mapped >= s.small_bytes_in_use);
    /// println!("{s}");
    /// ```
    pub fn stats(&self) -> Stats {
        #[cfg(not(loom))]
        {
            thread::CORE.stats()
        }
        #[cfg(loom)]
        {
            Stats::default()
        }
    }
}

// SAFETY: small blocks are distinct pool blocks of at least the rounded size and
// aligned as `route` guarantees; large ones come from `System`. A block is freed
// through the same route that allocated it because `route` depends only on the
// layout, which the caller passes back unchanged.
#[cfg(all(not(loom), not(feature = "debug"), not(feature = "system")))]
unsafe impl GlobalAlloc for PoolAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the thread's heap is used by this thread alone.
        unsafe { thread::alloc(layout, false) }
    }
    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above; the caller passes a live block and its layout.
        unsafe { thread::CORE.dealloc(thread::heap(), ptr, layout) }
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        unsafe { thread::alloc(layout, true) }
    }
    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`.
        unsafe { thread::realloc(ptr, layout, new_size) }
    }
}

// SAFETY: as above; every block is allocated and freed with its padded layout (a function
// of the caller's layout alone), and the checks only read bytes inside the padded block.
#[cfg(all(not(loom), feature = "debug", not(feature = "system")))]
unsafe impl GlobalAlloc for PoolAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in the plain impl; the padded block has room for the guard.
        unsafe {
            let p = thread::alloc(debug::padded(layout), false);
            if !p.is_null() {
                debug::on_alloc(p, layout, false);
            }
            p
        }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as in the plain impl, after the checks.
        unsafe {
            debug::on_dealloc(&thread::CORE, ptr, layout);
            thread::CORE.dealloc(thread::heap(), ptr, debug::padded(layout))
        }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        unsafe {
            let p = thread::alloc(debug::padded(layout), true);
            if !p.is_null() {
                debug::on_alloc(p, layout, true);
            }
            p
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees a valid new layout; a new block, a copy, a checked
        // free.
        unsafe {
            let new = Layout::from_size_align_unchecked(new_size, layout.align());
            let q = self.alloc(new);
            if !q.is_null() {
                core::ptr::copy_nonoverlapping(ptr, q, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            q
        }
    }
}

// SAFETY: the system allocator's contract is the same.
#[cfg(all(not(loom), feature = "system"))]
unsafe impl GlobalAlloc for PoolAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract.
        unsafe { std::alloc::System.alloc(layout) }
    }
    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract.
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }
    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract.
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }
}

// SAFETY: under loom the global allocator is the system one (the models drive a `Core`).
#[cfg(loom)]
unsafe impl GlobalAlloc for PoolAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}
