//! White-box unit tests: the per-shard purge threshold and the in-flight marker states.

use crate::shard::Entry;
use crate::sync::Arc;
use crate::value_cache::Slot;
use crate::{Interner, WeakKeyCache, WeakSet, WeakValueCache};

/// A small deterministic generator (xorshift64*), so runs are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const OPS: usize = if cfg!(miri) { 300 } else { 20_000 };

/// After every operation, every shard holds at most `purge_at` entries, and `purge_at` is at
/// most twice the entries the shard kept at its last purge, plus 8 (the crate's memory bound).
#[test]
fn shards_never_exceed_their_purge_threshold() {
    let cache: WeakValueCache<u64, u64> = WeakValueCache::with_shards(4);
    let mut held: Vec<Arc<u64>> = Vec::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..OPS {
        let key = rng.below(1_000);
        match rng.below(6) {
            0 | 1 => {
                let v = Arc::new(key);
                cache.insert(key, &v);
                if rng.below(3) == 0 {
                    held.push(v);
                }
            }
            2 => {
                if !held.is_empty() {
                    let i = rng.below(held.len() as u64) as usize;
                    held.swap_remove(i);
                }
            }
            3 => {
                let v = cache.get_or_insert_with(&key, || key);
                assert_eq!(*v, key);
                if rng.below(2) == 0 {
                    held.push(v);
                }
            }
            4 => {
                if let Some(v) = cache.get(&key) {
                    assert_eq!(*v, key);
                }
            }
            _ => {
                cache.remove(&key);
            }
        }
        cache.shards.for_each(|shard| {
            let len = shard.table.len();
            assert!(len <= shard.purge_at(), "{len} > {}", shard.purge_at());
        });
    }
    // Everything the test does not hold is dead; a purge leaves exactly the live entries, and
    // every shard's threshold is then max(2 * kept, 8).
    cache.purge();
    assert_eq!(cache.len(), cache.live_len());
    cache.shards.for_each(|shard| {
        let kept = shard.table.len();
        assert!(shard.table.iter().all(|e| !e.is_dead()));
        assert_eq!(shard.purge_at(), (2 * kept).max(8));
    });
    drop(held);
    assert_eq!(cache.live_len(), 0);
    let stored = cache.len();
    assert_eq!(cache.purge(), stored);
    assert!(cache.is_empty());
}

#[test]
fn a_lookup_removes_the_dead_entry_it_meets() {
    let cache = WeakValueCache::with_shards(1);
    cache.insert("k", &Arc::new(1));
    assert_eq!(cache.len(), 1);
    assert!(cache.get("k").is_none());
    assert_eq!(cache.len(), 0);
}

#[test]
fn an_insert_over_a_pending_marker_wins_and_is_returned_to_the_creator() {
    let cache: WeakValueCache<u8, u32> = WeakValueCache::with_shards(1);
    let inserted = Arc::new(2);
    let got = cache.get_or_insert_with(&1, || {
        // The marker is stored while the closure runs.
        cache.shards.for_each(|shard| {
            assert_eq!(shard.table.len(), 1);
            assert!(
                shard
                    .table
                    .iter()
                    .all(|e| matches!(e.slot, Slot::Pending { .. }))
            );
        });
        assert!(cache.get(&1).is_none());
        assert!(cache.remove(&1).is_none());
        assert!(cache.insert(1, &inserted).is_none());
        1
    });
    assert!(Arc::ptr_eq(&got, &inserted));
    assert!(Arc::ptr_eq(&cache.get(&1).unwrap(), &inserted));
}

#[test]
fn a_closure_may_use_the_cache_for_other_keys() {
    let cache: WeakValueCache<u8, u32> = WeakValueCache::with_shards(1);
    let outer = cache.get_or_insert_with(&1, || *cache.get_or_insert_with(&2, || 20) + 1);
    assert_eq!(*outer, 21);
    assert!(cache.get(&2).is_none(), "the inner value was dropped");
    assert_eq!(cache.live_len(), 1);
}

#[test]
fn a_panicking_closure_removes_its_marker() {
    let cache: WeakValueCache<u8, u32> = WeakValueCache::with_shards(1);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cache.get_or_insert_with(&1, || panic!("make failed"))
    }));
    assert!(result.is_err());
    assert_eq!(cache.len(), 0);
    assert_eq!(*cache.get_or_insert_with(&1, || 5), 5);
}

#[test]
fn two_threads_share_one_value() {
    let cache: WeakValueCache<u8, u32> = WeakValueCache::new();
    let made = std::sync::atomic::AtomicUsize::new(0);
    let (a, b) = std::thread::scope(|s| {
        let make = || {
            cache.get_or_insert_with(&7, || {
                made.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                7
            })
        };
        let a = s.spawn(make);
        let b = s.spawn(make);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(made.into_inner(), 1);
}

#[test]
fn weak_key_cache_follows_its_keys() {
    let cache: WeakKeyCache<str, u32> = WeakKeyCache::with_shards(2);
    let a: Arc<str> = Arc::from("a");
    let b: Arc<str> = Arc::from("b");
    assert_eq!(cache.insert(&a, 1), None);
    assert_eq!(cache.insert(&b, 2), None);
    let a2: Arc<str> = Arc::from("a");
    assert_eq!(cache.insert(&a2, 10), Some(1));
    assert!(
        Arc::ptr_eq(&cache.get_key("a").unwrap(), &a),
        "the first key is kept"
    );
    drop(a);
    assert_eq!(
        cache.get("a"),
        None,
        "the stored key died, though an equal one lives"
    );
    assert_eq!(cache.live_len(), 1);
    assert_eq!(cache.purge(), 1);
    assert_eq!(cache.remove("b"), Some(2));
    assert!(cache.is_empty());
}

#[test]
fn weak_set_and_interner() {
    let set: WeakSet<u32> = WeakSet::new();
    let one = Arc::new(1);
    assert!(set.insert(&one));
    assert!(!set.insert(&Arc::new(1)));
    assert!(set.contains(&1));
    assert_eq!(set.snapshot().len(), 1);
    drop(one);
    assert!(!set.contains(&1));

    let interner: Interner<str> = Interner::with_shards_and_hasher(2, Default::default());
    let a = interner.intern("x");
    let b = interner.intern("x");
    let c = interner.intern("y");
    assert!(Arc::ptr_eq(&a, &b));
    assert!(!Arc::ptr_eq(&a, &c));
    assert_eq!(interner.live_len(), 2);
    drop((a, b, c));
    assert_eq!(interner.live_len(), 0);
    assert_eq!(interner.purge(), 2);
}
