//! What a shard of a thread-safe cache needs from its single-threaded core: lookups and
//! updates by a precomputed hash, with every removed entry handed back so that the
//! caller can drop it after releasing the shard's lock.

use crate::stats::CacheInfo;
use std::borrow::Borrow;
use std::time::Duration;

/// What an insertion did with the previous entry for its key, or with the new one.
#[derive(Debug)]
pub(crate) enum Put<K, V> {
    /// Stored; nothing displaced.
    Stored,
    /// The key was stored: its value was replaced; here are the given key and the old value.
    Replaced(K, V),
    /// Stored, and this entry was evicted to make room.
    Evicted(K, V),
    /// Not stored (capacity or ttl zero): the given pair comes back.
    Rejected(K, V),
}

impl<K, V> Put<K, V> {
    /// The pair the insertion displaced or rejected, if any.
    pub(crate) fn into_pair(self) -> Option<(K, V)> {
        match self {
            Put::Stored => None,
            Put::Replaced(k, v) | Put::Evicted(k, v) | Put::Rejected(k, v) => Some((k, v)),
        }
    }
}

/// An entry removed as a side effect (an expired entry met on the way); drop it late.
pub(crate) type Dead<K, V> = Option<(K, V)>;

/// A lookup's result: the value found (if live) and an expired entry removed on the way.
pub(crate) type Found<'a, K, V> = (Option<&'a V>, Dead<K, V>);

/// An insertion's result: what it displaced, and an expired entry removed on the way.
pub(crate) type Stored<K, V> = (Put<K, V>, Dead<K, V>);

/// A single-threaded cache addressed by precomputed hashes.
pub(crate) trait Policy {
    /// Key type.
    type Key;
    /// Value type.
    type Value;

    /// Looks `q` up, counting a hit or miss and promoting a hit.
    fn get_hashed<Q>(&mut self, hash: u64, q: &Q) -> Found<'_, Self::Key, Self::Value>
    where
        Self::Key: Borrow<Q>,
        Q: ?Sized + Eq;

    /// Looks `q` up without counting or promoting.
    fn peek_hashed<Q>(&self, hash: u64, q: &Q) -> Option<&Self::Value>
    where
        Self::Key: Borrow<Q>,
        Q: ?Sized + Eq;

    /// Inserts or replaces; `ttl` overrides a TTL cache's default (ignored by LRU).
    fn put_hashed(
        &mut self,
        hash: u64,
        key: Self::Key,
        value: Self::Value,
        ttl: Option<Duration>,
    ) -> Stored<Self::Key, Self::Value>
    where
        Self::Key: Eq;

    /// Removes `q`'s entry.
    fn remove_hashed<Q>(&mut self, hash: u64, q: &Q) -> Option<(Self::Key, Self::Value)>
    where
        Self::Key: Borrow<Q>,
        Q: ?Sized + Eq;

    /// Entries stored.
    fn len(&self) -> usize;

    /// Statistics of this core alone.
    fn info(&self) -> CacheInfo;

    /// Empties the core and resets its statistics, returning the old contents to drop later.
    fn take(&mut self) -> Self;

    /// Removes every expired entry (TTL) and returns them; LRU returns nothing.
    fn purge(&mut self) -> Vec<(Self::Key, Self::Value)>;

    /// Heap bytes held.
    fn heap_bytes(&self) -> usize;
}
