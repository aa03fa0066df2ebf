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

use crate::heap::Heap;
use crate::sync::{AtomicPtr, AtomicU32, Ordering};
use core::ptr;

/// Bytes per pool; pools are aligned to this.
pub(crate) const POOL_SIZE: usize = 16 * 1024;
/// Offset of the first block in a pool; a multiple of [`crate::size_class::MAX_ALIGN`].
pub(crate) const POOL_HEADER: usize = {
    let s = core::mem::size_of::<Pool>();
    (s + 127) & !127
};

/// Bits of a remote-list head that hold the list's length; block addresses are
/// below `1 << TAG_SHIFT` (checked when an arena is mapped).
pub(crate) const TAG_SHIFT: u32 = 48;
const ADDR_MASK: usize = (1 << TAG_SHIFT) - 1;

/// A free block: its first word links to the next free block.
#[repr(C)]
pub(crate) struct Block {
    pub(crate) next: *mut Block,
}

/// Where a pool sits for its owner.
pub(crate) mod state {
    /// The heap's current pool for its class (in no list).
    pub(crate) const CURRENT: u8 = 0;
    /// In the heap's partial list: has free blocks.
    pub(crate) const PARTIAL: u8 = 1;
    /// In the heap's full list: no free block the owner knows of.
    pub(crate) const FULL: u8 = 2;
    /// In the core's abandoned list; no owner.
    pub(crate) const ABANDONED: u8 = 3;
    /// Free in its arena.
    pub(crate) const FREE: u8 = 4;
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
    /// One of [`state`]'s values (owner only).
    pub(crate) state: u8,
    /// Whether `[bump, end)` is known to be zero (fresh from the OS or purged).
    pub(crate) zeroed: bool,
    /// The owning heap; null when abandoned or free. Only the owner stores its own address.
    pub(crate) owner: AtomicPtr<Heap>,
    /// Keeps `remote` off the owner's cache line.
    _pad: [u64; 1],
    /// Blocks freed by other threads, taken in bulk by the owner. The top 16
    /// bits of the head hold the list's length.
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
            state: state::FREE,
            zeroed: false,
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
            state: state::FREE,
            zeroed: false,
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
    pub(crate) unsafe fn init(pool: *mut Pool, class: usize, zeroed: bool, owner: *mut Heap) {
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
                    state: state::CURRENT,
                    zeroed,
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
            let n = (4096 / bs).clamp(1, left);
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

    /// Owner: forgets the free list of a pool with no live block and carves it
    /// afresh from the start, so blocks are handed out in address order again
    /// (a free list left by random-order frees scatters the next round).
    ///
    /// # Safety
    ///
    /// Called by the owner of an assigned pool whose `used` is 0 (so its remote
    /// list is empty and no block is live).
    pub(crate) unsafe fn reset_empty(pool: *mut Pool) {
        // SAFETY: the caller owns the pool; nothing in it is live.
        unsafe {
            (*pool).free = ptr::null_mut();
            (*pool).bump = pool.cast::<u8>().add(POOL_HEADER);
            (*pool).zeroed = false;
        }
    }

    /// Owner: takes one never-used block, which is zero when `zeroed` is set.
    ///
    /// # Safety
    ///
    /// Called by the owner of an assigned pool.
    pub(crate) unsafe fn bump_one(pool: *mut Pool) -> *mut u8 {
        // SAFETY: the block lies inside `[bump, end)` of the caller's pool.
        unsafe {
            let bs = (*pool).block_size as usize;
            let b = (*pool).bump;
            if (*pool).end.addr() - b.addr() < bs {
                return ptr::null_mut();
            }
            (*pool).bump = b.add(bs);
            Pool::add_used(pool, 1);
            b
        }
    }

    /// Owner: moves the remote list onto `free` and returns how many blocks it held.
    ///
    /// # Safety
    ///
    /// Called by the owner (or the holder of the abandoned list's lock) of an assigned pool.
    pub(crate) unsafe fn drain_remote(pool: *mut Pool) -> usize {
        // SAFETY: the caller owns the pool; the swapped-out list is ours alone,
        // and Acquire makes the pushers' link writes visible.
        unsafe {
            if (*pool).remote.load(Ordering::Relaxed).is_null() {
                return 0;
            }
            let tagged = (*pool).remote.swap(ptr::null_mut(), Ordering::Acquire);
            if tagged.is_null() {
                return 0;
            }
            // The count rides in the head's top bits: no walk over blocks that
            // are still in the freeing thread's cache.
            let n = tagged.addr() >> TAG_SHIFT;
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

    /// Any thread: frees `block` into a pool it does not own.
    ///
    /// # Safety
    ///
    /// `block` is a live block of `pool`, freed exactly once.
    #[inline]
    pub(crate) unsafe fn free_remote(pool: *mut Pool, block: *mut u8) {
        let block = block.cast::<Block>();
        // SAFETY: the block is ours until the CAS publishes it; the pool stays
        // assigned while the block is live (its `used` count includes it).
        unsafe {
            let remote = &(*pool).remote;
            let mut head = remote.load(Ordering::Relaxed);
            loop {
                // Links are plain addresses; the head carries the list length
                // (at most a pool's capacity) in its top bits.
                (*block).next = head.map_addr(|a| a & ADDR_MASK);
                let count = (head.addr() >> TAG_SHIFT) + 1;
                let new = block.map_addr(|a| a | (count << TAG_SHIFT));
                match remote.compare_exchange_weak(head, new, Ordering::Release, Ordering::Relaxed)
                {
                    Ok(_) => return,
                    Err(h) => head = h,
                }
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
