//! `TtlCore`: the hash-level timed core, with a time to live, a time to idle, a bound in
//! entries or weight and an eviction policy; `TtlCache` wraps one, and the thread-safe
//! `Cache` puts one in each shard when it was built with any of those.
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

use crate::clock::{Clock, nanos};
use crate::cores::{Put, RemovalCause, Removed, ShardCore};
use crate::eviction::Eviction;
use crate::node::{Expiry, LISTS, MAX_ENTRIES, NEVER, NIL, Timed};
use crate::raw::Raw;
use crate::stats::CacheInfo;
use std::borrow::Borrow;
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

impl<K, V, C: Clock + Clone, X: Timed> ShardCore for TtlCore<K, V, C, X> {
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
