//! Memoization of functions: the `@lru_cache(maxsize=128)` and `@TimedCache(seconds=10)`
//! of Python, as the [`Memoize`] type and the [`lru_cache!`](crate::lru_cache) macro.

use crate::cache::Cache;
use crate::eviction::EvictionPolicy;
use crate::stats::CacheInfo;
use std::fmt;
use std::hash::Hash;
use std::time::Duration;

/// A thread-safe memo table for a function: arguments (as a key) to results. Backed by a
/// one-shard [`Cache`]: an exact LRU, as `functools.lru_cache`, or a cache whose results
/// expire, as a timed cache; or any cache you build ([`Memoize::from_cache`], with a
/// [`ManualClock`](crate::ManualClock) for tests, like cachetools' `timer=`). Concurrent
/// calls with the same missing arguments compute once; the function runs with no lock
/// held, so it may recurse through the memo.
///
/// ```
/// use lru_ttl::Memoize;
///
/// let memo: Memoize<u64, u64> = Memoize::lru(Some(128));
/// fn fib(memo: &Memoize<u64, u64>, n: u64) -> u64 {
///     memo.get_or_compute(n, || if n < 2 { n } else { fib(memo, n - 1) + fib(memo, n - 2) })
/// }
/// assert_eq!(fib(&memo, 80), 23_416_728_348_467_685);
/// let info = memo.cache_info();
/// assert_eq!((info.misses, info.currsize), (81, 81));
/// ```
///
/// Like the caches, it can be shared between threads only when its keys and results are
/// `Send`:
///
/// ```compile_fail
/// fn shared<T: Sync>(_: &T) {}
/// let memo: lru_ttl::Memoize<u8, std::rc::Rc<u8>> = lru_ttl::Memoize::lru(Some(1));
/// shared(&memo);
/// ```
pub struct Memoize<K, V> {
    cache: Cache<K, V>,
}

impl<K: Hash + Eq + Clone, V: Clone> Memoize<K, V> {
    /// A memo keeping the `maxsize` most recently used results (`None`: all of them;
    /// `Some(0)`: none, every call computes), like `@lru_cache(maxsize=...)`.
    ///
    /// # Panics
    ///
    /// If `maxsize` is over 2^32 - 2.
    ///
    /// ```
    /// let memo: lru_ttl::Memoize<u8, u8> = lru_ttl::Memoize::lru(None);
    /// assert_eq!(memo.cache_info().maxsize, None);
    /// ```
    pub fn lru(maxsize: Option<usize>) -> Self {
        Self::from_cache(Cache::with_shards_and_hasher(
            maxsize,
            1,
            Default::default(),
        ))
    }

    /// A memo whose results expire `ttl` after they were computed, keeping at most
    /// `maxsize` of them (`None`: no bound), like `@TimedCache(seconds=...)`.
    ///
    /// # Panics
    ///
    /// If `maxsize` is over 2^32 - 2.
    ///
    /// ```
    /// let memo: lru_ttl::Memoize<u8, u8> =
    ///     lru_ttl::Memoize::ttl(std::time::Duration::from_secs(10), Some(100));
    /// assert_eq!(memo.get_or_compute(1, || 2), 2);
    /// ```
    pub fn ttl(ttl: Duration, maxsize: Option<usize>) -> Self {
        let mut b = Cache::builder().time_to_live(ttl).shards(1);
        if let Some(m) = maxsize {
            b = b.max_capacity(m as u64);
        }
        Self::from_cache(b.build())
    }

    /// A memo keeping at most `maxsize` results (`None`: all of them), evicting as `policy`
    /// says, like cachetools' `@cached(cache=LFUCache(maxsize))`. One shard, so the
    /// statistics and the eviction order are those of a single cache.
    ///
    /// # Panics
    ///
    /// If `maxsize` is over 2^32 - 2.
    ///
    /// ```
    /// use lru_ttl::{EvictionPolicy, Memoize};
    ///
    /// let memo: Memoize<u64, u64> = Memoize::with_policy(EvictionPolicy::Lfu, Some(2));
    /// memo.get_or_compute(1, || 1);
    /// memo.get_or_compute(1, || 1); // 1 used twice
    /// memo.get_or_compute(2, || 4);
    /// memo.get_or_compute(3, || 9); // 2, used once, leaves
    /// assert_eq!(memo.get_or_compute(1, || unreachable!()), 1);
    /// assert_eq!(memo.cache_info().currsize, 2);
    /// ```
    pub fn with_policy(policy: EvictionPolicy, maxsize: Option<usize>) -> Self {
        let mut b = Cache::builder().eviction_policy(policy).shards(1);
        if let Some(m) = maxsize {
            b = b.max_capacity(m as u64);
        }
        Self::from_cache(b.build())
    }

    /// A memo over a cache you built (its shard count is yours: one shard keeps the
    /// statistics and eviction order of a single LRU).
    ///
    /// ```
    /// use lru_ttl::{Cache, ManualClock, Memoize};
    /// use std::time::Duration;
    /// let clock = ManualClock::new();
    /// let memo: Memoize<u8, u8> = Memoize::from_cache(
    ///     Cache::builder()
    ///         .time_to_live(Duration::from_secs(10))
    ///         .clock(clock.clone())
    ///         .shards(1)
    ///         .build(),
    /// );
    /// assert_eq!(memo.get_or_compute(1, || 1), 1);
    /// clock.advance(Duration::from_secs(10));
    /// assert_eq!(memo.get_or_compute(1, || 2), 2); // expired: computed again
    /// ```
    pub fn from_cache(cache: Cache<K, V>) -> Self {
        Self { cache }
    }

    /// The memoized result for `key`, computing it with `f` on a miss.
    ///
    /// # Panics
    ///
    /// If `f` panics (the memo is unchanged; concurrent waiters start over).
    ///
    /// ```
    /// let memo = lru_ttl::Memoize::lru(Some(2));
    /// assert_eq!(memo.get_or_compute("x", || 1), 1);
    /// assert_eq!(memo.get_or_compute("x", || 2), 1);
    /// ```
    pub fn get_or_compute<F: FnOnce() -> V>(&self, key: K, f: F) -> V {
        self.cache.get_or_insert_with(&key, f)
    }

    /// The memoized result for `key`, computing it with `f` on a miss; an `Err` is returned
    /// and not memoized (as Python's `lru_cache` caches no exception), and callers waiting
    /// for this computation start over.
    ///
    /// # Panics
    ///
    /// If `f` panics (the memo is unchanged; concurrent waiters start over).
    ///
    /// ```
    /// let memo = lru_ttl::Memoize::lru(Some(8));
    /// assert_eq!(memo.try_get_or_compute("x", || "x".parse::<u8>()).is_err(), true);
    /// assert_eq!(memo.try_get_or_compute("x", || "7".parse::<u8>()), Ok(7));
    /// ```
    pub fn try_get_or_compute<E, F: FnOnce() -> Result<V, E>>(&self, key: K, f: F) -> Result<V, E> {
        self.cache.try_get_or_insert_with(&key, f)
    }

    /// [`get_or_compute`](Self::get_or_compute) for a future; a task waiting for another's
    /// computation does not block its thread (feature `async`).
    ///
    /// # Panics
    ///
    /// If `f` panics (the memo is unchanged; concurrent waiters start over).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let memo = lru_ttl::Memoize::lru(Some(8));
    /// assert_eq!(memo.get_or_compute_async(2, async { 4 }).await, 4);
    /// # });
    /// ```
    #[cfg(feature = "async")]
    pub async fn get_or_compute_async(&self, key: K, f: impl std::future::Future<Output = V>) -> V {
        self.cache.get_or_insert_with_async(&key, f).await
    }

    /// [`try_get_or_compute`](Self::try_get_or_compute) for a future (feature `async`).
    ///
    /// # Panics
    ///
    /// If `f` panics (the memo is unchanged; concurrent waiters start over).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let memo = lru_ttl::Memoize::lru(Some(8));
    /// let r: Result<u8, ()> = memo.try_get_or_compute_async(2, async { Err(()) }).await;
    /// assert!(r.is_err());
    /// assert_eq!(memo.cache_info().currsize, 0);
    /// # });
    /// ```
    #[cfg(feature = "async")]
    pub async fn try_get_or_compute_async<E>(
        &self,
        key: K,
        f: impl std::future::Future<Output = Result<V, E>>,
    ) -> Result<V, E> {
        self.cache.try_get_or_insert_with_async(&key, f).await
    }

    /// Hits, misses, maxsize and current size, as Python's `cache_info()`. A call that
    /// waited for another call computing the same arguments counts as a miss.
    ///
    /// ```
    /// let memo = lru_ttl::Memoize::lru(Some(2));
    /// memo.get_or_compute(1, || 1);
    /// memo.get_or_compute(1, || 1);
    /// assert_eq!(memo.cache_info().to_string(),
    ///            "CacheInfo(hits=1, misses=1, maxsize=2, currsize=1)");
    /// ```
    pub fn cache_info(&self) -> CacheInfo {
        self.cache.cache_info()
    }

    /// Forgets every result and resets the statistics, as Python's `cache_clear()`.
    ///
    /// ```
    /// let memo = lru_ttl::Memoize::lru(Some(2));
    /// memo.get_or_compute(1, || 1);
    /// memo.cache_clear();
    /// assert_eq!(memo.cache_info().currsize, 0);
    /// ```
    pub fn cache_clear(&self) {
        self.cache.clear();
    }
}

impl<K, V> fmt::Debug for Memoize<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Memoize").field(&self.cache).finish()
    }
}

/// Memoizes a function, like Python's `@functools.lru_cache(maxsize=N)` or a timed cache.
///
/// The first line names a `static` [`Memoize`] holding the results, with `maxsize = N`
/// (`None` for no bound), `ttl = DURATION` (optionally `, maxsize = N`), `policy =
/// POLICY` (an [`EvictionPolicy`], optionally `, maxsize = N`) or `cache = CACHE` (a
/// [`Cache`] expression); the function follows. Arguments are the key: a borrowed `&T` argument (`&str`, `&[u8]`) is keyed by its
/// owned form (`String`, `Vec<u8>`), made on every call. A function written as returning
/// `Result<T, E>` memoizes only its `Ok` values
/// (an `Err` is returned and the next call computes again; a `Result` behind an alias such as
/// `io::Result<T>` is not recognised and is memoized whole). With the `async` feature the
/// function may be an `async fn`; concurrent calls with the same arguments await one
/// computation without blocking their threads. Arguments must be `Clone + Hash + Eq + Send`, the result `Clone + Send`. The
/// static gives `cache_info()` and `cache_clear()`. The body runs with no lock held, so it
/// may call the function recursively; a recursion that comes back to arguments still
/// being computed (a cycle) waits forever, where Python's `lru_cache` would recurse
/// forever.
///
/// ```
/// use lru_ttl::lru_cache;
///
/// lru_cache! {
///     static FIB: maxsize = 128;
///     /// The n-th Fibonacci number.
///     pub fn fib(n: u64) -> u64 {
///         if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
///     }
/// }
///
/// assert_eq!(fib(90), 2_880_067_194_370_816_120);
/// let info = FIB.cache_info();
/// assert_eq!((info.hits, info.misses, info.maxsize, info.currsize), (88, 91, Some(128), 91));
/// FIB.cache_clear();
/// assert_eq!(FIB.cache_info().currsize, 0);
/// ```
///
/// Borrowed arguments:
///
/// ```
/// use lru_ttl::lru_cache;
///
/// lru_cache! {
///     static GREETINGS: maxsize = 16;
///     fn greet(name: &str, times: usize) -> String {
///         format!("hello {}", name.repeat(times))
///     }
/// }
///
/// let who = String::from("ann");
/// assert_eq!(greet(&who, 2), "hello annann");
/// assert_eq!(greet("ann", 2), "hello annann");
/// assert_eq!(GREETINGS.cache_info().hits, 1);
/// ```
///
/// Errors are not memoized:
///
/// ```
/// use lru_ttl::lru_cache;
///
/// lru_cache! {
///     static PARSED: maxsize = 16;
///     fn parse(s: String) -> Result<u32, std::num::ParseIntError> {
///         s.trim().parse()
///     }
/// }
///
/// assert!(parse("x".into()).is_err());
/// assert_eq!(PARSED.cache_info().currsize, 0); // the error was not kept
/// assert_eq!(parse("12".into()), Ok(12));
/// assert_eq!(PARSED.cache_info().currsize, 1);
/// ```
///
/// An `async fn` (with the `async` feature):
///
/// ```
/// # #[cfg(feature = "async")]
/// # fn main() {
/// use lru_ttl::lru_cache;
///
/// lru_cache! {
///     static SQUARES: maxsize = 16;
///     async fn square(n: u64) -> u64 {
///         n * n
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// assert_eq!(square(12).await, 144);
/// assert_eq!(square(12).await, 144);
/// assert_eq!(SQUARES.cache_info().hits, 1);
/// # });
/// # }
/// # #[cfg(not(feature = "async"))]
/// # fn main() {}
/// ```
///
/// Another eviction policy (as cachetools' `@cached(cache=LFUCache(maxsize=...))`), or any
/// cache you build:
///
/// ```
/// use lru_ttl::{Cache, EvictionPolicy, lru_cache};
///
/// lru_cache! {
///     static LENGTHS: policy = EvictionPolicy::Lfu, maxsize = 100;
///     fn length(s: &str) -> usize {
///         s.chars().count()
///     }
/// }
/// lru_cache! {
///     static DOUBLES: cache = Cache::builder()
///         .max_capacity(1_000)
///         .eviction_policy(EvictionPolicy::S3Fifo)
///         .build();
///     fn double(n: u64) -> u64 {
///         2 * n
///     }
/// }
///
/// assert_eq!(length("héllo"), 5);
/// assert_eq!(length("héllo"), 5);
/// assert_eq!(LENGTHS.cache_info().hits, 1);
/// assert_eq!(double(21), 42);
/// ```
///
/// A timed cache:
///
/// ```
/// use lru_ttl::lru_cache;
/// use std::time::Duration;
///
/// lru_cache! {
///     static GREETING: ttl = Duration::from_secs(10), maxsize = 1000;
///     fn greeting(name: String, excited: bool) -> String {
///         format!("hello, {name}{}", if excited { "!" } else { "" })
///     }
/// }
///
/// assert_eq!(greeting("ann".into(), true), "hello, ann!");
/// assert_eq!(greeting("ann".into(), true), "hello, ann!");
/// assert_eq!(GREETING.cache_info().hits, 1);
/// ```
#[macro_export]
macro_rules! lru_cache {
    (
        $(#[$sattr:meta])* $svis:vis static $cache:ident : maxsize = $max:expr;
        $($item:tt)*
    ) => {
        $crate::lru_cache!(@item [$(#[$sattr])* $svis static $cache]
            [$crate::Memoize::lru($crate::__private::maxsize($max))] $($item)*);
    };
    (
        $(#[$sattr:meta])* $svis:vis static $cache:ident : ttl = $ttl:expr $(, maxsize = $max:expr)?;
        $($item:tt)*
    ) => {
        $crate::lru_cache!(@item [$(#[$sattr])* $svis static $cache]
            [{
                let maxsize: ::core::option::Option<usize> = ::core::option::Option::None;
                $(let maxsize = $crate::__private::maxsize($max);)?
                $crate::Memoize::ttl($ttl, maxsize)
            }] $($item)*);
    };
    (
        $(#[$sattr:meta])* $svis:vis static $cache:ident : policy = $policy:expr $(, maxsize = $max:expr)?;
        $($item:tt)*
    ) => {
        $crate::lru_cache!(@item [$(#[$sattr])* $svis static $cache]
            [{
                let maxsize: ::core::option::Option<usize> = ::core::option::Option::None;
                $(let maxsize = $crate::__private::maxsize($max);)?
                $crate::Memoize::with_policy($policy, maxsize)
            }] $($item)*);
    };
    (
        $(#[$sattr:meta])* $svis:vis static $cache:ident : cache = $built:expr;
        $($item:tt)*
    ) => {
        $crate::lru_cache!(@item [$(#[$sattr])* $svis static $cache]
            [$crate::Memoize::from_cache($built)] $($item)*);
    };
    // `async fn` returning `Result`: an `Err` is not memoized.
    (@item [$(#[$sattr:meta])* $svis:vis static $cache:ident] [$make:expr]
        $(#[$fattr:meta])* $fvis:vis async fn $name:ident($($args:tt)*)
            -> Result<$ok:ty, $err:ty> $body:block
    ) => {
        $crate::lru_cache!(@static [$(#[$sattr])* $svis static $cache] [$make]
            ($crate::lru_cache!(@keyty [] $($args)*)) $ok);
        $(#[$fattr])*
        $fvis async fn $name($($args)*) -> Result<$ok, $err> {
            let key = $crate::lru_cache!(@key [] $($args)*);
            $cache.try_get_or_compute_async(key, async move $body).await
        }
    };
    // `async fn`.
    (@item [$(#[$sattr:meta])* $svis:vis static $cache:ident] [$make:expr]
        $(#[$fattr:meta])* $fvis:vis async fn $name:ident($($args:tt)*)
            -> $ret:ty $body:block
    ) => {
        $crate::lru_cache!(@static [$(#[$sattr])* $svis static $cache] [$make]
            ($crate::lru_cache!(@keyty [] $($args)*)) $ret);
        $(#[$fattr])*
        $fvis async fn $name($($args)*) -> $ret {
            let key = $crate::lru_cache!(@key [] $($args)*);
            $cache.get_or_compute_async(key, async move $body).await
        }
    };
    // `fn` returning `Result`: an `Err` is not memoized.
    (@item [$(#[$sattr:meta])* $svis:vis static $cache:ident] [$make:expr]
        $(#[$fattr:meta])* $fvis:vis fn $name:ident($($args:tt)*)
            -> Result<$ok:ty, $err:ty> $body:block
    ) => {
        $crate::lru_cache!(@static [$(#[$sattr])* $svis static $cache] [$make]
            ($crate::lru_cache!(@keyty [] $($args)*)) $ok);
        $(#[$fattr])*
        $fvis fn $name($($args)*) -> Result<$ok, $err> {
            let key = $crate::lru_cache!(@key [] $($args)*);
            $cache.try_get_or_compute(key, move || -> Result<$ok, $err> { $body })
        }
    };
    (@item [$(#[$sattr:meta])* $svis:vis static $cache:ident] [$make:expr]
        $(#[$fattr:meta])* $fvis:vis fn $name:ident($($args:tt)*)
            -> $ret:ty $body:block
    ) => {
        $crate::lru_cache!(@static [$(#[$sattr])* $svis static $cache] [$make]
            ($crate::lru_cache!(@keyty [] $($args)*)) $ret);
        $(#[$fattr])*
        $fvis fn $name($($args)*) -> $ret {
            let key = $crate::lru_cache!(@key [] $($args)*);
            $cache.get_or_compute(key, move || -> $ret { $body })
        }
    };
    // The key's type: a tuple of the arguments' types, a borrowed `&T` argument keyed by
    // `T`'s owned form (`&str` by `String`).
    (@keyty [$($acc:tt)*]) => { ($($acc)*) };
    (@keyty [$($acc:tt)*] $arg:ident : & $t:ty $(, $($rest:tt)*)?) => {
        $crate::lru_cache!(@keyty [$($acc)* <$t as ::std::borrow::ToOwned>::Owned,] $($($rest)*)?)
    };
    (@keyty [$($acc:tt)*] $arg:ident : $t:ty $(, $($rest:tt)*)?) => {
        $crate::lru_cache!(@keyty [$($acc)* $t,] $($($rest)*)?)
    };
    // The key: a tuple of the arguments, cloned, a borrowed one made owned.
    (@key [$($acc:tt)*]) => { ($($acc)*) };
    (@key [$($acc:tt)*] $arg:ident : & $t:ty $(, $($rest:tt)*)?) => {
        $crate::lru_cache!(@key [$($acc)* ::std::borrow::ToOwned::to_owned($arg),] $($($rest)*)?)
    };
    (@key [$($acc:tt)*] $arg:ident : $t:ty $(, $($rest:tt)*)?) => {
        $crate::lru_cache!(@key [$($acc)* ::core::clone::Clone::clone(&$arg),] $($($rest)*)?)
    };
    (@static [$(#[$sattr:meta])* $svis:vis static $cache:ident] [$make:expr] ($key:ty) $val:ty) => {
        $(#[$sattr])*
        $svis static $cache: $crate::__private::LazyLock<$crate::Memoize<$key, $val>> =
            $crate::__private::LazyLock::new(|| $make);
    };
}
