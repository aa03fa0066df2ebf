//! The guards `get` returns: they deref to the object and give it back to the pool on drop.

use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};

use crate::pool::Pool;
use crate::sync::Arc;

/// An object on loan from a [`Pool`], borrowed from it; returned (reset, then kept or dropped)
/// when this guard is dropped. Made by [`Pool::get`] and [`Pool::try_get`].
///
/// ```
/// use object_pool::Pool;
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
/// let pool = object_pool::Pool::with_reset(4, || std::cell::Cell::new(0u8), |_| true);
/// shared(&pool.get());
/// ```
pub struct Pooled<'a, T> {
    /// Always initialised, except inside `drop` and `detach`, which take it exactly once.
    object: ManuallyDrop<T>,
    pool: &'a Pool<T>,
}

impl<'a, T> Pooled<'a, T> {
    #[inline]
    pub(crate) fn new(pool: &'a Pool<T>, object: T) -> Self {
        Self {
            object: ManuallyDrop::new(object),
            pool,
        }
    }

    /// Takes the object out for good: it will not go back to the pool.
    ///
    /// ```
    /// use object_pool::Pool;
    ///
    /// let pool: Pool<Vec<u8>> = Pool::new(4, Vec::new);
    /// let mine: Vec<u8> = pool.get().detach();
    /// assert_eq!(pool.stats().returned, 0);
    /// # drop(mine);
    /// ```
    pub fn detach(self) -> T {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the object is taken exactly once, here.
        unsafe { ManuallyDrop::take(&mut this.object) }
    }

    /// The pool this object came from.
    ///
    /// ```
    /// use object_pool::Pool;
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

    #[inline]
    fn deref(&self) -> &T {
        &self.object
    }
}

impl<T> DerefMut for Pooled<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.object
    }
}

impl<T> Drop for Pooled<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `drop` runs once and `detach` forgets the guard, so the object is still
        // initialised here and is taken exactly once.
        let object = unsafe { ManuallyDrop::take(&mut self.object) };
        self.pool.recycle(object);
    }
}

impl<T: fmt::Debug> fmt::Debug for Pooled<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pooled").field(&*self.object).finish()
    }
}

/// An object on loan from a [`Pool`] held through an `Arc`, so the guard is `'static` (when
/// `T` is) and can move to other threads; returned when dropped, on whatever thread that is.
/// Made by [`Pool::get_owned`] and [`Pool::try_get_owned`].
///
/// ```
/// use std::sync::Arc;
/// use object_pool::{OwnedPooled, Pool};
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
/// let pool = std::sync::Arc::new(object_pool::Pool::with_reset(4, || std::rc::Rc::new(0u8), |_| true));
/// sent(pool.get_owned());
/// ```
pub struct OwnedPooled<T> {
    /// Always initialised, except inside `drop` and `detach`, which take it exactly once.
    object: ManuallyDrop<T>,
    pool: ManuallyDrop<Arc<Pool<T>>>,
}

impl<T> OwnedPooled<T> {
    pub(crate) fn new(pool: Arc<Pool<T>>, object: T) -> Self {
        Self {
            object: ManuallyDrop::new(object),
            pool: ManuallyDrop::new(pool),
        }
    }

    /// Takes the object out for good: it will not go back to the pool.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use object_pool::Pool;
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
        let (object, pool) = unsafe {
            (
                ManuallyDrop::take(&mut this.object),
                ManuallyDrop::take(&mut this.pool),
            )
        };
        drop(pool);
        object
    }

    /// The pool this object came from.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use object_pool::Pool;
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

    #[inline]
    fn deref(&self) -> &T {
        &self.object
    }
}

impl<T> DerefMut for OwnedPooled<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.object
    }
}

impl<T> Drop for OwnedPooled<T> {
    fn drop(&mut self) {
        // SAFETY: `drop` runs once and `detach` forgets the guard, so both fields are still
        // initialised here and each is taken exactly once.
        let (object, pool) = unsafe {
            (
                ManuallyDrop::take(&mut self.object),
                ManuallyDrop::take(&mut self.pool),
            )
        };
        pool.recycle(object);
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedPooled<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedPooled").field(&*self.object).finish()
    }
}
