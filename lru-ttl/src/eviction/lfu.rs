//! LFU: O(1) frequency buckets on list 0, as cachetools' `LFUCache` breaks ties.

use crate::node::{LIST_SHIFT, NIL, Timed};
use crate::raw::Raw;

/// A run of list 0 whose entries share a use count (an LFU bucket).
#[derive(Clone, Copy, Debug)]
pub(super) struct Bucket {
    pub(super) count: u64,
    /// Its first node (the last to reach this count).
    pub(super) head: u32,
    /// Its last node (the first to reach this count).
    pub(super) tail: u32,
}

/// LFU: list 0 holds the buckets in decreasing count from head to tail, each a run of
/// nodes in the order they reached its count (latest first), so the last node is the least
/// often used and, of those, the first to reach its count. Every operation is O(1).
#[derive(Default)]
pub(crate) struct Lfu {
    pub(super) buckets: Vec<Bucket>,
    /// Unused bucket slots.
    pub(super) free: Vec<u32>,
}

impl Lfu {
    pub(super) fn new_bucket(&mut self, count: u64, node: u32) -> u32 {
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
    pub(super) fn detach<K, V, X: Timed>(&mut self, raw: &Raw<K, V, X>, i: u32) {
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
    pub(super) fn insert<K, V, X: Timed>(&mut self, raw: &mut Raw<K, V, X>, i: u32) {
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
    pub(super) fn bump<K, V, X: Timed>(&mut self, raw: &mut Raw<K, V, X>, i: u32) {
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

    pub(super) fn moved<K, V, X: Timed>(&mut self, raw: &Raw<K, V, X>, i: u32, last: u32) {
        let bucket = &mut self.buckets[raw.node(i).extra.pol() as usize];
        if bucket.head == last {
            bucket.head = i;
        }
        if bucket.tail == last {
            bucket.tail = i;
        }
    }

    #[cfg(test)]
    pub(super) fn check<K, V, X: Timed>(&self, raw: &Raw<K, V, X>) {
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
