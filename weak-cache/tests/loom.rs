//! Loom models of the races in `weakref-cache`. Loom has no `Weak`, so under `cfg(loom)` the
//! crate's `sync` module swaps `Arc`/`Weak` for `weakref_cache::loom_arc`, a counted cell with
//! std's upgrade protocol whose `Deref` panics on a dead value. The real `Weak` path is covered
//! by `tests/stress.rs`.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p weakref-cache --test loom`

#![cfg(loom)]

use loom::sync::Arc as Shared;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use weakref_cache::WeakValueCache;
use weakref_cache::loom_arc::Arc;

/// Runs `f` under `loom::model` and checks that loom explored more than one interleaving
/// (so a model cannot pass by accident, having run once).
fn explore(f: impl Fn() + Sync + Send + 'static) {
    use std::sync::atomic::{AtomicUsize as Count, Ordering::SeqCst};
    let runs = std::sync::Arc::new(Count::new(0));
    let counter = runs.clone();
    loom::model(move || {
        counter.fetch_add(1, SeqCst);
        f();
    });
    let runs = runs.load(SeqCst);
    eprintln!("loom explored {runs} executions");
    assert!(runs > 1, "loom explored only {runs} execution(s)");
}

fn cache() -> Shared<WeakValueCache<u8, u8>> {
    Shared::new(WeakValueCache::with_shards(1))
}

/// `get` races the drop of the last strong reference: it returns either the live value or
/// `None`, never a dead value (the stand-in's `Deref` would panic), and never panics.
#[test]
fn get_races_the_last_drop() {
    explore(|| {
        let cache = cache();
        let value = Arc::new(5);
        cache.insert(1, &value);
        let reader = {
            let cache = cache.clone();
            thread::spawn(move || cache.get(&1).map(|v| *v))
        };
        drop(value);
        let seen = reader.join().unwrap();
        assert!(matches!(seen, None | Some(5)));
        assert!(cache.get(&1).is_none());
        assert_eq!(cache.live_len(), 0);
    });
}

/// Two `get_or_insert_with` on one missing key: the closure runs once and both callers get
/// the same `Arc`.
#[test]
fn two_get_or_insert_with_share_one_value() {
    explore(|| {
        let cache = cache();
        let made = Shared::new(AtomicUsize::new(0));
        let other = {
            let (cache, made) = (cache.clone(), made.clone());
            thread::spawn(move || {
                cache.get_or_insert_with(&1, || {
                    made.fetch_add(1, Ordering::SeqCst);
                    7
                })
            })
        };
        let mine = cache.get_or_insert_with(&1, || {
            made.fetch_add(1, Ordering::SeqCst);
            7
        });
        let theirs = other.join().unwrap();
        assert!(Arc::ptr_eq(&mine, &theirs));
        assert_eq!(made.load(Ordering::SeqCst), 1);
        assert_eq!(*mine, 7);
    });
}

/// `get_or_insert_with` races the last drop of the value stored under its key: it returns
/// the old value if it upgraded in time, else a new one; either way a live one.
#[test]
fn get_or_insert_with_races_the_last_drop() {
    explore(|| {
        let cache = cache();
        let old = Arc::new(1);
        cache.insert(1, &old);
        let other = {
            let cache = cache.clone();
            thread::spawn(move || *cache.get_or_insert_with(&1, || 2))
        };
        drop(old);
        let got = other.join().unwrap();
        assert!(got == 1 || got == 2);
        assert!(cache.len() <= 1);
    });
}

/// `purge` races an `insert` of a live value under the key of a dead entry (and of a new
/// key): the purge removes only the dead entry, never the newer live values.
#[test]
fn purge_races_insert() {
    explore(|| {
        let cache = cache();
        cache.insert(1, &Arc::new(10)); // dead at once
        let fresh = Arc::new(20);
        let other_key = Arc::new(30);
        let writer = {
            let (cache, fresh, other_key) = (cache.clone(), fresh.clone(), other_key.clone());
            thread::spawn(move || {
                cache.insert(1, &fresh);
                cache.insert(2, &other_key);
            })
        };
        cache.purge();
        writer.join().unwrap();
        assert!(Arc::ptr_eq(&cache.get(&1).unwrap(), &fresh));
        assert!(Arc::ptr_eq(&cache.get(&2).unwrap(), &other_key));
        cache.purge();
        assert_eq!(cache.len(), 2);
    });
}

/// An `insert` races a `get_or_insert_with` creating the same key: callers still agree on
/// one value while it lives (the inserted one wins over a pending creation).
#[test]
fn insert_races_get_or_insert_with() {
    explore(|| {
        let cache = cache();
        let inserted = Arc::new(1);
        let writer = {
            let (cache, inserted) = (cache.clone(), inserted.clone());
            thread::spawn(move || {
                cache.insert(1, &inserted);
            })
        };
        let got = cache.get_or_insert_with(&1, || 2);
        writer.join().unwrap();
        let now = cache.get(&1).expect("both values are held");
        // If the insert came first, the creator found it live and returned it; if it came
        // while the value was being created, it replaced the marker and the creator returned
        // it too; if it came after, the table holds it and the creator's value is distinct.
        if *got == 1 {
            assert!(Arc::ptr_eq(&got, &inserted));
        }
        assert!(Arc::ptr_eq(&now, &inserted) || Arc::ptr_eq(&now, &got));
    });
}

/// A creator fails while another caller waits on its marker: the error goes to its caller
/// only, the key is restored, and the waiter starts over and creates its own value.
#[test]
fn a_failing_creator_hands_over_to_the_waiter() {
    explore(|| {
        let cache = cache();
        let c1 = cache.clone();
        let a = thread::spawn(move || {
            c1.try_get_or_insert_with(&0, || Err::<u8, &str>("down"))
                .map(|v| *v)
        });
        let c2 = cache.clone();
        let b = thread::spawn(move || {
            let v = c2.try_get_or_insert_with(&0, || Ok::<u8, &str>(9)).unwrap();
            let n = *v;
            // Keep it alive until the end, so A can only have found this one.
            (n, v)
        });
        let a = a.join().unwrap();
        let (b, keep) = b.join().unwrap();
        assert_eq!(b, 9);
        assert!(a == Err("down") || a == Ok(9));
        assert_eq!(cache.get(&0).map(|v| *v), Some(9));
        drop(keep);
    });
}
