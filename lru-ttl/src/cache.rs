//! `Cache`: the thread-safe cache, `&self` everywhere, values returned by clone; configured
//! by [`CacheBuilder`](crate::CacheBuilder) (`builder.rs`, which also has `Cache::builder`), with `SyncLruCache` as its plain strict-LRU shortcut.
//!
//! Each shard holds one core, chosen when the cache is built: the strict LRU core
//! (`cores/lru.rs`) when nothing else is asked for, so the plain cache pays for no deadlines or
//! weights; the timed core (`cores/timed.rs`, nodes with deadline, last access and weight) as soon
//! as a time to live, a time to idle, a per-entry expiry, a weigher or another eviction
//! policy (`eviction/`) is configured.

use crate::cores::either::Core;
use crate::cores::lru::LruCore;
use crate::node::MAX_ENTRIES;
use crate::sharded::{Hooks, Sharded, default_shards};
use crate::stats::CacheInfo;
use hashbrown::DefaultHashBuilder;
use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::time::Duration;

/// A thread-safe cache: shards chosen by key hash, each an exact LRU (or another
/// [`EvictionPolicy`](crate::EvictionPolicy)) under its own lock, configured by [`Cache::builder`](Cache::builder) with a bound in
/// entries or in weight, a time to live, a time to idle, a per-entry expiry, an eviction
/// policy, an eviction listener, a clock and a hasher (or made with [`Cache::new`] as a
/// plain strict LRU, also named [`SyncLruCache`]). With one shard the whole cache is an
/// exact LRU; with more, each shard evicts its own least recently used entry and holds an
/// even share of the bound. Values are returned by clone, so wrap large values in `Arc`.
///
/// An entry set at `t` with time to live `ttl` is alive while `now < t + ttl`; with a time
/// to idle `tti`, also only while `now < last read or set + tti`. Expired entries are
/// never returned; a full shard evicts an expired entry (the first to expire) before any
/// live one, then its least recently used (or its policy's choice). Entries that leave (expired, evicted, replaced
/// or removed) are shown to the eviction listener and dropped after the shard lock is
/// released. [`get_or_insert_with`](Self::get_or_insert_with) computes a missing value
/// once while other callers for the same key wait, with no lock held while it runs.
///
/// ```
/// use lru_ttl::{Cache, RemovalCause};
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
///
/// let evicted = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&evicted);
/// let cache: Cache<String, Vec<u8>> = Cache::builder()
///     .max_capacity(1024) // bytes, as the weigher counts them
///     .weigher(|_key: &String, value: &Vec<u8>| value.len() as u32)
///     .time_to_live(Duration::from_secs(60))
///     .eviction_listener(move |key: &String, _value: &Vec<u8>, cause| {
///         log.lock().unwrap().push((key.clone(), cause));
///     })
///     .shards(1)
///     .build();
/// cache.insert("a".to_string(), vec![0; 600]);
/// cache.insert("b".to_string(), vec![0; 600]); // 1200 bytes > 1024: "a" goes
/// assert_eq!(cache.get("a"), None);
/// assert_eq!(*evicted.lock().unwrap(), [("a".to_string(), RemovalCause::Capacity)]);
/// assert_eq!(cache.weighted_size(), 600);
/// ```
///
/// It is `Sync` only when keys and values are `Send`:
///
/// ```compile_fail
/// fn shared<T: Sync>(_: &T) {}
/// let cache: lru_ttl::Cache<u8, std::rc::Rc<u8>> = lru_ttl::Cache::new(4);
/// shared(&cache);
/// ```
pub struct Cache<K, V, S = DefaultHashBuilder> {
    pub(crate) inner: Sharded<Core<K, V>, S>,
    pub(crate) timed: bool,
}

/// The plain thread-safe strict LRU: a [`Cache`] made with [`Cache::new`],
/// [`Cache::with_shards`] or [`Cache::unbounded`].
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
pub type SyncLruCache<K, V, S = DefaultHashBuilder> = Cache<K, V, S>;

impl<K: Hash + Eq, V: Clone> Cache<K, V> {
    /// A strict LRU cache of at most `capacity` entries with the default number of shards
    /// (four per CPU, but no more than one per 64 entries).
    ///
    /// # Panics
    ///
    /// If `capacity` is over 2^32 - 2 entries.
    ///
    /// ```
    /// let cache: lru_ttl::Cache<u64, u64> = lru_ttl::Cache::new(10_000);
    /// assert!(cache.shards() >= 1);
    /// assert_eq!(cache.capacity(), Some(10_000));
    /// ```
    pub fn new(capacity: usize) -> Self {
        Self::with_shards(capacity, default_shards(Some(capacity)))
    }

    /// A strict LRU cache of at most `capacity` entries split over `shards` shards (at
    /// least one, at most `capacity`). One shard makes the whole cache an exact LRU.
    ///
    /// # Panics
    ///
    /// If `capacity` is over 2^32 - 2 entries.
    ///
    /// ```
    /// let cache = lru_ttl::Cache::with_shards(2, 1);
    /// cache.insert(1, "a");
    /// cache.insert(2, "b");
    /// cache.get(&1);
    /// cache.insert(3, "c"); // evicts 2, the least recently used
    /// assert!(!cache.contains_key(&2));
    /// ```
    pub fn with_shards(capacity: usize, shards: usize) -> Self {
        Self::with_shards_and_hasher(Some(capacity), shards, DefaultHashBuilder::default())
    }

    /// A strict LRU cache without a bound, with the default number of shards.
    ///
    /// ```
    /// let cache = lru_ttl::Cache::unbounded();
    /// cache.insert(1, 1);
    /// assert_eq!(cache.capacity(), None);
    /// ```
    pub fn unbounded() -> Self {
        Self::with_shards_and_hasher(None, default_shards(None), DefaultHashBuilder::default())
    }
}

impl<K: Hash + Eq, V: Clone, S: BuildHasher> Cache<K, V, S> {
    /// A strict LRU cache bounded by `capacity` (`None`: unbounded), split over `shards`
    /// shards, hashing keys with `hasher`.
    ///
    /// # Panics
    ///
    /// If `capacity` is over 2^32 - 2 entries.
    ///
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let cache = lru_ttl::Cache::with_shards_and_hasher(Some(8), 2, RandomState::new());
    /// cache.insert(1, 1);
    /// assert_eq!(cache.shards(), 2);
    /// ```
    pub fn with_shards_and_hasher(capacity: Option<usize>, shards: usize, hasher: S) -> Self {
        if let Some(c) = capacity {
            assert!(c <= MAX_ENTRIES, "lru-ttl: capacity over 2^32 - 2 entries");
        }
        Self {
            inner: Sharded::new(capacity, shards, hasher, Hooks::default(), |cap| {
                Core::Lru(LruCore::new(cap))
            }),
            timed: false,
        }
    }

    /// A clone of `key`'s live value, made the most recently used entry (and, with a time
    /// to idle, renewed); counts a hit or a miss.
    ///
    /// # Panics
    ///
    /// If the eviction listener panics (after every entry that left was shown to it; the
    /// cache stays consistent).
    ///
    /// ```
    /// let cache = lru_ttl::Cache::new(8);
    /// cache.insert("k", 1);
    /// assert_eq!(cache.get("k"), Some(1));
    /// assert_eq!(cache.get("j"), None);
    /// ```
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.inner.get(key)
    }

    /// A clone of `key`'s live value, without changing recency or statistics.
    ///
    /// ```
    /// let cache = lru_ttl::Cache::new(8);
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

    /// Whether `key` has a live entry (no promotion, not counted).
    ///
    /// ```
    /// let cache = lru_ttl::Cache::new(8);
    /// cache.insert("k", ());
    /// assert!(cache.contains_key("k"));
    /// ```
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.inner.contains_key(key)
    }

    /// Stores `value` under `key` as the most recently used entry, with the cache's time to
    /// live (or the one its per-entry expiry gives), and returns the value it replaced.
    /// Entries it evicts, and the one it replaces, are shown to the eviction listener. An
    /// entry that cannot be stored (capacity, time to live or weight zero, or heavier than
    /// a shard's share of the bound) is dropped, and an old entry for `key` with it.
    ///
    /// # Panics
    ///
    /// If the weigher, the per-entry expiry or the eviction listener panics (the cache
    /// stays consistent; a panicking listener is still given every other entry first).
    ///
    /// ```
    /// let cache = lru_ttl::Cache::new(8);
    /// assert_eq!(cache.insert(1, "a"), None);
    /// assert_eq!(cache.insert(1, "b"), Some("a"));
    /// ```
    #[inline]
    pub fn insert(&self, key: K, value: V) -> Option<V> {
        self.inner.insert(key, value, None)
    }

    /// Like [`insert`](Self::insert), with this entry's own time to live.
    ///
    /// # Panics
    ///
    /// If the cache was made without any time (with [`Cache::new`] and friends, or a
    /// builder given neither a time to live, a time to idle, a per-entry expiry nor a
    /// weigher): its shards keep no deadlines. And as [`insert`](Self::insert).
    ///
    /// ```
    /// use lru_ttl::{Cache, ManualClock};
    /// use std::time::Duration;
    /// let clock = ManualClock::new();
    /// let cache = Cache::builder()
    ///     .time_to_live(Duration::from_secs(60))
    ///     .clock(clock.clone())
    ///     .build();
    /// cache.insert_with_ttl("short", 1, Duration::from_secs(1));
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(cache.get("short"), None);
    /// ```
    pub fn insert_with_ttl(&self, key: K, value: V, ttl: Duration) -> Option<V> {
        assert!(
            self.timed,
            "lru-ttl: insert_with_ttl on a cache built without time (use Cache::builder().time_to_live(..))"
        );
        self.inner.insert(key, value, Some(ttl))
    }

    /// Removes `key`'s entry and returns its value if it was alive (the listener is told,
    /// as `Explicit`).
    ///
    /// # Panics
    ///
    /// If the eviction listener panics (after every entry that left was shown to it; the
    /// cache stays consistent).
    ///
    /// ```
    /// let cache = lru_ttl::Cache::new(8);
    /// cache.insert(1, "one");
    /// assert_eq!(cache.remove(&1), Some("one"));
    /// assert_eq!(cache.remove(&1), None);
    /// ```
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.inner.remove(key)
    }

    /// A clone of `key`'s live value, computing it with `f` on a miss. The key may be
    /// borrowed (a `&str` for `String` keys): it is made owned only on a miss. Concurrent
    /// callers for the same missing key wait for one computation (each counts a miss: a
    /// waiter did not compute, but it did not find the value stored either) instead of
    /// repeating it; `f` runs with no lock held, so it may use this cache (with other keys).
    ///
    /// # Panics
    ///
    /// If `f` panics, the panic propagates to this caller, and the waiters wake and start
    /// over (one of them computes). As [`insert`](Self::insert) for the hooks.
    ///
    /// ```
    /// let cache: lru_ttl::Cache<String, usize> = lru_ttl::Cache::new(8);
    /// assert_eq!(cache.get_or_insert_with("four", || 4), 4); // &str for a String key
    /// assert_eq!(cache.get_or_insert_with("four", || unreachable!()), 4);
    /// ```
    pub fn get_or_insert_with<Q>(&self, key: &Q, f: impl FnOnce() -> V) -> V
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq + ToOwned<Owned = K>,
    {
        match self
            .inner
            .try_get_or_insert_with(key, || Ok::<V, std::convert::Infallible>(f()))
        {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// Like [`get_or_insert_with`](Self::get_or_insert_with), with a loader that can fail:
    /// an `Err` is returned to this caller and nothing is cached. Callers that were waiting
    /// for this load do not receive the error: they start over, and one of them loads (a
    /// failure may be transient; the error need not be `Clone`).
    ///
    /// # Panics
    ///
    /// As [`get_or_insert_with`](Self::get_or_insert_with).
    ///
    /// ```
    /// let cache: lru_ttl::Cache<String, u16> = lru_ttl::Cache::new(8);
    /// let port = |s: &str| s.parse::<u16>();
    /// assert!(cache.try_get_or_insert_with("http", || port("eighty")).is_err());
    /// assert!(!cache.contains_key("http")); // the error was not cached
    /// assert_eq!(cache.try_get_or_insert_with("http", || port("80")), Ok(80));
    /// ```
    pub fn try_get_or_insert_with<Q, E>(
        &self,
        key: &Q,
        f: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq + ToOwned<Owned = K>,
    {
        self.inner.try_get_or_insert_with(key, f)
    }

    /// [`get_or_insert_with`](Self::get_or_insert_with) with a future: a task that finds
    /// another task loading the same key waits without blocking its thread (on any
    /// runtime). If the loading task's future is dropped (cancelled) or panics, a waiter
    /// takes over. Needs the `async` feature.
    ///
    /// # Panics
    ///
    /// If `load` panics (when polled): the panic propagates to this caller; waiters start
    /// over. As [`insert`](Self::insert) for the hooks.
    ///
    /// ```
    /// # futures_executor_block_on(async {
    /// let cache: lru_ttl::Cache<String, usize> = lru_ttl::Cache::new(8);
    /// let n = cache.get_or_insert_with_async("k", async { 42 }).await;
    /// assert_eq!(n, 42);
    /// # });
    /// # fn futures_executor_block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    /// # }
    /// ```
    #[cfg(feature = "async")]
    pub async fn get_or_insert_with_async<Q>(
        &self,
        key: &Q,
        load: impl std::future::Future<Output = V>,
    ) -> V
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq + ToOwned<Owned = K>,
    {
        let load = async { Ok::<V, std::convert::Infallible>(load.await) };
        match self.inner.try_get_or_insert_with_async(key, load).await {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// [`try_get_or_insert_with`](Self::try_get_or_insert_with) with a future: an `Err` is
    /// returned to this caller and nothing is cached; waiting tasks start over. Needs the
    /// `async` feature.
    ///
    /// # Panics
    ///
    /// As [`get_or_insert_with_async`](Self::get_or_insert_with_async).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let cache: lru_ttl::Cache<u32, String> = lru_ttl::Cache::new(8);
    /// let user = cache
    ///     .try_get_or_insert_with_async(&7, async { Ok::<_, std::io::Error>("ann".to_string()) })
    ///     .await;
    /// assert_eq!(user.unwrap(), "ann");
    /// # });
    /// ```
    #[cfg(feature = "async")]
    pub async fn try_get_or_insert_with_async<Q, E>(
        &self,
        key: &Q,
        load: impl std::future::Future<Output = Result<V, E>>,
    ) -> Result<V, E>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq + ToOwned<Owned = K>,
    {
        self.inner.try_get_or_insert_with_async(key, load).await
    }

    /// Removes every expired entry now (a pass over every shard) and returns how many.
    ///
    /// # Panics
    ///
    /// If the eviction listener panics (after every entry that left was shown to it; the
    /// cache stays consistent).
    ///
    /// ```
    /// use lru_ttl::{Cache, ManualClock};
    /// use std::time::Duration;
    /// let clock = ManualClock::new();
    /// let cache = Cache::builder()
    ///     .time_to_live(Duration::from_secs(1))
    ///     .clock(clock.clone())
    ///     .build();
    /// cache.insert(1, 1);
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(cache.purge_expired(), 1);
    /// assert!(cache.is_empty());
    /// ```
    pub fn purge_expired(&self) -> usize {
        self.inner.purge()
    }

    /// Keeps only the live entries for which `keep` returns `true`; the others are removed
    /// (the listener is told, as `Explicit`). `keep` runs under each shard's lock in turn:
    /// it must not use this cache.
    ///
    /// # Panics
    ///
    /// If the eviction listener panics (after every entry that left was shown to it; the
    /// cache stays consistent), or if `keep` panics (the entries of that shard it already
    /// rejected are gone, dropped without the listener being told).
    ///
    /// ```
    /// let cache = lru_ttl::Cache::new(8);
    /// for i in 0..6 {
    ///     cache.insert(i, i * 10);
    /// }
    /// cache.retain(|k, _| k % 2 == 0);
    /// assert_eq!(cache.len(), 3);
    /// assert!(cache.contains_key(&4) && !cache.contains_key(&5));
    /// ```
    pub fn retain(&self, keep: impl FnMut(&K, &V) -> bool) {
        self.inner.retain(keep);
    }

    /// A snapshot of the live entries (clones), shard by shard, each shard's most recently
    /// used first. Writers may change the cache while it is taken: it is consistent per
    /// shard.
    ///
    /// ```
    /// let cache = lru_ttl::Cache::with_shards(8, 1);
    /// cache.insert(1, 'a');
    /// cache.insert(2, 'b');
    /// let entries: Vec<_> = cache.iter().collect();
    /// assert_eq!(entries, [(2, 'b'), (1, 'a')]);
    /// ```
    pub fn iter(&self) -> std::vec::IntoIter<(K, V)>
    where
        K: Clone,
    {
        self.inner.snapshot().into_iter()
    }

    /// Entries stored (summed over shards; exact only when no one is writing), including
    /// expired ones not removed yet.
    ///
    /// ```
    /// let cache = lru_ttl::Cache::new(8);
    /// cache.insert(1, 1);
    /// assert_eq!(cache.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether nothing is stored.
    ///
    /// ```
    /// let cache: lru_ttl::Cache<u8, u8> = lru_ttl::Cache::new(8);
    /// assert!(cache.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The total weight stored (the number of entries without a weigher).
    ///
    /// ```
    /// let cache: lru_ttl::Cache<u8, u8> = lru_ttl::Cache::builder()
    ///     .weigher(|_k: &u8, v: &u8| u32::from(*v))
    ///     .build();
    /// cache.insert(1, 5);
    /// cache.insert(2, 7);
    /// assert_eq!(cache.weighted_size(), 12);
    /// ```
    pub fn weighted_size(&self) -> u64 {
        self.inner.weighted_size()
    }

    /// Removes every entry and resets the statistics (`cache_clear()`); the listener is
    /// told of each, as `Explicit`.
    ///
    /// # Panics
    ///
    /// If the eviction listener panics (after every entry that left was shown to it; the
    /// cache stays consistent).
    ///
    /// ```
    /// let cache = lru_ttl::Cache::new(8);
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
    /// let cache = lru_ttl::Cache::new(8);
    /// cache.get_or_insert_with(&1, || 1);
    /// cache.get(&1);
    /// let info = cache.cache_info();
    /// assert_eq!((info.hits, info.misses, info.currsize), (1, 1, 1));
    /// ```
    pub fn cache_info(&self) -> CacheInfo {
        self.inner.cache_info()
    }

    /// Bytes of heap memory the cache holds (shards, slabs, tables and deadline heaps).
    ///
    /// ```
    /// let cache = lru_ttl::Cache::new(64);
    /// cache.insert(1u64, 1u64);
    /// assert!(cache.heap_size() > 0);
    /// ```
    pub fn heap_size(&self) -> usize {
        self.inner.heap_bytes()
    }
}

impl<K, V, S> Cache<K, V, S> {
    /// The bound, in entries or (with a weigher) in weight; `None` when unbounded.
    ///
    /// ```
    /// let cache: lru_ttl::Cache<u8, u8> = lru_ttl::Cache::new(8);
    /// assert_eq!(cache.capacity(), Some(8));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.inner.capacity()
    }

    /// The number of shards.
    ///
    /// ```
    /// let cache: lru_ttl::Cache<u8, u8> = lru_ttl::Cache::with_shards(100, 4);
    /// assert_eq!(cache.shards(), 4);
    /// ```
    pub fn shards(&self) -> usize {
        self.inner.shard_count()
    }
}

impl<K, V, S> fmt::Debug for Cache<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("inner", &self.inner)
            .field("timed", &self.timed)
            .finish()
    }
}
