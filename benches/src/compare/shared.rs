//! Thread-safe caches on Zipf 0.99 traffic over a million keys with `get_or_insert_with`
//! (a miss loads the value), at capacity 10,000 and 100,000, on 1 thread and on
//! `--threads`; and a time-to-live workload. Each run reports its hit ratio.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{Case, Sample, Settings, Workload};
use crate::threads::parallel;
use crate::zipf::{YCSB_THETA, Zipf};

const KEYS: u64 = 1_000_000;

/// A shared cache under test (also the driver of [`super::policy`]).
pub(super) trait SharedDriver: Send + Sync + 'static {
    const NAME: &'static str;
    const OURS: bool = false;
    fn new(capacity: usize, ttl: Option<Duration>) -> Self;
    /// The value of `key`, loading `key * 2` on a miss; `true` on a hit.
    fn get_or_load(&self, key: u64) -> bool;
    /// Finishes deferred bookkeeping (for a memory reading).
    fn settle(&self) {}
}

pub(super) mod ours {
    use super::*;

    pub struct Ours(lru_ttl::Cache<u64, u64>);

    impl SharedDriver for Ours {
        const NAME: &'static str = "lru-ttl";
        const OURS: bool = true;
        fn new(capacity: usize, ttl: Option<Duration>) -> Self {
            Ours(match ttl {
                None => lru_ttl::Cache::new(capacity),
                Some(ttl) => lru_ttl::Cache::builder()
                    .max_capacity(capacity as u64)
                    .time_to_live(ttl)
                    .build(),
            })
        }
        fn get_or_load(&self, key: u64) -> bool {
            load(&self.0, key)
        }
    }

    /// `key`'s value in `cache`, loading `key * 2` on a miss; `true` on a hit (the driver
    /// of every lru-ttl contender, here and in [`super::super::policy`]).
    pub(in crate::compare) fn load(cache: &lru_ttl::Cache<u64, u64>, key: u64) -> bool {
        let mut hit = true;
        let v = cache.get_or_insert_with(&key, || {
            hit = false;
            key * 2
        });
        debug_assert_eq!(v, key * 2);
        hit
    }
}

pub(super) mod moka_sync {
    use super::*;

    pub struct Moka(moka::sync::Cache<u64, u64>);

    impl SharedDriver for Moka {
        const NAME: &'static str = "moka";
        fn new(capacity: usize, ttl: Option<Duration>) -> Self {
            let mut b = moka::sync::Cache::builder().max_capacity(capacity as u64);
            if let Some(ttl) = ttl {
                b = b.time_to_live(ttl);
            }
            Moka(b.build())
        }
        fn get_or_load(&self, key: u64) -> bool {
            let mut hit = true;
            let v = self.0.get_with(key, || {
                hit = false;
                key * 2
            });
            debug_assert_eq!(v, key * 2);
            hit
        }
        fn settle(&self) {
            self.0.run_pending_tasks();
        }
    }
}

pub(super) mod quick {
    use super::*;

    pub struct Quick(quick_cache::sync::Cache<u64, u64>);

    impl SharedDriver for Quick {
        const NAME: &'static str = "quick_cache";
        fn new(capacity: usize, _ttl: Option<Duration>) -> Self {
            Quick(quick_cache::sync::Cache::new(capacity))
        }
        fn get_or_load(&self, key: u64) -> bool {
            let mut hit = true;
            let v = self.0.get_or_insert_with(&key, || {
                hit = false;
                Ok::<u64, ()>(key * 2)
            });
            debug_assert_eq!(v, Ok(key * 2));
            hit
        }
    }
}

mod mutex_lru {
    use super::*;

    pub struct MutexLru(Mutex<lru::LruCache<u64, u64>>);

    impl SharedDriver for MutexLru {
        const NAME: &'static str = "Mutex<lru>";
        fn new(capacity: usize, _ttl: Option<Duration>) -> Self {
            let cap = std::num::NonZeroUsize::new(capacity.max(1)).expect("nonzero");
            MutexLru(Mutex::new(lru::LruCache::new(cap)))
        }
        fn get_or_load(&self, key: u64) -> bool {
            let mut cache = self.0.lock().unwrap();
            if cache.get(&key).is_some() {
                return true;
            }
            cache.put(key, key * 2);
            false
        }
    }
}

/// `D` on Zipf traffic of skew `theta` over [`KEYS`] keys, from cold: `ops` loads per thread
/// on `threads` threads; the sample has the hit and miss ratios.
pub(super) fn zipf_case<D: SharedDriver>(
    theta: f64,
    capacity: usize,
    ttl: Option<Duration>,
    threads: usize,
    ops: u64,
) -> Case {
    Case {
        contender: D::NAME.to_owned(),
        ours: D::OURS,
        run: Box::new(move || {
            // A fresh cache each run, so every run sees the same traffic from cold.
            let cache = D::new(capacity, ttl);
            let hits = AtomicU64::new(0);
            let took = parallel(threads, ops, &|t, n| {
                let mut zipf = Zipf::new(KEYS, theta, 1 + t as u64);
                let mut local = 0;
                for _ in 0..n {
                    local += u64::from(cache.get_or_load(zipf.next_u64()));
                }
                hits.fetch_add(local, Ordering::Relaxed);
            });
            let ratio = hits.load(Ordering::Relaxed) as f64 / (ops * threads as u64) as f64;
            Ok(Sample::time(took)
                .with("hit_ratio", ratio)
                .with("miss_ratio", 1.0 - ratio))
        }),
    }
}

fn cases(capacity: usize, ttl: Option<Duration>, threads: usize, ops: u64) -> Vec<Case> {
    let mut v = vec![
        zipf_case::<ours::Ours>(YCSB_THETA, capacity, ttl, threads, ops),
        zipf_case::<moka_sync::Moka>(YCSB_THETA, capacity, ttl, threads, ops),
    ];
    if ttl.is_none() {
        v.push(zipf_case::<quick::Quick>(
            YCSB_THETA, capacity, ttl, threads, ops,
        ));
        v.push(zipf_case::<mutex_lru::MutexLru>(
            YCSB_THETA, capacity, ttl, threads, ops,
        ));
    }
    v
}

/// The contenders of the memory reading, by name.
const MEMORY_CONTENDERS: [(&str, bool); 4] = [
    (ours::Ours::NAME, true),
    (moka_sync::Moka::NAME, false),
    (quick::Quick::NAME, false),
    (mutex_lru::MutexLru::NAME, false),
];

/// Entries in the memory reading.
const MEMORY_ENTRIES: u64 = 100_000;

fn fill<D: SharedDriver>(read: &dyn Fn() -> isize) -> (f64, f64) {
    let before = read();
    let start = std::time::Instant::now();
    let cache = D::new(MEMORY_ENTRIES as usize, None);
    for k in 0..MEMORY_ENTRIES {
        cache.get_or_load(k);
    }
    cache.settle();
    let secs = start.elapsed().as_secs_f64();
    let bytes = (read() - before) as f64 / MEMORY_ENTRIES as f64;
    drop(cache);
    (secs, bytes)
}

/// The `cache_memory` binary's `main`: fills the contender named on the command line with
/// 100,000 entries (`u64` to `u64`) at capacity 100,000 and prints one line of JSON with the
/// time and the heap bytes per entry, read from `live_bytes` (the binary's counting global
/// allocator).
pub fn memory_child_main(live_bytes: &dyn Fn() -> isize) {
    let name = std::env::args()
        .nth(1)
        .expect("usage: cache_memory <contender>");
    let (secs, bytes) = match name.as_str() {
        n if n == ours::Ours::NAME => fill::<ours::Ours>(live_bytes),
        n if n == moka_sync::Moka::NAME => fill::<moka_sync::Moka>(live_bytes),
        n if n == quick::Quick::NAME => fill::<quick::Quick>(live_bytes),
        n if n == mutex_lru::MutexLru::NAME => fill::<mutex_lru::MutexLru>(live_bytes),
        other => panic!("cache_memory: no contender named {other:?}"),
    };
    println!(
        "{}",
        serde_json::json!({ "secs": secs, "bytes_per_entry": bytes })
    );
}

fn memory_case(name: &'static str, ours: bool) -> Case {
    let exe = super::alloc::bin_dir().join("cache_memory");
    Case {
        contender: name.to_owned(),
        ours,
        run: Box::new(move || super::alloc::run_child(&exe, &[name])),
    }
}

/// The shared-cache workloads.
pub fn workloads(settings: &Settings) -> Vec<Workload> {
    let ops = 100_000 * settings.mode.scale();
    let counts = settings.thread_counts(&[2]);
    let mut out = Vec::new();
    for capacity in [10_000, 100_000] {
        for &threads in &counts {
            out.push(Workload {
                name: format!("zipf cap {}k, {threads} thr", capacity / 1000),
                about: format!(
                    "{ops} get_or_insert_with per thread, Zipf 0.99 over 1M keys, from cold"
                ),
                cases: cases(capacity, None, threads, ops),
                ..Workload::default()
            });
        }
    }
    let threads = *counts.last().unwrap_or(&1);
    out.push(Workload {
        name: format!("ttl 50 ms, {threads} thr"),
        about: format!(
            "{ops} get_or_insert_with per thread, Zipf 0.99 over 1M keys, capacity 100k, \
             entries live 50 ms (against moka's time_to_live)"
        ),
        cases: cases(100_000, Some(Duration::from_millis(50)), threads, ops),
        ..Workload::default()
    });
    if super::alloc::ensure_built(&super::alloc::bin_dir()).is_ok() {
        out.push(Workload {
            name: "memory 100k".to_owned(),
            about: "heap bytes per entry (u64 to u64) once 100,000 are inserted at capacity \
                    100,000, read by a counting allocator in a child process"
                .to_owned(),
            rank_by: Some("bytes_per_entry".to_owned()),
            rounds: Some(1),
            no_warm_up: true,
            cases: MEMORY_CONTENDERS
                .iter()
                .map(|&(name, ours)| memory_case(name, ours))
                .collect(),
        });
    }
    out
}
