//! `WeakKeyCache`: keys held weakly, values strongly (Python's `WeakKeyDictionary`).
//!
//! An entry stores the key's hash, a `Weak<K>` and the value. A look-up by `&Q` compares stored
//! hashes first and upgrades only the keys whose hash matches, to run `Eq` on them; the
//! upgraded `Arc`s are dropped after the shard is unlocked (one may be the last strong
//! reference if its owner dropped theirs meanwhile, and `K::drop` must not run locked).

use crate::shard::{self, Entry, Shards};
use crate::sync::{Arc, Weak};
use hashbrown::DefaultHashBuilder;
use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};

/// One stored key (weakly), its hash and its value.
pub(crate) struct KeyEntry<K: ?Sized, V> {
    hash: u64,
    key: Weak<K>,
    value: V,
}

impl<K: ?Sized, V> Entry for KeyEntry<K, V> {
    #[inline]
    fn hash(&self) -> u64 {
        self.hash
    }

    #[inline]
    fn is_dead(&self) -> bool {
        self.key.strong_count() == 0
    }

    #[inline]
    fn is_live(&self) -> bool {
        !self.is_dead()
    }
}

/// A thread-safe map whose keys are held weakly, like Python's `weakref.WeakKeyDictionary`.
///
/// Keys are `Arc<K>` and looked up by `&K` (or any `&Q` that `K` borrows as). An entry goes
/// away when its key object dies; its value is dropped when the dead entry is purged (on an
/// insertion that would grow the shard past twice its size at the previous purge, or by
/// [`purge`](Self::purge)), not at the moment the key dies, because Rust gives no callback
/// then. [`len`](Self::len) counts stored entries; [`live_len`](Self::live_len) the live ones.
/// The memory bound of [`WeakValueCache`](crate::WeakValueCache) holds here too.
///
/// `Send` and `Sync` when `K: Send + Sync`, `V: Send` and `S: Send + Sync`.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use weakref_cache::WeakKeyCache;
///
/// let metadata: WeakKeyCache<String, u32> = WeakKeyCache::new();
/// let object = Arc::new("object".to_owned());
/// metadata.insert(&object, 7);
/// assert_eq!(metadata.get("object"), Some(7));
/// drop(object);
/// assert_eq!(metadata.get("object"), None);
/// assert_eq!(metadata.purge(), 1); // the value 7 is dropped here
/// ```
pub struct WeakKeyCache<K: ?Sized, V, S = DefaultHashBuilder> {
    shards: Shards<KeyEntry<K, V>>,
    hasher: S,
}

impl<K: ?Sized, V> WeakKeyCache<K, V> {
    /// An empty cache with the default hasher and shard count.
    ///
    /// ```
    /// let cache: weakref_cache::WeakKeyCache<str, u8> = weakref_cache::WeakKeyCache::new();
    /// assert!(cache.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::with_shards_and_hasher(shard::default_shards(), DefaultHashBuilder::default())
    }

    /// An empty cache with `shards` shards (rounded up to a power of two, at least one).
    ///
    /// ```
    /// let cache: weakref_cache::WeakKeyCache<u8, u8> = weakref_cache::WeakKeyCache::with_shards(2);
    /// assert_eq!(cache.shard_count(), 2);
    /// ```
    pub fn with_shards(shards: usize) -> Self {
        Self::with_shards_and_hasher(shards, DefaultHashBuilder::default())
    }
}

impl<K: ?Sized, V> Default for WeakKeyCache<K, V> {
    /// Same as [`WeakKeyCache::new`].
    fn default() -> Self {
        Self::new()
    }
}

impl<K: ?Sized, V, S> WeakKeyCache<K, V, S> {
    /// An empty cache with `shards` shards (rounded up to a power of two) using `hasher`.
    ///
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let cache: weakref_cache::WeakKeyCache<u8, u8, RandomState> =
    ///     weakref_cache::WeakKeyCache::with_shards_and_hasher(4, RandomState::new());
    /// assert_eq!(cache.shard_count(), 4);
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
    /// let cache: weakref_cache::WeakKeyCache<u8, u8> = weakref_cache::WeakKeyCache::with_shards(1);
    /// assert_eq!(cache.shard_count(), 1);
    /// ```
    pub fn shard_count(&self) -> usize {
        self.shards.count()
    }

    /// The number of *stored* entries, live or dead-but-not-purged; an upper bound on
    /// [`live_len`](Self::live_len). `O(shards)`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weakref_cache::WeakKeyCache::new();
    /// let k = Arc::new(1);
    /// cache.insert(&k, "one");
    /// drop(k);
    /// assert_eq!((cache.len(), cache.live_len()), (1, 0));
    /// ```
    pub fn len(&self) -> usize {
        self.shards.len()
    }

    /// Whether no entry is stored.
    ///
    /// ```
    /// let cache: weakref_cache::WeakKeyCache<u8, u8> = weakref_cache::WeakKeyCache::new();
    /// assert!(cache.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The exact number of entries whose key is alive, counted shard by shard; `O(len)`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weakref_cache::WeakKeyCache::new();
    /// let k = Arc::new(1);
    /// cache.insert(&k, ());
    /// assert_eq!(cache.live_len(), 1);
    /// ```
    pub fn live_len(&self) -> usize {
        self.shards.live_len()
    }

    /// Removes (and drops the values of) every entry whose key is dead; returns how many.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weakref_cache::WeakKeyCache::new();
    /// cache.insert(&Arc::new(5), "gone");
    /// assert_eq!(cache.purge(), 1);
    /// assert!(cache.is_empty());
    /// ```
    pub fn purge(&self) -> usize {
        self.shards.purge()
    }

    /// Keeps only the entries with a live key for which `f(&key, &mut value)` returns `true`.
    /// `f` runs while the entry's shard is locked, so it must not use this cache; removed
    /// entries are dropped after the shard is unlocked.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weakref_cache::WeakKeyCache::new();
    /// let keys: Vec<Arc<u32>> = (0..4).map(Arc::new).collect();
    /// for k in &keys {
    ///     cache.insert(k, **k * 10);
    /// }
    /// cache.retain(|k, v| {
    ///     *v += 1;
    ///     *k < 2
    /// });
    /// assert_eq!(cache.get(&1), Some(11));
    /// assert_eq!(cache.get(&3), None);
    /// ```
    pub fn retain(&self, mut f: impl FnMut(&K, &mut V) -> bool) {
        self.shards.for_each(|shard| {
            let mut upgraded = Vec::new();
            let garbage: Vec<_> = shard
                .table
                .extract_if(|e| match e.key.upgrade() {
                    None => true,
                    Some(key) => {
                        let keep = f(&key, &mut e.value);
                        upgraded.push(key);
                        !keep
                    }
                })
                .collect();
            (garbage, upgraded)
        });
    }

    /// A snapshot of the entries with a live key, copied out shard by shard.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weakref_cache::WeakKeyCache::new();
    /// let k = Arc::new("key");
    /// cache.insert(&k, 1);
    /// let snap = cache.snapshot();
    /// assert_eq!(snap.len(), 1);
    /// assert!(Arc::ptr_eq(&snap[0].0, &k));
    /// ```
    pub fn snapshot(&self) -> Vec<(Arc<K>, V)>
    where
        V: Clone,
    {
        let mut out = Vec::new();
        self.shards.for_each(|shard| {
            for e in shard.table.iter() {
                if let Some(key) = e.key.upgrade() {
                    out.push((key, e.value.clone()));
                }
            }
        });
        out
    }
}

impl<K: ?Sized + Hash + Eq, V, S: BuildHasher> WeakKeyCache<K, V, S> {
    /// Associates `value` with the object `key`, held weakly, and returns the previous value of
    /// an equal live key. If an equal live key is stored, that key object is kept (as a Python
    /// `dict` keeps its first key) and only the value is replaced.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weakref_cache::WeakKeyCache::new();
    /// let k = Arc::new('k');
    /// assert_eq!(cache.insert(&k, 1), None);
    /// assert_eq!(cache.insert(&k, 2), Some(1));
    /// assert_eq!(cache.get(&'k'), Some(2));
    /// ```
    pub fn insert(&self, key: &Arc<K>, value: V) -> Option<V> {
        let hash = self.hasher.hash_one(&**key);
        let mut garbage = Vec::new();
        let mut upgraded = None;
        let mut shard = self.shards.lock(hash);
        let previous = match shard
            .table
            .find_mut(hash, |e| matches_key(e, hash, &**key, &mut upgraded))
        {
            Some(entry) => Some(std::mem::replace(&mut entry.value, value)),
            None => {
                shard.grow_check(&mut garbage);
                shard.insert_new(KeyEntry {
                    hash,
                    key: Arc::downgrade(key),
                    value,
                });
                None
            }
        };
        drop(shard);
        // User `Drop`s run unlocked, while `previous` is a local (dropped if one unwinds).
        drop(upgraded);
        drop(garbage);
        previous
    }

    /// A clone of the value of the live key equal to `key`, or else `value()` stored under
    /// the object `key` (held weakly) and a clone of it returned. `value` runs with the
    /// shard locked: it must not use this cache. If it panics nothing is stored.
    ///
    /// # Panics
    ///
    /// If `value` panics (nothing is stored).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sizes: weakref_cache::WeakKeyCache<String, usize> = weakref_cache::WeakKeyCache::new();
    /// let doc = Arc::new(String::from("hello"));
    /// assert_eq!(sizes.get_or_insert_with(&doc, || doc.len()), 5);
    /// assert_eq!(sizes.get_or_insert_with(&doc, || unreachable!()), 5);
    /// ```
    pub fn get_or_insert_with(&self, key: &Arc<K>, value: impl FnOnce() -> V) -> V
    where
        V: Clone,
    {
        match self.try_get_or_insert_with(key, || Ok::<V, std::convert::Infallible>(value())) {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// Like [`get_or_insert_with`](Self::get_or_insert_with), with a `value` that can fail:
    /// an `Err` is returned and nothing is stored.
    ///
    /// # Panics
    ///
    /// If `value` panics (nothing is stored).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let parsed: weakref_cache::WeakKeyCache<String, u8> = weakref_cache::WeakKeyCache::new();
    /// let text = Arc::new(String::from("x"));
    /// assert!(parsed.try_get_or_insert_with(&text, || text.parse::<u8>()).is_err());
    /// assert!(!parsed.contains_key("x"));
    /// ```
    pub fn try_get_or_insert_with<E>(
        &self,
        key: &Arc<K>,
        value: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E>
    where
        V: Clone,
    {
        let hash = self.hasher.hash_one(&**key);
        let mut garbage = Vec::new();
        let mut upgraded = None;
        let mut shard = self.shards.lock(hash);
        let found = shard
            .table
            .find(hash, |e| matches_key(e, hash, &**key, &mut upgraded))
            .map(|e| e.value.clone());
        let value = match found {
            Some(v) => Ok(v),
            None => value().inspect(|v| {
                shard.grow_check(&mut garbage);
                shard.insert_new(KeyEntry {
                    hash,
                    key: Arc::downgrade(key),
                    value: v.clone(),
                });
            }),
        };
        drop(shard);
        // User `Drop`s run unlocked, while `value` is a local.
        drop(upgraded);
        drop(garbage);
        value
    }

    /// A clone of the value of the live key equal to `key`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weakref_cache::WeakKeyCache::new();
    /// let k = Arc::new(String::from("a"));
    /// cache.insert(&k, vec![1]);
    /// assert_eq!(cache.get("a"), Some(vec![1]));
    /// ```
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
        V: Clone,
    {
        let hash = self.hasher.hash_one(key);
        let mut upgraded = None;
        let shard = self.shards.lock(hash);
        let value = shard
            .table
            .find(hash, |e| matches_key(e, hash, key, &mut upgraded))
            .map(|e| e.value.clone());
        drop(shard);
        // If this was the key's last strong reference, `K::drop` runs here, unlocked, while
        // `value` is a local (dropped if it unwinds).
        drop(upgraded);
        value
    }

    /// The stored key object equal to `key`, if it is alive.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weakref_cache::WeakKeyCache::new();
    /// let k = Arc::new(3);
    /// cache.insert(&k, ());
    /// assert!(Arc::ptr_eq(&cache.get_key(&3).unwrap(), &k));
    /// ```
    pub fn get_key<Q>(&self, key: &Q) -> Option<Arc<K>>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        let hash = self.hasher.hash_one(key);
        let mut upgraded = None;
        let found = {
            let shard = self.shards.lock(hash);
            shard
                .table
                .find(hash, |e| matches_key(e, hash, key, &mut upgraded))
                .is_some()
        };
        if found {
            upgraded
        } else {
            drop(upgraded);
            None
        }
    }

    /// Whether a live key equal to `key` is stored.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weakref_cache::WeakKeyCache::new();
    /// let k = Arc::new(3);
    /// cache.insert(&k, ());
    /// assert!(cache.contains_key(&3));
    /// drop(k);
    /// assert!(!cache.contains_key(&3));
    /// ```
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.get_key(key).is_some()
    }

    /// Removes the live key equal to `key` and returns its value.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weakref_cache::WeakKeyCache::new();
    /// let k = Arc::new(3);
    /// cache.insert(&k, "three");
    /// assert_eq!(cache.remove(&3), Some("three"));
    /// assert_eq!(cache.remove(&3), None);
    /// ```
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        let hash = self.hasher.hash_one(key);
        let mut upgraded = None;
        let removed = {
            let mut shard = self.shards.lock(hash);
            shard
                .table
                .find_entry(hash, |e| matches_key(e, hash, key, &mut upgraded))
                .ok()
                .map(|entry| entry.remove().0)
        };
        drop(upgraded);
        let KeyEntry {
            key: dead, value, ..
        } = removed?;
        // Dropping a `Weak` runs no user code, but keep the order safe anyway: `value` is a
        // local while anything else drops.
        drop(dead);
        Some(value)
    }

    /// The live key equal to `key`, or else `make()` stored with `value()`. Used by
    /// [`WeakSet`](crate::WeakSet) and [`Interner`](crate::Interner). `make` and `value` run
    /// while the shard is locked (they must not use this cache); if either panics nothing is
    /// stored.
    pub(crate) fn get_or_insert_key(
        &self,
        key: &K,
        make: impl FnOnce() -> Arc<K>,
        value: impl FnOnce() -> V,
    ) -> (Arc<K>, bool) {
        let hash = self.hasher.hash_one(key);
        let mut garbage = Vec::new();
        let mut upgraded = None;
        let mut shard = self.shards.lock(hash);
        if shard
            .table
            .find(hash, |e| matches_key(e, hash, key, &mut upgraded))
            .is_some()
        {
            drop(shard);
            return (upgraded.expect("a match upgraded its key"), false);
        }
        shard.grow_check(&mut garbage);
        let made = make();
        let value = value();
        shard.insert_new(KeyEntry {
            hash,
            key: Arc::downgrade(&made),
            value,
        });
        drop(shard);
        // `made` is a local while the purged entries (and their values) drop.
        drop(upgraded);
        drop(garbage);
        (made, true)
    }
}

/// Whether `entry` holds a live key equal to `key`. The upgraded key is parked in `upgraded`
/// (replacing an earlier candidate) so that it is dropped after the caller unlocks.
#[inline]
fn matches_key<K: ?Sized + Borrow<Q>, Q: ?Sized + Eq, V>(
    entry: &KeyEntry<K, V>,
    hash: u64,
    key: &Q,
    upgraded: &mut Option<Arc<K>>,
) -> bool {
    if entry.hash != hash {
        return false;
    }
    match entry.key.upgrade() {
        Some(stored) => {
            let equal = (*stored).borrow() == key;
            *upgraded = Some(stored);
            equal
        }
        None => false,
    }
}

impl<K: ?Sized, V, S> fmt::Debug for WeakKeyCache<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakKeyCache")
            .field("len", &self.len())
            .field("shards", &self.shard_count())
            .finish_non_exhaustive()
    }
}
