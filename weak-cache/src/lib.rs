//! # weakref-cache: Python's weak containers for Rust, shared across threads
//!
//! Python's `weakref.WeakValueDictionary`, `WeakKeyDictionary` and `WeakSet` let a program
//! cache or index objects without keeping them alive. This crate gives the same containers
//! over `std::sync::{Arc, Weak}`, with `&self` methods so that one container can be shared by
//! many threads:
//!
//! * [`WeakValueCache<K, V>`] maps keys to `Weak<V>`; [`WeakValueCache::get_or_insert_with`]
//!   deduplicates (every caller asking for a key at a given time gets the same `Arc`).
//! * [`WeakKeyCache<K, V>`] maps weakly held `Arc<K>` keys, looked up by `&K`, to values.
//! * [`WeakSet<T>`] is a set of weakly held `Arc<T>`.
//! * [`Interner<T>`] (e.g. `Interner<str>`) hands out one shared `Arc` per distinct value and
//!   lets it be freed when nobody uses it.
//!
//! ```toml
//! [dependencies]
//! weakref-cache = "0.1"
//! ```
//!
//! ```
//! use std::sync::Arc;
//! use weakref_cache::WeakValueCache;
//!
//! // A cache that never keeps a value alive by itself.
//! let cache: WeakValueCache<u64, String> = WeakValueCache::new();
//! let user = cache.get_or_insert_with(&42, || "loaded from disk".to_owned());
//! let again = cache.get_or_insert_with(&42, || unreachable!("alive, so shared"));
//! assert!(Arc::ptr_eq(&user, &again));
//! drop((user, again));
//! assert!(cache.get(&42).is_none()); // nobody uses it any more: gone
//! ```
//!
//! With the feature `async`, the loaders also take futures.
//!
//! How it works, file by file, with its invariants: [`design`].

pub mod design;
mod in_flight;
#[cfg(not(loom))]
mod interner;
mod key_cache;
mod shard;
mod sync;
mod value_cache;
mod weak_set;

#[cfg(not(loom))]
pub use interner::Interner;
pub use key_cache::WeakKeyCache;
pub use value_cache::WeakValueCache;
pub use weak_set::WeakSet;

/// Under `cfg(loom)` only: the loom stand-in for `Arc`/`Weak` that the containers use, so the
/// models can build values for them.
#[cfg(loom)]
#[doc(hidden)]
pub use sync::loom_arc;

#[cfg(all(test, not(loom)))]
mod tests;

/// Compile-time checks that the containers are `Send + Sync` for ordinary types.
#[cfg(not(loom))]
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<WeakValueCache<String, str>>();
    send_sync::<WeakKeyCache<str, Vec<u8>>>();
    send_sync::<WeakSet<str>>();
    send_sync::<Interner<str>>();
};

/// The README's examples, compiled and run as doctests.
/// (Its service example uses the async creators: the README is tested with the `async` feature.)
#[cfg(all(doctest, feature = "async"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
