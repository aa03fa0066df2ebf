//! The thread-safe layer: a fixed array of shards, each a lock around a single-threaded
//! core (see [`ShardCore`]), chosen by the key's hash; and stampede protection for
//! `get_or_insert_with`.
//!
//! Locking discipline: a shard's lock is held only while the core is read or updated.
//! Values are cloned out under the lock; entries that an operation evicts, replaces,
//! removes or finds expired are shown to the eviction listener and dropped after the lock
//! is released, so a slow or panicking listener or `Drop` never runs inside the critical
//! section. The weigher and the per-entry expiry run before the lock is taken.
//!
//! Stampede protection: a shard also lists the keys being computed right now (its
//! "flights", usually none or a few, so a `Vec`). A caller that misses and finds a flight
//! for its key waits on that flight's condition variable; one that finds none registers
//! a flight, releases the shard lock, runs the closure, then stores the value and
//! publishes it to the waiters. No lock is held while the closure runs, so a memoized
//! recursive function re-entering the cache with other keys does not deadlock. A guard
//! publishes "failed" if the closure (or anything after it) panics: the waiters wake and
//! each retries from the start, so one of them becomes the new computing thread.

use crate::cores::{Put, RemovalCause, Removed, ShardCore};
use crate::stats::CacheInfo;
use crate::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::Duration;

/// An eviction listener.
pub(crate) type Listener<K, V> = std::sync::Arc<dyn Fn(&K, &V, RemovalCause) + Send + Sync>;
/// A weigher.
pub(crate) type Weigher<K, V> = std::sync::Arc<dyn Fn(&K, &V) -> u32 + Send + Sync>;
/// A per-entry expiry: the entry's time to live (`None`: the cache's default).
pub(crate) type ExpireAfter<K, V> =
    std::sync::Arc<dyn Fn(&K, &V) -> Option<Duration> + Send + Sync>;

/// The user code a cache calls besides `Hash`, `Eq`, `Clone` and `Drop`.
pub(crate) struct Hooks<K, V> {
    pub(crate) listener: Option<Listener<K, V>>,
    pub(crate) weigher: Option<Weigher<K, V>>,
    pub(crate) expire_after: Option<ExpireAfter<K, V>>,
}

impl<K, V> Default for Hooks<K, V> {
    fn default() -> Self {
        Self {
            listener: None,
            weigher: None,
            expire_after: None,
        }
    }
}

impl<K, V> Hooks<K, V> {
    /// The weight and the time to live of an entry about to be stored (user code: called
    /// with no lock held).
    fn assess(&self, key: &K, value: &V, ttl: Option<Duration>) -> (u32, Option<Duration>) {
        let weight = self.weigher.as_ref().map_or(1, |w| w(key, value));
        let ttl = ttl.or_else(|| self.expire_after.as_ref().and_then(|e| e(key, value)));
        (weight, ttl)
    }

    /// Shows every removed entry to the listener (with no lock held), then drops them. A
    /// panicking listener does not stop the others from being told; the first panic is
    /// resumed afterwards.
    pub(crate) fn notify(&self, removed: Removed<K, V>) {
        if removed.is_empty() {
            return;
        }
        let Some(l) = &self.listener else {
            drop(removed);
            return;
        };
        let mut panic = None;
        for (k, v, cause) in removed.into_iter() {
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| l(&k, &v, cause))) {
                panic.get_or_insert(p);
            }
            drop((k, v));
        }
        if let Some(p) = panic {
            resume_unwind(p);
        }
    }
}

/// The default number of shards, by the rule every crate of this workspace uses (four per
/// available core, rounded up to a power of two, between 4 and 256), but at most one per 64
/// entries of capacity (at least one): a small cache stays one exact LRU.
pub(crate) fn default_shards(capacity: Option<usize>) -> usize {
    let cpus = std::thread::available_parallelism().map_or(4, |n| n.get());
    let want = (cpus * 4).next_power_of_two().clamp(4, 256);
    match capacity {
        Some(c) => want.min((c / 64).max(1)),
        None => want,
    }
}

/// One shard, on its own cache lines.
#[repr(align(128))]
struct Shard<P: ShardCore> {
    state: Mutex<State<P>>,
}

struct State<P: ShardCore> {
    cache: P,
    flights: Vec<Pending<P::Key, P::Value>>,
    /// The id of the next computation registered in `flights`.
    next_id: u64,
}

/// A key being computed, and the flight its waiters sleep on, made by the first waiter
/// (a computation no one waits for allocates nothing and wakes no one).
struct Pending<K, V> {
    id: u64,
    hash: u64,
    key: K,
    flight: Option<Arc<Flight<V>>>,
}

/// The outcome of one load, published to the callers waiting for it: threads sleep on the
/// condition variable, tasks on the event.
struct Flight<V> {
    state: Mutex<Outcome<V>>,
    done: Condvar,
    #[cfg(feature = "async")]
    event: event_listener::Event,
}

enum Outcome<V> {
    Running,
    Done(V),
    Failed,
}

impl<V> Flight<V> {
    /// Sets the outcome and wakes every waiter.
    fn publish(&self, outcome: Outcome<V>) {
        *self.state.lock() = outcome;
        self.done.notify_all();
        #[cfg(feature = "async")]
        self.event.notify(usize::MAX);
    }
}

impl<V: Clone> Flight<V> {
    fn new() -> Self {
        Self {
            state: Mutex::new(Outcome::Running),
            done: Condvar::new(),
            #[cfg(feature = "async")]
            event: event_listener::Event::new(),
        }
    }

    /// The outcome if there is one yet: `Some(Some(value))`, `Some(None)` if the load
    /// failed, `None` while it runs.
    #[cfg(feature = "async")]
    fn outcome(&self) -> Option<Option<V>> {
        match &*self.state.lock() {
            Outcome::Running => None,
            Outcome::Done(v) => Some(Some(v.clone())),
            Outcome::Failed => Some(None),
        }
    }

    /// Waits for the outcome without blocking the thread.
    #[cfg(feature = "async")]
    async fn wait_async(&self) -> Option<V> {
        loop {
            if let Some(out) = self.outcome() {
                return out;
            }
            // Listen, then look again: a publication between the two is not missed.
            let listener = self.event.listen();
            if let Some(out) = self.outcome() {
                return out;
            }
            listener.await;
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

/// The sharded cache behind [`Cache`](crate::Cache).
pub(crate) struct Sharded<P: ShardCore, S> {
    shards: Box<[Shard<P>]>,
    hasher: S,
    capacity: Option<usize>,
    pub(crate) hooks: Hooks<P::Key, P::Value>,
}

impl<P: ShardCore, S: BuildHasher> Sharded<P, S>
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
        hooks: Hooks<P::Key, P::Value>,
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
                        next_id: 0,
                    }),
                }
            })
            .collect();
        Self {
            shards,
            hasher,
            capacity,
            hooks,
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
        let mut out = Removed::new();
        let mut st = self.lock(hash);
        let v = st.cache.get_hashed(hash, key, &mut out).cloned();
        drop(st);
        self.hooks.notify(out);
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
        let (weight, ttl) = self.hooks.assess(&key, &value, ttl);
        let hash = self.hasher.hash_one(&key);
        let mut out = Removed::new();
        let mut st = self.lock(hash);
        let put = st.cache.put_hashed(hash, key, value, weight, ttl, &mut out);
        drop(st);
        self.settle(put, out)
    }

    /// After an insertion, with no lock held: tells the listener what it displaced, drops
    /// that, and returns the replaced value if any.
    fn settle(
        &self,
        put: Put<P::Key, P::Value>,
        out: Removed<P::Key, P::Value>,
    ) -> Option<P::Value> {
        match put {
            Put::Replaced(k, old) => {
                if let Some(l) = &self.hooks.listener {
                    let told =
                        catch_unwind(AssertUnwindSafe(|| l(&k, &old, RemovalCause::Replaced)));
                    self.hooks.notify(out);
                    if let Err(p) = told {
                        resume_unwind(p);
                    }
                } else {
                    drop(out);
                }
                Some(old)
            }
            Put::Evicted(k, v, cause) => {
                let mut all = out;
                all.push(k, v, cause);
                self.hooks.notify(all);
                None
            }
            Put::Stored => {
                self.hooks.notify(out);
                None
            }
            Put::Rejected(k, v) => {
                self.hooks.notify(out);
                drop((k, v));
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
        let mut out = Removed::new();
        let removed = self.lock(hash).cache.remove_hashed(hash, key, &mut out);
        self.hooks.notify(out);
        let (k, v) = removed?;
        if let Some(l) = &self.hooks.listener {
            l(&k, &v, RemovalCause::Explicit);
        }
        Some(v)
    }

    /// The first step of a load: the value if it is stored, else the flight of a load of
    /// it already running (to wait on), else a registration of this caller's load (the key
    /// is made owned here, on a miss only).
    fn begin<Q>(
        &self,
        shard: &Shard<P>,
        hash: u64,
        key: &Q,
        owned: impl FnOnce(&Q) -> P::Key,
    ) -> Begin<P::Value>
    where
        P::Key: Borrow<Q>,
        Q: ?Sized + Eq,
    {
        let mut out = Removed::new();
        let mut st = shard.state.lock();
        let found = st.cache.get_hashed(hash, key, &mut out).cloned();
        let next = if let Some(v) = found {
            Begin::Hit(v)
        } else if let Some(p) = st
            .flights
            .iter_mut()
            .find(|p| p.hash == hash && p.key.borrow() == key)
        {
            Begin::Wait(Arc::clone(
                p.flight.get_or_insert_with(|| Arc::new(Flight::new())),
            ))
        } else {
            let id = st.next_id;
            st.next_id += 1;
            st.flights.push(Pending {
                id,
                hash,
                key: owned(key),
                flight: None,
            });
            Begin::Load(id)
        };
        drop(st);
        self.hooks.notify(out);
        next
    }

    /// The last step of a successful load: takes the registration out, stores the value,
    /// publishes it to the waiters (all with no user code under the lock but `Eq` and
    /// `Clone`), and returns it.
    fn store_loaded(
        &self,
        shard: &Shard<P>,
        hash: u64,
        mut guard: Loading<'_, P>,
        value: P::Value,
    ) -> P::Value {
        let mut out = Removed::new();
        let mut st = shard.state.lock();
        let Some(Pending { key, flight, .. }) = guard.unregister(&mut st) else {
            unreachable!("lru-ttl: a load left the flights list")
        };
        guard.flight = flight;
        let (mut weight, mut ttl) = (1, None);
        if self.hooks.weigher.is_some() || self.hooks.expire_after.is_some() {
            // User code runs with no lock held. Meanwhile the key has neither an entry nor a
            // flight: a caller arriving now loads it again.
            drop(st);
            (weight, ttl) = self.hooks.assess(&key, &value, None);
            st = shard.state.lock();
        }
        let put = st
            .cache
            .put_hashed(hash, key, value.clone(), weight, ttl, &mut out);
        drop(st);
        if let Some(flight) = guard.flight.take() {
            flight.publish(Outcome::Done(value.clone()));
        }
        drop(guard);
        drop(self.settle(put, out));
        value
    }

    /// The value of `key`, loaded by `load` on a miss, once for all concurrent callers: a
    /// caller that finds a load running waits for it; when it fails (`Err`, a panic, or, for
    /// the async forms, a dropped future) the waiters start over and one of them loads.
    pub(crate) fn try_get_or_insert_with<Q, E>(
        &self,
        key: &Q,
        load: impl FnOnce() -> Result<P::Value, E>,
    ) -> Result<P::Value, E>
    where
        P::Key: Borrow<Q>,
        Q: ?Sized + Hash + Eq + ToOwned<Owned = P::Key>,
    {
        let hash = self.hasher.hash_one(key);
        let shard = self.shard(hash);
        let id = loop {
            match self.begin(shard, hash, key, Q::to_owned) {
                Begin::Hit(v) => return Ok(v),
                Begin::Wait(flight) => match flight.wait() {
                    Some(v) => return Ok(v),
                    None => continue, // the load failed: start over
                },
                Begin::Load(id) => break id,
            }
        };
        let guard = Loading::new(shard, id);
        let value = load()?; // an error drops the guard: the waiters start over
        Ok(self.store_loaded(shard, hash, guard, value))
    }

    /// [`try_get_or_insert_with`](Self::try_get_or_insert_with) for a future: waiting for
    /// another caller's load does not block the thread.
    #[cfg(feature = "async")]
    pub(crate) async fn try_get_or_insert_with_async<Q, E>(
        &self,
        key: &Q,
        load: impl std::future::Future<Output = Result<P::Value, E>>,
    ) -> Result<P::Value, E>
    where
        P::Key: Borrow<Q>,
        Q: ?Sized + Hash + Eq + ToOwned<Owned = P::Key>,
    {
        let hash = self.hasher.hash_one(key);
        let shard = self.shard(hash);
        let id = loop {
            match self.begin(shard, hash, key, Q::to_owned) {
                Begin::Hit(v) => return Ok(v),
                Begin::Wait(flight) => match flight.wait_async().await {
                    Some(v) => return Ok(v),
                    None => continue, // the load failed: start over
                },
                Begin::Load(id) => break id,
            }
        };
        // Dropping this future while `load` runs drops the guard: the waiters start over.
        let guard = Loading::new(shard, id);
        let value = load.await?;
        Ok(self.store_loaded(shard, hash, guard, value))
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
            if self.hooks.listener.is_some() {
                let mut out = Removed::new();
                old.drain(|k, v| out.push(k, v, RemovalCause::Explicit));
                self.hooks.notify(out);
            } else {
                drop(old);
            }
        }
    }

    pub(crate) fn purge(&self) -> usize {
        let mut n = 0;
        for s in self.shards.iter() {
            let mut out = Removed::new();
            s.state.lock().cache.purge(&mut out);
            n += out.len();
            self.hooks.notify(out);
        }
        n
    }

    pub(crate) fn retain(&self, mut keep: impl FnMut(&P::Key, &P::Value) -> bool) {
        for s in self.shards.iter() {
            let mut out = Removed::new();
            s.state.lock().cache.retain(&mut keep, &mut out);
            self.hooks.notify(out);
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<(P::Key, P::Value)>
    where
        P::Key: Clone,
    {
        let mut all = Vec::new();
        for s in self.shards.iter() {
            s.state
                .lock()
                .cache
                .for_each(&mut |k, v| all.push((k.clone(), v.clone())));
        }
        all
    }

    pub(crate) fn weighted_size(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.state.lock().cache.weight())
            .sum()
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

impl<P: ShardCore, S> Sharded<P, S> {
    pub(crate) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        self.capacity
    }
}

/// What a loading caller does after [`Sharded::begin`].
enum Begin<V> {
    /// The value was stored.
    Hit(V),
    /// Another caller is loading it: wait on this flight.
    Wait(Arc<Flight<V>>),
    /// This caller loads it (registered under this id).
    Load(u64),
}

/// Owned by the caller loading a value. If the load fails (returns an error, panics, or is
/// dropped as a future), its drop takes the load out of the flights list if it is still
/// there, and tells the waiters, if any, that it failed: they wake and start over.
struct Loading<'a, P: ShardCore> {
    shard: &'a Shard<P>,
    id: u64,
    /// Whether the computation is still in the flights list.
    registered: bool,
    /// The waiters' flight, once taken out of the list and not yet published.
    flight: Option<Arc<Flight<P::Value>>>,
}

impl<'a, P: ShardCore> Loading<'a, P> {
    fn new(shard: &'a Shard<P>, id: u64) -> Self {
        Self {
            shard,
            id,
            registered: true,
            flight: None,
        }
    }

    fn unregister(&mut self, st: &mut State<P>) -> Option<Pending<P::Key, P::Value>> {
        let pos = st.flights.iter().position(|p| p.id == self.id)?;
        self.registered = false;
        Some(st.flights.swap_remove(pos))
    }
}

impl<P: ShardCore> Drop for Loading<'_, P> {
    fn drop(&mut self) {
        let mut pending = None;
        if self.registered {
            let mut st = self.shard.state.lock();
            pending = self.unregister(&mut st);
        }
        let flight = self
            .flight
            .take()
            .or_else(|| pending.as_mut().and_then(|p| p.flight.take()));
        if let Some(flight) = flight {
            flight.publish(Outcome::Failed);
        }
        drop(pending);
    }
}

impl<P: ShardCore, S> fmt::Debug for Sharded<P, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sharded")
            .field("shards", &self.shards.len())
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}
