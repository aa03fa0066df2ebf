//! weakref-cache's `WeakKeyCache` and `WeakSet` driven by arbitrary operation sequences against a
//! model: the key objects the driver holds (`Arc`s, dropped on demand) and, per key value, the
//! value stored with the live key object. A key counts exactly while the object stored for it
//! is alive; `insert` keeps the first live key object; `live_len` agrees after every step.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use std::sync::Arc;
use weakref_cache::{WeakKeyCache, WeakSet};

#[derive(Arbitrary, Debug)]
enum Op {
    /// Make a new key object for key value `k`, held by the driver.
    Make { k: u8 },
    Insert { object: u8, value: u8 },
    GetOrInsert { object: u8, value: u8 },
    Get { k: u8 },
    Remove { k: u8 },
    DropObject { object: u8 },
    SetInsert { object: u8 },
    SetContains { k: u8 },
    SetRemove { k: u8 },
    Purge,
}

fuzz_target!(|ops: Vec<Op>| {
    let cache: WeakKeyCache<u8, u8> = WeakKeyCache::with_shards(2);
    let set: WeakSet<u8> = WeakSet::with_shards(2);
    // The key objects the driver made (`None`: dropped).
    let mut objects: Vec<Option<Arc<u8>>> = Vec::new();
    // Per key value: the object stored (its index) and the value, for the cache and the set.
    let mut stored: HashMap<u8, (usize, u8)> = HashMap::new();
    let mut members: HashMap<u8, usize> = HashMap::new();
    let alive = |objects: &Vec<Option<Arc<u8>>>, i: usize| objects[i].is_some();
    for op in ops.into_iter().take(300) {
        match op {
            Op::Make { k } => objects.push(Some(Arc::new(k))),
            Op::Insert { object, value } | Op::GetOrInsert { object, value } => {
                if objects.is_empty() {
                    continue;
                }
                let i = usize::from(object) % objects.len();
                let Some(key) = objects[i].clone() else { continue };
                let live = stored.get(&*key).filter(|(j, _)| alive(&objects, *j)).copied();
                if matches!(op, Op::Insert { .. }) {
                    let previous = cache.insert(&key, value);
                    assert_eq!(previous, live.map(|(_, v)| v), "insert {key}");
                    // The first live key object is kept; only the value changes.
                    let keep = live.map_or(i, |(j, _)| j);
                    stored.insert(*key, (keep, value));
                } else {
                    let got = cache.get_or_insert_with(&key, || value);
                    match live {
                        Some((_, v)) => assert_eq!(got, v),
                        None => {
                            assert_eq!(got, value);
                            stored.insert(*key, (i, value));
                        }
                    }
                }
            }
            Op::Get { k } => {
                let want = stored.get(&k).filter(|(j, _)| alive(&objects, *j)).map(|&(_, v)| v);
                assert_eq!(cache.get(&k), want, "get {k}");
            }
            Op::Remove { k } => {
                let want = stored.remove(&k).filter(|(j, _)| alive(&objects, *j)).map(|(_, v)| v);
                assert_eq!(cache.remove(&k), want, "remove {k}");
            }
            Op::DropObject { object } => {
                if !objects.is_empty() {
                    let i = usize::from(object) % objects.len();
                    objects[i] = None;
                }
            }
            Op::SetInsert { object } => {
                if objects.is_empty() {
                    continue;
                }
                let i = usize::from(object) % objects.len();
                let Some(key) = objects[i].clone() else { continue };
                let live = members.get(&*key).is_some_and(|&j| alive(&objects, j));
                assert_eq!(set.insert(&key), !live, "set insert {key}");
                if !live {
                    members.insert(*key, i);
                }
            }
            Op::SetContains { k } => {
                let live = members.get(&k).is_some_and(|&j| alive(&objects, j));
                assert_eq!(set.contains(&k), live, "set contains {k}");
            }
            Op::SetRemove { k } => {
                let live = members.remove(&k).is_some_and(|j| alive(&objects, j));
                assert_eq!(set.remove(&k), live, "set remove {k}");
            }
            Op::Purge => {
                cache.purge();
                set.purge();
            }
        }
        let live_keys = stored.values().filter(|(j, _)| alive(&objects, *j)).count();
        assert_eq!(cache.live_len(), live_keys, "live_len");
        let live_members = members.values().filter(|&&j| alive(&objects, j)).count();
        assert_eq!(set.live_len(), live_members, "set live_len");
    }
});
