//! `LruCache`: the bounded, strict LRU cache (single-threaded), over an `LruCore`.

use crate::cores::ShardCore;
use crate::cores::lru::LruCore;
use crate::node::{MAX_ENTRIES, NIL};
use crate::raw::Raw;
use crate::stats::CacheInfo;
use hashbrown::DefaultHashBuilder;
use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};

/// A bounded cache that evicts the least recently used entry: Python's
/// `functools.lru_cache` storage and `cachetools.LRUCache`, as a map.
///
/// Every operation is O(1) and, once the cache has filled, allocates nothing: entries live
/// in one slab (`Vec`) linked by `u32` indices, found through a `hashbrown::HashTable` of
/// indices (its memory per entry: [`design`](crate::design)).
///
/// `get` and `get_or_insert_with` count hits and misses for [`cache_info`](Self::cache_info)
/// and make the entry the most recently used; `peek` and `contains_key` do neither.
///
/// ```
/// use lru_ttl::LruCache;
///
/// let mut cache = LruCache::new(2);
/// cache.insert("a", 1);
/// cache.insert("b", 2);
/// cache.get(&"a");                       // "a" is now the most recently used
/// let evicted = cache.insert("c", 3);   // so "b" goes
/// assert_eq!(evicted, Some(("b", 2)));
/// assert_eq!(cache.iter().collect::<Vec<_>>(), [(&"c", &3), (&"a", &1)]);
/// ```
///
/// It is `Send` only when its keys and values are:
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// send(lru_ttl::LruCache::<std::rc::Rc<u8>, u8>::new(1));
/// ```
pub struct LruCache<K, V, S = DefaultHashBuilder> {
    core: LruCore<K, V>,
    hasher: S,
    /// With capacity 0, `get_or_insert_with` lends its result from here.
    scratch: Option<V>,
}

impl<K: Hash + Eq, V> LruCache<K, V> {
    /// A cache holding at most `capacity` entries (0 stores nothing, like
    /// `lru_cache(maxsize=0)`). Allocates nothing until the first insertion, and never
    /// grows its storage past `capacity` entries.
    ///
    /// # Panics
    ///
    /// If `capacity` is over 2^32 - 2 entries.
    ///
    /// ```
    /// let mut cache = lru_ttl::LruCache::new(0);
    /// assert_eq!(cache.insert(1, 1), Some((1, 1)));  // rejected
    /// assert!(cache.is_empty());
    /// ```
    pub fn new(capacity: usize) -> Self {
        Self::with_hasher(capacity, DefaultHashBuilder::default())
    }

    /// A cache without a bound (`lru_cache(maxsize=None)`); it still keeps recency order.
    ///
    /// ```
    /// let mut cache = lru_ttl::LruCache::unbounded();
    /// for i in 0..1000 {
    ///     cache.insert(i, i);
    /// }
    /// assert_eq!(cache.len(), 1000);
    /// assert_eq!(cache.capacity(), None);
    /// ```
    pub fn unbounded() -> Self {
        Self::unbounded_with_hasher(DefaultHashBuilder::default())
    }
}

impl<K: Hash + Eq, V, S: BuildHasher> LruCache<K, V, S> {
    /// A cache of at most `capacity` entries that hashes keys with `hasher`.
    ///
    /// # Panics
    ///
    /// If `capacity` is over 2^32 - 2 entries.
    ///
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let mut cache = lru_ttl::LruCache::with_hasher(8, RandomState::new());
    /// cache.insert(1, "x");
    /// assert_eq!(cache.peek(&1), Some(&"x"));
    /// ```
    pub fn with_hasher(capacity: usize, hasher: S) -> Self {
        assert!(
            capacity <= MAX_ENTRIES,
            "lru-ttl: capacity over 2^32 - 2 entries"
        );
        Self {
            core: LruCore::new(Some(capacity)),
            hasher,
            scratch: None,
        }
    }

    /// An unbounded cache that hashes keys with `hasher`.
    ///
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let mut cache = lru_ttl::LruCache::unbounded_with_hasher(RandomState::new());
    /// cache.insert(1, "x");
    /// assert_eq!(cache.len(), 1);
    /// ```
    pub fn unbounded_with_hasher(hasher: S) -> Self {
        Self {
            core: LruCore::new(None),
            hasher,
            scratch: None,
        }
    }

    /// The value of `key`, made the most recently used entry; counts a hit or a miss.
    ///
    /// ```
    /// let mut cache = lru_ttl::LruCache::new(2);
    /// cache.insert(1, "one");
    /// assert_eq!(cache.get(&1), Some(&"one"));
    /// assert_eq!(cache.get(&2), None);
    /// ```
    #[inline]
    pub fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        let hash = self.hasher.hash_one(key);
        let i = self.core.get_index(hash, key)?;
        Some(&self.core.raw.node(i).value)
    }

    /// Like [`get`](Self::get), but the value is mutable.
    ///
    /// ```
    /// let mut cache = lru_ttl::LruCache::new(2);
    /// cache.insert(1, 10);
    /// *cache.get_mut(&1).unwrap() += 1;
    /// assert_eq!(cache.peek(&1), Some(&11));
    /// ```
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        let hash = self.hasher.hash_one(key);
        let i = self.core.get_index(hash, key)?;
        Some(&mut self.core.raw.node_mut(i).value)
    }

    /// The value of `key`, without changing recency or statistics.
    ///
    /// ```
    /// let mut cache = lru_ttl::LruCache::new(2);
    /// cache.insert(1, "one");
    /// cache.insert(2, "two");
    /// assert_eq!(cache.peek(&1), Some(&"one"));
    /// cache.insert(3, "three");           // 1 was still the least recently used
    /// assert!(!cache.contains_key(&1));
    /// ```
    pub fn peek<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        let hash = self.hasher.hash_one(key);
        self.core.peek_hashed(hash, key)
    }

    /// Whether `key` is stored (no promotion, not counted).
    ///
    /// ```
    /// let mut cache = lru_ttl::LruCache::new(2);
    /// cache.insert("k", ());
    /// assert!(cache.contains_key("k"));
    /// assert!(!cache.contains_key("j"));
    /// ```
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.peek(key).is_some()
    }

    /// Stores `value` under `key` as the most recently used entry. Returns what it
    /// displaced: `(key, old value)` if `key` was stored (the stored key is kept), the
    /// evicted least recently used entry if the cache was full, or the given pair itself
    /// if the capacity is 0.
    ///
    /// # Panics
    ///
    /// If an unbounded cache would hold more than 2^32 - 2 entries.
    ///
    /// ```
    /// let mut cache = lru_ttl::LruCache::new(1);
    /// assert_eq!(cache.insert(1, "a"), None);
    /// assert_eq!(cache.insert(1, "b"), Some((1, "a")));  // replaced
    /// assert_eq!(cache.insert(2, "c"), Some((1, "b")));  // evicted
    /// ```
    #[inline]
    pub fn insert(&mut self, key: K, value: V) -> Option<(K, V)> {
        let hash = self.hasher.hash_one(&key);
        self.core.put(hash, key, value).into_pair()
    }

    /// The value of `key`, computing it with `f` and storing it on a miss (evicting the
    /// least recently used entry if full). The key may be borrowed (a `&str` for `String`
    /// keys): it is made owned only on a miss. Counts a hit or a miss. If `f` panics the
    /// cache is unchanged. With capacity 0 the computed value is not stored: it is lent from
    /// a scratch slot that the next call (or `clear`) replaces.
    ///
    /// # Panics
    ///
    /// If `f` panics (the cache is unchanged), or an unbounded cache would hold more than
    /// 2^32 - 2 entries.
    ///
    /// ```
    /// let mut cache = lru_ttl::LruCache::new(10);
    /// assert_eq!(*cache.get_or_insert_with(&3, || 9), 9);
    /// assert_eq!(*cache.get_or_insert_with(&3, || unreachable!()), 9);
    /// assert_eq!((cache.cache_info().hits, cache.cache_info().misses), (1, 1));
    /// let mut names: lru_ttl::LruCache<String, usize> = lru_ttl::LruCache::new(10);
    /// assert_eq!(*names.get_or_insert_with("ann", || 3), 3); // &str for a String key
    /// ```
    pub fn get_or_insert_with<Q, F>(&mut self, key: &Q, f: F) -> &V
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq + ToOwned<Owned = K>,
        F: FnOnce() -> V,
    {
        let hash = self.hasher.hash_one(key);
        if let Some(i) = self.core.get_index(hash, key) {
            return &self.core.raw.node(i).value;
        }
        let value = f();
        match self.core.put_absent(hash, key.to_owned(), value) {
            (Some(i), _evicted) => &self.core.raw.node(i).value,
            (None, put) => {
                let (_key, value) = put.into_pair().expect("a rejected pair");
                self.scratch.insert(value)
            }
        }
    }

    /// Removes `key`'s entry and returns its value.
    ///
    /// ```
    /// let mut cache = lru_ttl::LruCache::new(2);
    /// cache.insert(1, "one");
    /// assert_eq!(cache.remove(&1), Some("one"));
    /// assert_eq!(cache.remove(&1), None);
    /// ```
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        self.remove_entry(key).map(|(_, v)| v)
    }

    /// Removes `key`'s entry and returns the stored key and value.
    ///
    /// ```
    /// let mut cache = lru_ttl::LruCache::new(2);
    /// cache.insert(String::from("k"), 1);
    /// assert_eq!(cache.remove_entry("k"), Some((String::from("k"), 1)));
    /// ```
    pub fn remove_entry<Q>(&mut self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        let hash = self.hasher.hash_one(key);
        self.core.remove(hash, key)
    }

    /// Changes the bound (`None`: unbounded), evicting least recently used entries down to
    /// it and releasing the spare memory.
    ///
    /// # Panics
    ///
    /// If `capacity` is over 2^32 - 2 entries.
    ///
    /// ```
    /// let mut cache = lru_ttl::LruCache::new(3);
    /// for i in 0..3 {
    ///     cache.insert(i, i);
    /// }
    /// cache.resize(Some(1));
    /// assert_eq!(cache.iter().collect::<Vec<_>>(), [(&2, &2)]);
    /// assert_eq!(cache.capacity(), Some(1));
    /// ```
    pub fn resize(&mut self, capacity: Option<usize>) {
        if let Some(c) = capacity {
            assert!(c <= MAX_ENTRIES, "lru-ttl: capacity over 2^32 - 2 entries");
        }
        drop(self.core.set_capacity(capacity));
    }
}

impl<K, V, S> LruCache<K, V, S> {
    /// Entries stored.
    ///
    /// ```
    /// let mut cache = lru_ttl::LruCache::new(5);
    /// cache.insert(1, 1);
    /// assert_eq!(cache.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.core.raw.len()
    }

    /// Whether nothing is stored.
    ///
    /// ```
    /// let cache: lru_ttl::LruCache<u8, u8> = lru_ttl::LruCache::new(5);
    /// assert!(cache.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bound on the number of entries; `None` when unbounded.
    ///
    /// ```
    /// let cache: lru_ttl::LruCache<u8, u8> = lru_ttl::LruCache::new(5);
    /// assert_eq!(cache.capacity(), Some(5));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.core.capacity()
    }

    /// Removes every entry and resets the statistics (Python's `cache_clear()`). Keeps
    /// the allocated storage.
    ///
    /// ```
    /// let mut cache = lru_ttl::LruCache::new(5);
    /// cache.insert(1, 1);
    /// cache.get(&1);
    /// cache.clear();
    /// assert!(cache.is_empty());
    /// assert_eq!(cache.cache_info().hits, 0);
    /// ```
    pub fn clear(&mut self) {
        self.scratch = None;
        self.core.reset();
    }

    /// Hits, misses, bound and size (Python's `cache_info()`).
    ///
    /// ```
    /// let mut cache = lru_ttl::LruCache::new(5);
    /// cache.get_or_insert_with(&1, || 1);
    /// let info = cache.cache_info();
    /// assert_eq!((info.hits, info.misses, info.maxsize, info.currsize), (0, 1, Some(5), 1));
    /// ```
    pub fn cache_info(&self) -> CacheInfo {
        self.core.info()
    }

    /// Removes and returns the least recently used entry.
    ///
    /// ```
    /// let mut cache = lru_ttl::LruCache::new(5);
    /// cache.insert(1, 'a');
    /// cache.insert(2, 'b');
    /// assert_eq!(cache.pop_lru(), Some((1, 'a')));
    /// ```
    pub fn pop_lru(&mut self) -> Option<(K, V)> {
        self.core.pop_lru()
    }

    /// The least recently used entry (the next to be evicted), without promoting it.
    ///
    /// ```
    /// let mut cache = lru_ttl::LruCache::new(5);
    /// cache.insert(1, 'a');
    /// cache.insert(2, 'b');
    /// assert_eq!(cache.peek_lru(), Some((&1, &'a')));
    /// ```
    pub fn peek_lru(&self) -> Option<(&K, &V)> {
        let t = self.core.raw.tail();
        (t != NIL).then(|| {
            let n = self.core.raw.node(t);
            (&n.key, &n.value)
        })
    }

    /// The entries from most to least recently used (reversible with `.rev()`), without
    /// promoting any.
    ///
    /// ```
    /// let mut cache = lru_ttl::LruCache::new(5);
    /// cache.insert(1, 'a');
    /// cache.insert(2, 'b');
    /// let keys: Vec<_> = cache.iter().map(|(k, _)| *k).collect();
    /// assert_eq!(keys, [2, 1]);
    /// assert_eq!(cache.iter().rev().next(), Some((&1, &'a')));
    /// ```
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter {
            raw: &self.core.raw,
            front: self.core.raw.head(),
            back: self.core.raw.tail(),
            left: self.core.raw.len(),
        }
    }

    /// Bytes of heap memory the cache holds (its slab and index table).
    ///
    /// ```
    /// let mut cache = lru_ttl::LruCache::new(1000);
    /// for i in 0..1000u64 {
    ///     cache.insert(i, i);
    /// }
    /// assert!(cache.heap_size() / 1000 <= 48);
    /// ```
    pub fn heap_size(&self) -> usize {
        self.core.raw.heap_bytes()
    }
}

impl<K: Hash + Eq, V> Default for LruCache<K, V> {
    /// An unbounded cache.
    ///
    /// ```
    /// let cache: lru_ttl::LruCache<u8, u8> = Default::default();
    /// assert_eq!(cache.capacity(), None);
    /// ```
    fn default() -> Self {
        Self::unbounded()
    }
}

impl<K: fmt::Debug, V: fmt::Debug, S> fmt::Debug for LruCache<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a, K, V, S> IntoIterator for &'a LruCache<K, V, S> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

/// The entries of an [`LruCache`] from most to least recently used; see
/// [`LruCache::iter`].
///
/// ```
/// let mut cache = lru_ttl::LruCache::new(2);
/// cache.insert(1, 1);
/// let it: lru_ttl::LruIter<'_, i32, i32> = cache.iter();
/// assert_eq!(it.len(), 1);
/// ```
pub struct Iter<'a, K, V> {
    raw: &'a Raw<K, V, ()>,
    front: u32,
    back: u32,
    left: usize,
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let n = self.raw.node(self.front);
        self.front = self.raw.next_of(self.front);
        Some((&n.key, &n.value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<K, V> DoubleEndedIterator for Iter<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let n = self.raw.node(self.back);
        self.back = self.raw.prev_of(self.back);
        Some((&n.key, &n.value))
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}

impl<K, V> std::iter::FusedIterator for Iter<'_, K, V> {}

impl<K, V> Clone for Iter<'_, K, V> {
    fn clone(&self) -> Self {
        Self { ..*self }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Iter<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_invariants_hold_through_mixed_operations() {
        let mut c: LruCache<u32, u32> = LruCache::new(8);
        for i in 0..200u32 {
            match i % 5 {
                0 | 1 => {
                    c.insert(i % 13, i);
                }
                2 => {
                    c.get(&(i % 11));
                }
                3 => {
                    c.remove(&(i % 7));
                }
                _ => {
                    c.get_or_insert_with(&(i % 17), || i);
                }
            }
            c.core.raw().check();
            assert!(c.len() <= 8);
        }
        c.resize(Some(3));
        c.core.raw().check();
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn evictions_rebuild_the_table_in_place_instead_of_growing_it() {
        let mut c: LruCache<u64, u64> = LruCache::new(1000);
        let n: u64 = if cfg!(miri) { 3_000 } else { 300_000 };
        for k in 0..n / 3 {
            c.insert(k.wrapping_mul(0x9E37_79B9_7F4A_7C15), k);
        }
        let bytes = c.heap_size();
        for k in n / 3..n {
            c.insert(k.wrapping_mul(0x9E37_79B9_7F4A_7C15), k);
            if k % 7919 == 0 {
                c.core.raw().check();
            }
        }
        c.core.raw().check();
        assert_eq!(c.heap_size(), bytes);
        assert_eq!(c.len(), 1000);
        let last = (n - 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        assert_eq!(c.peek(&last), Some(&(n - 1)));
    }

    #[test]
    fn capacity_zero_lends_from_scratch() {
        let mut c: LruCache<u8, String> = LruCache::new(0);
        assert_eq!(c.get_or_insert_with(&1, || "x".into()), "x");
        assert_eq!(c.len(), 0);
        assert_eq!(c.cache_info().misses, 1);
    }
}
