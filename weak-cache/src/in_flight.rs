//! The slow path of `WeakValueCache::get_or_insert_with`: per-key in-flight markers.
//!
//! On a miss the caller (the *creator*) stores a `Slot::Pending(flight)` marker under the key,
//! unlocks the shard and runs the user's closure unlocked. Another caller that finds the marker
//! (a *waiter*) unlocks the shard, sleeps on the flight's condition variable until the creator
//! finishes, then looks the key up again. So the closure runs once per miss, no shard lock is
//! held while it runs (it may use the cache, even the same shard), and every caller gets the
//! same `Arc`.
//!
//! Finishing: the creator locks the shard, finds its entry by the *identity* of its marker
//! (`Arc::ptr_eq`, no user `Eq`), and turns it into `Slot::Live(weak)`. If an `insert` replaced
//! the marker meanwhile, the inserted value wins and is returned (it was recorded in the flight
//! by [`Flight::supersede`]), so callers still share one `Arc`; if that value has died too, the
//! creator returns its own value without storing it. If the closure panics, a drop guard
//! removes the marker (again by identity) and wakes the waiters, one of which becomes the next
//! creator; nothing leaks and the panic propagates.
//!
//! A closure that calls `get_or_insert_with` for its *own* key waits for itself forever, as a
//! recursive lazy initialisation would; any other key is fine.
//!
//! Lock order: shard, then flight; a waiter holds no shard lock while it sleeps.

use crate::shard::Entry;
use crate::sync::{Arc, Condvar, Mutex, Weak};
use crate::value_cache::{Slot, ValueEntry, WeakValueCache};
use std::fmt;
use std::hash::{BuildHasher, Hash};

/// The state shared by a creator and its waiters.
pub(crate) struct Flight<V: ?Sized> {
    state: Mutex<FlightState<V>>,
    done: Condvar,
}

struct FlightState<V: ?Sized> {
    finished: bool,
    /// Set by an `insert` that replaced this flight's marker.
    superseded: Option<Weak<V>>,
}

impl<V: ?Sized> fmt::Debug for Flight<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Flight")
    }
}

impl<V: ?Sized> Flight<V> {
    fn new() -> Self {
        Self {
            state: Mutex::new(FlightState {
                finished: false,
                superseded: None,
            }),
            done: Condvar::new(),
        }
    }

    /// Records that an `insert` replaced this flight's marker with `value`.
    pub(crate) fn supersede(&self, value: Weak<V>) {
        self.state.lock().superseded = Some(value);
    }

    /// Marks the flight finished and wakes every waiter.
    fn finish(&self) {
        self.state.lock().finished = true;
        self.done.notify_all();
    }

    /// Sleeps until the flight is finished.
    fn wait(&self) {
        let mut state = self.state.lock();
        while !state.finished {
            state = self.done.wait(state);
        }
    }

    fn superseded(&self) -> Option<Arc<V>> {
        self.state
            .lock()
            .superseded
            .as_ref()
            .and_then(Weak::upgrade)
    }
}

/// Whether `entry` holds exactly the marker `flight`.
fn holds<K, V: ?Sized>(entry: &ValueEntry<K, V>, flight: &Arc<Flight<V>>) -> bool {
    matches!(&entry.slot, Slot::Pending(f) if Arc::ptr_eq(f, flight))
}

/// Removes the creator's marker and wakes its waiters if the closure unwinds.
struct Abandon<'a, K, V: ?Sized, S> {
    cache: &'a WeakValueCache<K, V, S>,
    hash: u64,
    flight: &'a Arc<Flight<V>>,
}

impl<K, V: ?Sized, S> Drop for Abandon<'_, K, V, S> {
    fn drop(&mut self) {
        let removed = {
            let mut shard = self.cache.shards.lock(self.hash);
            shard
                .table
                .find_entry(self.hash, |e| holds(e, self.flight))
                .ok()
                .map(|entry| entry.remove().0)
        };
        drop(removed);
        self.flight.finish();
    }
}

/// What a locked look-up decided.
enum Claim<V: ?Sized> {
    Hit(Arc<V>),
    Wait(Arc<Flight<V>>),
    Create(Arc<Flight<V>>),
}

impl<K: Hash + Eq, V: ?Sized, S: BuildHasher> WeakValueCache<K, V, S> {
    /// The live value under `key`, or else the value `make()` returns, stored and returned.
    ///
    /// Deduplicating: callers asking for the same key at the same time all get the same `Arc`,
    /// and on a miss `make` runs in exactly one of them; the others wait for it (they hold no
    /// lock while waiting). `make` runs with no lock held, so it may use this cache, except to
    /// ask for the same key, which would wait for itself forever. If `make` panics, the key is
    /// left as it was before the call, waiting callers retry, and the panic propagates.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weak_cache::WeakValueCache::new();
    /// let a = cache.get_or_insert_with("config", || vec![1, 2, 3]);
    /// let b = cache.get_or_insert_with("config", || unreachable!("a is alive"));
    /// assert!(Arc::ptr_eq(&a, &b));
    /// drop((a, b));
    /// let c = cache.get_or_insert_with("config", || vec![4]);
    /// assert_eq!(*c, [4]);
    /// ```
    pub fn get_or_insert_with(&self, key: K, make: impl FnOnce() -> V) -> Arc<V>
    where
        V: Sized,
    {
        self.get_or_insert_arc_with(key, || Arc::new(make()))
    }

    /// Like [`get_or_insert_with`](Self::get_or_insert_with), with a closure that returns the
    /// `Arc` itself (for unsized values, or an `Arc` made elsewhere).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache: weak_cache::WeakValueCache<u32, str> = weak_cache::WeakValueCache::new();
    /// let s = cache.get_or_insert_arc_with(1, || Arc::from("one"));
    /// assert_eq!(&*s, "one");
    /// ```
    pub fn get_or_insert_arc_with(&self, key: K, make: impl FnOnce() -> Arc<V>) -> Arc<V> {
        let hash = self.hasher.hash_one(&key);
        let mut key = Some(key);
        let flight = loop {
            match self.claim(hash, &mut key) {
                Claim::Hit(value) => return value,
                Claim::Wait(flight) => flight.wait(),
                Claim::Create(flight) => break flight,
            }
        };
        let abandon = Abandon {
            cache: self,
            hash,
            flight: &flight,
        };
        let value = make();
        std::mem::forget(abandon);
        let value = self.finish(hash, &flight, value);
        flight.finish();
        value
    }

    /// One locked look-up: a live value, a flight to wait for, or a new marker of ours.
    fn claim(&self, hash: u64, key: &mut Option<K>) -> Claim<V> {
        let mut garbage = Vec::new();
        let mut shard = self.shards.lock(hash);
        let wanted = key
            .as_ref()
            .expect("the key is only moved into a new marker");
        match shard
            .table
            .find_mut(hash, |e| e.hash == hash && e.key == *wanted)
        {
            Some(entry) => match &entry.slot {
                Slot::Live(weak) => match weak.upgrade() {
                    Some(value) => Claim::Hit(value),
                    None => {
                        // Dead: reuse the entry (and its stored key) for our marker.
                        let flight = Arc::new(Flight::new());
                        entry.slot = Slot::Pending(flight.clone());
                        Claim::Create(flight)
                    }
                },
                Slot::Pending(flight) => Claim::Wait(flight.clone()),
            },
            None => {
                shard.grow_check(&mut garbage);
                let flight = Arc::new(Flight::new());
                shard.insert_new(ValueEntry {
                    hash,
                    key: key.take().expect("checked above"),
                    slot: Slot::Pending(flight.clone()),
                });
                Claim::Create(flight)
            }
        }
    }

    /// Publishes the creator's `value` in place of its marker, or defers to an inserted one.
    fn finish(&self, hash: u64, flight: &Arc<Flight<V>>, value: Arc<V>) -> Arc<V> {
        {
            let mut shard = self.shards.lock(hash);
            if let Some(entry) = shard.table.find_mut(hash, |e| holds(e, flight)) {
                entry.slot = Slot::Live(Arc::downgrade(&value));
                debug_assert!(!entry.is_dead());
                return value;
            }
        }
        // An `insert` replaced the marker: its value wins while it lives.
        flight.superseded().unwrap_or(value)
    }
}
