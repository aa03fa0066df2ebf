//! Loaders: fallible ones (`try_get_or_insert_with`) on threads, and, with the `async`
//! feature, futures on tokio's multi-thread runtime: one load for many concurrent callers,
//! errors returned and never cached, and a failed, panicking or cancelled load handed over
//! to a waiter.

#![cfg(not(loom))]

use lru_ttl::{Cache, Memoize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

#[test]
fn a_failed_load_is_returned_not_cached_and_a_waiter_loads_instead() {
    let cache: Arc<Cache<String, u32>> = Arc::new(Cache::new(16));
    let loads = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(Barrier::new(2));
    // The first caller's load fails after the second caller started waiting on it.
    let first = {
        let (cache, loads, started) = (cache.clone(), loads.clone(), started.clone());
        thread::spawn(move || {
            cache.try_get_or_insert_with("k", || {
                loads.fetch_add(1, Ordering::SeqCst);
                started.wait();
                thread::sleep(Duration::from_millis(50));
                Err("backend down")
            })
        })
    };
    started.wait();
    let second = cache.try_get_or_insert_with("k", || {
        loads.fetch_add(1, Ordering::SeqCst);
        Ok::<u32, &str>(7)
    });
    assert_eq!(first.join().unwrap(), Err("backend down"));
    assert_eq!(second, Ok(7), "the waiter started over and loaded");
    assert_eq!(loads.load(Ordering::SeqCst), 2);
    assert_eq!(cache.get("k"), Some(7));
    // An error alone caches nothing.
    assert_eq!(
        cache.try_get_or_insert_with("j", || Err::<u32, _>(())),
        Err(())
    );
    assert!(!cache.contains_key("j"));
}

#[test]
fn many_threads_one_load_with_a_borrowed_key() {
    let cache: Arc<Cache<String, usize>> = Arc::new(Cache::new(16));
    let loads = Arc::new(AtomicUsize::new(0));
    let go = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (cache, loads, go) = (cache.clone(), loads.clone(), go.clone());
            thread::spawn(move || {
                go.wait();
                cache.get_or_insert_with("shared", || {
                    loads.fetch_add(1, Ordering::SeqCst);
                    thread::sleep(Duration::from_millis(20));
                    42
                })
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 42);
    }
    assert_eq!(loads.load(Ordering::SeqCst), 1);
}

#[test]
fn memoized_errors_are_not_cached() {
    let memo: Memoize<u32, u32> = Memoize::lru(Some(8));
    let calls = AtomicUsize::new(0);
    let f = |n: u32| {
        memo.try_get_or_compute(n, || {
            calls.fetch_add(1, Ordering::SeqCst);
            if calls.load(Ordering::SeqCst) == 1 {
                Err("flaky")
            } else {
                Ok(n * 2)
            }
        })
    };
    assert_eq!(f(3), Err("flaky"));
    assert_eq!(f(3), Ok(6));
    assert_eq!(f(3), Ok(6));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let info = memo.cache_info();
    assert_eq!((info.hits, info.currsize), (1, 1));
}

#[cfg(feature = "async")]
mod futures {
    use super::*;
    use std::future::Future;
    use std::pin::Pin;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn a_hundred_tasks_one_load() {
        runtime().block_on(async {
            let cache: Arc<Cache<String, usize>> = Arc::new(Cache::new(64));
            let loads = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..100)
                .map(|_| {
                    let (cache, loads) = (cache.clone(), loads.clone());
                    tokio::spawn(async move {
                        cache
                            .get_or_insert_with_async("user:1", async {
                                loads.fetch_add(1, Ordering::SeqCst);
                                tokio::time::sleep(Duration::from_millis(30)).await;
                                7
                            })
                            .await
                    })
                })
                .collect();
            for t in tasks {
                assert_eq!(t.await.unwrap(), 7);
            }
            assert_eq!(loads.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn a_cancelled_load_is_taken_over_by_a_waiter() {
        runtime().block_on(async {
            let cache: Arc<Cache<u32, u32>> = Arc::new(Cache::new(64));
            let (started_tx, started_rx) = tokio::sync::oneshot::channel();
            let loader = {
                let cache = cache.clone();
                tokio::spawn(async move {
                    cache
                        .get_or_insert_with_async(&1, async move {
                            started_tx.send(()).unwrap();
                            std::future::pending::<u32>().await // never finishes
                        })
                        .await
                })
            };
            started_rx.await.unwrap();
            let waiter = {
                let cache = cache.clone();
                tokio::spawn(async move { cache.get_or_insert_with_async(&1, async { 5 }).await })
            };
            tokio::time::sleep(Duration::from_millis(20)).await;
            loader.abort(); // drops the loading future
            assert!(loader.await.unwrap_err().is_cancelled());
            assert_eq!(waiter.await.unwrap(), 5);
            assert_eq!(cache.get(&1), Some(5));
        });
    }

    #[test]
    fn a_panicking_or_failing_load_is_taken_over_and_errors_are_not_cached() {
        runtime().block_on(async {
            let cache: Arc<Cache<u32, u32>> = Arc::new(Cache::new(64));
            let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
            let loader = {
                let cache = cache.clone();
                tokio::spawn(async move {
                    cache
                        .get_or_insert_with_async(&2, async move {
                            started_tx.send(()).unwrap();
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            panic!("loader panics")
                        })
                        .await
                })
            };
            started_rx.await.unwrap();
            let waiter = cache.get_or_insert_with_async(&2, async { 9 }).await;
            assert_eq!(waiter, 9);
            assert!(loader.await.unwrap_err().is_panic());
            let failed: Result<u32, &str> = cache
                .try_get_or_insert_with_async(&3, async { Err("no") })
                .await;
            assert_eq!(failed, Err("no"));
            assert!(!cache.contains_key(&3));
        });
    }

    #[test]
    fn memoized_async_functions_compute_once_and_do_not_cache_errors() {
        runtime().block_on(async {
            let memo: Arc<Memoize<u32, u32>> = Arc::new(Memoize::lru(Some(8)));
            let calls = Arc::new(AtomicUsize::new(0));
            let call = |n: u32| -> Pin<Box<dyn Future<Output = Result<u32, String>> + Send>> {
                let (memo, calls) = (memo.clone(), calls.clone());
                Box::pin(async move {
                    memo.try_get_or_compute_async(n, async {
                        let c = calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        if c == 0 {
                            Err("first call fails".to_string())
                        } else {
                            Ok(n + 1)
                        }
                    })
                    .await
                })
            };
            assert!(call(1).await.is_err());
            let both = tokio::join!(call(1), call(1));
            assert_eq!(both, (Ok(2), Ok(2)));
            assert_eq!(calls.load(Ordering::SeqCst), 2);
        });
    }
}
