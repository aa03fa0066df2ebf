//! The slow path: sharded LIFO stacks shared by all threads, with a home shard per thread
//! and stealing.
//!
//! Magazines flush their older half here when full and refill from here when empty, a batch
//! per lock; threads without a magazine push and pop single objects. A thread uses its home
//! shard (its thread index modulo the number of shards) and, when that is empty, steals from
//! the others, skipping those whose published length is 0 without locking them. Each shard is
//! a short-held mutex around a `Vec`: only pushes, pops and moves happen under it, never user
//! code (no reset, no `create`, no `Drop` of `T`). Objects here hold their places of the
//! budget; the shards never touch the budget themselves.

use crate::sync::{AtomicU64, AtomicUsize, Mutex, Ordering};

/// One shard: a stack, its length (published for stealers and statistics) and its counters,
/// which are written only under the stack's lock (a load and a store, no read-modify-write).
#[derive(Debug)]
#[repr(align(128))]
struct Shard<T> {
    stack: Mutex<Vec<T>>,
    len: AtomicUsize,
    /// Objects taken from here for a get (a pop, not a refill).
    reused: AtomicU64,
    /// Objects kept here by a return (a push, not a flush).
    returned: AtomicU64,
}

/// Adds `n` to a counter whose writers are serialised by a lock.
fn add(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
}

/// The shared stacks of one pool.
#[derive(Debug)]
pub(crate) struct Shards<T> {
    shards: Box<[Shard<T>]>,
}

impl<T> Shards<T> {
    /// `count` shards (at least one).
    pub(crate) fn new(count: usize) -> Self {
        Self {
            shards: (0..count.max(1))
                .map(|_| Shard {
                    stack: Mutex::new(Vec::new()),
                    len: AtomicUsize::new(0),
                    reused: AtomicU64::new(0),
                    returned: AtomicU64::new(0),
                })
                .collect(),
        }
    }

    fn home(&self, thread: Option<usize>) -> usize {
        thread.unwrap_or(0) % self.shards.len()
    }

    /// Pushes a returned `object` (which holds its place) onto the home shard of `thread`.
    pub(crate) fn push(&self, thread: Option<usize>, object: T) {
        let shard = &self.shards[self.home(thread)];
        let mut stack = shard.stack.lock();
        stack.push(object);
        shard.len.store(stack.len(), Ordering::Release);
        add(&shard.returned, 1);
    }

    /// Moves `objects` (a magazine's flushed half, oldest first) onto the home shard of
    /// `thread`.
    pub(crate) fn push_batch(&self, thread: Option<usize>, objects: &mut dyn Iterator<Item = T>) {
        let shard = &self.shards[self.home(thread)];
        let mut stack = shard.stack.lock();
        stack.extend(objects);
        shard.len.store(stack.len(), Ordering::Release);
    }

    /// Pops the most recently pushed object of the home shard of `thread`, else steals one
    /// from another shard; `None` when all shards looked empty.
    pub(crate) fn pop(&self, thread: Option<usize>) -> Option<T> {
        let mut out = None;
        self.take(thread, 1, |stack, _| out = stack.pop());
        out
    }

    /// Hands up to `max` objects (newest first) to `sink`, from the home shard of `thread` or
    /// else stolen from one other shard, and returns how many. `sink` runs under the shard's
    /// lock and must run no user code.
    pub(crate) fn pop_batch(
        &self,
        thread: Option<usize>,
        max: usize,
        sink: &mut dyn FnMut(T),
    ) -> usize {
        let mut moved = 0;
        self.take(thread, 0, |stack, _| {
            let k = max.min(stack.len());
            let at = stack.len() - k;
            stack.drain(at..).rev().for_each(&mut *sink);
            moved = k;
        });
        moved
    }

    /// Runs `f` under the lock of the first shard (home first) that looks non-empty and is,
    /// counting `reused` reused objects there.
    fn take(&self, thread: Option<usize>, reused: u64, mut f: impl FnMut(&mut Vec<T>, usize)) {
        let home = self.home(thread);
        let n = self.shards.len();
        for k in 0..n {
            let shard = &self.shards[(home + k) % n];
            if shard.len.load(Ordering::Acquire) == 0 {
                continue;
            }
            let mut stack = shard.stack.lock();
            let before = stack.len();
            if before == 0 {
                continue;
            }
            f(&mut stack, before);
            shard.len.store(stack.len(), Ordering::Release);
            add(&shard.reused, reused);
            return;
        }
    }

    /// Removes up to `max` idle objects, oldest first, and returns them for the caller to
    /// drop outside the locks.
    pub(crate) fn drain(&self, max: usize) -> Vec<T> {
        let mut left = max;
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            if left == 0 {
                break;
            }
            let mut stack = shard.stack.lock();
            let k = left.min(stack.len());
            out.extend(stack.drain(..k));
            shard.len.store(stack.len(), Ordering::Release);
            left -= k;
        }
        out
    }

    /// Objects in the shards now, as their lengths were last published.
    pub(crate) fn idle(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.len.load(Ordering::Relaxed))
            .sum()
    }

    /// Pops served from the shards so far.
    pub(crate) fn reused(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.reused.load(Ordering::Relaxed))
            .sum()
    }

    /// Returns kept in the shards so far.
    pub(crate) fn returned(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.returned.load(Ordering::Relaxed))
            .sum()
    }

    /// How many shards there are.
    pub(crate) fn count(&self) -> usize {
        self.shards.len()
    }
}
