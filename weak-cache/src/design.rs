//! How weakref-cache works, for contributors: the shards, the dead entries and the memory bound, and the in-flight protocol.
//!
//! **Shards** (`shard.rs`). Every container is a power-of-two array of shards (by default four
//! per core), each a `hashbrown::HashTable` behind its own `parking_lot` mutex on its own cache
//! line. A key's shard comes from bits 32.. of its hash, so threads using different keys rarely
//! share a lock. Each entry stores its full 64-bit hash: resizing, purging and shrinking never
//! call the user's `Hash` again, and a look-up calls `Eq` only on entries with an equal hash.
//!
//! **Dead entries and the memory bound** (`shard.rs`). Rust runs no callback when the last
//! `Arc` of an object drops, so an entry whose object died stays stored (its `Weak` still
//! pins the allocation, though not the object) until it is purged. Purging is lazy and
//! amortized, as in CPython's dict resizing: a look-up that meets a dead entry for its key
//! removes it; an insertion of a *new* key into a shard that has grown to about twice what it
//! kept at its last purge first removes all of that shard's dead entries; and `purge()`
//! removes them all now. So a shard's size stays within a constant factor of its live
//! entries, and each `O(n)` purge is paid for by the insertions before it (the exact bound
//! and its floor: the header of `shard.rs`). `len()` is therefore the number of *stored* entries (an upper bound);
//! `live_len()` the exact number of live ones.
//!
//! **Identity, not just equality.** Every decision to remove a dead entry is taken under the
//! same lock hold that observed it dead (`Weak::strong_count() == 0` or a failed upgrade), and
//! a dead `Weak` can never come back to life, so a purge never removes a newer live value
//! stored under the same key. Where an entry must be found again after the lock was released
//! (the in-flight markers below), it is found by pointer identity (`Arc::ptr_eq`), never by
//! key.
//!
//! **Deduplication without holding a lock** (`in_flight.rs`). On a miss,
//! `get_or_insert_with` stores a per-key *in-flight marker* (a token, no allocation), unlocks
//! the shard and runs the user's closure; concurrent callers for that key sleep on the shard's
//! condition variable, then look again. So the closure runs once, both callers get the same
//! `Arc`, and the closure may itself use the cache (any key but its own). A panicking closure
//! takes its marker back and wakes the waiters.
//!
//! **Panics in user code.** `Hash` runs before any lock is taken. `Eq`, `Clone` and the
//! closures of `retain` run under a shard lock; `parking_lot` locks do not poison, and every
//! table mutation is a single `hashbrown` call that leaves the table consistent if the
//! callback it runs unwinds. Keys, values and `Arc`s removed or upgraded under a lock are moved
//! out and dropped after the unlock, so a user `Drop` (even one that uses the cache, or
//! panics) runs with no lock held.
//!
//! **Testing with loom** (`sync.rs`). Loom has no `Weak`, so under `cfg(loom)` `crate::sync`
//! swaps `Arc`/`Weak` for a small strong/weak counted cell with std's upgrade protocol (and
//! loom's locks for `parking_lot`'s). `tests/loom.rs` model-checks the upgrade racing the last
//! drop, two concurrent `get_or_insert_with`, and purge racing insert; `tests/stress.rs`
//! exercises the real `Weak` from several threads.
//!
//! File map: `value_cache.rs` (the value cache's fast paths), `in_flight.rs` (its
//! `get_or_insert_with` slow path), `key_cache.rs`, `weak_set.rs`, `interner.rs`, `shard.rs`
//! (tables, locks, purge policy), `sync.rs` (the only importer of std/loom/parking_lot sync).
//!
//! ## Thread safety
//!
//! Containers are `Send + Sync` exactly when what they hand across threads allows it: a
//! [`WeakValueCache<K, V>`] needs `K: Send` and `V: Send + Sync` (it hands out `Arc<V>`).
//!
//! ```compile_fail
//! fn shareable<T: Sync>() {}
//! shareable::<weakref_cache::WeakValueCache<std::rc::Rc<u8>, u8>>();
//! ```
//!
//! ```compile_fail
//! fn shareable<T: Send>() {}
//! shareable::<weakref_cache::WeakValueCache<u8, std::cell::Cell<u8>>>();
//! ```
//!
//! ```compile_fail
//! fn shareable<T: Sync>() {}
//! shareable::<weakref_cache::WeakSet<std::cell::Cell<u8>>>();
//! ```

#[allow(unused_imports)] // the names the text links to
use crate::*;
