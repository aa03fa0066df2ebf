//! `Interner`: equal values share one `Arc`, freed when nobody uses it (a `WeakSet` whose
//! look-up creates the missing element).

use crate::shard;
use crate::sync::Arc;
use crate::weak_set::WeakSet;
use hashbrown::DefaultHashBuilder;
use std::fmt;
use std::hash::{BuildHasher, Hash};

/// Interns values: [`intern`](Self::intern) returns the one live `Arc` equal to its argument,
/// creating it on first use, so many equal strings share one allocation. The interner holds
/// its values weakly: a value is freed when the last `Arc` handed out is dropped, and its entry
/// is purged later (see [`WeakValueCache`](crate::WeakValueCache) for the policy).
///
/// The conversion that makes a missing `Arc<T>` (e.g. `Arc<str>::from(&str)`) runs with the
/// shard locked; for the std types it only allocates and copies.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use weakref_cache::Interner;
///
/// let names: Interner<str> = Interner::new();
/// let a = names.intern("spam");
/// let b = names.intern(&String::from("spam"));
/// assert!(Arc::ptr_eq(&a, &b));
/// drop((a, b));
/// assert_eq!(names.live_len(), 0); // freed: nobody used it any more
/// ```
pub struct Interner<T: ?Sized, S = DefaultHashBuilder> {
    set: WeakSet<T, S>,
}

impl<T: ?Sized> Interner<T> {
    /// An empty interner with the default hasher and shard count.
    ///
    /// ```
    /// let interner: weakref_cache::Interner<[u8]> = weakref_cache::Interner::new();
    /// assert_eq!(interner.len(), 0);
    /// ```
    pub fn new() -> Self {
        Self::with_shards_and_hasher(shard::default_shards(), DefaultHashBuilder::default())
    }
}

impl<T: ?Sized> Interner<T> {
    /// An empty interner with `shards` shards (rounded up to a power of two, at least one).
    ///
    /// ```
    /// let interner: weakref_cache::Interner<str> = weakref_cache::Interner::with_shards(4);
    /// assert!(interner.is_empty());
    /// ```
    pub fn with_shards(shards: usize) -> Self {
        Self::with_shards_and_hasher(shards, DefaultHashBuilder::default())
    }
}

impl<T: ?Sized> Default for Interner<T> {
    /// Same as [`Interner::new`].
    fn default() -> Self {
        Self::new()
    }
}

impl<T: ?Sized, S> Interner<T, S> {
    /// An empty interner with `shards` shards (rounded up to a power of two) using `hasher`.
    ///
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let interner: weakref_cache::Interner<str, RandomState> =
    ///     weakref_cache::Interner::with_shards_and_hasher(8, RandomState::new());
    /// assert_eq!(interner.len(), 0);
    /// ```
    pub fn with_shards_and_hasher(shards: usize, hasher: S) -> Self {
        Self {
            set: WeakSet::with_shards_and_hasher(shards, hasher),
        }
    }

    /// Stored values, dead ones not yet purged included.
    ///
    /// ```
    /// let interner: weakref_cache::Interner<str> = weakref_cache::Interner::new();
    /// let _keep = interner.intern("x");
    /// assert_eq!(interner.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether no value is stored.
    ///
    /// ```
    /// let interner: weakref_cache::Interner<str> = weakref_cache::Interner::new();
    /// assert!(interner.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// The exact number of live interned values.
    ///
    /// ```
    /// let interner: weakref_cache::Interner<str> = weakref_cache::Interner::new();
    /// let a = interner.intern("a");
    /// assert_eq!(interner.live_len(), 1);
    /// drop(a);
    /// assert_eq!(interner.live_len(), 0);
    /// ```
    pub fn live_len(&self) -> usize {
        self.set.live_len()
    }

    /// Removes the entries of values that were freed; returns how many.
    ///
    /// ```
    /// let interner: weakref_cache::Interner<str> = weakref_cache::Interner::new();
    /// drop(interner.intern("a"));
    /// assert_eq!(interner.purge(), 1);
    /// ```
    pub fn purge(&self) -> usize {
        self.set.purge()
    }
}

impl<T: ?Sized + Hash + Eq, S: BuildHasher> Interner<T, S> {
    /// The shared `Arc` equal to `value`, made from `value` if no live one exists.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let interner: weakref_cache::Interner<[u8]> = weakref_cache::Interner::new();
    /// let a = interner.intern(&b"bytes"[..]);
    /// assert!(Arc::ptr_eq(&a, &interner.intern(b"bytes")));
    /// ```
    pub fn intern(&self, value: &T) -> Arc<T>
    where
        for<'a> Arc<T>: From<&'a T>,
    {
        self.set.get_or_insert_with(value, || Arc::from(value))
    }

    /// The shared `Arc` equal to `value`, made by moving `value` in if no live one exists.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let interner: weakref_cache::Interner<String> = weakref_cache::Interner::new();
    /// let a = interner.intern_owned(String::from("s"));
    /// let b = interner.intern_owned(String::from("s"));
    /// assert!(Arc::ptr_eq(&a, &b));
    /// ```
    pub fn intern_owned(&self, value: T) -> Arc<T>
    where
        T: Sized,
    {
        if let Some(shared) = self.set.get(&value) {
            return shared;
        }
        let made = Arc::new(value);
        // Another thread may have interned an equal value meanwhile: the first one wins.
        self.set.get_or_insert_with(&made, || made.clone())
    }

    /// The shared `Arc` equal to `value`, an owned form of `T` (a `String` for `str`, a
    /// `Vec<u8>` for `[u8]`, a `T` itself): looked up by reference first, so a hit allocates
    /// nothing, and on a miss made with `Arc::from(value)`, which reuses what it can (for a
    /// `String`, its bytes are copied once into the `Arc`, and no intermediate `&str` copy is
    /// made).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let interner: weakref_cache::Interner<str> = weakref_cache::Interner::new();
    /// let a = interner.intern_from(String::from("tag"));
    /// let b = interner.intern_from(format!("t{}", "ag"));
    /// assert!(Arc::ptr_eq(&a, &b));
    /// ```
    pub fn intern_from<B>(&self, value: B) -> Arc<T>
    where
        B: std::borrow::Borrow<T>,
        Arc<T>: From<B>,
    {
        if let Some(shared) = self.set.get(value.borrow()) {
            return shared;
        }
        let made: Arc<T> = Arc::from(value);
        // Another thread may have interned an equal value meanwhile: the first one wins.
        self.set.get_or_insert_with(&made, || made.clone())
    }

    /// The live interned value equal to `value`, without interning it.
    ///
    /// ```
    /// let interner: weakref_cache::Interner<str> = weakref_cache::Interner::new();
    /// assert!(interner.get("a").is_none());
    /// let a = interner.intern("a");
    /// assert!(interner.get("a").is_some());
    /// ```
    pub fn get(&self, value: &T) -> Option<Arc<T>> {
        self.set.get(value)
    }
}

impl<T: ?Sized, S> fmt::Debug for Interner<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interner")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}
