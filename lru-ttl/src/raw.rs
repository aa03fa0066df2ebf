//! The fast path shared by every cache: a dense slab of entries threaded on an
//! intrusive doubly linked recency list by `u32` indices, and a `HashTable<u32>`
//! of slab indices.
//!
//! Invariants (checked by `check` in tests):
//! - `nodes` holds exactly the stored entries; `table` holds each index
//!   `0..nodes.len()` once, filed under that node's stored `hash`.
//! - The recency list runs `head` (most recent) to `tail` (least recent) through
//!   `next`, and back through `prev`; it holds every node once.
//! - When the extra data `X` is linked (TTL caches), a second list runs `xhead`
//!   to `xtail` through the extra links and also holds every node once, in the
//!   order the entries were last set.
//!
//! Removal is `swap_remove`: the last node moves into the hole and the three
//! places that name it (its table slot, its neighbours in each list) are patched,
//! so the slab never has holes and never needs a free list.
//!
//! Panic safety: the hash is computed by the caller before any mutation, and the
//! table's rehash uses the stored hash, so user `Hash` never runs while the
//! structure is half updated. User `Eq` only runs inside `find`, which mutates
//! nothing. Removed keys and values are handed back to the caller, which drops
//! them after the structure is consistent again.

use hashbrown::HashTable;
use std::borrow::Borrow;

/// "No node": the end of a list.
pub(crate) const NIL: u32 = u32::MAX;
/// The most entries one slab can hold (indices are `u32`, `NIL` is reserved).
pub(crate) const MAX_ENTRIES: usize = (u32::MAX - 1) as usize;

/// Per-node data beyond key and value; optionally a second list's links.
pub(crate) trait Extra {
    /// Whether nodes carry a second (expiry-order) list.
    const LINKED: bool;
    /// Previous node on the second list.
    fn xprev(&self) -> u32;
    /// Next node on the second list.
    fn xnext(&self) -> u32;
    /// Sets the previous node on the second list.
    fn set_xprev(&mut self, i: u32);
    /// Sets the next node on the second list.
    fn set_xnext(&mut self, i: u32);
}

impl Extra for () {
    const LINKED: bool = false;
    fn xprev(&self) -> u32 {
        NIL
    }
    fn xnext(&self) -> u32 {
        NIL
    }
    fn set_xprev(&mut self, _: u32) {}
    fn set_xnext(&mut self, _: u32) {}
}

/// One stored entry.
pub(crate) struct Node<K, V, X> {
    pub(crate) key: K,
    pub(crate) value: V,
    pub(crate) hash: u64,
    prev: u32,
    next: u32,
    pub(crate) extra: X,
}

/// The slab, the recency list, the optional second list and the index table.
pub(crate) struct Raw<K, V, X> {
    nodes: Vec<Node<K, V, X>>,
    table: HashTable<u32>,
    head: u32,
    tail: u32,
    xhead: u32,
    xtail: u32,
}

impl<K, V, X: Extra> Raw<K, V, X> {
    /// An empty structure; allocates nothing.
    pub(crate) const fn new() -> Self {
        Self {
            nodes: Vec::new(),
            table: HashTable::new(),
            head: NIL,
            tail: NIL,
            xhead: NIL,
            xtail: NIL,
        }
    }

    /// Number of stored entries.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Bytes of heap this structure holds (slab capacity and table).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node<K, V, X>>() + self.table.allocation_size()
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

    /// Most recently used entry.
    #[inline]
    pub(crate) fn head(&self) -> u32 {
        self.head
    }

    /// Least recently used entry.
    #[inline]
    pub(crate) fn tail(&self) -> u32 {
        self.tail
    }

    /// First entry on the second list (the one set longest ago).
    #[inline]
    pub(crate) fn xhead(&self) -> u32 {
        self.xhead
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

    #[inline]
    fn unlink(&mut self, i: u32) {
        let (prev, next) = {
            let n = &self.nodes[i as usize];
            (n.prev, n.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.nodes[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.nodes[next as usize].prev = prev;
        }
    }

    #[inline]
    fn link_front(&mut self, i: u32) {
        let old = self.head;
        {
            let n = &mut self.nodes[i as usize];
            n.prev = NIL;
            n.next = old;
        }
        if old == NIL {
            self.tail = i;
        } else {
            self.nodes[old as usize].prev = i;
        }
        self.head = i;
    }

    /// Makes `i` the most recently used entry.
    #[inline]
    pub(crate) fn touch(&mut self, i: u32) {
        if self.head != i {
            self.unlink(i);
            self.link_front(i);
        }
    }

    fn x_unlink(&mut self, i: u32) {
        if !X::LINKED {
            return;
        }
        let (prev, next) = {
            let x = &self.nodes[i as usize].extra;
            (x.xprev(), x.xnext())
        };
        if prev == NIL {
            self.xhead = next;
        } else {
            self.nodes[prev as usize].extra.set_xnext(next);
        }
        if next == NIL {
            self.xtail = prev;
        } else {
            self.nodes[next as usize].extra.set_xprev(prev);
        }
    }

    fn x_push_back(&mut self, i: u32) {
        if !X::LINKED {
            return;
        }
        let old = self.xtail;
        {
            let x = &mut self.nodes[i as usize].extra;
            x.set_xprev(old);
            x.set_xnext(NIL);
        }
        if old == NIL {
            self.xhead = i;
        } else {
            self.nodes[old as usize].extra.set_xnext(i);
        }
        self.xtail = i;
    }

    /// Moves `i` to the back of the second list (it was just set).
    pub(crate) fn x_to_back(&mut self, i: u32) {
        if X::LINKED && self.xtail != i {
            self.x_unlink(i);
            self.x_push_back(i);
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
        self.x_push_back(idx);
        idx
    }

    /// Ensures the table can take one more index without hashbrown reallocating: when its
    /// free slots are used up by tombstones (left by removals, e.g. every eviction), it is
    /// rebuilt in place from the slab's stored hashes (O(n), no allocation, amortized over
    /// the removals that made the tombstones); only when it is really full does it grow,
    /// by doubling but never past `limit` entries. Without this, a full cache's table would
    /// double its buckets once tombstones run out, for nothing.
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
        let nodes = &self.nodes;
        if len < full {
            self.table.clear();
            for (i, n) in nodes.iter().enumerate() {
                if i as u32 != skip {
                    self.table
                        .insert_unique(n.hash, i as u32, |&j| nodes[j as usize].hash);
                }
            }
            return;
        }
        let want = (len * 2).max(4).min(limit.max(len + 1));
        self.table.reserve(want - len, |&i| nodes[i as usize].hash);
    }

    /// Reuses the slot of `i` for a new entry (whose key must not be stored): the old
    /// key and value are returned, the new entry becomes the most recent (and the last
    /// on the second list). No allocation.
    #[inline]
    pub(crate) fn replace_at(&mut self, i: u32, hash: u64, key: K, value: V, extra: X) -> (K, V) {
        let old_hash = self.nodes[i as usize].hash;
        match self.table.find_entry(old_hash, |&j| j == i) {
            Ok(entry) => {
                entry.remove();
            }
            Err(_) => unreachable!("lru-ttl: stored node missing from the table"),
        }
        self.x_unlink(i);
        self.make_room(usize::MAX, i);
        let n = &mut self.nodes[i as usize];
        n.hash = hash;
        n.extra = extra;
        let old_key = std::mem::replace(&mut n.key, key);
        let old_value = std::mem::replace(&mut n.value, value);
        let nodes = &self.nodes;
        self.table
            .insert_unique(hash, i, |&j| nodes[j as usize].hash);
        self.touch(i);
        self.x_push_back(i);
        (old_key, old_value)
    }

    /// Removes the entry at `i` and returns it.
    pub(crate) fn remove_at(&mut self, i: u32) -> Node<K, V, X> {
        self.unlink(i);
        self.x_unlink(i);
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
            let (hash, prev, next, xprev, xnext) = {
                let n = &self.nodes[i as usize];
                (n.hash, n.prev, n.next, n.extra.xprev(), n.extra.xnext())
            };
            match self.table.find_mut(hash, |&j| j == last) {
                Some(slot) => *slot = i,
                None => unreachable!("lru-ttl: stored node missing from the table"),
            }
            if prev == NIL {
                self.head = i;
            } else {
                self.nodes[prev as usize].next = i;
            }
            if next == NIL {
                self.tail = i;
            } else {
                self.nodes[next as usize].prev = i;
            }
            if X::LINKED {
                if xprev == NIL {
                    self.xhead = i;
                } else {
                    self.nodes[xprev as usize].extra.set_xnext(i);
                }
                if xnext == NIL {
                    self.xtail = i;
                } else {
                    self.nodes[xnext as usize].extra.set_xprev(i);
                }
            }
        }
        node
    }

    /// Empties the structure, keeping its allocations. A panicking `Drop` of a key or
    /// value leaves it empty (the slab's length is zeroed before elements drop).
    pub(crate) fn clear(&mut self) {
        self.table.clear();
        self.head = NIL;
        self.tail = NIL;
        self.xhead = NIL;
        self.xtail = NIL;
        self.nodes.clear();
    }

    /// Releases spare capacity down to `len` entries (after shrinking a cache).
    pub(crate) fn shrink_to(&mut self, len: usize) {
        self.nodes.shrink_to(len);
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
        let mut prev = NIL;
        let mut i = self.head;
        while i != NIL {
            assert_eq!(self.nodes[i as usize].prev, prev);
            prev = i;
            i = self.nodes[i as usize].next;
            count += 1;
            assert!(count <= n);
        }
        assert_eq!(prev, self.tail);
        assert_eq!(count, n);
        if X::LINKED {
            let mut count = 0;
            let mut prev = NIL;
            let mut i = self.xhead;
            while i != NIL {
                assert_eq!(self.nodes[i as usize].extra.xprev(), prev);
                prev = i;
                i = self.nodes[i as usize].extra.xnext();
                count += 1;
                assert!(count <= n);
            }
            assert_eq!(prev, self.xtail);
            assert_eq!(count, n);
        }
    }
}
