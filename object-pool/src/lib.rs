//! # recycle-pool
//!
//! A generic, thread-safe object pool with reset-on-return and a hard cap on idle objects: the
//! idiomatic Rust form of the Python recipe `ObjectPool(cls, max_size)` with `get()`,
//! `release(obj)` and `obj.reset()`: buffers, parsers, connections or any value that is costly
//! to build and cheap to reset.
//!
//! ```toml
//! [dependencies]
//! recycle-pool = "0.1"
//! ```
//!
//! ```
//! use recycle_pool::Pool;
//!
//! let pool: Pool<Vec<u8>> = Pool::new(64, || Vec::with_capacity(4096));
//! let mut buf = pool.get(); // reused or freshly created
//! buf.extend_from_slice(b"hello");
//! drop(buf); // cleared (capacity kept) and returned to the pool
//! assert_eq!(pool.get().len(), 0);
//! ```
//!
//!
//! How it works, file by file, with its invariants: [`design`].

/// Every tunable of the pool, in one place. The numbers trade memory held per thread against
/// trips to the shared stacks; under loom they are tiny, so that the models reach every path.
/// They are public so that the documentation can cite them; they are not settings.
///
/// ```
/// use recycle_pool::tunables::{MAGAZINE, REFILL, RESERVE};
/// assert!(REFILL <= MAGAZINE && RESERVE <= MAGAZINE);
/// ```
pub mod tunables {
    /// The most idle objects one thread's magazine holds in one pool (or `max_retained`, if
    /// smaller). A thread holding up to this many objects at once never leaves its magazine.
    ///
    /// ```
    /// use recycle_pool::{Pool, tunables::MAGAZINE};
    ///
    /// let pool: Pool<Vec<u8>> = Pool::new(1000, Vec::new);
    /// let held: Vec<_> = (0..MAGAZINE).map(|_| pool.get()).collect();
    /// drop(held); // all of them wait in this thread's magazine
    /// std::thread::scope(|s| {
    ///     s.spawn(|| assert!(pool.try_get().is_none()));
    /// });
    /// assert_eq!(pool.idle(), MAGAZINE);
    /// ```
    pub const MAGAZINE: usize = if cfg!(loom) { 2 } else { 32 };
    /// How many objects an empty magazine takes from the shared stacks at once.
    ///
    /// ```
    /// assert!(recycle_pool::tunables::REFILL >= 1);
    /// ```
    pub const REFILL: usize = MAGAZINE.div_ceil(2);
    /// How many places a return without a spare token reserves from the budget at once (the
    /// rest become spare tokens for the next returns), and the most a thread takes from
    /// another thread's magazine at once when the budget is used up.
    ///
    /// ```
    /// assert!(recycle_pool::tunables::RESERVE >= 1);
    /// ```
    pub const RESERVE: usize = if cfg!(loom) { 2 } else { 8 };
    /// The most spare tokens a magazine keeps when it refills; the surplus goes back to the
    /// budget, so that a thread that only gets does not hoard places.
    ///
    /// ```
    /// use recycle_pool::tunables::{MAGAZINE, SPARE_KEPT};
    /// assert!(SPARE_KEPT <= MAGAZINE);
    /// ```
    pub const SPARE_KEPT: usize = if cfg!(loom) { 0 } else { MAGAZINE };
}

mod budget;
pub mod design;
mod guard;
mod magazine;
mod pool;
mod reset;
mod shards;
mod stats;
mod sync;
mod thread_index;

pub use guard::{OwnedPooled, Pooled};
pub use pool::Pool;
pub use reset::Reset;
pub use stats::Stats;

/// Static checks of the auto traits: a pool of `Send` objects is `Send + Sync`; guards follow
/// `T`. The negative cases are `compile_fail` doctests on the types.
const _: () = {
    const fn send_sync<S: Send + Sync>() {}
    const fn send<S: Send>() {}
    send_sync::<Pool<Vec<u8>>>();
    send_sync::<Pool<std::cell::Cell<u8>>>();
    send_sync::<Pooled<'static, Vec<u8>>>();
    send_sync::<OwnedPooled<Vec<u8>>>();
    send::<Pooled<'static, std::cell::Cell<u8>>>();
    send::<OwnedPooled<std::cell::Cell<u8>>>();
    send_sync::<Stats>();
};

// The unit tests use std's threads and `Arc`; under loom only `tests/loom.rs` runs.
#[cfg(all(test, not(loom)))]
mod tests;

/// The README's examples, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
