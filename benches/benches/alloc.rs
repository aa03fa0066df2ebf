//! The allocator suite: `pool-alloc` against the system allocator, mimalloc and jemalloc, each
//! called through its own `GlobalAlloc` methods (this binary's global allocator is the default
//! one and serves only the harness).
//!
//! Members: pool-alloc, pool-alloc wrapped in `pool_alloc::trace::Traced` (the tracer's
//! counters; not tracing), the system allocator, mimalloc and jemalloc.
//!
//! Groups (function id = allocator, parameter = block size or case):
//! - `alloc/pair`: one alloc and one dealloc of the same layout, 16 to 1024 bytes;
//! - `alloc/batch`: 10,000 blocks allocated, then freed in allocation order or in random order
//!   (time per batch);
//! - `alloc/cross_thread`: the bench thread allocates, a second thread frees; pointers travel in
//!   batches of 1024 over a bounded channel, whose buffers are recycled (time per block).
//!
//! The whole-program benchmark (binary-trees) and the memory benchmark need each allocator as
//! the `#[global_allocator]` and so live in their own binaries: `whole_*.rs` and
//! `alloc_rss_*.rs`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use benches::rng::SplitMix64;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, measurement::WallTime};

static POOL: pool_alloc::PoolAlloc = pool_alloc::PoolAlloc::new();
/// pool-alloc under the tracer's counters (`pool_alloc::trace`), for their overhead.
static TRACED: pool_alloc::trace::Traced<pool_alloc::PoolAlloc> =
    pool_alloc::trace::Traced::new(pool_alloc::PoolAlloc::new());
static SYSTEM: System = System;
static MIMALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
static JEMALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Something to run once per allocator, monomorphised for each so that the calls are direct.
trait PerAllocator {
    fn run<A: GlobalAlloc + Sync>(&mut self, name: &str, alloc: &'static A);
}

/// Runs `f` for every member of the group, ours first.
fn for_each_allocator(f: &mut impl PerAllocator) {
    f.run("pool-alloc", &POOL);
    f.run("pool-alloc traced", &TRACED);
    f.run("system", &SYSTEM);
    f.run("mimalloc", &MIMALLOC);
    f.run("jemalloc", &JEMALLOC);
}

const PAIR_SIZES: [usize; 7] = [16, 32, 64, 128, 256, 512, 1024];

struct Pair<'a, 'c> {
    group: &'a mut BenchmarkGroup<'c, WallTime>,
    size: usize,
}

impl PerAllocator for Pair<'_, '_> {
    fn run<A: GlobalAlloc + Sync>(&mut self, name: &str, alloc: &'static A) {
        let layout = Layout::from_size_align(self.size, 8).expect("layout");
        self.group
            .bench_function(BenchmarkId::new(name, format!("{} B", self.size)), |b| {
                b.iter(|| {
                    // The layout goes through `black_box`, so that no allocator gets its size
                    // class routing folded away at compile time.
                    let layout = black_box(layout);
                    // SAFETY: non-zero size; the block is freed with the same layout.
                    unsafe {
                        let p = alloc.alloc(layout);
                        assert!(!p.is_null());
                        alloc.dealloc(black_box(p), layout);
                    }
                });
            });
    }
}

const BATCH: usize = 10_000;

/// How the blocks of one batch are sized and in which order they are freed.
#[derive(Clone, Copy)]
enum BatchCase {
    /// 64-byte blocks freed in allocation order.
    InOrder,
    /// 64-byte blocks freed in a random order.
    RandomOrder,
    /// Sizes drawn from 16..=1024 bytes, freed in a random order.
    MixedRandom,
}

impl BatchCase {
    fn label(self) -> &'static str {
        match self {
            Self::InOrder => "64 B, in order",
            Self::RandomOrder => "64 B, random order",
            Self::MixedRandom => "16-1024 B, random order",
        }
    }
}

struct Batch<'a, 'c> {
    group: &'a mut BenchmarkGroup<'c, WallTime>,
    case: BatchCase,
}

impl PerAllocator for Batch<'_, '_> {
    fn run<A: GlobalAlloc + Sync>(&mut self, name: &str, alloc: &'static A) {
        let mut rng = SplitMix64::new(2024);
        let layouts: Vec<Layout> = (0..BATCH)
            .map(|_| {
                let size = match self.case {
                    BatchCase::MixedRandom => 16 + rng.below(1024 - 16 + 1) as usize,
                    _ => 64,
                };
                Layout::from_size_align(size, 8).expect("layout")
            })
            .collect();
        let mut order: Vec<usize> = (0..BATCH).collect();
        if !matches!(self.case, BatchCase::InOrder) {
            for i in (1..BATCH).rev() {
                order.swap(i, rng.below(i as u64 + 1) as usize);
            }
        }
        let mut ptrs = vec![std::ptr::null_mut::<u8>(); BATCH];
        self.group
            .bench_function(BenchmarkId::new(name, self.case.label()), |b| {
                b.iter(|| {
                    for (slot, &layout) in ptrs.iter_mut().zip(&layouts) {
                        // SAFETY: non-zero size; freed below with the same layout.
                        let p = unsafe { alloc.alloc(layout) };
                        assert!(!p.is_null());
                        // Touch the block, as a program would.
                        // SAFETY: the block holds at least one byte.
                        unsafe { p.write(1) };
                        *slot = p;
                    }
                    for &i in &order {
                        // SAFETY: `ptrs[i]` is live with `layouts[i]`, freed exactly once.
                        unsafe { alloc.dealloc(black_box(ptrs[i]), layouts[i]) };
                    }
                });
            });
    }
}

/// One block in flight from the allocating thread to the freeing thread.
#[derive(Clone, Copy)]
struct Sent {
    addr: usize,
    size: usize,
}

const CHANNEL_BATCH: usize = 1024;

/// Allocates `iters` blocks on this thread and frees them on another; returns the wall time
/// until the last one is freed.
fn cross_thread<A: GlobalAlloc + Sync>(alloc: &'static A, sizes: &[usize], iters: u64) -> Duration {
    let (full_tx, full_rx) = mpsc::sync_channel::<Vec<Sent>>(8);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<Sent>>();
    for _ in 0..12 {
        empty_tx
            .send(Vec::with_capacity(CHANNEL_BATCH))
            .expect("receiver alive");
    }
    let start = Instant::now();
    thread::scope(|s| {
        s.spawn(move || {
            for mut batch in full_rx {
                for sent in batch.drain(..) {
                    let layout = Layout::from_size_align(sent.size, 8).expect("layout");
                    // SAFETY: allocated by the producer with this layout, freed exactly once.
                    unsafe { alloc.dealloc(sent.addr as *mut u8, layout) };
                }
                // The producer may have finished and dropped its receiver: then just drop.
                let _ = empty_tx.send(batch);
            }
        });
        let mut left = iters as usize;
        let mut k = 0;
        while left > 0 {
            let mut batch = empty_rx.recv().expect("the consumer recycles batches");
            let n = left.min(CHANNEL_BATCH);
            for _ in 0..n {
                let size = sizes[k % sizes.len()];
                k += 1;
                let layout = Layout::from_size_align(size, 8).expect("layout");
                // SAFETY: non-zero size; the consumer frees it with the same layout.
                let p = unsafe { alloc.alloc(layout) };
                assert!(!p.is_null());
                // SAFETY: the block holds at least one byte.
                unsafe { p.write(1) };
                batch.push(Sent {
                    addr: p as usize,
                    size,
                });
            }
            left -= n;
            full_tx.send(batch).expect("consumer alive");
        }
        drop(full_tx);
    });
    start.elapsed()
}

struct CrossThread<'a, 'c> {
    group: &'a mut BenchmarkGroup<'c, WallTime>,
    label: &'static str,
    sizes: Vec<usize>,
}

impl PerAllocator for CrossThread<'_, '_> {
    fn run<A: GlobalAlloc + Sync>(&mut self, name: &str, alloc: &'static A) {
        let sizes = &self.sizes;
        self.group
            .bench_function(BenchmarkId::new(name, self.label), |b| {
                b.iter_custom(|iters| cross_thread(alloc, sizes, iters));
            });
    }
}

fn pair_group(c: &mut Criterion) {
    let mut group = c.benchmark_group("alloc/pair");
    group
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(30)
        .nresamples(20_000);
    for size in PAIR_SIZES {
        for_each_allocator(&mut Pair {
            group: &mut group,
            size,
        });
    }
    group.finish();
}

fn batch_group(c: &mut Criterion) {
    let mut group = c.benchmark_group("alloc/batch");
    group
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(30)
        .nresamples(20_000);
    for case in [
        BatchCase::InOrder,
        BatchCase::RandomOrder,
        BatchCase::MixedRandom,
    ] {
        for_each_allocator(&mut Batch {
            group: &mut group,
            case,
        });
    }
    group.finish();
}

fn cross_thread_group(c: &mut Criterion) {
    let mut group = c.benchmark_group("alloc/cross_thread");
    group
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(20)
        .nresamples(20_000);
    let mut rng = SplitMix64::new(99);
    let mixed: Vec<usize> = (0..4096)
        .map(|_| 16 + rng.below(1024 - 16 + 1) as usize)
        .collect();
    for (label, sizes) in [("64 B", vec![64]), ("16-1024 B", mixed)] {
        for_each_allocator(&mut CrossThread {
            group: &mut group,
            label,
            sizes,
        });
    }
    group.finish();
}

fn main() {
    benches::report::mark_start();
    // No plots: they cost several seconds per benchmark on a shared 2-core machine, and the
    // suite prints its own ratio tables.
    let mut c = Criterion::default().without_plots().configure_from_args();
    pair_group(&mut c);
    batch_group(&mut c);
    cross_thread_group(&mut c);
    c.final_summary();
    for group in ["alloc/pair", "alloc/batch", "alloc/cross_thread"] {
        benches::report::print_group(group, "pool-alloc");
    }
}
