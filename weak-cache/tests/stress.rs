//! Multi-threaded stress on the real `std::sync::Weak` path (loom models the stand-in): values
//! die on some threads while others upgrade, deduplicate and purge. Checks that a held value is
//! what every concurrent `get_or_insert_with` returns, that nothing dead is handed out, and that
//! every value made is dropped exactly once.
#![cfg(not(loom))]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use weakref_cache::{Interner, WeakSet, WeakValueCache};

const THREADS: usize = 4;
/// Rounds per thread: 20,000 (200 under Miri), or `WEAK_CACHE_STRESS_ROUNDS` (`scripts/stress`
/// sets it for a run of the length it is asked for).
fn rounds() -> usize {
    if cfg!(miri) {
        return 200;
    }
    std::env::var("WEAK_CACHE_STRESS_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A value that knows its key, refuses to be used after drop, and counts its drops.
struct Payload {
    key: u64,
    alive: AtomicBool,
    dropped: Arc<AtomicUsize>,
}

impl Drop for Payload {
    fn drop(&mut self) {
        assert!(self.alive.swap(false, Ordering::SeqCst), "double drop");
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn get_or_insert_with_deduplicates_under_churn() {
    let cache: WeakValueCache<u64, Payload> = WeakValueCache::with_shards(4);
    let made = AtomicUsize::new(0);
    let dropped = Arc::new(AtomicUsize::new(0));
    thread::scope(|s| {
        for t in 0..THREADS {
            let (cache, made, dropped) = (&cache, &made, &dropped);
            s.spawn(move || {
                let mut rng = Rng(0x1234_5678 + t as u64);
                let mut ring: Vec<Option<Arc<Payload>>> = vec![None; 8];
                for round in 0..rounds() {
                    let key = rng.next() % 32;
                    let v = cache.get_or_insert_with(&key, || {
                        made.fetch_add(1, Ordering::SeqCst);
                        Payload {
                            key,
                            alive: AtomicBool::new(true),
                            dropped: dropped.clone(),
                        }
                    });
                    assert_eq!(v.key, key);
                    assert!(v.alive.load(Ordering::SeqCst));
                    // While `v` is held, every caller must get this same value.
                    let again = cache.get_or_insert_with(&key, || panic!("{key} is alive"));
                    assert!(Arc::ptr_eq(&v, &again));
                    let got = cache.get(&key).expect("held, so alive");
                    assert!(Arc::ptr_eq(&v, &got));
                    // Keep a few values alive for a while; the one pushed out may die now.
                    ring[round % 8] = Some(v);
                    match rng.next() % 64 {
                        0 => {
                            cache.purge();
                        }
                        1 => cache.retain(|k, p| p.key == *k),
                        2 => {
                            let snap = cache.snapshot();
                            assert!(snap.iter().all(|(k, p)| p.key == *k));
                        }
                        _ => {}
                    }
                }
            });
        }
    });
    assert_eq!(cache.live_len(), 0, "every holder is gone");
    cache.purge();
    assert!(cache.is_empty());
    let made = made.into_inner();
    assert!(made >= 32, "{made}");
    assert_eq!(dropped.load(Ordering::SeqCst), made, "leak or double drop");
}

#[test]
fn insert_and_remove_race_with_readers() {
    let cache: WeakValueCache<u64, u64> = WeakValueCache::with_shards(2);
    thread::scope(|s| {
        for t in 0..THREADS {
            let cache = &cache;
            s.spawn(move || {
                let mut rng = Rng(99 + t as u64);
                let mut keep = Vec::new();
                for _ in 0..rounds() {
                    let key = rng.next() % 64;
                    match rng.next() % 4 {
                        0 => {
                            let v = Arc::new(key);
                            cache.insert(key, &v);
                            if rng.next().is_multiple_of(2) {
                                keep.push(v);
                            }
                        }
                        1 => {
                            if let Some(v) = cache.remove(&key) {
                                assert_eq!(*v, key);
                            }
                        }
                        2 => {
                            if let Some(v) = cache.get(&key) {
                                assert_eq!(*v, key);
                            }
                        }
                        _ => {
                            if keep.len() > 16 {
                                keep.drain(..8);
                            }
                        }
                    }
                }
            });
        }
    });
    assert_eq!(cache.live_len(), 0);
}

#[test]
fn interner_and_weak_set_under_threads() {
    let interner: Interner<str> = Interner::new();
    let set: WeakSet<str> = WeakSet::new();
    thread::scope(|s| {
        for t in 0..THREADS {
            let (interner, set) = (&interner, &set);
            s.spawn(move || {
                let mut rng = Rng(7 + t as u64);
                let mut keep = Vec::new();
                for _ in 0..rounds() / 4 {
                    let text = format!("s{}", rng.next() % 50);
                    let a = interner.intern(&text);
                    assert_eq!(&*a, text);
                    let b = interner.intern(&text);
                    assert!(Arc::ptr_eq(&a, &b), "held, so shared");
                    set.insert(&a);
                    assert!(set.contains(&*text));
                    keep.push(a);
                    if keep.len() > 10 {
                        keep.remove(0);
                    }
                }
            });
        }
    });
    assert_eq!(interner.live_len(), 0);
    assert_eq!(set.live_len(), 0);
}
