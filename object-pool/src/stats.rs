//! Counters of a pool's life, read with [`Pool::stats`](crate::Pool::stats).

/// A snapshot of a pool's counters.
///
/// Every object a pool hands out was either `created` or `reused`; every object that came
/// back (a guard dropped, or [`put`](crate::Pool::put)) was either kept (`returned`), dropped
/// because the pool was full (`dropped_full`), or refused by its reset (`dropped_refused`).
/// Under concurrent use the counters are read one by one, so a snapshot may be slightly
/// inconsistent; once all threads are quiet it is exact.
///
/// ```
/// use recycle_pool::Pool;
///
/// let pool: Pool<Vec<u8>> = Pool::new(1, Vec::new);
/// let a = pool.get();
/// let b = pool.get();
/// drop(a); // kept
/// drop(b); // over max_retained: dropped
/// drop(pool.get()); // reused, and kept again
/// let s = pool.stats();
/// assert_eq!((s.created, s.reused, s.returned, s.dropped_full, s.idle), (2, 1, 2, 1, 1));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Stats {
    /// Objects made by the pool's `create` function.
    pub created: u64,
    /// Gets served with an idle object.
    pub reused: u64,
    /// Objects that came back and were kept idle.
    pub returned: u64,
    /// Objects that came back to a full pool (or one with `max_retained == 0`) and were dropped.
    pub dropped_full: u64,
    /// Objects that came back and were refused by their reset (or whose reset panicked).
    pub dropped_refused: u64,
    /// Idle objects dropped by [`trim`](crate::Pool::trim), [`clear`](crate::Pool::clear),
    /// or after a `clear` on another thread.
    pub dropped_trimmed: u64,
    /// Idle objects in the pool now.
    pub idle: usize,
}
