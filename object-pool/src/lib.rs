//! # object-pool
//!
//! A generic, thread-safe object pool with reset-on-return and a hard cap on idle objects: the
//! idiomatic Rust form of the seed document's `ObjectPool(cls, max_size)` with `get()`,
//! `release(obj)` and `obj.reset()`.
//!
//! ```
//! use object_pool::Pool;
//!
//! let pool: Pool<Vec<u8>> = Pool::new(64, || Vec::with_capacity(4096));
//! let mut buf = pool.get(); // reused or freshly created
//! buf.extend_from_slice(b"hello");
//! drop(buf); // cleared (capacity kept) and returned to the pool
//! assert_eq!(pool.get().len(), 0);
//! ```
//!
//! ## Design
//!
//! Where an idle object lives, from fastest to slowest:
//!
//! 1. **The calling thread's front slot** (`slot.rs`, the fast path). Every live thread has a
//!    small dense index (`thread_index.rs`: leased from a global registry on first use, given
//!    back when the thread exits). Each pool has an array of one-object slots indexed by it;
//!    slot `i` is read and written only by the thread holding index `i`, so a `get` that
//!    finds its slot full, and a return that finds it empty, are a few plain loads and
//!    stores: no lock and no atomic read-modify-write. That is what makes a get-and-return
//!    cost a few nanoseconds and what lets threads never share a cache line on the hot path.
//!    Threads whose index is beyond the array, and exiting threads, skip this level.
//! 2. **Sharded LIFO stacks** (`shards.rs`, the slow path): a few `Mutex<Vec<T>>`, each on its
//!    own cache line. A thread pushes to and pops from its home shard (index modulo shard
//!    count) and, when that is empty, steals from the others, skipping those whose published
//!    length is zero without locking them. Locks are held only to push or pop; never during
//!    user code. Nothing here is a multi-consumer lock-free stack, so there is no ABA.
//! 3. **`create`**, when no idle object is found (`get` always returns an object; `try_get`
//!    only reuses).
//!
//! **The cap.** `max_retained` is a hard cap on idle objects, counted by one budget counter
//! (`shards.rs`) that only the slow path touches: a push onto a shared stack reserves a place
//! with a compare-and-swap that never lets the count exceed the cap, and a pop gives it
//! back. A front slot reserves one place (a *token*) the first time it stores an object and
//! keeps it while its thread holds the index, so later fast-path stores need no atomic
//! read-modify-write. Objects in slots plus objects on the stacks never exceed
//! `max_retained`, and a single thread can fill it. A return that finds no place is dropped,
//! after any lock is released. `max_retained == 0` has no slots and no budget: nothing is kept.
//!
//! **Returns** (`guard.rs`, `pool.rs`): dropping a [`Pooled`] or [`OwnedPooled`] guard (or
//! [`Pool::put`]) resets the object in the returning thread, outside any lock, with the
//! [`Reset`] trait (`reset.rs`: the std collections clear and keep their capacity) or the
//! closure given to [`Pool::with_reset`]. A reset returns `false` to refuse the object, which
//! is then dropped. A return that would be dropped for the cap skips the reset.
//!
//! **Trimming.** [`Pool::trim`] and [`Pool::clear`] reach the shared stacks and the calling
//! thread's own slot. Another thread's slot (at most one object per thread) is that thread's
//! alone: `clear` bumps a generation so that the owner drops a stale object on its next `get`
//! instead of reusing it, and the pool drops whatever slots hold when it is dropped. An
//! object left in the slot of a thread that exited stays there, idle and counted, until a
//! new thread leases that index or the pool is dropped: nothing leaks.
//!
//! **Panics.** `create`, a reset and `T::drop` run with no lock held and with the pool in a
//! consistent state: a panic propagates to the caller, the object being reset is dropped
//! exactly once by the unwinding (counted as refused), and no other object is lost.
//!
//! **Statistics** ([`Stats`], `stats.rs`): created, reused, returned (kept), dropped because
//! full, refused, trimmed, and idle now. Counters of the fast path live in the front slots
//! and are written only by their owner (a relaxed load and store, not a read-modify-write).
//!
//! **`Send` / `Sync`.** `Pool<T>` is `Send` and `Sync` exactly when `T: Send`: objects move
//! between threads but are never shared. A guard is `Send` when `T: Send` and `Sync` when
//! `T: Sync`. Checked by static assertions below and `compile_fail` doctests.
//!
//! **Loom.** `sync.rs` maps atomics, locks, cells and thread-locals to loom's under
//! `cfg(loom)`; `tests/loom.rs` checks concurrent get and return with the cap reached,
//! stealing between shards, and owned guards dropped on another thread, counting drops.

mod guard;
mod pool;
mod reset;
mod shards;
mod slot;
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
