//! The guards `get` returns: they deref to the object and give it back to the pool on drop.

use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};

use std::ptr::NonNull;

use crate::magazine::{Magazine, Slot};
use crate::pool::Pool;
use crate::sync::Arc;
use crate::thread_index;

/// Where a guard's object is: lent in place from a magazine slot (the fast path), or held by
/// value (from the shared stacks or `create`).
pub(crate) enum Loan<T> {
    /// Lent from `slot` of `magazine`. Valid while the guard lives: the slot is lent to this
    /// guard, and the pool (which owns the magazine) outlives the guard.
    Lent {
        magazine: NonNull<Magazine<T>>,
        slot: NonNull<Slot<T>>,
    },
    /// Held here. Always initialised, except inside `drop` and `detach`, which take it
    /// exactly once.
    Owned(ManuallyDrop<T>),
}

impl<T> Loan<T> {
    /// A loan of an object held by value.
    #[inline(always)]
    pub(crate) fn owned(object: T) -> Self {
        Loan::Owned(ManuallyDrop::new(object))
    }

    #[inline(always)]
    fn get(&self) -> &T {
        match self {
            // SAFETY: the slot is lent to this guard, so the object is initialised and nobody
            // else touches it; `&self` keeps the guard (and the pool) alive.
            Loan::Lent { slot, .. } => unsafe { slot.as_ref().object().as_ref() },
            Loan::Owned(object) => object,
        }
    }

    #[inline(always)]
    fn get_mut(&mut self) -> &mut T {
        match self {
            // SAFETY: as in `get`, and `&mut self` makes the access exclusive.
            Loan::Lent { slot, .. } => unsafe { slot.as_ref().object().as_mut() },
            Loan::Owned(object) => object,
        }
    }

    /// Gives the object back to `pool` (reset, then kept or dropped).
    ///
    /// # Safety
    /// Called at most once per loan (from the guard's `drop`), with the pool it came from,
    /// and then the loan is never used again.
    #[inline(always)]
    unsafe fn give_back(&mut self, pool: &Pool<T>) {
        match self {
            // SAFETY: the slot is lent to this guard, which gives it up here, once; the pool
            // owns the magazine.
            Loan::Lent { magazine, slot } => unsafe {
                pool.give_back_lent(magazine.as_ref(), *slot)
            },
            // SAFETY: taken exactly once, as the caller promises.
            Loan::Owned(object) => pool.recycle(unsafe { ManuallyDrop::take(object) }),
        }
    }

    /// Takes the object out for good.
    ///
    /// # Safety
    /// Called at most once per loan, and then the loan is never used again.
    unsafe fn take(&mut self) -> T {
        match self {
            // SAFETY: the slot is lent to this guard, which gives it up here, once.
            Loan::Lent { magazine, slot, .. } => unsafe {
                let magazine = magazine.as_ref();
                let owner = thread_index::current() == Some(magazine.index());
                magazine.take_lent(*slot, owner)
            },
            // SAFETY: taken exactly once, as the caller promises.
            Loan::Owned(object) => unsafe { ManuallyDrop::take(object) },
        }
    }
}

/// An object on loan from a [`Pool`], borrowed from it; returned (reset, then kept or dropped)
/// when this guard is dropped. Made by [`Pool::get`] and [`Pool::try_get`].
///
/// ```
/// use recycle_pool::Pool;
///
/// let pool: Pool<Vec<u8>> = Pool::new(4, Vec::new);
/// let mut buf = pool.get();
/// buf.push(1);
/// assert_eq!(&buf[..], &[1]);
/// ```
///
/// A guard is `Sync` only when `T` is (it hands out `&T`):
///
/// ```compile_fail
/// fn shared<S: Sync>(_: &S) {}
/// let pool = recycle_pool::Pool::with_reset(4, || std::cell::Cell::new(0u8), |_| true);
/// shared(&pool.get());
/// ```
pub struct Pooled<'a, T> {
    loan: Loan<T>,
    pool: &'a Pool<T>,
}

// SAFETY: a guard owns its object exclusively (by value, or as the holder of a lent slot,
// which may give it back from any thread), so sending the guard sends a `T` and uses the
// pool from another thread: `T: Send` (which also makes `Pool<T>: Sync`).
unsafe impl<T: Send> Send for Pooled<'_, T> {}

// SAFETY: `&Pooled` only gives `&T` and `&Pool<T>`: `T: Sync`, and `T: Send` for the pool.
unsafe impl<T: Send + Sync> Sync for Pooled<'_, T> {}

impl<'a, T> Pooled<'a, T> {
    #[inline(always)]
    pub(crate) fn new(pool: &'a Pool<T>, loan: Loan<T>) -> Self {
        Self { loan, pool }
    }

    /// Takes the object out for good: it will not go back to the pool.
    ///
    /// ```
    /// use recycle_pool::Pool;
    ///
    /// let pool: Pool<Vec<u8>> = Pool::new(4, Vec::new);
    /// let mine: Vec<u8> = pool.get().detach();
    /// assert_eq!(pool.stats().returned, 0);
    /// # drop(mine);
    /// ```
    pub fn detach(self) -> T {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the object is taken exactly once, here.
        unsafe { this.loan.take() }
    }

    /// The pool this object came from.
    ///
    /// ```
    /// use recycle_pool::Pool;
    ///
    /// let pool: Pool<Vec<u8>> = Pool::new(4, Vec::new);
    /// let buf = pool.get();
    /// assert!(std::ptr::eq(buf.pool(), &pool));
    /// ```
    pub fn pool(&self) -> &'a Pool<T> {
        self.pool
    }
}

impl<T> Deref for Pooled<'_, T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        self.loan.get()
    }
}

impl<T> DerefMut for Pooled<'_, T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        self.loan.get_mut()
    }
}

impl<T> Drop for Pooled<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: `drop` runs once and `detach` forgets the guard, so the loan is given back
        // exactly once, to the pool it came from.
        unsafe { self.loan.give_back(self.pool) };
    }
}

impl<T: fmt::Debug> fmt::Debug for Pooled<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pooled").field(self.loan.get()).finish()
    }
}

/// An object on loan from a [`Pool`] held through an `Arc`, so the guard is `'static` (when
/// `T` is) and can move to other threads; returned when dropped, on whatever thread that is.
/// Made by [`Pool::get_owned`] and [`Pool::try_get_owned`].
///
/// ```
/// use std::sync::Arc;
/// use recycle_pool::{OwnedPooled, Pool};
///
/// let pool = Arc::new(Pool::new(4, String::new));
/// let mut s: OwnedPooled<String> = pool.get_owned();
/// s.push_str("hi");
/// let back = std::thread::spawn(move || s.len()).join().unwrap();
/// assert_eq!(back, 2);
/// ```
///
/// Like the pool, it is not `Send` when `T` is not:
///
/// ```compile_fail
/// fn sent<S: Send>(_: S) {}
/// let pool = std::sync::Arc::new(recycle_pool::Pool::with_reset(4, || std::rc::Rc::new(0u8), |_| true));
/// sent(pool.get_owned());
/// ```
pub struct OwnedPooled<T> {
    loan: Loan<T>,
    /// Always initialised, except inside `drop` and `detach`, which take it exactly once.
    pool: ManuallyDrop<Arc<Pool<T>>>,
}

// SAFETY: as for `Pooled`; the `Arc<Pool<T>>` is `Send` when `T: Send`.
unsafe impl<T: Send> Send for OwnedPooled<T> {}

// SAFETY: as for `Pooled`.
unsafe impl<T: Send + Sync> Sync for OwnedPooled<T> {}

impl<T> OwnedPooled<T> {
    pub(crate) fn new(pool: Arc<Pool<T>>, loan: Loan<T>) -> Self {
        Self {
            loan,
            pool: ManuallyDrop::new(pool),
        }
    }

    /// Takes the object out for good: it will not go back to the pool.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use recycle_pool::Pool;
    ///
    /// let pool: Arc<Pool<Vec<u8>>> = Arc::new(Pool::new(4, Vec::new));
    /// let mine = pool.get_owned().detach();
    /// assert_eq!(pool.stats().idle, 0);
    /// # drop(mine);
    /// ```
    pub fn detach(self) -> T {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the object and the `Arc` are each taken exactly
        // once, here.
        let object = unsafe { this.loan.take() };
        // SAFETY: as above.
        drop(unsafe { ManuallyDrop::take(&mut this.pool) });
        object
    }

    /// The pool this object came from.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use recycle_pool::Pool;
    ///
    /// let pool: Arc<Pool<Vec<u8>>> = Arc::new(Pool::new(4, Vec::new));
    /// let buf = pool.get_owned();
    /// assert!(Arc::ptr_eq(buf.pool(), &pool));
    /// ```
    pub fn pool(&self) -> &Arc<Pool<T>> {
        &self.pool
    }
}

impl<T> Deref for OwnedPooled<T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        self.loan.get()
    }
}

impl<T> DerefMut for OwnedPooled<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        self.loan.get_mut()
    }
}

impl<T> Drop for OwnedPooled<T> {
    fn drop(&mut self) {
        // SAFETY: `drop` runs once and `detach` forgets the guard, so the `Arc` is still
        // initialised here and taken exactly once; it is dropped after the loan is given
        // back (even if the reset panics).
        let pool = unsafe { ManuallyDrop::take(&mut self.pool) };
        // SAFETY: as above, the loan is given back exactly once, to its own pool.
        unsafe { self.loan.give_back(&pool) };
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedPooled<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedPooled").field(self.loan.get()).finish()
    }
}
