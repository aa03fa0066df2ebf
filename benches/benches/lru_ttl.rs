//! lru-ttl against its peers, side by side in each criterion group:
//!
//! - single thread: `lru` 0.19, `hashlink`, `schnellru` (get hit, insert with eviction,
//!   the Zipf workload, the shared traces);
//! - thread-safe at 1 and 2 threads on the Zipf workload: `Mutex<lru::LruCache>`,
//!   `moka::sync::Cache`, `quick_cache::sync::Cache`;
//! - TTL: `cached::LruTtlCache` (cached 4.1's name for `TimedSizedCache`) single-threaded,
//!   `moka` with `time_to_live` thread-safe.
//!
//! Workload "zipf": keys drawn from 0..100,000 with YCSB's Zipf (theta 0.99), 90% reads
//! (get, insert on a miss) and 10% writes, capacity 10,000, K = V = u64. Before the groups
//! run, the suite prints each member's hit ratio on that workload and on the traces, and
//! its heap bytes per entry when full (measured by a counting global allocator that is
//! switched on only for that measurement).

use benches::report;
use benches::rng::SplitMix64;
use benches::threads::parallel;
use benches::traces::all_traces;
use benches::zipf::{YCSB_THETA, Zipf};
use cached::Cached;
use criterion::{BenchmarkId, Criterion, Throughput};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::Duration;

// ---------------------------------------------------------------------------------------
// Counting allocator (off except while measuring bytes per entry).

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards every call to `System` unchanged; only counts sizes when switched on.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: the caller's `GlobalAlloc::alloc` contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        // SAFETY: the caller's `GlobalAlloc::realloc` contract is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

// ---------------------------------------------------------------------------------------
// Workload.

const CAP: usize = 10_000;
const KEYS: u64 = 100_000;
const OPS: usize = 1 << 20;
const MASK: usize = OPS - 1;
const WRITE: u64 = 1 << 63;
const TTL: Duration = Duration::from_secs(600);

/// The Zipf workload: keys with the `WRITE` bit set on 10% of operations.
fn zipf_ops(seed: u64) -> Vec<u64> {
    let mut zipf = Zipf::new(KEYS, YCSB_THETA, seed);
    let mut rng = SplitMix64::new(seed ^ 0xA5A5_A5A5);
    (0..OPS)
        .map(|_| {
            let k = zipf.next_u64();
            if rng.below(10) == 0 { k | WRITE } else { k }
        })
        .collect()
}

/// A single-threaded cache of `u64`s.
trait Single {
    fn make(cap: usize) -> Self;
    fn get(&mut self, k: u64) -> bool;
    fn put(&mut self, k: u64, v: u64);
    fn len(&self) -> usize;
}

impl Single for lru_ttl::LruCache<u64, u64> {
    fn make(cap: usize) -> Self {
        lru_ttl::LruCache::new(cap)
    }
    #[inline]
    fn get(&mut self, k: u64) -> bool {
        lru_ttl::LruCache::get(self, &k).is_some()
    }
    #[inline]
    fn put(&mut self, k: u64, v: u64) {
        black_box(self.insert(k, v));
    }
    fn len(&self) -> usize {
        lru_ttl::LruCache::len(self)
    }
}

impl Single for lru::LruCache<u64, u64> {
    fn make(cap: usize) -> Self {
        lru::LruCache::new(NonZeroUsize::new(cap).unwrap())
    }
    #[inline]
    fn get(&mut self, k: u64) -> bool {
        lru::LruCache::get(self, &k).is_some()
    }
    #[inline]
    fn put(&mut self, k: u64, v: u64) {
        black_box(self.push(k, v));
    }
    fn len(&self) -> usize {
        lru::LruCache::len(self)
    }
}

impl Single for hashlink::LruCache<u64, u64> {
    fn make(cap: usize) -> Self {
        hashlink::LruCache::new(cap)
    }
    #[inline]
    fn get(&mut self, k: u64) -> bool {
        hashlink::LruCache::get(self, &k).is_some()
    }
    #[inline]
    fn put(&mut self, k: u64, v: u64) {
        black_box(self.insert(k, v));
    }
    fn len(&self) -> usize {
        hashlink::LruCache::len(self)
    }
}

type Schnell = schnellru::LruMap<u64, u64, schnellru::ByLength>;

impl Single for Schnell {
    fn make(cap: usize) -> Self {
        schnellru::LruMap::new(schnellru::ByLength::new(cap as u32))
    }
    #[inline]
    fn get(&mut self, k: u64) -> bool {
        schnellru::LruMap::get(self, &k).is_some()
    }
    #[inline]
    fn put(&mut self, k: u64, v: u64) {
        black_box(self.insert(k, v));
    }
    fn len(&self) -> usize {
        schnellru::LruMap::len(self)
    }
}

impl Single for lru_ttl::TtlCache<u64, u64> {
    fn make(cap: usize) -> Self {
        lru_ttl::TtlCache::new(cap, TTL)
    }
    #[inline]
    fn get(&mut self, k: u64) -> bool {
        lru_ttl::TtlCache::get(self, &k).is_some()
    }
    #[inline]
    fn put(&mut self, k: u64, v: u64) {
        black_box(self.insert(k, v));
    }
    fn len(&self) -> usize {
        lru_ttl::TtlCache::len(self)
    }
}

type CachedTtl = cached::LruTtlCache<u64, u64>;

impl Single for CachedTtl {
    fn make(cap: usize) -> Self {
        cached::LruTtlCache::builder()
            .max_size(cap)
            .ttl(TTL)
            .build()
            .unwrap()
    }
    #[inline]
    fn get(&mut self, k: u64) -> bool {
        self.cache_get(&k).is_some()
    }
    #[inline]
    fn put(&mut self, k: u64, v: u64) {
        black_box(self.cache_set(k, v));
    }
    fn len(&self) -> usize {
        self.cache_size()
    }
}

#[inline]
fn single_op<C: Single>(c: &mut C, op: u64) -> bool {
    let k = op & !WRITE;
    if op & WRITE != 0 {
        c.put(k, k);
        false
    } else if c.get(k) {
        true
    } else {
        c.put(k, k);
        false
    }
}

/// A thread-safe cache of `u64`s.
trait Shared: Sync {
    fn get(&self, k: u64) -> bool;
    fn put(&self, k: u64, v: u64);
    fn len(&self) -> usize;
}

impl Shared for lru_ttl::SyncLruCache<u64, u64> {
    #[inline]
    fn get(&self, k: u64) -> bool {
        lru_ttl::SyncLruCache::get(self, &k).is_some()
    }
    #[inline]
    fn put(&self, k: u64, v: u64) {
        black_box(self.insert(k, v));
    }
    fn len(&self) -> usize {
        lru_ttl::SyncLruCache::len(self)
    }
}

/// Our thread-safe cache with a bound and a time to live.
fn ours_ttl() -> lru_ttl::Cache<u64, u64> {
    lru_ttl::Cache::builder()
        .max_capacity(CAP as u64)
        .time_to_live(TTL)
        .build()
}

impl Shared for parking_lot::Mutex<lru::LruCache<u64, u64>> {
    #[inline]
    fn get(&self, k: u64) -> bool {
        self.lock().get(&k).is_some()
    }
    #[inline]
    fn put(&self, k: u64, v: u64) {
        let old = self.lock().push(k, v);
        black_box(old);
    }
    fn len(&self) -> usize {
        self.lock().len()
    }
}

impl Shared for moka::sync::Cache<u64, u64> {
    #[inline]
    fn get(&self, k: u64) -> bool {
        moka::sync::Cache::get(self, &k).is_some()
    }
    #[inline]
    fn put(&self, k: u64, v: u64) {
        self.insert(k, v);
    }
    fn len(&self) -> usize {
        self.run_pending_tasks();
        self.entry_count() as usize
    }
}

impl Shared for quick_cache::sync::Cache<u64, u64> {
    #[inline]
    fn get(&self, k: u64) -> bool {
        quick_cache::sync::Cache::get(self, &k).is_some()
    }
    #[inline]
    fn put(&self, k: u64, v: u64) {
        self.insert(k, v);
    }
    fn len(&self) -> usize {
        quick_cache::sync::Cache::len(self)
    }
}

#[inline]
fn shared_op<C: Shared + ?Sized>(c: &C, op: u64) -> bool {
    let k = op & !WRITE;
    if op & WRITE != 0 {
        c.put(k, k);
        false
    } else if c.get(k) {
        true
    } else {
        c.put(k, k);
        false
    }
}

fn moka_lru() -> moka::sync::Cache<u64, u64> {
    moka::sync::Cache::new(CAP as u64)
}

fn moka_ttl() -> moka::sync::Cache<u64, u64> {
    moka::sync::Cache::builder()
        .max_capacity(CAP as u64)
        .time_to_live(TTL)
        .build()
}

fn shared_members() -> Vec<(&'static str, Arc<dyn Shared + Send>)> {
    vec![
        ("lru-ttl", Arc::new(lru_ttl::SyncLruCache::new(CAP))),
        (
            "lru-ttl 1 shard",
            Arc::new(lru_ttl::SyncLruCache::with_shards(CAP, 1)),
        ),
        (
            "Mutex<lru>",
            Arc::new(parking_lot::Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(CAP).unwrap(),
            ))),
        ),
        ("moka", Arc::new(moka_lru())),
        ("quick_cache", Arc::new(quick_cache::sync::Cache::new(CAP))),
    ]
}

/// Runs `iters` operations on each of `threads` threads at once, each from its own offset in
/// `ops`; the slowest thread's time ([`parallel`]).
fn run_threads(cache: &(dyn Shared + Send), ops: &[u64], threads: usize, iters: u64) -> Duration {
    parallel(threads, iters, &|t, iters| {
        let first = t * (OPS / threads) + 12_345;
        for i in (first..).take(iters as usize) {
            black_box(shared_op(cache, ops[i & MASK]));
        }
    })
}

// ---------------------------------------------------------------------------------------
// Hit ratios and bytes per entry (printed before the timing groups).

fn hit_ratio_single<C: Single>(ops: &[u64]) -> f64 {
    let mut c = C::make(CAP);
    for &op in &ops[..OPS / 4] {
        single_op(&mut c, op);
    }
    let (mut hits, mut reads) = (0u64, 0u64);
    for &op in &ops[OPS / 4..] {
        if op & WRITE == 0 {
            reads += 1;
        }
        hits += u64::from(single_op(&mut c, op));
    }
    hits as f64 / reads as f64
}

fn hit_ratio_shared(c: &dyn Shared, ops: &[u64]) -> f64 {
    for &op in &ops[..OPS / 4] {
        shared_op(c, op);
    }
    let (mut hits, mut reads) = (0u64, 0u64);
    for &op in &ops[OPS / 4..] {
        if op & WRITE == 0 {
            reads += 1;
        }
        hits += u64::from(shared_op(c, op));
    }
    hits as f64 / reads as f64
}

/// Heap bytes per stored entry after inserting `10 * CAP` distinct keys.
fn bytes_single<C: Single>() -> f64 {
    let before = LIVE.load(Ordering::Relaxed);
    COUNTING.store(true, Ordering::SeqCst);
    let mut c = C::make(CAP);
    for k in 0..10 * CAP as u64 {
        c.put(k, k);
    }
    let n = c.len();
    let bytes = LIVE.load(Ordering::Relaxed) - before;
    COUNTING.store(false, Ordering::SeqCst);
    drop(c);
    bytes as f64 / n as f64
}

fn bytes_shared(make: impl FnOnce() -> Box<dyn Shared>) -> f64 {
    let before = LIVE.load(Ordering::Relaxed);
    COUNTING.store(true, Ordering::SeqCst);
    let c = make();
    for k in 0..10 * CAP as u64 {
        c.put(k, k);
    }
    let n = c.len();
    let bytes = LIVE.load(Ordering::Relaxed) - before;
    COUNTING.store(false, Ordering::SeqCst);
    drop(c);
    bytes as f64 / n as f64
}

fn print_hit_ratios_and_memory(ops: &[u64], traces: &[(String, Vec<u64>)]) {
    println!(
        "\nlru_ttl: hit ratio on the Zipf workload (theta 0.99, 100,000 keys, capacity 10,000, 90% reads; reads that hit / reads)"
    );
    let rows: Vec<(&str, f64)> = vec![
        (
            "lru-ttl LruCache",
            hit_ratio_single::<lru_ttl::LruCache<u64, u64>>(ops),
        ),
        ("lru", hit_ratio_single::<lru::LruCache<u64, u64>>(ops)),
        (
            "hashlink",
            hit_ratio_single::<hashlink::LruCache<u64, u64>>(ops),
        ),
        ("schnellru", hit_ratio_single::<Schnell>(ops)),
        (
            "lru-ttl TtlCache",
            hit_ratio_single::<lru_ttl::TtlCache<u64, u64>>(ops),
        ),
        ("cached LruTtlCache", hit_ratio_single::<CachedTtl>(ops)),
    ];
    for (name, r) in rows {
        println!("    {name:<28} {:6.2}%", r * 100.0);
    }
    for (name, c) in shared_members() {
        println!(
            "    {:<28} {:6.2}%",
            format!("{name} (sync)"),
            hit_ratio_shared(&*c, ops) * 100.0
        );
    }
    println!(
        "    {:<28} {:6.2}%",
        "moka time_to_live (sync)",
        hit_ratio_shared(&moka_ttl(), ops) * 100.0
    );

    if !traces.is_empty() {
        println!("\nlru_ttl: trace hit ratio at capacity 1,000 (get, insert on a miss)");
        for (name, keys) in traces {
            let mut ours = lru_ttl::LruCache::new(1_000);
            let mut hits = 0u64;
            for &k in keys {
                hits += u64::from(single_op(&mut ours, k));
            }
            let q = quick_cache::sync::Cache::new(1_000);
            let m = moka::sync::Cache::new(1_000);
            let (mut qh, mut mh) = (0u64, 0u64);
            for &k in keys {
                qh += u64::from(shared_op(&q, k));
                mh += u64::from(shared_op(&m, k));
            }
            let n = keys.len() as f64;
            println!(
                "    {name:<8} lru-ttl (exact LRU) {:6.2}%   quick_cache {:6.2}%   moka {:6.2}%",
                hits as f64 / n * 100.0,
                qh as f64 / n * 100.0,
                mh as f64 / n * 100.0
            );
        }
    }

    println!(
        "\nlru_ttl: heap bytes per entry, K = V = u64, capacity 10,000, after 100,000 inserts"
    );
    let rows: Vec<(&str, f64)> = vec![
        (
            "lru-ttl LruCache",
            bytes_single::<lru_ttl::LruCache<u64, u64>>(),
        ),
        ("lru", bytes_single::<lru::LruCache<u64, u64>>()),
        ("hashlink", bytes_single::<hashlink::LruCache<u64, u64>>()),
        ("schnellru", bytes_single::<Schnell>()),
        (
            "lru-ttl TtlCache",
            bytes_single::<lru_ttl::TtlCache<u64, u64>>(),
        ),
        ("cached LruTtlCache", bytes_single::<CachedTtl>()),
        (
            "lru-ttl SyncLruCache",
            bytes_shared(|| Box::new(lru_ttl::SyncLruCache::<u64, u64>::new(CAP))),
        ),
        (
            "lru-ttl Cache with time to live",
            bytes_shared(|| Box::new(ours_ttl())),
        ),
        ("moka", bytes_shared(|| Box::new(moka_lru()))),
        (
            "quick_cache",
            bytes_shared(|| Box::new(quick_cache::sync::Cache::<u64, u64>::new(CAP))),
        ),
    ];
    for (name, b) in rows {
        println!("    {name:<28} {b:7.1}");
    }
    println!();
}

// ---------------------------------------------------------------------------------------
// Timing groups.

/// The single-threaded workloads, named once (a string match with a catch-all arm used to
/// run the Zipf workload for any other name).
#[derive(Debug, Clone, Copy)]
enum SingleWorkload {
    /// Gets of keys that are all present.
    GetHit,
    /// Inserts of new keys into a full cache.
    InsertEvicting,
    /// The Zipf workload, 90% reads.
    Zipf,
}

impl SingleWorkload {
    const ALL: [SingleWorkload; 3] = [Self::GetHit, Self::InsertEvicting, Self::Zipf];

    fn label(self) -> &'static str {
        match self {
            Self::GetHit => "get hit",
            Self::InsertEvicting => "insert evicting",
            Self::Zipf => "zipf 90% read",
        }
    }
}

fn bench_single<C: Single>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    workload: SingleWorkload,
    param: &str,
    lookups: &[u64],
    ops: &[u64],
) {
    match workload {
        SingleWorkload::GetHit => {
            let mut c = C::make(CAP);
            for k in 0..CAP as u64 {
                c.put(k, k);
            }
            let mut i = 0usize;
            g.bench_function(BenchmarkId::new(name, param), |b| {
                b.iter(|| {
                    let k = lookups[i & MASK];
                    i += 1;
                    black_box(c.get(k))
                })
            });
        }
        SingleWorkload::InsertEvicting => {
            let mut c = C::make(CAP);
            for k in 0..CAP as u64 {
                c.put(k, k);
            }
            let mut k = CAP as u64;
            g.bench_function(BenchmarkId::new(name, param), |b| {
                b.iter(|| {
                    k += 1;
                    c.put(black_box(k), k);
                })
            });
        }
        SingleWorkload::Zipf => {
            let mut c = C::make(CAP);
            for &op in &ops[..OPS / 2] {
                single_op(&mut c, op);
            }
            let mut i = 0usize;
            g.bench_function(BenchmarkId::new(name, param), |b| {
                b.iter(|| {
                    let op = ops[i & MASK];
                    i += 1;
                    black_box(single_op(&mut c, op))
                })
            });
        }
    }
}

fn main() {
    report::mark_start();
    let ops = zipf_ops(7);
    let traces = all_traces();
    if traces.is_empty() {
        println!("lru_ttl: skipped the trace benchmarks: ../shared/traces not found");
    }
    let mut rng = SplitMix64::new(3);
    let lookups: Vec<u64> = (0..OPS).map(|_| rng.below(CAP as u64)).collect();
    print_hit_ratios_and_memory(&ops, &traces);

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();

    // Single thread: get hit, insert with eviction, the Zipf workload.
    {
        let mut g = c.benchmark_group("lru_ttl/single_thread");
        g.throughput(Throughput::Elements(1));
        for w in SingleWorkload::ALL {
            let p = w.label();
            bench_single::<lru_ttl::LruCache<u64, u64>>(&mut g, "lru-ttl", w, p, &lookups, &ops);
            bench_single::<lru::LruCache<u64, u64>>(&mut g, "lru", w, p, &lookups, &ops);
            bench_single::<hashlink::LruCache<u64, u64>>(&mut g, "hashlink", w, p, &lookups, &ops);
            bench_single::<Schnell>(&mut g, "schnellru", w, p, &lookups, &ops);
        }
        g.finish();
    }

    // Thread-safe, Zipf workload, 1 and 2 threads: time per operation per thread.
    {
        let mut g = c.benchmark_group("lru_ttl/zipf_threads");
        for threads in [1usize, 2] {
            let param = if threads == 1 {
                "1 thread".to_owned()
            } else {
                format!("{threads} threads")
            };
            // One iteration is one operation on each thread: throughput is the total.
            g.throughput(Throughput::Elements(threads as u64));
            for (name, cache) in shared_members() {
                for &op in &ops[..OPS / 2] {
                    shared_op(&*cache, op);
                }
                g.bench_function(BenchmarkId::new(name, &param), |b| {
                    b.iter_custom(|iters| run_threads(&*cache, &ops, threads, iters))
                });
            }
        }
        g.finish();
    }

    // TTL caches (nothing expires within the run: this measures the bookkeeping).
    {
        let mut g = c.benchmark_group("lru_ttl/ttl_zipf");
        g.throughput(Throughput::Elements(1));
        let (w, p) = (SingleWorkload::Zipf, "single thread");
        bench_single::<lru_ttl::TtlCache<u64, u64>>(&mut g, "lru-ttl", w, p, &lookups, &ops);
        bench_single::<CachedTtl>(&mut g, "cached", w, p, &lookups, &ops);
        for threads in [1usize, 2] {
            let param = if threads == 1 {
                "sync, 1 thread".to_owned()
            } else {
                format!("sync, {threads} threads")
            };
            g.throughput(Throughput::Elements(threads as u64));
            let members: Vec<(&str, Arc<dyn Shared + Send>)> = vec![
                ("lru-ttl", Arc::new(ours_ttl())),
                ("moka", Arc::new(moka_ttl())),
            ];
            for (name, cache) in members {
                for &op in &ops[..OPS / 2] {
                    shared_op(&*cache, op);
                }
                g.bench_function(BenchmarkId::new(name, &param), |b| {
                    b.iter_custom(|iters| run_threads(&*cache, &ops, threads, iters))
                });
            }
        }
        g.finish();
    }

    // The shared traces, replayed whole at capacity 1,000 (a fresh cache per replay).
    if !traces.is_empty() {
        let mut g = c.benchmark_group("lru_ttl/traces");
        g.sample_size(10);
        fn replay<C: Single>(keys: &[u64]) -> u64 {
            let mut c = C::make(1_000);
            keys.iter().map(|&k| u64::from(single_op(&mut c, k))).sum()
        }
        for (trace, keys) in &traces {
            g.throughput(Throughput::Elements(keys.len() as u64));
            g.bench_function(BenchmarkId::new("lru-ttl", trace), |b| {
                b.iter(|| replay::<lru_ttl::LruCache<u64, u64>>(keys))
            });
            g.bench_function(BenchmarkId::new("lru", trace), |b| {
                b.iter(|| replay::<lru::LruCache<u64, u64>>(keys))
            });
            g.bench_function(BenchmarkId::new("hashlink", trace), |b| {
                b.iter(|| replay::<hashlink::LruCache<u64, u64>>(keys))
            });
            g.bench_function(BenchmarkId::new("schnellru", trace), |b| {
                b.iter(|| replay::<Schnell>(keys))
            });
        }
        g.finish();
    }

    c.final_summary();
    for group in [
        "lru_ttl/single_thread",
        "lru_ttl/zipf_threads",
        "lru_ttl/ttl_zipf",
        "lru_ttl/traces",
    ] {
        report::print_group(group, "lru-ttl");
    }
}
