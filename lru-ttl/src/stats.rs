//! `cache_info()`: the statistics every cache keeps, as Python's `functools.lru_cache`.

/// Hits, misses, bound and size of a cache, as Python's `cache_info()` reports them.
///
/// A *hit* is a lookup (`get`, `get_or_insert_with`) that found a live entry; a *miss* one
/// that did not. `peek` and `contains_key` are not counted. `clear()` resets both counts.
///
/// ```
/// use lru_ttl::{CacheInfo, LruCache};
///
/// let mut cache = LruCache::new(2);
/// cache.insert(1, "one");
/// assert!(cache.get(&1).is_some());
/// assert!(cache.get(&2).is_none());
/// assert_eq!(
///     cache.cache_info(),
///     CacheInfo { hits: 1, misses: 1, maxsize: Some(2), currsize: 1 }
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CacheInfo {
    /// Lookups that found a live entry.
    pub hits: u64,
    /// Lookups that did not.
    pub misses: u64,
    /// The bound on the number of entries; `None` when unbounded.
    pub maxsize: Option<usize>,
    /// Entries stored now.
    pub currsize: usize,
}

impl CacheInfo {
    /// Hits as a fraction of all counted lookups (`0.0` before any lookup).
    ///
    /// ```
    /// let info = lru_ttl::CacheInfo { hits: 3, misses: 1, maxsize: None, currsize: 1 };
    /// assert_eq!(info.hit_ratio(), 0.75);
    /// ```
    pub fn hit_ratio(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }
}

impl std::fmt::Display for CacheInfo {
    /// Python's format: `CacheInfo(hits=1, misses=2, maxsize=128, currsize=2)`.
    ///
    /// ```
    /// let info = lru_ttl::CacheInfo { hits: 1, misses: 2, maxsize: None, currsize: 2 };
    /// assert_eq!(info.to_string(), "CacheInfo(hits=1, misses=2, maxsize=None, currsize=2)");
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CacheInfo(hits={}, misses={}, maxsize=",
            self.hits, self.misses
        )?;
        match self.maxsize {
            Some(m) => write!(f, "{m}")?,
            None => f.write_str("None")?,
        }
        write!(f, ", currsize={})", self.currsize)
    }
}
