//! Injectable time for TTL caches: [`Clock`], the real [`InstantClock`] and the
//! [`ManualClock`] that tests advance by hand.

use crate::sync::{Arc, AtomicU64, Ordering};
use std::fmt;
use std::time::{Duration, Instant};

/// A monotonic source of time for TTL caches: the time elapsed since the clock's own
/// origin. It must never go backwards; clones must share the origin.
///
/// ```
/// use lru_ttl::{Clock, ManualClock};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(clock.now(), Duration::from_secs(2));
/// ```
pub trait Clock {
    /// Time elapsed since this clock's origin.
    ///
    /// ```
    /// use lru_ttl::{Clock, InstantClock};
    /// let clock = InstantClock::new();
    /// assert!(clock.now() < std::time::Duration::from_secs(3600));
    /// ```
    fn now(&self) -> Duration;
}

/// The default clock: `std::time::Instant`, measured from the moment the clock was made.
///
/// ```
/// use lru_ttl::{Clock, InstantClock};
/// let clock = InstantClock::new();
/// let a = clock.now();
/// assert!(clock.now() >= a);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct InstantClock {
    origin: Instant,
}

impl InstantClock {
    /// A clock whose origin is now.
    ///
    /// ```
    /// let clock = lru_ttl::InstantClock::new();
    /// # let _ = clock;
    /// ```
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for InstantClock {
    /// Same as [`InstantClock::new`].
    ///
    /// ```
    /// let clock = lru_ttl::InstantClock::default();
    /// # let _ = clock;
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for InstantClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to; clones share one time. For tests of TTL logic.
///
/// ```
/// use lru_ttl::{ManualClock, TtlCache};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let mut cache = TtlCache::with_clock(None, Duration::from_secs(10), clock.clone());
/// cache.insert("k", 1);
/// clock.advance(Duration::from_secs(9));
/// assert_eq!(cache.get("k"), Some(&1));
/// clock.advance(Duration::from_secs(1));     // exactly ttl: expired
/// assert_eq!(cache.get("k"), None);
/// ```
#[derive(Clone)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock at time zero.
    ///
    /// ```
    /// use lru_ttl::Clock;
    /// assert_eq!(lru_ttl::ManualClock::new().now(), std::time::Duration::ZERO);
    /// ```
    pub fn new() -> Self {
        Self {
            nanos: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Moves the clock (and all its clones) forward by `by`.
    ///
    /// ```
    /// use lru_ttl::Clock;
    /// let clock = lru_ttl::ManualClock::new();
    /// clock.advance(std::time::Duration::from_millis(5));
    /// assert_eq!(clock.now().as_millis(), 5);
    /// ```
    pub fn advance(&self, by: Duration) {
        self.nanos.fetch_add(nanos(by), Ordering::SeqCst);
    }

    /// Sets the clock to `to`, which must not be earlier than its current time.
    ///
    /// ```
    /// use lru_ttl::Clock;
    /// let clock = lru_ttl::ManualClock::new();
    /// clock.set(std::time::Duration::from_secs(3));
    /// assert_eq!(clock.now().as_secs(), 3);
    /// ```
    pub fn set(&self, to: Duration) {
        let prev = self.nanos.swap(nanos(to), Ordering::SeqCst);
        assert!(prev <= nanos(to), "lru-ttl: ManualClock moved backwards");
    }
}

impl Default for ManualClock {
    /// Same as [`ManualClock::new`].
    ///
    /// ```
    /// let clock = lru_ttl::ManualClock::default();
    /// # let _ = clock;
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now", &self.now())
            .finish()
    }
}

/// A duration in nanoseconds, saturating at `u64::MAX` (584 years).
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
