//! # lru-ttl: exact LRU and TTL caches, and `lru_cache`-style memoization
//!
//! Caches that behave exactly as Python's `functools.lru_cache` and cachetools' `TTLCache`
//! do, for one thread ([`LruCache`], [`TtlCache`]) or shared by many ([`Cache`], configured by
//! [`Cache::builder`]: capacity by entries or by weight, time to live, time to idle, an
//! eviction listener), with loaders that compute a missing value once however many callers
//! ask (fallible, and async behind the feature `async`), and memoization ([`Memoize`],
//! [`lru_cache!`]) with `cache_info()` and `cache_clear()`.
//!
//! ```toml
//! [dependencies]
//! lru-ttl = "0.1"
//! ```
//!
//! ```
//! use lru_ttl::{Cache, LruCache};
//! use std::time::Duration;
//!
//! let mut lru = LruCache::new(2);
//! lru.insert("a", 1);
//! lru.insert("b", 2);
//! lru.get(&"a"); // "a" is now the most recent
//! assert_eq!(lru.insert("c", 3), Some(("b", 2))); // so "b" is evicted
//!
//! // Shared between threads: entries live a minute, the loader runs once per missing key.
//! let users: Cache<u64, String> = Cache::builder()
//!     .max_capacity(10_000)
//!     .time_to_live(Duration::from_secs(60))
//!     .build();
//! let name = users.get_or_insert_with(&7, || "user 7".to_owned());
//! assert_eq!(name, "user 7");
//! ```
//!
//! How it works, file by file, with its invariants: [`design`].

#![forbid(unsafe_code)]

mod builder;
mod cache;
mod clock;
mod cores;
pub mod design;
mod eviction;
mod lru;
mod memo;
mod node;
mod raw;
mod sharded;
mod stats;
mod sync;
mod ttl;

pub use builder::CacheBuilder;
pub use cache::{Cache, SyncLruCache};
pub use clock::{Clock, InstantClock, ManualClock};
pub use cores::RemovalCause;
pub use eviction::EvictionPolicy;
pub use lru::{Iter as LruIter, LruCache};
pub use memo::Memoize;
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
