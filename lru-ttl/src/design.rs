//! How lru-ttl works, for contributors: one structure under every cache, the thread-safe layer over it, and the invariants that keep it consistent.
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
//! On top of that structure, the cores (`cores/lru.rs`, `cores/timed.rs`; the trait a shard
//! asks of its core in `cores/mod.rs`) and the single-threaded caches over them (`lru.rs`,
//! `ttl.rs`):
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
//! The thread-safe [`Cache`] (`cache.rs`, the type; `builder.rs`, its [`CacheBuilder`];
//! `cores/either.rs`, the core its shards were built with; `sharded.rs`, locking and the
//! slow paths) holds an array of shards, each a lock
//! (`parking_lot::Mutex`, via `sync.rs`) around one single-threaded core, picked by bits of
//! the key's hash: the LRU core for a plain cache ([`SyncLruCache`], `Cache::new`), the
//! timed core (nodes that also keep their last access and weight) once the builder is
//! given a time to live, a time to idle, a per-entry expiry, a weigher or an
//! [`EvictionPolicy`] other than LRU. The timed core asks its policy (`eviction/`: the
//! dispatch and a table of what each does on a hit, an update and an eviction in `mod.rs`,
//! one file per policy, the sketch apart) which live entry to give up; the policies keep
//! their order on the slab's lists and a word of state per node. Every node type, its bits
//! and the constants they share are in `node.rs`, below the slab (`raw.rs`), the cores
//! (`cores/`) and the policies, which import it and not each other's types. The
//! dependencies run one way: public types, then sharding, then cores, then policies, then
//! the slab and the node layout.
//! One shard gives an exact global LRU (or an exact FIFO, LFU or random-replacement cache,
//! as cachetools'); more shards give one per shard. Values are returned by
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

#[allow(unused_imports)] // the names the text links to
use crate::*;
