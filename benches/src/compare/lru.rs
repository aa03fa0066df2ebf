//! Single-threaded LRU caches replaying real traces ("get, insert on a miss"), at three
//! capacities, and a Zipf 0.99 workload. A strict LRU must hit exactly as the traces' README
//! says; a contender that does not stops the command.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;

use super::{Case, Sample, Settings, Workload, timed};
use crate::traces::{all_traces, traces_dir};
use crate::zipf::{YCSB_THETA, Zipf};

/// A single-threaded cache under test.
trait LruDriver: 'static {
    const NAME: &'static str;
    const OURS: bool = false;
    /// Whether it is a strict LRU, which must match the reference hit counts.
    const STRICT: bool = true;
    fn new(capacity: usize) -> Self;
    /// Whether `key` is cached (a lookup: it counts as a use).
    fn hit(&mut self, key: u64) -> bool;
    /// Inserts `key`.
    fn put(&mut self, key: u64);
    /// Looks `key` up and inserts it on a miss; `true` on a hit.
    fn access(&mut self, key: u64) -> bool {
        let hit = self.hit(key);
        if !hit {
            self.put(key);
        }
        hit
    }
}

mod ours {
    use super::*;

    impl LruDriver for lru_ttl::LruCache<u64, u64> {
        const NAME: &'static str = "lru-ttl";
        const OURS: bool = true;
        fn new(capacity: usize) -> Self {
            lru_ttl::LruCache::new(capacity)
        }
        fn hit(&mut self, key: u64) -> bool {
            self.get(&key).is_some()
        }
        fn put(&mut self, key: u64) {
            self.insert(key, key);
        }
    }
}

mod lru_crate {
    use super::*;

    impl LruDriver for lru::LruCache<u64, u64> {
        const NAME: &'static str = "lru";
        fn new(capacity: usize) -> Self {
            lru::LruCache::new(NonZeroUsize::new(capacity).expect("capacity > 0"))
        }
        fn hit(&mut self, key: u64) -> bool {
            self.get(&key).is_some()
        }
        fn put(&mut self, key: u64) {
            lru::LruCache::put(self, key, key);
        }
    }
}

mod schnell {
    use super::*;

    pub type Schnell = schnellru::LruMap<u64, u64, schnellru::ByLength>;

    impl LruDriver for Schnell {
        const NAME: &'static str = "schnellru";
        fn new(capacity: usize) -> Self {
            schnellru::LruMap::new(schnellru::ByLength::new(capacity as u32))
        }
        fn hit(&mut self, key: u64) -> bool {
            self.get(&key).is_some()
        }
        fn put(&mut self, key: u64) {
            self.insert(key, key);
        }
    }
}

mod hash_link {
    use super::*;

    impl LruDriver for hashlink::LruCache<u64, u64> {
        const NAME: &'static str = "hashlink";
        fn new(capacity: usize) -> Self {
            hashlink::LruCache::new(capacity)
        }
        fn hit(&mut self, key: u64) -> bool {
            self.get(&key).is_some()
        }
        fn put(&mut self, key: u64) {
            self.insert(key, key);
        }
    }
}

mod quick {
    use super::*;

    impl LruDriver for quick_cache::unsync::Cache<u64, u64> {
        const NAME: &'static str = "quick_cache unsync (not LRU)";
        const STRICT: bool = false;
        fn new(capacity: usize) -> Self {
            quick_cache::unsync::Cache::new(capacity)
        }
        fn hit(&mut self, key: u64) -> bool {
            self.get(&key).is_some()
        }
        fn put(&mut self, key: u64) {
            self.insert(key, key);
        }
    }
}

/// Hits of a strict LRU per `(trace, capacity)`, from the traces' README.
///
/// ```
/// let text = "| trace | C=100 hits / misses | C=1000 hits / misses |\n\
///             |---|---|---|\n| loop | 0 / 505,500 | 12 / 505,488 |\n";
/// let r = benches::compare::lru::reference_hits(text);
/// assert_eq!(r[&("loop".to_string(), 1000)], 12);
/// ```
pub fn reference_hits(readme: &str) -> BTreeMap<(String, usize), u64> {
    let mut out = BTreeMap::new();
    let mut caps: Vec<usize> = Vec::new();
    for line in readme.lines() {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if cells.first() == Some(&"trace") {
            caps = cells[1..]
                .iter()
                .filter_map(|c| {
                    c.strip_prefix("C=")?
                        .split_whitespace()
                        .next()?
                        .parse()
                        .ok()
                })
                .collect();
            continue;
        }
        if caps.is_empty() || cells.len() != caps.len() + 1 || cells[0].starts_with('-') {
            continue;
        }
        for (cap, cell) in caps.iter().zip(&cells[1..]) {
            let hits = cell.split('/').next().map(|h| h.trim().replace(',', ""));
            if let Some(Ok(h)) = hits.map(|h| h.parse::<u64>()) {
                out.insert((cells[0].to_owned(), *cap), h);
            }
        }
    }
    out
}

fn replay_case<D: LruDriver>(
    trace: &str,
    keys: &std::rc::Rc<Vec<u64>>,
    capacity: usize,
    expected: Option<u64>,
) -> Case {
    let keys = std::rc::Rc::clone(keys);
    let trace = trace.to_owned();
    Case {
        contender: D::NAME.to_owned(),
        ours: D::OURS,
        run: Box::new(move || {
            let mut cache = D::new(capacity);
            let (hits, took) = timed(|| keys.iter().filter(|&&k| cache.access(k)).count() as u64);
            if D::STRICT
                && let Some(expected) = expected
                && hits != expected
            {
                return Err(format!(
                    "{} hit {hits} times on {trace} at capacity {capacity}; a strict LRU hits \
                     {expected} times (the traces' README)",
                    D::NAME
                ));
            }
            Ok(Sample::time(took).with("hit_ratio", hits as f64 / keys.len() as f64))
        }),
    }
}

fn replay_cases(
    trace: &str,
    keys: &std::rc::Rc<Vec<u64>>,
    capacity: usize,
    expected: Option<u64>,
) -> Vec<Case> {
    vec![
        replay_case::<lru_ttl::LruCache<u64, u64>>(trace, keys, capacity, expected),
        replay_case::<lru::LruCache<u64, u64>>(trace, keys, capacity, expected),
        replay_case::<schnell::Schnell>(trace, keys, capacity, expected),
        replay_case::<hashlink::LruCache<u64, u64>>(trace, keys, capacity, expected),
        replay_case::<quick_cache::unsync::Cache<u64, u64>>(trace, keys, capacity, expected),
    ]
}

/// The LRU workloads: every trace found at 100, 1,000 and 10,000 entries, and Zipf. The note
/// says so when the traces are absent.
pub fn workloads(settings: &Settings) -> (Vec<Workload>, Option<String>) {
    let mut out = Vec::new();
    let traces = all_traces();
    let readme = std::fs::read_to_string(traces_dir().join("README.md")).unwrap_or_default();
    let reference = reference_hits(&readme);
    let note = traces.is_empty().then(|| {
        format!(
            "Traces not found in `{}`: the trace replays were skipped.",
            traces_dir().display()
        )
    });
    for (name, keys) in traces {
        let keys = std::rc::Rc::new(keys);
        for capacity in [100, 1_000, 10_000] {
            let expected = reference.get(&(name.clone(), capacity)).copied();
            out.push(Workload {
                name: format!("{name} {capacity}"),
                about: format!(
                    "replay of the {name} trace ({} requests) at capacity {capacity}{}",
                    keys.len(),
                    if expected.is_some() {
                        ", hits checked"
                    } else {
                        ""
                    }
                ),
                cases: replay_cases(&name, &keys, capacity, expected),
                ..Workload::default()
            });
        }
    }
    let n = 250_000 * settings.mode.scale();
    let mut zipf = Zipf::new(100_000, YCSB_THETA, 99);
    let keys = std::rc::Rc::new((0..n).map(|_| zipf.next_u64()).collect::<Vec<_>>());
    out.push(Workload {
        name: "zipf 10000".to_owned(),
        about: format!("{n} accesses, Zipf 0.99 over 100,000 keys, capacity 10,000"),
        cases: replay_cases("zipf", &keys, 10_000, None),
        ..Workload::default()
    });
    (out, note)
}
