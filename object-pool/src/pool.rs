//! The pool: construction, `get` / return, `put`, `trim` / `clear` and statistics.
//!
//! `get` looks in the calling thread's front slot (no lock, no atomic read-modify-write),
//! then in the shared stacks (home shard, then stealing), and only then calls `create`. A
//! return resets the object in the returning thread, outside any lock, then offers it to the
//! front slot, then to the shared stacks, and drops it when both are full.

use std::fmt;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

use crate::guard::{Loan, OwnedPooled, Pooled};
use crate::reset::Reset;
use crate::shards::Shards;
use crate::slot::{Lend, Slot};
use crate::stats::Stats;
use crate::sync::{Arc, AtomicU64, Ordering};
use crate::thread_index;

type CreateFn<T> = Box<dyn Fn() -> T + Send + Sync>;

/// How returned objects are reset: the `Reset` trait (a plain function pointer, so that `T`
/// need not be `'static`) or the user's closure.
enum ResetFn<T> {
    Trait(fn(&mut T) -> bool),
    Closure(Box<dyn Fn(&mut T) -> bool + Send + Sync>),
}

/// A thread-safe pool of reusable objects with reset-on-return and a retention cap.
///
/// [`get`](Pool::get) always returns an object, reused or freshly created, inside a guard
/// that derefs to `T` and gives the object back when dropped. The pool keeps at most
/// `max_retained` idle objects; see the [crate documentation](crate) for the design.
///
/// ```
/// use object_pool::Pool;
///
/// let pool: Pool<Vec<u8>> = Pool::new(64, || Vec::with_capacity(4096));
/// let mut buf = pool.get();
/// buf.extend_from_slice(b"hello");
/// drop(buf); // cleared and kept
/// assert_eq!(pool.get().len(), 0);
/// ```
///
/// A pool is `Send` and `Sync` exactly when `T` is `Send`; a pool of `Rc` is neither:
///
/// ```compile_fail
/// fn shared<S: Sync>(_: &S) {}
/// let pool = object_pool::Pool::with_reset(4, || std::rc::Rc::new(0u8), |_| true);
/// shared(&pool);
/// ```
///
/// ```compile_fail
/// fn sent<S: Send>(_: S) {}
/// let pool = object_pool::Pool::with_reset(4, || std::rc::Rc::new(0u8), |_| true);
/// sent(pool);
/// ```
pub struct Pool<T> {
    /// Front slots, indexed by thread index; slot `i` is touched only by its holder.
    slots: Box<[Slot<T>]>,
    /// The shared stacks.
    shards: Shards<T>,
    create: CreateFn<T>,
    reset: ResetFn<T>,
    max_retained: usize,
    /// Bumped by `clear`: front-slot objects stored before it are stale.
    generation: AtomicU64,
    created: AtomicU64,
    dropped_full: AtomicU64,
    dropped_refused: AtomicU64,
    dropped_trimmed: AtomicU64,
}

/// How many front slots and shards a pool gets by default.
#[cfg(not(loom))]
fn default_layout() -> (usize, usize) {
    let cpus = std::thread::available_parallelism().map_or(4, |n| n.get());
    (
        (4 * cpus).clamp(4, 256),
        cpus.next_power_of_two().clamp(2, 64),
    )
}

/// Under loom: one front slot (the first thread to use the pools) and two shards, so that
/// the models reach the shared stacks and stealing with two or three threads.
#[cfg(loom)]
fn default_layout() -> (usize, usize) {
    (1, 2)
}

impl<T: Reset> Pool<T> {
    /// A pool that keeps at most `max_retained` idle objects, makes new ones with `create`,
    /// and resets returned ones with [`Reset::reset`].
    ///
    /// `max_retained == 0` never keeps an object.
    ///
    /// ```
    /// use object_pool::Pool;
    ///
    /// let pool = Pool::new(8, String::new);
    /// pool.get().push_str("scratch");
    /// assert_eq!(*pool.get(), "");
    /// assert_eq!(pool.stats().created, 1);
    /// ```
    pub fn new(max_retained: usize, create: impl Fn() -> T + Send + Sync + 'static) -> Self {
        Self::build(max_retained, Box::new(create), ResetFn::Trait(T::reset))
    }
}

impl<T> Pool<T> {
    /// A pool for any `T`: `reset` is called on every returned object (in the returning
    /// thread, outside any lock) and returns `false` to refuse it, which drops it.
    ///
    /// ```
    /// use object_pool::Pool;
    ///
    /// // Keep buffers, but not those that grew past 1 MiB.
    /// let pool = Pool::with_reset(16, || Vec::<u8>::with_capacity(4096), |buf| {
    ///     buf.clear();
    ///     buf.capacity() <= 1 << 20
    /// });
    /// pool.get().reserve(2 << 20);
    /// assert_eq!(pool.stats().dropped_refused, 1);
    /// assert_eq!(pool.stats().idle, 0);
    /// ```
    pub fn with_reset(
        max_retained: usize,
        create: impl Fn() -> T + Send + Sync + 'static,
        reset: impl Fn(&mut T) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self::build(
            max_retained,
            Box::new(create),
            ResetFn::Closure(Box::new(reset)),
        )
    }

    fn build(max_retained: usize, create: CreateFn<T>, reset: ResetFn<T>) -> Self {
        let (slots, shards) = default_layout();
        let slots = if max_retained == 0 { 0 } else { slots };
        let shards = shards.min(max_retained.max(1));
        Self {
            slots: (0..slots).map(|_| Slot::new()).collect(),
            shards: Shards::new(shards, max_retained),
            create,
            reset,
            max_retained,
            generation: AtomicU64::new(0),
            created: AtomicU64::new(0),
            dropped_full: AtomicU64::new(0),
            dropped_refused: AtomicU64::new(0),
            dropped_trimmed: AtomicU64::new(0),
        }
    }

    /// The cap on idle objects this pool was made with.
    ///
    /// ```
    /// let pool: object_pool::Pool<Vec<u8>> = object_pool::Pool::new(64, Vec::new);
    /// assert_eq!(pool.max_retained(), 64);
    /// ```
    pub fn max_retained(&self) -> usize {
        self.max_retained
    }

    /// An object, reused if one is idle, else made by `create`, in a guard that derefs to
    /// `T` and returns the object to the pool when dropped.
    ///
    /// If `create` panics, the panic propagates and the pool is unchanged.
    ///
    /// ```
    /// use object_pool::Pool;
    ///
    /// let pool: Pool<Vec<u32>> = Pool::new(4, Vec::new);
    /// let mut v = pool.get();
    /// v.push(7);
    /// assert_eq!(v[0], 7);
    /// ```
    #[inline]
    pub fn get(&self) -> Pooled<'_, T> {
        Pooled::new(self, self.take_or_create())
    }

    /// An idle object if there is one; never calls `create`.
    ///
    /// ```
    /// use object_pool::Pool;
    ///
    /// let pool: Pool<String> = Pool::new(4, String::new);
    /// assert!(pool.try_get().is_none());
    /// drop(pool.get());
    /// assert!(pool.try_get().is_some());
    /// ```
    #[inline]
    pub fn try_get(&self) -> Option<Pooled<'_, T>> {
        self.take_idle().map(|loan| Pooled::new(self, loan))
    }

    fn get_owned_impl(this: &Arc<Self>) -> OwnedPooled<T> {
        OwnedPooled::new(Arc::clone(this), this.take_or_create())
    }

    fn try_get_owned_impl(this: &Arc<Self>) -> Option<OwnedPooled<T>> {
        this.take_idle()
            .map(|loan| OwnedPooled::new(Arc::clone(this), loan))
    }

    /// Like [`get`](Pool::get), but the guard holds an `Arc` of the pool instead of a
    /// borrow, so it can be `'static`: stored, or sent to another thread.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use object_pool::Pool;
    ///
    /// let pool: Arc<Pool<Vec<u8>>> = Arc::new(Pool::new(4, Vec::new));
    /// let mut buf = pool.get_owned();
    /// std::thread::spawn(move || buf.push(1)).join().unwrap();
    /// assert_eq!(pool.stats().returned, 1);
    /// ```
    #[cfg(not(loom))]
    pub fn get_owned(self: &Arc<Self>) -> OwnedPooled<T> {
        Self::get_owned_impl(self)
    }

    /// Like [`try_get`](Pool::try_get), with an owned guard (see [`get_owned`](Pool::get_owned)).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use object_pool::Pool;
    ///
    /// let pool: Arc<Pool<Vec<u8>>> = Arc::new(Pool::new(4, Vec::new));
    /// assert!(pool.try_get_owned().is_none());
    /// pool.put(Vec::new());
    /// assert!(pool.try_get_owned().is_some());
    /// ```
    #[cfg(not(loom))]
    pub fn try_get_owned(self: &Arc<Self>) -> Option<OwnedPooled<T>> {
        Self::try_get_owned_impl(self)
    }

    /// Under loom (whose `Arc` is not a method receiver): call as `Pool::get_owned(&pool)`.
    #[cfg(loom)]
    pub fn get_owned(this: &Arc<Self>) -> OwnedPooled<T> {
        Self::get_owned_impl(this)
    }

    /// Under loom: call as `Pool::try_get_owned(&pool)`.
    #[cfg(loom)]
    pub fn try_get_owned(this: &Arc<Self>) -> Option<OwnedPooled<T>> {
        Self::try_get_owned_impl(this)
    }

    /// Hands in an object made elsewhere. It is reset and kept like a returned one (or
    /// dropped, when refused or when the pool is full).
    ///
    /// ```
    /// use object_pool::Pool;
    ///
    /// let pool: Pool<Vec<u8>> = Pool::new(4, Vec::new);
    /// pool.put(vec![1, 2, 3]);
    /// let v = pool.get();
    /// assert!(v.is_empty() && v.capacity() >= 3);
    /// assert_eq!(pool.stats().created, 0);
    /// ```
    pub fn put(&self, object: T) {
        self.recycle(object);
    }

    /// Drops idle objects until at most `keep` are left in the shared stacks and the calling
    /// thread's front slot, and returns how many were dropped.
    ///
    /// Other threads' front slots (at most one object each) are not reached; they count
    /// towards `max_retained` and [`Stats::idle`], are reused by their thread, and are dropped
    /// with the pool. Objects are dropped after every lock is released.
    ///
    /// ```
    /// use object_pool::Pool;
    ///
    /// let pool: Pool<Vec<u8>> = Pool::new(32, Vec::new);
    /// for _ in 0..10 { pool.put(Vec::new()); }
    /// assert_eq!(pool.trim(4), 6);
    /// assert_eq!(pool.stats().idle, 4);
    /// ```
    pub fn trim(&self, keep: usize) -> usize {
        let own = thread_index::current().and_then(|i| self.slots.get(i));
        let own_full = own.is_some_and(|slot| slot.idle() == 1);
        let mut doomed = self
            .shards
            .drain_to(keep.saturating_sub(usize::from(own_full)));
        if keep == 0 {
            // SAFETY: as above, `own` is this thread's slot.
            doomed.extend(own.and_then(|slot| unsafe { slot.evict() }));
        }
        let n = doomed.len();
        self.dropped_trimmed.fetch_add(n as u64, Ordering::Relaxed);
        drop(doomed);
        n
    }

    /// Drops every idle object in the shared stacks and in the calling thread's front slot,
    /// and returns how many. Objects in other threads' front slots (at most one each) become
    /// stale: their thread drops them instead of reusing them on its next `get`, and the
    /// pool drops them when it is dropped.
    ///
    /// ```
    /// use object_pool::Pool;
    ///
    /// let pool: Pool<Vec<u8>> = Pool::new(16, Vec::new);
    /// pool.put(Vec::new());
    /// pool.put(Vec::new());
    /// assert_eq!(pool.clear(), 2);
    /// assert_eq!(pool.stats().idle, 0);
    /// ```
    pub fn clear(&self) -> usize {
        self.generation.fetch_add(1, Ordering::Relaxed);
        self.trim(0)
    }

    /// The pool's counters now.
    ///
    /// ```
    /// use object_pool::Pool;
    ///
    /// let pool: Pool<Vec<u8>> = Pool::new(4, Vec::new);
    /// drop(pool.get());
    /// drop(pool.get());
    /// let s = pool.stats();
    /// assert_eq!((s.created, s.reused, s.returned, s.idle), (1, 1, 2, 1));
    /// ```
    pub fn stats(&self) -> Stats {
        let mut stats = Stats {
            created: self.created.load(Ordering::Relaxed),
            reused: self.shards.reused(),
            returned: self.shards.returned(),
            dropped_full: self.dropped_full.load(Ordering::Relaxed),
            dropped_refused: self.dropped_refused.load(Ordering::Relaxed),
            dropped_trimmed: self.dropped_trimmed.load(Ordering::Relaxed),
            idle: self.shards.idle(),
        };
        for slot in self.slots.iter() {
            stats.reused += slot.reused();
            stats.returned += slot.returned();
            stats.idle += slot.idle();
        }
        stats
    }

    /// An idle object: lent in place from this thread's front slot, else popped from the
    /// shared stacks.
    #[inline(always)]
    fn take_idle(&self) -> Option<Loan<T>> {
        let thread = thread_index::current();
        if let Some(slot) = thread.and_then(|i| self.slots.get(i)) {
            // SAFETY: `slot` is the slot of this thread's own index.
            match unsafe { slot.lend(self.generation.load(Ordering::Relaxed)) } {
                Lend::Lent(object) => {
                    return Some(Loan::Lent {
                        slot: NonNull::from(slot),
                        object,
                    });
                }
                Lend::Empty => {}
                Lend::Stale(stale) => {
                    self.dropped_trimmed.fetch_add(1, Ordering::Relaxed);
                    drop(stale);
                }
            }
        }
        self.shards
            .pop(thread)
            .map(|object| Loan::Owned(ManuallyDrop::new(object)))
    }

    #[inline(always)]
    fn take_or_create(&self) -> Loan<T> {
        match self.take_idle() {
            Some(loan) => loan,
            None => Loan::Owned(ManuallyDrop::new(self.create_new())),
        }
    }

    #[cold]
    fn create_new(&self) -> T {
        let object = (self.create)();
        self.created.fetch_add(1, Ordering::Relaxed);
        object
    }

    /// Takes back an object: reset (outside any lock), then kept in the front slot or the
    /// shared stacks, or dropped.
    #[inline]
    pub(crate) fn recycle(&self, mut object: T) {
        let thread = thread_index::current();
        let slot = thread.and_then(|i| self.slots.get(i));
        // SAFETY: `slot` is the slot of this thread's own index.
        let slot_free = slot.is_some_and(|s| unsafe { s.can_store(|| self.shards.has_room()) });
        if !slot_free && !self.shards.has_room() {
            self.dropped_full.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if !self.reset_or_refuse(&mut object) {
            self.dropped_refused.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if slot_free && let Some(slot) = slot {
            let generation = self.generation.load(Ordering::Relaxed);
            // SAFETY: `slot` is the slot of this thread's own index.
            match unsafe { slot.store(object, generation, || self.shards.reserve()) } {
                Ok(()) => return,
                Err(back) => object = back,
            }
        }
        if self.shards.push(thread, object).is_err() {
            self.dropped_full.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Takes back an object lent from `slot`: reset in place, then idle again or, when
    /// refused, taken out and dropped.
    ///
    /// # Safety
    /// The caller holds the guard `slot`'s object is lent to, and gives it up.
    #[inline(always)]
    pub(crate) unsafe fn give_back_lent(&self, slot: &Slot<T>) {
        /// If the reset panics: take the object out (the slot becomes empty), count it as
        /// refused, and drop it, once.
        struct OnUnwind<'a, T>(&'a Slot<T>, &'a AtomicU64);
        impl<T> Drop for OnUnwind<'_, T> {
            fn drop(&mut self) {
                self.1.fetch_add(1, Ordering::Relaxed);
                // SAFETY: the slot is still lent to the guard being dropped.
                drop(unsafe { self.0.take_lent() });
            }
        }
        let on_unwind = OnUnwind(slot, &self.dropped_refused);
        // SAFETY: the slot is lent to our caller's guard: the object is initialised and
        // nobody else touches it until `give_back` or `take_lent`.
        let keep = unsafe { slot.with_lent(|object| self.run_reset(object)) };
        std::mem::forget(on_unwind);
        if keep {
            // SAFETY: as above; the guard gives the object up here.
            unsafe { slot.give_back(self.generation.load(Ordering::Relaxed)) };
        } else {
            self.dropped_refused.fetch_add(1, Ordering::Relaxed);
            // SAFETY: as above.
            drop(unsafe { slot.take_lent() });
        }
    }

    #[inline(always)]
    fn run_reset(&self, object: &mut T) -> bool {
        match &self.reset {
            ResetFn::Trait(reset) => reset(object),
            ResetFn::Closure(reset) => reset(object),
        }
    }

    /// Runs the reset; if it panics, counts the object as refused (it is dropped by the
    /// unwinding, once, in the caller's frame).
    #[inline]
    fn reset_or_refuse(&self, object: &mut T) -> bool {
        struct CountIfUnwinding<'a>(&'a AtomicU64);
        impl Drop for CountIfUnwinding<'_> {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let on_panic = CountIfUnwinding(&self.dropped_refused);
        let keep = self.run_reset(object);
        std::mem::forget(on_panic);
        keep
    }
}

impl<T> fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("max_retained", &self.max_retained)
            .field("front_slots", &self.slots.len())
            .field("shards", &self.shards.count())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}
