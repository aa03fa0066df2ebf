//! Eviction policies of the configurable core (`ttl.rs`): which entry a full shard gives up,
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

use crate::raw::{NIL, Raw};
use crate::ttl::Timed;
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

/// A run of list 0 whose entries share a use count (an LFU bucket).
#[derive(Clone, Copy, Debug)]
struct Bucket {
    count: u64,
    /// Its first node (the last to reach this count).
    head: u32,
    /// Its last node (the first to reach this count).
    tail: u32,
}

/// LFU: list 0 holds the buckets in decreasing count from head to tail, each a run of
/// nodes in the order they reached its count (latest first), so the last node is the least
/// often used and, of those, the first to reach its count. Every operation is O(1).
#[derive(Default)]
pub(crate) struct Lfu {
    buckets: Vec<Bucket>,
    /// Unused bucket slots.
    free: Vec<u32>,
}

impl Lfu {
    fn new_bucket(&mut self, count: u64, node: u32) -> u32 {
        assert!(
            self.buckets.len() < (1 << LIST_SHIFT) - 1,
            "lru-ttl: an LFU shard holds over 2^30 entries"
        );
        let b = Bucket {
            count,
            head: node,
            tail: node,
        };
        match self.free.pop() {
            Some(id) => {
                self.buckets[id as usize] = b;
                id
            }
            None => {
                self.buckets.push(b);
                (self.buckets.len() - 1) as u32
            }
        }
    }

    /// Takes node `i` out of its bucket's run (not off the list), freeing an emptied bucket.
    fn detach<K, V, X: Timed>(&mut self, raw: &Raw<K, V, X>, i: u32) {
        let b = raw.node(i).extra.pol();
        let bucket = &mut self.buckets[b as usize];
        match (bucket.head == i, bucket.tail == i) {
            (true, true) => self.free.push(b),
            (true, false) => bucket.head = raw.next_of(i),
            (false, true) => bucket.tail = raw.prev_of(i),
            (false, false) => {}
        }
    }

    /// A new node (first on list 0) enters the count-1 bucket, as its latest member.
    fn insert<K, V, X: Timed>(&mut self, raw: &mut Raw<K, V, X>, i: u32) {
        raw.unlink(i);
        let t = raw.tail();
        if t != NIL {
            let tb = raw.node(t).extra.pol();
            let bucket = &mut self.buckets[tb as usize];
            if bucket.count == 1 {
                let at = bucket.head;
                bucket.head = i;
                raw.node_mut(i).extra.set_pol(tb);
                raw.link_before(i, at);
                return;
            }
        }
        let b = self.new_bucket(1, i);
        raw.node_mut(i).extra.set_pol(b);
        raw.link_back(i);
    }

    /// Node `i` was used once more: it moves to the next count's bucket, as its latest
    /// member.
    fn bump<K, V, X: Timed>(&mut self, raw: &mut Raw<K, V, X>, i: u32) {
        let b = raw.node(i).extra.pol();
        let Bucket { count, head, tail } = self.buckets[b as usize];
        let up = raw.prev_of(head);
        if up != NIL {
            let ub = raw.node(up).extra.pol();
            if self.buckets[ub as usize].count == count + 1 {
                self.detach(raw, i);
                let at = self.buckets[ub as usize].head;
                self.buckets[ub as usize].head = i;
                raw.unlink(i);
                raw.node_mut(i).extra.set_pol(ub);
                raw.link_before(i, at);
                return;
            }
        }
        if head == i && tail == i {
            self.buckets[b as usize].count += 1;
            return;
        }
        self.detach(raw, i);
        let nb = self.new_bucket(count + 1, i);
        let at = self.buckets[b as usize].head;
        raw.unlink(i);
        raw.node_mut(i).extra.set_pol(nb);
        raw.link_before(i, at);
    }

    fn moved<K, V, X: Timed>(&mut self, raw: &Raw<K, V, X>, i: u32, last: u32) {
        let bucket = &mut self.buckets[raw.node(i).extra.pol() as usize];
        if bucket.head == last {
            bucket.head = i;
        }
        if bucket.tail == last {
            bucket.tail = i;
        }
    }

    #[cfg(test)]
    fn check<K, V, X: Timed>(&self, raw: &Raw<K, V, X>) {
        let mut i = raw.head();
        let mut prev_count = u64::MAX;
        let mut live = 0;
        while i != NIL {
            let b = raw.node(i).extra.pol();
            let bucket = self.buckets[b as usize];
            assert_eq!(bucket.head, i, "a bucket's run starts at its head");
            assert!(bucket.count < prev_count, "buckets in decreasing count");
            prev_count = bucket.count;
            live += 1;
            while i != bucket.tail {
                i = raw.next_of(i);
                assert_eq!(raw.node(i).extra.pol(), b, "a bucket's run is contiguous");
            }
            i = raw.next_of(i);
        }
        assert_eq!(live + self.free.len(), self.buckets.len(), "buckets leaked");
    }
}

/// The bits of node state from this one up name the node's list (`Extra::list`); the
/// policies keep their own state below it.
pub(crate) const LIST_SHIFT: u32 = 30;

/// S3-FIFO's tunables: the small queue's share of the bound, in tenths.
const S3_SMALL_TENTHS: u64 = 1;
/// The most a use count goes up to.
const S3_MAX_COUNT: u32 = 3;
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
    small: u64,
    ghost: Ghost,
}

impl S3 {
    fn bump<K, V, X: Timed>(raw: &mut Raw<K, V, X>, i: u32) {
        let x = &mut raw.node_mut(i).extra;
        let p = x.pol();
        if p & !S3_MAIN < S3_MAX_COUNT {
            x.set_pol(p + 1);
        }
    }

    fn insert<K, V, X: Timed>(&mut self, raw: &mut Raw<K, V, X>, i: u32, max: u64, total: u64) {
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

    fn removing<K, V, X: Timed>(&mut self, raw: &Raw<K, V, X>, i: u32) {
        let x = &raw.node(i).extra;
        if x.pol() & S3_MAIN == 0 {
            self.small -= u64::from(x.weight());
        }
    }

    fn victim<K, V, X: Timed>(&mut self, raw: &mut Raw<K, V, X>, max: u64) -> u32 {
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

/// W-TinyLFU's tunables: the window's share of the bound to start with, in hundredths; the
/// protected segment's share of the rest, in hundredths; the hill climber's first step, in
/// hundredths of the bound, and how its steps shrink (in 1/64ths kept per step).
const TINY_WINDOW_PERCENT: u64 = 1;
const TINY_PROTECTED_PERCENT: u64 = 80;
const TINY_STEP_PERCENT: u64 = 6;
const TINY_STEP_KEEP_64THS: u64 = 63;

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
    window: u64,
    /// The window's bound (0 until the first insertion sets it from the cache's).
    window_cap: u64,
    /// The weight in protected.
    protected: u64,
    sketch: Sketch,
    /// Lookups and hits in the current sample.
    lookups: u64,
    hits: u64,
    /// The previous sample's hit ratio, in millionths.
    last_ratio: u64,
    /// The climber's next step (weight units) and direction.
    step: u64,
    grow: bool,
}

impl TinyLfu {
    fn set_list<K, V, X: Timed>(raw: &mut Raw<K, V, X>, i: u32, l: u32) {
        raw.unlink(i);
        raw.node_mut(i).extra.set_pol(l << LIST_SHIFT);
        raw.link_front(i);
    }

    fn hit<K, V, X: Timed>(&mut self, raw: &mut Raw<K, V, X>, i: u32) {
        self.sketch.add(raw.node(i).hash);
        if raw.node(i).extra.list() == 1 {
            self.protected += u64::from(raw.node(i).extra.weight());
            Self::set_list(raw, i, 2);
        } else {
            raw.touch(i);
        }
    }

    fn insert<K, V, X: Timed>(&mut self, raw: &mut Raw<K, V, X>, i: u32, max: u64) {
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
    fn sample(&mut self, hit: bool, max: u64) {
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

    fn removing<K, V, X: Timed>(&mut self, raw: &Raw<K, V, X>, i: u32) {
        let x = &raw.node(i).extra;
        match x.list() {
            0 => self.window -= u64::from(x.weight()),
            2 => self.protected -= u64::from(x.weight()),
            _ => {}
        }
    }

    fn victim<K, V, X: Timed>(&mut self, raw: &mut Raw<K, V, X>) -> u32 {
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

/// How often keys were asked for lately: a count-min sketch of four rows of saturating
/// 4-bit counts (one byte each here), indexed by the key's hash, all halved after ten times
/// as many additions as the entries it was sized for, so old popularity fades.
#[derive(Default)]
struct Sketch {
    counters: Vec<u8>,
    /// `counters.len() / 4 - 1`: a row's index mask.
    mask: usize,
    /// Additions since the last halving.
    added: u64,
    /// Additions between halvings.
    period: u64,
}

impl Sketch {
    /// Sizes the sketch for `entries` (four counters per entry and row, doubling as the core
    /// grows, the counts starting over each time; at most 2^24 per row), unless the core is
    /// unbounded (`max`), when nothing is ever evicted.
    fn fit(&mut self, entries: usize, max: u64) {
        if max == u64::MAX {
            return;
        }
        let width = (entries.max(16) * 4).next_power_of_two().min(1 << 24);
        if width <= self.mask + 1 && !self.counters.is_empty() {
            return;
        }
        self.counters = vec![0; width * 4];
        self.mask = width - 1;
        self.added = 0;
        self.period = (width as u64 / 4 * 10).max(64);
    }

    fn index(&self, hash: u64, row: usize) -> usize {
        let h = (hash ^ (row as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .wrapping_mul(0xD6E8_FEB8_6659_FD93);
        row * (self.mask + 1) + ((h >> 32) as usize & self.mask)
    }

    fn add(&mut self, hash: u64) {
        if self.counters.is_empty() {
            return;
        }
        for row in 0..4 {
            let i = self.index(hash, row);
            if self.counters[i] < 15 {
                self.counters[i] += 1;
            }
        }
        self.added += 1;
        if self.added >= self.period {
            self.added = 0;
            for c in &mut self.counters {
                *c >>= 1;
            }
        }
    }

    fn estimate(&self, hash: u64) -> u8 {
        if self.counters.is_empty() {
            return 0;
        }
        (0..4)
            .map(|row| self.counters[self.index(hash, row)])
            .min()
            .unwrap_or(0)
    }
}

/// Hashes of keys recently evicted from S3-FIFO's small queue: a direct-mapped table of
/// about `cap` slots (the number of entries the core holds), where a newer hash takes the
/// slot of an older one, so it remembers roughly the last `cap` evictions at one memory
/// access per step.
#[derive(Default)]
struct Ghost {
    /// `hash | 1` per slot; 0 is empty.
    slots: Vec<u64>,
    cap: usize,
}

impl Ghost {
    fn slot(&self, hash: u64) -> usize {
        ((hash ^ (hash >> 29)) as usize) & (self.slots.len() - 1)
    }

    fn add(&mut self, hash: u64) {
        let want = self.cap.max(1).next_power_of_two();
        if self.slots.len() < want {
            // Grown with the cache: forget what was there (a ghost is only a hint).
            self.slots = vec![0; want];
        }
        let i = self.slot(hash);
        self.slots[i] = hash | 1;
    }

    /// Whether `hash` is remembered; it is forgotten if so.
    fn take(&mut self, hash: u64) -> bool {
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

    fn heap_bytes(&self) -> usize {
        self.slots.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::policy::{Policy, Removed};
    use crate::ttl::{Meta, NEVER, TtlCore};
    use std::time::Duration;

    fn core(
        policy: EvictionPolicy,
        cap: u64,
        ttl: u64,
        tti: u64,
    ) -> (TtlCore<u32, u32, ManualClock, Meta>, ManualClock) {
        let clock = ManualClock::new();
        let c = TtlCore::with_limits(Some(cap), ttl, tti, clock.clone())
            .with_eviction(Eviction::new(policy, None, 7));
        (c, clock)
    }

    /// Every policy.
    const ALL: [EvictionPolicy; 6] = [
        EvictionPolicy::Lru,
        EvictionPolicy::Fifo,
        EvictionPolicy::Lfu,
        EvictionPolicy::Random,
        EvictionPolicy::S3Fifo,
        EvictionPolicy::TinyLfu,
    ];

    fn hash(k: u32) -> u64 {
        u64::from(k).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// Random operations on every policy, timed and weighted, with the slab's and the
    /// policy's invariants checked after each, and the weight bound kept.
    #[test]
    fn invariants_hold_under_random_operations() {
        let policies = ALL;
        let mut rng = 0x1234_5678_u64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        for policy in policies {
            // Fewer under Miri, which runs every step a thousand times slower.
            for round in 0..if cfg!(miri) { 4 } else { 60 } {
                let timed = round % 2 == 1;
                let (ttl, tti) = if timed {
                    (5_000, 3_000)
                } else {
                    (NEVER, NEVER)
                };
                let cap = 1 + next(30);
                let (mut c, clock) = core(policy, cap, ttl, tti);
                for _ in 0..if cfg!(miri) { 100 } else { 400 } {
                    let k = next(50) as u32;
                    let mut out = Removed::new();
                    match next(12) {
                        0..=4 => {
                            c.get_hashed(hash(k), &k, &mut out);
                        }
                        5..=8 => {
                            let w = 1 + next(cap.min(4)) as u32;
                            let ttl = (next(4) == 0).then(|| Duration::from_nanos(next(8_000)));
                            c.put_hashed(hash(k), k, k, w, ttl, &mut out);
                        }
                        9 => {
                            c.remove_hashed(hash(k), &k, &mut out);
                        }
                        10 => {
                            c.retain(&mut |k, _| k % 7 != 0, &mut out);
                        }
                        _ => {
                            if timed {
                                clock.advance(Duration::from_nanos(next(2_000)));
                            }
                            c.purge(&mut out);
                        }
                    }
                    c.raw().check();
                    c.eviction.check(c.raw());
                    assert!(c.weight() <= cap, "{policy:?}: weight over the bound");
                }
            }
        }
    }

    /// S3-FIFO and W-TinyLFU keep keys in steady use through scans of more keys than they
    /// hold; LRU, on the same requests, loses them to every scan.
    #[test]
    fn scan_resistant_policies_keep_the_hot_keys() {
        let run = |policy| {
            let (mut c, _) = core(policy, 100, NEVER, NEVER);
            let mut hot_hits = 0;
            let mut out = Removed::new();
            let mut access = |c: &mut TtlCore<_, _, _, _>, k: u32| {
                let hit = c.get_hashed(hash(k), &k, &mut out).is_some();
                if !hit {
                    c.put_hashed(hash(k), k, k, 1, None, &mut out);
                }
                hit
            };
            // 20 hot keys in steady use...
            for _ in 0..3 {
                for k in 0..20 {
                    access(&mut c, k);
                }
            }
            for round in 0..200 {
                // ... still used every round, each round followed by a scan of 200 cold keys.
                for k in 0..20 {
                    if access(&mut c, k) && round >= 100 {
                        hot_hits += 1;
                    }
                }
                for j in 0..200 {
                    access(&mut c, 1_000 + round * 200 + j);
                }
            }
            hot_hits
        };
        let lru = run(EvictionPolicy::Lru);
        assert_eq!(lru, 0, "LRU is flushed by every scan");
        for policy in [EvictionPolicy::S3Fifo, EvictionPolicy::TinyLfu] {
            let hot = run(policy);
            assert!(
                hot >= 100 * 20 * 95 / 100,
                "{policy:?} kept {hot} of 2000 hot hits"
            );
        }
    }

    /// A loop over more keys than the cache holds: LRU never hits, while S3-FIFO and
    /// W-TinyLFU keep a fixed part of the loop (W-TinyLFU by refusing newcomers no more
    /// frequent than its victims).
    #[test]
    fn loops_longer_than_the_cache_still_hit() {
        let run = |policy| {
            let (mut c, _) = core(policy, 100, NEVER, NEVER);
            let mut out = Removed::new();
            let mut hits = 0;
            for pass in 0..50 {
                for k in 0..150 {
                    let hit = c.get_hashed(hash(k), &k, &mut out).is_some();
                    if !hit {
                        c.put_hashed(hash(k), k, k, 1, None, &mut out);
                    }
                    if hit && pass >= 10 {
                        hits += 1;
                    }
                }
            }
            hits as f64 / (40.0 * 150.0)
        };
        assert_eq!(run(EvictionPolicy::Lru), 0.0);
        for policy in [EvictionPolicy::S3Fifo, EvictionPolicy::TinyLfu] {
            let ratio = run(policy);
            assert!(
                ratio >= 0.35,
                "{policy:?} hit {ratio:.3} of a loop of 150 at capacity 100"
            );
        }
    }

    /// Every policy, unbounded or with a bound near `u64::MAX`, stores and reads without
    /// overflowing its shares of the bound (and an unbounded W-TinyLFU allocates no sketch).
    #[test]
    fn huge_and_missing_bounds_do_not_overflow() {
        for policy in ALL {
            for cap in [None, Some(u64::MAX - 1)] {
                let mut c: TtlCore<u32, u32, ManualClock, Meta> =
                    TtlCore::with_limits(cap, NEVER, NEVER, ManualClock::new())
                        .with_eviction(Eviction::new(policy, None, 1));
                let mut out = Removed::new();
                for k in 0..200 {
                    c.put_hashed(hash(k), k, k, u32::MAX, None, &mut out);
                    c.get_hashed(hash(k / 2), &(k / 2), &mut out);
                }
                assert_eq!(c.len(), 200, "{policy:?} {cap:?}");
                assert!(out.is_empty());
                c.raw().check();
                c.eviction.check(c.raw());
                assert!(
                    c.heap_bytes() < 1 << 20,
                    "{policy:?} {cap:?}: {}",
                    c.heap_bytes()
                );
            }
        }
    }

    /// LFU's ties: of the least used, the one that reached its count first leaves.
    #[test]
    fn lfu_breaks_ties_by_arrival_at_the_count() {
        let (mut c, _) = core(EvictionPolicy::Lfu, 3, NEVER, NEVER);
        let mut out = Removed::new();
        for k in [1, 2, 3] {
            c.put_hashed(hash(k), k, k, 1, None, &mut out);
        }
        c.get_hashed(hash(2), &2, &mut out); // 2: count 2, then 1 and 3 at count 1
        c.get_hashed(hash(1), &1, &mut out); // 1: count 2, after 2
        let put = c.put_hashed(hash(4), 4, 4, 1, None, &mut out);
        assert_eq!(put.into_pair(), None);
        let gone: Vec<u32> = out.into_iter().map(|(k, _, _)| k).collect();
        assert_eq!(gone, [3]);
        c.eviction.check(c.raw());
        let mut out = Removed::new();
        c.put_hashed(hash(5), 5, 5, 1, None, &mut out); // 4 (count 1) leaves
        c.put_hashed(hash(6), 6, 6, 1, None, &mut out); // 5 (count 1) leaves
        c.put_hashed(hash(7), 7, 7, 1, None, &mut out); // 6 leaves: 2 and 1 still at 2
        let gone: Vec<u32> = out.into_iter().map(|(k, _, _)| k).collect();
        assert_eq!(gone, [4, 5, 6]);
    }
}
