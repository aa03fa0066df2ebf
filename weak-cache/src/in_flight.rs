//! The slow path of `WeakValueCache::get_or_insert_with`: per-key in-flight markers.
//!
//! On a miss the caller (the *creator*) stores a `Slot::Pending { token, .. }` marker under the
//! key, unlocks the shard and runs the user's closure unlocked. Another caller that finds the
//! marker (a *waiter*) sleeps on the shard's condition variable, which releases the shard lock,
//! and looks again when woken. So the closure runs once per miss, no lock is held while it runs
//! (it may use the cache, even the same shard), and every caller gets the same `Arc`. A marker
//! costs no allocation: it is a token unique within the shard, and the shard counts its
//! sleepers so that a creator with nobody waiting skips the notification.
//!
//! Finishing: the creator locks the shard again, finds its entry by hash and *token* (no user
//! `Eq` runs), and turns it into `Slot::Live(weak)`. If an `insert` stored a value under the key
//! meanwhile (kept in the marker as `superseded`), that value wins while it is alive, so callers
//! still share one `Arc`. If the closure panics, a drop guard turns the marker back (into the
//! superseding value, or no entry at all) and wakes the waiters, one of which becomes the next
//! creator; nothing leaks and the panic propagates.
//!
//! A creator that fails (returns an `Err`) or whose future is dropped is handled as one that
//! panics: the guard restores the key and wakes the waiters, who look again. Tasks
//! (`get_or_insert_with_async`, feature `async`) wait on the shard's event instead of its
//! condition variable, listening before they unlock so that no wake-up is missed.
//!
//! A closure that calls `get_or_insert_with` for its *own* key waits for itself forever, as a
//! recursive lazy initialisation would; any other key is fine. Waiters of one shard share its
//! condition variable, so a wake-up may be for another key: they look again and sleep again.

use crate::shard::Shard;
use crate::sync::Arc;
use crate::value_cache::{Slot, ValueEntry, WeakValueCache};
use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};

/// What one look at the shard found for a creating caller.
enum Claim<V: ?Sized> {
    /// The live value.
    Hit(Arc<V>),
    /// This caller creates it: its marker's token.
    Mine(u64),
    /// Another caller is creating it.
    Wait,
}

/// Whether `entry` is the marker `token` stored under `hash`.
#[inline]
fn is_marker<K, V: ?Sized>(entry: &ValueEntry<K, V>, hash: u64, token: u64) -> bool {
    entry.hash == hash && matches!(entry.slot, Slot::Pending { token: t, .. } if t == token)
}

/// Takes the creator's marker back and wakes the waiters if the closure unwinds.
struct Abandon<'a, K, V: ?Sized, S> {
    cache: &'a WeakValueCache<K, V, S>,
    hash: u64,
    token: u64,
}

impl<K, V: ?Sized, S> Drop for Abandon<'_, K, V, S> {
    fn drop(&mut self) {
        let (hash, token) = (self.hash, self.token);
        let mut removed = None;
        let mut shard = self.cache.shards.lock(hash);
        if let Ok(mut entry) = shard.table.find_entry(hash, |e| is_marker(e, hash, token)) {
            let slot = &mut entry.get_mut().slot;
            match slot {
                Slot::Pending {
                    superseded: Some(weak),
                    ..
                } => *slot = Slot::Live(weak.clone()),
                _ => removed = Some(entry.remove().0),
            }
        }
        self.cache.shards.wake(hash, &shard);
        drop(shard);
        drop(removed);
    }
}

impl<K: Hash + Eq, V: ?Sized, S: BuildHasher> WeakValueCache<K, V, S> {
    /// The live value under `key`, or else the value `make()` returns, stored and returned.
    /// The key may be borrowed (a `&str` for `String` keys): it is made owned (`ToOwned`, so
    /// any `Clone` key) only when a new entry is stored.
    ///
    /// Deduplicating: callers asking for the same key at the same time all get the same `Arc`,
    /// and on a miss `make` runs in exactly one of them; the others wait for it (they hold no
    /// lock while waiting). `make` runs with no lock held, so it may use this cache, except to
    /// ask for the same key, which would wait for itself forever. If `make` panics, the key is
    /// left as it was before the call, waiting callers retry, and the panic propagates.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache = weakref_cache::WeakValueCache::new();
    /// let a = cache.get_or_insert_with(&"config", || vec![1, 2, 3]);
    /// let b = cache.get_or_insert_with(&"config", || unreachable!("a is alive"));
    /// assert!(Arc::ptr_eq(&a, &b));
    /// drop((a, b));
    /// let c = cache.get_or_insert_with(&"config", || vec![4]);
    /// assert_eq!(*c, [4]);
    /// ```
    pub fn get_or_insert_with<Q>(&self, key: &Q, make: impl FnOnce() -> V) -> Arc<V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq + ToOwned<Owned = K>,
        V: Sized,
    {
        self.get_or_insert_arc_with(key, || Arc::new(make()))
    }

    /// Like [`get_or_insert_with`](Self::get_or_insert_with), with a closure that returns the
    /// `Arc` itself (for unsized values, or an `Arc` made elsewhere).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache: weakref_cache::WeakValueCache<u32, str> = weakref_cache::WeakValueCache::new();
    /// let s = cache.get_or_insert_arc_with(&1, || Arc::from("one"));
    /// assert_eq!(&*s, "one");
    /// ```
    pub fn get_or_insert_arc_with<Q>(&self, key: &Q, make: impl FnOnce() -> Arc<V>) -> Arc<V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq + ToOwned<Owned = K>,
    {
        match self.try_get_or_insert_arc_with(key, || Ok::<_, std::convert::Infallible>(make())) {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    /// Like [`get_or_insert_with`](Self::get_or_insert_with), with a creator that can fail:
    /// an `Err` is returned to this caller and nothing is stored (the key is left as it was).
    /// Callers that were waiting for this creation do not receive the error: they start
    /// over, and one of them creates (a failure may be transient; the error need not be
    /// `Clone`).
    ///
    /// # Panics
    ///
    /// If `make` panics (the key is left as it was, waiters start over).
    ///
    /// ```
    /// let cache: weakref_cache::WeakValueCache<String, u16> = weakref_cache::WeakValueCache::new();
    /// assert!(cache.try_get_or_insert_with("port", || "eighty".parse::<u16>()).is_err());
    /// assert!(!cache.contains_key("port"));
    /// let port = cache.try_get_or_insert_with("port", || "80".parse::<u16>()).unwrap();
    /// assert_eq!(*port, 80);
    /// ```
    pub fn try_get_or_insert_with<Q, E>(
        &self,
        key: &Q,
        make: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq + ToOwned<Owned = K>,
        V: Sized,
    {
        self.try_get_or_insert_arc_with(key, || make().map(Arc::new))
    }

    /// [`try_get_or_insert_with`](Self::try_get_or_insert_with) with a creator that returns
    /// the `Arc` itself.
    ///
    /// # Panics
    ///
    /// If `make` panics (the key is left as it was, waiters start over).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cache: weakref_cache::WeakValueCache<u8, str> = weakref_cache::WeakValueCache::new();
    /// let s = cache.try_get_or_insert_arc_with(&1, || Ok::<_, ()>(Arc::from("one")));
    /// assert_eq!(&*s.unwrap(), "one");
    /// ```
    pub fn try_get_or_insert_arc_with<Q, E>(
        &self,
        key: &Q,
        make: impl FnOnce() -> Result<Arc<V>, E>,
    ) -> Result<Arc<V>, E>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq + ToOwned<Owned = K>,
    {
        let hash = self.hasher.hash_one(key);
        let mut garbage = Vec::new();
        let token = {
            let mut shard = self.shards.lock(hash);
            loop {
                match self.claim_in(&mut shard, hash, key, &mut garbage) {
                    Claim::Hit(value) => {
                        drop(shard);
                        // A purged key's `Drop` may panic: `value` is a local, dropped if so.
                        drop(garbage);
                        return Ok(value);
                    }
                    Claim::Mine(token) => break token,
                    Claim::Wait => shard = self.shards.wait(hash, shard),
                }
            }
        };
        let abandon = Abandon {
            cache: self,
            hash,
            token,
        };
        // Unlocked, and with the marker guarded: a panicking `Drop` here releases it.
        drop(garbage);
        let value = make()?; // an error drops `abandon`: the key is restored, waiters retry
        std::mem::forget(abandon);
        Ok(self.publish(hash, token, value))
    }

    /// [`get_or_insert_with`](Self::get_or_insert_with) with a future: a task that finds
    /// another creating the same key waits without blocking its thread (on any runtime). If
    /// the creating task's future is dropped (cancelled) or panics, the key is left as it was
    /// and a waiter takes over. Needs the `async` feature.
    ///
    /// # Panics
    ///
    /// If `make` panics (when polled): the panic propagates to this caller.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let cache: weakref_cache::WeakValueCache<u32, String> = weakref_cache::WeakValueCache::new();
    /// let a = cache.get_or_insert_with_async(&1, async { "one".to_string() }).await;
    /// assert_eq!(*a, "one");
    /// # });
    /// ```
    #[cfg(feature = "async")]
    pub async fn get_or_insert_with_async<Q>(
        &self,
        key: &Q,
        make: impl std::future::Future<Output = V>,
    ) -> Arc<V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq + ToOwned<Owned = K>,
        V: Sized,
    {
        let make = async { Ok::<_, std::convert::Infallible>(Arc::new(make.await)) };
        match self.try_get_or_insert_arc_with_async(key, make).await {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    /// [`try_get_or_insert_with`](Self::try_get_or_insert_with) with a future (feature
    /// `async`): an `Err` is returned and nothing stored; waiting tasks start over.
    ///
    /// # Panics
    ///
    /// If `make` panics (when polled): the panic propagates to this caller.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let cache: weakref_cache::WeakValueCache<u32, String> = weakref_cache::WeakValueCache::new();
    /// let r = cache.try_get_or_insert_with_async(&1, async { Err::<String, _>("down") }).await;
    /// assert_eq!(r.unwrap_err(), "down");
    /// assert!(!cache.contains_key(&1));
    /// # });
    /// ```
    #[cfg(feature = "async")]
    pub async fn try_get_or_insert_with_async<Q, E>(
        &self,
        key: &Q,
        make: impl std::future::Future<Output = Result<V, E>>,
    ) -> Result<Arc<V>, E>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq + ToOwned<Owned = K>,
        V: Sized,
    {
        self.try_get_or_insert_arc_with_async(key, async { make.await.map(Arc::new) })
            .await
    }

    /// The async claim and creation behind the async forms.
    #[cfg(feature = "async")]
    async fn try_get_or_insert_arc_with_async<Q, E>(
        &self,
        key: &Q,
        make: impl std::future::Future<Output = Result<Arc<V>, E>>,
    ) -> Result<Arc<V>, E>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq + ToOwned<Owned = K>,
    {
        let hash = self.hasher.hash_one(key);
        let token = loop {
            let mut garbage = Vec::new();
            let listener = {
                let mut shard = self.shards.lock(hash);
                match self.claim_in(&mut shard, hash, key, &mut garbage) {
                    Claim::Hit(value) => {
                        drop(shard);
                        drop(garbage);
                        return Ok(value);
                    }
                    Claim::Mine(token) => {
                        drop(shard);
                        drop(garbage);
                        break token;
                    }
                    // Listening under the lock: a wake after we unlock is not missed.
                    Claim::Wait => self.shards.listen(hash),
                }
            };
            drop(garbage);
            listener.await;
        };
        // Dropping this future while `make` runs drops `abandon`: the key is restored.
        let abandon = Abandon {
            cache: self,
            hash,
            token,
        };
        let value = make.await?;
        std::mem::forget(abandon);
        Ok(self.publish(hash, token, value))
    }

    /// One look at the shard (locked by the caller): the live value under the key, or the
    /// token of the marker this caller stored and must now fill (an owned copy of the key
    /// went into the new entry, unless a dead entry's was reused), or `Wait`: another caller
    /// is creating it. Purged entries go to `garbage`, for the caller to drop unlocked.
    fn claim_in<Q>(
        &self,
        shard: &mut Shard<ValueEntry<K, V>>,
        hash: u64,
        key: &Q,
        garbage: &mut Vec<ValueEntry<K, V>>,
    ) -> Claim<V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq + ToOwned<Owned = K>,
    {
        let token = shard.new_token();
        match shard
            .table
            .find_mut(hash, |e| e.hash == hash && e.key.borrow() == key)
        {
            Some(entry) => match &entry.slot {
                Slot::Live(weak) => match weak.upgrade() {
                    Some(value) => Claim::Hit(value),
                    None => {
                        // Dead: reuse the entry (and its stored key) for our marker.
                        entry.slot = Slot::Pending {
                            token,
                            superseded: None,
                        };
                        Claim::Mine(token)
                    }
                },
                Slot::Pending { superseded, .. } => {
                    match superseded.as_ref().and_then(|w| w.upgrade()) {
                        Some(value) => Claim::Hit(value),
                        None => Claim::Wait,
                    }
                }
            },
            None => {
                shard.grow_check(garbage);
                shard.insert_new(ValueEntry {
                    hash,
                    key: key.to_owned(),
                    slot: Slot::Pending {
                        token,
                        superseded: None,
                    },
                });
                Claim::Mine(token)
            }
        }
    }

    /// Publishes the creator's `value` in place of its marker, unless a value `insert`ed
    /// meanwhile is still alive, which wins.
    fn publish(&self, hash: u64, token: u64, value: Arc<V>) -> Arc<V> {
        let mut shard = self.shards.lock(hash);
        let winner = match shard.table.find_mut(hash, |e| is_marker(e, hash, token)) {
            Some(entry) => {
                let inserted = match &entry.slot {
                    Slot::Pending {
                        superseded: Some(weak),
                        ..
                    } => weak.upgrade().map(|v| (weak.clone(), v)),
                    _ => None,
                };
                match inserted {
                    Some((weak, inserted)) => {
                        entry.slot = Slot::Live(weak);
                        Some(inserted)
                    }
                    None => {
                        entry.slot = Slot::Live(Arc::downgrade(&value));
                        None
                    }
                }
            }
            // Only the creator removes its marker, so this does not happen; return our value.
            None => None,
        };
        self.shards.wake(hash, &shard);
        drop(shard);
        match winner {
            Some(inserted) => {
                // Ours lost; its `Drop` runs unlocked, while `inserted` is a local.
                drop(value);
                inserted
            }
            None => value,
        }
    }
}
