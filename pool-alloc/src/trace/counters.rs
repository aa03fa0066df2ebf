//! The always-on counters: one slot per thread, written by its thread alone with plain loads
//! and stores, added up by readers.
//!
//! Invariants:
//! - A slot's counters are written only by the thread whose `MINE` (and `SLOT`) names it (plain
//!   load-then-store, no read-modify-write); the shared slot is written with `fetch_add` by
//!   any thread.
//! - Per bucket, `allocs`, `frees`, `alloc_bytes` and `free_bytes` only grow (wrapping); what is
//!   held is the difference of the sums over all slots, since a block freed by another thread
//!   counts its free there.
//! - At exit a thread folds its counts into the shared slot, zeroes its own and frees the slot
//!   (`taken` stored with `Release`, claimed with `Acquire`), so no count is lost.
//! - `until` counts down the bytes a thread allocates to its next event, armed (`armed`) to the
//!   nearer of its next look at the peak (`to_peak`, [`PEAK_STEP`] after the last) and the
//!   caller's next event (a sample point). Frees do not count: a thread's holdings cannot grow
//!   by `PEAK_STEP` past their lowest point since its last look without allocating that much,
//!   so the peak is exact to within `PEAK_STEP` per thread.
//! - A thread's holdings are the sum of its buckets' nets; only the shared slot keeps a
//!   running `bytes` (for its own looks at the peak).

use core::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};

use super::{BUCKETS, PEAK_STEP, SLOTS};

/// What one bucket of one slot counts.
#[repr(C, align(32))]
pub(super) struct Bucket {
    pub(super) allocs: AtomicU64,
    pub(super) frees: AtomicU64,
    pub(super) alloc_bytes: AtomicU64,
    pub(super) free_bytes: AtomicU64,
}

/// One thread's counters (or the shared slot's).
#[repr(C, align(128))]
pub(super) struct Slot {
    /// Bytes this thread may still allocate before its next event.
    until: AtomicI64,
    /// What `until` was armed with.
    armed: AtomicI64,
    /// Bytes to this thread's next look at the peak, as of the arming.
    to_peak: AtomicI64,
    /// The shared slot's net bytes (unused in a thread's slot).
    bytes: AtomicI64,
    taken: AtomicBool,
    pub(super) buckets: [Bucket; BUCKETS],
}

impl Slot {
    const fn new() -> Self {
        Self {
            until: AtomicI64::new(PEAK_STEP),
            armed: AtomicI64::new(PEAK_STEP),
            to_peak: AtomicI64::new(PEAK_STEP),
            bytes: AtomicI64::new(0),
            taken: AtomicBool::new(false),
            buckets: [const {
                Bucket {
                    allocs: AtomicU64::new(0),
                    frees: AtomicU64::new(0),
                    alloc_bytes: AtomicU64::new(0),
                    free_bytes: AtomicU64::new(0),
                }
            }; BUCKETS],
        }
    }
}

static SLOT_TABLE: [Slot; SLOTS] = [const { Slot::new() }; SLOTS];
/// Threads without a slot, and the counts of threads that exited.
static SHARED: Slot = Slot::new();
/// The highest total of `bytes` seen.
static PEAK: AtomicI64 = AtomicI64::new(0);
/// One past the highest slot ever claimed: readers add up only these (a program with few
/// threads reads few slots, and the slots beyond stay untouched memory).
static IN_USE: AtomicUsize = AtomicUsize::new(0);

/// This thread's slot: not claimed yet, being claimed, released at exit, or an index.
const UNCLAIMED: usize = usize::MAX;
const CLAIMING: usize = usize::MAX - 1;
const RELEASED: usize = usize::MAX - 2;

thread_local! {
    static MINE: Cell<usize> = const { Cell::new(UNCLAIMED) };
    /// The slot `MINE` names, for the fast path.
    static SLOT: Cell<Option<&'static Slot>> = const { Cell::new(None) };
    static RELEASE: Release = const { Release };
}

/// Gives the thread's slot back at exit.
struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        let i = MINE.replace(RELEASED);
        let _ = SLOT.try_with(|s| s.set(None));
        if i >= SLOTS {
            return;
        }
        let s = &SLOT_TABLE[i];
        // Taken out first, then added: a reader meanwhile sees too little, never twice.
        let take = |a: &AtomicU64| a.swap(0, Relaxed);
        let mut net = 0i64;
        for (shared, mine) in SHARED.buckets.iter().zip(&s.buckets) {
            let (a, f) = (take(&mine.allocs), take(&mine.frees));
            let (ab, fb) = (take(&mine.alloc_bytes), take(&mine.free_bytes));
            net = net.wrapping_add(ab.wrapping_sub(fb) as i64);
            shared.allocs.fetch_add(a, Relaxed);
            shared.frees.fetch_add(f, Relaxed);
            shared.alloc_bytes.fetch_add(ab, Relaxed);
            shared.free_bytes.fetch_add(fb, Relaxed);
        }
        SHARED.bytes.fetch_add(net, Relaxed);
        for a in [&s.until, &s.armed, &s.to_peak] {
            a.store(PEAK_STEP, Relaxed);
        }
        s.taken.store(false, std::sync::atomic::Ordering::Release);
    }
}

/// The bucket of a block of `size` bytes: bucket `b` holds `2^(b-1) + 1` to `2^b` bytes.
#[inline(always)]
pub(super) fn bucket(size: usize) -> usize {
    // At most 63 for any size up to `isize::MAX`; the mask only spares a bounds check.
    (usize::BITS - size.saturating_sub(1).leading_zeros()) as usize & (BUCKETS - 1)
}

/// The largest block size of bucket `b`.
pub(super) fn bucket_top(b: usize) -> usize {
    1usize << b.min(usize::BITS as usize - 1)
}

/// Adds a plain load-then-store: only the owning thread writes.
#[inline(always)]
fn bump(a: &AtomicU64, v: u64) {
    a.store(a.load(Relaxed).wrapping_add(v), Relaxed);
}

/// This thread's slot index, or `SLOTS` and above when it has none.
fn mine() -> usize {
    MINE.try_with(Cell::get).unwrap_or(RELEASED)
}

/// This thread's slot, if it has one.
#[inline(always)]
fn my_slot() -> Option<&'static Slot> {
    SLOT.try_with(Cell::get).ok().flatten()
}

/// Counts an allocation of `size` bytes on this thread; `true` when an event is due (call
/// [`event`], then [`arm`]).
#[inline(always)]
pub(super) fn on_alloc(size: usize) -> bool {
    let Some(s) = my_slot() else {
        on_alloc_slotless(size);
        return false;
    };
    let e = &s.buckets[bucket(size)];
    bump(&e.allocs, 1);
    bump(&e.alloc_bytes, size as u64);
    let left = s.until.load(Relaxed).wrapping_sub(size as i64);
    s.until.store(left, Relaxed);
    left < 0
}

/// An event is due: looks at the peak if its turn came, and returns the bytes this thread
/// allocated since the countdown was armed.
pub(super) fn event() -> i64 {
    let Some(s) = my_slot() else {
        return 0;
    };
    let used = s.armed.load(Relaxed).wrapping_sub(s.until.load(Relaxed));
    let mut to_peak = s.to_peak.load(Relaxed).wrapping_sub(used);
    if to_peak < 0 {
        PEAK.fetch_max(total_bytes(), Relaxed);
        to_peak = PEAK_STEP;
    }
    s.to_peak.store(to_peak, Relaxed);
    used
}

/// Arms this thread's countdown to the nearer of its next look at the peak and `next` bytes.
pub(super) fn arm(next: i64) {
    if let Some(s) = my_slot() {
        let n = s.to_peak.load(Relaxed).min(next).max(0);
        s.armed.store(n, Relaxed);
        s.until.store(n, Relaxed);
    }
}

/// Makes this thread's next allocation an event (its caller's next point has moved).
pub(super) fn rearm() {
    if let Some(s) = my_slot() {
        s.armed.store(0, Relaxed);
        s.until.store(0, Relaxed);
    }
}

/// Counts a free of `size` bytes on this thread.
#[inline(always)]
pub(super) fn on_free(size: usize) {
    let Some(s) = my_slot() else {
        return on_free_slotless(size);
    };
    let e = &s.buckets[bucket(size)];
    bump(&e.frees, 1);
    bump(&e.free_bytes, size as u64);
}

#[cold]
#[inline(never)]
fn on_alloc_slotless(size: usize) {
    if mine() == UNCLAIMED && claim() {
        // The first countdown is armed at `PEAK_STEP`; the caller's events start at the next.
        on_alloc(size);
        return;
    }
    let e = &SHARED.buckets[bucket(size)];
    e.allocs.fetch_add(1, Relaxed);
    e.alloc_bytes.fetch_add(size as u64, Relaxed);
    let before = SHARED.bytes.fetch_add(size as i64, Relaxed);
    // Look at the peak when the shared holdings cross a multiple of the step.
    if before.div_euclid(PEAK_STEP) != (before + size as i64).div_euclid(PEAK_STEP) {
        PEAK.fetch_max(total_bytes(), Relaxed);
    }
}

#[cold]
#[inline(never)]
fn on_free_slotless(size: usize) {
    let e = &SHARED.buckets[bucket(size)];
    e.frees.fetch_add(1, Relaxed);
    e.free_bytes.fetch_add(size as u64, Relaxed);
    SHARED.bytes.fetch_sub(size as i64, Relaxed);
}

/// Claims a slot for this thread; `false` if none is free or the exit hook cannot be set.
fn claim() -> bool {
    MINE.set(CLAIMING); // allocations while registering the exit hook count as shared
    let found = SLOT_TABLE.iter().position(|s| {
        s.taken
            .compare_exchange(false, true, std::sync::atomic::Ordering::Acquire, Relaxed)
            .is_ok()
    });
    // Registering the exit hook may allocate (it counts in the shared slot meanwhile).
    let hooked = RELEASE.try_with(|_| ()).is_ok();
    match found {
        Some(i) if hooked => {
            IN_USE.fetch_max(i + 1, Relaxed);
            MINE.set(i);
            SLOT.set(Some(&SLOT_TABLE[i]));
            true
        }
        Some(i) => {
            SLOT_TABLE[i]
                .taken
                .store(false, std::sync::atomic::Ordering::Release);
            MINE.set(RELEASED);
            false
        }
        None => {
            MINE.set(RELEASED);
            false
        }
    }
}

/// The slots ever claimed, and the shared one.
fn all_slots() -> impl Iterator<Item = &'static Slot> {
    let n = IN_USE.load(Relaxed).min(SLOTS);
    SLOT_TABLE[..n].iter().chain(core::iter::once(&SHARED))
}

/// The net bytes this thread has allocated through its slot, if it has one (only it writes
/// them: the difference across a stretch of its own code is what that code kept).
pub(super) fn my_bytes() -> Option<i64> {
    let i = mine();
    (i < SLOTS).then(|| net_bytes(&SLOT_TABLE[i]))
}

/// A slot's net bytes: what its buckets say (for a thread's slot), or its running count (the
/// shared slot, whose buckets also hold what exited threads folded in).
fn net_bytes(s: &Slot) -> i64 {
    if core::ptr::eq(s, &SHARED) {
        return s.bytes.load(Relaxed);
    }
    s.buckets.iter().fold(0i64, |t, e| {
        let (a, f) = (e.alloc_bytes.load(Relaxed), e.free_bytes.load(Relaxed));
        t.wrapping_add(a.wrapping_sub(f) as i64)
    })
}

/// Bytes held, all threads together.
pub(super) fn total_bytes() -> i64 {
    all_slots().fold(0i64, |t, s| t.wrapping_add(net_bytes(s)))
}

/// The peak, first raised to the current total.
pub(super) fn peak(now: i64) -> i64 {
    PEAK.fetch_max(now, Relaxed).max(now)
}

/// Sets the peak to `now`.
pub(super) fn set_peak(now: i64) {
    PEAK.store(now, Relaxed);
}

/// One bucket's figures, all threads together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct BucketTotals {
    pub(super) allocs: u64,
    pub(super) frees: u64,
    pub(super) blocks: i64,
    pub(super) bytes: i64,
}

/// Every bucket's figures.
pub(super) fn bucket_totals() -> [BucketTotals; BUCKETS] {
    let mut out = [BucketTotals::default(); BUCKETS];
    for s in all_slots() {
        for (t, e) in out.iter_mut().zip(&s.buckets) {
            let (a, f) = (e.allocs.load(Relaxed), e.frees.load(Relaxed));
            let (ab, fb) = (e.alloc_bytes.load(Relaxed), e.free_bytes.load(Relaxed));
            t.allocs = t.allocs.wrapping_add(a);
            t.frees = t.frees.wrapping_add(f);
            t.blocks = t.blocks.wrapping_add(a.wrapping_sub(f) as i64);
            t.bytes = t.bytes.wrapping_add(ab.wrapping_sub(fb) as i64);
        }
    }
    out
}

/// The counters' memory in use: the slots ever claimed and the shared one (the rest of the
/// static table is never touched).
pub(super) fn own_bytes() -> usize {
    (IN_USE.load(Relaxed).min(SLOTS) + 1) * size_of::<Slot>()
}
