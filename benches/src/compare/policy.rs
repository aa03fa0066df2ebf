//! Eviction policies: lru-ttl's `Cache` with each [`EvictionPolicy`] against moka (W-TinyLFU)
//! and quick_cache (its own scan-resistant policy), every cache with its default shards, loading on
//! a miss (`get_or_insert_with`). Ranked by miss ratio; the time is the throughput. Workloads:
//! every trace in `../shared/traces/` at capacities 100, 1,000 and 10,000 on one thread, and
//! Zipf 0.99 and 0.8 over a million keys at capacity 10,000 on one thread and on
//! `--threads`. [`curves`] gives the hit ratio against capacity for the chart.

use std::sync::Arc;
use std::time::Duration;

use lru_ttl::EvictionPolicy;

use super::shared::{SharedDriver, moka_sync::Moka, ours::load, quick::Quick, zipf_case};
use super::{Case, Curve, Mode, Sample, Settings, Workload, timed};
use crate::traces::all_traces;
use crate::zipf::Zipf;

/// Keys of the Zipf workloads.
const KEYS: u64 = 1_000_000;
/// The policies, in the order of the tables.
const POLICIES: [(EvictionPolicy, &str); 6] = [
    (EvictionPolicy::S3Fifo, "lru-ttl s3-fifo"),
    (EvictionPolicy::TinyLfu, "lru-ttl w-tinylfu"),
    (EvictionPolicy::Lru, "lru-ttl lru"),
    (EvictionPolicy::Lfu, "lru-ttl lfu"),
    (EvictionPolicy::Fifo, "lru-ttl fifo"),
    (EvictionPolicy::Random, "lru-ttl random"),
];

/// lru-ttl's `Cache` with policy number `P` of [`POLICIES`].
struct Ours<const P: usize>(lru_ttl::Cache<u64, u64>);

impl<const P: usize> SharedDriver for Ours<P> {
    const NAME: &'static str = POLICIES[P].1;
    const OURS: bool = true;
    fn new(capacity: usize, _ttl: Option<Duration>) -> Self {
        Ours(
            lru_ttl::Cache::builder()
                .max_capacity(capacity as u64)
                .eviction_policy(POLICIES[P].0)
                .build(),
        )
    }
    fn get_or_load(&self, key: u64) -> bool {
        load(&self.0, key)
    }
}

/// Hits of a fresh `D` of `capacity` over `keys` on one thread, and the time taken.
fn replay<D: SharedDriver>(keys: &[u64], capacity: usize) -> (u64, Duration) {
    let cache = D::new(capacity, None);
    timed(|| keys.iter().filter(|&&k| cache.get_or_load(k)).count() as u64)
}

fn sample(hits: u64, requests: u64, took: Duration) -> Sample {
    let ratio = hits as f64 / requests as f64;
    Sample::time(took)
        .with("hit_ratio", ratio)
        .with("miss_ratio", 1.0 - ratio)
}

fn replay_case<D: SharedDriver>(keys: &Arc<Vec<u64>>, capacity: usize) -> Case {
    let keys = Arc::clone(keys);
    Case {
        contender: D::NAME.to_owned(),
        ours: D::OURS,
        run: Box::new(move || {
            let (hits, took) = replay::<D>(&keys, capacity);
            Ok(sample(hits, keys.len() as u64, took))
        }),
    }
}

/// Every contender, as a function of the driver-generic case maker `f`.
macro_rules! contenders {
    ($f:ident ( $($arg:expr),* )) => {
        vec![
            $f::<Ours<0>>($($arg),*),
            $f::<Ours<1>>($($arg),*),
            $f::<Ours<2>>($($arg),*),
            $f::<Ours<3>>($($arg),*),
            $f::<Ours<4>>($($arg),*),
            $f::<Ours<5>>($($arg),*),
            $f::<Moka>($($arg),*),
            $f::<Quick>($($arg),*),
        ]
    };
}

/// The Zipf key streams of the workloads and curves: `(name, theta)`.
const ZIPFS: [(&str, f64); 2] = [("zipf 0.99", 0.99), ("zipf 0.8", 0.8)];

/// The policy workloads; the note says so when the traces are absent.
pub fn workloads(settings: &Settings) -> (Vec<Workload>, Option<String>) {
    let mut out = Vec::new();
    let traces = all_traces();
    let note = traces
        .is_empty()
        .then(|| "Traces not found: only the Zipf workloads ran.".to_owned());
    for (name, keys) in traces {
        let keys = Arc::new(keys);
        for capacity in [100, 1_000, 10_000] {
            out.push(Workload {
                name: format!("{name} {capacity}"),
                about: format!(
                    "replay of the {name} trace ({} requests) at capacity {capacity}, 1 thread",
                    keys.len()
                ),
                rank_by: Some("miss_ratio".to_owned()),
                cases: contenders!(replay_case(&keys, capacity)),
                ..Workload::default()
            });
        }
    }
    let ops = 100_000 * settings.mode.scale();
    for (name, theta) in ZIPFS {
        for threads in settings.thread_counts(&[2]) {
            out.push(Workload {
                name: format!("{name} 10k, {threads} thr"),
                about: format!(
                    "{ops} get_or_insert_with per thread, {name} over 1M keys, capacity 10,000"
                ),
                rank_by: Some("miss_ratio".to_owned()),
                cases: contenders!(zipf_case(theta, 10_000, None, threads, ops)),
                ..Workload::default()
            });
        }
    }
    (out, note)
}

fn point<D: SharedDriver>(keys: &[u64], capacity: usize) -> (String, f64) {
    let (hits, _) = replay::<D>(keys, capacity);
    (D::NAME.to_owned(), hits as f64 / keys.len() as f64)
}

/// The hit-ratio curves: each trace and each Zipf (single thread, one run per point, as a
/// replay's hit count does not vary between runs of the single-threaded caches; moka's
/// deferred bookkeeping may make it vary a little).
pub fn curves(settings: &Settings) -> Vec<Curve> {
    let capacities: &[usize] = match settings.mode {
        Mode::Quick => &[100, 1_000, 10_000],
        _ => &[50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000],
    };
    let mut streams = all_traces();
    let n = 250_000 * settings.mode.scale() as usize;
    for (name, theta) in ZIPFS {
        let mut zipf = Zipf::new(KEYS, theta, 99);
        streams.push((name.to_owned(), (0..n).map(|_| zipf.next_u64()).collect()));
    }
    streams
        .into_iter()
        .map(|(name, keys)| {
            let mut curve = Curve {
                name,
                x_label: "capacity".to_owned(),
                y_label: "hit ratio".to_owned(),
                log_x: true,
                y_max: Some(1.0),
                series: Vec::new(),
            };
            for &capacity in capacities {
                for (contender, ratio) in contenders!(point(&keys, capacity)) {
                    curve.push(&contender, capacity as f64, ratio);
                }
            }
            curve
        })
        .collect()
}
