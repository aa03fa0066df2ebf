//! Pools: the 16 KiB unit of one size class, its header, its free lists.
//!
//! A pool starts with a [`Pool`] header; blocks follow from [`POOL_HEADER`].
//! The owning heap's thread allocates by popping `free` (a LIFO list threaded
//! through the free blocks) and frees by pushing onto it, with plain loads and
//! stores. Blocks past `bump` were never handed out: they are carved lazily, a
//! batch at a time, when `free` runs dry. Another thread frees a block by pushing
//! it onto `remote` with one compare-and-swap; the owner takes the whole remote
//! list with one `swap` when its own list is empty ([`Pool::drain_remote`]).
//!
//! `used` counts blocks handed out minus the frees the owner has seen (its own,
//! plus drained remote ones). So `used == 0` after a drain means no block of the
//! pool is live and no remote free can still be in flight: only then is a pool
//! returned to its arena.

use crate::sync::{AtomicPtr, AtomicU8, AtomicU32, Ordering};
use crate::tunables::{CARVE_BYTES, POOL_SIZE};
use core::ptr;

/// Offset of the first block in a pool; a multiple of [`crate::size_class::MAX_ALIGN`].
pub(crate) const POOL_HEADER: usize = {
    let s = core::mem::size_of::<Pool>();
    (s + 127) & !127
};

/// The remote list's head word: the first block's address in the low [`TAG_SHIFT`] bits (block
/// addresses are below `1 << TAG_SHIFT`, checked when an arena is mapped), the list's length in
/// the next 15, and the [`LISTED`] flag in the top bit. Keeping the flag in the word the
/// freeing threads compare-and-swap means a freer that decides by it cannot miss a change of
/// it: the change makes its CAS fail.
pub(crate) const TAG_SHIFT: u32 = 48;
const ADDR_MASK: usize = (1 << TAG_SHIFT) - 1;
const COUNT_MASK: usize = 0x7fff;
/// Set while the pool sits in a list (partial, full, abandoned), clear while it is a heap's
/// current pool: only a listed pool can be given back by the thread freeing its last block.
const LISTED: usize = 1 << 63;

/// The length of the remote list whose head word is `h`.
fn count_of(h: *mut Block) -> usize {
    (h.addr() >> TAG_SHIFT) & COUNT_MASK
}

/// A heap, as its pools know it: an address to compare and hand back, never looked into
/// from here (so pools do not depend on heaps).
pub(crate) enum HeapId {}

/// A free block: its first word links to the next free block.
#[repr(C)]
pub(crate) struct Block {
    pub(crate) next: *mut Block,
}

/// Where a pool is, and who may touch it. Stored in [`Pool::state`]; every change happens under
/// the lock named in the table (so a holder of that lock sees a stable state), and the owner's
/// lock-free fast path only reads it.
///
/// | state       | in                      | changed to, by (under)                                    |
/// |-------------|-------------------------|-----------------------------------------------------------|
/// | `Current`   | `heap.current[class]`   | `Full`: owner's alloc slow path finds no free block (heap lock) |
/// |             |                         | `Abandoned`/`Free`: owner's thread exits (heap lock)      |
/// | `Partial`   | heap's partial list     | `Current`: alloc slow path takes it (heap lock)           |
/// |             |                         | `Free`: emptied beyond the heap's cache, or `collect` (heap lock, then arena lock) |
/// | `Full`      | heap's full list        | `Partial`: an owner free, or the last remote free with room in the heap's cache (heap lock) |
/// |             |                         | `Current`: the slow path finds remote frees in it (heap lock) |
/// |             |                         | `Free`: its last block freed remotely, or `collect` (heap lock, then arena lock) |
/// | `Abandoned` | core's abandoned list   | `Current`: adopted by a heap (abandoned lock)             |
/// |             |                         | `Free`: its last block freed, or `collect` (abandoned lock, then arena lock) |
/// | `Free`      | its arena's free bitmap | `Current`: a heap takes it (arena lock)                   |
///
/// A pool leaves `Partial`, `Full` or `Abandoned` for `Free` at the hands of a thread other than
/// its owner only when none of its blocks is live (`used` equals the remote list's length):
/// then its owner, holding no block of it, has no reason to touch it.
#[repr(u8)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PoolState {
    Current = 0,
    Partial = 1,
    Full = 2,
    Abandoned = 3,
    Free = 4,
}

impl PoolState {
    const ALL: [PoolState; 5] = [
        PoolState::Current,
        PoolState::Partial,
        PoolState::Full,
        PoolState::Abandoned,
        PoolState::Free,
    ];
}

/// The header at the start of every pool.
#[repr(C)]
pub(crate) struct Pool {
    /// Owner's LIFO free list.
    pub(crate) free: *mut Block,
    /// Next block never handed out.
    pub(crate) bump: *mut u8,
    /// End of the last whole block.
    pub(crate) end: *mut u8,
    /// Links in the owner's partial/full list or the abandoned list.
    pub(crate) next: *mut Pool,
    pub(crate) prev: *mut Pool,
    /// Blocks handed out minus frees seen by the owner (owner stores, anyone reads).
    pub(crate) used: AtomicU32,
    /// Block size in bytes (set under the arena lock while the pool is assigned).
    pub(crate) block_size: u32,
    /// Size class (set under the arena lock while the pool is assigned).
    pub(crate) class: u16,
    /// A [`PoolState`], changed under the lock its table names; read by anyone.
    state: AtomicU8,
    /// The owner's free of a block leaves the fast path when `used - 1 < free_limit`:
    /// [`Pool::free_limit_of`] the state, set with it, so that the fast path compares one
    /// field where it would test the state twice. A plain field: only the owner reads it,
    /// when it frees a block it holds, and the state of a pool with a live block of the
    /// owner's changes only at the owner's hands (the state table's rule); other changes
    /// happen after its last free, and before its next use, by way of a lock.
    free_limit: u32,
    /// The owning heap; null when abandoned or free. Only the owner stores its own address.
    pub(crate) owner: AtomicPtr<HeapId>,
    /// Keeps `remote` off the owner's cache line.
    _pad: [u64; 1],
    /// Blocks freed by other threads, taken in bulk by the owner; the head word also
    /// holds the list's length and the [`LISTED`] flag.
    pub(crate) remote: AtomicPtr<Block>,
}

impl Pool {
    /// A header for an empty sentinel pool (`free` is null and it has no blocks).
    #[cfg(not(loom))]
    pub(crate) const fn sentinel() -> Self {
        Self {
            free: ptr::null_mut(),
            bump: ptr::null_mut(),
            end: ptr::null_mut(),
            next: ptr::null_mut(),
            prev: ptr::null_mut(),
            used: AtomicU32::new(0),
            block_size: 0,
            class: 0,
            state: AtomicU8::new(PoolState::Free as u8),
            free_limit: Pool::free_limit_of(PoolState::Free),
            owner: AtomicPtr::new(ptr::null_mut()),
            _pad: [0],
            remote: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// A header for an empty sentinel pool (loom: atomics are not `const`).
    #[cfg(loom)]
    pub(crate) fn sentinel() -> Self {
        Self {
            free: ptr::null_mut(),
            bump: ptr::null_mut(),
            end: ptr::null_mut(),
            next: ptr::null_mut(),
            prev: ptr::null_mut(),
            used: AtomicU32::new(0),
            block_size: 0,
            class: 0,
            state: AtomicU8::new(PoolState::Free as u8),
            free_limit: Pool::free_limit_of(PoolState::Free),
            owner: AtomicPtr::new(ptr::null_mut()),
            _pad: [0],
            remote: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Writes a fresh header for class `class` at `pool` (done under the arena lock).
    ///
    /// # Safety
    ///
    /// `pool` is a free, `POOL_SIZE`-aligned pool of a live arena, owned by the caller.
    pub(crate) unsafe fn init(pool: *mut Pool, class: usize, owner: *mut HeapId) {
        let bs = crate::size_class::class_size(class);
        let base = pool.cast::<u8>();
        let cap = (POOL_SIZE - POOL_HEADER) / bs;
        // SAFETY: the header and the block area lie inside the pool.
        unsafe {
            ptr::write(
                pool,
                Pool {
                    free: ptr::null_mut(),
                    bump: base.add(POOL_HEADER),
                    end: base.add(POOL_HEADER + cap * bs),
                    next: ptr::null_mut(),
                    prev: ptr::null_mut(),
                    used: AtomicU32::new(0),
                    block_size: bs as u32,
                    class: class as u16,
                    state: AtomicU8::new(PoolState::Current as u8),
                    free_limit: Pool::free_limit_of(PoolState::Current),
                    owner: AtomicPtr::new(owner),
                    _pad: [0],
                    remote: AtomicPtr::new(ptr::null_mut()),
                },
            );
        }
    }

    /// The pool holding the block at `p`.
    #[inline(always)]
    pub(crate) fn of(p: *mut u8) -> *mut Pool {
        p.map_addr(|a| a & !(POOL_SIZE - 1)).cast()
    }

    /// [`Pool::of`] for the free fast path, computed once into a register: the compiler
    /// otherwise sinks the computation into each block that uses it and redoes it there, in a
    /// longer form (three instructions more per free on x86-64). An empty `asm!` hides the
    /// address from it; the pointer is rebuilt from the exposed provenance of the block's
    /// (the pool's header and its blocks are one allocation, the arena's mapping).
    #[inline(always)]
    pub(crate) fn of_in_register(p: *mut u8) -> *mut Pool {
        #[cfg(all(not(miri), any(target_arch = "x86_64", target_arch = "aarch64")))]
        {
            let mut addr = Pool::of(p).expose_provenance();
            // SAFETY: the template is empty: the integer comes back unchanged, and nothing
            // else is read or written.
            unsafe {
                core::arch::asm!("/* {0} */", inout(reg) addr, options(pure, nomem, nostack, preserves_flags));
            }
            ptr::with_exposed_provenance_mut(addr)
        }
        #[cfg(not(all(not(miri), any(target_arch = "x86_64", target_arch = "aarch64"))))]
        {
            Pool::of(p)
        }
    }

    /// Blocks the pool can hold.
    ///
    /// # Safety
    ///
    /// `pool` is an assigned pool.
    pub(crate) unsafe fn capacity(pool: *const Pool) -> usize {
        // SAFETY: caller guarantees an assigned pool header.
        unsafe { (POOL_SIZE - POOL_HEADER) / (*pool).block_size as usize }
    }

    /// Owner: adds `d` (may be negative) to `used` with a plain load and store.
    ///
    /// # Safety
    ///
    /// Called by the owner of an assigned pool.
    #[inline(always)]
    pub(crate) unsafe fn add_used(pool: *mut Pool, d: i32) {
        // SAFETY: the caller owns the pool; only the owner stores `used`.
        unsafe {
            let u = (*pool).used.load(Ordering::Relaxed);
            (*pool)
                .used
                .store(u.wrapping_add(d as u32), Ordering::Relaxed);
        }
    }

    /// Owner: links up to a page's worth of never-used blocks into `free`.
    /// Returns `false` when there are none left.
    ///
    /// # Safety
    ///
    /// Called by the owner of an assigned pool whose `free` list is empty.
    pub(crate) unsafe fn carve(pool: *mut Pool) -> bool {
        // SAFETY: all pointers stay inside `[bump, end)` of the caller's pool.
        unsafe {
            let bs = (*pool).block_size as usize;
            let bump = (*pool).bump;
            let left = ((*pool).end.addr() - bump.addr()) / bs;
            if left == 0 {
                return false;
            }
            let n = (CARVE_BYTES / bs).clamp(1, left);
            let mut b = bump;
            for _ in 1..n {
                let nx = b.add(bs);
                (*b.cast::<Block>()).next = nx.cast();
                b = nx;
            }
            (*b.cast::<Block>()).next = (*pool).free;
            (*pool).free = bump.cast();
            (*pool).bump = bump.add(n * bs);
            true
        }
    }

    /// Forgets the free list of a pool with no live block and makes it carve afresh from the
    /// start.
    ///
    /// # Safety
    ///
    /// Called by the owner (or the holder of the lock of its list) of an assigned pool whose
    /// `used` is 0, so that its remote list is empty and no block is live.
    unsafe fn rewind(pool: *mut Pool) {
        // SAFETY: per the contract nothing in the pool is live.
        unsafe {
            (*pool).free = ptr::null_mut();
            (*pool).bump = pool.cast::<u8>().add(POOL_HEADER);
        }
    }

    /// Owner: moves the remote list onto `free` and returns how many blocks it held.
    ///
    /// # Safety
    ///
    /// Called by the owner (or the holder of the abandoned list's lock) of an assigned pool.
    pub(crate) unsafe fn drain_remote(pool: *mut Pool) -> usize {
        // SAFETY: the caller owns the pool; the taken list is ours alone,
        // and Acquire makes the pushers' link writes visible.
        unsafe {
            if count_of((*pool).remote.load(Ordering::Relaxed)) == 0 {
                return 0;
            }
            // Take the list, keep the flag: one swap, as the flag changes only at the hands
            // of the owner or the holder of the pool's list lock, which is the caller.
            let flag = (*pool).remote.load(Ordering::Relaxed).addr() & LISTED;
            let tagged = (*pool)
                .remote
                .swap(ptr::without_provenance_mut(flag), Ordering::Acquire);
            // The count rides in the head's top bits: no walk over blocks that
            // are still in the freeing thread's cache.
            let n = count_of(tagged);
            if n == 0 {
                return 0;
            }
            let head = tagged.map_addr(|a| a & ADDR_MASK);
            if !(*pool).free.is_null() {
                let mut tail = head;
                while !(*tail).next.is_null() {
                    tail = (*tail).next;
                }
                (*tail).next = (*pool).free;
            }
            (*pool).free = head;
            Pool::add_used(pool, -(n as i32));
            n
        }
    }

    /// Replaces the remote head word `h` by `f(h)` (a CAS loop, Acquire and Release);
    /// returns the word replaced.
    ///
    /// # Safety
    ///
    /// `pool` is an assigned pool; `f` keeps the list's blocks reachable or takes them for
    /// the caller.
    unsafe fn update_remote(pool: *mut Pool, f: impl Fn(*mut Block) -> *mut Block) -> *mut Block {
        // SAFETY: per the contract.
        let remote = unsafe { &(*pool).remote };
        let mut h = remote.load(Ordering::Relaxed);
        loop {
            match remote.compare_exchange_weak(h, f(h), Ordering::AcqRel, Ordering::Relaxed) {
                Ok(old) => return old,
                Err(now) => h = now,
            }
        }
    }

    /// Any thread: frees `block` into a pool it does not own. Returns `false`, publishing
    /// nothing, when the block looks like the pool's last live one and the pool sits in a list
    /// (the [`LISTED`] flag): the caller then gives the whole pool back instead
    /// ([`Pool::is_last_live`] decides again under the lock that guards the pool's list).
    ///
    /// # Safety
    ///
    /// `block` is a live block of `pool`, freed exactly once.
    #[inline]
    pub(crate) unsafe fn free_remote(pool: *mut Pool, block: *mut u8) -> bool {
        // SAFETY: as the caller promises; the pool stays assigned while the block is live,
        // and `used` shares the cache line the caller read `owner` from.
        unsafe {
            Pool::push_remote(pool, block, |count, listed| {
                listed && count == (*pool).used.load(Ordering::Relaxed) as usize
            })
        }
    }

    /// Any thread: pushes `block` onto the pool's remote list unconditionally.
    ///
    /// # Safety
    ///
    /// As for [`Pool::free_remote`].
    pub(crate) unsafe fn publish_remote(pool: *mut Pool, block: *mut u8) {
        // SAFETY: as the caller promises.
        unsafe { Pool::push_remote(pool, block, |_, _| false) };
    }

    /// The push: `stop(count, listed)`, given the list's length after the push and the
    /// [`LISTED`] flag, says to publish nothing and return `false`.
    #[inline(always)]
    unsafe fn push_remote(
        pool: *mut Pool,
        block: *mut u8,
        stop: impl Fn(usize, bool) -> bool,
    ) -> bool {
        let block = block.cast::<Block>();
        // SAFETY: the block is ours until the CAS publishes it; the pool stays
        // assigned while the block is live (its `used` count includes it).
        unsafe {
            let remote = &(*pool).remote;
            let mut head = remote.load(Ordering::Relaxed);
            loop {
                // Links are plain addresses; the head carries the list length
                // (at most a pool's capacity) in its top bits.
                let count = count_of(head) + 1;
                if stop(count, head.addr() & LISTED != 0) {
                    return false;
                }
                (*block).next = head.map_addr(|a| a & ADDR_MASK);
                let new = block.map_addr(|a| a | (count << TAG_SHIFT) | (head.addr() & LISTED));
                match remote.compare_exchange_weak(head, new, Ordering::Release, Ordering::Relaxed)
                {
                    Ok(_) => return true,
                    Err(h) => head = h,
                }
            }
        }
    }

    /// Blocks on the remote list now.
    ///
    /// # Safety
    ///
    /// `pool` is an assigned pool.
    pub(crate) unsafe fn remote_len(pool: *const Pool) -> usize {
        // SAFETY: per the contract; Acquire pairs with the pushers' Release.
        count_of(unsafe { (*pool).remote.load(Ordering::Acquire) })
    }

    /// Whether no block of the pool is live but one the caller holds: all others are free,
    /// on the owner's list or the remote list. Stable once true, as no one else holds a block.
    ///
    /// # Safety
    ///
    /// `pool` is an assigned pool, not `Current`, whose list's lock the caller holds (so no
    /// drain runs), and the caller holds a live block of it.
    pub(crate) unsafe fn is_last_live(pool: *mut Pool) -> bool {
        // SAFETY: per the contract. Acquire on `used` pairs with the owner's Release store in
        // its last free, so its writes to the pool happened before ours.
        unsafe { (*pool).used.load(Ordering::Acquire) as usize == Pool::remote_len(pool) + 1 }
    }

    /// Whether no block of the pool is live. Stable once true for a pool that is not
    /// `Current` (no one can allocate from it).
    ///
    /// # Safety
    ///
    /// `pool` is an assigned pool whose list's lock the caller holds.
    pub(crate) unsafe fn is_all_free(pool: *mut Pool) -> bool {
        // SAFETY: as in `is_last_live`. `used` is read first: it only falls and the remote
        // list only grows while the lock is held, so equal readings mean both were equal at
        // the second reading.
        unsafe { (*pool).used.load(Ordering::Acquire) as usize == Pool::remote_len(pool) }
    }

    /// Empties a pool with no live block: drops its remote list and free list and makes it
    /// carve afresh from the start.
    ///
    /// # Safety
    ///
    /// [`Pool::is_all_free`] holds (or would, once the caller's own block is counted free)
    /// and the caller holds the lock of the pool's list.
    pub(crate) unsafe fn forget_blocks(pool: *mut Pool) {
        // SAFETY: per the contract nothing in the pool is live, so no one touches it.
        unsafe {
            (*pool).remote.swap(ptr::null_mut(), Ordering::Acquire);
            (*pool).used.store(0, Ordering::Relaxed);
            Pool::rewind(pool);
        }
    }

    /// The pool's state.
    ///
    /// # Safety
    ///
    /// `pool` is a pool header (assigned, free or the sentinel).
    pub(crate) unsafe fn state(pool: *const Pool) -> PoolState {
        // SAFETY: per the contract; only `PoolState` values are stored.
        PoolState::ALL[unsafe { (*pool).state.load(Ordering::Relaxed) } as usize]
    }

    /// Whether the pool is in state `s` (the fast path's check).
    ///
    /// # Safety
    ///
    /// As for [`Pool::state`].
    #[inline(always)]
    pub(crate) unsafe fn is(pool: *const Pool, s: PoolState) -> bool {
        // SAFETY: per the contract.
        unsafe { (*pool).state.load(Ordering::Relaxed) == s as u8 }
    }

    /// The owner's free of a block of a pool in state `s` takes the slow path when the count
    /// of live blocks after it, `used - 1`, is below this: never from a current pool, at the
    /// last live block of a partial one (the pool may go back to its arena), always from a
    /// full one (it moves to the partial list). The owner frees into no pool in another
    /// state (it owns none).
    const fn free_limit_of(s: PoolState) -> u32 {
        match s {
            PoolState::Current => 0,
            PoolState::Partial => 1,
            PoolState::Full | PoolState::Abandoned | PoolState::Free => u32::MAX,
        }
    }

    /// The owner's free fast path: pushes `block` onto the free list with plain stores and
    /// returns `true`, or returns `false`, touching nothing, when the slow path must free it.
    ///
    /// # Safety
    ///
    /// The calling thread owns `pool` (checked by the caller against `owner`) and `block` is
    /// a live block of it.
    #[inline(always)]
    pub(crate) unsafe fn free_local(pool: *mut Pool, block: *mut u8) -> bool {
        // SAFETY: per the contract the pool's plain fields are ours, `free_limit` included
        // (see its doc); only the owner stores `used`.
        unsafe {
            let u = (*pool).used.load(Ordering::Relaxed).wrapping_sub(1);
            if u < (*pool).free_limit {
                return false;
            }
            let b = block.cast::<Block>();
            (*b).next = (*pool).free;
            (*pool).free = b;
            // Release: a thread that later finds the pool's blocks all free (its last one
            // freed remotely) sees these writes before it reuses the pool.
            (*pool).used.store(u, Ordering::Release);
            true
        }
    }

    /// The owner's allocation fast path: pops a block, or null when the free list is empty.
    ///
    /// # Safety
    ///
    /// The calling thread owns `pool`, or `pool` is the sentinel (whose list is empty).
    #[inline(always)]
    pub(crate) unsafe fn pop(pool: *mut Pool) -> *mut u8 {
        // SAFETY: per the contract; the sentinel is only read.
        unsafe {
            let b = (*pool).free;
            if b.is_null() {
                return ptr::null_mut();
            }
            (*pool).free = (*b).next;
            Pool::add_used(pool, 1);
            b.cast()
        }
    }

    /// Sets the pool's state, and the [`LISTED`] flag to match.
    ///
    /// # Safety
    ///
    /// The caller holds the lock the [`PoolState`] table names for the change.
    pub(crate) unsafe fn set_state(pool: *mut Pool, s: PoolState) {
        let listed = matches!(
            s,
            PoolState::Partial | PoolState::Full | PoolState::Abandoned
        );
        // SAFETY: per the contract.
        unsafe {
            (*pool).state.store(s as u8, Ordering::Relaxed);
            (*pool).free_limit = Pool::free_limit_of(s);
            if ((*pool).remote.load(Ordering::Relaxed).addr() & LISTED != 0) != listed {
                Pool::update_remote(pool, |h| {
                    h.map_addr(|a| if listed { a | LISTED } else { a & !LISTED })
                });
            }
        }
    }
}

/// An intrusive doubly linked list of pools (owner's partial/full lists, abandoned lists).
#[derive(Clone, Copy)]
pub(crate) struct PoolList {
    pub(crate) head: *mut Pool,
    pub(crate) tail: *mut Pool,
}

impl PoolList {
    /// The empty list.
    pub(crate) const EMPTY: PoolList = PoolList {
        head: ptr::null_mut(),
        tail: ptr::null_mut(),
    };

    /// Appends `p`.
    ///
    /// # Safety
    ///
    /// `p` is in no list and the caller owns the list and `p`'s links.
    pub(crate) unsafe fn push_back(&mut self, p: *mut Pool) {
        // SAFETY: caller owns the list and the pools in it.
        unsafe {
            (*p).next = ptr::null_mut();
            (*p).prev = self.tail;
            if self.tail.is_null() {
                self.head = p;
            } else {
                (*self.tail).next = p;
            }
            self.tail = p;
        }
    }

    /// Unlinks `p`.
    ///
    /// # Safety
    ///
    /// `p` is in this list and the caller owns it.
    pub(crate) unsafe fn remove(&mut self, p: *mut Pool) {
        // SAFETY: caller owns the list and the pools in it.
        unsafe {
            let (n, pr) = ((*p).next, (*p).prev);
            if pr.is_null() {
                self.head = n;
            } else {
                (*pr).next = n;
            }
            if n.is_null() {
                self.tail = pr;
            } else {
                (*n).prev = pr;
            }
            (*p).next = ptr::null_mut();
            (*p).prev = ptr::null_mut();
        }
    }

    /// Removes and returns the first pool, or null.
    ///
    /// # Safety
    ///
    /// The caller owns the list.
    pub(crate) unsafe fn pop_front(&mut self) -> *mut Pool {
        let p = self.head;
        if !p.is_null() {
            // SAFETY: `p` is in this list.
            unsafe { self.remove(p) };
        }
        p
    }
}
