//! Readers for `../shared/traces/` (to be written with the lru-ttl benchmarks).
