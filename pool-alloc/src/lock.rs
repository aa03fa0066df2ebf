//! A lock that never allocates.
//!
//! Outside loom it is a test-and-test-and-set spin lock that yields to the
//! scheduler after a short spin: it is only taken on slow paths (a pool from an
//! arena, adoption of abandoned pools, heap creation, statistics), never on the
//! allocation fast path. It has no parking table and no heap state, so it can be
//! used from inside the global allocator, and it can be force-released in a
//! `fork` child. Under loom it wraps loom's `Mutex` so the models check it.

#[cfg(not(loom))]
use crate::sync::{AtomicBool, Ordering};
#[cfg(not(loom))]
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};

/// A mutual-exclusion lock around a `T`.
#[cfg(not(loom))]
pub(crate) struct Lock<T> {
    held: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `value` to one thread at a time.
#[cfg(not(loom))]
unsafe impl<T: Send> Sync for Lock<T> {}
// SAFETY: moving the lock moves the value.
#[cfg(not(loom))]
unsafe impl<T: Send> Send for Lock<T> {}

/// Exclusive access to a [`Lock`]'s value; released on drop.
pub(crate) struct LockGuard<'a, T> {
    #[cfg(not(loom))]
    lock: &'a Lock<T>,
    #[cfg(loom)]
    guard: crate::sync::MutexGuard<'a, T>,
}

#[cfg(not(loom))]
impl<T> Lock<T> {
    /// A new, released lock.
    pub(crate) const fn new(value: T) -> Self {
        Self {
            held: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Waits for the lock and returns the guard.
    #[inline]
    pub(crate) fn lock(&self) -> LockGuard<'_, T> {
        if self
            .held
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        LockGuard { lock: self }
    }

    #[cold]
    #[inline(never)]
    fn lock_contended(&self) {
        let mut spins = 0u32;
        loop {
            while self.held.load(Ordering::Relaxed) {
                if spins < 64 {
                    spins += 1;
                    core::hint::spin_loop();
                } else {
                    crate::sync::yield_now();
                }
            }
            if self
                .held
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }

    /// The value's address, without taking the lock (for fields that have their own).
    #[cfg_attr(not(unix), allow(dead_code))]
    pub(crate) fn value_ptr(&self) -> *mut T {
        self.value.get()
    }

    /// Takes the lock and keeps it held without a guard (fork `prepare`).
    #[cfg_attr(not(unix), allow(dead_code))]
    pub(crate) fn acquire_raw(&self) {
        core::mem::forget(self.lock());
    }

    /// Releases the lock without a guard.
    ///
    /// # Safety
    ///
    /// The caller holds the lock through [`Lock::acquire_raw`] (fork `parent`), or is
    /// the only thread of a forked child whose parent held it.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub(crate) unsafe fn release_raw(&self) {
        self.held.store(false, Ordering::Release);
    }
}

#[cfg(not(loom))]
impl<T> LockGuard<'_, T> {
    /// A raw pointer to the value, for code that must not hold a `&mut` to all of it
    /// (another thread may hold a `&` to a field that has its own lock).
    pub(crate) fn as_ptr(&self) -> *mut T {
        self.lock.value.get()
    }
}

#[cfg(not(loom))]
impl<T> Deref for LockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves the lock is held by this thread.
        unsafe { &*self.lock.value.get() }
    }
}

#[cfg(not(loom))]
impl<T> DerefMut for LockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves the lock is held by this thread.
        unsafe { &mut *self.lock.value.get() }
    }
}

#[cfg(not(loom))]
impl<T> Drop for LockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.held.store(false, Ordering::Release);
    }
}

/// A mutual-exclusion lock around a `T` (loom: model-checked mutex).
#[cfg(loom)]
pub(crate) struct Lock<T> {
    inner: crate::sync::Mutex<T>,
}

#[cfg(loom)]
impl<T> Lock<T> {
    /// A new, released lock.
    pub(crate) fn new(value: T) -> Self {
        Self {
            inner: crate::sync::Mutex::new(value),
        }
    }

    /// Waits for the lock and returns the guard.
    pub(crate) fn lock(&self) -> LockGuard<'_, T> {
        let guard = match self.inner.lock() {
            Ok(g) => g,
            Err(e) => e.into_inner(),
        };
        LockGuard { guard }
    }
}

#[cfg(loom)]
impl<T> Deref for LockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

#[cfg(loom)]
impl<T> DerefMut for LockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn lock_excludes() {
        let l = Lock::new(0u32);
        {
            let mut g = l.lock();
            *g += 1;
            assert!(l.held.load(Ordering::Relaxed));
        }
        assert!(!l.held.load(Ordering::Relaxed));
        l.acquire_raw();
        assert!(l.held.load(Ordering::Relaxed));
        // SAFETY: held by acquire_raw just above.
        unsafe { l.release_raw() };
        assert_eq!(*l.lock(), 1);
    }
}
