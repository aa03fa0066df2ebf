//! The fast path: one magazine per thread index, a few dozen slots in which idle objects wait
//! and from which they are lent *in place*, with no lock and no atomic read-modify-write
//! except one uncontended compare-and-swap per return.
//!
//! Magazine `i` of a pool belongs to whichever live thread holds index `i` (see
//! [`thread_index`](crate::thread_index)), its *owner*. Its slots never move (they are
//! allocated once, on first use), so a guard can point into one: a get lends the newest idle
//! object where it lies, and a return on the owner's thread resets it there and marks it idle
//! again. Nothing is copied, which also spares the hot loop the store-forwarding stalls that
//! moving an object out and back in costs.
//!
//! **Who touches what.** The owner alone reads and writes the bookkeeping (the stack of idle
//! slots, the mask of empty ones) and the objects of idle and empty slots. A lent slot's
//! object belongs to the guard's holder. A guard dropped on another thread takes its object
//! out of the slot and flags the slot `EMPTIED` with a release store (the only write another
//! thread makes here, besides taking spare tokens); the owner finds such slots, with acquire
//! loads, when it runs out of empty ones.
//!
//! | slot | owner's books | who may act | transitions |
//! |---|---|---|---|
//! | empty | in `empty` | owner | store an object: idle |
//! | idle | on the `idle` stack | owner | lend: lent; flush, trim or stale: empty |
//! | lent | in neither | the guard's holder | owner's return: idle; refused, detached or dropped for the cap: empty (owner's books at once; another thread's `EMPTIED` flag, found later) |
//!
//! **Places.** Every idle object holds one place of the pool's
//! [`Budget`](crate::budget::Budget). When the owner lends an object, its place is not handed
//! back to the shared counter (a contended read-modify-write per get): it stays here as a
//! spare token, which the return uses. A spare token is a place that holds no idle object, so
//! any thread that finds the budget used up may take it (see
//! [`steal_tokens`](Magazine::steal_tokens)): a return is dropped for the cap only when every
//! place holds a really idle object. Spare tokens are three monotonic counters: `spare_in` and
//! `spare_used`, written by the owner alone with plain stores, and `spare_taken`, written by
//! other threads with compare-and-swaps. The owner and a taker that want the last token at the
//! same time are kept apart by the asymmetric barrier of `sync.rs` (a compiler fence on the
//! owner's side, `membarrier` on the taker's): each publishes its claim, then checks the
//! other's, and at least one of them sees both claims and backs off.
//!
//! | event (owner unless said) | idle objects | spare tokens | budget counter |
//! |---|---|---|---|
//! | lend | -1 | +1 | |
//! | return into a slot (a spare token, else reserved) | +1 | -1 | (+k reserved) |
//! | flush to a shared stack, or refill from one | -k / +k | | |
//! | trim, or drop stale objects after a `clear` | -k | | -k |
//! | hand back surplus spare tokens | | -k | -k |
//! | any thread takes a spare token for its own return | | -1 | |
//!
//! A magazine also remembers the pool's clear generation of its idle objects: after
//! `Pool::clear` on any thread, the owner drops stale objects on its next get or return.

use std::mem::MaybeUninit;
use std::ptr::NonNull;

use crate::sync::{
    AtomicU8, AtomicU64, AtomicUsize, Ordering, UnsafeCell, other_side_barrier, other_side_load,
    owner_add, owner_store, owner_store_then_load,
};

/// A slot's flag: `EMPTIED` when another thread took the lent object out, until the owner
/// collects the slot (and puts the flag back); `IN_USE` otherwise. So a lend writes nothing.
const IN_USE: u8 = 0;
const EMPTIED: u8 = 1;

/// The most slots a magazine can have (the masks are `u64`).
pub(crate) const MAX_SLOTS: usize = 64;

/// Adds `n` to a counter that only the current owner writes and other threads read: a load
/// and a store (see `owner_add` in `sync.rs`).
#[inline(always)]
fn add(counter: &AtomicUsize, n: usize) {
    owner_add(counter, n);
}

/// Adds one to a statistics counter that only the current owner writes.
#[inline(always)]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// Spare tokens from the three counters, as a signed number: a thread may read an older
/// (smaller) `spare_in` than the tokens already used or taken, which must read as none left,
/// never as a huge number; and a consumption published tentatively may make it negative.
#[inline(always)]
fn spare_signed(added: usize, used: usize, taken: usize) -> isize {
    added.wrapping_sub(used).wrapping_sub(taken) as isize
}

/// One slot: an object (initialised when idle or lent) and the flag another thread clears.
#[derive(Debug)]
pub(crate) struct Slot<T> {
    object: UnsafeCell<MaybeUninit<T>>,
    flag: AtomicU8,
}

impl<T> Slot<T> {
    /// A pointer to the slot's object (initialised only while idle or lent).
    #[inline(always)]
    pub(crate) fn object(&self) -> NonNull<T> {
        // SAFETY: a pointer into a live slot is never null.
        self.object
            .with_mut(|p| unsafe { NonNull::new_unchecked(p.cast::<T>()) })
    }
}

/// The owner's books. Owner-only.
#[derive(Debug)]
struct Books {
    /// Slot indices of the idle objects, oldest first; as many are valid as the magazine's
    /// `len` says.
    idle: [u8; MAX_SLOTS],
    /// Slots the owner knows to be empty.
    empty: u64,
    /// The clear generation of the idle objects.
    generation: u64,
}

/// One thread's slots in one pool.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct Magazine<T> {
    /// The slots; allocated on first use, never moved after.
    slots: UnsafeCell<Box<[Slot<T>]>>,
    books: UnsafeCell<Books>,
    /// How many slots this magazine gets.
    capacity: usize,
    /// The thread index that owns it (its position in the pool's array).
    index: usize,
    /// Idle objects, published for statistics.
    len: AtomicUsize,
    /// Spare tokens ever added. Owner-only writes.
    spare_in: AtomicUsize,
    /// Spare tokens ever used by the owner. Owner-only writes.
    spare_used: AtomicUsize,
    /// Spare tokens ever taken by other threads (read-modify-writes, rare).
    spare_taken: AtomicUsize,
    /// Lends so far. Owner-only writes.
    reused: AtomicU64,
    /// Objects made idle here so far. Owner-only writes.
    returned: AtomicU64,
}

// SAFETY: the objects of a magazine are only ever touched by the thread the tables above
// designate (the owner, or a lent object's guard holder), and hand-overs are release/acquire
// pairs (the `EMPTIED` flag), the registry's mutex (an index passing to a new owner) or whatever
// moved the guard. Sharing `&Magazine<T>` therefore never shares a `T`; it only moves objects
// between threads, which needs `T: Send`. Everything else is atomic.
unsafe impl<T: Send> Sync for Magazine<T> {}

// SAFETY: as above; a magazine owns its idle objects.
unsafe impl<T: Send> Send for Magazine<T> {}

/// What a lend hands to the guard: the slot, whose object it may use until it gives it back.
pub(crate) type Lent<T> = NonNull<Slot<T>>;

impl<T> Magazine<T> {
    /// An empty magazine for thread index `index`, with `capacity` slots (at most
    /// [`MAX_SLOTS`]) allocated on first use.
    pub(crate) fn new(index: usize, capacity: usize) -> Self {
        Self {
            slots: UnsafeCell::new(Box::new([])),
            books: UnsafeCell::new(Books {
                idle: [0; MAX_SLOTS],
                empty: 0,
                generation: 0,
            }),
            capacity: capacity.min(MAX_SLOTS),
            index,
            len: AtomicUsize::new(0),
            spare_in: AtomicUsize::new(0),
            spare_used: AtomicUsize::new(0),
            spare_taken: AtomicUsize::new(0),
            reused: AtomicU64::new(0),
            returned: AtomicU64::new(0),
        }
    }

    /// The thread index that owns this magazine.
    #[inline(always)]
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// Runs `f` on the books, the number of idle objects (published for statistics when `f`
    /// returns) and the slots.
    ///
    /// # Safety
    /// The calling thread must hold this magazine's index, and `f` must touch only the
    /// objects of idle and empty slots.
    #[inline(always)]
    unsafe fn with<R>(&self, f: impl FnOnce(&mut Books, &mut usize, &[Slot<T>]) -> R) -> R {
        let mut len = self.len.load(Ordering::Relaxed);
        let r = self.books.with_mut(|books| {
            // SAFETY: the owner alone touches the books and replaces the slice; the slice
            // itself is shared with guard holders, who touch only their lent slot's object.
            self.slots
                .with_mut(|slots| unsafe { f(&mut *books, &mut len, &*slots) })
        });
        self.len.store(len, Ordering::Relaxed);
        r
    }

    /// Lends the newest idle object, if there is one from generation `generation`; its place
    /// becomes a spare token.
    ///
    /// # Safety
    /// The calling thread must hold this magazine's index.
    #[inline(always)]
    pub(crate) unsafe fn lend(&self, generation: u64) -> Option<Lent<T>> {
        // SAFETY: as the caller promises.
        let lent = unsafe {
            self.with(|books, len, slots| {
                if *len == 0 || books.generation != generation {
                    return None;
                }
                *len -= 1;
                Some(NonNull::from(&slots[usize::from(books.idle[*len])]))
            })?
        };
        add(&self.spare_in, 1);
        bump(&self.reused);
        Some(lent)
    }

    /// Makes the lent object of `slot` idle again (its reset done, its place found), unless
    /// the idle objects are stale; then `false`, and nothing changed.
    ///
    /// # Safety
    /// The calling thread must hold this magazine's index and the guard `slot` is lent to,
    /// and give the object up.
    #[inline(always)]
    pub(crate) unsafe fn give_back(&self, slot: Lent<T>, generation: u64) -> bool {
        // SAFETY: as the caller promises.
        let ok = unsafe {
            self.with(|books, len, slots| {
                if books.generation != generation {
                    return false;
                }
                books.idle[*len] = index_of(slots, slot) as u8;
                *len += 1;
                true
            })
        };
        if ok {
            bump(&self.returned);
        }
        ok
    }

    /// Stores `object` (which holds a place already) in an empty slot and makes it idle;
    /// gives it back when the owner knows of no empty slot or the idle objects are stale.
    ///
    /// # Safety
    /// The calling thread must hold this magazine's index.
    #[inline(always)]
    pub(crate) unsafe fn store(&self, object: T, generation: u64) -> Result<(), T> {
        // SAFETY: as the caller promises.
        let stored = unsafe {
            self.with(|books, len, slots| {
                if books.empty == 0 || books.generation != generation {
                    return Err(object);
                }
                let slot = books.empty.trailing_zeros() as usize;
                books.empty &= books.empty - 1;
                // SAFETY: an empty slot's object is the owner's, and uninitialised.
                slots[slot].object.with_mut(|p| (*p).write(object));
                books.idle[*len] = slot as u8;
                *len += 1;
                Ok(())
            })
        };
        if stored.is_ok() {
            bump(&self.returned);
        }
        stored
    }

    /// Takes the lent object of `slot` out for good; on the owner's thread the slot is empty
    /// at once, on another thread the owner finds it later.
    ///
    /// # Safety
    /// The caller holds the guard `slot` is lent to, and gives the object up; `owner` says
    /// truly whether the calling thread holds this magazine's index.
    pub(crate) unsafe fn take_lent(&self, slot: Lent<T>, owner: bool) -> T {
        // SAFETY: the slot is lent to the caller, so its object is initialised and the
        // caller's; the magazine (and so the slot) is alive while the guard is.
        let s = unsafe { slot.as_ref() };
        // SAFETY: as above.
        let object = s.object.with_mut(|p| unsafe { (*p).assume_init_read() });
        if owner {
            // SAFETY: we are the owner.
            unsafe { self.with(|books, _, slots| books.empty |= 1 << index_of(slots, slot)) };
        } else {
            s.flag.store(EMPTIED, Ordering::Release);
        }
        object
    }

    /// Makes sure the owner knows of an empty slot if there is one: allocates the slots on
    /// first use, else collects the slots other threads emptied. Returns how many empty slots
    /// the owner knows of.
    ///
    /// # Safety
    /// The calling thread must hold this magazine's index.
    pub(crate) unsafe fn find_empty(&self) -> usize {
        // SAFETY: as the caller promises; the slice is replaced only while empty, when no
        // guard points into it.
        unsafe {
            self.slots.with_mut(|slots| {
                if (&*slots).is_empty() && self.capacity > 0 {
                    *slots = (0..self.capacity)
                        .map(|_| Slot {
                            object: UnsafeCell::new(MaybeUninit::uninit()),
                            flag: AtomicU8::new(IN_USE),
                        })
                        .collect();
                    self.books.with_mut(|books| {
                        (*books).empty = all(self.capacity);
                    });
                }
            });
            self.with(|books, len, slots| {
                if books.empty == 0 && !slots.is_empty() {
                    // Lent slots: neither empty nor idle. Those flagged `EMPTIED` were
                    // emptied by another thread: they are empty, and their flag is reset.
                    let mut idle = 0u64;
                    for &s in &books.idle[..*len] {
                        idle |= 1 << s;
                    }
                    let mut lent = all(slots.len()) & !idle;
                    while lent != 0 {
                        let s = lent.trailing_zeros() as usize;
                        lent &= lent - 1;
                        if slots[s].flag.load(Ordering::Acquire) == EMPTIED {
                            slots[s].flag.store(IN_USE, Ordering::Relaxed);
                            books.empty |= 1 << s;
                        }
                    }
                }
                books.empty.count_ones() as usize
            })
        }
    }

    /// Stores objects from `fill` in up to `max` empty slots the owner knows of, and returns
    /// how many. `fill` is called once with a sink and must not run user code.
    ///
    /// # Safety
    /// The calling thread must hold this magazine's index.
    pub(crate) unsafe fn refill(
        &self,
        max: usize,
        fill: impl FnOnce(usize, &mut dyn FnMut(T)),
    ) -> usize {
        let mut stored = 0;
        // SAFETY: as the caller promises.
        unsafe {
            self.with(|books, len, slots| {
                let room = (books.empty.count_ones() as usize).min(max);
                fill(room, &mut |object| {
                    let slot = books.empty.trailing_zeros() as usize;
                    books.empty &= books.empty - 1;
                    // SAFETY: an empty slot's object is the owner's, and uninitialised.
                    slots[slot].object.with_mut(|p| (*p).write(object));
                    books.idle[*len] = slot as u8;
                    *len += 1;
                    stored += 1;
                });
            });
        }
        stored
    }

    /// Takes out up to `max` idle objects, oldest first, and hands them to `sink` (their
    /// slots become empty); returns how many. `sink` must take them all and run no user code
    /// (it moves them into a shared stack or a `Vec`).
    ///
    /// # Safety
    /// The calling thread must hold this magazine's index.
    pub(crate) unsafe fn take_oldest(
        &self,
        max: usize,
        sink: impl FnOnce(&mut dyn Iterator<Item = T>),
    ) -> usize {
        // SAFETY: as the caller promises.
        unsafe {
            self.with(|books, len, slots| {
                let n = max.min(*len);
                let oldest = books.idle;
                for &s in &oldest[..n] {
                    books.empty |= 1 << s;
                }
                books.idle.copy_within(n..*len, 0);
                *len -= n;
                let mut objects = oldest[..n].iter().map(|&s| {
                    // SAFETY: the slot was idle, so its object is the owner's and
                    // initialised; it is read once, as the slot just left the idle stack.
                    slots[usize::from(s)]
                        .object
                        .with_mut(|p| (*p).assume_init_read())
                });
                sink(&mut objects);
                objects.for_each(drop);
                n
            })
        }
    }

    /// Whether the idle objects here are from generation `generation`.
    ///
    /// # Safety
    /// The calling thread must hold this magazine's index.
    pub(crate) unsafe fn is_current(&self, generation: u64) -> bool {
        // SAFETY: as the caller promises.
        unsafe { self.with(|books, _, _| books.generation == generation) }
    }

    /// Takes every idle object out (they are stale), marks the magazine as holding generation
    /// `generation`, and returns them for the caller to drop.
    ///
    /// # Safety
    /// The calling thread must hold this magazine's index.
    pub(crate) unsafe fn take_stale(&self, generation: u64) -> Vec<T> {
        let mut out = Vec::new();
        // SAFETY: as the caller promises.
        unsafe {
            self.take_oldest(usize::MAX, |objects| out.extend(objects));
            self.with(|books, _, _| books.generation = generation);
        }
        out
    }

    /// Takes one of its own spare tokens for a return (the owner's fast path: two plain
    /// stores at most, a compiler fence and a few loads; see the asymmetric barrier in
    /// `sync.rs`). `false` when there is none, or a taker got the last one at the same time.
    ///
    /// # Safety
    /// The calling thread must hold this magazine's index.
    #[inline(always)]
    pub(crate) unsafe fn take_own_token(&self) -> bool {
        let added = self.spare_in.load(Ordering::Relaxed);
        let used = self.spare_used.load(Ordering::Relaxed);
        if added == used {
            return false; // none left, whatever the takers did
        }
        let taken =
            owner_store_then_load(&self.spare_used, used.wrapping_add(1), &self.spare_taken);
        if spare_signed(added, used.wrapping_add(1), taken) >= 0 {
            return true;
        }
        owner_store(&self.spare_used, used);
        false
    }

    /// Takes up to `max` spare tokens from another thread's magazine (or from any magazine,
    /// for a thread that has none), when the budget is used up, and returns how many. Slow:
    /// runs the heavy side of the asymmetric barrier, once for the whole batch.
    pub(crate) fn steal_tokens(&self, max: usize) -> usize {
        let mut taken = self.spare_taken.load(Ordering::Relaxed);
        let want = loop {
            let added = other_side_load(&self.spare_in);
            let used = other_side_load(&self.spare_used);
            let spare = spare_signed(added, used, taken);
            if spare <= 0 {
                return 0;
            }
            let want = max.min(spare as usize);
            match self.spare_taken.compare_exchange_weak(
                taken,
                taken.wrapping_add(want),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break want,
                Err(now) => taken = now,
            }
        };
        other_side_barrier();
        let added = other_side_load(&self.spare_in);
        let used = other_side_load(&self.spare_used);
        let taken = other_side_load(&self.spare_taken);
        let spare = spare_signed(added, used, taken);
        if spare >= 0 {
            return want;
        }
        // The owner (or another taker) took some of the same tokens: give those back.
        let back = want.min(spare.unsigned_abs());
        self.spare_taken.fetch_sub(back, Ordering::Relaxed);
        want - back
    }

    /// Adds `n` spare tokens (places this thread holds that hold no object).
    ///
    /// # Safety
    /// The calling thread must hold this magazine's index.
    #[inline]
    pub(crate) unsafe fn add_spare(&self, n: usize) {
        add(&self.spare_in, n);
    }

    /// Takes its own spare tokens until at most `keep` are left, and returns how many it took
    /// (for the caller to release to the budget).
    ///
    /// # Safety
    /// The calling thread must hold this magazine's index.
    pub(crate) unsafe fn take_surplus(&self, keep: usize) -> usize {
        let added = self.spare_in.load(Ordering::Relaxed);
        let used = self.spare_used.load(Ordering::Relaxed);
        let spare = spare_signed(added, used, self.spare_taken.load(Ordering::Relaxed));
        if spare <= keep as isize {
            return 0;
        }
        let surplus = spare as usize - keep;
        let now_used = used.wrapping_add(surplus);
        let taken = owner_store_then_load(&self.spare_used, now_used, &self.spare_taken);
        if spare_signed(added, now_used, taken) >= 0 {
            return surplus;
        }
        owner_store(&self.spare_used, used);
        0
    }

    /// Idle objects here, as last published.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Spare tokens here now (a hint while the owner runs).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn spare(&self) -> usize {
        let taken = self.spare_taken.load(Ordering::Relaxed);
        let used = self.spare_used.load(Ordering::Relaxed);
        spare_signed(self.spare_in.load(Ordering::Relaxed), used, taken).max(0) as usize
    }

    /// Lends so far.
    pub(crate) fn reused(&self) -> u64 {
        self.reused.load(Ordering::Relaxed)
    }

    /// Objects made idle here so far.
    pub(crate) fn returned(&self) -> u64 {
        self.returned.load(Ordering::Relaxed)
    }
}

/// The index of `slot` in `slots`.
#[inline(always)]
fn index_of<T>(slots: &[Slot<T>], slot: Lent<T>) -> usize {
    // SAFETY: `slot` points into `slots` (a guard's slot belongs to its magazine).
    unsafe { slot.as_ptr().cast_const().offset_from(slots.as_ptr()) as usize }
}

/// A mask of the first `n` slots.
fn all(n: usize) -> u64 {
    if n >= 64 { u64::MAX } else { (1 << n) - 1 }
}

impl<T> Drop for Magazine<T> {
    fn drop(&mut self) {
        // No guard outlives its pool, so no slot is lent: drop the idle objects.
        let mut idle = Vec::new();
        // SAFETY: `&mut self` is exclusive, which is more than owning the index.
        unsafe { self.take_oldest(usize::MAX, |objects| idle.extend(objects)) };
        drop(idle);
    }
}
