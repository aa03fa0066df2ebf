//! Synchronisation primitives for this crate.
//!
//! Every other module imports atomics, locks and cells from here, never from
//! `std::sync` or `parking_lot` directly. Under `cfg(loom)` these names map to
//! loom's model-checked types, so the loom tests exercise the same code that
//! ships; otherwise they are the real primitives (`parking_lot`'s `Mutex` and
//! `Condvar`, which do not poison and are a single word each).
//!
//! [`Mutex`] and [`Condvar`] are thin wrappers giving both back ends one API:
//! `lock()` returns the guard directly (a poisoned loom mutex is entered anyway:
//! every structure this crate guards is consistent at each point where user code
//! can panic), and `wait` takes and returns the guard.

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};

#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU64, Ordering};

/// Used only by the expansion of the `lru_cache!` macro (never under loom's
/// scheduler), to build a memoizer on first call.
pub use std::sync::LazyLock;

/// A mutual-exclusion lock whose `lock` returns the guard directly.
pub(crate) struct Mutex<T>(
    #[cfg(not(loom))] parking_lot::Mutex<T>,
    #[cfg(loom)] loom::sync::Mutex<T>,
);

/// The guard of a locked [`Mutex`].
#[cfg(not(loom))]
pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;
/// The guard of a locked [`Mutex`].
#[cfg(loom)]
pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`.
    pub(crate) fn new(value: T) -> Self {
        #[cfg(not(loom))]
        return Self(parking_lot::Mutex::new(value));
        #[cfg(loom)]
        return Self(loom::sync::Mutex::new(value));
    }

    /// Blocks until the lock is held.
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        #[cfg(not(loom))]
        return self.0.lock();
        #[cfg(loom)]
        return self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
    }
}

/// A condition variable paired with a [`Mutex`].
pub(crate) struct Condvar(
    #[cfg(not(loom))] parking_lot::Condvar,
    #[cfg(loom)] loom::sync::Condvar,
);

impl Condvar {
    /// A new condition variable.
    pub(crate) fn new() -> Self {
        #[cfg(not(loom))]
        return Self(parking_lot::Condvar::new());
        #[cfg(loom)]
        return Self(loom::sync::Condvar::new());
    }

    /// Releases `guard`, sleeps until notified (or spuriously), relocks.
    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        #[cfg(not(loom))]
        {
            let mut guard = guard;
            self.0.wait(&mut guard);
            guard
        }
        #[cfg(loom)]
        return self
            .0
            .wait(guard)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
    }

    /// Wakes every waiter.
    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }
}
