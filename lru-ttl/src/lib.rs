//! # lru-ttl: exact LRU and TTL caches, and `lru_cache`-style memoization
//!
//! ## Design
//!
//! Every cache in this crate is built on one structure (file `raw.rs`, the fast path): a
//! *slab* (`Vec`) of nodes, each holding key, value, the key's hash and two `u32` links of
//! a doubly linked recency list, plus a `hashbrown::HashTable<u32>` of slab indices. A lookup hashes the key once, probes the table (comparing the stored hash
//! before calling `Eq`), and relinks the node at the head of the list: no allocation, no
//! pointer chasing beyond the slab. Insertion into a full cache reuses the slot of the
//! least recently used node in place. Removal swaps the last node into the hole and patches
//! the three places that name it, so the slab stays dense without a free list. Evictions
//! leave tombstones in the table; when they use up its free slots it is rebuilt in place
//! from the stored hashes rather than grown, so a full cache never reallocates. For
//! `K = V = u64` a node is 32 bytes and the table adds about 5 bytes per bucket: about 40
//! bytes per entry in a full cache (the `lru` crate: about 84).
//!
//! The crate forbids `unsafe_code` (so Miri has nothing to check): indices into a `Vec`
//! are bounds-checked, and the structure stays consistent if user code panics, because
//! user code runs only at points where it is consistent:
//! - `Hash` runs before anything is touched; rehashing the table uses the stored hashes,
//!   never user `Hash`;
//! - `Eq` runs only inside lookups, which mutate nothing;
//! - removed, replaced and evicted entries are handed back to the caller and dropped
//!   after the structure is whole again (`Drop`);
//! - `get_or_insert_with` runs its closure before touching the structure.
//!
//! On top of that structure (`lru.rs`, `ttl.rs`):
//! - [`LruCache`]: strict LRU with a bound (`maxsize`) or none.
//! - [`TtlCache`]: each node also carries a deadline, and a min-heap of node indices on
//!   deadlines knows which entry expires first, whatever the order entries were set in
//!   and whatever their own ttls. An entry set at `t` is alive while `now < t + ttl`.
//!   Reads do not extend it. Expired entries are removed lazily (on lookup; the first to
//!   expire on each insertion, and in preference to the LRU entry when full, so no live
//!   entry is evicted while an expired one holds a slot) and all at once by
//!   `purge_expired`. Time comes from a [`Clock`] ([`InstantClock`] by default,
//!   [`ManualClock`] in tests).
//! - Statistics ([`CacheInfo`], `stats.rs`): hits, misses, maxsize, currsize.
//!
//! The thread-safe [`Cache`] (`cache.rs`, the type and its [`CacheBuilder`];
//! `sharded.rs`, locking and the slow paths) holds an array of shards, each a lock
//! (`parking_lot::Mutex`, via `sync.rs`) around one single-threaded core, picked by bits of
//! the key's hash: the LRU core for a plain cache ([`SyncLruCache`], `Cache::new`), the
//! timed core (nodes that also keep their last access and weight) once the builder is
//! given a time to live, a time to idle, a per-entry expiry or a weigher. One shard gives
//! an exact global LRU; more shards give an exact LRU per shard. Values are returned by
//! clone. Every entry an operation removes comes back from the core with its
//! [`RemovalCause`]; the eviction listener sees it and it is dropped after the shard lock
//! is released. No user code runs while a shard lock is held, except `Eq` and `Clone` of
//! keys and values and `retain`'s predicate. `get_or_insert_with` keeps a list of keys
//! being computed per shard: later callers for the same key wait on that computation's
//! condition variable instead of computing again (stampede protection); if the
//! computation panics they wake and one of them retries.
//!
//! Memoization (`memo.rs`): [`Memoize`] wraps a one-shard thread-safe cache keyed by the
//! argument tuple, and the [`lru_cache!`] macro declares a memoized function and its
//! `static` memo table, whose `cache_info()` and `cache_clear()` mirror Python's.
//!
//! `sync.rs` is the only module importing locks and atomics; under `cfg(loom)` it maps
//! them to loom's model-checked types (`tests/loom.rs`).
//!
//! ## Example
//!
//! ```
//! use lru_ttl::{LruCache, SyncLruCache};
//!
//! let mut cache = LruCache::new(2);
//! cache.insert("a", 1);
//! cache.insert("b", 2);
//! assert_eq!(cache.get(&"a"), Some(&1));
//! cache.insert("c", 3);                  // evicts "b", the least recently used
//! assert!(!cache.contains_key(&"b"));
//!
//! let shared = SyncLruCache::new(10_000);
//! assert_eq!(shared.get_or_insert_with(&7, || 49), 49);
//! ```

#![forbid(unsafe_code)]

mod cache;
mod clock;
mod lru;
mod memo;
mod policy;
mod raw;
mod sharded;
mod stats;
mod sync;
mod ttl;

pub use cache::{Cache, CacheBuilder, SyncLruCache};
pub use clock::{Clock, InstantClock, ManualClock};
pub use lru::{Iter as LruIter, LruCache};
pub use memo::Memoize;
pub use policy::RemovalCause;
pub use stats::CacheInfo;
pub use ttl::{TtlCache, TtlIter};

/// Items used by the expansion of [`lru_cache!`]; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::sync::LazyLock;

    /// Accepts `128` or `None` (or `Some(128)`) as a maxsize.
    ///
    /// ```
    /// assert_eq!(lru_ttl::__private::maxsize(5), Some(5));
    /// assert_eq!(lru_ttl::__private::maxsize(None), None);
    /// ```
    pub fn maxsize(m: impl Into<Option<usize>>) -> Option<usize> {
        m.into()
    }
}

#[cfg(test)]
mod send_sync {
    use super::*;

    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn caches_are_send_and_sync_for_send_sync_contents() {
        send_sync::<LruCache<u64, String>>();
        send_sync::<TtlCache<u64, String>>();
        send_sync::<SyncLruCache<u64, String>>();
        send_sync::<Cache<u64, String>>();
        send_sync::<Memoize<(u64,), String>>();
        send_sync::<ManualClock>();
        // Shared caches need only `Send` contents: every access is under a lock.
        send_sync::<SyncLruCache<u64, std::cell::Cell<u8>>>();
    }
}

/// The README's examples, compiled and run as doctests.
/// (Its service example uses the async loaders: the README is tested with the `async` feature.)
#[cfg(all(doctest, feature = "async"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
