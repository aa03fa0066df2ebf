//! `TtlCache`: entries expire a fixed time after they were set, optionally bounded in
//! number with LRU eviction; and its hash-level core `TtlCore` for the shards of the
//! thread-safe variant.
//!
//! Expiry bookkeeping: each node carries its deadline (nanoseconds on the cache's clock)
//! and sits in a min-heap on deadlines (`raw.rs`), so the entry that expires first is
//! known whatever order entries were set in and whatever their own ttls. Every insertion
//! removes that earliest entry if it has expired (so expired entries leave at least as
//! fast as new ones arrive, O(log n), no scan), a full cache evicts it before the least
//! recently used entry if it has expired, so no live entry is evicted while an expired one
//! holds a slot, and a lookup that meets an expired entry removes it. `purge_expired`
//! removes them all. With one ttl for all entries, deadlines arrive in increasing order and
//! filing one costs a single comparison.

use crate::clock::{Clock, InstantClock, nanos};
use crate::eviction::Eviction;
use crate::node::{Expiry, LISTS, MAX_ENTRIES, NEVER, NIL, Timed};
use crate::policy::{Policy, Put, RemovalCause, Removed};
use crate::raw::Raw;
use crate::stats::CacheInfo;
use hashbrown::DefaultHashBuilder;
use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::time::Duration;

/// The hash-level timed cache: entries expire by a time to live (a default, or their own),
/// optionally by a time to idle, and a bound in entries or in total weight evicts expired
/// entries first, then the least recently used.
pub(crate) struct TtlCore<K, V, C, X = Expiry> {
    pub(crate) raw: Raw<K, V, X>,
    /// The bound, in entries or weight units; `u64::MAX` when unbounded.
    max: u64,
    bounded: bool,
    /// The total weight stored (the entry count when unweighted).
    total: u64,
    /// The default time to live, in nanoseconds ([`NEVER`]: none).
    pub(crate) ttl: u64,
    /// The time to idle ([`NEVER`]: none; kept only when `X::IDLE`).
    tti: u64,
    /// Whether any entry can expire (a ttl, a tti, or an entry's own ttl was given): if not,
    /// the clock is not read and every time is 0.
    clocked: bool,
    /// The eviction policy and its order (LRU for `TtlCache`).
    pub(crate) eviction: Eviction,
    clock: C,
    hits: u64,
    misses: u64,
}

impl<K, V, C, X: Timed> TtlCore<K, V, C, X> {
    pub(crate) fn capacity(&self) -> Option<usize> {
        self.bounded
            .then_some(usize::try_from(self.max).unwrap_or(usize::MAX))
    }

    pub(crate) fn info(&self) -> CacheInfo {
        CacheInfo {
            hits: self.hits,
            misses: self.misses,
            maxsize: self.capacity(),
            currsize: self.raw.len(),
        }
    }

    pub(crate) fn reset(&mut self) {
        self.hits = 0;
        self.misses = 0;
        self.total = 0;
        self.raw.clear();
    }
}

impl<K, V, C: Clock, X: Timed> TtlCore<K, V, C, X> {
    /// A core bounded by `cap` entries (or weight units; `None`: unbounded), whose entries
    /// live `ttl` by default ([`NEVER`]: forever) and, if `X::IDLE`, `tti` after their last
    /// access.
    pub(crate) fn with_limits(cap: Option<u64>, ttl: u64, tti: u64, clock: C) -> Self {
        if !X::WEIGHTED
            && let Some(c) = cap
        {
            assert!(
                c <= MAX_ENTRIES as u64,
                "lru-ttl: capacity over 2^32 - 2 entries"
            );
        }
        Self {
            raw: Raw::new(),
            max: cap.unwrap_or(u64::MAX),
            bounded: cap.is_some(),
            total: 0,
            ttl,
            tti: if X::IDLE { tti } else { NEVER },
            clocked: ttl != NEVER || (X::IDLE && tti != NEVER),
            eviction: Eviction::Lru,
            clock,
            hits: 0,
            misses: 0,
        }
    }

    /// The same core with another eviction policy.
    pub(crate) fn with_eviction(mut self, eviction: Eviction) -> Self {
        self.eviction = eviction;
        self
    }

    /// A core bounded by `cap` entries whose entries live `ttl`.
    pub(crate) fn new(cap: Option<usize>, ttl: Duration, clock: C) -> Self {
        Self::with_limits(cap.map(|c| c as u64), nanos(ttl), NEVER, clock)
    }

    #[cfg(test)]
    pub(crate) fn raw(&self) -> &Raw<K, V, X> {
        &self.raw
    }

    #[inline]
    pub(crate) fn now(&self) -> u64 {
        if self.clocked {
            nanos(self.clock.now())
        } else {
            0
        }
    }

    /// Whether node `i` has expired at `now`, by its time to live or its time to idle.
    #[inline]
    pub(crate) fn expired(&self, i: u32, now: u64) -> bool {
        let x = &self.raw.node(i).extra;
        now >= x.deadline() || (X::IDLE && now >= x.accessed().saturating_add(self.tti))
    }

    fn remove_node(&mut self, i: u32) -> (K, V) {
        self.eviction.removing(&self.raw, i);
        let last = self.raw.slab_len() - 1;
        let n = self.raw.remove_at(i);
        self.eviction.moved(&self.raw, i, last);
        self.total -= u64::from(n.extra.weight());
        (n.key, n.value)
    }

    /// An expired entry if there is any: the one whose deadline passed first, else (with a
    /// time to idle) the least recently used, which has been idle longest.
    fn first_expired(&self, now: u64) -> Option<u32> {
        if let Some((d, i)) = self.raw.earliest()
            && now >= d
        {
            return Some(i);
        }
        // Under LRU the last entry has been idle longest; other policies find idle ones
        // when they meet them, or purge.
        let t = self.raw.tail();
        (X::IDLE && self.tti != NEVER && self.eviction.is_lru() && t != NIL && self.expired(t, now))
            .then_some(t)
    }

    /// Removes one expired entry, if any, onto `out`: called on every insertion, so expired
    /// entries leave at least as fast as new ones arrive.
    fn purge_one(&mut self, now: u64, out: &mut Removed<K, V>) {
        if let Some(i) = self.first_expired(now) {
            let (k, v) = self.remove_node(i);
            out.push(k, v, RemovalCause::Expired);
        }
    }

    /// The entry to evict to make room and why: an expired one if there is any, else the
    /// eviction policy's choice (the least recently used by default).
    fn victim(&mut self, now: u64) -> (u32, RemovalCause) {
        match self.first_expired(now) {
            Some(i) => (i, RemovalCause::Expired),
            None => (
                self.eviction.victim(&mut self.raw, self.max),
                RemovalCause::Capacity,
            ),
        }
    }

    /// Finds a live entry, promoting it (and, with a time to idle, renewing it) and counting
    /// the outcome; an expired entry met is removed onto `out`.
    #[inline]
    pub(crate) fn get_index<Q>(&mut self, hash: u64, q: &Q, out: &mut Removed<K, V>) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        let Some(i) = self.raw.find(hash, q) else {
            self.misses += 1;
            self.eviction.missed(hash, self.max);
            return None;
        };
        let now = self.now();
        if self.expired(i, now) {
            self.misses += 1;
            self.eviction.missed(hash, self.max);
            let (k, v) = self.remove_node(i);
            out.push(k, v, RemovalCause::Expired);
            return None;
        }
        self.hits += 1;
        self.eviction.hit(&mut self.raw, i, self.max);
        if X::IDLE {
            self.raw.node_mut(i).extra.set_accessed(now);
        }
        Some(i)
    }

    pub(crate) fn peek_index<Q>(&self, hash: u64, q: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        self.raw
            .find(hash, q)
            .filter(|&i| !self.expired(i, self.now()))
    }

    /// Whether an entry of `weight` living `ttl` can be stored at all.
    fn storable(&self, ttl: u64, weight: u64) -> bool {
        ttl != 0 && self.max != 0 && weight <= self.max
    }

    /// Stores a key known to be absent. Returns its index (`None` if not stored) and what
    /// was evicted or rejected; an expired entry purged on the way, and in weighted cores
    /// the entries evicted to make room, go to `out`.
    pub(crate) fn put_absent(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        weight: u32,
        ttl: Option<Duration>,
        out: &mut Removed<K, V>,
    ) -> (Option<u32>, Put<K, V>) {
        let ttl = ttl.map_or(self.ttl, nanos);
        let w = if X::WEIGHTED { u64::from(weight) } else { 1 };
        if !self.storable(ttl, w) {
            return (None, Put::Rejected(key, value));
        }
        self.clocked |= ttl != self.ttl;
        let now = self.now();
        self.purge_one(now, out);
        let extra = X::new(now.saturating_add(ttl), now, weight);
        if !X::WEIGHTED && self.raw.len() as u64 >= self.max && self.eviction.reuses_slot() {
            // Full: the victim's slot takes the new entry.
            let (victim, cause) = self.victim(now);
            let (k, v) = self.raw.replace_at(victim, hash, key, value, extra);
            return (Some(victim), Put::Evicted(k, v, cause));
        }
        while self.total + w > self.max {
            let (victim, cause) = self.victim(now);
            let (k, v) = self.remove_node(victim);
            out.push(k, v, cause);
        }
        let limit = if X::WEIGHTED {
            MAX_ENTRIES
        } else {
            usize::try_from(self.max)
                .unwrap_or(usize::MAX)
                .min(MAX_ENTRIES)
        };
        let i = self.raw.push(hash, key, value, extra, limit);
        self.total += w;
        self.eviction
            .inserted(&mut self.raw, i, self.max, self.total);
        (Some(i), Put::Stored)
    }

    pub(crate) fn put(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        weight: u32,
        ttl: Option<Duration>,
        out: &mut Removed<K, V>,
    ) -> Put<K, V>
    where
        K: Eq,
    {
        let Some(mut i) = self.raw.find(hash, &key) else {
            return self.put_absent(hash, key, value, weight, ttl, out).1;
        };
        if self.expired(i, self.now()) {
            // The old entry is not replaced: it had already left, by expiry.
            let (k, v) = self.remove_node(i);
            out.push(k, v, RemovalCause::Expired);
            return self.put_absent(hash, key, value, weight, ttl, out).1;
        }
        let ttl = ttl.map_or(self.ttl, nanos);
        let w = if X::WEIGHTED { u64::from(weight) } else { 1 };
        if !self.storable(ttl, w) {
            // Setting what cannot be stored: the old entry is gone and nothing is stored.
            let (k, v) = self.remove_node(i);
            out.push(k, v, RemovalCause::Replaced);
            return Put::Rejected(key, value);
        }
        self.clocked |= ttl != self.ttl;
        let now = self.now();
        let old_w = u64::from(self.raw.node(i).extra.weight());
        if self.eviction.evicts_before_update() {
            // As cachetools: make room with the key where it is; if the policy gives up the
            // key itself, its old value leaves and the new one is stored afresh.
            while self.total - old_w + w > self.max {
                let (victim, cause) = self.victim(now);
                if victim == i {
                    let (old_key, old) = self.remove_node(i);
                    let ttl = Some(Duration::from_nanos(ttl));
                    match self.put_absent(hash, key, value, weight, ttl, out).1 {
                        Put::Stored | Put::Replaced(..) => {}
                        Put::Evicted(k, v, cause) => out.push(k, v, cause),
                        Put::Rejected(k, v) => out.push(k, v, RemovalCause::Replaced),
                    }
                    return Put::Replaced(old_key, old);
                }
                let last = self.raw.slab_len() - 1;
                let (k, v) = self.remove_node(victim);
                out.push(k, v, cause);
                if i == last {
                    i = victim;
                }
            }
        }
        let n = self.raw.node_mut(i);
        n.extra.reset(now.saturating_add(ttl), now, weight);
        let old = std::mem::replace(&mut n.value, value);
        self.total = self.total - old_w + w;
        self.eviction.reweigh(&self.raw, i, old_w as u32, weight);
        self.eviction.updated(&mut self.raw, i);
        self.raw.deadline_changed(i);
        // A heavier value may push others out (never this one: it is the most recent and
        // fits alone).
        while self.total > self.max {
            let (victim, cause) = self.victim(now);
            let (k, v) = self.remove_node(victim);
            out.push(k, v, cause);
        }
        self.purge_one(now, out);
        Put::Replaced(key, old)
    }

    pub(crate) fn remove<Q>(&mut self, hash: u64, q: &Q, out: &mut Removed<K, V>) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        let i = self.raw.find(hash, q)?;
        let expired = self.expired(i, self.now());
        let (k, v) = self.remove_node(i);
        if expired {
            // Removed but, as it was not alive, not returned.
            out.push(k, v, RemovalCause::Expired);
            return None;
        }
        Some((k, v))
    }

    /// Removes every expired entry (a full scan), handing each to `out` right after it is
    /// removed.
    pub(crate) fn purge_with(&mut self, mut out: impl FnMut(K, V)) {
        let now = self.now();
        let mut i = 0;
        while i < self.raw.slab_len() {
            if self.expired(i, now) {
                // The last node moved into slot `i`: look at `i` again.
                let (k, v) = self.remove_node(i);
                out(k, v);
            } else {
                i += 1;
            }
        }
    }

    /// Sets the bound and returns the entries evicted to fit it (all removed before any is
    /// dropped).
    pub(crate) fn set_capacity(&mut self, cap: Option<usize>) -> Vec<(K, V)> {
        if let Some(c) = cap {
            assert!(c <= MAX_ENTRIES, "lru-ttl: capacity over 2^32 - 2 entries");
        }
        self.max = cap.map_or(u64::MAX, |c| c as u64);
        self.bounded = cap.is_some();
        let now = self.now();
        let shrink = self.total > self.max;
        let mut out = Vec::new();
        while self.total > self.max {
            let (victim, _) = self.victim(now);
            out.push(self.remove_node(victim));
        }
        if shrink && !X::WEIGHTED {
            self.raw.shrink_to(self.raw.len());
        }
        out
    }
}

impl<K, V, C: Clock + Clone, X: Timed> Policy for TtlCore<K, V, C, X> {
    type Key = K;
    type Value = V;

    #[inline]
    fn get_hashed<Q>(&mut self, hash: u64, q: &Q, out: &mut Removed<K, V>) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        let i = self.get_index(hash, q, out)?;
        Some(&self.raw.node(i).value)
    }

    fn peek_hashed<Q>(&self, hash: u64, q: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        self.peek_index(hash, q).map(|i| &self.raw.node(i).value)
    }

    fn put_hashed(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        weight: u32,
        ttl: Option<Duration>,
        out: &mut Removed<K, V>,
    ) -> Put<K, V>
    where
        K: Eq,
    {
        self.put(hash, key, value, weight, ttl, out)
    }

    fn remove_hashed<Q>(&mut self, hash: u64, q: &Q, out: &mut Removed<K, V>) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        self.remove(hash, q, out)
    }

    fn len(&self) -> usize {
        self.raw.len()
    }

    fn weight(&self) -> u64 {
        self.total
    }

    fn info(&self) -> CacheInfo {
        TtlCore::info(self)
    }

    fn take(&mut self) -> Self {
        let fresh = Self {
            raw: Raw::new(),
            max: self.max,
            bounded: self.bounded,
            total: 0,
            ttl: self.ttl,
            tti: self.tti,
            clocked: self.clocked,
            eviction: self.eviction.fresh(),
            clock: self.clock.clone(),
            hits: 0,
            misses: 0,
        };
        std::mem::replace(self, fresh)
    }

    fn drain(mut self, mut f: impl FnMut(K, V)) {
        while self.raw.len() > 0 {
            let (k, v) = self.remove_node(self.raw.slab_len() - 1);
            f(k, v);
        }
    }

    fn purge(&mut self, out: &mut Removed<K, V>) {
        self.purge_with(|k, v| out.push(k, v, RemovalCause::Expired));
    }

    fn retain(&mut self, keep: &mut dyn FnMut(&K, &V) -> bool, out: &mut Removed<K, V>) {
        let now = self.now();
        let mut i = 0;
        while i < self.raw.slab_len() {
            let cause = if self.expired(i, now) {
                RemovalCause::Expired
            } else {
                let n = self.raw.node(i);
                if keep(&n.key, &n.value) {
                    i += 1;
                    continue;
                }
                RemovalCause::Explicit
            };
            // The last node moved into slot `i`: look at `i` again.
            let (k, v) = self.remove_node(i);
            out.push(k, v, cause);
        }
    }

    fn for_each(&self, f: &mut dyn FnMut(&K, &V)) {
        let now = self.now();
        for l in 0..LISTS {
            let mut i = self.raw.head_of(l);
            while i != NIL {
                if !self.expired(i, now) {
                    let n = self.raw.node(i);
                    f(&n.key, &n.value);
                }
                i = self.raw.next_of(i);
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        self.raw.heap_bytes() + self.eviction.heap_bytes()
    }
}

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
