//! `WeakSet`: a set of objects held weakly (Python's `weakref.WeakSet`), a `WeakKeyCache` with
//! unit values.

use crate::key_cache::WeakKeyCache;
use crate::shard;
use crate::sync::Arc;
use hashbrown::DefaultHashBuilder;
use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};

/// A thread-safe set of `Arc<T>` objects held weakly, like Python's `weakref.WeakSet`: an
/// object leaves the set when it dies. Equal objects are one element (the first one stored).
///
/// [`len`](Self::len) counts stored elements, dead ones not yet purged included;
/// [`live_len`](Self::live_len) is exact. Same purge policy and memory bound as
/// [`WeakValueCache`](crate::WeakValueCache). `Send` and `Sync` when `T: Send + Sync`.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use weakref_cache::WeakSet;
///
/// let observers: WeakSet<String> = WeakSet::new();
/// let alice = Arc::new("alice".to_owned());
/// assert!(observers.insert(&alice));
/// assert!(observers.contains("alice"));
/// drop(alice);
/// assert!(!observers.contains("alice"));
/// ```
pub struct WeakSet<T: ?Sized, S = DefaultHashBuilder> {
    inner: WeakKeyCache<T, (), S>,
}

impl<T: ?Sized> WeakSet<T> {
    /// An empty set with the default hasher and shard count.
    ///
    /// ```
    /// let set: weakref_cache::WeakSet<str> = weakref_cache::WeakSet::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::with_shards_and_hasher(shard::default_shards(), DefaultHashBuilder::default())
    }
}

impl<T: ?Sized> WeakSet<T> {
    /// An empty set with `shards` shards (rounded up to a power of two, at least one).
    ///
    /// ```
    /// let set: weakref_cache::WeakSet<u8> = weakref_cache::WeakSet::with_shards(2);
    /// assert!(set.is_empty());
    /// ```
    pub fn with_shards(shards: usize) -> Self {
        Self::with_shards_and_hasher(shards, DefaultHashBuilder::default())
    }
}

impl<T: ?Sized> Default for WeakSet<T> {
    /// Same as [`WeakSet::new`].
    fn default() -> Self {
        Self::new()
    }
}

impl<T: ?Sized, S> WeakSet<T, S> {
    /// An empty set with `shards` shards (rounded up to a power of two) using `hasher`.
    ///
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let set: weakref_cache::WeakSet<u8, RandomState> =
    ///     weakref_cache::WeakSet::with_shards_and_hasher(2, RandomState::new());
    /// assert!(set.is_empty());
    /// ```
    pub fn with_shards_and_hasher(shards: usize, hasher: S) -> Self {
        Self {
            inner: WeakKeyCache::with_shards_and_hasher(shards, hasher),
        }
    }

    /// Stored elements, live or dead-but-not-purged; an upper bound on
    /// [`live_len`](Self::live_len).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let set = weakref_cache::WeakSet::new();
    /// set.insert(&Arc::new(1));
    /// assert_eq!((set.len(), set.live_len()), (1, 0));
    /// ```
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether no element is stored.
    ///
    /// ```
    /// let set: weakref_cache::WeakSet<u8> = weakref_cache::WeakSet::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The exact number of live elements, counted shard by shard.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let set = weakref_cache::WeakSet::new();
    /// let x = Arc::new(1);
    /// set.insert(&x);
    /// assert_eq!(set.live_len(), 1);
    /// ```
    pub fn live_len(&self) -> usize {
        self.inner.live_len()
    }

    /// Removes every dead element now; returns how many.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let set = weakref_cache::WeakSet::new();
    /// set.insert(&Arc::new(1));
    /// assert_eq!(set.purge(), 1);
    /// ```
    pub fn purge(&self) -> usize {
        self.inner.purge()
    }

    /// Keeps only the live elements for which `f` returns `true` (`f` runs with the shard
    /// locked and must not use this set).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let set = weakref_cache::WeakSet::new();
    /// let xs: Vec<Arc<i32>> = (0..6).map(Arc::new).collect();
    /// xs.iter().for_each(|x| { set.insert(x); });
    /// set.retain(|x| *x > 2);
    /// assert_eq!(set.live_len(), 3);
    /// ```
    pub fn retain(&self, mut f: impl FnMut(&T) -> bool) {
        self.inner.retain(|k, _| f(k));
    }

    /// A snapshot of the live elements.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let set = weakref_cache::WeakSet::new();
    /// let x = Arc::new('x');
    /// set.insert(&x);
    /// assert!(Arc::ptr_eq(&set.snapshot()[0], &x));
    /// ```
    pub fn snapshot(&self) -> Vec<Arc<T>> {
        self.inner.snapshot().into_iter().map(|(k, ())| k).collect()
    }
}

impl<T: ?Sized + Hash + Eq, S: BuildHasher> WeakSet<T, S> {
    /// Adds `value` (held weakly). Returns `true` if no equal live element was present.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let set = weakref_cache::WeakSet::new();
    /// let (a, b) = (Arc::new(1), Arc::new(1));
    /// assert!(set.insert(&a));
    /// assert!(!set.insert(&b)); // equal to a, which stays the stored element
    /// ```
    pub fn insert(&self, value: &Arc<T>) -> bool {
        self.inner
            .get_or_insert_key(value, || value.clone(), || ())
            .1
    }

    /// Whether a live element equal to `value` is present.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let set = weakref_cache::WeakSet::new();
    /// let a = Arc::new(1);
    /// set.insert(&a);
    /// assert!(set.contains(&1));
    /// ```
    pub fn contains<Q>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.inner.contains_key(value)
    }

    /// The live element equal to `value`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let set = weakref_cache::WeakSet::new();
    /// let a = Arc::new(1);
    /// set.insert(&a);
    /// assert!(Arc::ptr_eq(&set.get(&1).unwrap(), &a));
    /// ```
    pub fn get<Q>(&self, value: &Q) -> Option<Arc<T>>
    where
        T: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.inner.get_key(value)
    }

    /// Removes the live element equal to `value`; returns whether there was one.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let set = weakref_cache::WeakSet::new();
    /// let a = Arc::new(1);
    /// set.insert(&a);
    /// assert!(set.remove(&1));
    /// assert!(!set.contains(&1));
    /// ```
    pub fn remove<Q>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.inner.remove(value).is_some()
    }

    /// The live element equal to `value`, or else the `Arc` that `make` returns, stored and
    /// returned. `make` runs with the shard locked (it must not use this set); it should
    /// return an `Arc` equal to `value`.
    ///
    /// # Panics
    ///
    /// If `make` panics (nothing is stored).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let set: weakref_cache::WeakSet<str> = weakref_cache::WeakSet::new();
    /// let a = set.get_or_insert_with("tag", || Arc::from("tag"));
    /// let b = set.get_or_insert_with("tag", || unreachable!("a is alive"));
    /// assert!(Arc::ptr_eq(&a, &b));
    /// ```
    pub fn get_or_insert_with(&self, value: &T, make: impl FnOnce() -> Arc<T>) -> Arc<T> {
        self.inner.get_or_insert_key(value, make, || ()).0
    }

    /// Like [`get_or_insert_with`](Self::get_or_insert_with), with a `make` that can fail:
    /// an `Err` is returned and nothing is stored.
    ///
    /// # Panics
    ///
    /// If `make` panics (nothing is stored).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let set: weakref_cache::WeakSet<str> = weakref_cache::WeakSet::new();
    /// let r = set.try_get_or_insert_with("t", || Err::<Arc<str>, _>("no"));
    /// assert!(r.is_err() && set.is_empty());
    /// ```
    pub fn try_get_or_insert_with<E>(
        &self,
        value: &T,
        make: impl FnOnce() -> Result<Arc<T>, E>,
    ) -> Result<Arc<T>, E> {
        if let Some(found) = self.inner.get_key(value) {
            return Ok(found);
        }
        let made = make()?;
        // Another thread may have stored an equal element meanwhile: the first one wins.
        Ok(self.get_or_insert_with(value, || made))
    }
}

impl<T: ?Sized, S> fmt::Debug for WeakSet<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSet")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}
