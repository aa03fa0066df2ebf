//! The pool: construction, get / return, `put`, `prefill`, `trim` / `clear` and statistics.
//!
//! A get pops from the calling thread's magazine, else refills the magazine with a batch from
//! the shared stacks, else calls `create`. A return first finds a place for the object (a
//! spare token of its own magazine, else a batch reserved from the budget, else a spare token
//! taken from another magazine), resets it outside any lock, and pushes it onto its magazine,
//! flushing the older half to the shared stacks when the magazine is full. A return that finds
//! no place is dropped without a reset: then every place holds an idle object.

use std::fmt;
use std::ptr::NonNull;

use crate::budget::Budget;
use crate::guard::{Loan, OwnedPooled, Pooled};
use crate::magazine::{Lent, MAX_SLOTS, Magazine};
use crate::reset::Reset;
use crate::shards::Shards;
use crate::stats::Stats;
use crate::sync::{Arc, AtomicU64, Ordering};
use crate::{thread_index, tunables};

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
/// use recycle_pool::Pool;
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
/// let pool = recycle_pool::Pool::with_reset(4, || std::rc::Rc::new(0u8), |_| true);
/// shared(&pool);
/// ```
///
/// ```compile_fail
/// fn sent<S: Send>(_: S) {}
/// let pool = recycle_pool::Pool::with_reset(4, || std::rc::Rc::new(0u8), |_| true);
/// sent(pool);
/// ```
pub struct Pool<T> {
    /// Magazines, indexed by thread index; magazine `i` is touched only by its holder.
    magazines: Box<[Magazine<T>]>,
    /// Bumped by `clear`: objects of older generations are stale. Read on every get and
    /// return, written by `clear` alone.
    generation: AtomicU64,
    /// The shared stacks.
    shards: Shards<T>,
    /// Places of `max_retained` taken.
    budget: Budget,
    create: CreateFn<T>,
    reset: ResetFn<T>,
    max_retained: usize,
    /// Counters of the slow paths, away from the fields every get reads.
    counters: Counters,
}

/// Counters written on the slow paths (the fast path's live in the magazines).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Counters {
    created: AtomicU64,
    dropped_full: AtomicU64,
    dropped_refused: AtomicU64,
    dropped_trimmed: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// How many magazines and shards a pool gets by default.
#[cfg(not(loom))]
fn default_layout() -> (usize, usize) {
    let cpus = std::thread::available_parallelism().map_or(4, |n| n.get());
    (
        (4 * cpus).clamp(4, 256),
        cpus.next_power_of_two().clamp(2, 64),
    )
}

/// Under loom: two magazines (the first two threads to use the pools) and two shards, so
/// that the models reach magazines, the shared stacks and stealing with two or three threads.
#[cfg(loom)]
fn default_layout() -> (usize, usize) {
    (2, 2)
}

impl<T: Reset> Pool<T> {
    /// A pool that keeps at most `max_retained` idle objects, makes new ones with `create`,
    /// and resets returned ones with [`Reset::reset`].
    ///
    /// `max_retained == 0` never keeps an object.
    ///
    /// ```
    /// use recycle_pool::Pool;
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
    /// use recycle_pool::Pool;
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
        crate::sync::init_barrier();
        let (magazines, shards) = default_layout();
        let magazines = if max_retained == 0 { 0 } else { magazines };
        let capacity = tunables::MAGAZINE.min(max_retained).min(MAX_SLOTS);
        Self {
            magazines: (0..magazines).map(|i| Magazine::new(i, capacity)).collect(),
            generation: AtomicU64::new(0),
            shards: Shards::new(shards.min(max_retained.max(1))),
            budget: Budget::new(max_retained),
            create,
            reset,
            max_retained,
            counters: Counters::default(),
        }
    }

    /// The cap on idle objects this pool was made with.
    ///
    /// ```
    /// let pool: recycle_pool::Pool<Vec<u8>> = recycle_pool::Pool::new(64, Vec::new);
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
    /// use recycle_pool::Pool;
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
    /// use recycle_pool::Pool;
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
    /// use recycle_pool::Pool;
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
    /// use recycle_pool::Pool;
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
    /// use recycle_pool::Pool;
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

    /// Creates objects until `n` are idle (or `max_retained`, whichever is less), and returns
    /// how many it created. They go to the shared stacks, where every thread finds them.
    ///
    /// # Panics
    /// If `create` panics, the panic propagates; the objects created before it stay idle.
    ///
    /// ```
    /// use recycle_pool::Pool;
    ///
    /// let pool: Pool<Vec<u8>> = Pool::new(8, || Vec::with_capacity(4096));
    /// assert_eq!(pool.prefill(5), 5);
    /// assert_eq!(pool.idle(), 5);
    /// assert_eq!(pool.prefill(100), 3); // up to max_retained
    /// let buf = pool.get();
    /// assert_eq!(pool.stats().created, 8); // reused, not created
    /// # drop(buf);
    /// ```
    pub fn prefill(&self, n: usize) -> usize {
        /// Gives the place back if `create` panics.
        struct Release<'a>(&'a Budget);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                self.0.release(1);
            }
        }
        let thread = thread_index::current();
        let mut made = 0;
        let idle = self.idle();
        while idle + made < n && self.find_place(None) {
            let release = Release(&self.budget);
            let object = self.create_new();
            std::mem::forget(release);
            self.shards.push_batch(thread, &mut std::iter::once(object));
            made += 1;
        }
        made
    }

    /// Drops idle objects until at most `keep` are left in the shared stacks and the calling
    /// thread's magazine, and returns how many were dropped. The oldest go first.
    ///
    /// Other threads' magazines (at most [`MAGAZINE`](tunables::MAGAZINE) objects each) are
    /// not reached; their objects count towards `max_retained` and [`Stats::idle`], are
    /// reused by their thread, and are dropped with the pool. Objects are dropped after every
    /// lock is released.
    ///
    /// ```
    /// use recycle_pool::Pool;
    ///
    /// let pool: Pool<Vec<u8>> = Pool::new(32, Vec::new);
    /// for _ in 0..10 { pool.put(Vec::new()); }
    /// assert_eq!(pool.trim(4), 6);
    /// assert_eq!(pool.stats().idle, 4);
    /// ```
    pub fn trim(&self, keep: usize) -> usize {
        let thread = thread_index::current();
        let own = thread.and_then(|i| self.magazines.get(i));
        let generation = self.generation.load(Ordering::Relaxed);
        // SAFETY: `mag` is this thread's own magazine.
        let stale = own.map_or(0, |mag| unsafe { self.drop_stale(mag, generation) });
        let own_len = own.map_or(0, Magazine::len);
        let excess = (self.shards.idle() + own_len).saturating_sub(keep);
        let mut doomed = self.shards.drain(excess);
        if let Some(mag) = own {
            let k = (excess - doomed.len()).min(own_len);
            // SAFETY: `mag` is this thread's own magazine.
            unsafe { mag.take_oldest(k, |objects| doomed.extend(objects)) };
            // The caller's spare tokens go back too: nothing of its own is held for later.
            // SAFETY: `mag` is this thread's own magazine.
            self.budget.release(unsafe { mag.take_surplus(0) });
        }
        let n = doomed.len();
        self.budget.release(n);
        Counters::add(&self.counters.dropped_trimmed, n);
        drop(doomed);
        n + stale
    }

    /// Drops every idle object in the shared stacks and in the calling thread's magazine,
    /// and returns how many. Objects in other threads' magazines become stale: their thread
    /// drops them instead of reusing them on its next get or return, and the pool drops them
    /// when it is dropped.
    ///
    /// ```
    /// use recycle_pool::Pool;
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

    /// Idle objects now: in the shared stacks and in every thread's magazine. Cheaper than
    /// [`stats`](Pool::stats); under concurrent use, a moment's figure.
    ///
    /// ```
    /// use recycle_pool::Pool;
    ///
    /// let pool: Pool<String> = Pool::new(4, String::new);
    /// let (a, b) = (pool.get(), pool.get());
    /// assert_eq!(pool.idle(), 0);
    /// drop((a, b));
    /// assert_eq!(pool.idle(), 2);
    /// ```
    pub fn idle(&self) -> usize {
        self.shards.idle() + self.magazines.iter().map(Magazine::len).sum::<usize>()
    }

    /// The pool's counters now.
    ///
    /// ```
    /// use recycle_pool::Pool;
    ///
    /// let pool: Pool<Vec<u8>> = Pool::new(4, Vec::new);
    /// drop(pool.get());
    /// drop(pool.get());
    /// let s = pool.stats();
    /// assert_eq!((s.created, s.reused, s.returned, s.idle), (1, 1, 2, 1));
    /// ```
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        let mut stats = Stats {
            created: c.created.load(Ordering::Relaxed),
            reused: self.shards.reused(),
            returned: self.shards.returned(),
            dropped_full: c.dropped_full.load(Ordering::Relaxed),
            dropped_refused: c.dropped_refused.load(Ordering::Relaxed),
            dropped_trimmed: c.dropped_trimmed.load(Ordering::Relaxed),
            idle: self.shards.idle(),
        };
        for mag in self.magazines.iter() {
            stats.reused += mag.reused();
            stats.returned += mag.returned();
            stats.idle += mag.len();
        }
        stats
    }

    /// An idle object: lent in place from this thread's magazine, else taken from the shared
    /// stacks.
    #[inline(always)]
    fn take_idle(&self) -> Option<Loan<T>> {
        let thread = thread_index::current();
        if let Some(mag) = thread.and_then(|i| self.magazines.get(i)) {
            let generation = self.generation.load(Ordering::Relaxed);
            // SAFETY: `mag` is this thread's own magazine.
            if let Some(lent) = unsafe { mag.lend(generation) } {
                return Some(Self::lent(mag, lent));
            }
            // SAFETY: as above.
            return unsafe { self.refill(thread, mag, generation) };
        }
        self.take_shared(thread)
    }

    #[inline(always)]
    fn lent(mag: &Magazine<T>, slot: Lent<T>) -> Loan<T> {
        Loan::Lent {
            magazine: NonNull::from(mag),
            slot,
        }
    }

    /// The magazine has no idle object, or stale ones: drop stale objects, hand back surplus
    /// spare tokens, refill empty slots with a batch from the shared stacks and lend one; if
    /// every slot is lent, take one object from the shared stacks by value.
    ///
    /// # Safety
    /// `mag` is the calling thread's own magazine.
    #[cold]
    unsafe fn refill(
        &self,
        thread: Option<usize>,
        mag: &Magazine<T>,
        generation: u64,
    ) -> Option<Loan<T>> {
        // SAFETY: as the caller promises, here and below.
        unsafe { self.drop_stale(mag, generation) };
        // SAFETY: as above.
        self.budget
            .release(unsafe { mag.take_surplus(tunables::SPARE_KEPT) });
        // SAFETY: as above.
        if unsafe { mag.find_empty() } == 0 {
            let object = self.shards.pop(thread)?;
            // Its place stays with this thread, as a spare token.
            // SAFETY: as above.
            unsafe { mag.add_spare(1) };
            return Some(Loan::owned(object));
        }
        // SAFETY: as above.
        let got = unsafe {
            mag.refill(tunables::REFILL, |room, sink| {
                self.shards.pop_batch(thread, room, sink);
            })
        };
        if got == 0 {
            return None;
        }
        // SAFETY: as above.
        unsafe { mag.lend(generation) }.map(|lent| Self::lent(mag, lent))
    }

    /// A get by a thread without a magazine: pop from the shared stacks and give the
    /// object's place back.
    #[cold]
    fn take_shared(&self, thread: Option<usize>) -> Option<Loan<T>> {
        let object = self.shards.pop(thread)?;
        self.budget.release(1);
        Some(Loan::owned(object))
    }

    /// Drops the idle objects of `mag` if a `clear` made them stale (after the bookkeeping,
    /// so that a panicking `Drop` leaves the pool consistent), and returns how many.
    ///
    /// # Safety
    /// `mag` is the calling thread's own magazine.
    unsafe fn drop_stale(&self, mag: &Magazine<T>, generation: u64) -> usize {
        // SAFETY: as the caller promises.
        if unsafe { mag.is_current(generation) } {
            return 0;
        }
        // SAFETY: as above.
        let stale = unsafe { mag.take_stale(generation) };
        let n = stale.len();
        self.budget.release(n);
        Counters::add(&self.counters.dropped_trimmed, n);
        drop(stale);
        n
    }

    #[inline(always)]
    fn take_or_create(&self) -> Loan<T> {
        match self.take_idle() {
            Some(loan) => loan,
            None => Loan::owned(self.create_new()),
        }
    }

    #[cold]
    fn create_new(&self) -> T {
        let object = (self.create)();
        Counters::add(&self.counters.created, 1);
        object
    }

    /// Takes back the object lent from `slot` of `mag`. On the owner's thread: find it a
    /// place, reset it in place, and make it idle there (or take it out and drop it). On
    /// another thread: take it out of the slot and return it like any other object.
    ///
    /// # Safety
    /// The caller holds the guard `slot` of `mag` is lent to, and gives the object up; `mag`
    /// is one of this pool's magazines.
    #[inline(always)]
    pub(crate) unsafe fn give_back_lent(&self, mag: &Magazine<T>, slot: Lent<T>) {
        if thread_index::current() != Some(mag.index()) {
            // SAFETY: as the caller promises; not the owner.
            let object = unsafe { mag.take_lent(slot, false) };
            return self.recycle(object);
        }
        // SAFETY: we are the owner (checked above).
        if !unsafe { self.own_place(mag) } {
            // SAFETY: as the caller promises; we are the owner.
            return self.drop_full(unsafe { mag.take_lent(slot, true) });
        }
        // SAFETY: the slot is lent to our caller's guard: the object is initialised and
        // nobody else touches it. If refused, we are the owner and the guard gives the object
        // up: taken out (the slot becomes empty) and dropped, once.
        let keep = unsafe {
            let object = slot.as_ref().object().as_ptr();
            self.reset_or_give_back(object, || {
                mag.add_spare(1);
                drop(mag.take_lent(slot, true));
            })
        };
        if !keep {
            return;
        }
        let generation = self.generation.load(Ordering::Relaxed);
        // SAFETY: as above.
        if !unsafe { mag.give_back(slot, generation) } {
            // SAFETY: as above.
            unsafe { self.give_back_stale(mag, slot, generation) };
        }
    }

    /// The magazine's idle objects went stale while this one was lent: drop them, then make
    /// this one idle.
    ///
    /// # Safety
    /// As for `give_back_lent`, on the owner's thread.
    #[cold]
    unsafe fn give_back_stale(&self, mag: &Magazine<T>, slot: Lent<T>, generation: u64) {
        // SAFETY: as the caller promises.
        unsafe {
            self.drop_stale(mag, generation);
            let current = mag.give_back(slot, generation);
            debug_assert!(current, "the magazine was just made current");
        }
    }

    /// Takes back an object held by value: finds it a place, resets it (outside any lock),
    /// and stores it in an empty slot of this thread's magazine or the shared stacks; or
    /// drops it.
    #[inline]
    pub(crate) fn recycle(&self, mut object: T) {
        let thread = thread_index::current();
        let Some(mag) = thread.and_then(|i| self.magazines.get(i)) else {
            return self.recycle_shared(thread, object);
        };
        // SAFETY: `mag` is this thread's own magazine.
        if !unsafe { self.own_place(mag) } {
            return self.drop_full(object);
        }
        // SAFETY: `object` is ours; this thread owns `mag`.
        if !unsafe { self.reset_or_give_back(&mut object, || mag.add_spare(1)) } {
            return; // the object is dropped here (or by the unwinding), once
        }
        let generation = self.generation.load(Ordering::Relaxed);
        // SAFETY: `mag` is this thread's own magazine.
        if let Err(object) = unsafe { mag.store(object, generation) } {
            // SAFETY: as above.
            unsafe { self.store_slow(thread, mag, object, generation) };
        }
    }

    /// No empty slot known, or stale idle objects: drop stale objects, find emptied slots,
    /// else flush the older half of the idle objects to the shared stacks; then store. If
    /// every slot is lent, the object (with its place) goes to the shared stacks.
    ///
    /// # Safety
    /// `mag` is the calling thread's own magazine.
    #[cold]
    unsafe fn store_slow(
        &self,
        thread: Option<usize>,
        mag: &Magazine<T>,
        object: T,
        generation: u64,
    ) {
        // SAFETY: as the caller promises, here and below.
        unsafe {
            self.drop_stale(mag, generation);
            if mag.find_empty() == 0 && mag.len() > 0 {
                let half = mag.len().div_ceil(2);
                mag.take_oldest(half, |objects| self.shards.push_batch(thread, objects));
            }
            if let Err(object) = mag.store(object, generation) {
                self.shards.push(thread, object);
            }
        }
    }

    /// A place for a returned object, when this thread's magazine has no spare token: a
    /// batch reserved from the budget, else a batch of spare tokens taken from another
    /// magazine; the rest of a batch becomes spare tokens of `own` (or goes back to the
    /// budget, for a thread without a magazine). `false` when every place holds an idle
    /// object.
    #[cold]
    fn find_place(&self, own: Option<&Magazine<T>>) -> bool {
        let want = if own.is_some() { tunables::RESERVE } else { 1 };
        let mut got = self.budget.reserve(want);
        if got == 0 {
            let own_index = own.map(Magazine::index);
            got = self
                .magazines
                .iter()
                .filter(|mag| Some(mag.index()) != own_index)
                .map(|mag| mag.steal_tokens(want))
                .find(|&k| k > 0)
                .unwrap_or(0);
        }
        if got == 0 {
            return false;
        }
        match own {
            // SAFETY: `own` is the calling thread's own magazine.
            Some(mag) => unsafe { mag.add_spare(got - 1) },
            None => self.budget.release(got - 1),
        }
        true
    }

    /// A return by a thread without a magazine: straight to the shared stacks.
    #[cold]
    fn recycle_shared(&self, thread: Option<usize>, mut object: T) {
        if !self.find_place(None) {
            return self.drop_full(object);
        }
        // SAFETY: `object` is ours.
        if unsafe { self.reset_or_give_back(&mut object, || self.budget.release(1)) } {
            self.shards.push(thread, object);
        }
    }

    /// Drops a returned object for which no place was found (without resetting it).
    #[cold]
    fn drop_full(&self, object: T) {
        Counters::add(&self.counters.dropped_full, 1);
        drop(object);
    }

    /// A place for a returned object on the owner's thread: a spare token of its magazine
    /// (the fast path), else [`find_place`](Self::find_place).
    ///
    /// # Safety
    /// `mag` is the calling thread's own magazine.
    #[inline(always)]
    unsafe fn own_place(&self, mag: &Magazine<T>) -> bool {
        // SAFETY: as the caller promises.
        let spare = unsafe { mag.take_own_token() };
        spare || self.find_place(Some(mag))
    }

    /// Resets a returned object that holds a place (outside any lock). When the reset
    /// refuses it, or panics, the object counts as refused and `give_back` runs, once, to
    /// give its place back (and whatever else the caller must undo); then `false`.
    ///
    /// # Safety
    /// `object` points to an initialised object that nothing else touches until this
    /// returns, except `give_back` (which runs after the reset's borrow of it has ended).
    #[inline(always)]
    unsafe fn reset_or_give_back(&self, object: *mut T, give_back: impl FnOnce()) -> bool {
        /// Runs the undo if the reset unwinds.
        struct OnUnwind<'a, F: FnOnce()>(&'a AtomicU64, Option<F>);
        impl<F: FnOnce()> Drop for OnUnwind<'_, F> {
            fn drop(&mut self) {
                Counters::add(self.0, 1);
                if let Some(give_back) = self.1.take() {
                    give_back();
                }
            }
        }
        let mut on_unwind = OnUnwind(&self.counters.dropped_refused, Some(give_back));
        // SAFETY: as the caller promises; the borrow ends when the reset returns or unwinds.
        let keep = self.run_reset(unsafe { &mut *object });
        if keep {
            on_unwind.1 = None;
            std::mem::forget(on_unwind);
        }
        // Refused: dropping the guard counts it and gives the place back.
        keep
    }

    #[inline(always)]
    fn run_reset(&self, object: &mut T) -> bool {
        match &self.reset {
            ResetFn::Trait(reset) => reset(object),
            ResetFn::Closure(reset) => reset(object),
        }
    }

    /// Places of the budget taken now (for the tests' invariants).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn places_taken(&self) -> usize {
        self.budget.taken()
    }

    /// Spare tokens in all magazines now (for the tests' invariants).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn spare_tokens(&self) -> usize {
        self.magazines.iter().map(Magazine::spare).sum()
    }
}

impl<T> fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("max_retained", &self.max_retained)
            .field("magazines", &self.magazines.len())
            .field("shards", &self.shards.count())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}
