//! Creators that fail (`try_get_or_insert_with`) on threads, and, with the `async` feature,
//! futures on tokio's multi-thread runtime: one creation for many concurrent callers, errors
//! returned and never stored, and a failed, panicking or cancelled creation handed over to a
//! waiter. Also the public `get_or_insert_with` of `WeakKeyCache` and `WeakSet`, and
//! `Interner::intern_from`.

#![cfg(not(loom))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;
use weakref_cache::{Interner, WeakKeyCache, WeakSet, WeakValueCache};

#[test]
fn a_failed_creation_is_returned_not_stored_and_a_waiter_creates_instead() {
    let cache: Arc<WeakValueCache<String, u32>> = Arc::new(WeakValueCache::new());
    let started = Arc::new(Barrier::new(2));
    let first = {
        let (cache, started) = (cache.clone(), started.clone());
        thread::spawn(move || {
            cache
                .try_get_or_insert_with("k", || {
                    started.wait();
                    thread::sleep(Duration::from_millis(50));
                    Err("backend down")
                })
                .map(|v| *v)
        })
    };
    started.wait();
    let second = cache
        .try_get_or_insert_with("k", || Ok::<u32, &str>(7))
        .unwrap();
    assert_eq!(first.join().unwrap(), Err("backend down"));
    assert_eq!(*second, 7);
    assert_eq!(cache.get("k").map(|v| *v), Some(7));
    assert!(
        cache
            .try_get_or_insert_with("j", || Err::<u32, _>(()))
            .is_err()
    );
    assert!(!cache.contains_key("j"));
}

#[test]
fn weak_key_cache_and_weak_set_get_or_insert() {
    let sizes: WeakKeyCache<String, usize> = WeakKeyCache::with_shards(2);
    let doc = Arc::new(String::from("hello"));
    let calls = AtomicUsize::new(0);
    let size = || {
        calls.fetch_add(1, Ordering::SeqCst);
        doc.len()
    };
    assert_eq!(sizes.get_or_insert_with(&doc, size), 5);
    assert_eq!(sizes.get_or_insert_with(&doc, || unreachable!()), 5);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    drop(doc);
    assert_eq!(sizes.live_len(), 0);

    let set: WeakSet<str> = WeakSet::with_shards(2);
    let a = set.get_or_insert_with("x", || Arc::from("x"));
    let b = set.get_or_insert_with("x", || unreachable!());
    assert!(Arc::ptr_eq(&a, &b));

    let interner: Interner<str> = Interner::with_shards(2);
    let s = interner.intern_from(String::from("name"));
    assert!(Arc::ptr_eq(&s, &interner.intern("name")));
    assert!(Arc::ptr_eq(&s, &interner.intern_from(String::from("name"))));
}

#[cfg(feature = "async")]
mod futures {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn a_hundred_tasks_one_creation() {
        runtime().block_on(async {
            let cache: Arc<WeakValueCache<u32, String>> = Arc::new(WeakValueCache::new());
            let made = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..100)
                .map(|_| {
                    let (cache, made) = (cache.clone(), made.clone());
                    tokio::spawn(async move {
                        cache
                            .get_or_insert_with_async(&1, async {
                                made.fetch_add(1, Ordering::SeqCst);
                                tokio::time::sleep(Duration::from_millis(30)).await;
                                "one".to_string()
                            })
                            .await
                    })
                })
                .collect();
            let mut all = Vec::new();
            for t in tasks {
                all.push(t.await.unwrap());
            }
            assert_eq!(made.load(Ordering::SeqCst), 1);
            assert!(
                all.iter().all(|v| Arc::ptr_eq(v, &all[0])),
                "one shared Arc"
            );
        });
    }

    #[test]
    fn a_cancelled_creation_is_taken_over_by_a_waiter() {
        runtime().block_on(async {
            let cache: Arc<WeakValueCache<u32, u32>> = Arc::new(WeakValueCache::new());
            let (started_tx, started_rx) = tokio::sync::oneshot::channel();
            let creator = {
                let cache = cache.clone();
                tokio::spawn(async move {
                    cache
                        .get_or_insert_with_async(&1, async move {
                            started_tx.send(()).unwrap();
                            std::future::pending::<u32>().await
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
            creator.abort();
            assert!(creator.await.unwrap_err().is_cancelled());
            let v = waiter.await.unwrap();
            assert_eq!(*v, 5);
            assert_eq!(cache.get(&1).map(|v| *v), Some(5));
        });
    }

    #[test]
    fn a_panicking_or_failing_creation_is_taken_over_and_errors_are_not_stored() {
        runtime().block_on(async {
            let cache: Arc<WeakValueCache<u32, u32>> = Arc::new(WeakValueCache::new());
            let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
            let creator = {
                let cache = cache.clone();
                tokio::spawn(async move {
                    cache
                        .get_or_insert_with_async(&2, async move {
                            started_tx.send(()).unwrap();
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            panic!("creator panics")
                        })
                        .await
                })
            };
            started_rx.await.unwrap();
            let v = cache.get_or_insert_with_async(&2, async { 9 }).await;
            assert_eq!(*v, 9);
            assert!(creator.await.unwrap_err().is_panic());
            let failed = cache
                .try_get_or_insert_with_async(&3, async { Err::<u32, _>("no") })
                .await;
            assert_eq!(failed.unwrap_err(), "no");
            assert!(!cache.contains_key(&3));
        });
    }
}
