//! W-TinyLFU (Einziger et al.), as moka and Caffeine: an LRU window, a segmented LRU main
//! part and a count-min sketch of lookups deciding admission, the window's share climbing
//! towards the better hit ratio.

use super::share;
use super::sketch::Sketch;
use crate::node::{LIST_SHIFT, NIL, Timed};
use crate::raw::Raw;

/// W-TinyLFU's tunables: the window's share of the bound to start with, in hundredths; the
/// protected segment's share of the rest, in hundredths; the hill climber's first step, in
/// hundredths of the bound, and how its steps shrink (in 1/64ths kept per step).
pub(super) const TINY_WINDOW_PERCENT: u64 = 1;
pub(super) const TINY_PROTECTED_PERCENT: u64 = 80;
pub(super) const TINY_STEP_PERCENT: u64 = 6;
pub(super) const TINY_STEP_KEEP_64THS: u64 = 63;

/// W-TinyLFU: new entries enter the window (list 0, LRU). When the window is full, its
/// oldest entry is a candidate for the main part, whose victim is the least recent entry
/// of probation (list 1), or of protected (list 2) if probation is empty: the one of the
/// two that the [`Sketch`] says was asked for less often leaves (the candidate on a tie).
/// A hit in probation moves the entry to protected, whose least recent entries go back to
/// probation when it exceeds its share.
///
/// The window's share adapts, as Caffeine's does: after every sample of lookups (ten times
/// the bound), a hill climber compares the sample's hit ratio with the previous one's and
/// moves the window's bound by a step, on in the same direction if the ratio rose, back if
/// it fell; the steps shrink, so the share settles where traffic hits most (small for
/// frequency-driven traffic, large for recency-driven).
#[derive(Default)]
pub(crate) struct TinyLfu {
    /// The weight in the window.
    pub(super) window: u64,
    /// The window's bound (0 until the first insertion sets it from the cache's).
    pub(super) window_cap: u64,
    /// The weight in protected.
    pub(super) protected: u64,
    pub(super) sketch: Sketch,
    /// Lookups and hits in the current sample.
    pub(super) lookups: u64,
    pub(super) hits: u64,
    /// The previous sample's hit ratio, in millionths.
    pub(super) last_ratio: u64,
    /// The climber's next step (weight units) and direction.
    pub(super) step: u64,
    pub(super) grow: bool,
}

impl TinyLfu {
    pub(super) fn set_list<K, V, X: Timed>(raw: &mut Raw<K, V, X>, i: u32, l: u32) {
        raw.unlink(i);
        raw.node_mut(i).extra.set_pol(l << LIST_SHIFT);
        raw.link_front(i);
    }

    pub(super) fn hit<K, V, X: Timed>(&mut self, raw: &mut Raw<K, V, X>, i: u32) {
        self.sketch.add(raw.node(i).hash);
        if raw.node(i).extra.list() == 1 {
            self.protected += u64::from(raw.node(i).extra.weight());
            Self::set_list(raw, i, 2);
        } else {
            raw.touch(i);
        }
    }

    pub(super) fn insert<K, V, X: Timed>(&mut self, raw: &mut Raw<K, V, X>, i: u32, max: u64) {
        // Only lookups count in the sketch: a miss counted, then its insertion counted
        // again, would let every new key outweigh the main part's steady ones.
        self.sketch.fit(raw.len(), max);
        self.window += u64::from(raw.node(i).extra.weight());
        // The window keeps to its share (its oldest entries enter probation unopposed while
        // the cache fills), and protected to its share of the main part.
        if self.window_cap == 0 {
            self.window_cap = (share(max, TINY_WINDOW_PERCENT, 100) as u64).max(1);
            self.step = (share(max, TINY_STEP_PERCENT, 100) as u64).max(1);
        }
        let window_max = self.window_cap;
        while self.window > window_max {
            let t = raw.tail_of(0);
            if t == i {
                break;
            }
            self.window -= u64::from(raw.node(t).extra.weight());
            Self::set_list(raw, t, 1);
        }
        let main = max - window_max;
        while u128::from(self.protected) * 100 > share(main, TINY_PROTECTED_PERCENT, 1) {
            let t = raw.tail_of(2);
            self.protected -= u64::from(raw.node(t).extra.weight());
            Self::set_list(raw, t, 1);
        }
    }

    /// Counts a lookup; at the end of a sample, moves the window's bound.
    pub(super) fn sample(&mut self, hit: bool, max: u64) {
        self.lookups += 1;
        self.hits += u64::from(hit);
        if self.lookups < self.sketch.period
            || self.window_cap == 0
            || self.sketch.counters.is_empty()
        {
            return;
        }
        let ratio = (u128::from(self.hits) * 1_000_000 / u128::from(self.lookups)) as u64;
        if ratio < self.last_ratio {
            self.grow = !self.grow;
        }
        self.last_ratio = ratio;
        self.lookups = 0;
        self.hits = 0;
        let top = max.saturating_sub(1).max(1);
        self.window_cap = if self.grow {
            self.window_cap.saturating_add(self.step).min(top)
        } else {
            self.window_cap.saturating_sub(self.step).max(1)
        };
        self.step = (share(self.step, TINY_STEP_KEEP_64THS, 64) as u64).max(1);
    }

    pub(super) fn removing<K, V, X: Timed>(&mut self, raw: &Raw<K, V, X>, i: u32) {
        let x = &raw.node(i).extra;
        match x.list() {
            0 => self.window -= u64::from(x.weight()),
            2 => self.protected -= u64::from(x.weight()),
            _ => {}
        }
    }

    pub(super) fn victim<K, V, X: Timed>(&mut self, raw: &mut Raw<K, V, X>) -> u32 {
        loop {
            let main_victim = match raw.tail_of(1) {
                NIL => raw.tail_of(2),
                v => v,
            };
            let candidate = raw.tail_of(0);
            if candidate == NIL {
                return main_victim;
            }
            if self.window < self.window_cap && main_victim != NIL {
                // The window has room: the main part gives up its victim.
                return main_victim;
            }
            let cw = u64::from(raw.node(candidate).extra.weight());
            if main_victim == NIL {
                // Nothing in the main part yet: the candidate moves there, and we look again.
                self.window -= cw;
                Self::set_list(raw, candidate, 1);
                continue;
            }
            let (c, v) = (raw.node(candidate).hash, raw.node(main_victim).hash);
            if self.sketch.estimate(c) > self.sketch.estimate(v) {
                self.window -= cw;
                Self::set_list(raw, candidate, 1);
                return main_victim;
            }
            return candidate;
        }
    }
}
