//! Resetting objects on return: the [`Reset`] trait and its implementations for the standard
//! collections.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};
use std::hash::BuildHasher;

/// Makes an object fit for its next user, or refuses it.
///
/// [`Pool::new`](crate::Pool::new) calls `reset` on every object that comes back, in the
/// returning thread and outside any lock. Returning `false` refuses the object: the pool
/// drops it instead of keeping it (a buffer that grew too large, a broken connection).
///
/// The standard collections clear themselves and keep their capacity.
///
/// ```
/// use recycle_pool::{Pool, Reset};
///
/// #[derive(Default)]
/// struct Conn { open: bool, sent: Vec<u8> }
///
/// impl Reset for Conn {
///     fn reset(&mut self) -> bool {
///         self.sent.clear();
///         self.open // a closed connection is not worth keeping
///     }
/// }
///
/// let pool = Pool::new(4, || Conn { open: true, sent: Vec::new() });
/// pool.get().open = false; // broken while in use: refused on return
/// assert_eq!(pool.stats().dropped_refused, 1);
/// ```
///
/// A type without `Reset` needs [`Pool::with_reset`](crate::Pool::with_reset) (the compiler's
/// error says so):
///
/// ```compile_fail
/// struct Conn;
/// let pool = recycle_pool::Pool::new(4, || Conn); // `Conn` does not implement `Reset`
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `Reset`, so `Pool::new` cannot reset it on return",
    label = "`Pool::new` needs `{Self}: Reset`",
    note = "build the pool with `Pool::with_reset(max_retained, create, |obj| {{ /* reset obj */ true }})` instead",
    note = "or implement `recycle_pool::Reset` for `{Self}`"
)]
pub trait Reset {
    /// Resets `self` for reuse; `false` to have it dropped instead.
    ///
    /// ```
    /// use recycle_pool::Reset;
    ///
    /// let mut v = Vec::with_capacity(16);
    /// v.push(1u8);
    /// assert!(v.reset());
    /// assert!(v.is_empty() && v.capacity() >= 16);
    /// ```
    fn reset(&mut self) -> bool;
}

/// Implements `Reset` as `clear()`, which keeps the capacity where the type has one.
macro_rules! reset_by_clear {
    ($([$($gen:tt)*] $ty:ty),* $(,)?) => {$(
        impl<$($gen)*> Reset for $ty {
            #[inline]
            fn reset(&mut self) -> bool {
                self.clear();
                true
            }
        }
    )*};
}

reset_by_clear! {
    [T] Vec<T>,
    [T] VecDeque<T>,
    [T] LinkedList<T>,
    [T: Ord] BinaryHeap<T>,
    [] String,
    [K, V, S: BuildHasher] HashMap<K, V, S>,
    [T, S: BuildHasher] HashSet<T, S>,
    [K, V] BTreeMap<K, V>,
    [T] BTreeSet<T>,
}

impl<T: Reset + ?Sized> Reset for Box<T> {
    #[inline]
    fn reset(&mut self) -> bool {
        (**self).reset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collections_clear_and_keep_capacity() {
        let mut v: Vec<u32> = (0..100).collect();
        let cap = v.capacity();
        assert!(v.reset());
        assert!(v.is_empty());
        assert_eq!(v.capacity(), cap);

        let mut s = String::with_capacity(64);
        s.push_str("abc");
        assert!(s.reset());
        assert!(s.is_empty() && s.capacity() >= 64);

        let mut m: HashMap<u32, u32> = (0..50).map(|i| (i, i)).collect();
        let cap = m.capacity();
        assert!(m.reset());
        assert!(m.is_empty());
        assert_eq!(m.capacity(), cap);

        let mut d: VecDeque<u8> = VecDeque::with_capacity(32);
        d.push_back(1);
        assert!(d.reset());
        assert!(d.is_empty() && d.capacity() >= 32);

        let mut b: Box<BTreeSet<u8>> = Box::new([1, 2, 3].into_iter().collect());
        assert!(b.reset());
        assert!(b.is_empty());
    }
}
