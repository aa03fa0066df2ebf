//! Eviction policies of the configurable core (`cores/timed.rs`): which entry a full shard gives up,
//! and what a hit, an update and an insertion do to the order that decides it. Expired
//! entries always go first; these choose among live ones.
//!
//! Each policy keeps its order on the slab's lists (`raw.rs`) and a `u32` of per-node state
//! (`Timed::pol`):
//!
//! | policy | lists | node state | hit | update | victim |
//! |---|---|---|---|---|---|
//! | LRU | 0: recency | - | to front | to front | last of 0 |
//! | FIFO | 0: insertion | - | - | to front | last of 0 |
//! | Random | 0 (unused) | - | - | - | slab index from the choice |
//! | LFU | 0: by use count, then entry into that count | bucket | next bucket | next bucket | last of 0 |
//! | S3-FIFO | 0: small, 1: main | list, use count (0..=3) | count + 1 | count + 1 | see [`S3`] |
//! | W-TinyLFU | 0: window, 1: probation, 2: protected (each LRU) | list | sketch + 1; to front (probation: to protected) | as a hit | see [`TinyLfu`] |
//!
//! Random picks a slab index, and the slab appends new entries and fills a hole with its
//! last entry: the order in which cachetools' `RRCache` lists keys for its `choice`.

mod lfu;
mod s3fifo;
mod sketch;
#[cfg(test)]
mod tests;
mod tinylfu;

use lfu::Bucket;
pub(crate) use lfu::Lfu;
pub(crate) use s3fifo::S3;
pub(crate) use tinylfu::TinyLfu;

#[cfg(test)]
use crate::node::NIL;
use crate::node::Timed;
use crate::raw::Raw;
use std::fmt;
use std::sync::Arc;

/// Which entry a full cache evicts (after any expired one), set by
/// [`CacheBuilder::eviction_policy`](crate::CacheBuilder::eviction_policy).
///
/// | policy | evicts | as |
/// |---|---|---|
/// | [`Lru`](Self::Lru) (the default) | the least recently read or set | `functools.lru_cache`, `cachetools.LRUCache` |
/// | [`Fifo`](Self::Fifo) | the first set (setting a key again counts as setting it first) | `cachetools.FIFOCache` |
/// | [`Lfu`](Self::Lfu) | the least often read or set; of equal counts, the one that reached its count first | `cachetools.LFUCache` |
/// | [`Random`](Self::Random) | one at random, or as [`random_choice`](crate::CacheBuilder::random_choice) picks | `cachetools.RRCache` |
/// | [`S3Fifo`](Self::S3Fifo) | a new entry not read again soon, else one that stopped being read: scan resistant, frequency aware | S3-FIFO (Yang et al., SOSP 2023) |
/// | [`TinyLfu`](Self::TinyLfu) | of the oldest new entry and the main part's least recent one, the one asked for less often lately | W-TinyLFU (Einziger et al.), as moka and Caffeine |
///
/// With one shard, the first four behave exactly as their cachetools counterparts, step
/// by step. S3-FIFO gives the best hit ratio of these on most traffic (see the crate's
/// measurements) and a loop over more keys than the cache holds does not flush the keys in
/// steady use.
///
/// ```
/// use lru_ttl::{Cache, EvictionPolicy};
///
/// let cache: Cache<u32, u32> = Cache::builder()
///     .max_capacity(2)
///     .eviction_policy(EvictionPolicy::Lfu)
///     .shards(1)
///     .build();
/// cache.insert(1, 1);
/// cache.get(&1); // used twice
/// cache.insert(2, 2); // used once
/// cache.insert(3, 3); // full: 2 is the least often used
/// assert_eq!(cache.get(&2), None);
/// assert_eq!(cache.get(&1), Some(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum EvictionPolicy {
    /// Least recently used.
    #[default]
    Lru,
    /// First in, first out.
    Fifo,
    /// Least frequently used.
    Lfu,
    /// Random replacement.
    Random,
    /// S3-FIFO: a small FIFO queue for new entries, a main one for those read again, and
    /// a ghost list of recently evicted new keys.
    S3Fifo,
    /// W-TinyLFU: a small LRU window for new entries and a main segmented LRU, with a
    /// sketch of how often keys were asked for deciding whether the window's oldest entry
    /// may take the place of the main part's, as moka and Caffeine do.
    TinyLfu,
}

/// A user's choice of random victim: given the number of entries, an index below it.
pub(crate) type Choice = Arc<dyn Fn(usize) -> usize + Send + Sync>;

/// A policy's order state for one core.
pub(crate) enum Eviction {
    Lru,
    Fifo,
    Random { rng: u64, choice: Option<Choice> },
    Lfu(Lfu),
    S3(S3),
    TinyLfu(TinyLfu),
}

impl fmt::Debug for Eviction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Eviction::Lru => "Lru",
            Eviction::Fifo => "Fifo",
            Eviction::Random { .. } => "Random",
            Eviction::Lfu(_) => "Lfu",
            Eviction::S3(_) => "S3Fifo",
            Eviction::TinyLfu(_) => "TinyLfu",
        })
    }
}

impl Eviction {
    /// Fresh state for `policy`; `seed` varies the default random choice between shards.
    pub(crate) fn new(policy: EvictionPolicy, choice: Option<Choice>, seed: u64) -> Self {
        match policy {
            EvictionPolicy::Lru => Eviction::Lru,
            EvictionPolicy::Fifo => Eviction::Fifo,
            EvictionPolicy::Random => Eviction::Random {
                rng: seed | 1,
                choice,
            },
            EvictionPolicy::Lfu => Eviction::Lfu(Lfu::default()),
            EvictionPolicy::S3Fifo => Eviction::S3(S3::default()),
            EvictionPolicy::TinyLfu => Eviction::TinyLfu(TinyLfu::default()),
        }
    }

    /// The same policy, empty.
    pub(crate) fn fresh(&self) -> Self {
        match self {
            Eviction::Lru => Eviction::Lru,
            Eviction::Fifo => Eviction::Fifo,
            Eviction::Random { rng, choice } => Eviction::Random {
                rng: *rng,
                choice: choice.clone(),
            },
            Eviction::Lfu(_) => Eviction::Lfu(Lfu::default()),
            Eviction::S3(_) => Eviction::S3(S3::default()),
            Eviction::TinyLfu(_) => Eviction::TinyLfu(TinyLfu::default()),
        }
    }

    /// Whether list 0 runs from the most to the least recently used entry (so its last
    /// entry has been idle longest).
    #[inline]
    pub(crate) fn is_lru(&self) -> bool {
        matches!(self, Eviction::Lru)
    }

    /// Whether a full cache may store a new entry in its victim's slot (the new entry then
    /// goes first on list 0), rather than removing the victim and pushing.
    #[inline]
    pub(crate) fn reuses_slot(&self) -> bool {
        matches!(self, Eviction::Lru | Eviction::Fifo)
    }

    /// Whether the victim is chosen before an update's weight is applied, with the key in
    /// its old place (as cachetools does), rather than after, with the key promoted.
    #[inline]
    pub(crate) fn evicts_before_update(&self) -> bool {
        !self.is_lru()
    }

    /// Node `i` was read.
    #[inline]
    pub(crate) fn hit<K, V, X: Timed>(&mut self, raw: &mut Raw<K, V, X>, i: u32, max: u64) {
        match self {
            Eviction::Lru => raw.touch(i),
            Eviction::Fifo | Eviction::Random { .. } => {}
            Eviction::Lfu(l) => l.bump(raw, i),
            Eviction::S3(_) => S3::bump(raw, i),
            Eviction::TinyLfu(t) => {
                t.hit(raw, i);
                t.sample(true, max);
            }
        }
    }

    /// A lookup of `hash` in a core bounded by `max` found nothing (a frequency-aware
    /// policy counts it).
    #[inline]
    pub(crate) fn missed(&mut self, hash: u64, max: u64) {
        if let Eviction::TinyLfu(t) = self {
            t.sketch.add(hash);
            t.sample(false, max);
        }
    }

    /// Node `i` was set again.
    #[inline]
    pub(crate) fn updated<K, V, X: Timed>(&mut self, raw: &mut Raw<K, V, X>, i: u32) {
        match self {
            Eviction::Lru | Eviction::Fifo => raw.touch(i),
            Eviction::Random { .. } => {}
            Eviction::Lfu(l) => l.bump(raw, i),
            Eviction::S3(_) => S3::bump(raw, i),
            Eviction::TinyLfu(t) => t.hit(raw, i),
        }
    }

    /// Node `i` was just pushed (first on list 0) into a core bounded by `max` that now
    /// holds `total` (its weight included).
    #[inline]
    pub(crate) fn inserted<K, V, X: Timed>(
        &mut self,
        raw: &mut Raw<K, V, X>,
        i: u32,
        max: u64,
        total: u64,
    ) {
        match self {
            Eviction::Lru | Eviction::Fifo | Eviction::Random { .. } => {}
            Eviction::Lfu(l) => l.insert(raw, i),
            Eviction::S3(s) => s.insert(raw, i, max, total),
            Eviction::TinyLfu(t) => t.insert(raw, i, max),
        }
    }

    /// The live entry to evict from a core bounded by `max` (entries or weight), which
    /// must hold at least one entry. S3-FIFO moves entries between its queues on the way.
    pub(crate) fn victim<K, V, X: Timed>(&mut self, raw: &mut Raw<K, V, X>, max: u64) -> u32 {
        match self {
            Eviction::Lru | Eviction::Fifo | Eviction::Lfu(_) => raw.tail(),
            Eviction::Random { rng, choice } => {
                let n = raw.len();
                let pick = match choice {
                    Some(f) => f(n),
                    None => {
                        // xorshift64*: cheap, and plenty for picking victims.
                        *rng ^= *rng >> 12;
                        *rng ^= *rng << 25;
                        *rng ^= *rng >> 27;
                        let r = rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
                        ((u128::from(r) * n as u128) >> 64) as usize
                    }
                };
                // A choice out of range picks the last entry rather than failing.
                pick.min(n - 1) as u32
            }
            Eviction::S3(s) => s.victim(raw, max),
            Eviction::TinyLfu(t) => t.victim(raw),
        }
    }

    /// Node `i` is about to leave the slab (whatever the reason).
    #[inline]
    pub(crate) fn removing<K, V, X: Timed>(&mut self, raw: &Raw<K, V, X>, i: u32) {
        match self {
            Eviction::Lru | Eviction::Fifo | Eviction::Random { .. } => {}
            Eviction::Lfu(l) => l.detach(raw, i),
            Eviction::S3(s) => s.removing(raw, i),
            Eviction::TinyLfu(t) => t.removing(raw, i),
        }
    }

    /// Node `i` left the slab and the slab's last node, formerly at `last`, now lives at
    /// `i` (if `i != last`).
    #[inline]
    pub(crate) fn moved<K, V, X: Timed>(&mut self, raw: &Raw<K, V, X>, i: u32, last: u32) {
        if let Eviction::Lfu(l) = self
            && i != last
        {
            l.moved(raw, i, last);
        }
    }

    /// Node `i` changes weight from `old` to `new`.
    #[inline]
    pub(crate) fn reweigh<K, V, X: Timed>(
        &mut self,
        raw: &Raw<K, V, X>,
        i: u32,
        old: u32,
        new: u32,
    ) {
        let l = raw.node(i).extra.list();
        let queue = match self {
            Eviction::S3(s) if l == 0 => &mut s.small,
            Eviction::TinyLfu(t) if l == 0 => &mut t.window,
            Eviction::TinyLfu(t) if l == 2 => &mut t.protected,
            _ => return,
        };
        *queue = *queue - u64::from(old) + u64::from(new);
    }

    /// Heap bytes of the policy's own structures.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Eviction::Lfu(l) => {
                l.buckets.capacity() * std::mem::size_of::<Bucket>() + l.free.capacity() * 4
            }
            Eviction::S3(s) => s.ghost.heap_bytes(),
            Eviction::TinyLfu(t) => t.sketch.counters.capacity(),
            _ => 0,
        }
    }

    /// Checks the policy's invariants against the slab (tests only; O(n)).
    #[cfg(test)]
    pub(crate) fn check<K, V, X: Timed>(&self, raw: &Raw<K, V, X>) {
        match self {
            Eviction::Lfu(l) => l.check(raw),
            Eviction::S3(s) => {
                assert_eq!(list_weight(raw, 0), s.small, "S3-FIFO's small queue");
            }
            Eviction::TinyLfu(t) => {
                assert_eq!(list_weight(raw, 0), t.window, "W-TinyLFU's window");
                assert_eq!(list_weight(raw, 2), t.protected, "W-TinyLFU's protected");
            }
            _ => {}
        }
    }
}

/// `max * part / whole`, without overflow.
fn share(max: u64, part: u64, whole: u64) -> u128 {
    u128::from(max) * u128::from(part) / u128::from(whole)
}

/// The total weight on list `l` (tests only; O(n)).
#[cfg(test)]
fn list_weight<K, V, X: Timed>(raw: &Raw<K, V, X>, l: usize) -> u64 {
    let mut weight = 0;
    let mut i = raw.head_of(l);
    while i != NIL {
        weight += u64::from(raw.node(i).extra.weight());
        i = raw.next_of(i);
    }
    weight
}
