//! The cap: one counter of the places of `max_retained` that are taken, and what takes one.
//!
//! A place is held by every idle object (in a magazine or on a shared stack), by every spare
//! token a magazine keeps (see [`magazine`](crate::magazine)), and by a return between
//! finding its place and storing its object. Places are reserved with a compare-and-swap that
//! never lets the count pass the cap, so idle objects never exceed `max_retained`. Moving an
//! object between a magazine and a shared stack moves its place with it and leaves the count
//! alone; only a place that stops being held (a get by a thread with no magazine, a trimmed
//! object, spare tokens handed back) is released.

use crate::sync::{AtomicUsize, Ordering};

/// The counter, alone on its cache line: all threads write it on their slow paths.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct Budget {
    taken: AtomicUsize,
    cap: usize,
}

impl Budget {
    /// A budget of `cap` places, none taken.
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            taken: AtomicUsize::new(0),
            cap,
        }
    }

    /// Takes up to `want` places and returns how many it got (0 when all are taken).
    pub(crate) fn reserve(&self, want: usize) -> usize {
        let mut taken = self.taken.load(Ordering::Relaxed);
        loop {
            let got = want.min(self.cap.saturating_sub(taken));
            if got == 0 {
                return 0;
            }
            match self.taken.compare_exchange_weak(
                taken,
                taken + got,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return got,
                Err(now) => taken = now,
            }
        }
    }

    /// Gives back `n` places taken earlier.
    pub(crate) fn release(&self, n: usize) {
        if n > 0 {
            self.taken.fetch_sub(n, Ordering::Relaxed);
        }
    }

    /// Places taken now.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn taken(&self) -> usize {
        self.taken.load(Ordering::Relaxed)
    }
}
