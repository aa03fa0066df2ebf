//! How pool-alloc works, for contributors: the layers, one file each, and their invariants.
//! The numbers are in [`tunables`](crate::tunables), with what each trades.
//!
//! ## Layers
//!
//! Each file is one concern; the dependencies run one way (`thread` → `core_alloc` →
//! `heap` → `arena` → `pool` → `os`), and every tunable is in `tunables.rs`.
//!
//! * **Size classes** (`size_class.rs`): requests up to [`SMALL_LIMIT`](crate::tunables::SMALL_LIMIT) with alignment up
//!   to [`MAX_ALIGN`](crate::tunables::MAX_ALIGN) are served from size classes (16-byte steps to 512, 64-byte
//!   steps above). One function, `route(size, align)`, decides for `alloc`, `dealloc`
//!   and `realloc`; Rust hands the layout back on free, so there is no address
//!   lookup. Everything else goes to the system allocator. The fast paths compute
//!   no class: a free needs only "small or not" (two compares), and an allocation
//!   with an alignment up to 16 indexes the heap's table of current pools by size.
//! * **Pools** (`pool.rs`): [`POOL_SIZE`](crate::tunables::POOL_SIZE) bytes, aligned to that, one class each. A header,
//!   then blocks carved lazily (a page's worth at a time) into a LIFO free
//!   list. A block's pool is found by masking its address. The pool states and
//!   who may change them are one table there (`PoolState`).
//! * **Arenas** (`arena.rs`, `os.rs`): mappings of [`ARENA_SIZE`](crate::tunables::ARENA_SIZE) bytes aligned to that,
//!   cut into pools (pool 0 holds the arena header with free/zero bitmaps). pymalloc's
//!   policy: new pools come from the most-used arena with room (arenas are
//!   bucketed by free-pool count, so that choice is O(1)), completely free
//!   arenas are unmapped with one kept as a spare, `collect()` unmaps them all
//!   and purges free pools. Against thrashing, up to [`MAX_FREE_ARENAS`](crate::tunables::MAX_FREE_ARENAS) free arenas beyond the
//!   spare stay mapped for [`DEFAULT_DECAY`](crate::tunables::DEFAULT_DECAY) (checked at the next arena event); one
//!   more is unmapped at once. `os.rs` is the only platform-specific file.
//! * **Heaps** (`heap.rs`): one per thread. Each class has a current pool, a
//!   partial list and a full list; the current pools are kept by request size
//!   (`(size + 15) / 16`, mimalloc's `pages_free_direct`). The fast path pops or
//!   pushes the current pool's free list with plain loads and stores, no lock and
//!   no atomic read-modify-write; a free decides whether it may stay on the fast
//!   path from one field of the pool (`free_limit`, derived from its state), and
//!   everything else is one tail call out of line (the instructions, annotated:
//!   `docs/measured/pool-alloc.md`). A free from another thread is one CAS push onto the
//!   pool's `remote` list, which the owner takes in one step when its own
//!   list is empty; the list's length rides in the head word, so the owner does
//!   not walk blocks still hot in the freeing thread's cache. A heap keeps up to
//!   [`MAX_CACHED_EMPTY`](crate::tunables::MAX_CACHED_EMPTY) empty pools for reuse; other emptied pools go back to their arenas.
//!   Each heap has a lock for its lists, taken by its owner's slow paths and by
//!   the other threads that give its pools back (next point).
//! * **Memory back without the owner**: a pool's last live block freed by
//!   another thread gives the pool back at once (to the owner's cache of empty
//!   pools, or its arena): an idle or exited owner keeps nothing. The head word
//!   of the remote list carries a flag saying the pool is in a list, so the
//!   freer decides from the word its CAS checks and cannot race the owner moving
//!   the pool. `collect()` from any thread gives back every heap's pools with no
//!   live block.
//! * **Core** (`core_alloc.rs`): the shared state (arenas behind a lock,
//!   abandoned pools, retired heaps, the list of every heap, large-allocation
//!   counters) and the slow paths that string the heaps' list transitions
//!   together with it. It is an ordinary value: tests, Miri and loom build their
//!   own.
//! * **Threads** (`thread.rs`): a `const` `thread_local!` heap pointer that
//!   starts at a sentinel heap (so the fast path has no init check; the core
//!   returns null for a sentinel and this layer makes the thread's heap), a
//!   `pthread_key` destructor (a thread-local guard elsewhere) that abandons the
//!   thread's live pools at exit, a locked heap for allocations during and after
//!   TLS teardown, and `pthread_atfork` handlers so a forked child can allocate.
//! * **Locks** (`lock.rs`): a spin-then-yield lock that never allocates (no
//!   parking table), used on slow paths only.
//! * **Stats** (`stats.rs`): `PoolAlloc::stats()` walks the arenas under the
//!   arena lock. Per-pool `used` counts are owner-written atomics, so the fast
//!   path pays nothing extra; blocks on a remote list count as free, and pools
//!   are read one by one while other threads run, so the snapshot is exact only
//!   when the process is quiescent.
//!
//! Nothing here panics on the allocation paths: when the OS refuses memory the
//! allocator returns null.
