//! `TtlCache`: entries expire a fixed time after they were set, optionally bounded in
//! number with LRU eviction (single-threaded), over a `TtlCore`.

use crate::clock::{Clock, InstantClock};
use crate::cores::Removed;
use crate::cores::timed::TtlCore;
use crate::node::{Expiry, NIL, Timed};
use crate::raw::Raw;
use crate::stats::CacheInfo;
use hashbrown::DefaultHashBuilder;
use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::time::Duration;

/// A cache whose entries expire `ttl` after they were inserted or last set; reads do not
/// extend them (as `cachetools.TTLCache`). Optionally bounded in number as well, evicting
/// an expired entry if there is one (the one whose deadline passed first), else the least
/// recently used (`cachetools.TTLCache(maxsize, ttl)`, and with per-entry ttls
/// `cachetools.TLRUCache`).
///
/// An entry set at time `t` is alive while `now < t + ttl`: it has expired at exactly `t +
/// ttl`. Expired entries are never returned; they are removed lazily (see the module
/// documentation) or all at once by [`purge_expired`](Self::purge_expired), so
/// [`len`](Self::len) may still count some that expired. A ttl of zero stores nothing.
///
/// ```
/// use lru_ttl::{ManualClock, TtlCache};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let mut cache = TtlCache::with_clock(Some(100), Duration::from_secs(10), clock.clone());
/// cache.insert("a", 1);
/// cache.insert_with_ttl("b", 2, Duration::from_secs(1));
/// clock.advance(Duration::from_secs(1));
/// assert_eq!(cache.get("a"), Some(&1));
/// assert_eq!(cache.get("b"), None);        // expired at exactly its ttl
/// ```
///
/// It is `Send` only when its keys and values are:
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// send(lru_ttl::TtlCache::<u8, std::rc::Rc<u8>>::new(1, std::time::Duration::from_secs(1)));
/// ```
pub struct TtlCache<K, V, C = InstantClock, S = DefaultHashBuilder> {
    core: TtlCore<K, V, C>,
    hasher: S,
    scratch: Option<V>,
}

impl<K: Hash + Eq, V> TtlCache<K, V> {
    /// A cache of at most `capacity` entries, each living `ttl`, on the real clock
    /// (`cachetools.TTLCache(maxsize, ttl)`). A full cache evicts an expired entry first,
    /// else the least recently used.
    ///
    /// # Panics
    ///
    /// If `capacity` is over 2^32 - 2 entries.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut cache = lru_ttl::TtlCache::new(1, Duration::from_secs(60));
    /// cache.insert(1, "one");
    /// cache.insert(2, "two");
    /// assert_eq!(cache.len(), 1);
    /// ```
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self::with_clock(Some(capacity), ttl, InstantClock::new())
    }

    /// A cache without a bound on the number of entries, each living `ttl`: it holds every
    /// entry set in the last `ttl`, however many that is.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut cache = lru_ttl::TtlCache::unbounded(Duration::from_secs(60));
    /// cache.insert(1, "one");
    /// assert_eq!(cache.get(&1), Some(&"one"));
    /// assert_eq!(cache.capacity(), None);
    /// ```
    pub fn unbounded(ttl: Duration) -> Self {
        Self::with_clock(None, ttl, InstantClock::new())
    }
}

impl<K: Hash + Eq, V, C: Clock> TtlCache<K, V, C> {
    /// A cache bounded by `capacity` (`None`: unbounded), with default ttl `ttl`, reading
    /// time from `clock`.
    ///
    /// # Panics
    ///
    /// If `capacity` is over 2^32 - 2 entries.
    ///
    /// ```
    /// use lru_ttl::{ManualClock, TtlCache};
    /// use std::time::Duration;
    /// let cache: TtlCache<u8, u8, _> =
    ///     TtlCache::with_clock(Some(8), Duration::from_secs(1), ManualClock::new());
    /// assert_eq!(cache.capacity(), Some(8));
    /// ```
    pub fn with_clock(capacity: Option<usize>, ttl: Duration, clock: C) -> Self {
        Self::with_clock_and_hasher(capacity, ttl, clock, DefaultHashBuilder::default())
    }
}

impl<K: Hash + Eq, V, C: Clock, S: BuildHasher> TtlCache<K, V, C, S> {
    /// Like [`with_clock`](TtlCache::with_clock), hashing keys with `hasher`.
    ///
    /// # Panics
    ///
    /// If `capacity` is over 2^32 - 2 entries.
    ///
    /// ```
    /// use lru_ttl::{InstantClock, TtlCache};
    /// use std::{collections::hash_map::RandomState, time::Duration};
    /// let mut cache = TtlCache::with_clock_and_hasher(
    ///     None, Duration::from_secs(5), InstantClock::new(), RandomState::new());
    /// cache.insert(1, 1);
    /// assert!(cache.contains_key(&1));
    /// ```
    pub fn with_clock_and_hasher(
        capacity: Option<usize>,
        ttl: Duration,
        clock: C,
        hasher: S,
    ) -> Self {
        Self {
            core: TtlCore::new(capacity, ttl, clock),
            hasher,
            scratch: None,
        }
    }

    /// The live value of `key`, made the most recently used entry (its expiry does not
    /// move); counts a hit or a miss. An expired entry met here is removed.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut cache = lru_ttl::TtlCache::new(100, Duration::from_secs(60));
    /// cache.insert(1, "one");
    /// assert_eq!(cache.get(&1), Some(&"one"));
    /// assert_eq!(cache.get(&2), None);
    /// ```
    pub fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        let hash = self.hasher.hash_one(key);
        let mut dead = Removed::new();
        let i = self.core.get_index(hash, key, &mut dead);
        drop(dead);
        Some(&self.core.raw.node(i?).value)
    }

    /// The live value of `key`, without changing recency or statistics.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut cache = lru_ttl::TtlCache::new(100, Duration::from_secs(60));
    /// cache.insert(1, "one");
    /// assert_eq!(cache.peek(&1), Some(&"one"));
    /// assert_eq!(cache.cache_info().hits, 0);
    /// ```
    pub fn peek<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        let hash = self.hasher.hash_one(key);
        self.core
            .peek_index(hash, key)
            .map(|i| &self.core.raw.node(i).value)
    }

    /// Whether `key` has a live entry (no promotion, not counted).
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut cache = lru_ttl::TtlCache::new(100, Duration::from_secs(60));
    /// cache.insert("k", ());
    /// assert!(cache.contains_key("k"));
    /// ```
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.peek(key).is_some()
    }

    /// Sets `key` to `value` for the default ttl from now, as the most recently used
    /// entry. Returns what it displaced: `(key, old value)` if `key` had a live entry, the
    /// evicted entry if the cache was full, or the given pair if nothing can be stored
    /// (capacity or ttl zero; then an old entry for `key` is dropped). An expired entry
    /// for `key` is dropped, not returned.
    ///
    /// # Panics
    ///
    /// If an unbounded cache would hold more than 2^32 - 2 entries.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut cache = lru_ttl::TtlCache::new(1, Duration::from_secs(60));
    /// assert_eq!(cache.insert(1, "a"), None);
    /// assert_eq!(cache.insert(1, "b"), Some((1, "a")));
    /// assert_eq!(cache.insert(2, "c"), Some((1, "b")));
    /// ```
    pub fn insert(&mut self, key: K, value: V) -> Option<(K, V)> {
        let hash = self.hasher.hash_one(&key);
        let mut dead = Removed::new();
        let put = self.core.put(hash, key, value, 1, None, &mut dead);
        drop(dead);
        put.into_pair()
    }

    /// Like [`insert`](Self::insert), with this entry's own `ttl`.
    ///
    /// # Panics
    ///
    /// If an unbounded cache would hold more than 2^32 - 2 entries.
    ///
    /// ```
    /// use lru_ttl::{ManualClock, TtlCache};
    /// use std::time::Duration;
    /// let clock = ManualClock::new();
    /// let mut cache = TtlCache::with_clock(None, Duration::from_secs(60), clock.clone());
    /// cache.insert_with_ttl(1, "short", Duration::from_secs(1));
    /// clock.advance(Duration::from_secs(1));
    /// assert!(!cache.contains_key(&1));
    /// ```
    pub fn insert_with_ttl(&mut self, key: K, value: V, ttl: Duration) -> Option<(K, V)> {
        let hash = self.hasher.hash_one(&key);
        let mut dead = Removed::new();
        let put = self.core.put(hash, key, value, 1, Some(ttl), &mut dead);
        drop(dead);
        put.into_pair()
    }

    /// The live value of `key`, computed by `f` and stored on a miss (the key may be
    /// borrowed, a `&str` for `String` keys: it is made owned only on a miss). If `f` panics the
    /// cache is unchanged (except that an expired entry for `key` may have been removed).
    /// When nothing can be stored (capacity or ttl zero) the value is lent from a scratch
    /// slot that the next call (or `clear`) replaces.
    ///
    /// # Panics
    ///
    /// If `f` panics (the cache is unchanged), or an unbounded cache would hold more than
    /// 2^32 - 2 entries.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut cache = lru_ttl::TtlCache::new(100, Duration::from_secs(60));
    /// assert_eq!(*cache.get_or_insert_with("k", || 7), 7);
    /// assert_eq!(*cache.get_or_insert_with("k", || 8), 7);
    /// ```
    pub fn get_or_insert_with<Q, F>(&mut self, key: &Q, f: F) -> &V
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq + ToOwned<Owned = K>,
        F: FnOnce() -> V,
    {
        let hash = self.hasher.hash_one(key);
        let mut dead = Removed::new();
        let found = self.core.get_index(hash, key, &mut dead);
        drop(dead);
        if let Some(i) = found {
            return &self.core.raw.node(i).value;
        }
        let value = f();
        let mut dead = Removed::new();
        let (i, put) = self
            .core
            .put_absent(hash, key.to_owned(), value, 1, None, &mut dead);
        drop(dead);
        match i {
            Some(i) => {
                drop(put);
                &self.core.raw.node(i).value
            }
            None => {
                let (_key, value) = put.into_pair().expect("a rejected pair");
                self.scratch.insert(value)
            }
        }
    }

    /// Removes `key`'s entry and returns its value if it was alive.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut cache = lru_ttl::TtlCache::new(100, Duration::from_secs(60));
    /// cache.insert(1, "one");
    /// assert_eq!(cache.remove(&1), Some("one"));
    /// assert_eq!(cache.remove(&1), None);
    /// ```
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        let hash = self.hasher.hash_one(key);
        let mut dead = Removed::new();
        let removed = self.core.remove(hash, key, &mut dead).map(|(_, v)| v);
        drop(dead);
        removed
    }

    /// Removes every expired entry now (one pass over the entries) and returns how many.
    ///
    /// ```
    /// use lru_ttl::{ManualClock, TtlCache};
    /// use std::time::Duration;
    /// let clock = ManualClock::new();
    /// let mut cache = TtlCache::with_clock(None, Duration::from_secs(1), clock.clone());
    /// cache.insert(1, 1);
    /// cache.insert(2, 2);
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(cache.purge_expired(), 2);
    /// assert!(cache.is_empty());
    /// ```
    pub fn purge_expired(&mut self) -> usize {
        let mut n = 0;
        self.core.purge_with(|k, v| {
            n += 1;
            drop((k, v));
        });
        n
    }

    /// Changes the bound (`None`: unbounded), evicting down to it.
    ///
    /// # Panics
    ///
    /// If `capacity` is over 2^32 - 2 entries.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut cache = lru_ttl::TtlCache::new(3, Duration::from_secs(60));
    /// for i in 0..3 {
    ///     cache.insert(i, i);
    /// }
    /// cache.resize(Some(1));
    /// assert_eq!(cache.len(), 1);
    /// assert!(cache.contains_key(&2));
    /// ```
    pub fn resize(&mut self, capacity: Option<usize>) {
        drop(self.core.set_capacity(capacity));
    }

    /// The live entries from most to least recently used.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut cache = lru_ttl::TtlCache::new(100, Duration::from_secs(60));
    /// cache.insert(1, 'a');
    /// cache.insert(2, 'b');
    /// let keys: Vec<_> = cache.iter().map(|(k, _)| *k).collect();
    /// assert_eq!(keys, [2, 1]);
    /// ```
    pub fn iter(&self) -> TtlIter<'_, K, V> {
        TtlIter {
            raw: &self.core.raw,
            at: self.core.raw.head(),
            now: self.core.now(),
        }
    }
}

impl<K, V, C, S> TtlCache<K, V, C, S> {
    /// Entries stored, including any that expired but have not been removed yet (call
    /// [`purge_expired`](TtlCache::purge_expired) first for the live count).
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut cache = lru_ttl::TtlCache::new(100, Duration::from_secs(60));
    /// cache.insert(1, 1);
    /// assert_eq!(cache.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.core.raw.len()
    }

    /// Whether nothing is stored.
    ///
    /// ```
    /// let cache: lru_ttl::TtlCache<u8, u8> = lru_ttl::TtlCache::new(1, std::time::Duration::from_secs(1));
    /// assert!(cache.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bound on the number of entries; `None` when unbounded.
    ///
    /// ```
    /// let cache: lru_ttl::TtlCache<u8, u8> =
    ///     lru_ttl::TtlCache::new(9, std::time::Duration::from_secs(1));
    /// assert_eq!(cache.capacity(), Some(9));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.core.capacity()
    }

    /// The default time to live.
    ///
    /// ```
    /// use std::time::Duration;
    /// let cache: lru_ttl::TtlCache<u8, u8> = lru_ttl::TtlCache::new(8, Duration::from_secs(3));
    /// assert_eq!(cache.ttl(), Duration::from_secs(3));
    /// ```
    pub fn ttl(&self) -> Duration {
        Duration::from_nanos(self.core.ttl)
    }

    /// Removes every entry and resets the statistics (`cache_clear()`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut cache = lru_ttl::TtlCache::new(100, Duration::from_secs(60));
    /// cache.insert(1, 1);
    /// cache.clear();
    /// assert!(cache.is_empty());
    /// ```
    pub fn clear(&mut self) {
        self.scratch = None;
        self.core.reset();
    }

    /// Hits, misses, bound and size (`cache_info()`); the size counts entries stored.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut cache: lru_ttl::TtlCache<u8, u8> = lru_ttl::TtlCache::new(100, Duration::from_secs(60));
    /// cache.get(&1);
    /// assert_eq!(cache.cache_info().misses, 1);
    /// ```
    pub fn cache_info(&self) -> CacheInfo {
        self.core.info()
    }

    /// Bytes of heap memory the cache holds (its slab and index table).
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut cache = lru_ttl::TtlCache::new(100, Duration::from_secs(60));
    /// for i in 0..100u64 {
    ///     cache.insert(i, i);
    /// }
    /// assert!(cache.heap_size() >= 100 * 40);
    /// ```
    pub fn heap_size(&self) -> usize {
        self.core.raw.heap_bytes()
    }
}

impl<K: fmt::Debug, V: fmt::Debug, C, S> fmt::Debug for TtlCache<K, V, C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TtlCache")
            .field("len", &self.len())
            .field("capacity", &self.core.capacity())
            .field("ttl", &Duration::from_nanos(self.core.ttl))
            .finish_non_exhaustive()
    }
}

/// The live entries of a [`TtlCache`], most recently used first; see [`TtlCache::iter`].
///
/// ```
/// use std::time::Duration;
/// let mut cache = lru_ttl::TtlCache::new(100, Duration::from_secs(60));
/// cache.insert(1, 1);
/// let it: lru_ttl::TtlIter<'_, i32, i32> = cache.iter();
/// assert_eq!(it.count(), 1);
/// ```
pub struct TtlIter<'a, K, V> {
    raw: &'a Raw<K, V, Expiry>,
    at: u32,
    now: u64,
}

impl<'a, K, V> Iterator for TtlIter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        while self.at != NIL {
            let i = self.at;
            self.at = self.raw.next_of(i);
            let n = self.raw.node(i);
            if self.now < n.extra.deadline() {
                return Some((&n.key, &n.value));
            }
        }
        None
    }
}

impl<K, V> std::iter::FusedIterator for TtlIter<'_, K, V> {}

impl<K, V> fmt::Debug for TtlIter<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TtlIter").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    /// A full cache evicts an expired entry before a live one, wherever the expired one
    /// was set: here it was set after a live entry with a longer ttl (which is also the
    /// least recently used), so neither set order nor recency finds it.
    #[test]
    fn expired_entries_go_before_live_ones_whatever_their_set_order() {
        let clock = ManualClock::new();
        let mut c: TtlCache<&str, u32, ManualClock> =
            TtlCache::with_clock(Some(3), Duration::from_secs(100), clock.clone());
        c.insert("old", 1);
        c.insert_with_ttl("short", 2, Duration::from_secs(1));
        c.insert("new", 3);
        clock.advance(Duration::from_secs(2));
        // "short" expired: it leaves, and nothing live is evicted.
        assert_eq!(c.insert("more", 4), None);
        assert_eq!(c.len(), 3);
        assert_eq!(c.get("old"), Some(&1));
        assert_eq!(c.get("new"), Some(&3));
        c.core.raw.check();
        // Short-lived entries set after a long-lived one that is least recently used: all of
        // them go before it.
        let mut c: TtlCache<u32, u32, ManualClock> =
            TtlCache::with_clock(Some(4), Duration::from_secs(100), clock.clone());
        c.insert(0, 0);
        for k in 1..4 {
            c.insert_with_ttl(k, k, Duration::from_secs(1));
        }
        clock.advance(Duration::from_secs(2));
        for k in 10..13 {
            c.insert(k, k);
            c.core.raw.check();
        }
        assert_eq!(c.peek(&0), Some(&0));
        assert_eq!(c.len(), 4);
    }

    #[test]
    fn invariants_hold_with_expiry_and_overrides() {
        let clock = ManualClock::new();
        let mut c: TtlCache<u32, u32, ManualClock> =
            TtlCache::with_clock(Some(6), Duration::from_nanos(10), clock.clone());
        for i in 0..400u32 {
            match i % 6 {
                0 | 1 => {
                    c.insert(i % 13, i);
                }
                2 => {
                    c.insert_with_ttl(i % 9, i, Duration::from_nanos(u64::from(i % 4)));
                }
                3 => {
                    c.get(&(i % 11));
                }
                4 => {
                    c.remove(&(i % 7));
                }
                _ => {
                    if i % 30 == 5 {
                        c.purge_expired();
                    }
                    c.get_or_insert_with(&(i % 17), || i);
                }
            }
            clock.advance(Duration::from_nanos(u64::from(i % 3)));
            c.core.raw().check();
            assert!(c.len() <= 6);
        }
    }
}
