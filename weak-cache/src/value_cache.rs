//! `WeakValueCache`: keys held strongly, values held weakly (Python's `WeakValueDictionary`).
//!
//! This file holds the type and its fast paths (`get`, `insert`, `remove`) and the whole-table
//! operations. The deduplicating `get_or_insert_with` and its in-flight markers live in
//! `in_flight.rs`.

use crate::shard::{self, Entry, Shards};
use crate::sync::{Arc, Weak};
use hashbrown::DefaultHashBuilder;
use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};

/// What an entry holds: a weak reference to its value, or a marker saying that a
/// `get_or_insert_with` call is creating the value right now (see `in_flight.rs`).
pub(crate) enum Slot<V: ?Sized> {
    Live(Weak<V>),
    Pending {
        /// Identifies the creator's marker within the shard.
        token: u64,
        /// A value that an `insert` stored while the value was being created; it wins.
        superseded: Option<Weak<V>>,
    },
}

impl<V: ?Sized> Slot<V> {
    /// The value this slot makes visible, if alive.
    #[inline]
    pub(crate) fn upgrade(&self) -> Option<Arc<V>> {
        match self {
            Slot::Live(weak) => weak.upgrade(),
            Slot::Pending { superseded, .. } => superseded.as_ref().and_then(Weak::upgrade),
        }
    }
}

/// One stored key, its hash and its slot.
pub(crate) struct ValueEntry<K, V: ?Sized> {
    pub(crate) hash: u64,
    pub(crate) key: K,
    pub(crate) slot: Slot<V>,
}

impl<K, V: ?Sized> Entry for ValueEntry<K, V> {
    #[inline]
    fn hash(&self) -> u64 {
        self.hash
    }

    #[inline]
    fn is_dead(&self) -> bool {
        match &self.slot {
            Slot::Live(weak) => weak.strong_count() == 0,
            Slot::Pending { .. } => false,
        }
    }

    #[inline]
    fn is_live(&self) -> bool {
        match &self.slot {
            Slot::Live(weak) => weak.strong_count() > 0,
            Slot::Pending { superseded, .. } => {
                superseded.as_ref().is_some_and(|w| w.strong_count() > 0)
            }
        }
    }
}

/// A thread-safe map from keys to weakly held values, like Python's
/// `weakref.WeakValueDictionary`.
///
/// Storing a value does not keep it alive: [`get`](Self::get) returns `Some` only while some
/// other `Arc` to the value exists. [`get_or_insert_with`](Self::get_or_insert_with) makes it an
/// interning table: every caller asking for a key at a given time gets the same `Arc`.
///
/// All methods take `&self`; the table is split into shards by hash, each behind its own lock,
/// so threads working on different keys rarely contend. The cache is `Send` and `Sync` when
/// `K: Send`, `V: Send + Sync` and the hasher `S: Send + Sync`.
///
/// # Counting and memory
///
/// Rust gives no callback when the last `Arc` of a value is dropped, so an entry whose value
/// died stays stored (pinning the value's allocation, not the value) until it is purged. Dead
/// entries are purged when a lookup meets one, when inserting a new key would grow a shard past
/// twice the number of entries it kept at its previous purge, and by [`purge`](Self::purge).
/// Hence [`len`](Self::len) counts *stored* entries and is an upper bound on the live ones;
/// [`live_len`](Self::live_len) is the exact count. At every moment each shard stores at most
/// `2 * L + 8` entries, where `L` is the number of entries it kept at its previous purge.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use weakref_cache::WeakValueCache;
///
/// let cache: WeakValueCache<u32, String> = WeakValueCache::new();
/// let value = Arc::new("forty-two".to_owned());
/// cache.insert(42, &value);
/// assert_eq!(cache.get(&42).as_deref(), Some(&"forty-two".to_owned()));
/// drop(value); // the last strong reference
/// assert!(cache.get(&42).is_none());
/// ```
pub struct WeakValueCache<K, V: ?Sized, S = DefaultHashBuilder> {
    pub(crate) shards: Shards<ValueEntry<K, V>>,
    pub(crate) hasher: S,
}

impl<K, V: ?Sized> WeakValueCache<K, V> {
    /// An empty cache with the default hasher and shard count (four per core).
    ///
    /// ```
    /// let cache: weakref_cache::WeakValueCache<String, str> = weakref_cache::WeakValueCache::new();
    /// assert!(cache.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::with_shards_and_hasher(shard::default_shards(), DefaultHashBuilder::default())
    }

    /// An empty cache with `shards` shards (rounded up to a power of two, at least one).
    ///
    /// ```
    /// let cache: weakref_cache::WeakValueCache<u8, u8> = weakref_cache::WeakValueCache::with_shards(3);
    /// assert_eq!(cache.shard_count(), 4);
    /// ```
    pub fn with_shards(shards: usize) -> Self {
        Self::with_shards_and_hasher(shards, DefaultHashBuilder::default())
    }
}

impl<K, V: ?Sized> Default for WeakValueCache<K, V> {
    /// Same as [`WeakValueCache::new`].
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V: ?Sized, S> WeakValueCache<K, V, S> {
    /// An empty cache using `hasher`, with the default shard count.
    ///
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let cache: weakref_cache::WeakValueCache<u8, u8, RandomState> =
    ///     weakref_cache::WeakValueCache::with_hasher(RandomState::new());
    /// assert!(cache.is_empty());
    /// ```
    pub fn with_hasher(hasher: S) -> Self {
        Self::with_shards_and_hasher(shard::default_shards(), hasher)
    }

    /// An empty cache with `shards` shards (rounded up to a power of two) using `hasher`.
    ///
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let cache: weakref_cache::WeakValueCache<u8, u8, RandomState> =
    ///     weakref_cache::WeakValueCache::with_shards_and_hasher(1, RandomState::new());
    /// assert_eq!(cache.shard_count(), 1);
    /// ```
    pub fn with_shards_and_hasher(shards: usize, hasher: S) -> Self {
        Self {
            shards: Shards::new(shards),
            hasher,
        }
    }

    /// The number of shards.
    ///
    /// ```
    /// let cache: weakref_cache::WeakValueCache<u8, u8> = weakref_cache::WeakValueCache::with_shards(8);
    /// assert_eq!(cache.shard_count(), 8);
    /// ```
    pub fn shard_count(&self) -> usize {
        self.shards.count()
    }

    /// The number of *stored* entries: live ones, dead ones not purged yet, and keys whose value
    /// a [`get_or_insert_with`](Self::get_or_insert_with) is creating right now. An upper bound
    /// on [`live_len`](Self::live_len); `O(shards)`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weakref_cache::WeakValueCache::new();
    /// let v = Arc::new(1);
    /// cache.insert("a", &v);
    /// drop(v);
    /// assert_eq!(cache.len(), 1); // stored, though dead
    /// assert_eq!(cache.live_len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.shards.len()
    }

    /// Whether no entry is stored (see [`len`](Self::len)).
    ///
    /// ```
    /// let cache: weakref_cache::WeakValueCache<u8, u8> = weakref_cache::WeakValueCache::new();
    /// assert!(cache.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The exact number of entries whose value is alive at the moment each shard is visited
    /// (values being created are not counted); `O(len)`. Under concurrent use it is a snapshot
    /// per shard, not of the whole cache.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weakref_cache::WeakValueCache::new();
    /// let (a, b) = (Arc::new(1), Arc::new(2));
    /// cache.insert("a", &a);
    /// cache.insert("b", &b);
    /// drop(a);
    /// assert_eq!(cache.live_len(), 1);
    /// ```
    pub fn live_len(&self) -> usize {
        self.shards.live_len()
    }

    /// Removes every dead entry now, and returns how many were removed. Afterwards, barring
    /// concurrent changes, [`len`](Self::len) equals [`live_len`](Self::live_len) plus the
    /// values being created.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weakref_cache::WeakValueCache::new();
    /// cache.insert(1, &Arc::new("temporary"));
    /// assert_eq!(cache.purge(), 1);
    /// assert!(cache.is_empty());
    /// ```
    pub fn purge(&self) -> usize {
        self.shards.purge()
    }

    /// Keeps only the live entries for which `f(&key, &value)` returns `true`; dead entries are
    /// removed too, values being created are left alone. `f` runs while the entry's shard is
    /// locked, so it must not use this cache (that would deadlock). Removed keys are dropped
    /// after the shard is unlocked.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weakref_cache::WeakValueCache::new();
    /// let values: Vec<Arc<u32>> = (0..10).map(Arc::new).collect();
    /// for (i, v) in values.iter().enumerate() {
    ///     cache.insert(i, v);
    /// }
    /// cache.retain(|_, v| *v % 2 == 0);
    /// assert_eq!(cache.live_len(), 5);
    /// assert!(cache.get(&3).is_none());
    /// ```
    pub fn retain(&self, mut f: impl FnMut(&K, &V) -> bool) {
        self.shards.for_each(|shard| {
            let mut garbage = Vec::new();
            // Values upgraded for `f` are dropped after the unlock too: one of them may be the
            // last strong reference if its owner dropped theirs meanwhile.
            let mut upgraded = Vec::new();
            garbage.extend(shard.table.extract_if(|e| match &e.slot {
                Slot::Pending { .. } => false,
                Slot::Live(weak) => match weak.upgrade() {
                    None => true,
                    Some(value) => {
                        let keep = f(&e.key, &value);
                        upgraded.push(value);
                        !keep
                    }
                },
            }));
            (garbage, upgraded)
        });
    }
}

impl<K: Hash + Eq, V: ?Sized, S: BuildHasher> WeakValueCache<K, V, S> {
    /// The value stored under `key`, if it is still alive. Meeting a dead entry removes it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weakref_cache::WeakValueCache::new();
    /// let v = Arc::new(7);
    /// cache.insert(String::from("seven"), &v);
    /// assert!(Arc::ptr_eq(&cache.get("seven").unwrap(), &v));
    /// assert!(cache.get("eight").is_none());
    /// ```
    pub fn get<Q>(&self, key: &Q) -> Option<Arc<V>>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        let hash = self.hasher.hash_one(key);
        // Declared before the guard, so dropped after it: a removed key's `Drop` runs unlocked.
        let mut _removed = None;
        let mut shard = self.shards.lock(hash);
        let entry = shard
            .table
            .find_entry(hash, |e| e.hash == hash && e.key.borrow() == key)
            .ok()?;
        let value = entry.get().slot.upgrade();
        if value.is_none() && entry.get().is_dead() {
            // Dead, and decided under the same lock hold that found it, so this cannot be a
            // newer value stored meanwhile.
            _removed = Some(entry.remove().0);
        }
        value
    }

    /// Whether a live value is stored under `key`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weakref_cache::WeakValueCache::new();
    /// let v = Arc::new(());
    /// cache.insert(1, &v);
    /// assert!(cache.contains_key(&1));
    /// drop(v);
    /// assert!(!cache.contains_key(&1));
    /// ```
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.get(key).is_some()
    }

    /// Stores a weak reference to `value` under `key` and returns the previous value if it was
    /// still alive. The cache does not keep `value` alive. If the key is already stored, the
    /// stored key object is kept and `key` is dropped (as a Python `dict` keeps its first key).
    /// Inserting while a [`get_or_insert_with`](Self::get_or_insert_with) is creating the key's
    /// value wins: the inserted value is visible at once, and that call returns it (if still
    /// alive when the closure returns) instead of its own.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weakref_cache::WeakValueCache::new();
    /// let (a, b) = (Arc::new('a'), Arc::new('b'));
    /// assert!(cache.insert(1, &a).is_none());
    /// let old = cache.insert(1, &b).unwrap();
    /// assert!(Arc::ptr_eq(&old, &a));
    /// assert!(Arc::ptr_eq(&cache.get(&1).unwrap(), &b));
    /// ```
    pub fn insert(&self, key: K, value: &Arc<V>) -> Option<Arc<V>> {
        let hash = self.hasher.hash_one(&key);
        let weak = Arc::downgrade(value);
        let mut garbage = Vec::new();
        let mut spare_key = None;
        let mut shard = self.shards.lock(hash);
        let previous = match shard
            .table
            .find_mut(hash, |e| e.hash == hash && e.key == key)
        {
            Some(entry) => {
                spare_key = Some(key);
                match &mut entry.slot {
                    Slot::Live(old) => std::mem::replace(old, weak).upgrade(),
                    Slot::Pending { superseded, .. } => {
                        superseded.replace(weak).and_then(|old| old.upgrade())
                    }
                }
            }
            None => {
                shard.grow_check(&mut garbage);
                shard.insert_new(ValueEntry {
                    hash,
                    key,
                    slot: Slot::Live(weak),
                });
                None
            }
        };
        drop(shard);
        // User `Drop`s run unlocked, and while `previous` is a local: if one panics, unwinding
        // drops `previous` too (a value already in the return slot would leak).
        drop(spare_key);
        drop(garbage);
        previous
    }

    /// Removes `key` and returns its value if it was alive. A key whose value a
    /// [`get_or_insert_with`](Self::get_or_insert_with) is creating right now stays (there is
    /// no value to remove yet; a value `insert`ed meanwhile is removed and returned).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weakref_cache::WeakValueCache::new();
    /// let v = Arc::new(1.5);
    /// cache.insert("x", &v);
    /// assert!(Arc::ptr_eq(&cache.remove("x").unwrap(), &v));
    /// assert!(cache.get("x").is_none());
    /// assert!(cache.remove("x").is_none());
    /// ```
    pub fn remove<Q>(&self, key: &Q) -> Option<Arc<V>>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        let hash = self.hasher.hash_one(key);
        let removed;
        let mut shard = self.shards.lock(hash);
        let mut entry = shard
            .table
            .find_entry(hash, |e| e.hash == hash && e.key.borrow() == key)
            .ok()?;
        if let Slot::Pending { superseded, .. } = &mut entry.get_mut().slot {
            let superseded = superseded.take();
            drop(shard);
            return superseded.and_then(|w| w.upgrade());
        }
        removed = entry.remove().0;
        drop(shard);
        let value = removed.slot.upgrade();
        // The key's `Drop` may panic: `value` is a local then, so unwinding drops it.
        drop(removed);
        value
    }

    /// A snapshot of the live entries: each shard is visited once, under its lock, and its
    /// live entries are copied out. Entries added or removed afterwards are not reflected; an
    /// entry in the snapshot keeps its value alive while the snapshot exists.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weakref_cache::WeakValueCache::new();
    /// let values: Vec<Arc<u8>> = (0..3).map(Arc::new).collect();
    /// for v in &values {
    ///     cache.insert(**v, v);
    /// }
    /// let mut keys: Vec<u8> = cache.snapshot().into_iter().map(|(k, _)| k).collect();
    /// keys.sort();
    /// assert_eq!(keys, [0, 1, 2]);
    /// ```
    pub fn snapshot(&self) -> Vec<(K, Arc<V>)>
    where
        K: Clone,
    {
        let mut out = Vec::new();
        self.shards.for_each(|shard| {
            for e in shard.table.iter() {
                if let Some(value) = e.slot.upgrade() {
                    out.push((e.key.clone(), value));
                }
            }
        });
        out
    }
}

impl<K, V: ?Sized, S> fmt::Debug for WeakValueCache<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakValueCache")
            .field("len", &self.len())
            .field("shards", &self.shard_count())
            .finish_non_exhaustive()
    }
}
