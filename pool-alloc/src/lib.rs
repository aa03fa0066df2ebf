//! # pool-alloc
//!
//! A pymalloc-style small-object allocator (size classes, pools, arenas) usable as
//! a `#[global_allocator]`. (Skeleton: forwards to `System` for now.)

mod stats;
mod sync;

pub use stats::{ClassStats, Stats};

use core::alloc::{GlobalAlloc, Layout};
use std::alloc::System;

/// The allocator. Install it with `#[global_allocator]`.
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
#[derive(Debug, Default)]
pub struct PoolAlloc {
    _private: (),
}

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

    /// Returns all free memory to the OS now.
    ///
    /// # Examples
    ///
    /// ```
    /// pool_alloc::PoolAlloc::new().collect();
    /// ```
    pub fn collect(&self) {}

    /// Returns a snapshot of the counters.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = pool_alloc::PoolAlloc::new().stats();
    /// assert!(s.bytes_mapped >= s.small_bytes_in_use);
    /// ```
    pub fn stats(&self) -> Stats {
        Stats::default()
    }
}

// SAFETY: forwards to `System`, which upholds the `GlobalAlloc` contract.
unsafe impl GlobalAlloc for PoolAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
