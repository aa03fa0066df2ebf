//! `SyncTtlCache`: the thread-safe TTL cache, `&self` everywhere, values returned by clone.

use crate::clock::{Clock, InstantClock};
use crate::sharded::{Sharded, default_shards};
use crate::stats::CacheInfo;
use crate::ttl::TtlCore;
use hashbrown::DefaultHashBuilder;
use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::time::Duration;

/// A thread-safe [`TtlCache`](crate::TtlCache): entries expire `ttl` after they were set,
/// optionally bounded with per-shard LRU eviction (one shard: exact LRU). Sharded by key
/// hash; values are returned by clone; evicted and expired entries are dropped after the
/// shard lock is released; `get_or_insert_with` has the same stampede protection as
/// [`SyncLruCache`](crate::SyncLruCache).
///
/// ```
/// use lru_ttl::{ManualClock, SyncTtlCache};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let cache = SyncTtlCache::with_clock(Some(100), Duration::from_secs(10), 4, clock.clone());
/// cache.insert("session", 42);
/// clock.advance(Duration::from_secs(10));
/// assert_eq!(cache.get("session"), None);
/// ```
///
/// It is `Sync` only when keys and values are `Send`:
///
/// ```compile_fail
/// fn shared<T: Sync>(_: &T) {}
/// let cache: lru_ttl::SyncTtlCache<std::rc::Rc<u8>, u8> =
///     lru_ttl::SyncTtlCache::new(std::time::Duration::from_secs(1));
/// shared(&cache);
/// ```
pub struct SyncTtlCache<K, V, C: Clock + Clone = InstantClock, S = DefaultHashBuilder> {
    inner: Sharded<TtlCore<K, V, C>, S>,
}

impl<K: Hash + Eq, V: Clone> SyncTtlCache<K, V> {
    /// An unbounded cache whose entries live `ttl`, on the real clock.
    ///
    /// ```
    /// let cache = lru_ttl::SyncTtlCache::new(std::time::Duration::from_secs(60));
    /// cache.insert(1, "one");
    /// assert_eq!(cache.get(&1), Some("one"));
    /// ```
    pub fn new(ttl: Duration) -> Self {
        Self::with_clock(None, ttl, default_shards(None), InstantClock::new())
    }

    /// A cache of at most `capacity` entries living `ttl`, default shard count.
    ///
    /// ```
    /// let cache = lru_ttl::SyncTtlCache::bounded(64, std::time::Duration::from_secs(60));
    /// assert_eq!(cache.capacity(), Some(64));
    /// # cache.insert(1u8, 1u8);
    /// ```
    pub fn bounded(capacity: usize, ttl: Duration) -> Self {
        Self::with_clock(
            Some(capacity),
            ttl,
            default_shards(Some(capacity)),
            InstantClock::new(),
        )
    }
}

impl<K: Hash + Eq, V: Clone, C: Clock + Clone> SyncTtlCache<K, V, C> {
    /// A cache bounded by `capacity` (`None`: unbounded), default ttl `ttl`, in `shards`
    /// shards, reading time from `clock`.
    ///
    /// ```
    /// use lru_ttl::{ManualClock, SyncTtlCache};
    /// let cache: SyncTtlCache<u8, u8, _> =
    ///     SyncTtlCache::with_clock(None, std::time::Duration::from_secs(1), 2, ManualClock::new());
    /// assert_eq!(cache.shards(), 2);
    /// ```
    pub fn with_clock(capacity: Option<usize>, ttl: Duration, shards: usize, clock: C) -> Self {
        Self::with_clock_and_hasher(capacity, ttl, shards, clock, DefaultHashBuilder::default())
    }
}

impl<K: Hash + Eq, V: Clone, C: Clock + Clone, S: BuildHasher> SyncTtlCache<K, V, C, S> {
    /// Like [`with_clock`](SyncTtlCache::with_clock), hashing keys with `hasher`.
    ///
    /// ```
    /// use lru_ttl::{InstantClock, SyncTtlCache};
    /// use std::{collections::hash_map::RandomState, time::Duration};
    /// let cache = SyncTtlCache::with_clock_and_hasher(
    ///     Some(10), Duration::from_secs(1), 1, InstantClock::new(), RandomState::new());
    /// cache.insert(1, 1);
    /// assert_eq!(cache.peek(&1), Some(1));
    /// ```
    pub fn with_clock_and_hasher(
        capacity: Option<usize>,
        ttl: Duration,
        shards: usize,
        clock: C,
        hasher: S,
    ) -> Self {
        Self {
            inner: Sharded::new(capacity, shards, hasher, |cap| {
                TtlCore::new(cap, ttl, clock.clone())
            }),
        }
    }

    /// A clone of `key`'s live value, promoted in its shard (expiry unchanged); counts a
    /// hit or miss.
    ///
    /// ```
    /// let cache = lru_ttl::SyncTtlCache::new(std::time::Duration::from_secs(60));
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

    /// A clone of `key`'s live value without promoting or counting.
    ///
    /// ```
    /// let cache = lru_ttl::SyncTtlCache::new(std::time::Duration::from_secs(60));
    /// cache.insert(1, "one");
    /// assert_eq!(cache.peek(&1), Some("one"));
    /// ```
    pub fn peek<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.inner.peek(key)
    }

    /// Whether `key` has a live entry.
    ///
    /// ```
    /// let cache = lru_ttl::SyncTtlCache::new(std::time::Duration::from_secs(60));
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

    /// Sets `key` to `value` for the default ttl; returns the value it replaced.
    ///
    /// ```
    /// let cache = lru_ttl::SyncTtlCache::new(std::time::Duration::from_secs(60));
    /// assert_eq!(cache.insert(1, "a"), None);
    /// assert_eq!(cache.insert(1, "b"), Some("a"));
    /// ```
    pub fn insert(&self, key: K, value: V) -> Option<V> {
        self.inner.insert(key, value, None)
    }

    /// Sets `key` to `value` for `ttl`; returns the value it replaced.
    ///
    /// ```
    /// use std::time::Duration;
    /// let cache = lru_ttl::SyncTtlCache::new(Duration::from_secs(60));
    /// cache.insert_with_ttl(1, "a", Duration::ZERO);  // stores nothing
    /// assert!(!cache.contains_key(&1));
    /// ```
    pub fn insert_with_ttl(&self, key: K, value: V, ttl: Duration) -> Option<V> {
        self.inner.insert(key, value, Some(ttl))
    }

    /// Removes `key`'s entry and returns its value if it was alive.
    ///
    /// ```
    /// let cache = lru_ttl::SyncTtlCache::new(std::time::Duration::from_secs(60));
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

    /// A clone of `key`'s live value, computed by `f` on a miss, once for all concurrent
    /// callers of that key, with no lock held while `f` runs (see
    /// [`SyncLruCache::get_or_insert_with`](crate::SyncLruCache::get_or_insert_with)).
    ///
    /// ```
    /// let cache = lru_ttl::SyncTtlCache::new(std::time::Duration::from_secs(60));
    /// assert_eq!(cache.get_or_insert_with("k", || 1), 1);
    /// assert_eq!(cache.get_or_insert_with("k", || 2), 1);
    /// ```
    pub fn get_or_insert_with<F: FnOnce() -> V>(&self, key: K, f: F) -> V {
        self.inner.get_or_insert_with(key, f)
    }

    /// Removes every expired entry now (a pass over each shard); returns how many.
    ///
    /// ```
    /// use lru_ttl::{ManualClock, SyncTtlCache};
    /// use std::time::Duration;
    /// let clock = ManualClock::new();
    /// let cache = SyncTtlCache::with_clock(None, Duration::from_secs(1), 2, clock.clone());
    /// cache.insert(1, 1);
    /// clock.advance(Duration::from_secs(2));
    /// assert_eq!(cache.purge_expired(), 1);
    /// ```
    pub fn purge_expired(&self) -> usize {
        self.inner.purge()
    }

    /// Entries stored, including expired ones not yet removed.
    ///
    /// ```
    /// let cache = lru_ttl::SyncTtlCache::new(std::time::Duration::from_secs(60));
    /// cache.insert(1, 1);
    /// assert_eq!(cache.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether nothing is stored.
    ///
    /// ```
    /// let cache: lru_ttl::SyncTtlCache<u8, u8> =
    ///     lru_ttl::SyncTtlCache::new(std::time::Duration::from_secs(60));
    /// assert!(cache.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every entry and resets the statistics (`cache_clear()`).
    ///
    /// ```
    /// let cache = lru_ttl::SyncTtlCache::new(std::time::Duration::from_secs(60));
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
    /// let cache = lru_ttl::SyncTtlCache::new(std::time::Duration::from_secs(60));
    /// cache.get(&1u8);
    /// # cache.insert(2u8, 2u8);
    /// assert_eq!(cache.cache_info().misses, 1);
    /// ```
    pub fn cache_info(&self) -> CacheInfo {
        self.inner.cache_info()
    }

    /// Bytes of heap memory the cache holds.
    ///
    /// ```
    /// let cache = lru_ttl::SyncTtlCache::new(std::time::Duration::from_secs(60));
    /// cache.insert(1u64, 1u64);
    /// assert!(cache.heap_size() > 0);
    /// ```
    pub fn heap_size(&self) -> usize {
        self.inner.heap_bytes()
    }
}

impl<K, V, C: Clock + Clone, S> SyncTtlCache<K, V, C, S> {
    /// The bound on the number of entries; `None` when unbounded.
    ///
    /// ```
    /// let cache: lru_ttl::SyncTtlCache<u8, u8> =
    ///     lru_ttl::SyncTtlCache::bounded(5, std::time::Duration::from_secs(1));
    /// assert_eq!(cache.capacity(), Some(5));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.inner.capacity()
    }

    /// The number of shards.
    ///
    /// ```
    /// use lru_ttl::{InstantClock, SyncTtlCache};
    /// let cache: SyncTtlCache<u8, u8> =
    ///     SyncTtlCache::with_clock(None, std::time::Duration::from_secs(1), 3, InstantClock::new());
    /// assert_eq!(cache.shards(), 3);
    /// ```
    pub fn shards(&self) -> usize {
        self.inner.shard_count()
    }
}

impl<K, V, C: Clock + Clone, S> fmt::Debug for SyncTtlCache<K, V, C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncTtlCache")
            .field("inner", &self.inner)
            .finish()
    }
}
