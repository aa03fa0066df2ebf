//! Snapshots and their statistics: what [`snapshot`] captures, grouped by a [`Key`] and
//! compared as Python's `Snapshot.statistics` and `Snapshot.compare_to` do.

use core::fmt;
use std::collections::HashMap;

use super::counters;
use super::slot::{BUCKETS, BucketTotals};

/// How [`Snapshot::statistics`] and [`Snapshot::compare_to`] group blocks, as Python's
/// `key_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Key {
    /// By block size, in power-of-two ranges; exact, from the always-on counters.
    Size,
    /// By the first frame outside the allocator and the standard library (`file:line`);
    /// estimated from the sampled allocations (feature `call-sites`, after [`start`]).
    ///
    /// [`start`]: super::start
    Lineno,
    /// By the whole call stack, up to the `frames` given to [`start`]; estimated, as
    /// [`Key::Lineno`].
    ///
    /// [`start`]: super::start
    Traceback,
}

/// One frame of a call stack, as resolved from the program's debug information.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Frame {
    /// The source file, `"<unknown>"` without debug information.
    pub file: String,
    /// The line, 0 when unknown.
    pub line: u32,
    /// The function's demangled name, empty when unknown.
    pub function: String,
}

impl fmt::Display for Frame {
    /// `file:line`, as Python prints a frame.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// What a [`Statistic`] counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// Blocks of `.0` to `.1` bytes ([`Key::Size`]).
    Sizes(usize, usize),
    /// Blocks allocated from this stack, innermost frame first: one frame for
    /// [`Key::Lineno`], up to the traceback limit for [`Key::Traceback`].
    Traceback(Vec<Frame>),
}

impl fmt::Display for Group {
    /// `sizes 65-128 B`, or the innermost frame (`file.rs:42`); with `{:#}` a traceback
    /// prints every frame, one per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Group::Sizes(low, high) => write!(f, "sizes {low}-{high} B"),
            Group::Traceback(frames) if f.alternate() => {
                for (i, frame) in frames.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    write!(f, "{frame}")?;
                }
                Ok(())
            }
            Group::Traceback(frames) => match frames.first() {
                Some(frame) => write!(f, "{frame}"),
                None => f.write_str("<unknown>:0"),
            },
        }
    }
}

/// One group of a [`Snapshot::statistics`], printed as Python prints a `Statistic`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Statistic {
    /// What is counted.
    pub group: Group,
    /// Bytes held (an estimate for sampled groups).
    pub size: usize,
    /// Blocks held (an estimate for sampled groups).
    pub count: usize,
}

impl fmt::Display for Statistic {
    /// `file.rs:42: size=97.7 KiB, count=1000, average=100 B`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: size=", self.group)?;
        human(f, self.size as i64, false)?;
        write!(f, ", count={}, average=", self.count)?;
        human(f, (self.size / self.count.max(1)) as i64, false)
    }
}

/// One group of a [`Snapshot::compare_to`], printed as Python prints a `StatisticDiff`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatisticDiff {
    /// What is counted.
    pub group: Group,
    /// Bytes held now.
    pub size: usize,
    /// Change in bytes since the older snapshot.
    pub size_diff: i64,
    /// Blocks held now.
    pub count: usize,
    /// Change in blocks.
    pub count_diff: i64,
}

impl fmt::Display for StatisticDiff {
    /// `file.rs:42: size=1.2 MiB (+1.0 MiB), count=1000 (+900), average=1.2 KiB`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: size=", self.group)?;
        human(f, self.size as i64, false)?;
        f.write_str(" (")?;
        human(f, self.size_diff, true)?;
        write!(
            f,
            "), count={} ({:+}), average=",
            self.count, self.count_diff
        )?;
        human(f, (self.size / self.count.max(1)) as i64, false)
    }
}

/// Bytes as Python's tracemalloc prints them.
fn human(f: &mut fmt::Formatter<'_>, bytes: i64, sign: bool) -> fmt::Result {
    let (v, unit) = match bytes.unsigned_abs() {
        b if b >= 1 << 30 => (bytes as f64 / (1u64 << 30) as f64, "GiB"),
        b if b >= 1 << 20 => (bytes as f64 / (1u64 << 20) as f64, "MiB"),
        b if b >= 1 << 10 => (bytes as f64 / 1024.0, "KiB"),
        _ if sign => return write!(f, "{bytes:+} B"),
        _ => return write!(f, "{bytes} B"),
    };
    if sign {
        write!(f, "{v:+.1} {unit}")
    } else {
        write!(f, "{v:.1} {unit}")
    }
}

/// The figures at one moment, as `tracemalloc.take_snapshot()`.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Bytes held.
    pub bytes: usize,
    /// Blocks held.
    pub blocks: usize,
    /// Allocations since the program started (a reallocation counts one, and one free).
    pub allocations: u64,
    /// Frees since the program started.
    pub frees: u64,
    /// Peak bytes held so far (see [`PEAK_STEP`](super::PEAK_STEP) for its precision).
    pub peak: usize,
    /// The stack depth kept for [`Key::Traceback`], as Python's `traceback_limit`.
    pub traceback_limit: usize,
    buckets: [BucketTotals; BUCKETS],
    #[cfg(feature = "call-sites")]
    samples: Vec<super::sample::Live>,
}

/// Takes a [`Snapshot`]: the counters now and, with the feature `call-sites` while tracing,
/// the sampled live allocations with their raw stacks (resolved later, by
/// [`Snapshot::statistics`] and [`Snapshot::compare_to`]).
///
/// ```
/// let s = pool_alloc::trace::snapshot();
/// assert!(s.peak >= s.bytes);
/// ```
pub fn snapshot() -> Snapshot {
    let buckets = counters::bucket_totals();
    // The totals come from the same read as the size table, so that the table adds up to
    // them even while other threads allocate (a second read of the totals would not).
    let bytes = buckets.iter().map(|b| b.bytes).sum::<i64>().max(0);
    let peak = counters::peak(bytes);
    Snapshot {
        bytes: bytes as usize,
        blocks: buckets.iter().map(|b| b.blocks).sum::<i64>().max(0) as usize,
        allocations: buckets.iter().map(|b| b.allocs).sum(),
        frees: buckets.iter().map(|b| b.frees).sum(),
        peak: peak as usize,
        traceback_limit: super::frames(),
        buckets,
        #[cfg(feature = "call-sites")]
        samples: super::sample::live(),
    }
}

impl Snapshot {
    /// What is held, grouped by `key`, largest first, as `snapshot.statistics(key_type)`.
    ///
    /// [`Key::Size`] is exact. [`Key::Lineno`] and [`Key::Traceback`] are estimated from the
    /// sampled allocations and resolve their stacks here (the first call reads the program's
    /// debug information); they are empty without the feature `call-sites`, or when no
    /// allocation was sampled while tracing.
    ///
    /// ```
    /// use pool_alloc::trace::{Key, snapshot};
    /// for stat in snapshot().statistics(Key::Size).iter().take(3) {
    ///     println!("{stat}"); // sizes 17-32 B: size=1.2 KiB, count=40, average=32 B
    /// }
    /// ```
    pub fn statistics(&self, key: Key) -> Vec<Statistic> {
        let mut stats = match key {
            Key::Size => self
                .buckets
                .iter()
                .enumerate()
                .filter(|(_, t)| t.blocks > 0)
                .map(|(b, t)| Statistic {
                    group: size_group(b),
                    size: t.bytes.max(0) as usize,
                    count: t.blocks as usize,
                })
                .collect(),
            Key::Lineno | Key::Traceback => self.sampled(key),
        };
        stats.sort_by(|a, b| {
            (b.size, b.count)
                .cmp(&(a.size, a.count))
                .then_with(|| a.group.cmp(&b.group))
        });
        stats
    }

    #[cfg(feature = "call-sites")]
    fn sampled(&self, key: Key) -> Vec<Statistic> {
        let depth = if key == Key::Lineno {
            1
        } else {
            self.traceback_limit
        };
        super::sites::statistics(&self.samples, depth)
    }

    #[cfg(not(feature = "call-sites"))]
    fn sampled(&self, _key: Key) -> Vec<Statistic> {
        Vec::new()
    }

    /// The groups that changed since `older`, largest change in bytes first, as
    /// `snapshot2.compare_to(snapshot1, key_type)`.
    ///
    /// ```
    /// use pool_alloc::trace::{Key, snapshot};
    /// let a = snapshot();
    /// let b = snapshot();
    /// let diffs = b.compare_to(&a, Key::Size);
    /// assert!(diffs.iter().all(|d| d.count_diff != 0 || d.size_diff != 0));
    /// ```
    pub fn compare_to(&self, older: &Snapshot, key: Key) -> Vec<StatisticDiff> {
        let mut groups: HashMap<Group, (Statistic, Option<Statistic>)> = HashMap::new();
        for s in self.statistics(key) {
            groups.insert(s.group.clone(), (s, None));
        }
        for s in older.statistics(key) {
            match groups.get_mut(&s.group) {
                Some((_, then)) => *then = Some(s),
                None => {
                    let now = Statistic {
                        group: s.group.clone(),
                        size: 0,
                        count: 0,
                    };
                    groups.insert(s.group.clone(), (now, Some(s)));
                }
            }
        }
        let mut diffs: Vec<StatisticDiff> = groups
            .into_values()
            .map(|(now, then)| {
                let (then_size, then_count) = then.map_or((0, 0), |t| (t.size, t.count));
                StatisticDiff {
                    size_diff: now.size as i64 - then_size as i64,
                    count_diff: now.count as i64 - then_count as i64,
                    group: now.group,
                    size: now.size,
                    count: now.count,
                }
            })
            .filter(|d| d.count_diff != 0 || d.size_diff != 0)
            .collect();
        diffs.sort_by(|a, b| {
            let order = |d: &StatisticDiff| {
                (
                    d.size_diff.unsigned_abs(),
                    d.size,
                    d.count_diff.unsigned_abs(),
                    d.count,
                )
            };
            order(b).cmp(&order(a)).then_with(|| a.group.cmp(&b.group))
        });
        diffs
    }
}

/// The group of size bucket `b`.
fn size_group(b: usize) -> Group {
    let top = counters::bucket_top(b);
    Group::Sizes(if top <= 1 { 0 } else { top / 2 + 1 }, top)
}
