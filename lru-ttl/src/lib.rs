//! # lru-ttl
//!
//! Exact LRU and TTL caches with `lru_cache`-style memoization.
//!
//! This crate is being built; see the README for what it will hold.

mod sync;
