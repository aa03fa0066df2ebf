//! Panicking `Hash`, `Eq`, `Drop`, closures, weighers, expiries and listeners: afterwards every cache is consistent
//! (contents agree with lookups, iteration and `len`), still usable, and every value is
//! dropped exactly once (counted) by the time the cache is gone.

use lru_ttl::{Cache, LruCache, ManualClock, SyncLruCache, TtlCache};
use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A key whose `Hash` or `Eq` panics on demand.
#[derive(Debug, Clone)]
struct Key {
    id: u32,
    bad_hash: bool,
    bad_eq: bool,
}

fn key(id: u32) -> Key {
    Key {
        id,
        bad_hash: false,
        bad_eq: false,
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        assert!(!self.bad_hash, "Hash panics");
        self.id.hash(h);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        assert!(!(self.bad_eq || other.bad_eq), "Eq panics");
        self.id == other.id
    }
}
impl Eq for Key {}

/// Per-test drop ledger: how many times each value id was dropped.
#[derive(Clone, Default)]
struct Ledger(Arc<Mutex<HashMap<u32, u32>>>);

impl Ledger {
    fn value(&self, id: u32, bomb: bool) -> Val {
        Val {
            id,
            bomb: Cell::new(bomb),
            ledger: self.clone(),
        }
    }
    /// Every id in `0..n` was dropped exactly once.
    fn assert_each_once(&self, ids: impl IntoIterator<Item = u32>) {
        let map = self.0.lock().unwrap();
        for id in ids {
            assert_eq!(map.get(&id), Some(&1), "value {id} drop count");
        }
    }
    fn count(&self) -> usize {
        self.0.lock().unwrap().values().map(|&n| n as usize).sum()
    }
}

/// A value that records its drop and panics while dropping if armed.
#[derive(Debug)]
struct Val {
    id: u32,
    bomb: Cell<bool>,
    ledger: Ledger,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ledger")
    }
}

impl Clone for Val {
    fn clone(&self) -> Self {
        // Clones are tracked under an id offset so originals stay countable.
        self.ledger.value(self.id + 1_000_000, false)
    }
}

impl Drop for Val {
    fn drop(&mut self) {
        *self.ledger.0.lock().unwrap().entry(self.id).or_default() += 1;
        if self.bomb.get() && !std::thread::panicking() {
            panic!("Drop panics");
        }
    }
}

/// Runs `f`, catching its panic; the intended panics of this file print nothing.
fn quiet<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
                .unwrap_or("");
            if ![
                "Hash panics",
                "Eq panics",
                "Drop panics",
                "closure",
                "weigher panics",
                "expiry panics",
                "listener panics",
            ]
            .contains(&msg)
            {
                default(info);
            }
        }));
    });
    catch_unwind(AssertUnwindSafe(f))
}

/// Consistency through the public API: iteration, `len` and lookups agree.
fn check_lru(cache: &LruCache<Key, Val>) {
    let ids: Vec<u32> = cache
        .iter()
        .map(|(k, v)| {
            assert_eq!(k.id, v.id);
            k.id
        })
        .collect();
    assert_eq!(ids.len(), cache.len());
    for id in &ids {
        assert_eq!(cache.peek(&key(*id)).map(|v| v.id), Some(*id));
    }
    if let Some(c) = cache.capacity() {
        assert!(cache.len() <= c);
    }
}

#[test]
fn lru_survives_panicking_hash_eq_drop_and_closure() {
    let ledger = Ledger::default();
    {
        let mut cache: LruCache<Key, Val> = LruCache::new(4);
        for i in 0..4 {
            cache.insert(key(i), ledger.value(i, i == 1));
        }
        // Hash panics: nothing changes.
        let bad = Key {
            bad_hash: true,
            ..key(9)
        };
        assert!(quiet(|| cache.insert(bad.clone(), ledger.value(9, false))).is_err());
        assert!(quiet(|| cache.get(&bad).is_some()).is_err());
        check_lru(&cache);
        assert_eq!(cache.len(), 4);
        // Eq panics while probing an equal-hash key: nothing changes.
        let bad = Key {
            bad_eq: true,
            ..key(2)
        };
        assert!(quiet(|| cache.insert(bad.clone(), ledger.value(10, false))).is_err());
        assert!(quiet(|| cache.remove(&bad)).is_err());
        check_lru(&cache);
        assert_eq!(cache.len(), 4);
        // The closure panics: the key is not inserted.
        assert!(quiet(|| cache.get_or_insert_with(&key(11), || panic!("closure")).id).is_err());
        assert!(!cache.contains_key(&key(11)));
        check_lru(&cache);
        // Drop panics inside resize (value 1 is armed): the cache is consistent, smaller.
        cache.get(&key(0));
        assert!(quiet(|| cache.resize(Some(1))).is_err());
        check_lru(&cache);
        assert_eq!(cache.len(), 1);
        assert!(cache.contains_key(&key(0)));
        // Still usable.
        cache.resize(Some(4));
        for i in 20..30 {
            cache.insert(key(i), ledger.value(i, false));
            check_lru(&cache);
        }
        // Drop panics during clear: the cache is empty and usable.
        cache.insert(key(40), ledger.value(40, true));
        cache.insert(key(41), ledger.value(41, false));
        assert!(quiet(|| cache.clear()).is_err());
        assert!(cache.is_empty());
        check_lru(&cache);
        cache.insert(key(50), ledger.value(50, false));
    }
    ledger.assert_each_once((0..4).chain(9..11).chain(20..30).chain([40, 41, 50]));
}

#[test]
fn ttl_survives_panicking_drop_of_expired_entries() {
    let ledger = Ledger::default();
    let clock = ManualClock::new();
    {
        let mut cache: TtlCache<Key, Val, ManualClock> =
            TtlCache::with_clock(Some(8), Duration::from_secs(1), clock.clone());
        for i in 0..6 {
            cache.insert(key(i), ledger.value(i, i % 2 == 0));
        }
        clock.advance(Duration::from_secs(1));
        // Each of these meets an expired, armed value and drops it: a panic, after which
        // the entry is gone and the cache consistent.
        assert!(quiet(|| cache.get(&key(0)).is_some()).is_err());
        assert!(!cache.contains_key(&key(0)));
        assert_eq!(cache.len(), 5);
        assert!(quiet(|| cache.purge_expired()).is_err());
        assert!(cache.len() < 5);
        cache.purge_expired_quietly();
        assert_eq!(cache.len(), 0);
        for i in 10..20 {
            cache.insert(key(i), ledger.value(i, false));
        }
        assert_eq!(cache.iter().count(), 8);
        assert!(quiet(|| cache.get_or_insert_with(&key(30), || panic!("closure")).id).is_err());
        assert!(!cache.contains_key(&key(30)));
    }
    ledger.assert_each_once((0..6).chain(10..20));
}

trait PurgeQuietly {
    fn purge_expired_quietly(&mut self);
}
impl PurgeQuietly for TtlCache<Key, Val, ManualClock> {
    fn purge_expired_quietly(&mut self) {
        while quiet(|| self.purge_expired()).is_err() {}
    }
}

#[test]
fn sync_caches_survive_panics_and_drop_outside_the_lock() {
    let ledger = Ledger::default();
    {
        let cache: SyncLruCache<u32, Arc<Mutex<Option<Val>>>> = SyncLruCache::with_shards(2, 1);
        // A panicking closure leaves nothing behind and the key can be computed again.
        assert!(quiet(|| cache.get_or_insert_with(&1, || panic!("closure"))).is_err());
        assert!(!cache.contains_key(&1));
        let v = cache.get_or_insert_with(&1, || Arc::new(Mutex::new(Some(ledger.value(1, true)))));
        drop(v);
        cache.insert(2, Arc::new(Mutex::new(Some(ledger.value(2, false)))));
        // Evicting 1 drops its armed value: the panic reaches this caller after the shard
        // lock is released, so the cache stays usable.
        assert!(
            quiet(|| cache.insert(3, Arc::new(Mutex::new(Some(ledger.value(3, false)))))).is_err()
        );
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&2).is_some());
        cache.insert(4, Arc::new(Mutex::new(None)));
        assert_eq!(cache.len(), 2);
    }
    ledger.assert_each_once(1..4);

    let ledger2 = Ledger::default();
    {
        let cache: Cache<u32, Rcless> = Cache::builder()
            .time_to_live(Duration::from_secs(1))
            .clock(ManualClock::new())
            .shards(1)
            .build();
        assert!(quiet(|| cache.get_or_insert_with(&5, || panic!("closure"))).is_err());
        cache.insert(5, Rcless(Arc::new(Mutex::new(ledger2.value(5, false)))));
        assert!(cache.contains_key(&5));
    }
    assert_eq!(ledger2.count(), 1);
}

/// A `Send` handle to a tracked value.
#[derive(Clone, Debug)]
struct Rcless(#[allow(dead_code)] Arc<Mutex<Val>>);

#[test]
fn drop_of_an_evicted_value_may_use_the_cache() {
    // If the evicted value were dropped under the shard lock, its Drop (which locks the
    // same shard) would deadlock.
    let seen = Arc::new(Mutex::new(0usize));
    struct Probe(Arc<SyncLruCache<u32, Arc<Probe>>>, Arc<Mutex<usize>>);
    impl Drop for Probe {
        fn drop(&mut self) {
            *self.1.lock().unwrap() = self.0.len() + 100;
        }
    }
    let cache2: Arc<SyncLruCache<u32, Arc<Probe>>> = Arc::new(SyncLruCache::with_shards(1, 1));
    cache2.insert(1, Arc::new(Probe(Arc::clone(&cache2), Arc::clone(&seen))));
    cache2.insert(2, Arc::new(Probe(Arc::clone(&cache2), Arc::clone(&seen)))); // evicts 1
    assert_eq!(*seen.lock().unwrap(), 101);
    cache2.clear(); // drops 2 outside the lock too (and breaks the cycle)
    assert_eq!(*seen.lock().unwrap(), 100);
}

/// A panicking weigher, per-entry expiry or eviction listener: the cache stays
/// consistent and usable, a panicking listener is still shown every other entry that
/// left in the same operation, and every entry that left is shown exactly once.
#[test]
fn panicking_hooks_leave_the_cache_consistent() {
    let told: Arc<Mutex<Vec<(u32, lru_ttl::RemovalCause)>>> = Arc::default();
    let log = Arc::clone(&told);
    let cache: Cache<u32, u32> = Cache::builder()
        .max_capacity(10)
        .shards(1)
        .weigher(|k: &u32, v: &u32| {
            assert!(*k != 99, "weigher panics");
            *v
        })
        .expire_after(|k: &u32, _v: &u32| {
            assert!(*k != 98, "expiry panics");
            None
        })
        .eviction_listener(move |k: &u32, _v: &u32, cause| {
            log.lock().unwrap().push((*k, cause));
            assert!(*k != 1, "listener panics");
        })
        .build();
    cache.insert(1, 3);
    cache.insert(2, 3);
    cache.insert(3, 3);
    assert_eq!(cache.weighted_size(), 9);
    // The weigher and the expiry panic before anything changes.
    assert!(quiet(|| cache.insert(99, 1)).is_err());
    assert!(quiet(|| cache.insert(98, 1)).is_err());
    assert!(quiet(|| cache.get_or_insert_with(&98, || 1)).is_err());
    assert_eq!((cache.len(), cache.weighted_size()), (3, 9));
    assert!(told.lock().unwrap().is_empty());
    // Weight 8 evicts 1, 2 and 3 (the least recently used first); the listener panics on
    // 1 but is still told of 2 and 3, and the panic then reaches the caller.
    assert!(quiet(|| cache.insert(4, 8)).is_err());
    assert_eq!(
        *told.lock().unwrap(),
        [
            (1, lru_ttl::RemovalCause::Capacity),
            (2, lru_ttl::RemovalCause::Capacity),
            (3, lru_ttl::RemovalCause::Capacity)
        ]
    );
    assert_eq!((cache.len(), cache.weighted_size()), (1, 8));
    assert_eq!(cache.get(&4), Some(8));
    // Still usable.
    told.lock().unwrap().clear();
    cache.insert(5, 2);
    assert_eq!(cache.get(&5), Some(2));
    assert_eq!(cache.weighted_size(), 10);
    assert!(told.lock().unwrap().is_empty());
}
