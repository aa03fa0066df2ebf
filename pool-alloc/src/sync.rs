//! Synchronisation primitives for this crate.
//!
//! Every other module imports atomics, locks and cells from here, never from
//! `std::sync` or `parking_lot` directly. Under `cfg(loom)` these names map to
//! loom's model-checked types, so the loom tests exercise the same code that
//! ships; otherwise they are the real primitives.

#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::{
    Arc, Mutex, MutexGuard,
    atomic::{
        AtomicBool, AtomicI64, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering,
    },
};

#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::{
    Arc,
    atomic::{
        AtomicBool, AtomicI64, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering,
    },
};

/// Yields the processor to another thread (loom: lets the model schedule another thread).
#[inline]
pub(crate) fn yield_now() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::thread::yield_now();
}
