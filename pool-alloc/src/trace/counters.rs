//! The always-on counters: one slot per thread, written by its thread alone with plain loads
//! and stores, added up by readers.
//!
//! Invariants:
//! - A slot's counters are written only by the thread whose `MINE` names it (plain
//!   load-then-store, no read-modify-write); the shared slot is written with `fetch_add` by
//!   any thread.
//! - Per bucket, `allocs`, `frees`, `alloc_bytes` and `free_bytes` only grow (wrapping); what is
//!   held is the difference of the sums over all slots, since a block freed by another thread
//!   counts its free there.
//! - At exit a thread folds its counts into the shared slot, zeroes its own and frees the slot
//!   (`taken` stored with `Release`, claimed with `Acquire`), so no count is lost.
//! - `checked` is the thread's `bytes` at its last look at the peak, lowered whenever `bytes`
//!   falls below it: a thread's holdings never grow by [`PEAK_STEP`] unseen.

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
    /// Net bytes this thread allocated (it may be negative: frees of other threads' blocks).
    bytes: AtomicI64,
    /// `bytes` when this thread last looked at the peak, or the lowest since.
    checked: AtomicI64,
    taken: AtomicBool,
    pub(super) buckets: [Bucket; BUCKETS],
}

impl Slot {
    const fn new() -> Self {
        Self {
            bytes: AtomicI64::new(0),
            checked: AtomicI64::new(0),
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
    static RELEASE: Release = const { Release };
}

/// Gives the thread's slot back at exit.
struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        let i = MINE.replace(RELEASED);
        if i >= SLOTS {
            return;
        }
        let s = &SLOT_TABLE[i];
        let take = |a: &AtomicU64| a.swap(0, Relaxed);
        for (shared, mine) in SHARED.buckets.iter().zip(&s.buckets) {
            shared.allocs.fetch_add(take(&mine.allocs), Relaxed);
            shared.frees.fetch_add(take(&mine.frees), Relaxed);
            shared
                .alloc_bytes
                .fetch_add(take(&mine.alloc_bytes), Relaxed);
            shared.free_bytes.fetch_add(take(&mine.free_bytes), Relaxed);
        }
        SHARED.bytes.fetch_add(s.bytes.swap(0, Relaxed), Relaxed);
        s.checked.store(0, Relaxed);
        s.taken.store(false, std::sync::atomic::Ordering::Release);
    }
}

/// The bucket of a block of `size` bytes: bucket `b` holds `2^(b-1) + 1` to `2^b` bytes.
#[inline(always)]
pub(super) fn bucket(size: usize) -> usize {
    (usize::BITS - size.saturating_sub(1).leading_zeros()) as usize
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
#[inline(always)]
fn mine() -> usize {
    MINE.try_with(Cell::get).unwrap_or(RELEASED)
}

/// Counts an allocation of `size` bytes on this thread.
#[inline(always)]
pub(super) fn on_alloc(size: usize) {
    let i = mine();
    if i >= SLOTS {
        return on_alloc_slotless(i, size);
    }
    let s = &SLOT_TABLE[i];
    let e = &s.buckets[bucket(size)];
    bump(&e.allocs, 1);
    bump(&e.alloc_bytes, size as u64);
    let now = s.bytes.load(Relaxed).wrapping_add(size as i64);
    s.bytes.store(now, Relaxed);
    if now.wrapping_sub(s.checked.load(Relaxed)) >= PEAK_STEP {
        look_at_peak(s, now);
    }
}

/// Counts a free of `size` bytes on this thread.
#[inline(always)]
pub(super) fn on_free(size: usize) {
    let i = mine();
    if i >= SLOTS {
        return on_free_slotless(size);
    }
    let s = &SLOT_TABLE[i];
    let e = &s.buckets[bucket(size)];
    bump(&e.frees, 1);
    bump(&e.free_bytes, size as u64);
    let now = s.bytes.load(Relaxed).wrapping_sub(size as i64);
    s.bytes.store(now, Relaxed);
    if now < s.checked.load(Relaxed) {
        s.checked.store(now, Relaxed);
    }
}

#[cold]
#[inline(never)]
fn look_at_peak(s: &Slot, now: i64) {
    s.checked.store(now, Relaxed);
    PEAK.fetch_max(total_bytes(), Relaxed);
}

#[cold]
#[inline(never)]
fn on_alloc_slotless(i: usize, size: usize) {
    if i == UNCLAIMED && claim() {
        return on_alloc(size);
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
    (i < SLOTS).then(|| SLOT_TABLE[i].bytes.load(Relaxed))
}

/// Bytes held, all threads together.
pub(super) fn total_bytes() -> i64 {
    all_slots().fold(0i64, |t, s| t.wrapping_add(s.bytes.load(Relaxed)))
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
