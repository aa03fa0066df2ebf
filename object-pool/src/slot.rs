//! The fast path: one front slot per thread index, where an object is reset and reused in
//! place, with no lock, no atomic read-modify-write and no copy of the object.
//!
//! Slot `i` of a pool belongs to whichever live thread holds index `i` (see
//! [`thread_index`](crate::thread_index)), its *owner*. A slot is in one of three states:
//!
//! - `EMPTY`: no object. Only the owner acts: it may store one (-> `FULL`).
//! - `FULL`: an idle object. Only the owner acts: it may lend it (-> `LENT`) or take it out
//!   (-> `EMPTY`, for `trim` / `clear` or because it is stale).
//! - `LENT`: the object is on loan to a guard, which points into the slot. Only the guard's
//!   holder acts, on whatever thread it has moved to: it gives the object back after its
//!   reset (-> `FULL`) or takes it out (-> `EMPTY`: refused, detached, or reset panicked).
//!
//! So at any moment exactly one thread may touch a slot's object and counters, and each
//! hand-over is a release store of `state` read with an acquire load by the next actor (on
//! x86 both are plain moves). A guard that moves to another thread carries its own
//! happens-before edge (whatever sent it). When the owner exits while its object is lent, the
//! next thread to lease the index becomes the owner and finds `LENT` until the holder is done.
//!
//! The cap: a slot may hold an object only while it owns one place of the pool's
//! `max_retained` budget (a *token*). It reserves the token from the shared budget (see
//! [`Shards::reserve`](crate::shards::Shards::reserve), a compare-and-swap on the slow path)
//! the first time it stores an object, and keeps it, so later stores are plain. Objects in
//! slots plus objects on the shared stacks never exceed `max_retained`.
//!
//! A slot remembers the pool's clear generation of its object: after `Pool::clear` on any
//! thread, the owner drops a stale object on its next `get` instead of lending it.

use std::mem::MaybeUninit;
use std::ptr::NonNull;

use crate::sync::{AtomicU64, AtomicUsize, Ordering, UnsafeCell};

const EMPTY: usize = 0;
const FULL: usize = 1;
const LENT: usize = 2;

/// One thread's front slot: at most one object, idle or lent.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct Slot<T> {
    /// `EMPTY`, `FULL` or `LENT`: who may touch the rest.
    state: AtomicUsize,
    /// Initialised exactly when `state` is `FULL` or `LENT`.
    object: UnsafeCell<MaybeUninit<T>>,
    /// The clear generation the object was stored in.
    generation: AtomicU64,
    /// 1 once this slot owns a place of the budget. Owner-only.
    token: AtomicUsize,
    /// Lends so far. Written by the current actor only.
    reused: AtomicU64,
    /// Objects stored or given back so far. Written by the current actor only.
    returned: AtomicU64,
}

// SAFETY: the object in a slot is only ever accessed by the one thread the state protocol
// above designates, and hand-overs are release/acquire pairs; sharing `&Slot<T>` therefore
// never shares a `T`, it only moves one between threads, which needs `T: Send`.
unsafe impl<T: Send> Sync for Slot<T> {}

// SAFETY: as above; a slot owns at most one `T`.
unsafe impl<T: Send> Send for Slot<T> {}

/// Adds one to a counter that only the current actor writes: a load and a store, no
/// read-modify-write.
#[inline(always)]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// What the owner found in its slot when it wanted an object.
pub(crate) enum Lend<T> {
    /// The object, now `LENT`: a pointer into the slot, valid until it is given back.
    Lent(NonNull<T>),
    /// Nothing idle here.
    Empty,
    /// A stale object (a `clear` happened since it was stored), taken out for the caller
    /// to drop.
    Stale(T),
}

impl<T> Slot<T> {
    pub(crate) fn new() -> Self {
        Self {
            state: AtomicUsize::new(EMPTY),
            object: UnsafeCell::new(MaybeUninit::uninit()),
            generation: AtomicU64::new(0),
            token: AtomicUsize::new(0),
            reused: AtomicU64::new(0),
            returned: AtomicU64::new(0),
        }
    }

    /// Lends the idle object if there is one from generation `generation`.
    ///
    /// # Safety
    /// The calling thread must hold this slot's index.
    #[inline]
    pub(crate) unsafe fn lend(&self, generation: u64) -> Lend<T> {
        if self.state.load(Ordering::Acquire) != FULL {
            return Lend::Empty;
        }
        if self.generation.load(Ordering::Relaxed) != generation {
            // SAFETY: `FULL` and we are the owner: the object is initialised and ours.
            let stale = self.object.with_mut(|p| unsafe { (*p).assume_init_read() });
            self.state.store(EMPTY, Ordering::Release);
            return Lend::Stale(stale);
        }
        bump(&self.reused);
        // Touch the object as the owner, so that loom checks this access against the
        // holder's, then hand it over.
        let object = self.object.with_mut(|p| p.cast::<T>());
        self.state.store(LENT, Ordering::Release);
        // SAFETY: a pointer into a live cell is never null.
        Lend::Lent(unsafe { NonNull::new_unchecked(object) })
    }

    /// Stores `object` if the slot is empty and owns a token, or gets one from `reserve`;
    /// else gives it back.
    ///
    /// # Safety
    /// The calling thread must hold this slot's index.
    #[inline]
    pub(crate) unsafe fn store(
        &self,
        object: T,
        generation: u64,
        reserve: impl FnOnce() -> bool,
    ) -> Result<(), T> {
        if self.state.load(Ordering::Acquire) != EMPTY {
            return Err(object);
        }
        if self.token.load(Ordering::Relaxed) == 0 {
            if !reserve() {
                return Err(object);
            }
            self.token.store(1, Ordering::Relaxed);
        }
        // SAFETY: `EMPTY` and we are the owner: nobody else touches the cell.
        self.object.with_mut(|p| unsafe { (*p).write(object) });
        self.generation.store(generation, Ordering::Relaxed);
        bump(&self.returned);
        self.state.store(FULL, Ordering::Release);
        Ok(())
    }

    /// Whether a store could be kept: the slot is empty and owns a token, or may get one.
    ///
    /// # Safety
    /// The calling thread must hold this slot's index.
    #[inline]
    pub(crate) unsafe fn can_store(&self, budget_left: impl FnOnce() -> bool) -> bool {
        self.state.load(Ordering::Acquire) == EMPTY
            && (self.token.load(Ordering::Relaxed) == 1 || budget_left())
    }

    /// Takes the idle object out, whatever its generation (the slot keeps its token).
    ///
    /// # Safety
    /// The calling thread must hold this slot's index.
    pub(crate) unsafe fn evict(&self) -> Option<T> {
        if self.state.load(Ordering::Acquire) != FULL {
            return None;
        }
        // SAFETY: `FULL` and we are the owner: the object is initialised and ours.
        let object = self.object.with_mut(|p| unsafe { (*p).assume_init_read() });
        self.state.store(EMPTY, Ordering::Release);
        Some(object)
    }

    /// Calls `f` on the lent object (to reset it in place).
    ///
    /// # Safety
    /// The caller must hold the guard this slot's object is lent to.
    #[inline]
    pub(crate) unsafe fn with_lent<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: `LENT` to the caller: the object is initialised and nobody else touches it.
        self.object
            .with_mut(|p| f(unsafe { (*p).assume_init_mut() }))
    }

    /// Gives the lent object back, idle again (after its reset).
    ///
    /// # Safety
    /// The caller must hold the guard this slot's object is lent to, and give it up.
    #[inline]
    pub(crate) unsafe fn give_back(&self, generation: u64) {
        // Touch the object as its holder (see `lend`).
        self.object.with_mut(|_| ());
        self.generation.store(generation, Ordering::Relaxed);
        bump(&self.returned);
        self.state.store(FULL, Ordering::Release);
    }

    /// Takes the lent object out of the slot for good, leaving it empty.
    ///
    /// # Safety
    /// The caller must hold the guard this slot's object is lent to, and give it up.
    pub(crate) unsafe fn take_lent(&self) -> T {
        // SAFETY: `LENT` to the caller: the object is initialised and the caller's.
        let object = self.object.with_mut(|p| unsafe { (*p).assume_init_read() });
        self.state.store(EMPTY, Ordering::Release);
        object
    }

    /// Idle objects here (0 or 1), as last published.
    pub(crate) fn idle(&self) -> usize {
        usize::from(self.state.load(Ordering::Relaxed) == FULL)
    }

    /// Lends so far.
    pub(crate) fn reused(&self) -> u64 {
        self.reused.load(Ordering::Relaxed)
    }

    /// Stores and give-backs so far.
    pub(crate) fn returned(&self) -> u64 {
        self.returned.load(Ordering::Relaxed)
    }
}

impl<T> Drop for Slot<T> {
    fn drop(&mut self) {
        // No guard outlives its pool, so the slot is never `LENT` here.
        if self.state.load(Ordering::Acquire) == FULL {
            // SAFETY: `FULL`: the object is initialised, and `&mut self` is exclusive.
            self.object.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
}
