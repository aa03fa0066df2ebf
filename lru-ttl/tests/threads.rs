//! The thread-safe caches under real threads: stampede protection, retry after a
//! panicking computation, recursive memoization, and contents under concurrent churn.
//! (Loom explores the interleavings of the small cases in `tests/loom.rs`.)

use lru_ttl::{Cache, Memoize, SyncLruCache, lru_cache};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

#[test]
fn stampede_computes_once() {
    for shards in [1, 4] {
        let cache = Arc::new(SyncLruCache::with_shards(64, shards));
        let runs = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (cache, runs, barrier) = (cache.clone(), runs.clone(), barrier.clone());
                thread::spawn(move || {
                    barrier.wait();
                    cache.get_or_insert_with(&7u32, || {
                        runs.fetch_add(1, Ordering::SeqCst);
                        thread::sleep(Duration::from_millis(20));
                        String::from("seven")
                    })
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), "seven");
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1, "closure ran once");
        let info = cache.cache_info();
        assert_eq!(info.hits + info.misses, 4);
        assert_eq!(info.currsize, 1);
    }
}

#[test]
fn waiters_retry_after_a_panicking_computation() {
    let cache: Arc<Cache<u8, u64>> = Arc::new(
        Cache::builder()
            .time_to_live(Duration::from_secs(60))
            .build(),
    );
    let started = Arc::new(Barrier::new(2));
    let a = {
        let (cache, started) = (cache.clone(), started.clone());
        thread::spawn(move || {
            catch_unwind(AssertUnwindSafe(|| {
                cache.get_or_insert_with(&1u8, || {
                    started.wait();
                    thread::sleep(Duration::from_millis(30));
                    panic!("computation failed");
                })
            }))
            .is_err()
        })
    };
    started.wait();
    let b_runs = AtomicUsize::new(0);
    let v = cache.get_or_insert_with(&1u8, || {
        b_runs.fetch_add(1, Ordering::SeqCst);
        42u64
    });
    assert!(a.join().unwrap(), "the first computation panicked");
    assert_eq!(v, 42);
    assert_eq!(b_runs.load(Ordering::SeqCst), 1);
    assert_eq!(cache.get(&1), Some(42));
}

lru_cache! {
    static COLLATZ: maxsize = None;
    /// Steps for `n` to reach 1: recursion through the memo, from several threads.
    fn collatz(n: u64) -> u32 {
        if n <= 1 { 0 } else if n.is_multiple_of(2) { 1 + collatz(n / 2) } else { 1 + collatz(3 * n + 1) }
    }
}

#[test]
fn recursive_memoized_function_from_many_threads() {
    let handles: Vec<_> = (0..4u64)
        .map(|t| thread::spawn(move || (1..300u64).map(|n| collatz(n + t)).sum::<u32>()))
        .collect();
    let sums: Vec<u32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    // Recompute without the memo.
    fn plain(mut n: u64) -> u32 {
        let mut s = 0;
        while n > 1 {
            n = if n.is_multiple_of(2) {
                n / 2
            } else {
                3 * n + 1
            };
            s += 1;
        }
        s
    }
    for (t, sum) in sums.iter().enumerate() {
        assert_eq!(*sum, (1..300u64).map(|n| plain(n + t as u64)).sum::<u32>());
    }
    let info = COLLATZ.cache_info();
    assert!(info.hits > 0 && info.currsize > 300);
    COLLATZ.cache_clear();
    assert_eq!(COLLATZ.cache_info().currsize, 0);
}

#[test]
fn concurrent_churn_keeps_bounds_and_values() {
    for shards in [1, 3, 8] {
        let cache = Arc::new(SyncLruCache::with_shards(100, shards));
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let cache = cache.clone();
                thread::spawn(move || {
                    for i in 0..5000u64 {
                        let k = (i * 7919 + t) % 500;
                        match i % 3 {
                            0 => {
                                cache.insert(k, k * 2);
                            }
                            1 => {
                                if let Some(v) = cache.get(&k) {
                                    assert_eq!(v, k * 2);
                                }
                            }
                            _ => assert_eq!(cache.get_or_insert_with(&k, || k * 2), k * 2),
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert!(cache.len() <= 100);
        assert_eq!(cache.cache_info().currsize, cache.len());
    }
}

#[test]
fn memoize_with_maxsize_zero_always_computes() {
    let memo: Memoize<u8, u8> = Memoize::lru(Some(0));
    let runs = AtomicUsize::new(0);
    for _ in 0..3 {
        assert_eq!(
            memo.get_or_compute(1, || {
                runs.fetch_add(1, Ordering::SeqCst);
                5
            }),
            5
        );
    }
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    let info = memo.cache_info();
    assert_eq!((info.hits, info.misses, info.currsize), (0, 3, 0));
}
