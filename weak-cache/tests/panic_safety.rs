//! Panicking `Hash`, `Eq`, `Drop` and closures leave every container consistent and usable,
//! with every key and value dropped exactly once (counted).
#![cfg(not(loom))]

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use weakref_cache::{WeakKeyCache, WeakValueCache};

/// Counters and switches shared by one test's keys.
#[derive(Default)]
struct Script {
    made: AtomicUsize,
    dropped: AtomicUsize,
    panic_in_hash: AtomicBool,
    panic_in_eq: AtomicBool,
    /// One more than the id of the key whose `Drop` panics (0: none).
    panic_in_drop_of: AtomicU32,
}

/// A key whose `Hash`, `Eq` and `Drop` panic when its script says so.
struct Key<'a> {
    id: u32,
    script: &'a Script,
}

/// A clone is a new key (counted as made, dropped on its own): `get_or_insert_with` takes a
/// borrowed key and stores an owned copy on a miss.
impl Clone for Key<'_> {
    fn clone(&self) -> Self {
        Key::new(self.id, self.script)
    }
}

impl<'a> Key<'a> {
    fn new(id: u32, script: &'a Script) -> Self {
        script.made.fetch_add(1, Ordering::SeqCst);
        Key { id, script }
    }
}

impl Hash for Key<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        assert!(!self.script.panic_in_hash.load(Ordering::SeqCst), "Hash");
        self.id.hash(state);
    }
}

impl PartialEq for Key<'_> {
    fn eq(&self, other: &Self) -> bool {
        assert!(!self.script.panic_in_eq.load(Ordering::SeqCst), "Eq");
        self.id == other.id
    }
}

impl Eq for Key<'_> {}

/// Look-ups by bare id: `u32` hashes and compares like the key's `id`.
impl Borrow<u32> for Key<'_> {
    fn borrow(&self) -> &u32 {
        &self.id
    }
}

impl Drop for Key<'_> {
    fn drop(&mut self) {
        self.script.dropped.fetch_add(1, Ordering::SeqCst);
        if self.script.panic_in_drop_of.load(Ordering::SeqCst) == self.id + 1 {
            panic!("Drop");
        }
    }
}

/// A value that counts its drops.
struct Value<'a>(&'a AtomicUsize);

impl Drop for Value<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn quiet<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    catch_unwind(AssertUnwindSafe(f))
}

#[test]
fn value_cache_survives_panicking_hash_eq_drop_and_closure() {
    let script = Script::default();
    let values_dropped = AtomicUsize::new(0);
    let values_made = AtomicUsize::new(0);
    let new_value = || {
        values_made.fetch_add(1, Ordering::SeqCst);
        Value(&values_dropped)
    };
    let cache: WeakValueCache<Key<'_>, Value<'_>> = WeakValueCache::with_shards(2);
    let mut held = Vec::new();
    for id in 0..20 {
        let v = Arc::new(new_value());
        cache.insert(Key::new(id, &script), &v);
        held.push(v);
    }

    // Hash panics: before any lock; nothing changes.
    script.panic_in_hash.store(true, Ordering::SeqCst);
    assert!(quiet(|| cache.get(&Key::new(1, &script))).is_err());
    assert!(quiet(|| cache.insert(Key::new(50, &script), &held[0])).is_err());
    script.panic_in_hash.store(false, Ordering::SeqCst);
    assert_eq!(cache.len(), 20);

    // Eq panics under the shard lock: the lock is released, the table unchanged.
    script.panic_in_eq.store(true, Ordering::SeqCst);
    assert!(quiet(|| cache.get(&Key::new(3, &script))).is_err());
    assert!(quiet(|| cache.remove(&Key::new(3, &script))).is_err());
    assert!(quiet(|| cache.get_or_insert_with(&Key::new(4, &script), new_value)).is_err());
    script.panic_in_eq.store(false, Ordering::SeqCst);
    assert_eq!(cache.len(), 20);
    assert!(cache.get(&Key::new(3, &script)).is_some());

    // The closure panics: its in-flight marker goes, the key stays absent, then works.
    assert!(
        quiet(|| cache.get_or_insert_with(&Key::new(100, &script), || panic!("make"))).is_err()
    );
    assert_eq!(cache.len(), 20);
    let v = cache.get_or_insert_with(&Key::new(100, &script), new_value);
    held.push(v);
    assert_eq!(cache.live_len(), 21);

    // A retain closure panics midway: what it already removed is gone, the rest stays.
    let mut calls = 0;
    assert!(
        quiet(|| cache.retain(|k, _| {
            calls += 1;
            assert!(calls < 5, "retain");
            k.id != 0
        }))
        .is_err()
    );
    let after = cache.len();
    assert!((20..=21).contains(&after), "{after}");
    assert_eq!(cache.len(), cache.live_len());

    // Drop of a removed key panics: it runs after the unlock; the entry is gone, and the value
    // upgraded for the return is not leaked (its strong count is back to the test's one).
    script.panic_in_drop_of.store(5 + 1, Ordering::SeqCst);
    assert!(quiet(|| cache.remove(&5)).is_err());
    script.panic_in_drop_of.store(0, Ordering::SeqCst);
    assert!(cache.get(&5).is_none());
    assert_eq!(cache.len(), after - 1);
    assert_eq!(Arc::strong_count(&held[5]), 1, "remove leaked its result");

    // Drop of the spare key of an insert over an existing key panics: same guarantees.
    script.panic_in_drop_of.store(6 + 1, Ordering::SeqCst);
    let replacement = Arc::new(Value(&values_dropped));
    values_made.fetch_add(1, Ordering::SeqCst);
    assert!(quiet(|| cache.insert(Key::new(6, &script), &replacement)).is_err());
    script.panic_in_drop_of.store(0, Ordering::SeqCst);
    assert_eq!(Arc::strong_count(&held[6]), 1, "insert leaked its result");
    assert!(Arc::ptr_eq(&cache.get(&6).unwrap(), &replacement));
    held.push(replacement);

    // Everything is still usable, then everything is dropped exactly once.
    for id in 0..30 {
        let _ = cache.get_or_insert_with(&Key::new(id, &script), new_value);
    }
    drop(held);
    drop(cache);
    assert_eq!(
        script.dropped.load(Ordering::SeqCst),
        script.made.load(Ordering::SeqCst),
        "every key dropped once"
    );
    assert_eq!(
        values_dropped.load(Ordering::SeqCst),
        values_made.load(Ordering::SeqCst),
        "every value dropped once"
    );
}

#[test]
fn values_made_are_dropped_exactly_once() {
    let dropped = AtomicUsize::new(0);
    let made = AtomicUsize::new(0);
    let cache: WeakValueCache<u32, Value<'_>> = WeakValueCache::with_shards(1);
    let make = || {
        made.fetch_add(1, Ordering::SeqCst);
        Value(&dropped)
    };
    let mut held = Vec::new();
    for i in 0..1_000u32 {
        let v = cache.get_or_insert_with(&(i % 37), make);
        if i % 3 == 0 {
            held.push(v);
        }
        if i % 101 == 0 {
            let _ = quiet(|| cache.get_or_insert_with(&(1_000 + i), || panic!("make")));
        }
    }
    drop(held);
    drop(cache);
    assert_eq!(dropped.load(Ordering::SeqCst), made.load(Ordering::SeqCst));
}

#[test]
fn weak_key_cache_survives_panicking_eq_and_value_clone() {
    #[derive(Debug)]
    struct Fussy(u8);
    impl Clone for Fussy {
        fn clone(&self) -> Self {
            assert!(self.0 != 13, "Clone");
            Fussy(self.0)
        }
    }
    let script = Script::default();
    let cache: WeakKeyCache<Key<'_>, Fussy> = WeakKeyCache::with_shards(1);
    let keys: Vec<Arc<Key<'_>>> = (0..20).map(|i| Arc::new(Key::new(i, &script))).collect();
    for k in &keys {
        cache.insert(k, Fussy(k.id as u8));
    }
    assert!(quiet(|| cache.get(&Key::new(13, &script))).is_err());
    script.panic_in_eq.store(true, Ordering::SeqCst);
    assert!(quiet(|| cache.insert(&keys[2], Fussy(0))).is_err());
    assert!(quiet(|| cache.remove(&Key::new(2, &script))).is_err());
    script.panic_in_eq.store(false, Ordering::SeqCst);
    assert_eq!(cache.get(&Key::new(2, &script)).map(|f| f.0), Some(2));
    assert_eq!(cache.live_len(), 20);
    drop(keys);
    assert_eq!(cache.purge(), 20);
    drop(cache);
    assert_eq!(
        script.dropped.load(Ordering::SeqCst),
        script.made.load(Ordering::SeqCst)
    );
}
