//! A small, dense index per live thread: the key of a thread's magazine in every pool.
//!
//! The first time a thread uses any pool it leases the smallest free index from a global
//! registry; a thread-local lease gives it back when the thread exits, so indices stay dense
//! (`0..live threads`) and a pool's magazine array indexed by them stays small. While a thread
//! holds index `i`, no other live thread holds it: this is what makes magazine `i` of every pool
//! single-owner. The registry's mutex orders a lease's release before its next acquisition,
//! so the next owner of magazine `i` sees everything the previous owner wrote there.
//!
//! After its lease was dropped (thread-local destruction has begun), a thread has no index
//! and uses only the shared stacks.

use std::cell::Cell;

use crate::sync::Mutex;

/// The lease is not taken yet.
const UNASSIGNED: usize = usize::MAX;
/// The lease was given back (the thread is exiting): no index any more.
const RELEASED: usize = usize::MAX - 1;

/// The global pool of indices: the next never-used one and the given-back ones.
#[derive(Debug)]
struct Registry {
    next: usize,
    free: Vec<usize>,
}

impl Registry {
    const fn new() -> Self {
        Self {
            next: 0,
            free: Vec::new(),
        }
    }

    /// The smallest free index, so that indices stay dense.
    fn acquire(&mut self) -> usize {
        if let Some(pos) = (0..self.free.len()).min_by_key(|&k| self.free[k]) {
            return self.free.swap_remove(pos);
        }
        let i = self.next;
        self.next += 1;
        i
    }

    #[cfg_attr(loom, allow(dead_code))]
    fn release(&mut self, index: usize) {
        self.free.push(index);
    }
}

/// A thread's lease on its index; dropping it (at thread exit) gives the index back.
#[derive(Debug)]
struct Lease {
    index: Cell<usize>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let index = self.index.replace(RELEASED);
        forget_index();
        if index < RELEASED {
            release(index);
        }
    }
}

#[cfg(not(loom))]
static REGISTRY: Mutex<Registry> = Mutex::new(Registry::new());

#[cfg(not(loom))]
fn registry<R>(f: impl FnOnce(&mut Registry) -> R) -> R {
    f(&mut REGISTRY.lock())
}

#[cfg(not(loom))]
fn release(index: usize) {
    registry(|r| r.release(index));
}

#[cfg(not(loom))]
std::thread_local! {
    /// The lease, registered (with its destructor) on first use.
    static LEASE: Lease = const { Lease { index: Cell::new(UNASSIGNED) } };
    /// A copy of the leased index with no destructor, so that reading it is one load.
    static INDEX: Cell<usize> = const { Cell::new(UNASSIGNED) };
}

/// This thread's index, leasing one on first use; `None` once the thread is exiting.
#[cfg(not(loom))]
#[inline(always)]
pub(crate) fn current() -> Option<usize> {
    let index = INDEX.with(Cell::get);
    if index < RELEASED {
        Some(index)
    } else if index == UNASSIGNED {
        assign()
    } else {
        None
    }
}

#[cfg(not(loom))]
fn forget_index() {
    INDEX.with(|i| i.set(RELEASED));
}

#[cfg(not(loom))]
#[cold]
fn assign() -> Option<usize> {
    let index = LEASE
        .try_with(|lease| {
            let index = registry(Registry::acquire);
            lease.index.set(index);
            index
        })
        .ok();
    INDEX.with(|i| i.set(index.unwrap_or(RELEASED)));
    index
}

#[cfg(loom)]
crate::sync::lazy_static! {
    static ref REGISTRY: Mutex<Registry> = Mutex::new(Registry::new());
}

#[cfg(loom)]
fn registry<R>(f: impl FnOnce(&mut Registry) -> R) -> R {
    f(&mut REGISTRY.lock())
}

#[cfg(loom)]
crate::sync::thread_local! {
    static LEASE: Lease = Lease { index: Cell::new(UNASSIGNED) };
}

#[cfg(loom)]
fn forget_index() {}

/// Under loom, thread-locals of the main thread are dropped after the model's statics, so
/// an index is never given back: each thread of a model gets a fresh one (there are at most
/// four), and the hand-over of an index between threads is left to the unit tests.
#[cfg(loom)]
fn release(_index: usize) {}

/// This thread's index, leasing one on first use; `None` once the thread is exiting.
#[cfg(loom)]
pub(crate) fn current() -> Option<usize> {
    LEASE
        .try_with(|lease| {
            let index = lease.index.get();
            if index < RELEASED {
                Some(index)
            } else if index == UNASSIGNED {
                let index = registry(Registry::acquire);
                lease.index.set(index);
                Some(index)
            } else {
                None
            }
        })
        .ok()
        .flatten()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn registry_reuses_the_smallest_index() {
        let mut r = Registry::new();
        assert_eq!((r.acquire(), r.acquire(), r.acquire()), (0, 1, 2));
        r.release(2);
        r.release(0);
        assert_eq!(r.acquire(), 0);
        assert_eq!(r.acquire(), 2);
        assert_eq!(r.acquire(), 3);
    }

    #[test]
    fn live_threads_have_distinct_indices() {
        let here = current().expect("a live thread has an index");
        assert_eq!(current(), Some(here));
        let (tx, rx) = std::sync::mpsc::channel();
        let barrier = std::sync::Barrier::new(4);
        std::thread::scope(|s| {
            for _ in 0..3 {
                let tx = tx.clone();
                let barrier = &barrier;
                s.spawn(move || {
                    tx.send(current().unwrap()).unwrap();
                    barrier.wait();
                });
            }
            barrier.wait();
        });
        drop(tx);
        let mut seen: Vec<usize> = rx.iter().collect();
        seen.push(here);
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(
            seen.len(),
            4,
            "indices of live threads must differ: {seen:?}"
        );
    }
}
