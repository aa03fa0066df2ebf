//! # pool-alloc
//!
//! A global allocator for Rust programs that make many small allocations: CPython's pymalloc
//! design (size classes, pools, arenas) made thread-safe, that gives free memory back to the
//! OS, prints statistics as `sys._debugmallocstats()` does, and comes with a tracemalloc
//! ([`trace`]) that works around any allocator.
//!
//! ```toml
//! [dependencies]
//! pool-alloc = "0.1"
//! ```
//!
//! ```
//! #[global_allocator]
//! static GLOBAL: pool_alloc::PoolAlloc = pool_alloc::PoolAlloc::new();
//!
//! let v: Vec<u32> = (0..1000).collect();
//! drop(v);
//! GLOBAL.collect(); // give free memory back to the OS now (it also goes back by itself)
//! println!("{}", GLOBAL.stats()); // size classes, pools and arenas in use
//! ```
//!
//! Requests up to [`tunables::SMALL_LIMIT`] bytes (alignment up to [`tunables::MAX_ALIGN`]) are
//! served from pools; larger ones go to the system allocator. The allocator never panics:
//! when the OS refuses memory it returns null.
//!
//! Cargo features:
//! - `call-sites`: [`trace`] also samples allocation stacks, so that snapshots say which lines
//!   hold the memory (adds the `backtrace` crate).
//! - `debug`: guard bytes, fill patterns and checked frees; a violation is reported on stderr
//!   and aborts, in the spirit of CPython's `PYTHONMALLOC=debug`. For finding a bug.
//! - `system`: `PoolAlloc` forwards everything to the system allocator, so that valgrind or
//!   AddressSanitizer check a program without a change to its code.
//!
//! How it works, file by file, is on its own page: [`design`].

#![cfg_attr(loom, allow(dead_code))]
// In system mode `PoolAlloc` forwards to the system allocator: the pools are built but unused.
#![cfg_attr(feature = "system", allow(dead_code))]

mod arena;
mod core_alloc;
#[cfg(all(feature = "debug", not(loom)))]
pub mod debug;
pub mod design;
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
pub mod tunables;

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
