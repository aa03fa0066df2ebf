//! Zipf-distributed keys (to be written with the lru-ttl benchmarks).
