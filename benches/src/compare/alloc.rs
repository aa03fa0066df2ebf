//! Global allocators as whole programs: one binary per allocator (`src/bin/alloc_*.rs`, each
//! with its own `#[global_allocator]`), all running the same workloads from this module.
//! The command runs each binary as a child process per workload and round; the child prints
//! one line of JSON: the time, its peak RSS and its RSS at the end.
//!
//! Time workloads: `binary-trees` (the benchmarks game, depths in parallel), `larson` (threads
//! replace random blocks of 8-1000 bytes and hand their live blocks to the next thread every
//! round), `pipeline` (one thread allocates, another frees), `json` (`serde_json` building,
//! printing and parsing documents). Memory workloads, ranked by RSS: `burst` (RSS after freeing
//! a burst of small blocks and a second of light activity), `remote` (the same after the main
//! thread frees an idle worker's large result), `churn` (RSS after generations of short-lived
//! threads that hand blocks to each other).
//!
//! Tracing overhead: the same pool-alloc untraced, wrapped in `pool_alloc::trace::Traced`
//! (counters), and traced while sampling call sites (feature `call-sites`, one sample per
//! 512 KiB) on `pair` (one thread allocating and freeing 48-byte boxes) and single-threaded
//! binary-trees. The untraced build is listed as the peer, so that "vs best peer" reads as the
//! overhead. The benches crate enables `call-sites`, so the counters-only build carries the
//! (idle) sampling hooks too: its figure is an upper bound of the counters' cost.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Barrier, Mutex, mpsc};
use std::time::{Duration, Instant};

use super::{Case, Curve, Mode, Sample, Settings, Workload, WorkloadResult};
use crate::rng::SplitMix64;

/// The contenders: display name, binary name, ours.
const ALLOCATORS: [(&str, &str, bool); 5] = [
    ("pool-alloc", "alloc_pool_alloc", true),
    ("system", "alloc_system", false),
    ("mimalloc", "alloc_mimalloc", false),
    ("jemalloc", "alloc_jemalloc", false),
    ("rusty_alloc", "alloc_rusty_alloc", false),
];

/// The tracing-overhead contenders: display name, binary name, ours. The untraced build is
/// the reference, listed as a peer.
const TRACED: [(&str, &str, bool); 3] = [
    ("pool-alloc, traced", "alloc_traced", true),
    ("pool-alloc, traced + sampled", "alloc_traced_sampled", true),
    ("pool-alloc untraced", "alloc_pool_alloc", false),
];

/// The name prefix of the tracing-overhead workloads (their "peer" is our own untraced build,
/// so they are not peer wins).
pub const OVERHEAD_PREFIX: &str = "trace overhead";

/// A workload of the child binaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocWorkload {
    /// binary-trees.
    BinaryTrees,
    /// larson-style hand-off server.
    Larson,
    /// producer / consumer.
    Pipeline,
    /// `serde_json` documents.
    Json,
    /// RSS after a burst of frees.
    Burst,
    /// RSS after another thread frees an idle worker's result.
    Remote,
    /// RSS after generations of short-lived threads.
    Churn,
    /// One thread allocating and freeing a small box, over and over.
    Pair,
}

impl AllocWorkload {
    /// Every workload.
    pub const ALL: [AllocWorkload; 8] = [
        AllocWorkload::BinaryTrees,
        AllocWorkload::Larson,
        AllocWorkload::Pipeline,
        AllocWorkload::Json,
        AllocWorkload::Burst,
        AllocWorkload::Remote,
        AllocWorkload::Churn,
        AllocWorkload::Pair,
    ];

    /// Its name on the command line of a child.
    ///
    /// ```
    /// use benches::compare::alloc::AllocWorkload;
    /// for w in AllocWorkload::ALL {
    ///     assert_eq!(AllocWorkload::parse(w.name()), Some(w));
    /// }
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            AllocWorkload::BinaryTrees => "binary-trees",
            AllocWorkload::Larson => "larson",
            AllocWorkload::Pipeline => "pipeline",
            AllocWorkload::Json => "json",
            AllocWorkload::Burst => "burst",
            AllocWorkload::Remote => "remote",
            AllocWorkload::Churn => "churn",
            AllocWorkload::Pair => "pair",
        }
    }

    /// The workload of a name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.name() == name)
    }

    /// Allocations the workload makes at `threads` threads and `scale`, for the scaling
    /// curves' time per operation (`None` for the workloads that have no curve). The child
    /// runs exactly these counts.
    ///
    /// ```
    /// use benches::compare::alloc::AllocWorkload;
    /// assert_eq!(AllocWorkload::Larson.operations(2, 1), Some(400_000));
    /// assert_eq!(AllocWorkload::Pipeline.operations(4, 1), Some(500_000));
    /// assert_eq!(AllocWorkload::Json.operations(1, 1), None);
    /// ```
    pub fn operations(self, threads: usize, scale: u64) -> Option<u64> {
        match self {
            AllocWorkload::Larson => Some(threads as u64 * larson_rounds(scale) * LARSON_REPLACE),
            AllocWorkload::Pipeline => Some(pipeline_pairs(threads) as u64 * pipeline_items(scale)),
            _ => None,
        }
    }

    /// The figure that ranks it (`None`: time).
    fn rank_by(self) -> Option<&'static str> {
        match self {
            AllocWorkload::Burst | AllocWorkload::Remote | AllocWorkload::Churn => {
                Some("rss_end_mib")
            }
            _ => None,
        }
    }
}

// ---- The child side: run one workload under this binary's global allocator ----------------

/// RSS and peak RSS of this process, MiB (0 where `/proc` is absent).
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

struct Node(Option<(Box<Node>, Box<Node>)>);

fn tree(depth: u32) -> Box<Node> {
    Box::new(Node(
        (depth > 0).then(|| (tree(depth - 1), tree(depth - 1))),
    ))
}

fn count(node: &Node) -> u64 {
    1 + node.0.as_ref().map_or(0, |(l, r)| count(l) + count(r))
}

fn binary_trees(max_depth: u32, threads: usize) {
    let long_lived = tree(max_depth);
    let depths: Vec<u32> = (4..=max_depth).step_by(2).collect();
    let next = Mutex::new(depths.into_iter());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let Some(d) = next.lock().unwrap().next() else {
                        break;
                    };
                    let iterations = 1u64 << (max_depth - d + 4);
                    for _ in 0..iterations {
                        let t = tree(d);
                        assert_eq!(count(&t), (1 << (d + 1)) - 1, "a tree lost nodes");
                    }
                }
            });
        }
    });
    assert_eq!(count(&long_lived), (1 << (max_depth + 1)) - 1);
}

fn block(rng: &mut SplitMix64, max: u64) -> Box<[u8]> {
    let size = 8 + rng.below(max - 7) as usize;
    let mut b = vec![0u8; size].into_boxed_slice();
    b[0] = size as u8;
    b[size - 1] = size as u8;
    b
}

fn check(b: &[u8]) {
    assert!(
        b[0] == b.len() as u8 && b[b.len() - 1] == b.len() as u8,
        "a block was overwritten"
    );
}

/// Blocks each larson thread replaces per round.
const LARSON_REPLACE: u64 = 20_000;

fn larson_rounds(scale: u64) -> u64 {
    10 * scale
}

/// Each of `threads` threads replaces random blocks of its own set, then hands its set to the
/// next thread (with one thread, to itself: no frees by another thread).
fn larson(threads: usize, rounds: u64) {
    const SLOTS: usize = 2_000;
    let threads = threads.max(1);
    let barrier = Barrier::new(threads);
    let handoff: Vec<Mutex<Vec<Box<[u8]>>>> = (0..threads).map(|_| Mutex::default()).collect();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (barrier, handoff) = (&barrier, &handoff);
            s.spawn(move || {
                let mut rng = SplitMix64::new(t as u64 + 1);
                let mut slots: Vec<Box<[u8]>> = (0..SLOTS).map(|_| block(&mut rng, 1000)).collect();
                for _ in 0..rounds {
                    for _ in 0..LARSON_REPLACE {
                        let i = rng.below(SLOTS as u64) as usize;
                        check(&slots[i]);
                        slots[i] = block(&mut rng, 1000);
                    }
                    *handoff[t].lock().unwrap() = std::mem::take(&mut slots);
                    barrier.wait();
                    slots = std::mem::take(&mut *handoff[(t + 1) % threads].lock().unwrap());
                    barrier.wait();
                }
            });
        }
    });
}

fn pipeline_items(scale: u64) -> u64 {
    250_000 * scale
}

/// Producer/consumer pairs at `threads` threads (one pair below four).
fn pipeline_pairs(threads: usize) -> usize {
    (threads / 2).max(1)
}

/// Pairs of threads, each producer making `items` blocks in batches of 64 that its consumer
/// checks and frees.
fn pipeline(items: u64, threads: usize) {
    std::thread::scope(|s| {
        for pair in 0..pipeline_pairs(threads) {
            let (tx, rx) = mpsc::sync_channel::<Vec<Box<[u8]>>>(16);
            s.spawn(move || {
                for batch in rx {
                    for b in &batch {
                        check(b);
                    }
                }
            });
            s.spawn(move || {
                let mut rng = SplitMix64::new(5 + pair as u64);
                let mut batch = Vec::with_capacity(64);
                for _ in 0..items {
                    batch.push(block(&mut rng, 512));
                    if batch.len() == 64 {
                        tx.send(std::mem::replace(&mut batch, Vec::with_capacity(64)))
                            .expect("consumer alive");
                    }
                }
                tx.send(batch).expect("consumer alive");
            });
        }
    });
}

fn json(documents: u64) {
    use serde_json::{Value, json};
    let mut rng = SplitMix64::new(9);
    for _ in 0..documents {
        let items: Vec<Value> = (0..50)
            .map(|i| {
                json!({
                    "id": rng.next_u64(),
                    "name": format!("item number {i}"),
                    "tags": ["alpha", "beta", format!("t{}", rng.below(100))],
                    "score": rng.below(1000) as f64 / 7.0,
                })
            })
            .collect();
        let doc = json!({ "items": items, "total": 50 });
        let text = serde_json::to_string(&doc).expect("serialise");
        let back: Value = serde_json::from_str(&text).expect("parse");
        assert_eq!(back["items"].as_array().map(Vec::len), Some(50));
    }
}

/// `n` separate 64-byte blocks (boxed on purpose: the workload is the allocator's).
#[allow(clippy::vec_box)]
fn small_blocks(n: usize) -> Vec<Box<[u8; 64]>> {
    (0..n).map(|i| Box::new([i as u8; 64])).collect()
}

fn burst(n: usize) {
    let blocks = small_blocks(n);
    drop(blocks);
}

/// A program that carries on lightly for `period`: every millisecond it allocates and frees
/// a few small blocks (so allocators that return memory on activity get the chance).
fn light_activity(period: Duration) -> f64 {
    let start = Instant::now();
    let mut rng = SplitMix64::new(11);
    while start.elapsed() < period {
        let few: Vec<Box<[u8]>> = (0..16).map(|_| block(&mut rng, 128)).collect();
        few.iter().for_each(|b| check(b));
        drop(few);
        std::thread::sleep(Duration::from_millis(1));
    }
    start.elapsed().as_secs_f64()
}

/// Returns the RSS read while the worker is still alive and idle, and the seconds of light
/// activity (not part of the work).
fn remote(n: usize) -> (f64, f64) {
    let (result_tx, result_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let worker = std::thread::spawn(move || {
        result_tx.send(small_blocks(n)).expect("main alive");
        let _ = done_rx.recv(); // idle until the end
    });
    let result = result_rx.recv().expect("worker's result");
    drop(result);
    let idle = light_activity(Duration::from_secs(1));
    let rss = rss_mib().0;
    let _ = done_tx.send(());
    worker.join().expect("worker");
    (rss, idle)
}

fn churn(generations: usize) {
    let handed: Mutex<Vec<Box<[u8]>>> = Mutex::default();
    for g in 0..generations {
        std::thread::scope(|s| {
            for t in 0..4 {
                let handed = &handed;
                s.spawn(move || {
                    let mut rng = SplitMix64::new((g * 4 + t) as u64);
                    let inherited = std::mem::take(&mut *handed.lock().unwrap());
                    let mut mine: Vec<Box<[u8]>> =
                        (0..20_000).map(|_| block(&mut rng, 256)).collect();
                    drop(inherited);
                    let keep = mine.split_off(mine.len() - 500);
                    handed.lock().unwrap().extend(keep);
                });
            }
        });
    }
}

/// `n` allocations and frees of a 48-byte box, one at a time.
fn pair(n: u64) {
    let mut sum = 0u64;
    for i in 0..n {
        let b = std::hint::black_box(Box::new([i as u8; 48]));
        sum = sum.wrapping_add(u64::from(b[47]));
    }
    std::hint::black_box(sum);
}

/// The child binaries' `main`: runs `<workload> <threads> <scale>` under this binary's global
/// allocator and prints one line of JSON (`secs`, `rss_peak_mib`, `rss_end_mib`).
pub fn child_main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: alloc_<allocator> <workload> <threads> <scale>";
    let workload = args
        .get(1)
        .and_then(|w| AllocWorkload::parse(w))
        .expect(usage);
    let threads: usize = args.get(2).and_then(|t| t.parse().ok()).expect(usage);
    let scale: u64 = args.get(3).and_then(|s| s.parse().ok()).expect(usage);
    let start = Instant::now();
    let mut rss_idle_worker = None;
    let mut not_work = 0.0;
    match workload {
        AllocWorkload::BinaryTrees => binary_trees(14 + scale.ilog2().min(4), threads),
        AllocWorkload::Larson => larson(threads, larson_rounds(scale)),
        AllocWorkload::Pipeline => pipeline(pipeline_items(scale), threads),
        AllocWorkload::Json => json(150 * scale),
        AllocWorkload::Burst => burst(2_000_000),
        AllocWorkload::Remote => {
            let (rss, idle) = remote(2_000_000);
            rss_idle_worker = Some(rss);
            not_work = idle;
        }
        AllocWorkload::Churn => churn(40 * scale.min(4) as usize),
        AllocWorkload::Pair => pair(2_000_000 * scale),
    }
    let secs = start.elapsed().as_secs_f64() - not_work;
    if workload == AllocWorkload::Burst {
        light_activity(Duration::from_secs(1));
    }
    let (rss_now, peak) = rss_mib();
    let end = rss_idle_worker.unwrap_or(rss_now);
    println!(
        "{}",
        serde_json::json!({ "secs": secs, "rss_peak_mib": peak, "rss_end_mib": end })
    );
}

// ---- The parent side: cases that run the child binaries ---------------------------------

/// Where the child binaries are: beside the running command.
pub(crate) fn bin_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default()
}

/// Builds the child binaries with the running command's profile, if any is missing.
pub(crate) fn ensure_built(dir: &Path) -> Result<(), String> {
    let bins = ALLOCATORS
        .iter()
        .chain(&TRACED)
        .map(|(_, bin, _)| *bin)
        .chain(["cache_memory"]);
    if bins.into_iter().all(|bin| dir.join(bin).is_file()) {
        return Ok(());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "benches", "--bins"]);
    if dir.ends_with("release") {
        cmd.arg("--release");
    }
    let status = cmd
        .status()
        .map_err(|e| format!("could not run cargo to build the allocator binaries: {e}"))?;
    if !status.success() {
        return Err("building the allocator binaries failed".to_owned());
    }
    Ok(())
}

/// Runs a child binary with `args` and reads its one line of JSON into a sample: `secs` is
/// the time, every other number a figure.
pub(crate) fn run_child(exe: &Path, args: &[&str]) -> Result<Sample, String> {
    let out = Command::new(exe)
        .args(args)
        .output()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} {} failed: {}",
            exe.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let line = String::from_utf8_lossy(&out.stdout);
    let v: BTreeMap<String, f64> = serde_json::from_str(line.trim())
        .map_err(|e| format!("{}: bad output {line:?}: {e}", exe.display()))?;
    let mut sample = Sample {
        secs: v.get("secs").copied().unwrap_or(f64::NAN),
        ..Sample::default()
    };
    for (k, value) in v {
        if k != "secs" {
            sample = sample.with(&k, value);
        }
    }
    Ok(sample)
}

fn child_case(
    name: &str,
    exe: PathBuf,
    ours: bool,
    workload: AllocWorkload,
    threads: usize,
    scale: u64,
) -> Case {
    Case {
        contender: name.to_owned(),
        ours,
        run: Box::new(move || {
            run_child(
                &exe,
                &[workload.name(), &threads.to_string(), &scale.to_string()],
            )
        }),
    }
}

/// The thread counts a scaling workload runs at: 1, 2, 4 and 8 threads (the pipeline's pairs
/// need two) and `--threads`; in quick mode 2 and 4.
fn scaling_threads(w: AllocWorkload, settings: &Settings) -> Vec<usize> {
    let mut t = match settings.mode {
        Mode::Quick => vec![2, 4],
        _ => vec![1, 2, 4, 8],
    };
    t.push(settings.threads);
    if w == AllocWorkload::Pipeline {
        t.retain(|&n| n >= 2);
        t.iter_mut().for_each(|n| *n = 2 * pipeline_pairs(*n));
    }
    t.sort_unstable();
    t.dedup();
    t
}

/// A workload's name in the report: the scaling workloads carry their thread count.
fn workload_name(w: AllocWorkload, threads: usize) -> String {
    if w.operations(threads, 1).is_some() {
        format!("{} {threads} thr", w.name())
    } else {
        w.name().to_owned()
    }
}

/// Time per allocation against threads, for every contender, from the scaling workloads'
/// results (their medians): one curve for larson, one for the pipeline.
pub fn scaling_curves(results: &[WorkloadResult], settings: &Settings) -> Vec<Curve> {
    let scale = settings.mode.scale();
    [AllocWorkload::Larson, AllocWorkload::Pipeline]
        .into_iter()
        .filter_map(|w| {
            let mut curve = Curve {
                name: w.name().to_owned(),
                x_label: "threads".to_owned(),
                y_label: "ns per allocation".to_owned(),
                log_x: false,
                y_max: None,
                series: Vec::new(),
            };
            for t in scaling_threads(w, settings) {
                let ops = w.operations(t, scale)? as f64;
                let r = results.iter().find(|r| r.name == workload_name(w, t))?;
                for c in &r.contenders {
                    curve.push(&c.name, t as f64, c.median * 1e9 / ops);
                }
            }
            (curve.series.first().is_some_and(|s| s.1.len() >= 2)).then_some(curve)
        })
        .collect()
}

/// The allocator workloads, or a note saying why there are none.
pub fn workloads(settings: &Settings) -> (Vec<Workload>, Option<String>) {
    let dir = bin_dir();
    if let Err(e) = ensure_built(&dir) {
        return (
            Vec::new(),
            Some(format!("Allocator workloads skipped: {e}.")),
        );
    }
    let scale = settings.mode.scale();
    let threads = settings.threads.max(2);
    let memory_rounds = match settings.mode {
        Mode::Quick => 1,
        Mode::Default => 3,
        Mode::Full => 5,
    };
    let mut plan: Vec<(AllocWorkload, usize, String)> = vec![(
        AllocWorkload::BinaryTrees,
        threads,
        format!("binary-trees to depth {}", 14 + scale.ilog2().min(4)),
    )];
    for t in scaling_threads(AllocWorkload::Larson, settings) {
        plan.push((
            AllocWorkload::Larson,
            t,
            format!(
                "larson-style hand-off, {t} threads, {} rounds",
                larson_rounds(scale)
            ),
        ));
    }
    for t in scaling_threads(AllocWorkload::Pipeline, settings) {
        plan.push((
            AllocWorkload::Pipeline,
            t,
            format!(
                "{} producer/consumer pairs, each {} blocks of 8-512 B made by one thread and \
                 freed by the other",
                pipeline_pairs(t),
                pipeline_items(scale)
            ),
        ));
    }
    plan.push((
        AllocWorkload::Json,
        1,
        format!(
            "{} serde_json documents built, printed and parsed",
            150 * scale
        ),
    ));
    plan.push((
        AllocWorkload::Burst,
        1,
        "RSS after freeing 2M blocks of 64 B and 1 s of light activity (no call)".to_owned(),
    ));
    if settings.mode != Mode::Quick {
        plan.push((
            AllocWorkload::Remote,
            2,
            "RSS after main frees an idle worker's 2M x 64 B result and 1 s of light activity (no \
             call)"
                .to_owned(),
        ));
        plan.push((
            AllocWorkload::Churn,
            4,
            format!(
                "RSS after {} generations of 4 short-lived threads handing blocks on",
                40 * scale.min(4)
            ),
        ));
    }
    let workloads = plan
        .into_iter()
        .map(|(w, threads, about)| Workload {
            name: workload_name(w, threads),
            about,
            rank_by: w.rank_by().map(str::to_owned),
            rounds: w.rank_by().map(|_| memory_rounds),
            no_warm_up: true,
            cases: ALLOCATORS
                .iter()
                .map(|(name, bin, ours)| child_case(name, dir.join(bin), *ours, w, threads, scale))
                .collect(),
        })
        .collect::<Vec<_>>();
    let mut workloads = workloads;
    let depth = 14 + scale.ilog2().min(4);
    for (w, about) in [
        (
            AllocWorkload::Pair,
            format!(
                "{} allocations and frees of a 48-byte box",
                2_000_000 * scale
            ),
        ),
        (
            AllocWorkload::BinaryTrees,
            format!("binary-trees to depth {depth}, one thread"),
        ),
    ] {
        workloads.push(Workload {
            name: format!("{OVERHEAD_PREFIX}, {}", w.name()),
            about: format!("{about}; the untraced build is the reference"),
            rank_by: None,
            rounds: None,
            no_warm_up: true,
            cases: TRACED
                .iter()
                .map(|(name, bin, ours)| child_case(name, dir.join(bin), *ours, w, 1, scale))
                .collect(),
        });
    }
    (workloads, None)
}
