//! The single-threaded cores that every cache is made of, addressed by precomputed hashes:
//! [`ShardCore`] is what a shard of the thread-safe `Cache` asks of its core (and what the
//! single-threaded caches wrap), with the records of what an operation removed. One core
//! per kind: `lru.rs` (the strict LRU), `timed.rs` (deadlines, time to idle, weights and the
//! eviction policies), and `either.rs` (the one of the two a `Cache` was built with). They
//! sit on the slab (`raw.rs`) and the node types (`node.rs`).

pub(crate) mod either;
pub(crate) mod lru;
pub(crate) mod timed;

use crate::stats::CacheInfo;
use std::borrow::Borrow;
use std::time::Duration;

/// Why an entry left a cache, as an eviction listener is told.
///
/// ```
/// use lru_ttl::RemovalCause;
/// assert!(RemovalCause::Capacity.was_evicted());
/// assert!(RemovalCause::Expired.was_evicted());
/// assert!(!RemovalCause::Replaced.was_evicted());
/// assert!(!RemovalCause::Explicit.was_evicted());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RemovalCause {
    /// Its time to live, or its time to idle, ran out.
    Expired,
    /// Evicted to keep the cache within its capacity (in entries or in weight).
    Capacity,
    /// Its value was replaced by an insertion for the same key.
    Replaced,
    /// Removed by a call: `remove`, `retain`, `clear`.
    Explicit,
}

impl RemovalCause {
    /// Whether the cache chose to remove the entry (it expired or made room), rather than
    /// a caller.
    ///
    /// ```
    /// assert!(!lru_ttl::RemovalCause::Explicit.was_evicted());
    /// ```
    pub fn was_evicted(self) -> bool {
        matches!(self, RemovalCause::Expired | RemovalCause::Capacity)
    }
}

/// Entries one operation removed as side effects, in order, each with its cause. The first
/// is kept inline: most operations remove at most one, and then nothing is allocated.
pub(crate) struct Removed<K, V> {
    first: Option<(K, V, RemovalCause)>,
    rest: Vec<(K, V, RemovalCause)>,
}

impl<K, V> Removed<K, V> {
    /// None yet.
    pub(crate) const fn new() -> Self {
        Self {
            first: None,
            rest: Vec::new(),
        }
    }

    /// Adds one.
    pub(crate) fn push(&mut self, key: K, value: V, cause: RemovalCause) {
        if self.first.is_none() {
            self.first = Some((key, value, cause));
        } else {
            self.rest.push((key, value, cause));
        }
    }

    /// Whether there are none.
    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// How many.
    pub(crate) fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    /// Every one, in order.
    pub(crate) fn into_iter(self) -> impl Iterator<Item = (K, V, RemovalCause)> {
        self.first.into_iter().chain(self.rest)
    }
}

/// What an insertion did with the previous entry for its key, or with the new one.
#[derive(Debug)]
pub(crate) enum Put<K, V> {
    /// Stored; nothing displaced (but perhaps side effects in the [`Removed`] list).
    Stored,
    /// The key was stored: its value was replaced; here are the given key and the old value.
    Replaced(K, V),
    /// Stored, and this entry was evicted to make room (its slot reused), for this cause.
    Evicted(K, V, RemovalCause),
    /// Not stored (capacity, weight or ttl zero, or too heavy): the given pair comes back.
    Rejected(K, V),
}

impl<K, V> Put<K, V> {
    /// The pair the insertion displaced or rejected, if any.
    pub(crate) fn into_pair(self) -> Option<(K, V)> {
        match self {
            Put::Stored => None,
            Put::Replaced(k, v) | Put::Evicted(k, v, _) | Put::Rejected(k, v) => Some((k, v)),
        }
    }
}

/// A single-threaded cache addressed by precomputed hashes. Entries removed as side effects
/// (expired ones met on the way, entries evicted to make room beyond the one reported in
/// [`Put`]) are pushed onto `out`.
pub(crate) trait ShardCore {
    /// Key type.
    type Key;
    /// Value type.
    type Value;

    /// Looks `q` up, counting a hit or miss and promoting a hit.
    fn get_hashed<Q>(
        &mut self,
        hash: u64,
        q: &Q,
        out: &mut Removed<Self::Key, Self::Value>,
    ) -> Option<&Self::Value>
    where
        Self::Key: Borrow<Q>,
        Q: ?Sized + Eq;

    /// Looks `q` up without counting or promoting.
    fn peek_hashed<Q>(&self, hash: u64, q: &Q) -> Option<&Self::Value>
    where
        Self::Key: Borrow<Q>,
        Q: ?Sized + Eq;

    /// Inserts or replaces an entry of `weight` (ignored where weights are not kept); `ttl`
    /// overrides a timed cache's default (ignored by an untimed one).
    fn put_hashed(
        &mut self,
        hash: u64,
        key: Self::Key,
        value: Self::Value,
        weight: u32,
        ttl: Option<Duration>,
        out: &mut Removed<Self::Key, Self::Value>,
    ) -> Put<Self::Key, Self::Value>
    where
        Self::Key: Eq;

    /// Removes `q`'s live entry and returns it (an expired one goes to `out`).
    fn remove_hashed<Q>(
        &mut self,
        hash: u64,
        q: &Q,
        out: &mut Removed<Self::Key, Self::Value>,
    ) -> Option<(Self::Key, Self::Value)>
    where
        Self::Key: Borrow<Q>,
        Q: ?Sized + Eq;

    /// Entries stored (expired ones not yet removed included).
    fn len(&self) -> usize;

    /// The total weight of the entries stored (their number where weights are not kept).
    fn weight(&self) -> u64;

    /// Statistics of this core alone.
    fn info(&self) -> CacheInfo;

    /// Empties the core and resets its statistics, returning the old contents to drop (or
    /// [`drain`](ShardCore::drain)) later.
    fn take(&mut self) -> Self;

    /// Consumes the core, handing every entry to `f` (live or not).
    fn drain(self, f: impl FnMut(Self::Key, Self::Value));

    /// Removes every expired entry onto `out`; an untimed core has none.
    fn purge(&mut self, out: &mut Removed<Self::Key, Self::Value>);

    /// Removes every live entry for which `keep` says no, onto `out` as `Explicit` (and
    /// expired ones as `Expired`).
    fn retain(
        &mut self,
        keep: &mut dyn FnMut(&Self::Key, &Self::Value) -> bool,
        out: &mut Removed<Self::Key, Self::Value>,
    );

    /// Calls `f` on every live entry, most recently used first.
    fn for_each(&self, f: &mut dyn FnMut(&Self::Key, &Self::Value));

    /// Heap bytes held.
    fn heap_bytes(&self) -> usize;
}
