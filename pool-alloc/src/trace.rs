//! tracemalloc for Rust, first part: [`Traced`], a `#[global_allocator]` wrapper around any
//! `GlobalAlloc` (`PoolAlloc`, `System`, another crate's) that counts what the program holds,
//! cheaply enough to leave on, and [`Snapshot`]s that compare like Python's.
//!
//! ```
//! use pool_alloc::trace::{self, Traced};
//! use pool_alloc::PoolAlloc;
//!
//! #[global_allocator]
//! static GLOBAL: Traced<PoolAlloc> = Traced::new(PoolAlloc::new());
//!
//! trace::start(1);
//! let before = trace::snapshot();
//! let data: Vec<Box<[u8; 100]>> = (0..1000).map(|_| Box::new([0; 100])).collect();
//! let after = trace::snapshot();
//! let top = after.compare_to(&before);
//! assert!(top[0].size_diff >= 100_000); // the 65-128 B blocks grew most
//! println!("{}", top[0]); // sizes 65-128 B: size=97.7 KiB (+97.7 KiB), count=1000 (+1000), ...
//! let (current, peak) = trace::get_traced_memory();
//! assert!(peak >= current);
//! # drop(data);
//! ```
//!
//! How it counts: each thread owns a slot of counters (bytes, blocks, allocations, frees, and
//! blocks by power-of-two size) and updates it with plain loads and stores, so the allocation
//! path has no shared read-modify-write; readers add the slots up. A thread gives its slot back
//! at exit, folding its counts into a shared slot (threads beyond [`SLOTS`] count there
//! directly). The peak is kept by each thread checking the total whenever its own holdings have
//! grown by [`PEAK_STEP`] since its last check, and by every read: it is exact to within
//! `PEAK_STEP` per thread. Figures read while other threads run are a moment's sum, exact when
//! the program is quiet.
//!
//! Not yet: the call sites (sampled stacks grouped by `file:line`), which the `frames` of
//! [`start`] are for.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::fmt;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};

/// Per-thread slots of counters; threads beyond this many count in the shared slot.
pub const SLOTS: usize = 128;
/// How much a thread's holdings grow between its checks of the peak.
pub const PEAK_STEP: i64 = 256 * 1024;
/// Size buckets: bucket `b` holds blocks of `2^(b-1) + 1` to `2^b` bytes (bucket 0: 1 byte).
const BUCKETS: usize = 64;

/// One thread's counters (or the shared slot's).
#[repr(align(128))]
struct Slot {
    taken: AtomicBool,
    bytes: AtomicI64,
    blocks: AtomicI64,
    allocs: AtomicU64,
    frees: AtomicU64,
    /// `bytes` when this thread last checked the peak.
    checked: AtomicI64,
    /// Blocks and bytes held by size bucket.
    by_size: [AtomicI64; BUCKETS],
    bytes_by_size: [AtomicI64; BUCKETS],
}

impl Slot {
    const fn new() -> Self {
        Self {
            taken: AtomicBool::new(false),
            bytes: AtomicI64::new(0),
            blocks: AtomicI64::new(0),
            allocs: AtomicU64::new(0),
            frees: AtomicU64::new(0),
            checked: AtomicI64::new(0),
            by_size: [const { AtomicI64::new(0) }; BUCKETS],
            bytes_by_size: [const { AtomicI64::new(0) }; BUCKETS],
        }
    }
}

static SLOT_TABLE: [Slot; SLOTS] = [const { Slot::new() }; SLOTS];
/// Threads without a slot, and the counts of threads that exited.
static SHARED: Slot = Slot::new();
static PEAK: AtomicI64 = AtomicI64::new(0);
static TRACING: AtomicBool = AtomicBool::new(false);
static FRAMES: AtomicUsize = AtomicUsize::new(1);

/// This thread's slot: not claimed yet, being claimed, released at exit, or an index.
const UNCLAIMED: usize = usize::MAX;
const CLAIMING: usize = usize::MAX - 1;
const RELEASED: usize = usize::MAX - 2;

thread_local! {
    static MINE: Cell<usize> = const { Cell::new(UNCLAIMED) };
    static RELEASE: Release = const { Release };
}

/// Gives the thread's slot back at exit.
struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        let i = MINE.replace(RELEASED);
        if i < SLOTS {
            let s = &SLOT_TABLE[i];
            let take = |a: &AtomicI64| a.swap(0, Ordering::Relaxed);
            SHARED.bytes.fetch_add(take(&s.bytes), Ordering::Relaxed);
            SHARED.blocks.fetch_add(take(&s.blocks), Ordering::Relaxed);
            SHARED
                .allocs
                .fetch_add(s.allocs.swap(0, Ordering::Relaxed), Ordering::Relaxed);
            SHARED
                .frees
                .fetch_add(s.frees.swap(0, Ordering::Relaxed), Ordering::Relaxed);
            for (shared, mine) in SHARED.by_size.iter().zip(&s.by_size) {
                shared.fetch_add(take(mine), Ordering::Relaxed);
            }
            for (shared, mine) in SHARED.bytes_by_size.iter().zip(&s.bytes_by_size) {
                shared.fetch_add(take(mine), Ordering::Relaxed);
            }
            s.checked.store(0, Ordering::Relaxed);
            s.taken.store(false, Ordering::Release);
        }
    }
}

/// The bucket of a block of `size` bytes.
fn bucket(size: usize) -> usize {
    (usize::BITS - size.saturating_sub(1).leading_zeros()) as usize
}

/// This thread's slot (claimed on first use), or `None`: count in the shared slot.
#[inline]
fn my_slot() -> Option<&'static Slot> {
    let i = MINE.try_with(Cell::get).unwrap_or(RELEASED);
    if i < SLOTS {
        return Some(&SLOT_TABLE[i]);
    }
    if i == UNCLAIMED { claim() } else { None }
}

#[cold]
fn claim() -> Option<&'static Slot> {
    MINE.set(CLAIMING); // allocations while registering the exit hook count as shared
    let found = SLOT_TABLE.iter().position(|s| {
        s.taken
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    });
    // Registering the exit hook may allocate (it counts in the shared slot meanwhile).
    let hooked = RELEASE.try_with(|_| ()).is_ok();
    match found {
        Some(i) if hooked => {
            MINE.set(i);
            Some(&SLOT_TABLE[i])
        }
        Some(i) => {
            SLOT_TABLE[i].taken.store(false, Ordering::Release);
            MINE.set(RELEASED);
            None
        }
        None => {
            MINE.set(RELEASED);
            None
        }
    }
}

/// Adds `n` (1 or -1) blocks of `size` bytes to the calling thread's counts.
#[inline]
fn record(size: usize, n: i64) {
    let d = size as i64 * n;
    let b = bucket(size);
    match my_slot() {
        Some(s) => {
            // Only this thread writes its slot: plain loads and stores.
            let add =
                |a: &AtomicI64, v: i64| a.store(a.load(Ordering::Relaxed) + v, Ordering::Relaxed);
            add(&s.bytes, d);
            add(&s.blocks, n);
            add(&s.by_size[b], n);
            add(&s.bytes_by_size[b], d);
            let count = if n > 0 { &s.allocs } else { &s.frees };
            count.store(count.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            if d > 0 {
                let now = s.bytes.load(Ordering::Relaxed);
                if now - s.checked.load(Ordering::Relaxed) >= PEAK_STEP {
                    s.checked.store(now, Ordering::Relaxed);
                    PEAK.fetch_max(total_bytes(), Ordering::Relaxed);
                }
            } else if s.bytes.load(Ordering::Relaxed) < s.checked.load(Ordering::Relaxed) {
                s.checked
                    .store(s.bytes.load(Ordering::Relaxed), Ordering::Relaxed);
            }
        }
        None => {
            SHARED.bytes.fetch_add(d, Ordering::Relaxed);
            SHARED.blocks.fetch_add(n, Ordering::Relaxed);
            SHARED.by_size[b].fetch_add(n, Ordering::Relaxed);
            SHARED.bytes_by_size[b].fetch_add(d, Ordering::Relaxed);
            let count = if n > 0 { &SHARED.allocs } else { &SHARED.frees };
            count.fetch_add(1, Ordering::Relaxed);
            if d > 0 {
                PEAK.fetch_max(total_bytes(), Ordering::Relaxed);
            }
        }
    }
}

fn all_slots() -> impl Iterator<Item = &'static Slot> {
    SLOT_TABLE.iter().chain(core::iter::once(&SHARED))
}

fn total_bytes() -> i64 {
    all_slots().map(|s| s.bytes.load(Ordering::Relaxed)).sum()
}

/// A `#[global_allocator]` that counts what the program holds, around any allocator.
///
/// ```
/// use pool_alloc::trace::Traced;
/// use std::alloc::System;
///
/// #[global_allocator]
/// static GLOBAL: Traced<System> = Traced::new(System);
///
/// let v = vec![0u8; 4096];
/// assert!(pool_alloc::trace::get_traced_memory().0 >= 4096);
/// # drop(v);
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct Traced<A> {
    inner: A,
}

impl<A> Traced<A> {
    /// Wraps `inner`; usable in a `static`.
    ///
    /// ```
    /// static A: pool_alloc::trace::Traced<std::alloc::System> =
    ///     pool_alloc::trace::Traced::new(std::alloc::System);
    /// # let _ = &A;
    /// ```
    pub const fn new(inner: A) -> Self {
        Self { inner }
    }
}

// SAFETY: every call is forwarded to `inner` with the same arguments; the counting touches
// only this module's statics and thread-locals (which do not allocate through us except to
// register the exit hook, which is guarded against recursion).
unsafe impl<A: GlobalAlloc> GlobalAlloc for Traced<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as the caller promises.
        let p = unsafe { self.inner.alloc(layout) };
        if !p.is_null() {
            record(layout.size(), 1);
        }
        p
    }
    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        record(layout.size(), -1);
        // SAFETY: as the caller promises.
        unsafe { self.inner.dealloc(ptr, layout) }
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as the caller promises.
        let p = unsafe { self.inner.alloc_zeroed(layout) };
        if !p.is_null() {
            record(layout.size(), 1);
        }
        p
    }
    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as the caller promises.
        let q = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !q.is_null() {
            record(layout.size(), -1);
            record(new_size, 1);
        }
        q
    }
}

/// Starts tracing, as Python's `tracemalloc.start(frames)`. The counters of [`Traced`] are
/// always on; `frames` is kept for the call sites, which are not captured yet.
///
/// ```
/// pool_alloc::trace::start(25);
/// assert!(pool_alloc::trace::is_tracing());
/// pool_alloc::trace::stop();
/// assert!(!pool_alloc::trace::is_tracing());
/// ```
pub fn start(frames: usize) {
    FRAMES.store(frames.max(1), Ordering::Relaxed);
    TRACING.store(true, Ordering::Relaxed);
}

/// Stops tracing (the counters go on).
///
/// ```
/// pool_alloc::trace::stop();
/// ```
pub fn stop() {
    TRACING.store(false, Ordering::Relaxed);
}

/// Whether [`start`] was called (and [`stop`] not since).
///
/// ```
/// let _ = pool_alloc::trace::is_tracing();
/// ```
pub fn is_tracing() -> bool {
    TRACING.load(Ordering::Relaxed)
}

/// `(current, peak)` bytes held through [`Traced`], as `tracemalloc.get_traced_memory()`.
/// Both are 0 unless a `Traced` allocator is the global one.
///
/// ```
/// let (current, peak) = pool_alloc::trace::get_traced_memory();
/// assert!(peak >= current);
/// ```
pub fn get_traced_memory() -> (usize, usize) {
    let now = total_bytes().max(0);
    let peak = PEAK.fetch_max(now, Ordering::Relaxed).max(now);
    (now as usize, peak as usize)
}

/// Sets the peak to the current figure, as `tracemalloc.reset_peak()`.
///
/// ```
/// pool_alloc::trace::reset_peak();
/// let (current, peak) = pool_alloc::trace::get_traced_memory();
/// assert!(peak >= current);
/// ```
pub fn reset_peak() {
    PEAK.store(total_bytes().max(0), Ordering::Relaxed);
}

/// Bytes the tracer itself uses, as `tracemalloc.get_tracemalloc_memory()`: its counter
/// slots, static.
///
/// ```
/// assert!(pool_alloc::trace::get_tracemalloc_memory() > 0);
/// ```
pub fn get_tracemalloc_memory() -> usize {
    core::mem::size_of_val(&SLOT_TABLE) + core::mem::size_of_val(&SHARED)
}

/// The figures at one moment (`tracemalloc.take_snapshot()`, grouped by block size while call
/// sites are not captured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Bytes held.
    pub bytes: usize,
    /// Blocks held.
    pub blocks: usize,
    /// Allocations since the program started (reallocations count one each).
    pub allocations: u64,
    /// Frees since the program started.
    pub frees: u64,
    /// Peak bytes held so far (see the module docs for its precision).
    pub peak: usize,
    /// Held by size bucket: `(largest block size of the bucket, blocks, bytes)`, smallest
    /// first, empty buckets left out.
    pub by_size: Vec<(usize, usize, usize)>,
}

/// Takes a [`Snapshot`].
///
/// ```
/// let s = pool_alloc::trace::snapshot();
/// assert!(s.peak >= s.bytes);
/// ```
pub fn snapshot() -> Snapshot {
    let (bytes, peak) = get_traced_memory();
    let sum = |f: &dyn Fn(&Slot) -> i64| all_slots().map(f).sum::<i64>().max(0);
    let by_size = (0..BUCKETS)
        .map(|b| {
            let n = sum(&|s| s.by_size[b].load(Ordering::Relaxed)) as usize;
            let bytes = sum(&|s| s.bytes_by_size[b].load(Ordering::Relaxed)) as usize;
            (if b == 0 { 1 } else { 1usize << b.min(63) }, n, bytes)
        })
        .filter(|&(_, n, _)| n > 0)
        .collect();
    Snapshot {
        bytes,
        blocks: sum(&|s| s.blocks.load(Ordering::Relaxed)) as usize,
        allocations: all_slots().map(|s| s.allocs.load(Ordering::Relaxed)).sum(),
        frees: all_slots().map(|s| s.frees.load(Ordering::Relaxed)).sum(),
        peak,
        by_size,
    }
}

/// One line of [`Snapshot::compare_to`], printed as Python prints a `StatisticDiff`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatisticDiff {
    /// The group: blocks of `sizes.0` to `sizes.1` bytes.
    pub sizes: (usize, usize),
    /// Bytes held now.
    pub size: usize,
    /// Change in bytes since the older snapshot.
    pub size_diff: i64,
    /// Blocks held now.
    pub count: usize,
    /// Change in blocks.
    pub count_diff: i64,
}

impl Snapshot {
    /// The groups that changed since `older`, largest change in bytes first, as
    /// `snapshot2.compare_to(snapshot1, ...)`.
    ///
    /// ```
    /// let a = pool_alloc::trace::snapshot();
    /// let b = pool_alloc::trace::snapshot();
    /// let diffs = b.compare_to(&a);
    /// assert!(diffs.iter().all(|d| d.count_diff != 0 || d.size_diff != 0));
    /// ```
    pub fn compare_to(&self, older: &Snapshot) -> Vec<StatisticDiff> {
        let held = |s: &Snapshot, top: usize| {
            s.by_size
                .iter()
                .find(|&&(t, _, _)| t == top)
                .map_or((0, 0), |&(_, n, b)| (n, b))
        };
        let mut tops: Vec<usize> = self
            .by_size
            .iter()
            .chain(&older.by_size)
            .map(|&(t, _, _)| t)
            .collect();
        tops.sort_unstable();
        tops.dedup();
        let mut diffs: Vec<StatisticDiff> = tops
            .into_iter()
            .map(|top| {
                let ((now, now_bytes), (then, then_bytes)) = (held(self, top), held(older, top));
                let low = if top <= 1 { 1 } else { top / 2 + 1 };
                StatisticDiff {
                    sizes: (low, top),
                    size: now_bytes,
                    size_diff: now_bytes as i64 - then_bytes as i64,
                    count: now,
                    count_diff: now as i64 - then as i64,
                }
            })
            .filter(|d| d.count_diff != 0 || d.size_diff != 0)
            .collect();
        diffs.sort_by_key(|d| std::cmp::Reverse(d.size_diff.unsigned_abs()));
        diffs
    }
}

/// Bytes as Python's tracemalloc prints them.
fn human(f: &mut fmt::Formatter<'_>, bytes: i64, sign: bool) -> fmt::Result {
    let (v, unit) = match bytes.unsigned_abs() {
        b if b >= 1 << 30 => (bytes as f64 / (1u64 << 30) as f64, "GiB"),
        b if b >= 1 << 20 => (bytes as f64 / (1u64 << 20) as f64, "MiB"),
        b if b >= 1 << 10 => (bytes as f64 / 1024.0, "KiB"),
        _ => {
            return if sign {
                write!(f, "{bytes:+} B")
            } else {
                write!(f, "{bytes} B")
            };
        }
    };
    if sign {
        write!(f, "{v:+.1} {unit}")
    } else {
        write!(f, "{v:.1} {unit}")
    }
}

impl fmt::Display for StatisticDiff {
    /// `sizes 65-128 B: size=97.7 KiB (+97.7 KiB), count=1000 (+1000), average=100 B`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sizes {}-{} B: size=", self.sizes.0, self.sizes.1)?;
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
