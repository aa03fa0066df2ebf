//! Weak-value caches: the values live elsewhere (`Arc`s the workload holds), the cache maps
//! keys to them without keeping them alive.
//!
//! - `get hit`: 10,000 live values, gets of random present keys.
//! - `churn`: Zipf keys over 100,000 with `get_or_insert`; only the last 2,000 values
//!   handed out stay alive, so entries keep dying and must be purged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use super::{Case, Sample, Settings, Workload};
use crate::rng::SplitMix64;
use crate::threads::parallel;
use crate::zipf::{YCSB_THETA, Zipf};

/// A weak-value cache under test.
trait WeakDriver: Send + Sync + 'static {
    const NAME: &'static str;
    const OURS: bool = false;
    fn new() -> Self;
    fn get(&self, key: u64) -> Option<Arc<u64>>;
    fn get_or_insert(&self, key: u64) -> Arc<u64>;
}

mod ours {
    use super::*;

    pub struct Ours(weakref_cache::WeakValueCache<u64, u64>);

    impl WeakDriver for Ours {
        const NAME: &'static str = "weakref-cache";
        const OURS: bool = true;
        fn new() -> Self {
            Ours(weakref_cache::WeakValueCache::new())
        }
        fn get(&self, key: u64) -> Option<Arc<u64>> {
            self.0.get(&key)
        }
        fn get_or_insert(&self, key: u64) -> Arc<u64> {
            self.0.get_or_insert_with(&key, || key)
        }
    }
}

mod weak_table {
    use super::*;

    /// `weak-table` 0.4 behind a mutex (its methods take `&mut self`).
    pub struct WeakTable(Mutex<::weak_table::WeakValueHashMap<u64, Weak<u64>>>);

    impl WeakDriver for WeakTable {
        const NAME: &'static str = "weak-table";
        fn new() -> Self {
            WeakTable(Mutex::new(::weak_table::WeakValueHashMap::new()))
        }
        fn get(&self, key: u64) -> Option<Arc<u64>> {
            self.0.lock().unwrap().get(&key)
        }
        fn get_or_insert(&self, key: u64) -> Arc<u64> {
            let mut map = self.0.lock().unwrap();
            if let Some(v) = map.get(&key) {
                return v;
            }
            let v = Arc::new(key);
            map.insert(key, Arc::clone(&v));
            v
        }
    }
}

mod mutex_map {
    use super::*;

    /// The textbook `Mutex<HashMap<K, Weak<V>>>`, purging dead entries when it has doubled
    /// since the last purge.
    pub struct MutexMap(Mutex<(HashMap<u64, Weak<u64>>, usize)>);

    impl WeakDriver for MutexMap {
        const NAME: &'static str = "Mutex<HashMap<K, Weak>>";
        fn new() -> Self {
            MutexMap(Mutex::new((HashMap::new(), 64)))
        }
        fn get(&self, key: u64) -> Option<Arc<u64>> {
            self.0.lock().unwrap().0.get(&key)?.upgrade()
        }
        fn get_or_insert(&self, key: u64) -> Arc<u64> {
            let mut guard = self.0.lock().unwrap();
            let (map, limit) = &mut *guard;
            if let Some(v) = map.get(&key).and_then(Weak::upgrade) {
                return v;
            }
            if map.len() >= *limit {
                map.retain(|_, w| w.strong_count() > 0);
                *limit = (map.len() * 2).max(64);
            }
            let v = Arc::new(key);
            map.insert(key, Arc::downgrade(&v));
            v
        }
    }
}

const LIVE: u64 = 10_000;

fn get_hit<W: WeakDriver>(threads: usize, ops: u64) -> Case {
    let cache = W::new();
    let live: Vec<Arc<u64>> = (0..LIVE).map(|k| cache.get_or_insert(k)).collect();
    Case {
        contender: W::NAME.to_owned(),
        ours: W::OURS,
        run: Box::new(move || {
            let _keep = &live;
            let took = parallel(threads, ops, &|t, n| {
                let mut rng = SplitMix64::new(t as u64 + 1);
                for _ in 0..n {
                    let k = rng.below(LIVE);
                    assert!(cache.get(k).is_some(), "a live value was lost");
                }
            });
            Ok(Sample::time(took))
        }),
    }
}

fn churn<W: WeakDriver>(threads: usize, ops: u64) -> Case {
    let cache = W::new();
    Case {
        contender: W::NAME.to_owned(),
        ours: W::OURS,
        run: Box::new(move || {
            let took = parallel(threads, ops, &|t, n| {
                let mut zipf = Zipf::new(100_000, YCSB_THETA, 7 + t as u64);
                let mut alive: Vec<Arc<u64>> = Vec::with_capacity(2_000);
                for i in 0..n {
                    let k = zipf.next_u64();
                    let v = cache.get_or_insert(k);
                    assert_eq!(*v, k);
                    if alive.len() < 2_000 {
                        alive.push(v);
                    } else {
                        alive[(i % 2_000) as usize] = v;
                    }
                }
            });
            Ok(Sample::time(took))
        }),
    }
}

/// The two workloads.
#[derive(Debug, Clone, Copy)]
enum WeakWorkload {
    GetHit,
    Churn,
}

fn case<W: WeakDriver>(workload: WeakWorkload, threads: usize, ops: u64) -> Case {
    match workload {
        WeakWorkload::GetHit => get_hit::<W>(threads, ops),
        WeakWorkload::Churn => churn::<W>(threads, ops),
    }
}

/// Every contender on `workload`, ours first.
fn cases(workload: WeakWorkload, threads: usize, ops: u64) -> Vec<Case> {
    vec![
        case::<ours::Ours>(workload, threads, ops),
        case::<weak_table::WeakTable>(workload, threads, ops),
        case::<mutex_map::MutexMap>(workload, threads, ops),
    ]
}

/// The weakref-cache workloads at 1 thread and at `settings.threads`.
pub fn workloads(settings: &Settings) -> Vec<Workload> {
    let ops = 200_000 * settings.mode.scale();
    let mut out = Vec::new();
    for threads in settings.thread_counts(&[]) {
        out.push(Workload {
            name: format!("get hit, {threads} thr"),
            about: format!("{ops} gets per thread of 10,000 live values"),
            cases: cases(WeakWorkload::GetHit, threads, ops),
            ..Workload::default()
        });
        out.push(Workload {
            name: format!("churn, {threads} thr"),
            about: format!(
                "{ops} get_or_insert per thread, Zipf 0.99 over 100,000 keys, 2,000 kept alive"
            ),
            cases: cases(WeakWorkload::Churn, threads, ops),
            ..Workload::default()
        });
    }
    out
}
