//! Synchronisation primitives for this crate: the only module that imports from `std::sync`,
//! `parking_lot` or `loom`.
//!
//! Every other module takes `Arc`, `Weak`, `Mutex`, `Condvar` and atomics from here. In a normal
//! build they are `std::sync::{Arc, Weak}` and `parking_lot`'s lock (no poisoning, so a panic in
//! user code while a shard is locked leaves the shard usable). Under `cfg(loom)` the locks are
//! loom's model-checked ones, and because loom has no `Weak`, `Arc`/`Weak` become
//! [`loom_arc`]: a small strong/weak counted cell built on loom's atomics, with the subset of the
//! std API this crate uses. Its `upgrade` is the same compare-and-swap loop on the strong count
//! that std's `Weak::upgrade` performs, so the race "a lookup upgrades while another thread drops
//! the last strong reference" is explored by loom on the very code paths that ship.

#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::atomic;

#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::atomic;

#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Weak};

#[cfg(loom)]
pub use loom_arc::{Arc, Weak};

/// A mutual-exclusion lock without poisoning: `lock` always returns the guard.
#[cfg(not(loom))]
pub(crate) type Mutex<T> = parking_lot::Mutex<T>;

/// The guard of [`Mutex`].
#[cfg(not(loom))]
pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

/// A condition variable with the by-value `wait` signature of `std`, over [`Mutex`].
#[cfg(not(loom))]
#[derive(Debug, Default)]
pub(crate) struct Condvar(parking_lot::Condvar);

#[cfg(not(loom))]
impl Condvar {
    pub(crate) fn new() -> Self {
        Self(parking_lot::Condvar::new())
    }

    pub(crate) fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.0.wait(&mut guard);
        guard
    }

    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }
}

/// Loom's mutex with poisoning ignored, to match `parking_lot`'s API.
#[cfg(loom)]
#[derive(Debug)]
pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

#[cfg(loom)]
pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

#[cfg(loom)]
impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(loom::sync::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(loom)]
#[derive(Debug)]
pub(crate) struct Condvar(loom::sync::Condvar);

#[cfg(loom)]
impl Condvar {
    pub(crate) fn new() -> Self {
        Self(loom::sync::Condvar::new())
    }

    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.0
            .wait(guard)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }
}

/// The loom stand-in for `std::sync::{Arc, Weak}` (compiled only under `cfg(loom)`).
///
/// One allocation (a loom `Arc`) holds a strong count, a `dead` flag and the value. `Arc` clones
/// increment the strong count; dropping the last `Arc` sets `dead`. `Weak::upgrade` is std's
/// loop: load the strong count, give up at zero, else compare-and-swap it one higher. `Deref`
/// asserts the value is not dead, so a model in which the cache hands out a dead value panics.
/// The value itself is dropped when the last `Arc` *or* `Weak` goes (std drops it with the last
/// `Arc`); the models only observe liveness through the strong count and `dead`.
///
/// Every access is `SeqCst`, stronger than std's `Relaxed` clone / `Release` drop / `Acquire`
/// upgrade. With std's orderings loom 0.7 produced impossible executions (a load of a strong
/// count that was never 0 returning 0, then its internal `mo_i != mo_j` assertion failing; see
/// tokio-rs/loom#252). The cache never relies on the counter's orderings: each of its
/// decisions (upgrade, "is dead", remove) is taken under the shard lock, which orders it.
#[cfg(loom)]
pub mod loom_arc {
    use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::fmt;
    use std::ops::Deref;

    struct Inner<T: ?Sized> {
        strong: AtomicUsize,
        dead: AtomicBool,
        value: T,
    }

    /// Strong reference of the loom stand-in.
    pub struct Arc<T: ?Sized> {
        inner: loom::sync::Arc<Inner<T>>,
    }

    /// Weak reference of the loom stand-in.
    pub struct Weak<T: ?Sized> {
        inner: loom::sync::Arc<Inner<T>>,
    }

    impl<T> Arc<T> {
        /// A new value with one strong reference.
        pub fn new(value: T) -> Self {
            Self {
                inner: loom::sync::Arc::new(Inner {
                    strong: AtomicUsize::new(1),
                    dead: AtomicBool::new(false),
                    value,
                }),
            }
        }
    }

    impl<T: ?Sized> Arc<T> {
        /// A weak reference to the same value.
        pub fn downgrade(this: &Self) -> Weak<T> {
            Weak {
                inner: this.inner.clone(),
            }
        }

        /// Whether two strong references point to the same value.
        pub fn ptr_eq(this: &Self, other: &Self) -> bool {
            loom::sync::Arc::ptr_eq(&this.inner, &other.inner)
        }

        /// Number of strong references.
        pub fn strong_count(this: &Self) -> usize {
            this.inner.strong.load(Ordering::SeqCst)
        }
    }

    impl<T: ?Sized> Clone for Arc<T> {
        fn clone(&self) -> Self {
            self.inner.strong.fetch_add(1, Ordering::SeqCst);
            Self {
                inner: self.inner.clone(),
            }
        }
    }

    impl<T: ?Sized> Drop for Arc<T> {
        fn drop(&mut self) {
            if self.inner.strong.fetch_sub(1, Ordering::SeqCst) == 1 {
                self.inner.dead.store(true, Ordering::SeqCst);
            }
        }
    }

    impl<T: ?Sized> Deref for Arc<T> {
        type Target = T;
        fn deref(&self) -> &T {
            assert!(
                !self.inner.dead.load(Ordering::SeqCst),
                "a dead value was handed out"
            );
            &self.inner.value
        }
    }

    impl<T: ?Sized + fmt::Debug> fmt::Debug for Arc<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            fmt::Debug::fmt(&**self, f)
        }
    }

    impl<T: ?Sized> Weak<T> {
        /// A strong reference if the value is still alive.
        pub fn upgrade(&self) -> Option<Arc<T>> {
            let mut n = self.inner.strong.load(Ordering::SeqCst);
            loop {
                if n == 0 {
                    return None;
                }
                match self.inner.strong.compare_exchange_weak(
                    n,
                    n + 1,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                ) {
                    Ok(_) => {
                        return Some(Arc {
                            inner: self.inner.clone(),
                        });
                    }
                    Err(seen) => n = seen,
                }
            }
        }

        /// Number of strong references (0 once the value is dead).
        pub fn strong_count(&self) -> usize {
            self.inner.strong.load(Ordering::SeqCst)
        }

        /// Whether two weak references point to the same value.
        pub fn ptr_eq(&self, other: &Self) -> bool {
            loom::sync::Arc::ptr_eq(&self.inner, &other.inner)
        }
    }

    impl<T: ?Sized> Clone for Weak<T> {
        fn clone(&self) -> Self {
            Self {
                inner: self.inner.clone(),
            }
        }
    }

    impl<T: ?Sized> fmt::Debug for Weak<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("(Weak)")
        }
    }
}
