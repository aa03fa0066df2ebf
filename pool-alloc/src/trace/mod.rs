//! tracemalloc for Rust: where the program's memory is, from inside the program, with any
//! global allocator.
//!
//! Wrap the allocator in [`Traced`] and install it as the `#[global_allocator]`. Its counters
//! are always on and cheap enough to leave on: bytes and blocks held, their peak
//! ([`get_traced_memory`], [`reset_peak`]), allocations and frees, and all of them by block
//! size. With the cargo feature `call-sites`, [`start`] also samples allocations with their
//! call stacks, so that a [`Snapshot`] can say which lines hold the memory, as Python's
//! `tracemalloc` does:
//!
//! ```
//! use pool_alloc::trace::{self, Key, Traced};
//! use pool_alloc::PoolAlloc;
//!
//! #[global_allocator]
//! static GLOBAL: Traced<PoolAlloc> = Traced::new(PoolAlloc::new());
//!
//! trace::start(1);
//! let before = trace::snapshot();
//! let data: Vec<Box<[u8; 100]>> = (0..1000).map(|_| Box::new([0; 100])).collect();
//! let after = trace::snapshot();
//! let top = after.compare_to(&before, Key::Size);
//! assert!(top[0].size_diff >= 100_000); // the 65-128 B blocks grew most
//! println!("{}", top[0]); // sizes 65-128 B: size=97.7 KiB (+97.7 KiB), count=1000 (+1000), ...
//! // With the feature `call-sites`, `Key::Lineno` names the line instead:
//! // src/main.rs:15: size=97.7 KiB (+97.7 KiB), count=1000 (+1000), average=100 B
//! let (current, peak) = trace::get_traced_memory();
//! assert!(peak >= current);
//! # drop(data);
//! ```
//!
//! # How it counts
//!
//! Each thread owns a slot of counters and updates it with plain loads and stores, so the
//! allocation path has no shared read-modify-write; readers add the slots up
//! (`counters.rs`). A thread gives its slot back at exit, folding its counts into a shared
//! slot; threads beyond [`SLOTS`] count there directly. Figures read while other threads run
//! are a moment's sum, exact when the program is quiet. Each thread counts down the bytes it
//! allocates to its next event, the nearer of its next look at the peak (every [`PEAK_STEP`]
//! allocated, so the peak is exact to within that per running thread) and its next sample
//! point; frees do no more than count.
//!
//! # How call sites are sampled (feature `call-sites`)
//!
//! Sampling the way jemalloc's and tcmalloc's profilers do (`sample.rs`): each thread counts
//! down the bytes it allocates to a point drawn from an exponential distribution of mean
//! [`sample_interval`] (512 KiB unless set). The allocation that crosses the point is
//! sampled: its stack's return addresses are captured (no symbols yet) and it goes into a
//! table of live samples until it is freed. An allocation of `s` bytes is sampled with
//! probability `p = 1 - exp(-s / interval)`, whatever its size, and stands for `1 / p`
//! allocations, so the estimates are unbiased for small and large blocks alike. A free looks
//! at one bit of a filter to know whether its block may be in the table. Threads beyond
//! [`SLOTS`], and a thread's allocations after its exit hooks ran, are counted but not
//! sampled.
//!
//! Stacks are resolved to `file:line` only when statistics are asked for (`sites.rs`),
//! and grouped by the first frame outside the allocator and the standard library
//! ([`Key::Lineno`]) or by the stack up to the `frames` given to [`start`]
//! ([`Key::Traceback`]). The tracer's own allocations (capturing, the table, resolving) are
//! counted but never sampled: a per-thread guard keeps it from re-entering itself.
//!
//! | state            | counters | sampling | how to get there             |
//! |------------------|----------|----------|------------------------------|
//! | installed        | on       | off      | `#[global_allocator]`        |
//! | tracing          | on       | on       | [`start`] (feature `call-sites`) |
//! | stopped          | on       | off, table cleared | [`stop`]           |
//!
//! # Tunables
//!
//! | tunable                     | value   | trades                                           |
//! |-----------------------------|---------|--------------------------------------------------|
//! | [`SLOTS`]                   | 128     | threads counted without shared writes; static memory (2 KiB each) |
//! | [`PEAK_STEP`]               | 256 KiB | the peak's precision against how often a thread adds up the slots |
//! | [`DEFAULT_SAMPLE_INTERVAL`] | 512 KiB | precision of the call-site estimates against time and memory |
//! | [`MAX_FRAMES`]              | 128     | the deepest traceback kept                       |

use core::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

mod counters;
#[cfg(feature = "call-sites")]
mod sample;
#[cfg(feature = "call-sites")]
mod sites;
pub(crate) mod slot;
mod snapshot;

pub use snapshot::{Frame, Group, Key, Snapshot, Statistic, StatisticDiff, snapshot};

/// Per-thread slots of counters; threads beyond this many count in a shared slot (with
/// atomic read-modify-writes, slower).
pub const SLOTS: usize = 128;
/// How much a thread allocates between its looks at the peak: the peak is exact to within
/// this much per running thread.
pub const PEAK_STEP: i64 = 256 * 1024;
/// Mean bytes allocated between two samples, unless [`set_sample_interval`] says otherwise.
pub const DEFAULT_SAMPLE_INTERVAL: usize = 512 * 1024;
/// The most frames [`start`] keeps per traceback.
pub const MAX_FRAMES: usize = 128;
/// Raw frames captured beyond `frames`, for those of the tracer, the allocator and `std`.
#[cfg(feature = "call-sites")]
const SKIP_ALLOWANCE: usize = 24;
/// Bits of the filter that a free looks at.
#[cfg(feature = "call-sites")]
const FILTER_BITS: usize = 1 << 16;

static TRACING: AtomicBool = AtomicBool::new(false);
static FRAMES: AtomicUsize = AtomicUsize::new(1);

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

/// Counts a block handed out.
#[inline(always)]
fn on_alloc(ptr: *mut u8, size: usize) {
    if counters::on_alloc(size) {
        event(ptr, size);
    }
}

/// The thread's countdown ran out: a look at the peak or a sample point (or both) is due.
#[cold]
#[inline(never)]
fn event(_ptr: *mut u8, _size: usize) {
    let _used = counters::event();
    #[cfg(feature = "call-sites")]
    let next = sample::advance(_used, _ptr, _size);
    #[cfg(not(feature = "call-sites"))]
    let next = i64::MAX;
    counters::arm(next);
}

/// Counts a block given back; called before the inner allocator may hand it out again.
#[inline(always)]
fn on_free(_ptr: *mut u8, size: usize) {
    #[cfg(feature = "call-sites")]
    sample::on_free(_ptr);
    counters::on_free(size);
}

// SAFETY: every call is forwarded to `inner` with the same arguments. The counting touches only
// this module's statics and thread-locals; its own allocations (an exit hook, the sample table)
// go through this allocator again, and the guards in `counters` and `sample` keep them from
// recursing. Nothing here panics: allocation failures are passed on as null.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Traced<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as the caller promises.
        let p = unsafe { self.inner.alloc(layout) };
        if !p.is_null() {
            on_alloc(p, layout.size());
        }
        p
    }
    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        on_free(ptr, layout.size());
        // SAFETY: as the caller promises.
        unsafe { self.inner.dealloc(ptr, layout) }
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as the caller promises.
        let p = unsafe { self.inner.alloc_zeroed(layout) };
        if !p.is_null() {
            on_alloc(p, layout.size());
        }
        p
    }
    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // The old block is forgotten before it can go back (if the reallocation fails, it stays
        // live but is no longer a sample: a lost sample, never a wrong one).
        #[cfg(feature = "call-sites")]
        sample::on_free(ptr);
        // SAFETY: as the caller promises.
        let q = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !q.is_null() {
            counters::on_free(layout.size());
            on_alloc(q, new_size);
        }
        q
    }
}

/// Starts tracing, as Python's `tracemalloc.start(frames)`: with the feature `call-sites`,
/// allocations are sampled with up to `frames` frames of their stacks (at least 1, at most
/// [`MAX_FRAMES`]). The counters of [`Traced`] are always on, tracing or not.
///
/// ```
/// pool_alloc::trace::start(25);
/// assert!(pool_alloc::trace::is_tracing());
/// pool_alloc::trace::stop();
/// assert!(!pool_alloc::trace::is_tracing());
/// ```
pub fn start(frames: usize) {
    FRAMES.store(frames.clamp(1, MAX_FRAMES), Ordering::Relaxed);
    TRACING.store(true, Ordering::Relaxed);
}

/// Stops tracing and forgets the sampled allocations, as `tracemalloc.stop()` (the counters
/// go on).
///
/// ```
/// pool_alloc::trace::stop();
/// ```
pub fn stop() {
    TRACING.store(false, Ordering::Relaxed);
    #[cfg(feature = "call-sites")]
    sample::clear();
}

/// Whether [`start`] was called (and [`stop`] not since).
///
/// ```
/// let _ = pool_alloc::trace::is_tracing();
/// ```
pub fn is_tracing() -> bool {
    TRACING.load(Ordering::Relaxed)
}

/// The traceback depth given to [`start`], as `tracemalloc.get_traceback_limit()`.
///
/// ```
/// pool_alloc::trace::start(10);
/// assert_eq!(pool_alloc::trace::get_traceback_limit(), 10);
/// # pool_alloc::trace::stop();
/// ```
pub fn get_traceback_limit() -> usize {
    FRAMES.load(Ordering::Relaxed)
}

fn frames() -> usize {
    get_traceback_limit()
}

/// The mean bytes between two sampled allocations.
///
/// ```
/// assert!(pool_alloc::trace::sample_interval() > 0);
/// ```
#[cfg(feature = "call-sites")]
pub fn sample_interval() -> usize {
    sample::interval()
}

/// Sets the mean bytes between two sampled allocations (at least 1; 1 samples every
/// allocation). Smaller is more precise and slower; the default is
/// [`DEFAULT_SAMPLE_INTERVAL`]. The calling thread takes the new mean at once, the others
/// after their next sample.
///
/// ```
/// pool_alloc::trace::set_sample_interval(64 * 1024);
/// assert_eq!(pool_alloc::trace::sample_interval(), 64 * 1024);
/// # pool_alloc::trace::set_sample_interval(pool_alloc::trace::DEFAULT_SAMPLE_INTERVAL);
/// ```
#[cfg(feature = "call-sites")]
pub fn set_sample_interval(bytes: usize) {
    sample::set_interval(bytes);
    counters::rearm();
}

/// `(current, peak)` bytes held through [`Traced`], as `tracemalloc.get_traced_memory()`.
/// Both are 0 unless a `Traced` allocator is the global one.
///
/// ```
/// let (current, peak) = pool_alloc::trace::get_traced_memory();
/// assert!(peak >= current);
/// ```
pub fn get_traced_memory() -> (usize, usize) {
    let now = counters::total_bytes().max(0);
    (now as usize, counters::peak(now) as usize)
}

/// Sets the peak to the current figure, as `tracemalloc.reset_peak()`.
///
/// ```
/// pool_alloc::trace::reset_peak();
/// let (current, peak) = pool_alloc::trace::get_traced_memory();
/// assert!(peak >= current);
/// ```
pub fn reset_peak() {
    counters::set_peak(counters::total_bytes().max(0));
}

/// Bytes the tracer itself uses, as `tracemalloc.get_tracemalloc_memory()`: its counter slots
/// and, with the feature `call-sites`, the sample table, its stacks and the resolved frames
/// (the last two estimated).
///
/// ```
/// assert!(pool_alloc::trace::get_tracemalloc_memory() > 0);
/// ```
pub fn get_tracemalloc_memory() -> usize {
    let n = counters::own_bytes();
    #[cfg(feature = "call-sites")]
    let n = n + sample::own_bytes() + sites::own_bytes();
    n
}
