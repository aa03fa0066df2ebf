//! The sharded table under every container, and its purge policy.
//!
//! A [`Shards`] is a power-of-two number of [`Shard`]s, each a `hashbrown::HashTable` behind its
//! own mutex on its own cache line. An entry's shard is chosen by bits 32.. of its stored hash
//! (the table itself probes with the low bits and tags with the top seven), so two keys in
//! different shards never touch the same lock.
//!
//! Every entry stores its full hash ([`Entry::hash`]); a resize, a purge or a shrink reads it
//! back instead of hashing the key again, so none of them runs the user's `Hash`.
//!
//! Purge policy (the memory bound): a shard remembers `purge_at = max(2 * L, MIN_PURGE_AT)`,
//! where `L` is the number of entries it kept at its previous purge (all of them alive or in
//! flight at that moment). An insertion of a new key into a shard holding `purge_at` entries or
//! more first removes the dead entries ([`Shard::grow_check`]). So a shard never holds more than
//! `2 * L + MIN_PURGE_AT` entries, and the work of a purge, `O(len)`, is paid for by the
//! `len / 2` insertions since the previous one.

use crate::sync::{Condvar, Mutex, MutexGuard};
use hashbrown::HashTable;

/// The smallest purge threshold of a shard: below this many entries a shard never purges on its
/// own (only [`Shard::purge_into`] via an explicit `purge()`, or meeting a dead entry).
pub(crate) const MIN_PURGE_AT: usize = 8;

/// What the sharded table needs to know about an entry.
pub(crate) trait Entry {
    /// The key's hash, computed once when the entry was made.
    fn hash(&self) -> u64;
    /// Whether the entry's weak reference is dead (its object has no strong reference left).
    /// An entry whose value is still being created is not dead.
    fn is_dead(&self) -> bool;
    /// Whether the entry holds a live object (what `live_len` counts).
    fn is_live(&self) -> bool;
}

/// One shard: a hash table, its purge threshold, and the bookkeeping of the in-flight markers
/// of `WeakValueCache::get_or_insert_with` (see `in_flight.rs`).
#[derive(Debug)]
pub(crate) struct Shard<E> {
    pub(crate) table: HashTable<E>,
    purge_at: usize,
    /// Callers sleeping on this shard's condition variable for a value being created.
    pub(crate) waiters: usize,
    /// The next in-flight marker's token (unique within the shard).
    next_token: u64,
}

impl<E: Entry> Shard<E> {
    fn new() -> Self {
        Self {
            table: HashTable::new(),
            purge_at: MIN_PURGE_AT,
            waiters: 0,
            next_token: 0,
        }
    }

    /// A token for a new in-flight marker, distinct from every other in this shard.
    pub(crate) fn new_token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    /// Call before inserting a new key: purges the dead entries into `garbage` if the shard has
    /// reached its threshold. The caller drops `garbage` after unlocking the shard, so no user
    /// `Drop` runs under the lock.
    pub(crate) fn grow_check(&mut self, garbage: &mut Vec<E>) {
        if self.table.len() >= self.purge_at {
            self.purge_into(garbage);
        }
    }

    /// Moves every dead entry into `garbage`, resets the threshold and gives back surplus
    /// capacity (rehashing from the stored hashes).
    pub(crate) fn purge_into(&mut self, garbage: &mut Vec<E>) {
        garbage.extend(self.table.extract_if(|e| e.is_dead()));
        self.purge_at = (2 * self.table.len()).max(MIN_PURGE_AT);
        if self.table.capacity() > 4 * self.purge_at {
            self.table.shrink_to(self.purge_at, E::hash);
        }
    }

    /// Inserts an entry whose key is known to be absent.
    pub(crate) fn insert_new(&mut self, entry: E) {
        self.table.insert_unique(entry.hash(), entry, E::hash);
    }

    /// The purge threshold (for the white-box memory-bound tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn purge_at(&self) -> usize {
        self.purge_at
    }
}

/// A shard's lock and condition variable, padded to their own cache line pair, so
/// neighbouring locks do not false-share.
#[repr(align(128))]
#[derive(Debug)]
struct Padded<E> {
    lock: Mutex<Shard<E>>,
    /// Signalled when an in-flight value of this shard is published or abandoned.
    wake: Condvar,
    /// The same, for tasks (`get_or_insert_with_async`).
    #[cfg(feature = "async")]
    event: event_listener::Event,
}

/// The shards of one container.
#[derive(Debug)]
pub(crate) struct Shards<E> {
    shards: Box<[Padded<E>]>,
    mask: usize,
}

impl<E: Entry> Shards<E> {
    /// `count` shards, rounded up to a power of two (at least one).
    pub(crate) fn new(count: usize) -> Self {
        let count = count.max(1).next_power_of_two();
        Self {
            shards: (0..count)
                .map(|_| Padded {
                    lock: Mutex::new(Shard::new()),
                    wake: Condvar::new(),
                    #[cfg(feature = "async")]
                    event: event_listener::Event::new(),
                })
                .collect(),
            mask: count - 1,
        }
    }

    /// Locks the shard that owns `hash`.
    #[inline]
    pub(crate) fn lock(&self, hash: u64) -> MutexGuard<'_, Shard<E>> {
        self.shard(hash).lock.lock()
    }

    #[inline]
    fn shard(&self, hash: u64) -> &Padded<E> {
        &self.shards[(hash >> 32) as usize & self.mask]
    }

    /// Sleeps on the condition variable of `hash`'s shard, whose lock `guard` holds (released
    /// while asleep, held again on return). Counts the caller in `waiters` meanwhile.
    pub(crate) fn wait<'a>(
        &'a self,
        hash: u64,
        mut guard: MutexGuard<'a, Shard<E>>,
    ) -> MutexGuard<'a, Shard<E>> {
        guard.waiters += 1;
        let mut guard = self.shard(hash).wake.wait(guard);
        guard.waiters -= 1;
        guard
    }

    /// Wakes the callers sleeping on `hash`'s shard, if any, threads and tasks; `shard` is its
    /// locked state.
    pub(crate) fn wake(&self, hash: u64, shard: &Shard<E>) {
        if shard.waiters > 0 {
            self.shard(hash).wake.notify_all();
        }
        #[cfg(feature = "async")]
        self.shard(hash).event.notify(usize::MAX);
    }

    /// A listener for the next [`wake`](Self::wake) of `hash`'s shard. Made while the caller
    /// holds that shard's lock (so a wake after the caller unlocks is not missed), awaited
    /// after it unlocks.
    #[cfg(feature = "async")]
    pub(crate) fn listen(&self, hash: u64) -> event_listener::EventListener {
        self.shard(hash).event.listen()
    }

    /// Locks each shard in turn (one at a time) and calls `f` on it; what `f` returns is
    /// dropped after that shard is unlocked (removed entries, upgraded `Arc`s), so no user
    /// `Drop` runs under the lock.
    pub(crate) fn for_each<G>(&self, mut f: impl FnMut(&mut Shard<E>) -> G) {
        for shard in self.shards.iter() {
            let deferred = f(&mut shard.lock.lock());
            drop(deferred);
        }
    }

    /// Stored entries, summed shard by shard.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock.lock().table.len()).sum()
    }

    /// Entries holding a live object, summed shard by shard.
    pub(crate) fn live_len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock.lock().table.iter().filter(|e| e.is_live()).count())
            .sum()
    }

    /// Removes every dead entry now; the removed entries are dropped after each shard is
    /// unlocked. Returns how many were removed.
    pub(crate) fn purge(&self) -> usize {
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut garbage = Vec::new();
            shard.lock.lock().purge_into(&mut garbage);
            removed += garbage.len();
        }
        removed
    }

    /// Number of shards.
    pub(crate) fn count(&self) -> usize {
        self.shards.len()
    }
}

/// The default shard count, the rule every crate of this workspace uses: four per available
/// core, rounded up to a power of two, between 4 and 256.
pub(crate) fn default_shards() -> usize {
    let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
    (cores * 4).next_power_of_two().clamp(4, 256)
}
