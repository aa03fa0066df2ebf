//! A bounded stress test of the thread-safe `Cache`, run by `scripts/stress` (about a minute
//! in release; `LRU_TTL_STRESS_SECS` sets the time): 8 threads (more than the cores) on one
//! cache with a bound in weight, a time to live and idle on a clock that other threads move,
//! an eviction listener, loaders that fail now and then, inserts, removals and `retain`.
//! Every value counts itself alive; at the end, with the cache cleared, none may be left
//! (nothing leaked, nothing dropped twice), and the listener must have seen every entry
//! that left.

#![cfg(not(loom))]

use lru_ttl::{Cache, ManualClock};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

static ALIVE: AtomicI64 = AtomicI64::new(0);

/// A value that counts its live copies.
struct Val(u64);

impl Val {
    fn new(v: u64) -> Self {
        ALIVE.fetch_add(1, Ordering::SeqCst);
        Val(v)
    }
}

impl Clone for Val {
    fn clone(&self) -> Self {
        Val::new(self.0)
    }
}

impl Drop for Val {
    fn drop(&mut self) {
        ALIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

fn secs() -> u64 {
    std::env::var("LRU_TTL_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
}

#[test]
#[ignore = "a minute long: run by scripts/stress (LRU_TTL_STRESS_SECS sets the time)"]
fn eight_threads_on_a_weighted_timed_cache_with_a_listener() {
    let deadline = Instant::now() + Duration::from_secs(secs());
    let clock = ManualClock::new();
    let departed = Arc::new(AtomicU64::new(0));
    let d = departed.clone();
    let cache: Arc<Cache<u64, Val>> = Arc::new(
        Cache::builder()
            .max_capacity(5_000)
            .weigher(|_k: &u64, v: &Val| (v.0 % 7 + 1) as u32)
            .time_to_live(Duration::from_millis(50))
            .time_to_idle(Duration::from_millis(20))
            .clock(clock.clone())
            .eviction_listener(move |k: &u64, v: &Val, _cause| {
                assert_eq!(v.0 / 1_000_000, *k % 1000, "a value under the wrong key");
                d.fetch_add(1, Ordering::Relaxed);
            })
            .shards(4)
            .build(),
    );
    let workers: Vec<_> = (0..8u64)
        .map(|t| {
            let (cache, clock) = (cache.clone(), clock.clone());
            thread::spawn(move || {
                let mut x = t * 7919 + 1;
                let mut ops = 0u64;
                while Instant::now() < deadline {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let k = (x >> 33) % 20_000;
                    let make = |k: u64| Val::new((k % 1000) * 1_000_000 + (x >> 50) % 1000);
                    match (x >> 20) % 16 {
                        0..=6 => {
                            let v = cache.get_or_insert_with(&k, || make(k));
                            assert_eq!(v.0 / 1_000_000, k % 1000);
                        }
                        7..=8 => {
                            let r: Result<Val, ()> = cache.try_get_or_insert_with(&k, || {
                                if x % 3 == 0 { Err(()) } else { Ok(make(k)) }
                            });
                            if let Ok(v) = r {
                                assert_eq!(v.0 / 1_000_000, k % 1000);
                            }
                        }
                        9..=11 => drop(cache.insert(k, make(k))),
                        12 => drop(cache.remove(&k)),
                        13 => drop(cache.get(&k)),
                        14 if x % 101 == 0 => cache.retain(|k, _| k % 5 != 0),
                        15 if t == 0 => clock.advance(Duration::from_millis(1)),
                        _ => {}
                    }
                    ops += 1;
                }
                ops
            })
        })
        .collect();
    let ops: u64 = workers
        .into_iter()
        .map(|w| w.join().expect("a worker failed"))
        .sum();
    let stored = cache.len() as i64;
    assert_eq!(
        ALIVE.load(Ordering::SeqCst),
        stored,
        "values alive other than the stored ones"
    );
    cache.clear();
    assert_eq!(
        ALIVE.load(Ordering::SeqCst),
        0,
        "a value leaked or dropped twice"
    );
    eprintln!(
        "stress: {ops} operations, {} departures told to the listener",
        departed.load(Ordering::Relaxed)
    );
    assert!(ops > 0 && departed.load(Ordering::Relaxed) > 0);
}
