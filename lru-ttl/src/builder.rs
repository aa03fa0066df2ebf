//! `CacheBuilder`: every option of a `Cache`, and the choice of its shards' core.

use crate::cache::Cache;
use crate::clock::{Clock, InstantClock, nanos};
use crate::cores::RemovalCause;
use crate::cores::either::{Core, SharedClock};
use crate::cores::lru::LruCore;
use crate::cores::timed::TtlCore;
use crate::eviction::{Choice, Eviction, EvictionPolicy};
use crate::node::{MAX_ENTRIES, NEVER};
use crate::sharded::{Hooks, Sharded, default_shards};
use hashbrown::DefaultHashBuilder;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::time::Duration;

impl<K: Hash + Eq, V: Clone> Cache<K, V> {
    /// A builder for a cache with more than a bound in entries: see [`CacheBuilder`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let cache: lru_ttl::Cache<&str, u32> = lru_ttl::Cache::builder()
    ///     .max_capacity(100)
    ///     .time_to_idle(Duration::from_secs(30))
    ///     .build();
    /// cache.insert("k", 1);
    /// assert_eq!(cache.get("k"), Some(1));
    /// ```
    pub fn builder() -> CacheBuilder<K, V> {
        CacheBuilder::new()
    }
}

/// Configures a [`Cache`]: `Cache::builder()`, options, then [`build`](Self::build). Every
/// option is optional; without any, the cache is an unbounded strict LRU.
///
/// ```
/// use lru_ttl::{Cache, ManualClock};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let cache: Cache<u32, String> = Cache::builder()
///     .max_capacity(10_000)
///     .time_to_live(Duration::from_secs(300))
///     .time_to_idle(Duration::from_secs(60))
///     .clock(clock.clone())
///     .build();
/// cache.insert(1, "one".to_string());
/// clock.advance(Duration::from_secs(59));
/// assert!(cache.get(&1).is_some()); // read: idle again from now
/// clock.advance(Duration::from_secs(59));
/// assert!(cache.get(&1).is_some());
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(cache.get(&1), None); // idle for 60 s
/// ```
pub struct CacheBuilder<K, V, S = DefaultHashBuilder> {
    max_capacity: Option<u64>,
    ttl: Option<Duration>,
    tti: Option<Duration>,
    shards: Option<usize>,
    clock: Option<SharedClock>,
    policy: EvictionPolicy,
    choice: Option<Choice>,
    hasher: S,
    hooks: Hooks<K, V>,
}

impl<K: Hash + Eq, V: Clone> CacheBuilder<K, V> {
    fn new() -> Self {
        Self {
            max_capacity: None,
            ttl: None,
            tti: None,
            shards: None,
            clock: None,
            policy: EvictionPolicy::Lru,
            choice: None,
            hasher: DefaultHashBuilder::default(),
            hooks: Hooks::default(),
        }
    }
}

impl<K: Hash + Eq, V: Clone, S: BuildHasher> CacheBuilder<K, V, S> {
    /// The bound: at most this many entries, or, with a [`weigher`](Self::weigher), this
    /// much total weight. Each shard holds an even share. Without it the cache is
    /// unbounded.
    ///
    /// ```
    /// let cache: lru_ttl::Cache<u8, u8> = lru_ttl::Cache::builder().max_capacity(2).build();
    /// assert_eq!(cache.capacity(), Some(2));
    /// ```
    pub fn max_capacity(mut self, max: u64) -> Self {
        self.max_capacity = Some(max);
        self
    }

    /// How long an entry lives after it was inserted or last set (reads do not extend it);
    /// zero stores nothing.
    ///
    /// ```
    /// use std::time::Duration;
    /// let cache: lru_ttl::Cache<u8, u8> =
    ///     lru_ttl::Cache::builder().time_to_live(Duration::from_secs(5)).build();
    /// cache.insert(1, 1);
    /// assert_eq!(cache.get(&1), Some(1));
    /// ```
    pub fn time_to_live(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// How long an entry lives after it was last read or set.
    ///
    /// ```
    /// use std::time::Duration;
    /// let cache: lru_ttl::Cache<u8, u8> =
    ///     lru_ttl::Cache::builder().time_to_idle(Duration::from_secs(5)).build();
    /// cache.insert(1, 1);
    /// assert!(cache.contains_key(&1));
    /// ```
    pub fn time_to_idle(mut self, tti: Duration) -> Self {
        self.tti = Some(tti);
        self
    }

    /// An entry's own time to live, computed from its key and value when it is stored
    /// (`None`: the cache's time to live). [`Cache::insert_with_ttl`] overrides it. It runs
    /// with no lock held.
    ///
    /// ```
    /// use lru_ttl::{Cache, ManualClock};
    /// use std::time::Duration;
    /// let clock = ManualClock::new();
    /// // Values carry their own lifetime in seconds.
    /// let cache: Cache<&str, u64> = Cache::builder()
    ///     .expire_after(|_k: &&str, secs: &u64| Some(Duration::from_secs(*secs)))
    ///     .clock(clock.clone())
    ///     .build();
    /// cache.insert("brief", 1);
    /// cache.insert("long", 100);
    /// clock.advance(Duration::from_secs(2));
    /// assert_eq!(cache.get("brief"), None);
    /// assert_eq!(cache.get("long"), Some(100));
    /// ```
    pub fn expire_after(
        mut self,
        expiry: impl Fn(&K, &V) -> Option<Duration> + Send + Sync + 'static,
    ) -> Self {
        self.hooks.expire_after = Some(std::sync::Arc::new(expiry));
        self
    }

    /// Weighs entries: the bound is then in weight units (bytes, say). It runs with no lock
    /// held, once per insertion. An entry heavier than a shard's share of the bound is not
    /// stored.
    ///
    /// ```
    /// let cache: lru_ttl::Cache<u8, String> = lru_ttl::Cache::builder()
    ///     .max_capacity(10)
    ///     .weigher(|_k: &u8, v: &String| v.len() as u32)
    ///     .shards(1)
    ///     .build();
    /// cache.insert(1, "0123456789abc".to_string()); // 13 > 10: not stored
    /// assert!(cache.is_empty());
    /// ```
    pub fn weigher(mut self, weigher: impl Fn(&K, &V) -> u32 + Send + Sync + 'static) -> Self {
        self.hooks.weigher = Some(std::sync::Arc::new(weigher));
        self
    }

    /// Called with each entry that leaves the cache and why: expired, evicted for room,
    /// replaced, or removed by a call. It runs after the shard lock is released; it may use
    /// the cache. If it panics, the others leaving in the same operation are still shown
    /// to it, then the panic reaches the caller; the cache stays consistent.
    ///
    /// ```
    /// use lru_ttl::{Cache, RemovalCause};
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let replaced = Arc::new(AtomicUsize::new(0));
    /// let r = Arc::clone(&replaced);
    /// let cache: Cache<u8, u8> = Cache::builder()
    ///     .eviction_listener(move |_k: &u8, _v: &u8, cause| {
    ///         if cause == RemovalCause::Replaced {
    ///             r.fetch_add(1, Ordering::Relaxed);
    ///         }
    ///     })
    ///     .build();
    /// cache.insert(1, 1);
    /// cache.insert(1, 2);
    /// assert_eq!(replaced.load(Ordering::Relaxed), 1);
    /// ```
    pub fn eviction_listener(
        mut self,
        listener: impl Fn(&K, &V, RemovalCause) + Send + Sync + 'static,
    ) -> Self {
        self.hooks.listener = Some(std::sync::Arc::new(listener));
        self
    }

    /// Which live entry a full cache evicts: least recently used (the default), first in,
    /// least frequently used, random, or S3-FIFO; see [`EvictionPolicy`]. Expired entries
    /// still go first, and the bound, the times to live and idle, the weigher and the
    /// listener work with every policy.
    ///
    /// ```
    /// use lru_ttl::{Cache, EvictionPolicy};
    ///
    /// let cache: Cache<u64, String> = Cache::builder()
    ///     .max_capacity(10_000)
    ///     .eviction_policy(EvictionPolicy::S3Fifo)
    ///     .build();
    /// cache.insert(1, "one".to_owned());
    /// assert_eq!(cache.get(&1).as_deref(), Some("one"));
    /// ```
    pub fn eviction_policy(mut self, policy: EvictionPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// With [`EvictionPolicy::Random`], how a victim is picked (as cachetools' `choice=`):
    /// given the number `n` of entries in a shard, an index below `n` into the shard's
    /// entries in the order cachetools' `RRCache` keeps its keys (in order of insertion,
    /// except that a removed key's place goes to the last key). An index out of range picks
    /// the last. It runs under the shard's lock: keep it short, and do not touch the cache
    /// from it. By default, a fast pseudo-random generator per shard.
    ///
    /// ```
    /// use lru_ttl::{Cache, EvictionPolicy};
    ///
    /// let cache: Cache<&str, u8> = Cache::builder()
    ///     .max_capacity(2)
    ///     .eviction_policy(EvictionPolicy::Random)
    ///     .random_choice(|_n| 0) // always the oldest
    ///     .shards(1)
    ///     .build();
    /// cache.insert("a", 1);
    /// cache.insert("b", 2);
    /// cache.insert("c", 3);
    /// assert_eq!(cache.get("a"), None);
    /// ```
    pub fn random_choice(
        mut self,
        choice: impl Fn(usize) -> usize + Send + Sync + 'static,
    ) -> Self {
        self.choice = Some(std::sync::Arc::new(choice));
        self
    }

    /// The number of shards (default: four per CPU, at most one per 64 entries of bound).
    /// One shard makes the cache an exact LRU.
    ///
    /// ```
    /// let cache: lru_ttl::Cache<u8, u8> = lru_ttl::Cache::builder().shards(3).build();
    /// assert_eq!(cache.shards(), 3);
    /// ```
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// The clock the cache reads (default: [`InstantClock`]); [`ManualClock`](crate::ManualClock)
    /// in tests.
    ///
    /// ```
    /// use lru_ttl::{Cache, ManualClock};
    /// use std::time::Duration;
    /// let clock = ManualClock::new();
    /// let cache: Cache<u8, u8> = Cache::builder()
    ///     .time_to_live(Duration::from_secs(1))
    ///     .clock(clock.clone())
    ///     .build();
    /// cache.insert(1, 1);
    /// clock.advance(Duration::from_secs(1));
    /// assert!(!cache.contains_key(&1));
    /// ```
    pub fn clock(mut self, clock: impl Clock + Send + Sync + 'static) -> Self {
        self.clock = Some(SharedClock(std::sync::Arc::new(clock)));
        self
    }

    /// Hashes keys with `hasher` (default: hashbrown's).
    ///
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let cache: lru_ttl::Cache<u8, u8, RandomState> =
    ///     lru_ttl::Cache::builder().hasher(RandomState::new()).build();
    /// cache.insert(1, 1);
    /// assert!(cache.contains_key(&1));
    /// ```
    pub fn hasher<S2: BuildHasher>(self, hasher: S2) -> CacheBuilder<K, V, S2> {
        CacheBuilder {
            max_capacity: self.max_capacity,
            ttl: self.ttl,
            tti: self.tti,
            shards: self.shards,
            clock: self.clock,
            policy: self.policy,
            choice: self.choice,
            hasher,
            hooks: self.hooks,
        }
    }

    /// The cache.
    ///
    /// # Panics
    ///
    /// Without a weigher, if the bound is over 2^32 - 2 entries.
    ///
    /// ```
    /// let cache: lru_ttl::Cache<u8, u8> = lru_ttl::Cache::builder().max_capacity(8).build();
    /// assert!(cache.is_empty());
    /// ```
    pub fn build(self) -> Cache<K, V, S> {
        let weighted = self.hooks.weigher.is_some();
        let timed = self.ttl.is_some()
            || self.tti.is_some()
            || self.hooks.expire_after.is_some()
            || weighted
            || self.policy != EvictionPolicy::Lru;
        if let Some(max) = self.max_capacity
            && !weighted
        {
            assert!(
                max <= MAX_ENTRIES as u64,
                "lru-ttl: capacity over 2^32 - 2 entries"
            );
        }
        let capacity = self
            .max_capacity
            .map(|m| usize::try_from(m).unwrap_or(usize::MAX));
        let shards = self
            .shards
            .unwrap_or_else(|| default_shards(if weighted { None } else { capacity }));
        let ttl = self.ttl.map_or(NEVER, nanos);
        let tti = self.tti.map_or(NEVER, nanos);
        let clock = self
            .clock
            .unwrap_or_else(|| SharedClock(std::sync::Arc::new(InstantClock::new())));
        let (policy, choice) = (self.policy, self.choice);
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        let inner = Sharded::new(capacity, shards, self.hasher, self.hooks, |cap| {
            if timed {
                seed = seed.wrapping_mul(0xD605_BBB5_8C8A_BBB5).wrapping_add(1);
                Core::Timed(
                    TtlCore::with_limits(cap.map(|c| c as u64), ttl, tti, clock.clone())
                        .with_eviction(Eviction::new(policy, choice.clone(), seed)),
                )
            } else {
                Core::Lru(LruCore::new(cap))
            }
        });
        Cache { inner, timed }
    }
}

impl<K, V, S> fmt::Debug for CacheBuilder<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheBuilder")
            .field("max_capacity", &self.max_capacity)
            .field("time_to_live", &self.ttl)
            .field("time_to_idle", &self.tti)
            .field("shards", &self.shards)
            .field("eviction_policy", &self.policy)
            .finish_non_exhaustive()
    }
}
