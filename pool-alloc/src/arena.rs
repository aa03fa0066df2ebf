//! Arenas: 1 MiB, size-aligned mappings carved into 64 pools, and pymalloc's
//! policy for them.
//!
//! Pool 0 of an arena holds the [`ArenaHeader`]; pools 1..64 serve size classes.
//! Two bitmaps say which pools are free and which free pools are known to be
//! zero (never used since the mapping, or purged). All of this state is behind
//! the core's arena lock ([`Arenas`] is the locked value).
//!
//! Policy, as in pymalloc: new pools come from the most-used arena that still has
//! a free pool (the current one until it fills, then the fullest of the others),
//! so sparse arenas drain. An arena whose pools are all free is unmapped, except
//! that one such arena is kept as a spare; with a decay (the default), free arenas
//! beyond the spare stay mapped for [`DEFAULT_DECAY`] in case they are wanted
//! again, but never more than [`MAX_FREE_ARENAS`] of them. [`Arenas::collect`] unmaps every
//! completely free arena, spare included, and purges the free pools of the others
//! with `madvise(MADV_DONTNEED)`.

use crate::os;
use crate::pool::{HeapId, Pool, PoolState};
use crate::size_class::NUM_CLASSES;
use crate::stats::ClassStats;
use crate::tunables::{ARENA_SIZE, DEFAULT_DECAY, MAX_FREE_ARENAS, POOL_SIZE};
use core::ptr;
use core::time::Duration;
use std::time::Instant;

const POOLS: usize = ARENA_SIZE / POOL_SIZE;
const _: () = assert!(POOLS == 64);
/// Bits of the usable pools (pool 0 is the header).
const ALL_FREE: u64 = !1;

/// The header in pool 0 of every arena.
#[repr(C)]
pub(crate) struct ArenaHeader {
    /// The neighbours in the bucket of arenas with as many free pools as this one.
    next: *mut ArenaHeader,
    prev: *mut ArenaHeader,
    free_bits: u64,
    zero_bits: u64,
    /// When the arena last became completely free.
    freed_at: Option<Instant>,
}

/// Buckets of arenas by free-pool count: 0 (full) to 63 (completely free).
const BUCKETS: usize = POOLS;

/// The arena lock's value: every mapped arena, bucketed by how many free pools it has (as
/// CPython's `nfp2lasta` keeps them), so that the fullest arena with room is found in O(1)
/// and a free arena's move between buckets is O(1); and the counters.
pub(crate) struct Arenas {
    /// The first arena of each bucket.
    buckets: [*mut ArenaHeader; BUCKETS],
    /// Bit `f` set when bucket `f` is not empty.
    nonempty: u64,
    current: *mut ArenaHeader,
    count: usize,
    high_water: usize,
    released: usize,
    empty: usize,
    decay: Duration,
}

// SAFETY: the raw pointers refer to arenas owned by this value, which is only
// reached through the arena lock.
unsafe impl Send for Arenas {}

/// Calls `f` on every arena of the buckets whose first arenas are `heads`, reading each
/// arena's successor before `f` runs (so `f` may unmap it).
fn walk(heads: &[*mut ArenaHeader; BUCKETS], mut f: impl FnMut(*mut ArenaHeader)) {
    for &head in heads {
        let mut a = head;
        while !a.is_null() {
            // SAFETY: arenas in the buckets are mapped, their headers initialised.
            let next = unsafe { (*a).next };
            f(a);
            a = next;
        }
    }
}

/// The arena holding pool `p`.
fn arena_of(p: *mut Pool) -> *mut ArenaHeader {
    p.map_addr(|a| a & !(ARENA_SIZE - 1)).cast()
}

impl Arenas {
    /// No arenas.
    pub(crate) const fn new() -> Self {
        Self {
            buckets: [ptr::null_mut(); BUCKETS],
            nonempty: 0,
            current: ptr::null_mut(),
            count: 0,
            high_water: 0,
            released: 0,
            empty: 0,
            decay: DEFAULT_DECAY,
        }
    }

    /// Arenas mapped now.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Whether `p` lies in an assigned pool of a mapped arena (the debug mode's check of a
    /// freed pointer; O(arenas)).
    #[cfg(feature = "debug")]
    pub(crate) fn owns_assigned(&self, p: *const u8) -> bool {
        let a = p.map_addr(|x| x & !(ARENA_SIZE - 1));
        let mut found = false;
        walk(&self.buckets, |arena| {
            if arena.cast_const().cast::<u8>() == a {
                let i = (p.addr() - a.addr()) / POOL_SIZE;
                // SAFETY: arenas in the buckets are mapped, their headers initialised.
                found = i != 0 && unsafe { (*arena).free_bits } & (1u64 << i) == 0;
            }
        });
        found
    }

    /// Takes a free pool, initialised for `class` and owned by `owner`; null when
    /// the OS refuses memory.
    pub(crate) fn alloc_pool(&mut self, class: usize, owner: *mut HeapId) -> *mut Pool {
        // SAFETY: every arena in the list is mapped and its header initialised;
        // we hold the arena lock.
        unsafe {
            let mut a = self.current;
            // Rescan when the current arena is full, or completely free while
            // others are in use (fill the most-used arenas first).
            if a.is_null() || (*a).free_bits == 0 || ((*a).free_bits == ALL_FREE && self.count > 1)
            {
                a = self.fullest_with_room();
                if a.is_null() {
                    a = self.map_new();
                    if a.is_null() {
                        return ptr::null_mut();
                    }
                }
                self.current = a;
            }
            if (*a).free_bits == ALL_FREE {
                self.empty -= 1;
            }
            let i = (*a).free_bits.trailing_zeros() as usize;
            let bit = 1u64 << i;
            self.unlink(a);
            (*a).free_bits &= !bit;
            self.link(a);
            (*a).zero_bits &= !bit;
            let pool = a.cast::<u8>().add(i * POOL_SIZE).cast::<Pool>();
            Pool::init(pool, class, owner);
            pool
        }
    }

    /// Gives a pool with no live block back to its arena, unmapping the arena if
    /// it is completely free and another completely free arena is already kept.
    ///
    /// # Safety
    ///
    /// `pool` was returned by [`Arenas::alloc_pool`] of this value, has no live
    /// block and no pending remote free, and is in no list.
    pub(crate) unsafe fn free_pool(&mut self, pool: *mut Pool) {
        // SAFETY: per the contract, the pool and its arena are ours under the lock.
        unsafe {
            Pool::set_state(pool, PoolState::Free);
            (*pool)
                .owner
                .store(ptr::null_mut(), crate::sync::Ordering::Relaxed);
            let a = arena_of(pool);
            let i = (pool.addr() - a.addr()) / POOL_SIZE;
            self.unlink(a);
            (*a).free_bits |= 1u64 << i;
            self.link(a);
            if (*a).free_bits == ALL_FREE {
                self.empty += 1;
                if self.decay.is_zero() {
                    if self.empty > 1 {
                        self.unmap(a);
                    }
                } else if self.empty > MAX_FREE_ARENAS {
                    self.unmap(a);
                } else {
                    let now = Instant::now();
                    (*a).freed_at = Some(now);
                    self.trim(now);
                }
            }
        }
    }

    /// Sets the delay before a free arena beyond the spare is unmapped.
    pub(crate) fn set_decay(&mut self, decay: Duration) {
        self.decay = decay;
    }

    /// Unmaps completely free arenas that stayed free longer than the decay,
    /// keeping one free arena (the most recently freed) as the spare.
    unsafe fn trim(&mut self, now: Instant) {
        // SAFETY: we hold the lock; arenas in the buckets are mapped.
        unsafe {
            let mut a = self.buckets[BUCKETS - 1];
            while !a.is_null() && self.empty > 1 {
                let next = (*a).next;
                if (*a).free_bits == ALL_FREE
                    && (*a)
                        .freed_at
                        .is_some_and(|t| now.saturating_duration_since(t) >= self.decay)
                {
                    self.unmap(a);
                }
                a = next;
            }
        }
    }

    /// Unmaps every completely free arena and purges free pools of the others.
    pub(crate) fn collect(&mut self) {
        let purge_ok = os::page_size() <= POOL_SIZE;
        self.for_each(|arenas, a| {
            // SAFETY: we hold the lock; arenas in the buckets are mapped.
            unsafe {
                if (*a).free_bits == ALL_FREE {
                    arenas.unmap(a);
                } else if purge_ok {
                    let mut dirty = (*a).free_bits & !(*a).zero_bits;
                    while dirty != 0 {
                        let i = dirty.trailing_zeros() as usize;
                        dirty &= dirty - 1;
                        if os::purge(a.cast::<u8>().add(i * POOL_SIZE), POOL_SIZE) {
                            (*a).zero_bits |= 1u64 << i;
                        }
                    }
                }
            }
        });
    }

    /// Adds the counters of every assigned pool to `classes`; returns
    /// (arenas, high water, released).
    pub(crate) fn gather(&self, classes: &mut [ClassStats; NUM_CLASSES]) -> (usize, usize, usize) {
        // SAFETY: we hold the lock; assigned pools' `class` and `block_size` are
        // only written under it, and `used` is atomic.
        walk(&self.buckets, |a| unsafe {
            let mut busy = !(*a).free_bits & ALL_FREE;
            while busy != 0 {
                let i = busy.trailing_zeros() as usize;
                busy &= busy - 1;
                let p = a.cast::<u8>().add(i * POOL_SIZE).cast::<Pool>();
                let c = &mut classes[(*p).class as usize];
                let cap = Pool::capacity(p);
                let used = ((*p).used.load(crate::sync::Ordering::Relaxed) as usize).min(cap);
                // Blocks freed by other threads and not yet taken by the owner are free:
                // their number rides in the remote list's head.
                let pending = Pool::remote_len(p);
                let used = used.saturating_sub(pending);
                c.pools += 1;
                c.blocks_in_use += used;
                c.blocks_free += cap - used;
            }
        });
        (self.count, self.high_water, self.released)
    }

    /// Unmaps every arena, in use or not.
    ///
    /// # Safety
    ///
    /// No block of any arena is used again.
    pub(crate) unsafe fn unmap_all(&mut self) {
        self.for_each(|arenas, a| {
            // SAFETY: arenas in the buckets are mapped; per the contract nothing uses them.
            unsafe { os::unmap_arena(a.cast()) };
            arenas.released += 1;
        });
        self.buckets = [ptr::null_mut(); BUCKETS];
        self.nonempty = 0;
        self.current = ptr::null_mut();
        self.count = 0;
        self.empty = 0;
    }

    /// The arena with the fewest free pools that has at least one: the first of the lowest
    /// non-empty bucket above 0. O(1).
    unsafe fn fullest_with_room(&self) -> *mut ArenaHeader {
        let with_room = self.nonempty & !1;
        if with_room == 0 {
            return ptr::null_mut();
        }
        self.buckets[with_room.trailing_zeros() as usize]
    }

    /// Calls `f` on every arena, bucket by bucket. `f` may unmap the arena it is given (the
    /// next one is read first) but moves none between buckets. Allocates nothing: it runs
    /// under the arena lock.
    fn for_each(&mut self, mut f: impl FnMut(&mut Self, *mut ArenaHeader)) {
        let heads = self.buckets;
        walk(&heads, |a| f(self, a));
    }

    /// Puts `a` first in the bucket of its free-pool count.
    ///
    /// # Safety
    /// `a` is a mapped arena in no bucket.
    unsafe fn link(&mut self, a: *mut ArenaHeader) {
        // SAFETY: as the caller promises; bucket heads are mapped arenas.
        unsafe {
            let f = (*a).free_bits.count_ones() as usize;
            let head = self.buckets[f];
            (*a).prev = ptr::null_mut();
            (*a).next = head;
            if !head.is_null() {
                (*head).prev = a;
            }
            self.buckets[f] = a;
            self.nonempty |= 1 << f;
        }
    }

    /// Takes `a` out of its bucket (before its free-pool count changes).
    ///
    /// # Safety
    /// `a` is a mapped arena in the bucket of its current free-pool count.
    unsafe fn unlink(&mut self, a: *mut ArenaHeader) {
        // SAFETY: as the caller promises; its neighbours are mapped arenas.
        unsafe {
            let f = (*a).free_bits.count_ones() as usize;
            let (n, p) = ((*a).next, (*a).prev);
            if p.is_null() {
                self.buckets[f] = n;
                if n.is_null() {
                    self.nonempty &= !(1 << f);
                }
            } else {
                (*p).next = n;
            }
            if !n.is_null() {
                (*n).prev = p;
            }
        }
    }

    unsafe fn map_new(&mut self) -> *mut ArenaHeader {
        let m = os::map_arena();
        if m.is_null() {
            return ptr::null_mut();
        }
        let a = m.cast::<ArenaHeader>();
        // SAFETY: a fresh, aligned, zeroed arena; the header fits in pool 0.
        unsafe {
            ptr::write(
                a,
                ArenaHeader {
                    next: ptr::null_mut(),
                    prev: ptr::null_mut(),
                    free_bits: ALL_FREE,
                    zero_bits: ALL_FREE,
                    freed_at: None,
                },
            );
            self.link(a);
        }
        self.count += 1;
        self.empty += 1;
        self.high_water = self.high_water.max(self.count);
        a
    }

    /// Unlinks and unmaps a completely free arena.
    unsafe fn unmap(&mut self, a: *mut ArenaHeader) {
        // SAFETY: `a` is a completely free arena in its bucket.
        unsafe {
            self.unlink(a);
            if self.current == a {
                self.current = ptr::null_mut();
            }
            os::unmap_arena(a.cast());
        }
        self.count -= 1;
        self.empty -= 1;
        self.released += 1;
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    impl Arenas {
        /// Every arena sits in the bucket of its free-pool count, and the bitmap says which
        /// buckets are not empty.
        fn check_buckets(&self) {
            let mut seen = 0;
            for (f, &head) in self.buckets.iter().enumerate() {
                assert_eq!(self.nonempty & (1 << f) != 0, !head.is_null(), "bucket {f}");
                let mut a = head;
                let mut prev = ptr::null_mut();
                while !a.is_null() {
                    // SAFETY: arenas in the buckets are mapped.
                    unsafe {
                        assert_eq!((*a).free_bits.count_ones() as usize, f);
                        assert_eq!((*a).prev, prev);
                        prev = a;
                        a = (*a).next;
                    }
                    seen += 1;
                }
            }
            assert_eq!(seen, self.count);
        }
    }

    /// New pools come from the arena with the fewest free pools (found in its bucket), and the
    /// buckets stay consistent through pools taken and given back.
    #[test]
    fn the_fullest_arena_with_room_serves_and_buckets_stay_consistent() {
        let mut arenas = Arenas::new();
        arenas.set_decay(Duration::from_secs(3600));
        let take = |arenas: &mut Arenas| {
            let p = arenas.alloc_pool(1, ptr::null_mut());
            assert!(!p.is_null());
            p
        };
        let pools: Vec<*mut Pool> = (0..3 * 63).map(|_| take(&mut arenas)).collect();
        assert_eq!(arenas.count(), 3);
        arenas.check_buckets();
        let (a, b, c) = (
            arena_of(pools[0]),
            arena_of(pools[63]),
            arena_of(pools[126]),
        );
        // SAFETY: each pool came from `alloc_pool`, has no block in use, and is given back once.
        unsafe {
            for &p in pools[0..10]
                .iter()
                .chain(&pools[63..66])
                .chain(&pools[126..166])
            {
                arenas.free_pool(p);
                arenas.check_buckets();
            }
        }
        // The current arena (the last one mapped) has room: it serves first.
        assert_eq!(arena_of(take(&mut arenas)), c);
        // Filled up, the next pools come from the fullest arena with room: b (3 free), then a.
        for _ in 0..39 {
            assert_eq!(arena_of(take(&mut arenas)), c);
        }
        for _ in 0..3 {
            assert_eq!(arena_of(take(&mut arenas)), b);
        }
        assert_eq!(arena_of(take(&mut arenas)), a);
        arenas.check_buckets();
        // SAFETY: no block of any arena is used again.
        unsafe { arenas.unmap_all() };
        assert_eq!(arenas.count(), 0);
    }
}
