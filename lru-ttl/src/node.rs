//! Every node type of the caches, with its bit layout and constants, in one place (as
//! mimalloc's `types.h`): what a slab node carries beyond key and value ([`Extra`]), the
//! timed nodes ([`Expiry`] for `TtlCache`, [`Meta`] for `Cache`), and how an eviction
//! policy's state packs into [`Meta`]'s `pol` word (its list from [`LIST_SHIFT`] up, the
//! policy's own bits below). The slab (`raw.rs`), the cores (`cores/`) and the
//! policies (`eviction/`) all build on this file; it depends on none of them.

/// "No node": the end of a list.
pub(crate) const NIL: u32 = u32::MAX;
/// The most entries one slab can hold (indices are `u32`, `NIL` is reserved).
pub(crate) const MAX_ENTRIES: usize = (u32::MAX - 1) as usize;

/// Per-node data beyond key and value; optionally a deadline kept in the deadline heap.
pub(crate) trait Extra {
    /// Whether nodes carry a deadline (and a position in the deadline heap).
    const TIMED: bool;
    /// The node's heap key: its deadline and set order (unused unless `TIMED`).
    fn heap_key(&self) -> (u64, u32);
    /// Sets the node's set order.
    fn set_seq(&mut self, seq: u32);
    /// The node's position in the deadline heap.
    fn hpos(&self) -> u32;
    /// Sets the node's position in the deadline heap.
    fn set_hpos(&mut self, p: u32);
    /// Which of the [`LISTS`] lists the node is on (always 0 unless an eviction policy uses
    /// two queues).
    #[inline]
    fn list(&self) -> usize {
        0
    }
}

/// How many lists a slab's nodes can be threaded on: list 0 (the recency list, or an
/// eviction policy's first queue) and lists 1 and 2 (a policy's other queues).
pub(crate) const LISTS: usize = 3;

impl Extra for () {
    const TIMED: bool = false;
    fn heap_key(&self) -> (u64, u32) {
        (u64::MAX, 0)
    }
    fn set_seq(&mut self, _: u32) {}
    fn hpos(&self) -> u32 {
        NIL
    }
    fn set_hpos(&mut self, _: u32) {}
}

/// The bits of node state from this one up name the node's list (`Extra::list`); the
/// policies keep their own state below it.
pub(crate) const LIST_SHIFT: u32 = 30;

/// "Never", as a deadline or a time to idle.
pub(crate) const NEVER: u64 = u64::MAX;

/// What a timed node keeps beyond the deadline heap's bookkeeping. [`Expiry`] keeps only
/// the deadline (`TtlCache`); [`Meta`] also the last access, for a time to idle, and a
/// weight (the configurable `Cache`). The core asks through these consts and methods, so an
/// unused feature costs neither memory nor time.
pub(crate) trait Timed: Extra + Copy {
    /// Whether the last access is kept (a time to idle can apply).
    const IDLE: bool;
    /// Whether a weight is kept (else every entry weighs 1).
    const WEIGHTED: bool;
    /// A node set at `now`, expiring at `deadline`, of `weight`.
    fn new(deadline: u64, now: u64, weight: u32) -> Self;
    /// Sets the node again at `now` (keeping its place in the heap, for the caller to
    /// re-file).
    fn reset(&mut self, deadline: u64, now: u64, weight: u32);
    /// When the node expires by its time to live.
    fn deadline(&self) -> u64;
    /// When the node was last read or set.
    fn accessed(&self) -> u64;
    /// Records a read at `now`.
    fn set_accessed(&mut self, now: u64);
    /// The node's weight.
    fn weight(&self) -> u32;
    /// The eviction policy's state of the node (`eviction/`); 0 where only LRU is used.
    fn pol(&self) -> u32;
    /// Sets the eviction policy's state of the node.
    fn set_pol(&mut self, p: u32);
}

/// A `TtlCache` node's deadline, set order and place in the deadline heap.
#[derive(Clone, Copy)]
pub(crate) struct Expiry {
    deadline: u64,
    seq: u32,
    hpos: u32,
}

/// The deadline heap's bookkeeping of a timed node type with `deadline`, `seq` and `hpos`
/// fields.
macro_rules! timed_extra {
    ($node:ty $(, $x:ident => $list:expr)?) => {
        impl Extra for $node {
            const TIMED: bool = true;
            fn heap_key(&self) -> (u64, u32) {
                (self.deadline, self.seq)
            }
            fn set_seq(&mut self, seq: u32) {
                self.seq = seq;
            }
            fn hpos(&self) -> u32 {
                self.hpos
            }
            fn set_hpos(&mut self, p: u32) {
                self.hpos = p;
            }
            $(
                #[inline]
                fn list(&self) -> usize {
                    let $x = self;
                    $list
                }
            )?
        }
    };
}

timed_extra!(Expiry);

impl Timed for Expiry {
    const IDLE: bool = false;
    const WEIGHTED: bool = false;
    fn new(deadline: u64, _now: u64, _weight: u32) -> Self {
        Self {
            deadline,
            seq: 0,
            hpos: NIL,
        }
    }
    fn reset(&mut self, deadline: u64, _now: u64, _weight: u32) {
        self.deadline = deadline;
    }
    fn deadline(&self) -> u64 {
        self.deadline
    }
    fn accessed(&self) -> u64 {
        0
    }
    fn set_accessed(&mut self, _now: u64) {}
    fn weight(&self) -> u32 {
        1
    }
    fn pol(&self) -> u32 {
        0
    }
    fn set_pol(&mut self, _: u32) {}
}

/// A `Cache` node's deadline, last access, weight, set order, place in the heap and
/// eviction policy state (whose bits from `LIST_SHIFT` up name its list).
#[derive(Clone, Copy)]
pub(crate) struct Meta {
    deadline: u64,
    accessed: u64,
    weight: u32,
    seq: u32,
    hpos: u32,
    pol: u32,
}

timed_extra!(Meta, m => (m.pol >> LIST_SHIFT) as usize);

impl Timed for Meta {
    const IDLE: bool = true;
    const WEIGHTED: bool = true;
    fn new(deadline: u64, now: u64, weight: u32) -> Self {
        Self {
            deadline,
            accessed: now,
            weight,
            seq: 0,
            hpos: NIL,
            pol: 0,
        }
    }
    fn reset(&mut self, deadline: u64, now: u64, weight: u32) {
        self.deadline = deadline;
        self.accessed = now;
        self.weight = weight;
    }
    fn deadline(&self) -> u64 {
        self.deadline
    }
    fn accessed(&self) -> u64 {
        self.accessed
    }
    fn set_accessed(&mut self, now: u64) {
        self.accessed = now;
    }
    fn weight(&self) -> u32 {
        self.weight
    }
    fn pol(&self) -> u32 {
        self.pol
    }
    fn set_pol(&mut self, p: u32) {
        self.pol = p;
    }
}
