//! One slot of counters: what a thread counts, how it hands the slot back, and how readers
//! add slots up. The statics and thread-locals that pick a thread's slot are in `counters.rs`;
//! this file is the protocol, and the loom models (`tests/loom.rs`) run it.
//!
//! Invariants:
//! - A thread's slot is written only by its owner, with plain load-then-store (no
//!   read-modify-write); the shared slot is written with `fetch_add` by any thread.
//! - Per bucket, `allocs`, `frees`, `alloc_bytes` and `free_bytes` only grow (wrapping); what is
//!   held is the difference of the sums over all slots, since a block freed by another thread
//!   counts its free there. A thread's holdings are its buckets' nets; the shared slot also
//!   keeps a running `bytes`, for its own looks at the peak.
//! - An owner claims a slot with an `Acquire` CAS on `taken`; at exit it takes every count out
//!   of it (swap to zero), adds them to the shared slot (`Release`), then stores
//!   `taken = false` with `Release`: the next owner starts from zeros and no count is lost.
//! - Readers read the shared slot first (`Acquire`), then the threads' slots: a count they
//!   find moved to the shared slot they find gone from its old slot, so they may see too
//!   little while a thread exits, never a count twice.
//! - `until` counts down the bytes the owner allocates to its next event, armed (`armed`) to
//!   the nearer of its next look at the peak (`to_peak`, `PEAK_STEP` after the last) and the
//!   caller's next event. Frees do not count: holdings cannot grow by `PEAK_STEP` past their
//!   lowest point since the last look without allocating that much.

use crate::sync::{
    AtomicBool, AtomicI64, AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};

/// Size buckets: bucket `b` holds blocks of `2^(b-1) + 1` to `2^b` bytes (bucket 0: 0 and 1
/// byte).
#[cfg(not(loom))]
pub const BUCKETS: usize = 64;
/// Size buckets: two in the loom models, to keep them small (sizes share them modulo 2).
#[cfg(loom)]
pub const BUCKETS: usize = 2;

/// What one bucket of one slot counts.
#[repr(C, align(32))]
pub struct Bucket {
    allocs: AtomicU64,
    frees: AtomicU64,
    alloc_bytes: AtomicU64,
    free_bytes: AtomicU64,
}

/// One thread's counters, or the shared slot's.
#[repr(C, align(128))]
pub struct Slot {
    until: AtomicI64,
    armed: AtomicI64,
    to_peak: AtomicI64,
    bytes: AtomicI64,
    taken: AtomicBool,
    buckets: [Bucket; BUCKETS],
}

impl core::fmt::Debug for Slot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Slot")
            .field("taken", &self.taken.load(Relaxed))
            .field("net_bytes", &self.net_bytes())
            .finish_non_exhaustive()
    }
}

/// One bucket's figures, over some slots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BucketTotals {
    /// Allocations counted.
    pub allocs: u64,
    /// Frees counted.
    pub frees: u64,
    /// Blocks held.
    pub blocks: i64,
    /// Bytes held.
    pub bytes: i64,
}

/// The bucket of a block of `size` bytes.
#[inline(always)]
pub fn bucket(size: usize) -> usize {
    // At most 63 for any size up to `isize::MAX`; the mask spares a bounds check (and its panic
    // path, in an allocator).
    (usize::BITS - size.saturating_sub(1).leading_zeros()) as usize & (BUCKETS - 1)
}

/// Adds with a plain load-then-store: only the owner writes.
#[inline(always)]
fn bump(a: &AtomicU64, v: u64) {
    a.store(a.load(Relaxed).wrapping_add(v), Relaxed);
}

/// A bucket with every count zero.
macro_rules! empty_bucket {
    () => {
        Bucket {
            allocs: AtomicU64::new(0),
            frees: AtomicU64::new(0),
            alloc_bytes: AtomicU64::new(0),
            free_bytes: AtomicU64::new(0),
        }
    };
}

impl Slot {
    /// An unclaimed slot whose owner looks at the peak every `step` bytes.
    #[cfg(not(loom))]
    pub const fn new(step: i64) -> Self {
        Slot {
            until: AtomicI64::new(step),
            armed: AtomicI64::new(step),
            to_peak: AtomicI64::new(step),
            bytes: AtomicI64::new(0),
            taken: AtomicBool::new(false),
            buckets: [const { empty_bucket!() }; BUCKETS],
        }
    }

    /// An unclaimed slot whose owner looks at the peak every `step` bytes.
    #[cfg(loom)]
    pub fn new(step: i64) -> Self {
        Slot {
            until: AtomicI64::new(step),
            armed: AtomicI64::new(step),
            to_peak: AtomicI64::new(step),
            bytes: AtomicI64::new(0),
            taken: AtomicBool::new(false),
            buckets: core::array::from_fn(|_| empty_bucket!()),
        }
    }

    /// Claims the slot for the calling thread; `false` if it is taken.
    pub fn try_claim(&self) -> bool {
        self.taken
            .compare_exchange(false, true, Acquire, Relaxed)
            .is_ok()
    }

    /// The owner counts an allocation; `true` when its countdown ran out (an event is due).
    #[inline(always)]
    pub fn count_alloc(&self, size: usize) -> bool {
        let e = &self.buckets[bucket(size)];
        bump(&e.allocs, 1);
        bump(&e.alloc_bytes, size as u64);
        let left = self.until.load(Relaxed).wrapping_sub(size as i64);
        self.until.store(left, Relaxed);
        left < 0
    }

    /// The owner counts a free.
    #[inline(always)]
    pub fn count_free(&self, size: usize) {
        let e = &self.buckets[bucket(size)];
        bump(&e.frees, 1);
        bump(&e.free_bytes, size as u64);
    }

    /// Any thread counts an allocation in the shared slot; returns its holdings before.
    pub fn shared_alloc(&self, size: usize) -> i64 {
        let e = &self.buckets[bucket(size)];
        e.allocs.fetch_add(1, Relaxed);
        e.alloc_bytes.fetch_add(size as u64, Relaxed);
        self.bytes.fetch_add(size as i64, Relaxed)
    }

    /// Any thread counts a free in the shared slot.
    pub fn shared_free(&self, size: usize) {
        let e = &self.buckets[bucket(size)];
        e.frees.fetch_add(1, Relaxed);
        e.free_bytes.fetch_add(size as u64, Relaxed);
        self.bytes.fetch_sub(size as i64, Relaxed);
    }

    /// The owner's event is due: the bytes allocated since the countdown was armed, and whether
    /// the look at the peak is among the events (its turn is then re-armed at `step`).
    pub fn event(&self, step: i64) -> (i64, bool) {
        let used = self
            .armed
            .load(Relaxed)
            .wrapping_sub(self.until.load(Relaxed));
        let to_peak = self.to_peak.load(Relaxed).wrapping_sub(used);
        let look = to_peak < 0;
        self.to_peak
            .store(if look { step } else { to_peak }, Relaxed);
        (used, look)
    }

    /// The owner arms its countdown to the nearer of its next look and `next` bytes.
    pub fn arm(&self, next: i64) {
        let n = self.to_peak.load(Relaxed).min(next).max(0);
        self.armed.store(n, Relaxed);
        self.until.store(n, Relaxed);
    }

    /// The owner's next allocation will be an event.
    pub fn rearm(&self) {
        self.armed.store(0, Relaxed);
        self.until.store(0, Relaxed);
    }

    /// The owner hands the slot back: every count moves to `shared`, and the slot is free for
    /// another thread, armed at `step`.
    pub fn release_into(&self, shared: &Slot, step: i64) {
        let take = |a: &AtomicU64| a.swap(0, Relaxed);
        let mut net = 0i64;
        for (to, from) in shared.buckets.iter().zip(&self.buckets) {
            let (a, f) = (take(&from.allocs), take(&from.frees));
            let (ab, fb) = (take(&from.alloc_bytes), take(&from.free_bytes));
            net = net.wrapping_add(ab.wrapping_sub(fb) as i64);
            to.allocs.fetch_add(a, Release);
            to.frees.fetch_add(f, Release);
            to.alloc_bytes.fetch_add(ab, Release);
            to.free_bytes.fetch_add(fb, Release);
        }
        shared.bytes.fetch_add(net, Release);
        for a in [&self.until, &self.armed, &self.to_peak] {
            a.store(step, Relaxed);
        }
        self.taken.store(false, Release);
    }

    /// A thread's slot's net bytes (its buckets').
    pub fn net_bytes(&self) -> i64 {
        self.buckets.iter().fold(0i64, |t, e| {
            let (a, f) = (e.alloc_bytes.load(Relaxed), e.free_bytes.load(Relaxed));
            t.wrapping_add(a.wrapping_sub(f) as i64)
        })
    }

    /// The shared slot's net bytes (its running count). Read it before the threads' slots.
    pub fn shared_bytes(&self) -> i64 {
        self.bytes.load(Acquire)
    }

    /// Adds this slot's buckets to `totals`. Add the shared slot's first.
    pub fn add_to(&self, totals: &mut [BucketTotals; BUCKETS]) {
        for (t, e) in totals.iter_mut().zip(&self.buckets) {
            let (a, f) = (e.allocs.load(Acquire), e.frees.load(Acquire));
            let (ab, fb) = (e.alloc_bytes.load(Acquire), e.free_bytes.load(Acquire));
            t.allocs = t.allocs.wrapping_add(a);
            t.frees = t.frees.wrapping_add(f);
            t.blocks = t.blocks.wrapping_add(a.wrapping_sub(f) as i64);
            t.bytes = t.bytes.wrapping_add(ab.wrapping_sub(fb) as i64);
        }
    }
}
