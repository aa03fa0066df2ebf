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
//! A closure that calls `get_or_insert_with` for its *own* key waits for itself forever, as a
//! recursive lazy initialisation would; any other key is fine. Waiters of one shard share its
//! condition variable, so a wake-up may be for another key: they look again and sleep again.

use crate::sync::Arc;
use crate::value_cache::{Slot, ValueEntry, WeakValueCache};
use std::hash::{BuildHasher, Hash};

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
        let mut garbage = Vec::new();
        let token = match self.claim(hash, key, &mut garbage) {
            Ok(value) => {
                // A purged key's `Drop` may panic: `value` is a local, dropped if so.
                drop(garbage);
                return value;
            }
            Err(token) => token,
        };
        let abandon = Abandon {
            cache: self,
            hash,
            token,
        };
        // Unlocked, and with the marker guarded: a panicking `Drop` here releases it.
        drop(garbage);
        let value = make();
        std::mem::forget(abandon);
        self.publish(hash, token, value)
    }

    /// The live value under `key` (waiting out a creation in progress), or else the token of
    /// the marker this caller stored and must now fill.
    /// Purged entries go to `garbage`, for the caller to drop unlocked.
    fn claim(&self, hash: u64, key: K, garbage: &mut Vec<ValueEntry<K, V>>) -> Result<Arc<V>, u64> {
        let mut shard = self.shards.lock(hash);
        loop {
            let token = shard.new_token();
            match shard
                .table
                .find_mut(hash, |e| e.hash == hash && e.key == key)
            {
                Some(entry) => match &entry.slot {
                    Slot::Live(weak) => match weak.upgrade() {
                        Some(value) => return Ok(value),
                        None => {
                            // Dead: reuse the entry (and its stored key) for our marker.
                            entry.slot = Slot::Pending {
                                token,
                                superseded: None,
                            };
                            return Err(token);
                        }
                    },
                    Slot::Pending { superseded, .. } => {
                        if let Some(value) = superseded.as_ref().and_then(|w| w.upgrade()) {
                            return Ok(value);
                        }
                        shard = self.shards.wait(hash, shard);
                    }
                },
                None => {
                    shard.grow_check(garbage);
                    shard.insert_new(ValueEntry {
                        hash,
                        key,
                        slot: Slot::Pending {
                            token,
                            superseded: None,
                        },
                    });
                    return Err(token);
                }
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
