//! The memory bound, measured from outside: after any seeded random sequence of operations
//! (inserts, `get_or_insert_with`, look-ups, removals, values dying, explicit purges), a
//! one-shard cache stores at most `2 * P + 8` entries, where `P` is the largest number of live
//! entries seen since the last explicit `purge()` (the purge threshold is twice what the shard
//! kept at its last purge, and what it kept was live then). Right after `purge()`, the stored
//! count equals the live count. With many shards the constant is 8 per shard.
#![cfg(not(loom))]

use std::sync::Arc;
use weakref_cache::{WeakKeyCache, WeakValueCache};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const SMALL_CONSTANT: usize = 8;

fn run_value_cache(seed: u64, ops: usize, keys: usize, max_held: usize) {
    let cache: WeakValueCache<usize, usize> = WeakValueCache::with_shards(1);
    let mut held: Vec<Arc<usize>> = Vec::new();
    let mut rng = Rng(seed);
    let mut peak = 0;
    let mut grew_past_live = false;
    for step in 0..ops {
        let key = rng.below(keys);
        match rng.below(10) {
            0..=2 => {
                let v = Arc::new(key);
                cache.insert(key, &v);
                if held.len() < max_held {
                    held.push(v);
                }
            }
            3 | 4 => {
                let v = cache.get_or_insert_with(&key, || key);
                if held.len() < max_held && rng.below(2) == 0 {
                    held.push(v);
                }
            }
            5 | 6 => {
                // A value dies (maybe not the last reference to it).
                if !held.is_empty() {
                    held.swap_remove(rng.below(held.len()));
                }
            }
            7 => {
                let _ = cache.get(&key);
            }
            8 => {
                let _ = cache.remove(&key);
            }
            _ => {
                if rng.below(50) == 0 {
                    cache.purge();
                    assert_eq!(cache.len(), cache.live_len(), "step {step}: after purge");
                    peak = cache.live_len();
                }
            }
        }
        let live = cache.live_len();
        peak = peak.max(live);
        let stored = cache.len();
        grew_past_live |= stored > live;
        assert!(
            stored <= 2 * peak + SMALL_CONSTANT,
            "seed {seed:#x} step {step}: {stored} stored, {live} live, peak {peak}"
        );
    }
    // The test must be able to fail: dead entries did accumulate at some point.
    assert!(grew_past_live, "no dead entry was ever stored");
    drop(held);
    cache.purge();
    assert!(cache.is_empty());
}

#[test]
fn value_cache_stays_within_twice_live() {
    for seed in [1, 2, 0xDEAD_BEEF, 42] {
        run_value_cache(seed, 20_000, 10_000, 200);
    }
}

#[test]
fn value_cache_under_pure_churn_stays_small() {
    // Every inserted value dies at once: without purging, 50_000 distinct keys would be stored.
    let cache: WeakValueCache<u64, u64> = WeakValueCache::with_shards(1);
    for key in 0..50_000 {
        cache.insert(key, &Arc::new(key));
        assert!(cache.len() <= SMALL_CONSTANT, "{} stored", cache.len());
    }
}

#[test]
fn many_shards_bound_is_eight_per_shard() {
    let cache: WeakValueCache<u64, u64> = WeakValueCache::with_shards(16);
    let mut keep = Vec::new();
    for key in 0..50_000u64 {
        let v = Arc::new(key);
        cache.insert(key, &v);
        if key % 10 == 0 {
            keep.push(v);
        }
        if key % 97 == 0 {
            let live = keep.len();
            assert!(
                cache.len() <= 2 * live + SMALL_CONSTANT * 16,
                "{} stored, {live} live",
                cache.len()
            );
        }
    }
}

#[test]
fn weak_key_cache_stays_within_twice_live() {
    let cache: WeakKeyCache<u64, Vec<u8>> = WeakKeyCache::with_shards(1);
    let mut held: Vec<Arc<u64>> = Vec::new();
    let mut rng = Rng(7);
    let mut peak = 0;
    for step in 0..20_000u64 {
        let k = Arc::new(step);
        cache.insert(&k, vec![0; 16]);
        if rng.below(4) == 0 && held.len() < 300 {
            held.push(k);
        }
        if rng.below(3) == 0 && !held.is_empty() {
            held.swap_remove(rng.below(held.len()));
        }
        let live = cache.live_len();
        peak = peak.max(live);
        assert!(cache.len() <= 2 * peak + SMALL_CONSTANT, "step {step}");
    }
}
