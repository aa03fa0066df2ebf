//! The thread-safe layer: a fixed array of shards, each a lock around a single-threaded
//! core (see [`Policy`]), chosen by the key's hash; and stampede protection for
//! `get_or_insert_with`.
//!
//! Locking discipline: a shard's lock is held only while the core is read or updated.
//! Values are cloned out under the lock; entries that an operation evicts, replaces,
//! removes or finds expired are dropped after the lock is released, so a slow or
//! panicking `Drop` never runs inside the critical section.
//!
//! Stampede protection: a shard also lists the keys being computed right now (its
//! "flights", usually none or a few, so a `Vec`). A caller that misses and finds a flight
//! for its key waits on that flight's condition variable; one that finds none registers
//! a flight, releases the shard lock, runs the closure, then stores the value and
//! publishes it to the waiters. No lock is held while the closure runs, so a memoized
//! recursive function re-entering the cache with other keys does not deadlock. A guard
//! publishes "failed" if the closure (or anything after it) panics: the waiters wake and
//! each retries from the start, so one of them becomes the new computing thread.

use crate::policy::{Policy, Put};
use crate::stats::CacheInfo;
use crate::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::time::Duration;

/// The default number of shards: four per CPU, rounded up to a power of two, but at
/// most one per 64 entries of capacity (at least one).
pub(crate) fn default_shards(capacity: Option<usize>) -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let want = (cpus * 4).next_power_of_two();
    match capacity {
        Some(c) => want.min((c / 64).max(1)),
        None => want,
    }
}

/// One shard, on its own cache lines.
#[repr(align(128))]
struct Shard<P: Policy> {
    state: Mutex<State<P>>,
}

struct State<P: Policy> {
    cache: P,
    flights: Vec<Pending<P::Key, P::Value>>,
}

/// A key being computed, with the flight its waiters sleep on.
struct Pending<K, V> {
    hash: u64,
    key: K,
    flight: Arc<Flight<V>>,
}

/// The outcome of one computation, published to the callers waiting for it.
struct Flight<V> {
    state: Mutex<Outcome<V>>,
    done: Condvar,
}

enum Outcome<V> {
    Running,
    Done(V),
    Failed,
}

impl<V: Clone> Flight<V> {
    fn new() -> Self {
        Self {
            state: Mutex::new(Outcome::Running),
            done: Condvar::new(),
        }
    }

    /// Waits for the outcome: the value, or `None` if the computation failed.
    fn wait(&self) -> Option<V> {
        let mut st = self.state.lock();
        loop {
            match &*st {
                Outcome::Running => st = self.done.wait(st),
                Outcome::Done(v) => return Some(v.clone()),
                Outcome::Failed => return None,
            }
        }
    }
}

/// The sharded cache behind `SyncLruCache` and `SyncTtlCache`.
pub(crate) struct Sharded<P: Policy, S> {
    shards: Box<[Shard<P>]>,
    hasher: S,
    capacity: Option<usize>,
}

impl<P: Policy, S: BuildHasher> Sharded<P, S>
where
    P::Key: Hash + Eq,
    P::Value: Clone,
{
    /// `shards` shards (at least one, at most `capacity` when bounded) splitting `capacity`
    /// between them; `make` builds a core of the given capacity.
    pub(crate) fn new(
        capacity: Option<usize>,
        shards: usize,
        hasher: S,
        mut make: impl FnMut(Option<usize>) -> P,
    ) -> Self {
        let n = match capacity {
            Some(c) => shards.clamp(1, c.max(1)),
            None => shards.max(1),
        };
        let shards = (0..n)
            .map(|i| {
                let cap = capacity.map(|c| c / n + usize::from(i < c % n));
                Shard {
                    state: Mutex::new(State {
                        cache: make(cap),
                        flights: Vec::new(),
                    }),
                }
            })
            .collect();
        Self {
            shards,
            hasher,
            capacity,
        }
    }

    #[inline]
    fn shard(&self, hash: u64) -> &Shard<P> {
        // Bits 24..56 of the hash: clear of the low bits hashbrown uses for the bucket
        // and of the top seven it keeps as a tag.
        let bits = (hash >> 24) as u32 as u64;
        let i = (bits * self.shards.len() as u64) >> 32;
        &self.shards[i as usize]
    }

    #[inline]
    fn lock(&self, hash: u64) -> MutexGuard<'_, State<P>> {
        self.shard(hash).state.lock()
    }

    #[inline]
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<P::Value>
    where
        P::Key: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        let hash = self.hasher.hash_one(key);
        let mut st = self.lock(hash);
        let (v, dead) = st.cache.get_hashed(hash, key);
        let v = v.cloned();
        drop(st);
        drop(dead);
        v
    }

    pub(crate) fn peek<Q>(&self, key: &Q) -> Option<P::Value>
    where
        P::Key: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        let hash = self.hasher.hash_one(key);
        self.lock(hash).cache.peek_hashed(hash, key).cloned()
    }

    pub(crate) fn contains_key<Q>(&self, key: &Q) -> bool
    where
        P::Key: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        let hash = self.hasher.hash_one(key);
        self.lock(hash).cache.peek_hashed(hash, key).is_some()
    }

    #[inline]
    pub(crate) fn insert(
        &self,
        key: P::Key,
        value: P::Value,
        ttl: Option<Duration>,
    ) -> Option<P::Value> {
        let hash = self.hasher.hash_one(&key);
        let mut st = self.lock(hash);
        let (put, dead) = st.cache.put_hashed(hash, key, value, ttl);
        drop(st);
        drop(dead);
        match put {
            Put::Replaced(_, old) => Some(old),
            other => {
                drop(other);
                None
            }
        }
    }

    pub(crate) fn remove<Q>(&self, key: &Q) -> Option<P::Value>
    where
        P::Key: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        let hash = self.hasher.hash_one(key);
        let removed = self.lock(hash).cache.remove_hashed(hash, key);
        removed.map(|(_, v)| v)
    }

    pub(crate) fn get_or_insert_with<F>(&self, key: P::Key, f: F) -> P::Value
    where
        F: FnOnce() -> P::Value,
    {
        let hash = self.hasher.hash_one(&key);
        let shard = self.shard(hash);
        let flight = loop {
            let mut st = shard.state.lock();
            let (found, dead) = st.cache.get_hashed(hash, &key);
            if let Some(v) = found {
                let v = v.clone();
                drop(st);
                drop(dead);
                return v;
            }
            let running = st
                .flights
                .iter()
                .find(|p| p.hash == hash && p.key == key)
                .map(|p| Arc::clone(&p.flight));
            if let Some(flight) = running {
                drop(st);
                drop(dead);
                match flight.wait() {
                    Some(v) => return v,
                    None => continue, // the computing caller panicked: start over
                }
            }
            let flight = Arc::new(Flight::new());
            st.flights.push(Pending {
                hash,
                key,
                flight: Arc::clone(&flight),
            });
            drop(st);
            drop(dead);
            break flight;
        };
        let mut guard = Computing {
            shard,
            flight,
            result: None,
        };
        let value = f();
        let mut st = shard.state.lock();
        let pending = guard.unregister(&mut st);
        let (put, dead) = match pending {
            Some(p) => st.cache.put_hashed(hash, p.key, value.clone(), None),
            None => (Put::Stored, None), // unreachable: only this guard removes it
        };
        drop(st);
        guard.result = Some(value.clone());
        drop(guard); // publishes the value and wakes the waiters
        drop(put);
        drop(dead);
        value
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.state.lock().cache.len()).sum()
    }

    pub(crate) fn cache_info(&self) -> CacheInfo {
        let mut info = CacheInfo {
            maxsize: self.capacity,
            ..CacheInfo::default()
        };
        for s in self.shards.iter() {
            let i = s.state.lock().cache.info();
            info.hits += i.hits;
            info.misses += i.misses;
            info.currsize += i.currsize;
        }
        info
    }

    pub(crate) fn clear(&self) {
        for s in self.shards.iter() {
            let old = s.state.lock().cache.take();
            drop(old);
        }
    }

    pub(crate) fn purge(&self) -> usize {
        let mut n = 0;
        for s in self.shards.iter() {
            let dead = s.state.lock().cache.purge();
            n += dead.len();
            drop(dead);
        }
        n
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        let mut n = std::mem::size_of_val(&*self.shards);
        for s in self.shards.iter() {
            let st = s.state.lock();
            n += st.cache.heap_bytes()
                + st.flights.capacity() * std::mem::size_of::<Pending<P::Key, P::Value>>();
        }
        n
    }
}

impl<P: Policy, S> Sharded<P, S> {
    pub(crate) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        self.capacity
    }
}

/// Owned by the caller computing a value: on drop it removes the flight from its shard
/// (if still there) and publishes the outcome, `Failed` unless a value was set.
struct Computing<'a, P: Policy> {
    shard: &'a Shard<P>,
    flight: Arc<Flight<P::Value>>,
    result: Option<P::Value>,
}

impl<P: Policy> Computing<'_, P> {
    fn unregister(&self, st: &mut State<P>) -> Option<Pending<P::Key, P::Value>> {
        let pos = st
            .flights
            .iter()
            .position(|p| Arc::ptr_eq(&p.flight, &self.flight))?;
        Some(st.flights.swap_remove(pos))
    }
}

impl<P: Policy> Drop for Computing<'_, P> {
    fn drop(&mut self) {
        let pending = {
            let mut st = self.shard.state.lock();
            self.unregister(&mut st)
        };
        {
            let mut out = self.flight.state.lock();
            *out = match self.result.take() {
                Some(v) => Outcome::Done(v),
                None => Outcome::Failed,
            };
        }
        self.flight.done.notify_all();
        drop(pending);
    }
}

impl<P: Policy, S> fmt::Debug for Sharded<P, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sharded")
            .field("shards", &self.shards.len())
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}
