//! Remote frees batched by owner, as snmalloc's message passing does it: a thread that frees a
//! block of another heap's pool parks it in its own [`Outbox`], in the batch for that heap; a
//! full batch, or a flush, is posted to that heap's [`Inbox`] with one compare-and-swap; the
//! owner takes its whole inbox with one swap on its allocation slow path and frees each block
//! into its pool as its own free, with plain stores. Without batches every remote free was a
//! compare-and-swap on the pool's remote list, and consecutive remote frees land in different
//! pools.
//!
//! A parked block is still live to its pool (the pool's `used` counts it), so the pool stays
//! assigned. Whoever takes a list frees each block by its pool's owner at that time: as its
//! own free if it is the owner, else onto the pool's remote list (the unbatched path, which
//! also gives a listed pool back at its last live block). How long a block can stay parked:
//!
//! | parked in                   | until the first of                                                                 |
//! |-----------------------------|------------------------------------------------------------------------------------|
//! | the freeing thread's outbox | its batch holds [`REMOTE_BATCH`] blocks; a free to another heap takes the batch's slot; the freeing thread's allocation slow path, `collect()` or exit |
//! | the owner's inbox           | the owner's allocation slow path, `collect()` or exit; a post that finds more than the core's inbox limit ([`INBOX_LIMIT`]) waiting there; `collect()` from any thread |
//!
//! So an idle owner keeps at most [`INBOX_LIMIT`] plus one batch per other thread parked in
//! its inbox, and nothing after a `collect()` from any thread; the blocks an idle freeing
//! thread parked wait for it (at most [`OUTBOX_SLOTS`] batches).
//!
//! The inbox's head word holds the first block's address and, in its top bits, the number of
//! blocks waiting (as a pool's remote list does), so a poster learns the count from the word
//! its compare-and-swap replaced.

use crate::pool::{Block, HeapId, TAG_SHIFT};
use crate::sync::{AtomicPtr, Ordering};
pub(crate) use crate::tunables::{INBOX_LIMIT, OUTBOX_SLOTS, REMOTE_BATCH};
use core::ptr;

const ADDR_MASK: usize = (1 << TAG_SHIFT) - 1;
/// The most blocks an inbox's head word can count.
const COUNT_MAX: usize = 0xffff;

/// The number of blocks waiting in the inbox whose head word is `h`.
fn count_of(h: *mut Block) -> usize {
    h.addr() >> TAG_SHIFT
}

/// Blocks parked for one heap: a list linked through the blocks' first words.
#[derive(Clone, Copy)]
pub(crate) struct Batch {
    /// The heap they go to.
    pub(crate) dest: *mut HeapId,
    head: *mut Block,
    tail: *mut Block,
    len: usize,
}

impl Batch {
    const EMPTY: Batch = Batch {
        dest: ptr::null_mut(),
        head: ptr::null_mut(),
        tail: ptr::null_mut(),
        len: 0,
    };

    /// The first block of the batch's list (null when empty).
    pub(crate) fn head(&self) -> *mut Block {
        self.head
    }
}

/// A heap's parked remote frees, by destination heap: [`OUTBOX_SLOTS`] batches, each heap
/// mapped to one slot by its address. Touched by its heap's owner alone.
pub(crate) struct Outbox {
    slots: [Batch; OUTBOX_SLOTS],
    /// Blocks parked in all slots.
    parked: usize,
}

impl Outbox {
    /// No block parked.
    pub(crate) const EMPTY: Outbox = Outbox {
        slots: [Batch::EMPTY; OUTBOX_SLOTS],
        parked: 0,
    };

    /// Blocks parked now.
    #[inline]
    pub(crate) fn parked(&self) -> usize {
        self.parked
    }

    /// Parks `block` for the heap `dest`; returns a batch to post, if one is due (the slot's
    /// previous batch, for another heap, or the slot's batch once it holds `batch` blocks, the
    /// core's setting: [`REMOTE_BATCH`]).
    ///
    /// # Safety
    ///
    /// `block` is a live pool block whose owner was `dest`, freed once, by the outbox's owner.
    #[inline]
    pub(crate) unsafe fn park(
        &mut self,
        dest: *mut HeapId,
        block: *mut u8,
        batch: usize,
    ) -> Option<Batch> {
        // Heaps are a few KiB apart: their addresses' bits above that spread them over slots.
        let slot = &mut self.slots[(dest.addr() >> 12) % OUTBOX_SLOTS];
        let mut due = None;
        if slot.dest != dest && slot.len > 0 {
            due = Some(*slot);
            self.parked -= slot.len;
            *slot = Batch::EMPTY;
        }
        let b = block.cast::<Block>();
        // SAFETY: the block is ours to link until it is posted.
        unsafe { (*b).next = slot.head };
        if slot.len == 0 {
            slot.tail = b;
        }
        slot.dest = dest;
        slot.head = b;
        slot.len += 1;
        self.parked += 1;
        if slot.len >= batch {
            // Only one of the two can be due: a slot taken over holds one block.
            due = Some(*slot);
            self.parked -= slot.len;
            *slot = Batch::EMPTY;
        }
        due
    }

    /// Takes every parked batch out, for posting.
    pub(crate) fn take_all(&mut self) -> impl Iterator<Item = Batch> + use<> {
        let slots = core::mem::replace(&mut self.slots, [Batch::EMPTY; OUTBOX_SLOTS]);
        self.parked = 0;
        slots.into_iter().filter(|b| b.len > 0)
    }
}

/// Batches posted to a heap by other threads: one list of blocks, pushed onto with a
/// compare-and-swap per batch and taken whole with a swap.
pub(crate) struct Inbox {
    head: AtomicPtr<Block>,
}

impl Inbox {
    /// An empty inbox.
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Self {
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// An empty inbox (loom: atomics are not `const`).
    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Self {
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Whether no block waits (a relaxed look, for the owner's slow path).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        count_of(self.head.load(Ordering::Relaxed)) == 0
    }

    /// Posts `batch` (not empty); returns the number of blocks waiting after it, or gives the
    /// batch back when the count would not fit the head word.
    ///
    /// # Safety
    ///
    /// The batch's blocks are the caller's, linked by the outbox.
    pub(crate) unsafe fn post(&self, batch: Batch) -> Result<usize, Batch> {
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let count = count_of(head) + batch.len;
            if count > COUNT_MAX {
                return Err(batch);
            }
            // SAFETY: the batch is ours until the exchange publishes it.
            unsafe { (*batch.tail).next = head.map_addr(|a| a & ADDR_MASK) };
            let new = batch.head.map_addr(|a| a | (count << TAG_SHIFT));
            // Release: the takers see the batch's links.
            match self
                .head
                .compare_exchange_weak(head, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return Ok(count),
                Err(h) => head = h,
            }
        }
    }

    /// Takes every waiting block: the head of their list (null when none waits).
    pub(crate) fn take(&self) -> *mut Block {
        if self.is_empty() {
            return ptr::null_mut();
        }
        // Acquire: pairs with the posters' Release, so their links are visible.
        let h = self.head.swap(ptr::null_mut(), Ordering::Acquire);
        h.map_addr(|a| a & ADDR_MASK)
    }
}
