//! Loom models of the thread-safe caches (run with `RUSTFLAGS="--cfg loom"`): every
//! interleaving, within the preemption bound, of two or three threads on one shard.
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use lru_ttl::SyncLruCache;

/// Concurrent get, insert and eviction on one shard of capacity 2.
#[test]
fn get_insert_evict_on_one_shard() {
    loom::model(|| {
        let cache = Arc::new(SyncLruCache::with_shards(2, 1));
        cache.insert(1u8, 10u8);
        let c1 = cache.clone();
        let t1 = thread::spawn(move || {
            c1.insert(2, 20);
            c1.insert(3, 30);
        });
        let c2 = cache.clone();
        let t2 = thread::spawn(move || {
            let v = c2.get(&1);
            assert!(v.is_none() || v == Some(10));
            let w = c2.get(&3);
            assert!(w.is_none() || w == Some(30));
        });
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&3), Some(30), "the last insert is never the LRU");
        let info = cache.cache_info();
        assert_eq!(info.currsize, 2);
    });
}

/// Two threads ask for one missing key: the closure runs once, both get its value.
#[test]
fn stampede_runs_the_closure_once() {
    loom::model(|| {
        let cache = Arc::new(SyncLruCache::with_shards(4, 1));
        let runs = Arc::new(AtomicUsize::new(0));
        let spawn = |cache: Arc<SyncLruCache<u8, u8>>, runs: Arc<AtomicUsize>| {
            thread::spawn(move || {
                cache.get_or_insert_with(&0, || {
                    runs.fetch_add(1, Ordering::SeqCst);
                    7
                })
            })
        };
        let a = spawn(cache.clone(), runs.clone());
        let b = spawn(cache.clone(), runs.clone());
        assert_eq!(a.join().unwrap(), 7);
        assert_eq!(b.join().unwrap(), 7);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(cache.peek(&0), Some(7));
    });
}

/// The computing thread panics: the waiter wakes and computes the value itself. (Panic
/// messages are silenced: loom replays this panic in every interleaving.)
#[test]
fn a_panicking_computation_wakes_the_waiter() {
    std::panic::set_hook(Box::new(|_| {}));
    loom::model(|| {
        let cache = Arc::new(SyncLruCache::with_shards(4, 1));
        let c1 = cache.clone();
        let a = thread::spawn(move || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                c1.get_or_insert_with(&0u8, || panic!("computation failed"))
            }))
            .ok()
        });
        let c2 = cache.clone();
        let b = thread::spawn(move || c2.get_or_insert_with(&0u8, || 9u8));
        // A either computed (and panicked) or found B's value already stored.
        let a = a.join().unwrap();
        assert!(a.is_none() || a == Some(9));
        assert_eq!(b.join().unwrap(), 9);
        assert_eq!(cache.peek(&0), Some(9));
    });
    let _ = std::panic::take_hook();
}

/// Two threads insert into a full one-entry shard that has an eviction listener: each entry
/// that leaves is told exactly once, and the one left is the last one stored.
#[test]
fn the_listener_hears_each_eviction_once() {
    loom::model(|| {
        let told = Arc::new(AtomicUsize::new(0));
        let t = told.clone();
        let cache: Arc<lru_ttl::Cache<u8, u8>> = Arc::new(
            lru_ttl::Cache::builder()
                .max_capacity(1)
                .shards(1)
                .eviction_listener(move |_k: &u8, _v: &u8, cause| {
                    assert_eq!(cause, lru_ttl::RemovalCause::Capacity);
                    t.fetch_add(1, Ordering::SeqCst);
                })
                .build(),
        );
        cache.insert(0, 0);
        let spawn = |k: u8| {
            let c = cache.clone();
            thread::spawn(move || {
                c.insert(k, k);
            })
        };
        let (a, b) = (spawn(1), spawn(2));
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(told.load(Ordering::SeqCst), 2);
        assert_eq!(cache.len(), 1);
    });
}

/// A loader fails while another caller waits for it: the error goes to its caller only,
/// nothing is cached, and the waiter starts over and loads its own value.
#[test]
fn a_failing_load_hands_over_to_the_waiter() {
    loom::model(|| {
        let cache: Arc<lru_ttl::Cache<u8, u8>> = Arc::new(lru_ttl::Cache::with_shards(4, 1));
        let c1 = cache.clone();
        let a = thread::spawn(move || c1.try_get_or_insert_with(&0, || Err::<u8, &str>("down")));
        let c2 = cache.clone();
        let b = thread::spawn(move || c2.try_get_or_insert_with(&0, || Ok::<u8, &str>(9)));
        let a = a.join().unwrap();
        // A loaded and failed, or found B's value (stored, or published while it waited).
        assert!(a == Err("down") || a == Ok(9));
        assert_eq!(b.join().unwrap(), Ok(9));
        assert_eq!(cache.peek(&0), Some(9));
    });
}
