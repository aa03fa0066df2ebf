//! How recycle-pool works, for contributors: where an idle object lives, the cap, and the barrier between owner and taker.
//!
//! Where an idle object lives, from fastest to slowest:
//!
//! 1. **The calling thread's magazine** (`magazine.rs`, the fast path). Every live thread has
//!    a small dense index (`thread_index.rs`: leased from a global registry on first use,
//!    given back when the thread exits). Each pool has an array of magazines indexed by it,
//!    each [`MAGAZINE`](tunables::MAGAZINE) slots that only the thread holding the index
//!    manages. A get lends the newest idle object *in place* (the guard points into its
//!    slot), a return on the same thread resets it there and marks it idle again: no lock, no
//!    copy of the object, no shared write. A thread that holds a few dozen objects at once
//!    stays here. Threads whose index is beyond the array, and exiting threads, skip this
//!    level; a guard dropped on another thread takes its object out of the slot and returns it
//!    like any other.
//! 2. **Sharded LIFO stacks** (`shards.rs`, the slow path): a few `Mutex<Vec<T>>`, each on its
//!    own cache line. A full magazine moves its older half to its thread's home shard, an
//!    empty one refills a batch from it, stealing from the other shards when it is empty,
//!    so objects move between threads in batches, one lock per batch. Locks are held only to
//!    move objects, never during user code.
//! 3. **`create`**, when no idle object is found (`get` always returns an object; `try_get`
//!    only reuses).
//!
//! **The cap** (`budget.rs`). `max_retained` bounds the idle objects, and only they count: an
//! object on loan does not. Every idle object holds one of `max_retained` *places*, counted by
//! one budget counter. A get from a magazine keeps the object's place in the magazine as a
//! *spare token* instead of writing the shared counter, and the return on that thread uses
//! it; a return that finds no spare token reserves a batch of places from the counter, and
//! when the counter is used up it takes a spare token from another thread's magazine. So idle
//! objects never exceed `max_retained`, and a return is dropped for the cap only when
//! `max_retained` objects are idle: the behaviour of the Python recipe's
//! `ObjectPool(cls, max_size)`, exactly, whenever no other thread is in the middle of a get or
//! return at that moment (a return that races with a get elsewhere may miss the place that get
//! is freeing).
//! The owner and a taker never use the same token. That takes a store-load barrier on both
//! sides, made asymmetric (`sync.rs`): the owner's fast path has only a compiler fence and no
//! atomic read-modify-write, and a thread taking tokens (rare: the pool is full) runs the
//! `membarrier` system call, once per batch of tokens (Linux; elsewhere, and under Miri, a
//! `SeqCst` fence on both sides).
//! `max_retained == 0` has no magazines: nothing is kept.
//!
//! **Returns** (`guard.rs`, `pool.rs`): dropping a [`Pooled`] or [`OwnedPooled`] guard (or
//! [`Pool::put`]) finds a place, then resets the object in the returning thread, outside any
//! lock, with the [`Reset`] trait (`reset.rs`: the std collections clear and keep their
//! capacity) or the closure given to [`Pool::with_reset`]. A reset returns `false` to refuse
//! the object, which is then dropped and its place given back. A return that finds no place is
//! dropped without a reset.
//!
//! **Trimming.** [`Pool::trim`] and [`Pool::clear`] reach the shared stacks and the calling
//! thread's own magazine. Another thread's magazine is that thread's alone: `clear` bumps a
//! generation so that the owner drops stale objects on its next get or return instead of
//! reusing them, and the pool drops whatever magazines hold when it is dropped. Objects left
//! in the magazine of a thread that exited stay there, idle and counted, until a new thread
//! leases that index or the pool is dropped: nothing leaks.
//!
//! **Panics.** `create`, a reset and `T::drop` run with no lock held and with the pool in a
//! consistent state: a panic propagates to the caller, the object being reset is dropped
//! exactly once by the unwinding (counted as refused, its place given back), and no other
//! object is lost.
//!
//! **Statistics** ([`Stats`], `stats.rs`, and [`Pool::idle`]): created, reused, returned
//! (kept), dropped because full, refused, trimmed, and idle now. Counters of the fast path
//! live in the magazines and are written only by their owner (a relaxed load and store).
//!
//! **`Send` / `Sync`.** `Pool<T>` is `Send` and `Sync` exactly when `T: Send`: objects move
//! between threads but are never shared. A guard is `Send` when `T: Send` and `Sync` when
//! `T: Sync`. Checked by static assertions below and `compile_fail` doctests.
//!
//! **Loom.** `sync.rs` maps atomics, locks, cells and thread-locals to loom's under
//! `cfg(loom)`; `tests/loom.rs` checks concurrent gets and returns with the cap reached,
//! spare tokens taken by another thread, stealing between shards, and owned guards dropped on
//! another thread, counting drops.

#[allow(unused_imports)] // the names the text links to
use crate::*;
