//! Synchronisation primitives for this crate.
//!
//! Every other module imports atomics, locks, cells and thread-locals from here, never from
//! `std::sync` or `loom` directly. Under `cfg(loom)` these names map to loom's model-checked
//! types, so the loom tests exercise the same code that ships; otherwise they are the real
//! primitives. The wrappers give both worlds one API: [`Mutex::lock`] returns the guard
//! directly (no lock in this crate is ever held while user code runs, so poisoning cannot
//! happen and is ignored), and [`UnsafeCell`] has loom's `with` / `with_mut` shape.

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::{lazy_static, thread_local};

#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};

#[cfg(not(loom))]
type Inner<T> = std::sync::Mutex<T>;
#[cfg(loom)]
type Inner<T> = loom::sync::Mutex<T>;

#[cfg(not(loom))]
type InnerGuard<'a, T> = std::sync::MutexGuard<'a, T>;
#[cfg(loom)]
type InnerGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

/// A mutual-exclusion lock whose `lock` returns the guard directly.
#[derive(Debug)]
pub(crate) struct Mutex<T>(Inner<T>);

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`.
    #[cfg(not(loom))]
    pub(crate) const fn new(value: T) -> Self {
        Self(Inner::new(value))
    }

    /// A new unlocked mutex holding `value`.
    #[cfg(loom)]
    pub(crate) fn new(value: T) -> Self {
        Self(Inner::new(value))
    }

    /// Locks, waiting as long as needed. A poisoned lock is taken anyway: this crate never
    /// runs user code under a lock, so the data behind it is always consistent.
    pub(crate) fn lock(&self) -> InnerGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// An `UnsafeCell` with loom's closure-based API.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    /// A new cell holding `value`.
    pub(crate) const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    /// Calls `f` with a mutable raw pointer to the contents.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
