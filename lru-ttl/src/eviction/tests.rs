//! The policies' tests: invariants after random operations, scan resistance, loops, ties.

use super::*;
use crate::clock::ManualClock;
use crate::cores::timed::TtlCore;
use crate::cores::{Removed, ShardCore};
use crate::node::{Meta, NEVER};
use std::time::Duration;

fn core(
    policy: EvictionPolicy,
    cap: u64,
    ttl: u64,
    tti: u64,
) -> (TtlCore<u32, u32, ManualClock, Meta>, ManualClock) {
    let clock = ManualClock::new();
    let c = TtlCore::with_limits(Some(cap), ttl, tti, clock.clone())
        .with_eviction(Eviction::new(policy, None, 7));
    (c, clock)
}

/// Every policy.
const ALL: [EvictionPolicy; 6] = [
    EvictionPolicy::Lru,
    EvictionPolicy::Fifo,
    EvictionPolicy::Lfu,
    EvictionPolicy::Random,
    EvictionPolicy::S3Fifo,
    EvictionPolicy::TinyLfu,
];

fn hash(k: u32) -> u64 {
    u64::from(k).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Random operations on every policy, timed and weighted, with the slab's and the
/// policy's invariants checked after each, and the weight bound kept.
#[test]
fn invariants_hold_under_random_operations() {
    let policies = ALL;
    let mut rng = 0x1234_5678_u64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    for policy in policies {
        // Fewer under Miri, which runs every step a thousand times slower.
        for round in 0..if cfg!(miri) { 4 } else { 60 } {
            let timed = round % 2 == 1;
            let (ttl, tti) = if timed {
                (5_000, 3_000)
            } else {
                (NEVER, NEVER)
            };
            let cap = 1 + next(30);
            let (mut c, clock) = core(policy, cap, ttl, tti);
            for _ in 0..if cfg!(miri) { 100 } else { 400 } {
                let k = next(50) as u32;
                let mut out = Removed::new();
                match next(12) {
                    0..=4 => {
                        c.get_hashed(hash(k), &k, &mut out);
                    }
                    5..=8 => {
                        let w = 1 + next(cap.min(4)) as u32;
                        let ttl = (next(4) == 0).then(|| Duration::from_nanos(next(8_000)));
                        c.put_hashed(hash(k), k, k, w, ttl, &mut out);
                    }
                    9 => {
                        c.remove_hashed(hash(k), &k, &mut out);
                    }
                    10 => {
                        c.retain(&mut |k, _| k % 7 != 0, &mut out);
                    }
                    _ => {
                        if timed {
                            clock.advance(Duration::from_nanos(next(2_000)));
                        }
                        c.purge(&mut out);
                    }
                }
                c.raw().check();
                c.eviction.check(c.raw());
                assert!(c.weight() <= cap, "{policy:?}: weight over the bound");
            }
        }
    }
}

/// S3-FIFO and W-TinyLFU keep keys in steady use through scans of more keys than they
/// hold; LRU, on the same requests, loses them to every scan.
#[test]
fn scan_resistant_policies_keep_the_hot_keys() {
    let run = |policy| {
        let (mut c, _) = core(policy, 100, NEVER, NEVER);
        let mut hot_hits = 0;
        let mut out = Removed::new();
        let mut access = |c: &mut TtlCore<_, _, _, _>, k: u32| {
            let hit = c.get_hashed(hash(k), &k, &mut out).is_some();
            if !hit {
                c.put_hashed(hash(k), k, k, 1, None, &mut out);
            }
            hit
        };
        // 20 hot keys in steady use...
        for _ in 0..3 {
            for k in 0..20 {
                access(&mut c, k);
            }
        }
        for round in 0..200 {
            // ... still used every round, each round followed by a scan of 200 cold keys.
            for k in 0..20 {
                if access(&mut c, k) && round >= 100 {
                    hot_hits += 1;
                }
            }
            for j in 0..200 {
                access(&mut c, 1_000 + round * 200 + j);
            }
        }
        hot_hits
    };
    let lru = run(EvictionPolicy::Lru);
    assert_eq!(lru, 0, "LRU is flushed by every scan");
    for policy in [EvictionPolicy::S3Fifo, EvictionPolicy::TinyLfu] {
        let hot = run(policy);
        assert!(
            hot >= 100 * 20 * 95 / 100,
            "{policy:?} kept {hot} of 2000 hot hits"
        );
    }
}

/// A loop over more keys than the cache holds: LRU never hits, while S3-FIFO and
/// W-TinyLFU keep a fixed part of the loop (W-TinyLFU by refusing newcomers no more
/// frequent than its victims).
#[test]
fn loops_longer_than_the_cache_still_hit() {
    let run = |policy| {
        let (mut c, _) = core(policy, 100, NEVER, NEVER);
        let mut out = Removed::new();
        let mut hits = 0;
        for pass in 0..50 {
            for k in 0..150 {
                let hit = c.get_hashed(hash(k), &k, &mut out).is_some();
                if !hit {
                    c.put_hashed(hash(k), k, k, 1, None, &mut out);
                }
                if hit && pass >= 10 {
                    hits += 1;
                }
            }
        }
        hits as f64 / (40.0 * 150.0)
    };
    assert_eq!(run(EvictionPolicy::Lru), 0.0);
    for policy in [EvictionPolicy::S3Fifo, EvictionPolicy::TinyLfu] {
        let ratio = run(policy);
        assert!(
            ratio >= 0.35,
            "{policy:?} hit {ratio:.3} of a loop of 150 at capacity 100"
        );
    }
}

/// Every policy, unbounded or with a bound near `u64::MAX`, stores and reads without
/// overflowing its shares of the bound (and an unbounded W-TinyLFU allocates no sketch).
#[test]
fn huge_and_missing_bounds_do_not_overflow() {
    for policy in ALL {
        for cap in [None, Some(u64::MAX - 1)] {
            let mut c: TtlCore<u32, u32, ManualClock, Meta> =
                TtlCore::with_limits(cap, NEVER, NEVER, ManualClock::new())
                    .with_eviction(Eviction::new(policy, None, 1));
            let mut out = Removed::new();
            for k in 0..200 {
                c.put_hashed(hash(k), k, k, u32::MAX, None, &mut out);
                c.get_hashed(hash(k / 2), &(k / 2), &mut out);
            }
            assert_eq!(c.len(), 200, "{policy:?} {cap:?}");
            assert!(out.is_empty());
            c.raw().check();
            c.eviction.check(c.raw());
            assert!(
                c.heap_bytes() < 1 << 20,
                "{policy:?} {cap:?}: {}",
                c.heap_bytes()
            );
        }
    }
}

/// LFU's ties: of the least used, the one that reached its count first leaves.
#[test]
fn lfu_breaks_ties_by_arrival_at_the_count() {
    let (mut c, _) = core(EvictionPolicy::Lfu, 3, NEVER, NEVER);
    let mut out = Removed::new();
    for k in [1, 2, 3] {
        c.put_hashed(hash(k), k, k, 1, None, &mut out);
    }
    c.get_hashed(hash(2), &2, &mut out); // 2: count 2, then 1 and 3 at count 1
    c.get_hashed(hash(1), &1, &mut out); // 1: count 2, after 2
    let put = c.put_hashed(hash(4), 4, 4, 1, None, &mut out);
    assert_eq!(put.into_pair(), None);
    let gone: Vec<u32> = out.into_iter().map(|(k, _, _)| k).collect();
    assert_eq!(gone, [3]);
    c.eviction.check(c.raw());
    let mut out = Removed::new();
    c.put_hashed(hash(5), 5, 5, 1, None, &mut out); // 4 (count 1) leaves
    c.put_hashed(hash(6), 6, 6, 1, None, &mut out); // 5 (count 1) leaves
    c.put_hashed(hash(7), 7, 7, 1, None, &mut out); // 6 leaves: 2 and 1 still at 2
    let gone: Vec<u32> = out.into_iter().map(|(k, _, _)| k).collect();
    assert_eq!(gone, [4, 5, 6]);
}
