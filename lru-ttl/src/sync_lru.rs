//! `SyncLruCache`: the thread-safe LRU cache, `&self` everywhere, values returned by clone.

use crate::lru::LruCore;
use crate::raw::MAX_ENTRIES;
use crate::sharded::{Sharded, default_shards};
use crate::stats::CacheInfo;
use hashbrown::DefaultHashBuilder;
use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};

/// A thread-safe LRU cache: shards chosen by key hash, each an exact LRU under its own
/// lock. With one shard the whole cache is an exact LRU; with more, each shard evicts its
/// own least recently used entry (capacity is split evenly). Values are returned by
/// clone, so wrap large values in `Arc`.
///
/// Evicted and replaced entries are dropped after the shard lock is released.
/// [`get_or_insert_with`](Self::get_or_insert_with) computes a missing value once while
/// other callers for the same key wait, with no lock held while it runs.
///
/// ```
/// use lru_ttl::SyncLruCache;
/// use std::sync::Arc;
///
/// let cache = Arc::new(SyncLruCache::new(1000));
/// let handles: Vec<_> = (0..4u64)
///     .map(|t| {
///         let cache = Arc::clone(&cache);
///         std::thread::spawn(move || {
///             for i in 0..100 {
///                 cache.insert(t * 1000 + i, i);
///             }
///         })
///     })
///     .collect();
/// for h in handles {
///     h.join().unwrap();
/// }
/// assert_eq!(cache.len(), 400);
/// assert_eq!(cache.get(&3005), Some(5));
/// ```
///
/// It is `Sync` only when keys and values are `Send`:
///
/// ```compile_fail
/// fn shared<T: Sync>(_: &T) {}
/// let cache: lru_ttl::SyncLruCache<u8, std::rc::Rc<u8>> = lru_ttl::SyncLruCache::new(4);
/// shared(&cache);
/// ```
pub struct SyncLruCache<K, V, S = DefaultHashBuilder> {
    inner: Sharded<LruCore<K, V>, S>,
}

impl<K: Hash + Eq, V: Clone> SyncLruCache<K, V> {
    /// A cache of at most `capacity` entries with the default number of shards (four per
    /// CPU, but no more than one per 64 entries).
    ///
    /// ```
    /// let cache: lru_ttl::SyncLruCache<u64, u64> = lru_ttl::SyncLruCache::new(10_000);
    /// assert!(cache.shards() >= 1);
    /// ```
    pub fn new(capacity: usize) -> Self {
        Self::with_shards(capacity, default_shards(Some(capacity)))
    }

    /// A cache of at most `capacity` entries in `shards` shards (clamped to
    /// `1..=capacity`); `shards == 1` gives an exact global LRU.
    ///
    /// ```
    /// let cache = lru_ttl::SyncLruCache::with_shards(2, 1);
    /// cache.insert(1, 'a');
    /// cache.insert(2, 'b');
    /// cache.get(&1);
    /// cache.insert(3, 'c');         // exact LRU: 2 goes
    /// assert!(!cache.contains_key(&2));
    /// ```
    pub fn with_shards(capacity: usize, shards: usize) -> Self {
        Self::with_shards_and_hasher(Some(capacity), shards, DefaultHashBuilder::default())
    }

    /// An unbounded cache (`maxsize=None`) with the default number of shards.
    ///
    /// ```
    /// let cache = lru_ttl::SyncLruCache::unbounded();
    /// cache.insert(1, 1);
    /// assert_eq!(cache.capacity(), None);
    /// ```
    pub fn unbounded() -> Self {
        Self::with_shards_and_hasher(None, default_shards(None), DefaultHashBuilder::default())
    }
}

impl<K: Hash + Eq, V: Clone, S: BuildHasher> SyncLruCache<K, V, S> {
    /// A cache bounded by `capacity` (`None`: unbounded) in `shards` shards, hashing with
    /// `hasher`.
    ///
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let cache = lru_ttl::SyncLruCache::with_shards_and_hasher(Some(64), 4, RandomState::new());
    /// cache.insert("k", 1);
    /// assert_eq!(cache.get("k"), Some(1));
    /// ```
    pub fn with_shards_and_hasher(capacity: Option<usize>, shards: usize, hasher: S) -> Self {
        if let Some(c) = capacity {
            assert!(c <= MAX_ENTRIES, "lru-ttl: capacity over 2^32 - 2 entries");
        }
        Self {
            inner: Sharded::new(capacity, shards, hasher, LruCore::new),
        }
    }

    /// A clone of `key`'s value, made the most recent in its shard; counts a hit or miss.
    ///
    /// ```
    /// let cache = lru_ttl::SyncLruCache::new(8);
    /// cache.insert(1, "one");
    /// assert_eq!(cache.get(&1), Some("one"));
    /// ```
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.inner.get(key)
    }

    /// A clone of `key`'s value without promoting it or counting.
    ///
    /// ```
    /// let cache = lru_ttl::SyncLruCache::new(8);
    /// cache.insert(1, "one");
    /// assert_eq!(cache.peek(&1), Some("one"));
    /// assert_eq!(cache.cache_info().hits, 0);
    /// ```
    pub fn peek<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.inner.peek(key)
    }

    /// Whether `key` is stored.
    ///
    /// ```
    /// let cache = lru_ttl::SyncLruCache::new(8);
    /// cache.insert(1, ());
    /// assert!(cache.contains_key(&1));
    /// ```
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.inner.contains_key(key)
    }

    /// Stores `value` under `key`; returns the value it replaced. An entry evicted to make
    /// room is dropped after the shard lock is released.
    ///
    /// ```
    /// let cache = lru_ttl::SyncLruCache::new(8);
    /// assert_eq!(cache.insert(1, "a"), None);
    /// assert_eq!(cache.insert(1, "b"), Some("a"));
    /// ```
    pub fn insert(&self, key: K, value: V) -> Option<V> {
        self.inner.insert(key, value, None)
    }

    /// Removes `key`'s entry and returns its value.
    ///
    /// ```
    /// let cache = lru_ttl::SyncLruCache::new(8);
    /// cache.insert(1, "a");
    /// assert_eq!(cache.remove(&1), Some("a"));
    /// ```
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.inner.remove(key)
    }

    /// A clone of `key`'s value, computing it with `f` on a miss. Concurrent callers for
    /// the same missing key wait for one computation (each counts a miss) instead of
    /// repeating it; `f` runs with no lock held, so it may use this cache (with other
    /// keys). If `f` panics, the panic propagates to this caller, and the waiters wake and
    /// start over (one of them computes).
    ///
    /// ```
    /// let cache = lru_ttl::SyncLruCache::new(8);
    /// assert_eq!(cache.get_or_insert_with(2, || 4), 4);
    /// assert_eq!(cache.get_or_insert_with(2, || unreachable!()), 4);
    /// ```
    pub fn get_or_insert_with<F: FnOnce() -> V>(&self, key: K, f: F) -> V {
        self.inner.get_or_insert_with(key, f)
    }

    /// Entries stored (summed over shards; exact only when no one is writing).
    ///
    /// ```
    /// let cache = lru_ttl::SyncLruCache::new(8);
    /// cache.insert(1, 1);
    /// assert_eq!(cache.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether nothing is stored.
    ///
    /// ```
    /// let cache: lru_ttl::SyncLruCache<u8, u8> = lru_ttl::SyncLruCache::new(8);
    /// assert!(cache.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every entry and resets the statistics (`cache_clear()`).
    ///
    /// ```
    /// let cache = lru_ttl::SyncLruCache::new(8);
    /// cache.insert(1, 1);
    /// cache.clear();
    /// assert!(cache.is_empty());
    /// ```
    pub fn clear(&self) {
        self.inner.clear();
    }

    /// Hits, misses, bound and size, summed over the shards (`cache_info()`).
    ///
    /// ```
    /// let cache = lru_ttl::SyncLruCache::new(8);
    /// cache.get_or_insert_with(1, || 1);
    /// cache.get(&1);
    /// let info = cache.cache_info();
    /// assert_eq!((info.hits, info.misses, info.currsize), (1, 1, 1));
    /// ```
    pub fn cache_info(&self) -> CacheInfo {
        self.inner.cache_info()
    }

    /// Bytes of heap memory the cache holds (shards, slabs and tables).
    ///
    /// ```
    /// let cache = lru_ttl::SyncLruCache::new(64);
    /// cache.insert(1u64, 1u64);
    /// assert!(cache.heap_size() > 0);
    /// ```
    pub fn heap_size(&self) -> usize {
        self.inner.heap_bytes()
    }
}

impl<K, V, S> SyncLruCache<K, V, S> {
    /// The bound on the number of entries; `None` when unbounded.
    ///
    /// ```
    /// let cache: lru_ttl::SyncLruCache<u8, u8> = lru_ttl::SyncLruCache::new(8);
    /// assert_eq!(cache.capacity(), Some(8));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.inner.capacity()
    }

    /// The number of shards.
    ///
    /// ```
    /// let cache: lru_ttl::SyncLruCache<u8, u8> = lru_ttl::SyncLruCache::with_shards(100, 4);
    /// assert_eq!(cache.shards(), 4);
    /// ```
    pub fn shards(&self) -> usize {
        self.inner.shard_count()
    }
}

impl<K, V, S> fmt::Debug for SyncLruCache<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncLruCache")
            .field("inner", &self.inner)
            .finish()
    }
}
