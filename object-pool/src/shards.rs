//! The slow path: sharded LIFO stacks shared by all threads, with a home shard per thread
//! and stealing.
//!
//! A thread pushes to and pops from its home shard (its thread index modulo the number of
//! shards), so threads whose front slot is busy still rarely meet on a lock; a pop that finds
//! the home shard empty steals from the others, skipping those whose published length is 0
//! without locking them. Each shard is a short-held mutex around a `Vec`: only pushes, pops
//! and moves happen under it, never user code (no reset, no `create`, no `Drop` of `T`).
//!
//! The cap: `reserved` counts the objects in all shards, the pushes in flight, and the
//! tokens owned by front slots (one place each, see [`slot`](crate::slot)). A push, or a slot
//! wanting a token, first reserves a place with a compare-and-swap that never lets
//! `reserved` exceed `cap` (the pool's `max_retained`), and a pop gives its place back only
//! after it removed the object, so idle objects never exceed `cap`.

use crate::sync::{AtomicU64, AtomicUsize, Mutex, Ordering};

/// One shard: a stack, its length (published for stealers and statistics) and its counters,
/// which are written only under the stack's lock (a load and a store, no read-modify-write).
#[derive(Debug)]
#[repr(align(128))]
struct Shard<T> {
    stack: Mutex<Vec<T>>,
    len: AtomicUsize,
    /// Pops served here.
    reused: AtomicU64,
    /// Pushes kept here.
    returned: AtomicU64,
}

/// A value on its own cache line, so that writing it does not slow readers of its
/// neighbours.
#[derive(Debug)]
#[repr(align(128))]
struct Padded<T>(T);

/// Adds one to a counter whose writers are serialised by a lock.
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// The shared stacks of one pool.
#[derive(Debug)]
pub(crate) struct Shards<T> {
    shards: Box<[Shard<T>]>,
    /// Objects in the shards, pushes in flight and slot tokens; never above `cap`. The only
    /// value all threads write on the slow path, so on its own cache line.
    reserved: Padded<AtomicUsize>,
    cap: usize,
}

impl<T> Shards<T> {
    /// `count` shards (at least one) holding at most `cap` objects together.
    pub(crate) fn new(count: usize, cap: usize) -> Self {
        Self {
            shards: (0..count.max(1))
                .map(|_| Shard {
                    stack: Mutex::new(Vec::new()),
                    len: AtomicUsize::new(0),
                    reused: AtomicU64::new(0),
                    returned: AtomicU64::new(0),
                })
                .collect(),
            reserved: Padded(AtomicUsize::new(0)),
            cap,
        }
    }

    fn home(&self, thread: Option<usize>) -> usize {
        thread.unwrap_or(0) % self.shards.len()
    }

    /// Whether a place is free (a hint: other threads may take it first).
    pub(crate) fn has_room(&self) -> bool {
        self.reserved.0.load(Ordering::Relaxed) < self.cap
    }

    /// Reserves one place of the budget; `false` when all `cap` are taken.
    pub(crate) fn reserve(&self) -> bool {
        let mut reserved = self.reserved.0.load(Ordering::Relaxed);
        loop {
            if reserved >= self.cap {
                return false;
            }
            match self.reserved.0.compare_exchange_weak(
                reserved,
                reserved + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => reserved = now,
            }
        }
    }

    /// Pushes `object` onto the home shard of `thread`, or gives it back when the budget is
    /// used up.
    pub(crate) fn push(&self, thread: Option<usize>, object: T) -> Result<(), T> {
        if !self.reserve() {
            return Err(object);
        }
        let shard = &self.shards[self.home(thread)];
        let mut stack = shard.stack.lock();
        stack.push(object);
        shard.len.store(stack.len(), Ordering::Release);
        bump(&shard.returned);
        drop(stack);
        Ok(())
    }

    /// Pops the most recently pushed object of the home shard of `thread`, else steals one
    /// from another shard; `None` when all shards looked empty.
    pub(crate) fn pop(&self, thread: Option<usize>) -> Option<T> {
        let home = self.home(thread);
        let n = self.shards.len();
        for k in 0..n {
            let shard = &self.shards[(home + k) % n];
            if shard.len.load(Ordering::Acquire) == 0 {
                continue;
            }
            let mut stack = shard.stack.lock();
            let object = stack.pop();
            if object.is_some() {
                shard.len.store(stack.len(), Ordering::Release);
                bump(&shard.reused);
            }
            drop(stack);
            if let Some(object) = object {
                self.reserved.0.fetch_sub(1, Ordering::Relaxed);
                return Some(object);
            }
        }
        None
    }

    /// Removes idle objects, oldest first, until at most `keep` are left in the shards, and
    /// returns them for the caller to drop outside the locks.
    pub(crate) fn drain_to(&self, keep: usize) -> Vec<T> {
        let mut excess = self.idle().saturating_sub(keep);
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            if excess == 0 {
                break;
            }
            let mut stack = shard.stack.lock();
            let k = excess.min(stack.len());
            out.extend(stack.drain(..k));
            shard.len.store(stack.len(), Ordering::Release);
            drop(stack);
            self.reserved.0.fetch_sub(k, Ordering::Relaxed);
            excess -= k;
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

    /// Pushes kept in the shards so far.
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
