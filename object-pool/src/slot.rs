//! The fast path: one front slot per thread index, touched only by the thread that owns it.
//!
//! Slot `i` of a pool belongs to whichever live thread holds index `i` (see
//! [`thread_index`](crate::thread_index)); no other thread ever reads or writes its object, so
//! taking and storing an object is a plain load and store, with no atomic read-modify-write
//! and no lock. The atomics a slot has are written only by its owner (a relaxed load and
//! store each, i.e. plain moves) and read by other threads only for statistics.
//!
//! The cap: a slot may hold an object only while it owns one place of the pool's
//! `max_retained` budget (a *token*). It reserves the token from the shared budget (see
//! [`Shards::reserve`](crate::shards::Shards::reserve), a compare-and-swap on the slow path)
//! the first time it stores an object, and then keeps it, so later stores and takes are
//! plain again. Objects in slots plus objects in the shared stacks therefore never exceed
//! `max_retained`, and a single thread can fill the whole budget.
//!
//! A slot remembers the pool's clear generation when it was filled: after `Pool::clear` on
//! any thread, the owner drops its stale object on its next use of the pool instead of
//! reusing it.

use crate::sync::{AtomicU64, AtomicUsize, Ordering, UnsafeCell};

/// What a slot holds, touched only by its owner.
#[derive(Debug)]
struct Front<T> {
    /// The idle object and the clear generation it was stored in.
    object: Option<(T, u64)>,
    /// Whether this slot owns a place of the pool's budget.
    token: bool,
}

/// One thread's front slot: at most one idle object.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct Slot<T> {
    /// The idle object and its token. Owner-only.
    front: UnsafeCell<Front<T>>,
    /// 1 while `object` holds something: a mirror for statistics. Owner-written.
    full: AtomicUsize,
    /// Gets this slot served. Owner-written.
    reused: AtomicU64,
    /// Returns this slot kept. Owner-written.
    returned: AtomicU64,
}

// SAFETY: the object in a slot is only ever accessed by the thread that holds the slot's
// index (an exclusive lease, handed between threads under the registry's mutex), so sharing
// `&Slot<T>` between threads never shares a `T`; it only moves a `T` from the thread that
// stored it to the next holder of the index, which needs `T: Send`.
unsafe impl<T: Send> Sync for Slot<T> {}

/// Adds one to an owner-written counter: a relaxed load and store, no read-modify-write.
#[inline(always)]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

impl<T> Slot<T> {
    pub(crate) fn new() -> Self {
        Self {
            front: UnsafeCell::new(Front {
                object: None,
                token: false,
            }),
            full: AtomicUsize::new(0),
            reused: AtomicU64::new(0),
            returned: AtomicU64::new(0),
        }
    }

    /// Takes the idle object if there is one from generation `generation`; an object from an
    /// older generation (a `clear` happened since) is returned in `Err` for the caller to drop.
    ///
    /// # Safety
    /// The calling thread must hold this slot's index.
    #[inline]
    pub(crate) unsafe fn take(&self, generation: u64) -> Result<Option<T>, T> {
        // SAFETY: the caller holds the slot's index, so no other thread accesses `object`.
        let taken = self.front.with_mut(|p| unsafe { (*p).object.take() });
        match taken {
            None => Ok(None),
            Some((object, stored)) => {
                self.full.store(0, Ordering::Relaxed);
                if stored == generation {
                    bump(&self.reused);
                    Ok(Some(object))
                } else {
                    Err(object)
                }
            }
        }
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
        // SAFETY: the caller holds the slot's index, so no other thread accesses `front`.
        self.front.with_mut(|p| {
            // SAFETY: as above; the reference lives only inside this closure.
            let front = unsafe { &mut *p };
            if front.object.is_some() || !(front.token || reserve()) {
                return Err(object);
            }
            front.token = true;
            front.object = Some((object, generation));
            self.full.store(1, Ordering::Relaxed);
            bump(&self.returned);
            Ok(())
        })
    }

    /// Whether a store could be kept: the slot is empty and owns a token, or may get one.
    ///
    /// # Safety
    /// The calling thread must hold this slot's index.
    #[inline]
    pub(crate) unsafe fn can_store(&self, budget_left: impl FnOnce() -> bool) -> bool {
        // SAFETY: the caller holds the slot's index, so no other thread accesses `front`.
        self.front
            .with(|p| unsafe { (*p).object.is_none() && ((*p).token || budget_left()) })
    }

    /// Whether the slot is empty (so a return would be kept).
    ///
    /// # Safety
    /// The calling thread must hold this slot's index.
    #[inline]
    pub(crate) unsafe fn is_empty(&self) -> bool {
        // SAFETY: the caller holds the slot's index, so no other thread accesses `object`.
        self.front.with(|p| unsafe { (*p).object.is_none() })
    }

    /// Removes the idle object, whatever its generation (the slot keeps its token).
    ///
    /// # Safety
    /// The calling thread must hold this slot's index.
    pub(crate) unsafe fn evict(&self) -> Option<T> {
        // SAFETY: the caller holds the slot's index, so no other thread accesses `object`.
        let taken = self.front.with_mut(|p| unsafe { (*p).object.take() });
        if taken.is_some() {
            self.full.store(0, Ordering::Relaxed);
        }
        taken.map(|(object, _)| object)
    }

    /// Idle objects here (0 or 1), as last published by the owner.
    pub(crate) fn idle(&self) -> usize {
        self.full.load(Ordering::Relaxed)
    }

    /// Gets served here so far.
    pub(crate) fn reused(&self) -> u64 {
        self.reused.load(Ordering::Relaxed)
    }

    /// Returns kept here so far.
    pub(crate) fn returned(&self) -> u64 {
        self.returned.load(Ordering::Relaxed)
    }
}
