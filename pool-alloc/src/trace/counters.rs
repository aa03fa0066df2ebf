//! The always-on counters: which slot (`slot.rs`) a thread counts in, the shared slot, and the
//! sums readers take.
//!
//! Invariants (the slot protocol itself is in `slot.rs`):
//! - `SLOT` names the slot `MINE` indexes, set once the exit hook is registered and cleared
//!   before the hook hands the slot back; threads without one count in `SHARED`.
//! - `IN_USE` is one past the highest slot ever claimed: readers add up only those.

use core::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering::Relaxed};

use super::slot::{BUCKETS, BucketTotals, Slot};
use super::{PEAK_STEP, SLOTS};

static SLOT_TABLE: [Slot; SLOTS] = [const { Slot::new(PEAK_STEP) }; SLOTS];
/// Threads without a slot, and the counts of threads that exited.
static SHARED: Slot = Slot::new(PEAK_STEP);
/// The highest total seen.
static PEAK: AtomicI64 = AtomicI64::new(0);
/// One past the highest slot ever claimed (a program with few threads reads few slots, and
/// the slots beyond stay untouched memory).
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
        if i < SLOTS {
            SLOT_TABLE[i].release_into(&SHARED, PEAK_STEP);
        }
    }
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
    match my_slot() {
        Some(s) => s.count_alloc(size),
        None => {
            on_alloc_slotless(size);
            false
        }
    }
}

/// Counts a free of `size` bytes on this thread.
#[inline(always)]
pub(super) fn on_free(size: usize) {
    match my_slot() {
        Some(s) => s.count_free(size),
        None => SHARED.shared_free(size),
    }
}

/// An event is due: looks at the peak if its turn came, and returns the bytes this thread
/// allocated since the countdown was armed.
pub(super) fn event() -> i64 {
    let Some(s) = my_slot() else {
        return 0;
    };
    let (used, look) = s.event(PEAK_STEP);
    if look {
        PEAK.fetch_max(total_bytes(), Relaxed);
    }
    used
}

/// Arms this thread's countdown to the nearer of its next look at the peak and `next` bytes.
pub(super) fn arm(next: i64) {
    if let Some(s) = my_slot() {
        s.arm(next);
    }
}

/// Makes this thread's next allocation an event (its caller's next point has moved).
#[cfg(feature = "call-sites")]
pub(super) fn rearm() {
    if let Some(s) = my_slot() {
        s.rearm();
    }
}

#[cold]
#[inline(never)]
fn on_alloc_slotless(size: usize) {
    if mine() == UNCLAIMED && claim() {
        // The first countdown is armed at `PEAK_STEP`; the caller's events start at the next.
        on_alloc(size);
        return;
    }
    let before = SHARED.shared_alloc(size);
    // Look at the peak when the shared holdings cross a multiple of the step.
    if before.div_euclid(PEAK_STEP) != (before + size as i64).div_euclid(PEAK_STEP) {
        PEAK.fetch_max(total_bytes(), Relaxed);
    }
}

/// Claims a slot for this thread; `false` if none is free or the exit hook cannot be set.
fn claim() -> bool {
    MINE.set(CLAIMING); // allocations while registering the exit hook count as shared
    let found = SLOT_TABLE.iter().position(Slot::try_claim);
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
            SLOT_TABLE[i].release_into(&SHARED, PEAK_STEP);
            MINE.set(RELEASED);
            false
        }
        None => {
            MINE.set(RELEASED);
            false
        }
    }
}

/// The slots ever claimed.
fn claimed() -> &'static [Slot] {
    &SLOT_TABLE[..IN_USE.load(Relaxed).min(SLOTS)]
}

/// The net bytes this thread has allocated through its slot, if it has one (only it writes
/// them: the difference across a stretch of its own code is what that code kept).
#[cfg(feature = "call-sites")]
pub(super) fn my_bytes() -> Option<i64> {
    my_slot().map(Slot::net_bytes)
}

/// Bytes held, all threads together (the shared slot read first: see `slot.rs`).
pub(super) fn total_bytes() -> i64 {
    claimed()
        .iter()
        .fold(SHARED.shared_bytes(), |t, s| t.wrapping_add(s.net_bytes()))
}

/// The peak, first raised to `now`.
pub(super) fn peak(now: i64) -> i64 {
    PEAK.fetch_max(now, Relaxed).max(now)
}

/// Sets the peak to `now`.
pub(super) fn set_peak(now: i64) {
    PEAK.store(now, Relaxed);
}

/// Every bucket's figures, all threads together.
pub(super) fn bucket_totals() -> [BucketTotals; BUCKETS] {
    let mut out = [BucketTotals::default(); BUCKETS];
    // The shared slot first: see `slot.rs`.
    for s in core::iter::once(&SHARED).chain(claimed()) {
        s.add_to(&mut out);
    }
    out
}

/// The largest block size of bucket `b`.
pub(super) fn bucket_top(b: usize) -> usize {
    1usize << b.min(usize::BITS as usize - 1)
}

/// The counters' memory in use: the slots ever claimed and the shared one (the rest of the
/// static table is never touched).
pub(super) fn own_bytes() -> usize {
    (claimed().len() + 1) * size_of::<Slot>()
}
