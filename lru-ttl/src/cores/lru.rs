//! `LruCore`: the hash-level strict LRU, a [`Raw`] slab plus its bound and statistics;
//! `LruCache` wraps one, and the thread-safe `Cache` puts one in each shard.

use crate::cores::{Put, RemovalCause, Removed, ShardCore};
use crate::node::{MAX_ENTRIES, NIL};
use crate::raw::Raw;
use crate::stats::CacheInfo;
use std::borrow::Borrow;
use std::time::Duration;

/// The hash-level LRU: a [`Raw`] slab plus its bound and statistics.
pub(crate) struct LruCore<K, V> {
    pub(crate) raw: Raw<K, V, ()>,
    /// The bound; `usize::MAX` when unbounded.
    cap: usize,
    bounded: bool,
    hits: u64,
    misses: u64,
}

impl<K, V> LruCore<K, V> {
    pub(crate) const fn new(cap: Option<usize>) -> Self {
        let (cap, bounded) = match cap {
            Some(c) => (c, true),
            None => (usize::MAX, false),
        };
        Self {
            raw: Raw::new(),
            cap,
            bounded,
            hits: 0,
            misses: 0,
        }
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        self.bounded.then_some(self.cap)
    }

    #[cfg(test)]
    pub(crate) fn raw(&self) -> &Raw<K, V, ()> {
        &self.raw
    }

    /// Finds and promotes, counting the outcome; returns the index.
    #[inline]
    pub(crate) fn get_index<Q>(&mut self, hash: u64, q: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        match self.raw.find(hash, q) {
            Some(i) => {
                self.hits += 1;
                self.raw.touch(i);
                Some(i)
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    /// Stores a key known to be absent, evicting the LRU entry when full. Returns the
    /// new index (`None` when the capacity is zero) and what was evicted or rejected.
    #[inline]
    pub(crate) fn put_absent(&mut self, hash: u64, key: K, value: V) -> (Option<u32>, Put<K, V>) {
        if self.cap == 0 {
            return (None, Put::Rejected(key, value));
        }
        if self.raw.len() >= self.cap {
            let victim = self.raw.tail();
            let (k, v) = self.raw.replace_at(victim, hash, key, value, ());
            return (Some(victim), Put::Evicted(k, v, RemovalCause::Capacity));
        }
        let limit = self.cap.min(MAX_ENTRIES);
        (
            Some(self.raw.push(hash, key, value, (), limit)),
            Put::Stored,
        )
    }

    #[inline]
    pub(crate) fn put(&mut self, hash: u64, key: K, value: V) -> Put<K, V>
    where
        K: Eq,
    {
        if let Some(i) = self.raw.find(hash, &key) {
            self.raw.touch(i);
            let old = std::mem::replace(&mut self.raw.node_mut(i).value, value);
            return Put::Replaced(key, old);
        }
        self.put_absent(hash, key, value).1
    }

    pub(crate) fn remove<Q>(&mut self, hash: u64, q: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        let i = self.raw.find(hash, q)?;
        let n = self.raw.remove_at(i);
        Some((n.key, n.value))
    }

    pub(crate) fn pop_lru(&mut self) -> Option<(K, V)> {
        let t = self.raw.tail();
        if t == NIL {
            return None;
        }
        let n = self.raw.remove_at(t);
        Some((n.key, n.value))
    }

    /// Sets the bound and returns the entries evicted to fit it (all removed before any is
    /// dropped, so a panicking drop cannot leave more entries than the bound).
    pub(crate) fn set_capacity(&mut self, cap: Option<usize>) -> Vec<(K, V)> {
        let shrink = matches!(cap, Some(c) if c < self.raw.len());
        *self = Self {
            raw: std::mem::replace(&mut self.raw, Raw::new()),
            hits: self.hits,
            misses: self.misses,
            ..Self::new(cap)
        };
        let mut out = Vec::with_capacity(self.raw.len().saturating_sub(self.cap));
        while self.raw.len() > self.cap {
            out.extend(self.pop_lru());
        }
        if shrink {
            self.raw.shrink_to(self.cap);
        }
        out
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
        self.raw.clear();
    }
}

impl<K, V> ShardCore for LruCore<K, V> {
    type Key = K;
    type Value = V;

    #[inline]
    fn get_hashed<Q>(&mut self, hash: u64, q: &Q, _out: &mut Removed<K, V>) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        self.get_index(hash, q).map(|i| &self.raw.node(i).value)
    }

    fn peek_hashed<Q>(&self, hash: u64, q: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        self.raw.find(hash, q).map(|i| &self.raw.node(i).value)
    }

    #[inline]
    fn put_hashed(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        _weight: u32,
        _ttl: Option<Duration>,
        _out: &mut Removed<K, V>,
    ) -> Put<K, V>
    where
        K: Eq,
    {
        self.put(hash, key, value)
    }

    fn remove_hashed<Q>(&mut self, hash: u64, q: &Q, _out: &mut Removed<K, V>) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        self.remove(hash, q)
    }

    fn len(&self) -> usize {
        self.raw.len()
    }

    fn weight(&self) -> u64 {
        self.raw.len() as u64
    }

    fn info(&self) -> CacheInfo {
        LruCore::info(self)
    }

    fn take(&mut self) -> Self {
        std::mem::replace(self, Self::new(self.capacity()))
    }

    fn drain(mut self, mut f: impl FnMut(K, V)) {
        while let Some((k, v)) = self.pop_lru() {
            f(k, v);
        }
    }

    fn purge(&mut self, _out: &mut Removed<K, V>) {}

    fn retain(&mut self, keep: &mut dyn FnMut(&K, &V) -> bool, out: &mut Removed<K, V>) {
        let mut i = 0;
        while i < self.raw.slab_len() {
            let n = self.raw.node(i);
            if keep(&n.key, &n.value) {
                i += 1;
            } else {
                // The last node moved into slot `i`: look at `i` again.
                let n = self.raw.remove_at(i);
                out.push(n.key, n.value, RemovalCause::Explicit);
            }
        }
    }

    fn for_each(&self, f: &mut dyn FnMut(&K, &V)) {
        let mut i = self.raw.head();
        while i != NIL {
            let n = self.raw.node(i);
            f(&n.key, &n.value);
            i = self.raw.next_of(i);
        }
    }

    fn heap_bytes(&self) -> usize {
        self.raw.heap_bytes()
    }
}
