//! S3-FIFO (Yang et al., SOSP 2023): a small queue, a main queue and a ghost table of
//! recently evicted hashes.

use super::share;
use crate::node::{LIST_SHIFT, NIL, Timed};
use crate::raw::Raw;

/// S3-FIFO's tunables: the small queue's share of the bound, in tenths.
pub(super) const S3_SMALL_TENTHS: u64 = 1;
/// The most a use count goes up to.
pub(super) const S3_MAX_COUNT: u32 = 3;
/// The node state of an S3-FIFO entry on the main queue (list 1), with a count of 0.
pub(crate) const S3_MAIN: u32 = 1 << LIST_SHIFT;

/// S3-FIFO: new entries go on the small queue (list 0) unless their key's hash is on the
/// ghost list, or the main queue (list 1) is below its share of the bound (a cache filling
/// up), in which case they go on the main queue. Hits only count uses (up
/// to [`S3_MAX_COUNT`]). To evict: while the small queue holds at least a tenth of the
/// bound, its last entry leaves if it was never used (its hash goes on the ghost list), or
/// else moves to the main queue; otherwise the main queue's last entry leaves if its count
/// is zero, or else goes back to the front with its count less one.
#[derive(Default)]
pub(crate) struct S3 {
    /// The weight on the small queue (the main queue's is the core's total less this).
    pub(super) small: u64,
    pub(super) ghost: Ghost,
}

impl S3 {
    pub(super) fn bump<K, V, X: Timed>(raw: &mut Raw<K, V, X>, i: u32) {
        let x = &mut raw.node_mut(i).extra;
        let p = x.pol();
        if p & !S3_MAIN < S3_MAX_COUNT {
            x.set_pol(p + 1);
        }
    }

    pub(super) fn insert<K, V, X: Timed>(
        &mut self,
        raw: &mut Raw<K, V, X>,
        i: u32,
        max: u64,
        total: u64,
    ) {
        let hash = raw.node(i).hash;
        self.ghost.cap = raw.len();
        // The main queue with the new entry on it: all but the small queue.
        let main_room = u128::from(total - self.small) * 10 <= share(max, 10 - S3_SMALL_TENTHS, 1);
        if self.ghost.take(hash) || main_room {
            raw.unlink(i);
            raw.node_mut(i).extra.set_pol(S3_MAIN);
            raw.link_front(i);
        } else {
            self.small += u64::from(raw.node(i).extra.weight());
        }
    }

    pub(super) fn removing<K, V, X: Timed>(&mut self, raw: &Raw<K, V, X>, i: u32) {
        let x = &raw.node(i).extra;
        if x.pol() & S3_MAIN == 0 {
            self.small -= u64::from(x.weight());
        }
    }

    pub(super) fn victim<K, V, X: Timed>(&mut self, raw: &mut Raw<K, V, X>, max: u64) -> u32 {
        loop {
            let s = raw.tail_of(0);
            let from_small = s != NIL
                && (u128::from(self.small) * 10 >= share(max, S3_SMALL_TENTHS, 1)
                    || raw.tail_of(1) == NIL);
            if from_small {
                let x = raw.node(s).extra;
                if x.pol() == 0 {
                    self.ghost.cap = raw.len();
                    self.ghost.add(raw.node(s).hash);
                    return s;
                }
                // Used since it arrived: to the main queue, its count spent.
                self.small -= u64::from(x.weight());
                raw.unlink(s);
                raw.node_mut(s).extra.set_pol(S3_MAIN);
                raw.link_front(s);
            } else {
                let m = raw.tail_of(1);
                let p = raw.node(m).extra.pol();
                if p == S3_MAIN {
                    return m;
                }
                raw.unlink(m);
                raw.node_mut(m).extra.set_pol(p - 1);
                raw.link_front(m);
            }
        }
    }
}

/// Hashes of keys recently evicted from S3-FIFO's small queue: a direct-mapped table of
/// about `cap` slots (the number of entries the core holds), where a newer hash takes the
/// slot of an older one, so it remembers roughly the last `cap` evictions at one memory
/// access per step.
#[derive(Default)]
pub(super) struct Ghost {
    /// `hash | 1` per slot; 0 is empty.
    pub(super) slots: Vec<u64>,
    pub(super) cap: usize,
}

impl Ghost {
    pub(super) fn slot(&self, hash: u64) -> usize {
        ((hash ^ (hash >> 29)) as usize) & (self.slots.len() - 1)
    }

    pub(super) fn add(&mut self, hash: u64) {
        let want = self.cap.max(1).next_power_of_two();
        if self.slots.len() < want {
            // Grown with the cache: forget what was there (a ghost is only a hint).
            self.slots = vec![0; want];
        }
        let i = self.slot(hash);
        self.slots[i] = hash | 1;
    }

    /// Whether `hash` is remembered; it is forgotten if so.
    pub(super) fn take(&mut self, hash: u64) -> bool {
        if self.slots.is_empty() {
            return false;
        }
        let i = self.slot(hash);
        let hit = self.slots[i] == hash | 1;
        if hit {
            self.slots[i] = 0;
        }
        hit
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * 8
    }
}
