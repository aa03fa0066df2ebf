//! weakref-cache's `WeakValueCache` driven by arbitrary operation sequences against a model (a
//! `HashMap` of keys to the index of the value they name, and the values the driver keeps
//! alive): insert, get, get_or_insert_with, try_get_or_insert_with (failing or not), remove,
//! dropping values, retain, purge. A key maps to a live value exactly when the model says
//! so, every lookup returns that very `Arc`, and `live_len` agrees.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use std::sync::Arc;
use weakref_cache::WeakValueCache;

#[derive(Arbitrary, Debug)]
enum Op {
    Insert { key: u8, value: u8 },
    Get { key: u8 },
    GetOrInsert { key: u8 },
    TryGetOrInsert { key: u8, fail: bool },
    Remove { key: u8 },
    DropValue { value: u8 },
    RetainEven,
    Purge,
}

fuzz_target!(|ops: Vec<Op>| {
    let cache: WeakValueCache<u8, u32> = WeakValueCache::with_shards(2);
    // The values the driver holds (`None`: dropped), and what each key names.
    let mut values: Vec<Option<Arc<u32>>> = Vec::new();
    let mut names: HashMap<u8, usize> = HashMap::new();
    let live = |values: &Vec<Option<Arc<u32>>>, names: &HashMap<u8, usize>, k: u8| {
        names.get(&k).and_then(|&i| values[i].clone())
    };
    for op in ops.into_iter().take(300) {
        match op {
            Op::Insert { key, value } => {
                let v = Arc::new(u32::from(value));
                cache.insert(key, &v);
                names.insert(key, values.len());
                values.push(Some(v));
            }
            Op::Get { key } => {
                let want = live(&values, &names, key);
                let got = cache.get(&key);
                assert_eq!(got.is_some(), want.is_some(), "get {key}");
                if let (Some(g), Some(w)) = (got, want) {
                    assert!(Arc::ptr_eq(&g, &w), "get {key} returned another Arc");
                }
            }
            Op::GetOrInsert { key } => {
                let want = live(&values, &names, key);
                let got = cache.get_or_insert_with(&key, || 1000 + u32::from(key));
                match want {
                    Some(w) => assert!(Arc::ptr_eq(&got, &w)),
                    None => {
                        assert_eq!(*got, 1000 + u32::from(key));
                        names.insert(key, values.len());
                        values.push(Some(got));
                    }
                }
            }
            Op::TryGetOrInsert { key, fail } => {
                let want = live(&values, &names, key);
                let got = cache.try_get_or_insert_with(&key, || {
                    if fail { Err(()) } else { Ok(2000 + u32::from(key)) }
                });
                match (want, got) {
                    (Some(w), Ok(g)) => assert!(Arc::ptr_eq(&g, &w)),
                    (Some(_), Err(())) => panic!("a live value, yet the creator ran"),
                    (None, Ok(g)) => {
                        assert!(!fail);
                        names.insert(key, values.len());
                        values.push(Some(g));
                    }
                    (None, Err(())) => assert!(fail),
                }
            }
            Op::Remove { key } => {
                let want = live(&values, &names, key);
                let got = cache.remove(&key);
                assert_eq!(got.is_some(), want.is_some(), "remove {key}");
                names.remove(&key);
            }
            Op::DropValue { value } => {
                if !values.is_empty() {
                    let i = usize::from(value) % values.len();
                    values[i] = None;
                }
            }
            Op::RetainEven => {
                cache.retain(|k, _| k % 2 == 0);
                names.retain(|k, _| k % 2 == 0);
            }
            Op::Purge => {
                cache.purge();
            }
        }
        let expect = names.keys().filter(|&&k| live(&values, &names, k).is_some()).count();
        assert_eq!(cache.live_len(), expect, "live_len");
    }
});
