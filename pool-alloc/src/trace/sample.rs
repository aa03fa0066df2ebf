//! Sampled call sites (feature `call-sites`): which allocations are sampled, their raw stacks,
//! and the table of the live ones.
//!
//! Invariants:
//! - Sampling points form a Poisson process over each thread's allocated bytes: `TO_SAMPLE` is
//!   the bytes left to the next point, drawn from an exponential distribution of mean
//!   [`interval`]. The counters' countdown tells [`advance`] how much was allocated (threads
//!   without a counter slot are not sampled). An allocation of `s` bytes is sampled when a point falls inside it, which
//!   happens with probability `p = 1 - exp(-s / interval)`; it stands for `1 / p` allocations.
//! - Everything that runs with the table's lock held, or that resolves stacks, runs inside
//!   [`Guard`]: allocations made there are counted but never sampled, and frees made there never
//!   look at the table, so the tracer never re-enters itself. Code in the guard frees only what
//!   it allocated in the guard.
//! - A pointer is in the table only while its block is live: it is inserted before `alloc`
//!   returns it and removed before `dealloc` (or `realloc`) hands it back to the allocator.
//! - `FILTER` has a bit set for every filter index some table entry hashes to (`COUNTS` holds
//!   how many), set before the pointer is returned: a free whose bit is clear has nothing to
//!   remove, without taking the lock.

use core::cell::Cell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{DEFAULT_SAMPLE_INTERVAL, FILTER_BITS, MAX_FRAMES, SKIP_ALLOWANCE};

/// Mean bytes between samples.
static INTERVAL: AtomicUsize = AtomicUsize::new(DEFAULT_SAMPLE_INTERVAL);

thread_local! {
    /// Bytes this thread may still allocate before its next sample point.
    static TO_SAMPLE: Cell<i64> = const { Cell::new(0) };
    /// This thread's random state (xorshift64*), seeded on first use.
    static RNG: Cell<u64> = const { Cell::new(0) };
    /// Set while this thread runs tracer code that allocates.
    static BUSY: Cell<bool> = const { Cell::new(false) };
}

/// One live sampled allocation.
struct Entry {
    size: usize,
    weight: f64,
    stack: Arc<[usize]>,
}

/// A live sampled allocation as a snapshot keeps it.
#[derive(Debug, Clone)]
pub(super) struct Live {
    /// Its size.
    pub(super) size: usize,
    /// How many allocations it stands for (`1 / p`).
    pub(super) weight: f64,
    /// Return addresses, innermost first, unresolved.
    pub(super) stack: Arc<[usize]>,
}

struct Table {
    live: BTreeMap<usize, Entry>,
    /// Entries per filter index.
    counts: BTreeMap<usize, usize>,
    stack_bytes: usize,
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    live: BTreeMap::new(),
    counts: BTreeMap::new(),
    stack_bytes: 0,
});
static FILTER: [AtomicU64; FILTER_BITS / 64] = [const { AtomicU64::new(0) }; FILTER_BITS / 64];

/// Marks this thread as running tracer code until dropped; `None` if it already is.
pub(super) struct Guard(());

impl Guard {
    pub(super) fn enter() -> Option<Guard> {
        let busy = BUSY.try_with(|b| b.replace(true)).unwrap_or(true);
        // Not `then_some`: a guard built and dropped would clear the flag it did not set.
        if busy { None } else { Some(Guard(())) }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = BUSY.try_with(|b| b.set(false));
    }
}

fn table() -> MutexGuard<'static, Table> {
    TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The mean bytes between samples.
pub(super) fn interval() -> usize {
    INTERVAL.load(Relaxed)
}

/// Sets the mean; the calling thread draws its next point from it at once.
pub(super) fn set_interval(bytes: usize) {
    INTERVAL.store(bytes.max(1), Relaxed);
    let next = draw(bytes.max(1));
    let _ = TO_SAMPLE.try_with(|u| u.set(next));
}

/// The filter index of a pointer.
#[inline(always)]
fn filter_index(ptr: *mut u8) -> usize {
    // Address bits 3 and up: blocks are at least 8-aligned, and neighbours differ there.
    (ptr as usize >> 3) % FILTER_BITS
}

/// Counts `used` bytes allocated since the last call, the last of them the `size` bytes at
/// `ptr`, which is sampled if the point falls inside it. Returns the bytes to the next point.
pub(super) fn advance(used: i64, ptr: *mut u8, size: usize) -> i64 {
    let left = TO_SAMPLE.try_with(Cell::get).unwrap_or(i64::MAX) - used;
    if left >= 0 {
        let _ = TO_SAMPLE.try_with(|u| u.set(left));
        return left;
    }
    sample(ptr, size);
    TO_SAMPLE.try_with(Cell::get).unwrap_or(i64::MAX)
}

/// Forgets `ptr` if it was sampled; called before its block goes back.
#[inline(always)]
pub(super) fn on_free(ptr: *mut u8) {
    let i = filter_index(ptr);
    if FILTER[i / 64].load(Relaxed) & (1 << (i % 64)) != 0 {
        forget(ptr);
    }
}

/// An exponential draw of mean `mean`, at least 1.
fn draw(mean: usize) -> i64 {
    let x = RNG
        .try_with(|r| {
            let mut x = r.get();
            if x == 0 {
                // Seed from the thread's stack address and a global counter.
                static SEQ: AtomicU64 = AtomicU64::new(0x2545_F491_4F6C_DD1D);
                x = (&raw const x as u64) ^ SEQ.fetch_add(0x9E37_79B9_7F4A_7C15, Relaxed);
                x |= 1;
            }
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            r.set(x);
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        })
        .unwrap_or(1);
    // u in (0, 1]: 53 random bits.
    let u = ((x >> 11) + 1) as f64 / (1u64 << 53) as f64;
    ((-u.ln() * mean as f64) as i64).max(1)
}

#[cold]
#[inline(never)]
fn sample(ptr: *mut u8, size: usize) {
    let mean = interval();
    // A thread's first allocation only starts its countdown: sampling it would be biased.
    let first = RNG.try_with(|r| r.get() == 0).unwrap_or(true);
    let _ = TO_SAMPLE.try_with(|u| u.set(draw(mean)));
    if first || !super::is_tracing() {
        return;
    }
    let Some(_guard) = Guard::enter() else {
        return;
    };
    let mut raw = [0usize; MAX_FRAMES + SKIP_ALLOWANCE];
    let want = (super::frames() + SKIP_ALLOWANCE).min(raw.len());
    let mut n = 0;
    capture(|ip| {
        raw[n] = ip;
        n += 1;
        n < want
    });
    let stack: Arc<[usize]> = Arc::from(&raw[..n]);
    let p = -(-(size as f64) / mean as f64).exp_m1();
    let weight = if p > 0.0 { 1.0 / p } else { 1.0 };
    let mut t = table();
    if !super::is_tracing() {
        return; // stopped meanwhile: the table was cleared
    }
    let i = filter_index(ptr);
    *t.counts.entry(i).or_insert(0) += 1;
    FILTER[i / 64].fetch_or(1 << (i % 64), Relaxed);
    t.stack_bytes += n * size_of::<usize>();
    let old = t.live.insert(
        ptr as usize,
        Entry {
            size,
            weight,
            stack,
        },
    );
    if let Some(old) = old {
        // Not reachable while every free is seen; kept consistent all the same.
        t.stack_bytes -= old.stack.len() * size_of::<usize>();
        unfilter(&mut t, i);
    }
}

/// The raw stack, innermost first, one return address at a time until `f` says stop.
fn capture(mut f: impl FnMut(usize) -> bool) {
    let mut each = |frame: &backtrace::Frame| f(frame.ip() as usize);
    #[cfg(unix)]
    // SAFETY: the unsynchronized walk is safe to run on several threads at once on Unix, where
    // the crate uses the system unwinder (`_Unwind_Backtrace`), which is thread-safe; the
    // synchronized form would make one sampling thread wait for another's symbolisation.
    unsafe {
        backtrace::trace_unsynchronized(&mut each)
    };
    #[cfg(not(unix))]
    backtrace::trace(&mut each);
}

/// One fewer entry at filter index `i`.
fn unfilter(t: &mut Table, i: usize) {
    if let Some(c) = t.counts.get_mut(&i) {
        *c -= 1;
        if *c == 0 {
            t.counts.remove(&i);
            FILTER[i / 64].fetch_and(!(1 << (i % 64)), Relaxed);
        }
    }
}

#[cold]
#[inline(never)]
fn forget(ptr: *mut u8) {
    let Some(_guard) = Guard::enter() else {
        return; // tracer code frees only what it allocated itself: never sampled
    };
    let mut t = table();
    if let Some(old) = t.live.remove(&(ptr as usize)) {
        t.stack_bytes -= old.stack.len() * size_of::<usize>();
        unfilter(&mut t, filter_index(ptr));
        drop(t);
        drop(old);
    }
}

/// The live sampled allocations.
pub(super) fn live() -> Vec<Live> {
    let Some(_guard) = Guard::enter() else {
        return Vec::new();
    };
    let t = table();
    t.live
        .values()
        .map(|e| Live {
            size: e.size,
            weight: e.weight,
            stack: e.stack.clone(),
        })
        .collect()
}

/// Forgets every sampled allocation (tracing stopped).
pub(super) fn clear() {
    let Some(_guard) = Guard::enter() else {
        return;
    };
    let mut t = table();
    let old = core::mem::take(&mut t.live);
    t.counts.clear();
    t.stack_bytes = 0;
    for word in &FILTER {
        word.store(0, Relaxed);
    }
    drop(t);
    drop(old);
}

/// Bytes the table uses (an estimate of its nodes, and the stacks).
pub(super) fn own_bytes() -> usize {
    let Some(_guard) = Guard::enter() else {
        return 0;
    };
    let t = table();
    size_of_val(&FILTER)
        + t.stack_bytes
        + t.live.len() * (size_of::<usize>() + size_of::<Entry>() + 16)
        + t.counts.len() * 2 * size_of::<usize>()
}
