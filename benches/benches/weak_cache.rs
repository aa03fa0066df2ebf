//! Weak-value maps side by side: `weakref-cache`'s sharded `WeakValueCache` against `weak-table`
//! 0.4's `WeakValueHashMap` behind a `std::sync::Mutex` (`weak-table`) and the textbook
//! `Mutex<HashMap<u64, Weak<V>>>` (`mutex-hashmap`, std `HashMap`, with the same amortized
//! "purge dead entries when the map doubles" policy so that it does not grow without bound).
//! Every member uses its default hasher (ours: foldhash via hashbrown; the others: std's
//! SipHash `RandomState`). Keys are `u64`, values `Arc<u64>`.
//!
//! Each group runs with 1 and 2 threads on one shared map; every thread does the same number of
//! iterations with its own key sequence (`SplitMix64`), started together by a barrier, and the
//! time per iteration is the slowest thread's time divided by its iterations (so at 2 threads a
//! member that scales perfectly shows the same time as at 1 thread).
//!
//! - `weak_cache/get_hit`: `get` of a random key among 10 000 whose values are all alive.
//! - `weak_cache/get_or_insert_hit`: `get_or_insert_with` on those live keys (never creates).
//! - `weak_cache/get_or_insert_miss`: `get_or_insert_with` of a fresh random `u64` key; the
//!   value made is dropped at once, so every entry dies and purging is part of the cost.
//! - `weak_cache/insert_churn`: `insert` under a random key among 40 000; each thread keeps its
//!   last 256 values alive, the rest die.
//!
//! Run: `flock /tmp/bench.lock cargo bench -p benches --bench weak_cache`.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use benches::rng::SplitMix64;
use benches::threads::parallel;
use criterion::{BenchmarkId, Criterion};
use weak_table::WeakValueHashMap;
use weakref_cache::WeakValueCache;

const OURS: &str = "weakref-cache";
const KEYS: u64 = 10_000;
const CHURN_KEYS: u64 = 40_000;
const CHURN_KEEP: usize = 256;
const THREADS: [usize; 2] = [1, 2];

/// What every member offers, in the shape each would be used.
trait Member: Sync {
    fn get(&self, key: u64) -> Option<Arc<u64>>;
    fn get_or_insert(&self, key: u64) -> Arc<u64>;
    fn insert(&self, key: u64, value: &Arc<u64>);
}

impl Member for WeakValueCache<u64, u64> {
    #[inline]
    fn get(&self, key: u64) -> Option<Arc<u64>> {
        WeakValueCache::get(self, &key)
    }

    #[inline]
    fn get_or_insert(&self, key: u64) -> Arc<u64> {
        self.get_or_insert_with(&key, || key)
    }

    #[inline]
    fn insert(&self, key: u64, value: &Arc<u64>) {
        WeakValueCache::insert(self, key, value);
    }
}

/// `weak-table` 0.4 behind a mutex (its methods take `&mut self`).
struct WeakTable(Mutex<WeakValueHashMap<u64, Weak<u64>>>);

impl Member for WeakTable {
    #[inline]
    fn get(&self, key: u64) -> Option<Arc<u64>> {
        self.0.lock().unwrap().get(&key)
    }

    #[inline]
    fn get_or_insert(&self, key: u64) -> Arc<u64> {
        let mut map = self.0.lock().unwrap();
        if let Some(v) = map.get(&key) {
            return v;
        }
        let v = Arc::new(key);
        map.insert(key, v.clone());
        v
    }

    #[inline]
    fn insert(&self, key: u64, value: &Arc<u64>) {
        self.0.lock().unwrap().insert(key, value.clone());
    }
}

/// The textbook `Mutex<HashMap<K, Weak<V>>>`, purging dead entries whenever it has doubled
/// since the last purge.
struct MutexHashMap(Mutex<(HashMap<u64, Weak<u64>>, usize)>);

impl MutexHashMap {
    fn new() -> Self {
        Self(Mutex::new((HashMap::new(), 64)))
    }

    fn store(map: &mut (HashMap<u64, Weak<u64>>, usize), key: u64, value: &Arc<u64>) {
        if map.0.len() >= map.1 && !map.0.contains_key(&key) {
            map.0.retain(|_, w| w.strong_count() > 0);
            map.1 = (2 * map.0.len()).max(64);
        }
        map.0.insert(key, Arc::downgrade(value));
    }
}

impl Member for MutexHashMap {
    #[inline]
    fn get(&self, key: u64) -> Option<Arc<u64>> {
        self.0.lock().unwrap().0.get(&key).and_then(Weak::upgrade)
    }

    #[inline]
    fn get_or_insert(&self, key: u64) -> Arc<u64> {
        let mut map = self.0.lock().unwrap();
        if let Some(v) = map.0.get(&key).and_then(Weak::upgrade) {
            return v;
        }
        let v = Arc::new(key);
        Self::store(&mut map, key, &v);
        v
    }

    #[inline]
    fn insert(&self, key: u64, value: &Arc<u64>) {
        Self::store(&mut self.0.lock().unwrap(), key, value);
    }
}

/// The three members, freshly built, under their benchmark names (ours first).
fn members() -> Vec<(&'static str, Box<dyn Member>)> {
    vec![
        (OURS, Box::new(WeakValueCache::<u64, u64>::new())),
        (
            "weak-table",
            Box::new(WeakTable(Mutex::new(WeakValueHashMap::new()))),
        ),
        ("mutex-hashmap", Box::new(MutexHashMap::new())),
    ]
}

fn thread_label(threads: usize) -> String {
    if threads == 1 {
        "1 thread".to_owned()
    } else {
        format!("{threads} threads")
    }
}

/// One group: `op(member, rng, thread_state)` per iteration, on members pre-filled by
/// `prefill` (which returns the values to keep alive for the whole group).
fn run_group(
    c: &mut Criterion,
    group_name: &str,
    prefill: fn(&dyn Member) -> Vec<Arc<u64>>,
    op: fn(&dyn Member, &mut SplitMix64, &mut Vec<Arc<u64>>, u64),
) {
    let mut group = c.benchmark_group(group_name);
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    for threads in THREADS {
        for (name, member) in members() {
            let alive = prefill(&*member);
            let member = &*member;
            group.bench_function(BenchmarkId::new(name, thread_label(threads)), |b| {
                b.iter_custom(|iters| {
                    parallel(threads, iters, &|t, iters| {
                        let mut rng = SplitMix64::new(0x5EED ^ ((t as u64) << 32) ^ iters);
                        let mut keep = Vec::with_capacity(CHURN_KEEP);
                        for i in 0..iters {
                            op(member, &mut rng, &mut keep, i);
                        }
                    })
                })
            });
            drop(alive);
        }
    }
    group.finish();
}

fn prefill_live(member: &dyn Member) -> Vec<Arc<u64>> {
    (0..KEYS)
        .map(|k| {
            let v = Arc::new(k);
            member.insert(k, &v);
            v
        })
        .collect()
}

fn prefill_none(_: &dyn Member) -> Vec<Arc<u64>> {
    Vec::new()
}

fn get_hit(m: &dyn Member, rng: &mut SplitMix64, _: &mut Vec<Arc<u64>>, _: u64) {
    let v = m.get(rng.below(KEYS));
    debug_assert!(v.is_some());
    black_box(v);
}

fn get_or_insert_hit(m: &dyn Member, rng: &mut SplitMix64, _: &mut Vec<Arc<u64>>, _: u64) {
    black_box(m.get_or_insert(rng.below(KEYS)));
}

fn get_or_insert_miss(m: &dyn Member, rng: &mut SplitMix64, _: &mut Vec<Arc<u64>>, _: u64) {
    black_box(m.get_or_insert(rng.next_u64()));
}

fn insert_churn(m: &dyn Member, rng: &mut SplitMix64, keep: &mut Vec<Arc<u64>>, i: u64) {
    let key = rng.below(CHURN_KEYS);
    let v = Arc::new(key);
    m.insert(key, &v);
    if keep.len() < CHURN_KEEP {
        keep.push(v);
    } else {
        keep[i as usize % CHURN_KEEP] = v;
    }
}

const GROUPS: [&str; 4] = [
    "weak_cache/get_hit",
    "weak_cache/get_or_insert_hit",
    "weak_cache/get_or_insert_miss",
    "weak_cache/insert_churn",
];

fn main() {
    benches::report::mark_start();
    let mut c = Criterion::default().configure_from_args();
    run_group(&mut c, GROUPS[0], prefill_live, get_hit);
    run_group(&mut c, GROUPS[1], prefill_live, get_or_insert_hit);
    run_group(&mut c, GROUPS[2], prefill_none, get_or_insert_miss);
    run_group(&mut c, GROUPS[3], prefill_none, insert_churn);
    c.final_summary();
    for group in GROUPS {
        benches::report::print_group(group, OURS);
    }
}
