//! The fast path shared by every cache: a dense slab of entries threaded on an
//! intrusive doubly linked recency list by `u32` indices, and a `HashTable<u32>`
//! of slab indices.
//!
//! Invariants (checked by `check` in tests):
//! - `nodes` holds exactly the stored entries; `table` holds each index
//!   `0..nodes.len()` once, filed under that node's stored `hash`.
//! - Each node is on one of the `LISTS` lists (the one its extra data names: list 0, the recency
//!   list, unless an eviction policy uses more queues); a list runs from `heads[l]`
//!   (most recent) to `tails[l]` (least recent) through `next`, and back through `prev`.
//! - When the extra data `X` is timed (TTL caches), `heap` is a binary min-heap of
//!   node indices on `(deadline, set order)` holding every node that can expire once
//!   (one whose deadline is never has position `NIL`), and each node's
//!   extra data holds its deadline, set order and position there: the earliest
//!   deadline is `heap[0]` (of equal deadlines, the one set first), whatever order the
//!   entries were set in (per-entry ttls included), and a deadline changes in
//!   O(log n). The heap costs 4 bytes per entry.
//!
//! Removal is `swap_remove`: the last node moves into the hole and the places that
//! name it (its table slot, its neighbours in the list, its heap slot) are patched,
//! so the slab never has holes and never needs a free list.
//!
//! Panic safety: the hash is computed by the caller before any mutation, and the
//! table's rehash uses the stored hash, so user `Hash` never runs while the
//! structure is half updated. User `Eq` only runs inside `find`, which mutates
//! nothing. Removed keys and values are handed back to the caller, which drops
//! them after the structure is consistent again.

use crate::node::{Extra, LISTS, MAX_ENTRIES, NIL};
use hashbrown::HashTable;
use std::borrow::Borrow;

/// One stored entry.
pub(crate) struct Node<K, V, X> {
    pub(crate) key: K,
    pub(crate) value: V,
    pub(crate) hash: u64,
    prev: u32,
    next: u32,
    pub(crate) extra: X,
}

/// The slab, the recency list, the optional deadline heap and the index table.
pub(crate) struct Raw<K, V, X> {
    nodes: Vec<Node<K, V, X>>,
    table: HashTable<u32>,
    /// Each list's first (most recent) node.
    heads: [u32; LISTS],
    /// Each list's last (least recent) node.
    tails: [u32; LISTS],
    /// Node indices, a min-heap on their `(deadline, set order)` (timed `X` only).
    heap: Vec<u32>,
    /// The set order of the last entry set (wraps; it only orders equal deadlines).
    seq: u32,
}

impl<K, V, X: Extra> Raw<K, V, X> {
    /// An empty structure; allocates nothing.
    pub(crate) const fn new() -> Self {
        Self {
            nodes: Vec::new(),
            table: HashTable::new(),
            heads: [NIL; LISTS],
            tails: [NIL; LISTS],
            heap: Vec::new(),
            seq: 0,
        }
    }

    /// Number of stored entries.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Bytes of heap this structure holds (slab capacity and table).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node<K, V, X>>()
            + self.table.allocation_size()
            + self.heap.capacity() * std::mem::size_of::<u32>()
    }

    /// The node at `i` (which must be stored).
    #[inline]
    pub(crate) fn node(&self, i: u32) -> &Node<K, V, X> {
        &self.nodes[i as usize]
    }

    /// The node at `i` (which must be stored), mutably. Callers must not change its hash
    /// or key (use [`Raw::replace_at`]).
    #[inline]
    pub(crate) fn node_mut(&mut self, i: u32) -> &mut Node<K, V, X> {
        &mut self.nodes[i as usize]
    }

    /// Index of the entry with key `q` and hash `hash`.
    #[inline]
    pub(crate) fn find<Q>(&self, hash: u64, q: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        let nodes = &self.nodes;
        self.table
            .find(hash, |&i| {
                let n = &nodes[i as usize];
                n.hash == hash && n.key.borrow() == q
            })
            .copied()
    }

    /// Most recently used entry (the first of list 0).
    #[inline]
    pub(crate) fn head(&self) -> u32 {
        self.heads[0]
    }

    /// Least recently used entry (the last of list 0).
    #[inline]
    pub(crate) fn tail(&self) -> u32 {
        self.tails[0]
    }

    /// The first node of list `l`.
    #[inline]
    pub(crate) fn head_of(&self, l: usize) -> u32 {
        self.heads[l]
    }

    /// The last node of list `l`.
    #[inline]
    pub(crate) fn tail_of(&self, l: usize) -> u32 {
        self.tails[l]
    }

    /// The entry with the earliest deadline and that deadline (timed `X` only).
    #[inline]
    pub(crate) fn earliest(&self) -> Option<(u64, u32)> {
        self.heap
            .first()
            .map(|&i| (self.nodes[i as usize].extra.heap_key().0, i))
    }

    /// Next node towards the tail of the recency list.
    #[inline]
    pub(crate) fn next_of(&self, i: u32) -> u32 {
        self.nodes[i as usize].next
    }

    /// Next node towards the head of the recency list.
    #[inline]
    pub(crate) fn prev_of(&self, i: u32) -> u32 {
        self.nodes[i as usize].prev
    }

    /// Takes node `i` off its list (the one its extra data names); it stays in the slab and
    /// the table, and must be linked again before any other list operation.
    #[inline]
    pub(crate) fn unlink(&mut self, i: u32) {
        let (prev, next, l) = {
            let n = &self.nodes[i as usize];
            (n.prev, n.next, n.extra.list())
        };
        if prev == NIL {
            self.heads[l] = next;
        } else {
            self.nodes[prev as usize].next = next;
        }
        if next == NIL {
            self.tails[l] = prev;
        } else {
            self.nodes[next as usize].prev = prev;
        }
    }

    /// Links the unlinked node `i` first on the list its extra data names.
    #[inline]
    pub(crate) fn link_front(&mut self, i: u32) {
        let l = self.nodes[i as usize].extra.list();
        let old = self.heads[l];
        {
            let n = &mut self.nodes[i as usize];
            n.prev = NIL;
            n.next = old;
        }
        if old == NIL {
            self.tails[l] = i;
        } else {
            self.nodes[old as usize].prev = i;
        }
        self.heads[l] = i;
    }

    /// Links the unlinked node `i` last on the list its extra data names.
    pub(crate) fn link_back(&mut self, i: u32) {
        let l = self.nodes[i as usize].extra.list();
        let old = self.tails[l];
        {
            let n = &mut self.nodes[i as usize];
            n.prev = old;
            n.next = NIL;
        }
        if old == NIL {
            self.heads[l] = i;
        } else {
            self.nodes[old as usize].next = i;
        }
        self.tails[l] = i;
    }

    /// Links the unlinked node `i` just before (towards the head from) the linked node `at`,
    /// on `at`'s list (which must be the one `i`'s extra data names).
    pub(crate) fn link_before(&mut self, i: u32, at: u32) {
        let prev = self.nodes[at as usize].prev;
        {
            let n = &mut self.nodes[i as usize];
            n.prev = prev;
            n.next = at;
        }
        self.nodes[at as usize].prev = i;
        if prev == NIL {
            let l = self.nodes[at as usize].extra.list();
            self.heads[l] = i;
        } else {
            self.nodes[prev as usize].next = i;
        }
    }

    /// Makes `i` the most recently used entry.
    #[inline]
    pub(crate) fn touch(&mut self, i: u32) {
        if self.heads[self.nodes[i as usize].extra.list()] != i {
            self.unlink(i);
            self.link_front(i);
        }
    }

    /// Puts node `i` at heap slot `p`, then moves it towards the root or the leaves to where
    /// it belongs, recording the final positions in the nodes.
    fn heap_fix(&mut self, mut p: usize, i: u32) {
        let k = self.nodes[i as usize].extra.heap_key();
        while p > 0 {
            let parent = (p - 1) / 2;
            let pi = self.heap[parent];
            if self.nodes[pi as usize].extra.heap_key() <= k {
                break;
            }
            self.heap[p] = pi;
            self.nodes[pi as usize].extra.set_hpos(p as u32);
            p = parent;
        }
        let len = self.heap.len();
        loop {
            let l = 2 * p + 1;
            if l >= len {
                break;
            }
            let (mut c, mut ck) = (l, self.nodes[self.heap[l] as usize].extra.heap_key());
            if l + 1 < len {
                let rk = self.nodes[self.heap[l + 1] as usize].extra.heap_key();
                if rk < ck {
                    (c, ck) = (l + 1, rk);
                }
            }
            if ck >= k {
                break;
            }
            let ci = self.heap[c];
            self.heap[p] = ci;
            self.nodes[ci as usize].extra.set_hpos(p as u32);
            p = c;
        }
        self.heap[p] = i;
        self.nodes[i as usize].extra.set_hpos(p as u32);
    }

    /// Gives node `i`, just set, the next set order.
    fn stamp(&mut self, i: u32) {
        self.seq = self.seq.wrapping_add(1);
        self.nodes[i as usize].extra.set_seq(self.seq);
    }

    /// Whether node `i`'s deadline is "never" (such nodes stay out of the heap).
    #[inline]
    fn never(&self, i: u32) -> bool {
        self.nodes[i as usize].extra.heap_key().0 == u64::MAX
    }

    /// Files node `i`, just set, in the deadline heap (unless it never expires).
    fn heap_push(&mut self, i: u32) {
        if !X::TIMED {
            return;
        }
        if self.never(i) {
            self.nodes[i as usize].extra.set_hpos(NIL);
            return;
        }
        self.stamp(i);
        self.heap.push(i);
        self.heap_fix(self.heap.len() - 1, i);
    }

    /// Takes node `i` out of the deadline heap, if it is there.
    fn heap_remove(&mut self, i: u32) {
        if !X::TIMED {
            return;
        }
        let p = self.nodes[i as usize].extra.hpos();
        if p == NIL {
            return;
        }
        self.nodes[i as usize].extra.set_hpos(NIL);
        let last = self
            .heap
            .pop()
            .expect("lru-ttl: a timed node outside the heap");
        if (p as usize) < self.heap.len() {
            self.heap_fix(p as usize, last);
        }
    }

    /// Re-files node `i` after it was set again (a new deadline and set order): into the
    /// heap, out of it (a deadline of never), or to its new place there.
    pub(crate) fn deadline_changed(&mut self, i: u32) {
        if !X::TIMED {
            return;
        }
        let p = self.nodes[i as usize].extra.hpos();
        match (p == NIL, self.never(i)) {
            (true, true) => {}
            (true, false) => self.heap_push(i),
            (false, true) => self.heap_remove(i),
            (false, false) => {
                self.stamp(i);
                self.heap_fix(p as usize, i);
            }
        }
    }

    /// Stores a new entry (its key must not be stored) as the most recent one and
    /// returns its index. `limit` caps the slab's growth (the cache's capacity).
    pub(crate) fn push(&mut self, hash: u64, key: K, value: V, extra: X, limit: usize) -> u32 {
        let idx = self.nodes.len();
        assert!(idx < MAX_ENTRIES, "lru-ttl: more than 2^32 - 2 entries");
        if idx == self.nodes.capacity() {
            // Grow by doubling, but never past the cache's capacity, so that a full cache's
            // slab is exactly its capacity.
            let want = (idx * 2).max(4).min(limit.max(idx + 1));
            self.nodes.reserve_exact(want - idx);
            if X::TIMED {
                self.heap.reserve_exact(want - idx);
            }
        }
        self.make_room(limit, NIL);
        let idx = idx as u32;
        self.nodes.push(Node {
            key,
            value,
            hash,
            prev: NIL,
            next: NIL,
            extra,
        });
        let nodes = &self.nodes;
        self.table
            .insert_unique(hash, idx, |&i| nodes[i as usize].hash);
        self.link_front(idx);
        self.heap_push(idx);
        idx
    }

    /// Ensures the table can take one more index without hashbrown reallocating: when its
    /// free slots are used up by tombstones (left by removals, e.g. every eviction), it is
    /// rebuilt in place from the slab's stored hashes (O(n), no allocation, amortized over
    /// the removals that made the tombstones); only when it is really full does it grow,
    /// by doubling but never past `limit` entries (plus the headroom that keeps rebuilds
    /// rare). Without this, a full cache's table would double its buckets once tombstones
    /// run out, for nothing.
    /// `skip` names a node that is in the slab but not in the table (a slot being reused).
    #[inline]
    fn make_room(&mut self, limit: usize, skip: u32) {
        if self.table.len() < self.table.capacity() {
            return;
        }
        self.rebuild_or_grow(limit, skip);
    }

    /// The slow path of [`Raw::make_room`].
    #[cold]
    #[inline(never)]
    fn rebuild_or_grow(&mut self, limit: usize, skip: u32) {
        let len = self.table.len();
        let mask = self.table.num_buckets().saturating_sub(1);
        let full = if mask < 8 { mask } else { (mask + 1) / 8 * 7 };
        // Rebuilding costs O(len) and buys `full - len` insertions: rebuild only while that
        // is at least a quarter of `len`, so a rebuild costs at most 4 steps per insertion
        // (a capacity just under a table size's load limit would rebuild all the time).
        let headroom = (len / 4).max(8);
        let nodes = &self.nodes;
        if len + headroom <= full {
            self.table.clear();
            for (i, n) in nodes.iter().enumerate() {
                if i as u32 != skip {
                    self.table
                        .insert_unique(n.hash, i as u32, |&j| nodes[j as usize].hash);
                }
            }
            return;
        }
        let want = (len * 2).max(4).min(limit.max(len + 1)).max(len + headroom);
        self.table.reserve(want - len, |&i| nodes[i as usize].hash);
    }

    /// Reuses the slot of `i` for a new entry (whose key must not be stored): the old
    /// key and value are returned, the new entry becomes the most recent (and is filed
    /// under its own deadline). No allocation.
    #[inline]
    pub(crate) fn replace_at(&mut self, i: u32, hash: u64, key: K, value: V, extra: X) -> (K, V) {
        let old_hash = self.nodes[i as usize].hash;
        match self.table.find_entry(old_hash, |&j| j == i) {
            Ok(entry) => {
                entry.remove();
            }
            Err(_) => unreachable!("lru-ttl: stored node missing from the table"),
        }
        self.make_room(usize::MAX, i);
        let n = &mut self.nodes[i as usize];
        n.hash = hash;
        let hpos = n.extra.hpos();
        n.extra = extra;
        n.extra.set_hpos(hpos);
        let old_key = std::mem::replace(&mut n.key, key);
        let old_value = std::mem::replace(&mut n.value, value);
        let nodes = &self.nodes;
        self.table
            .insert_unique(hash, i, |&j| nodes[j as usize].hash);
        self.touch(i);
        self.deadline_changed(i);
        (old_key, old_value)
    }

    /// Removes the entry at `i` and returns it.
    pub(crate) fn remove_at(&mut self, i: u32) -> Node<K, V, X> {
        self.unlink(i);
        self.heap_remove(i);
        let hash = self.nodes[i as usize].hash;
        match self.table.find_entry(hash, |&j| j == i) {
            Ok(entry) => {
                entry.remove();
            }
            Err(_) => unreachable!("lru-ttl: stored node missing from the table"),
        }
        let last = (self.nodes.len() - 1) as u32;
        let node = self.nodes.swap_remove(i as usize);
        if i != last {
            // The former last node now lives at `i`: patch everything that names it.
            let (hash, prev, next, hpos, l) = {
                let n = &self.nodes[i as usize];
                (n.hash, n.prev, n.next, n.extra.hpos(), n.extra.list())
            };
            match self.table.find_mut(hash, |&j| j == last) {
                Some(slot) => *slot = i,
                None => unreachable!("lru-ttl: stored node missing from the table"),
            }
            if prev == NIL {
                self.heads[l] = i;
            } else {
                self.nodes[prev as usize].next = i;
            }
            if next == NIL {
                self.tails[l] = i;
            } else {
                self.nodes[next as usize].prev = i;
            }
            if X::TIMED && hpos != NIL {
                self.heap[hpos as usize] = i;
            }
        }
        node
    }

    /// Empties the structure, keeping its allocations. A panicking `Drop` of a key or
    /// value leaves it empty (the slab's length is zeroed before elements drop).
    pub(crate) fn clear(&mut self) {
        self.table.clear();
        self.heads = [NIL; LISTS];
        self.tails = [NIL; LISTS];
        self.heap.clear();
        self.nodes.clear();
    }

    /// Releases spare capacity down to `len` entries (after shrinking a cache).
    pub(crate) fn shrink_to(&mut self, len: usize) {
        self.nodes.shrink_to(len);
        self.heap.shrink_to(len);
        let nodes = &self.nodes;
        self.table.shrink_to(len, |&i| nodes[i as usize].hash);
    }

    /// Number of slab slots, as a `u32` index bound (slab order, not recency order).
    pub(crate) fn slab_len(&self) -> u32 {
        self.nodes.len() as u32
    }

    /// Checks every invariant (tests only; O(n)).
    #[cfg(test)]
    pub(crate) fn check(&self) {
        let n = self.nodes.len();
        assert_eq!(self.table.len(), n);
        let mut seen = vec![false; n];
        for &i in self.table.iter() {
            assert!(!seen[i as usize]);
            seen[i as usize] = true;
            let h = self.nodes[i as usize].hash;
            assert_eq!(self.table.find(h, |&j| j == i), Some(&i));
        }
        let mut count = 0;
        for l in 0..LISTS {
            let mut prev = NIL;
            let mut i = self.heads[l];
            while i != NIL {
                assert_eq!(self.nodes[i as usize].prev, prev);
                assert_eq!(self.nodes[i as usize].extra.list(), l);
                prev = i;
                i = self.nodes[i as usize].next;
                count += 1;
                assert!(count <= n);
            }
            assert_eq!(prev, self.tails[l]);
        }
        assert_eq!(count, n);
        if X::TIMED {
            let finite = (0..n as u32).filter(|&i| !self.never(i)).count();
            assert_eq!(self.heap.len(), finite);
            for i in 0..n as u32 {
                if self.never(i) {
                    assert_eq!(self.nodes[i as usize].extra.hpos(), NIL);
                }
            }
            let key = |i: u32| self.nodes[i as usize].extra.heap_key();
            for (p, &i) in self.heap.iter().enumerate() {
                assert_eq!(self.nodes[i as usize].extra.hpos() as usize, p);
                if p > 0 {
                    assert!(key(self.heap[(p - 1) / 2]) <= key(i), "heap order at {p}");
                }
            }
        }
    }
}
