//! The fast path: one magazine per thread index, a short stack of idle objects that only its
//! owner touches, with no lock; a get and a return cost no atomic read-modify-write beyond one
//! uncontended compare-and-swap on the owner's own cache line.
//!
//! Magazine `i` of a pool belongs to whichever live thread holds index `i` (see
//! [`thread_index`](crate::thread_index)), its *owner*. Only the owner pushes, pops, refills
//! and flushes it, so the objects need no lock. Other threads read its published length (for
//! statistics) and may take its *spare tokens*, nothing else.
//!
//! **Places.** Every object in a magazine holds one place of the pool's
//! [`Budget`](crate::budget::Budget). When the owner pops an object to lend it, its place is
//! not handed back to the shared counter (that would be a contended read-modify-write per
//! get): it stays here as a spare token, which the next return on this thread uses. A spare
//! token is a place that holds no idle object, so any thread that finds the budget used up
//! may take it (see [`take_token`](Magazine::take_token)): a return is dropped for the cap only
//! when every place holds a really idle object.
//!
//! Spare tokens are counted by two monotonic counters, `spare_in` (added by the owner alone,
//! with a plain store) and `spare_out` (taken by anyone, with a compare-and-swap that never
//! takes more than `spare_in` shows). An owner that adds a token never races with a taker, and
//! two takers never take the same token; a taker that reads an old `spare_in` only sees fewer
//! tokens than there are.
//!
//! | event (owner unless said) | objects | spare tokens | budget counter |
//! |---|---|---|---|
//! | pop to lend | -1 | +1 | |
//! | push a returned object (a spare token, else reserved) | +1 | -1 | (+k reserved) |
//! | flush the older half to a shared stack, or refill from one | -k / +k | | |
//! | trim, or drop stale objects after a `clear` | -k | | -k |
//! | hand back surplus spare tokens | | -k | -k |
//! | any thread takes a spare token for its own return | | -1 | |
//!
//! A magazine also remembers the pool's clear generation of its objects: after `Pool::clear`
//! on any thread, the owner drops stale objects on its next get or return instead of reusing
//! them.

use crate::sync::{AtomicU64, AtomicUsize, Ordering, UnsafeCell};

/// Adds `n` to a counter that only the current owner writes: a load and a store.
#[inline(always)]
fn add(counter: &AtomicUsize, n: usize) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

/// Adds one to a statistics counter that only the current owner writes.
#[inline(always)]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// Spare tokens from the two counters. `spare_in` is read with no ordering against
/// `spare_out`, so another thread may see an older (smaller) `spare_in` than the tokens already
/// taken: that reads as none left, never as a huge number (the difference is taken as signed).
#[inline(always)]
fn spare(spare_in: usize, spare_out: usize) -> usize {
    let d = spare_in.wrapping_sub(spare_out);
    if (d as isize) < 0 { 0 } else { d }
}

/// One thread's stack of idle objects in one pool.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct Magazine<T> {
    /// The idle objects, oldest first. Owner-only.
    objects: UnsafeCell<Vec<T>>,
    /// `objects.len()`, published for statistics.
    len: AtomicUsize,
    /// The most objects this magazine holds.
    capacity: usize,
    /// The clear generation of the objects here. Owner-only.
    generation: AtomicU64,
    /// Spare tokens ever added. Owner-only writes.
    spare_in: AtomicUsize,
    /// Spare tokens ever taken, by the owner or another thread.
    spare_out: AtomicUsize,
    /// Pops so far. Owner-only writes.
    reused: AtomicU64,
    /// Pushes so far. Owner-only writes.
    returned: AtomicU64,
}

// SAFETY: the objects of a magazine are only ever touched by the thread holding its index,
// and an index passes from one thread to the next through the registry's mutex (a
// happens-before edge). Sharing `&Magazine<T>` therefore never shares a `T`; it only moves
// objects between threads, which needs `T: Send`. Everything else is atomic.
unsafe impl<T: Send> Sync for Magazine<T> {}

// SAFETY: as above; a magazine owns its objects.
unsafe impl<T: Send> Send for Magazine<T> {}

impl<T> Magazine<T> {
    /// An empty magazine that holds at most `capacity` objects (allocated on first use).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            objects: UnsafeCell::new(Vec::new()),
            len: AtomicUsize::new(0),
            capacity,
            generation: AtomicU64::new(0),
            spare_in: AtomicUsize::new(0),
            spare_out: AtomicUsize::new(0),
            reused: AtomicU64::new(0),
            returned: AtomicU64::new(0),
        }
    }

    /// Pops the newest object, if there is one from generation `generation`; its place
    /// becomes a spare token.
    ///
    /// # Safety
    /// The calling thread must hold this magazine's index.
    #[inline(always)]
    pub(crate) unsafe fn pop(&self, generation: u64) -> Option<T> {
        if self.generation.load(Ordering::Relaxed) != generation {
            return None;
        }
        // SAFETY: we are the owner: nobody else touches the objects.
        let object = self.objects.with_mut(|v| unsafe { (*v).pop() })?;
        self.len
            .store(self.len.load(Ordering::Relaxed) - 1, Ordering::Relaxed);
        add(&self.spare_in, 1);
        bump(&self.reused);
        Some(object)
    }

    /// Pushes `object`, which holds a place already, unless the magazine is full or its
    /// objects are stale; then gives it back.
    ///
    /// # Safety
    /// The calling thread must hold this magazine's index.
    #[inline(always)]
    pub(crate) unsafe fn push(&self, object: T, generation: u64) -> Result<(), T> {
        let len = self.len.load(Ordering::Relaxed);
        if len == self.capacity || self.generation.load(Ordering::Relaxed) != generation {
            return Err(object);
        }
        // SAFETY: we are the owner: nobody else touches the objects.
        self.objects.with_mut(|v| unsafe { (*v).push(object) });
        self.len.store(len + 1, Ordering::Relaxed);
        bump(&self.returned);
        Ok(())
    }

    /// Takes one spare token, if there is one. Any thread may call this: the owner for its
    /// own return, another thread that found the budget used up.
    #[inline(always)]
    pub(crate) fn take_token(&self) -> bool {
        let mut out = self.spare_out.load(Ordering::Relaxed);
        loop {
            if spare(self.spare_in.load(Ordering::Relaxed), out) == 0 {
                return false;
            }
            match self.spare_out.compare_exchange_weak(
                out,
                out.wrapping_add(1),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => out = now,
            }
        }
    }

    /// Adds `n` spare tokens (places this thread holds that hold no object).
    ///
    /// # Safety
    /// The calling thread must hold this magazine's index.
    #[inline]
    pub(crate) unsafe fn add_spare(&self, n: usize) {
        add(&self.spare_in, n);
    }

    /// Takes spare tokens until at most `keep` are left, and returns how many it took (for
    /// the caller to release to the budget).
    pub(crate) fn take_surplus(&self, keep: usize) -> usize {
        let mut out = self.spare_out.load(Ordering::Relaxed);
        loop {
            let spare = spare(self.spare_in.load(Ordering::Relaxed), out);
            if spare <= keep {
                return 0;
            }
            let surplus = spare - keep;
            match self.spare_out.compare_exchange_weak(
                out,
                out.wrapping_add(surplus),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return surplus,
                Err(now) => out = now,
            }
        }
    }

    /// Runs `f` on the objects (oldest first) and publishes their new number. `f` must not
    /// run user code that could reach this pool (it moves objects, nothing else).
    ///
    /// # Safety
    /// The calling thread must hold this magazine's index.
    pub(crate) unsafe fn with_objects<R>(&self, f: impl FnOnce(&mut Vec<T>) -> R) -> R {
        // SAFETY: we are the owner: nobody else touches the objects.
        self.objects.with_mut(|v| {
            let v = unsafe { &mut *v };
            let r = f(v);
            debug_assert!(v.len() <= self.capacity);
            self.len.store(v.len(), Ordering::Relaxed);
            r
        })
    }

    /// Whether the objects here are from generation `generation`.
    ///
    /// # Safety
    /// The calling thread must hold this magazine's index.
    pub(crate) unsafe fn is_current(&self, generation: u64) -> bool {
        self.generation.load(Ordering::Relaxed) == generation
    }

    /// Takes every object out (they are stale, or being trimmed), marks the magazine as
    /// holding generation `generation`, and returns them for the caller to drop.
    ///
    /// # Safety
    /// The calling thread must hold this magazine's index.
    pub(crate) unsafe fn take_all(&self, generation: u64) -> Vec<T> {
        self.generation.store(generation, Ordering::Relaxed);
        // SAFETY: as the caller promises.
        unsafe { self.with_objects(std::mem::take) }
    }

    /// The most objects this magazine holds.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Idle objects here, as last published.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Spare tokens here now (a hint while the owner runs).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn spare(&self) -> usize {
        let out = self.spare_out.load(Ordering::Relaxed);
        spare(self.spare_in.load(Ordering::Relaxed), out)
    }

    /// Pops so far.
    pub(crate) fn reused(&self) -> u64 {
        self.reused.load(Ordering::Relaxed)
    }

    /// Pushes so far.
    pub(crate) fn returned(&self) -> u64 {
        self.returned.load(Ordering::Relaxed)
    }
}
