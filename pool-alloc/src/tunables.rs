//! Every tunable of the allocator, in one place. Each is a trade between speed and memory
//! kept; the figures that chose them are in the commit history and the crate README.
//!
//! | tunable              | value   | trades                                                    |
//! |----------------------|---------|-----------------------------------------------------------|
//! | [`SMALL_LIMIT`]      | 1 KiB   | larger requests go to the system allocator                 |
//! | [`MAX_ALIGN`]        | 128     | larger alignments go to the system allocator               |
//! | [`POOL_SIZE`]        | 16 KiB  | one size class per pool; a pool's blocks are freed or kept together |
//! | [`ARENA_SIZE`]       | 1 MiB   | the unit mapped from and returned to the OS (64 pools)    |
//! | [`CARVE_BYTES`]      | 4 KiB   | blocks linked into a free list at a time (a page's worth) |
//! | [`FULL_SCAN`]        | 4       | full pools the slow path checks for remote frees           |
//! | [`MAX_CACHED_EMPTY`] | 64      | empty pools (1 MiB) a heap keeps instead of its arenas     |
//! | [`DEFAULT_DECAY`]    | 50 ms   | how long a free arena beyond the spare stays mapped        |
//! | [`MAX_FREE_ARENAS`]  | 8       | free arenas kept while they decay; more are unmapped at once |

use core::time::Duration;

/// Largest request (after alignment rounding) served from pools.
pub const SMALL_LIMIT: usize = 1024;

/// Largest alignment served from pools.
pub const MAX_ALIGN: usize = 128;

/// Bytes per pool; pools are aligned to this, so a block's pool is its address masked.
pub const POOL_SIZE: usize = 16 * 1024;

/// Bytes per arena (64 pools, the first holding the arena's header); arenas are aligned to
/// this.
pub const ARENA_SIZE: usize = 1 << 20;

/// How many bytes of never-used blocks the owner links into a pool's free list at a time:
/// a page's worth, so a fresh pool is not touched (faulted in) all at once.
pub const CARVE_BYTES: usize = 4096;

/// How many full pools the allocation slow path inspects for remote frees before it takes a
/// pool from elsewhere.
pub const FULL_SCAN: usize = 4;

/// Empty pools a heap keeps (1 MiB) before giving emptied pools back to their arenas: a
/// program that frees and re-allocates a batch in a loop then does not take the arena lock
/// and re-initialise pools every round. `collect()` and thread exit give them all back.
pub const MAX_CACHED_EMPTY: u32 = 64;

/// How long a completely free arena beyond the spare stays mapped before it is unmapped at
/// the next arena event (0 = at once, pymalloc's policy). A short delay keeps a program that
/// frees and re-allocates megabytes in a loop from paying `munmap`, `mmap` and page faults
/// every round.
pub const DEFAULT_DECAY: Duration = Duration::from_millis(50);

/// The most completely free arenas that stay mapped while they decay. One more becoming free
/// is unmapped at once, so that after a mass free the memory goes back to the OS without
/// waiting for a later arena event (which a program that carries on lightly may never
/// cause): at most this many MiB of free arenas stay mapped.
pub const MAX_FREE_ARENAS: usize = 8;
