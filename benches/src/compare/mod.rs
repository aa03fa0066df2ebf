//! The comparison command: each crate of the workspace against the system allocator and the
//! best peer crates, on workloads users run, side by side in one run.
//!
//! Shape (as mokabench has it): one driver trait per kind of contender and one small module
//! per component with an implementation per peer; the workloads of a component are an enum.
//! A component turns its workloads into [`Case`]s: a contender's name and a closure that runs
//! the workload once and returns a [`Sample`]. The runner ([`measure`]) measures every case of a
//! workload in interleaved rounds (A B C A B C, not A A A B B B, so that drift of the machine
//! hits all alike), keeps every sample, and hands the results to [`output`] for the tables,
//! the JSON file and the charts.
//!
//! - [`alloc`]: whole programs, one binary per global allocator (`src/bin/alloc_*.rs`).
//! - [`lru`]: single-threaded LRU caches replaying the traces in `../shared/traces/`, and Zipf.
//! - [`shared`]: thread-safe caches on Zipf traffic at several thread counts.
//! - [`policy`]: eviction policies' hit ratios and speed on the traces and Zipf, and the
//!   hit-ratio curves.
//! - [`weak`]: weak-value caches.
//! - [`pool`]: object pools.

pub mod alloc;
pub mod lru;
pub mod machine;
pub mod output;
pub mod policy;
pub mod pool;
pub mod shared;
pub mod weak;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

/// How long the command measures: `Quick` for CI and a first look (under a minute), `Default`
/// (under five minutes on two cores), `Full` (longer runs, more rounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// About a minute: small workloads, three rounds.
    Quick,
    /// A few minutes: the default.
    Default,
    /// Larger workloads and more rounds.
    Full,
}

impl Mode {
    /// Rounds per workload (each contender runs once per round).
    ///
    /// ```
    /// use benches::compare::Mode;
    /// assert!(Mode::Quick.rounds() < Mode::Full.rounds());
    /// ```
    pub fn rounds(self) -> usize {
        match self {
            Mode::Quick => 3,
            Mode::Default => 5,
            Mode::Full => 9,
        }
    }

    /// A multiplier for workload sizes.
    ///
    /// ```
    /// use benches::compare::Mode;
    /// assert_eq!(Mode::Quick.scale(), 1);
    /// ```
    pub fn scale(self) -> u64 {
        match self {
            Mode::Quick => 1,
            Mode::Default => 4,
            Mode::Full => 16,
        }
    }
}

/// The components the command compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    /// `pool-alloc` as the global allocator, against the system allocator and peers.
    Alloc,
    /// `lru-ttl`'s single-threaded `LruCache`.
    Lru,
    /// `lru-ttl`'s thread-safe caches.
    Shared,
    /// `lru-ttl`'s eviction policies.
    Policy,
    /// `weakref-cache`.
    Weak,
    /// `recycle-pool`.
    Pool,
}

impl Component {
    /// Every component, in the order the command runs them.
    pub const ALL: [Component; 6] = [
        Component::Alloc,
        Component::Lru,
        Component::Shared,
        Component::Policy,
        Component::Weak,
        Component::Pool,
    ];

    /// The component's name in tables and file names.
    ///
    /// ```
    /// assert_eq!(benches::compare::Component::Lru.name(), "lru");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Component::Alloc => "alloc",
            Component::Lru => "lru",
            Component::Shared => "shared",
            Component::Policy => "policy",
            Component::Weak => "weak",
            Component::Pool => "pool",
        }
    }

    /// What the component's table compares.
    pub fn title(self) -> &'static str {
        match self {
            Component::Alloc => "Global allocators, whole programs",
            Component::Lru => "Single-threaded LRU caches",
            Component::Shared => "Thread-safe caches",
            Component::Policy => "Eviction policies: miss ratio (ranked) and time",
            Component::Weak => "Weak-value caches",
            Component::Pool => "Object pools",
        }
    }
}

/// What one run of a workload measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sample {
    /// Wall time of the measured part, in seconds.
    pub secs: f64,
    /// Other figures (hit ratio, peak RSS in MiB, ...), by name.
    pub metrics: BTreeMap<String, f64>,
}

impl Sample {
    /// A sample of `elapsed` time and no other figure.
    ///
    /// ```
    /// let s = benches::compare::Sample::time(std::time::Duration::from_millis(1500));
    /// assert_eq!(s.secs, 1.5);
    /// ```
    pub fn time(elapsed: Duration) -> Self {
        Sample {
            secs: elapsed.as_secs_f64(),
            metrics: BTreeMap::new(),
        }
    }

    /// This sample with figure `name` set to `value`.
    ///
    /// ```
    /// let s = benches::compare::Sample::default().with("hit_ratio", 0.5);
    /// assert_eq!(s.metrics["hit_ratio"], 0.5);
    /// ```
    pub fn with(mut self, name: &str, value: f64) -> Self {
        self.metrics.insert(name.to_owned(), value);
        self
    }
}

/// One contender on one workload: how to run it once.
pub struct Case {
    /// The contender's name.
    pub contender: String,
    /// Whether this is one of the workspace's crates (the others are peers).
    pub ours: bool,
    /// Runs the workload once. An `Err` stops the command with that message (a wrong hit
    /// ratio, a child process that failed).
    pub run: Box<dyn FnMut() -> Result<Sample, String>>,
}

/// Rounds `workload` will run under `rounds` by default.
pub fn rounds_of(workload: &Workload, rounds: usize) -> usize {
    workload.rounds.unwrap_or(rounds)
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("contender", &self.contender)
            .field("ours", &self.ours)
            .finish_non_exhaustive()
    }
}

/// A workload: its name, what it does, and a case per contender.
#[derive(Debug, Default)]
pub struct Workload {
    /// Short name, unique within its component.
    pub name: String,
    /// One line on what it does.
    pub about: String,
    /// The figure that ranks the contenders (lower is better); `None` ranks by time.
    pub rank_by: Option<String>,
    /// Rounds for this workload, when not the mode's (slow workloads run fewer).
    pub rounds: Option<usize>,
    /// Skip the warm-up run (a workload that runs in a fresh process each time).
    pub no_warm_up: bool,
    /// The cases, ours first.
    pub cases: Vec<Case>,
}

/// The settings of one run of the command.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// How long to measure.
    pub mode: Mode,
    /// The largest thread count for multi-threaded workloads.
    pub threads: usize,
}

impl Settings {
    /// The thread counts a multi-threaded workload runs at: 1, those of `also` up to
    /// [`threads`](Settings::threads), and `threads`, in order and each once.
    ///
    /// ```
    /// use benches::compare::{Mode, Settings};
    /// let s = Settings { mode: Mode::Quick, threads: 8 };
    /// assert_eq!(s.thread_counts(&[2]), [1, 2, 8]);
    /// let one = Settings { mode: Mode::Quick, threads: 1 };
    /// assert_eq!(one.thread_counts(&[2]), [1]);
    /// ```
    pub fn thread_counts(&self, also: &[usize]) -> Vec<usize> {
        let top = self.threads.max(1);
        let mut counts = vec![1, top];
        counts.extend(also.iter().copied().filter(|&t| t <= top));
        counts.sort_unstable();
        counts.dedup();
        counts
    }
}

/// The results of one contender on one workload.
#[derive(Debug, Clone, Serialize)]
pub struct ContenderResult {
    /// The contender's name.
    pub name: String,
    /// One of ours?
    pub ours: bool,
    /// Every sample, in the order measured.
    pub samples: Vec<Sample>,
    /// Median time, seconds.
    pub median: f64,
    /// Fastest sample, seconds.
    pub min: f64,
    /// Slowest sample, seconds.
    pub max: f64,
    /// Median of each other figure.
    pub metrics: BTreeMap<String, f64>,
}

/// The results of one workload.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadResult {
    /// The workload's name.
    pub name: String,
    /// What it does.
    pub about: String,
    /// The figure that ranks the contenders (lower is better); `None` ranks by time.
    pub rank_by: Option<String>,
    /// One entry per contender.
    pub contenders: Vec<ContenderResult>,
}

/// The results of one component.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentResult {
    /// The component.
    pub component: Component,
    /// Its title.
    pub title: String,
    /// Its workloads.
    pub workloads: Vec<WorkloadResult>,
    /// A note (for example: the traces were not found).
    pub note: Option<String>,
    /// Figures against a parameter (the policies' hit ratio against capacity, the
    /// allocators' time per operation against threads).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub curves: Vec<Curve>,
}

/// One figure against one parameter for every contender: a panel of a component's curves
/// chart and a table of its report.
#[derive(Debug, Clone, Serialize)]
pub struct Curve {
    /// What the curve is of (a trace, a workload).
    pub name: String,
    /// The parameter on the x axis (e.g. "capacity").
    pub x_label: String,
    /// The figure on the y axis (e.g. "hit ratio").
    pub y_label: String,
    /// Whether the x axis is logarithmic.
    pub log_x: bool,
    /// The top of the y axis, when the figure has one (a ratio: 1); else the largest value.
    pub y_max: Option<f64>,
    /// Per contender: `(x, y)` points by increasing `x`.
    pub series: Vec<(String, Vec<(f64, f64)>)>,
}

impl Curve {
    /// Adds the point `(x, y)` to `contender`'s series (made on first use).
    ///
    /// ```
    /// use benches::compare::Curve;
    /// let mut c = Curve {
    ///     name: "loop".into(),
    ///     x_label: "capacity".into(),
    ///     y_label: "hit ratio".into(),
    ///     log_x: true,
    ///     y_max: Some(1.0),
    ///     series: Vec::new(),
    /// };
    /// c.push("lru", 100.0, 0.5);
    /// c.push("lru", 1000.0, 0.9);
    /// assert_eq!(c.series, vec![("lru".to_owned(), vec![(100.0, 0.5), (1000.0, 0.9)])]);
    /// ```
    pub fn push(&mut self, contender: &str, x: f64, y: f64) {
        match self.series.iter_mut().find(|s| s.0 == contender) {
            Some(s) => s.1.push((x, y)),
            None => self.series.push((contender.to_owned(), vec![(x, y)])),
        }
    }
}

/// The median of `values` (the mean of the middle two for an even count); 0 when empty.
///
/// ```
/// assert_eq!(benches::compare::median(&[3.0, 1.0, 2.0]), 2.0);
/// assert_eq!(benches::compare::median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
/// ```
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Summarises the samples of one contender.
///
/// ```
/// use benches::compare::{Sample, summarise};
/// let samples = vec![
///     Sample::default().with("hits", 2.0),
///     Sample { secs: 3.0, ..Sample::default() }.with("hits", 4.0),
///     Sample { secs: 1.0, ..Sample::default() }.with("hits", 6.0),
/// ];
/// let r = summarise("x", false, samples);
/// assert_eq!((r.median, r.min, r.max), (1.0, 0.0, 3.0));
/// assert_eq!(r.metrics["hits"], 4.0);
/// ```
pub fn summarise(name: &str, ours: bool, samples: Vec<Sample>) -> ContenderResult {
    let secs: Vec<f64> = samples.iter().map(|s| s.secs).collect();
    let mut names: Vec<&String> = samples.iter().flat_map(|s| s.metrics.keys()).collect();
    names.sort();
    names.dedup();
    let metrics = names
        .into_iter()
        .map(|m| {
            let values: Vec<f64> = samples
                .iter()
                .filter_map(|s| s.metrics.get(m))
                .copied()
                .collect();
            (m.clone(), median(&values))
        })
        .collect();
    ContenderResult {
        name: name.to_owned(),
        ours,
        median: median(&secs),
        min: secs.iter().copied().fold(f64::INFINITY, f64::min),
        max: secs.iter().copied().fold(0.0, f64::max),
        samples,
        metrics,
    }
}

/// Measures every case of `workload` for `rounds` interleaved rounds (or the workload's own
/// count; the order of the cases rotates each round), calling `tick` after each run. One
/// warm-up run per case comes first and is not kept, unless the workload says otherwise.
///
/// ```
/// use benches::compare::{Case, Sample, Workload, measure};
/// let order = std::rc::Rc::new(std::cell::RefCell::new(String::new()));
/// let case = |name: &'static str| {
///     let order = order.clone();
///     Case {
///         contender: name.into(),
///         ours: name == "a",
///         run: Box::new(move || {
///             order.borrow_mut().push_str(name);
///             Ok(Sample::default())
///         }),
///     }
/// };
/// let w = Workload {
///     name: "w".into(),
///     cases: vec![case("a"), case("b")],
///     ..Workload::default()
/// };
/// let r = measure(w, 2, &mut || {}).unwrap();
/// assert_eq!(*order.borrow(), "ababba"); // warm-up, then rotated rounds
/// assert_eq!(r.contenders[0].samples.len(), 2);
/// ```
pub fn measure(
    workload: Workload,
    rounds: usize,
    tick: &mut dyn FnMut(),
) -> Result<WorkloadResult, String> {
    let Workload {
        name,
        about,
        rank_by,
        rounds: own_rounds,
        no_warm_up,
        mut cases,
    } = workload;
    let rounds = own_rounds.unwrap_or(rounds);
    let n = cases.len();
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); n];
    let run =
        |case: &mut Case| (case.run)().map_err(|e| format!("{name} / {}: {e}", case.contender));
    if !no_warm_up {
        for case in cases.iter_mut() {
            run(case)?;
        }
    }
    for round in 0..rounds {
        for k in 0..n {
            let i = (k + round) % n;
            samples[i].push(run(&mut cases[i])?);
            tick();
        }
    }
    let contenders = cases
        .iter()
        .zip(samples)
        .map(|(case, s)| summarise(&case.contender, case.ours, s))
        .collect();
    Ok(WorkloadResult {
        name,
        about,
        rank_by,
        contenders,
    })
}

/// Times `f`.
///
/// ```
/// let (value, took) = benches::compare::timed(|| 6 * 7);
/// assert_eq!(value, 42);
/// assert!(took.as_secs() < 5);
/// ```
pub fn timed<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let start = Instant::now();
    let r = f();
    (r, start.elapsed())
}

/// The workloads of `component` under `settings`, with a note when some could not be made.
pub fn workloads(component: Component, settings: &Settings) -> (Vec<Workload>, Option<String>) {
    match component {
        Component::Alloc => alloc::workloads(settings),
        Component::Lru => lru::workloads(settings),
        Component::Shared => (shared::workloads(settings), None),
        Component::Policy => policy::workloads(settings),
        Component::Weak => (weak::workloads(settings), None),
        Component::Pool => (pool::workloads(settings), None),
    }
}
