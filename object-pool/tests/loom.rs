//! Loom models of the pool: every interleaving (up to the preemption bound) of two or three
//! threads getting and returning objects. Each object records its holders and its drops; the
//! models check that an object has one holder at a time, that the cap holds, and that every
//! object created is dropped exactly once.
//!
//! Under loom the pool has two magazines of two objects (for the first two threads to use
//! it: the main thread, index 0, and the first one spawned, index 1) and two shards, so the
//! models reach magazine flushes and refills, spare places taken across threads, stealing,
//! and (for a third thread) the shared stacks alone.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p recycle-pool --test loom`
#![cfg(loom)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

use loom::sync::Arc;
use loom::thread;
use recycle_pool::{Pool, Reset};

/// An object that counts its drops and asserts a single holder.
#[derive(Debug)]
struct Tracked {
    drops: std::sync::Arc<AtomicUsize>,
    held: AtomicBool,
}

impl Tracked {
    fn use_it(&self) {
        assert!(!self.held.swap(true, SeqCst), "one object, two holders");
        loom::thread::yield_now();
        assert!(self.held.swap(false, SeqCst));
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        assert!(!self.held.load(SeqCst), "dropped while held");
        self.drops.fetch_add(1, SeqCst);
    }
}

impl Reset for Tracked {
    fn reset(&mut self) -> bool {
        true
    }
}

/// Executions explored by the model running now (printed, to see that the bound is sane).
static EXECUTIONS: AtomicUsize = AtomicUsize::new(0);

/// Executions of the stealing model in which the main thread stole from shard 1.
static STEALS: AtomicUsize = AtomicUsize::new(0);

fn model(name: &str, f: impl Fn() + Sync + Send + 'static) {
    EXECUTIONS.store(0, SeqCst);
    loom::model(move || {
        EXECUTIONS.fetch_add(1, SeqCst);
        f();
    });
    eprintln!("{name}: {} executions", EXECUTIONS.load(SeqCst));
}

fn pool(max_retained: usize) -> (Pool<Tracked>, std::sync::Arc<AtomicUsize>) {
    let drops = std::sync::Arc::new(AtomicUsize::new(0));
    let d = std::sync::Arc::clone(&drops);
    let pool = Pool::new(max_retained, move || Tracked {
        drops: std::sync::Arc::clone(&d),
        held: AtomicBool::new(false),
    });
    (pool, drops)
}

/// After the threads are done: idle within the cap, every object either idle or dropped;
/// every place that holds no idle object is found again by a return (no place leaked, none
/// counted twice); and dropping the pool drops the idle ones, so each object is dropped
/// exactly once.
fn check_and_drop(pool: Pool<Tracked>, drops: &std::sync::Arc<AtomicUsize>, max_retained: usize) {
    let s = pool.stats();
    assert!(s.idle <= max_retained, "{s:?}");
    assert_eq!(s.created as usize, s.idle + drops.load(SeqCst), "{s:?}");
    let put_in = max_retained + 1 - s.idle;
    for _ in 0..put_in {
        pool.put(Tracked {
            drops: std::sync::Arc::clone(drops),
            held: AtomicBool::new(false),
        });
    }
    let after = pool.stats();
    assert_eq!(after.idle, max_retained, "{after:?}");
    assert_eq!(after.dropped_full, s.dropped_full + 1, "{after:?}");
    let made = s.created as usize + put_in;
    drop(pool);
    assert_eq!(drops.load(SeqCst), made);
}

#[test]
fn concurrent_get_and_return_with_the_cap_reached() {
    model("concurrent_get_and_return_with_the_cap_reached", || {
        let (pool, drops) = pool(2);
        let pool = Arc::new(pool);
        // The main thread takes index 0 (a magazine) and fills one place of two; of the
        // spawned threads, the first has a magazine and the second uses the shards alone.
        drop(pool.get());
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let pool = Arc::clone(&pool);
                thread::spawn(move || {
                    let a = pool.get();
                    a.use_it();
                })
            })
            .collect();
        let a = pool.get();
        a.use_it();
        drop(a);
        for h in handles {
            h.join().unwrap();
        }
        let pool = Arc::try_unwrap(pool).unwrap();
        check_and_drop(pool, &drops, 2);
    });
}

#[test]
fn stealing_from_another_shard() {
    model("stealing_from_another_shard", || {
        let (pool, drops) = pool(4);
        let pool = Arc::new(pool);
        assert!(pool.try_get().is_none()); // main: index 0, home shard 0
        let other = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || {
                // Index 1: three returns into a magazine of two flush one to shard 1.
                let (a, b, c) = (pool.get(), pool.get(), pool.get());
                a.use_it();
                drop((a, b, c));
            })
        };
        // Main's magazine and home shard are empty: a get refills from shard 1 if the
        // other thread flushed there already.
        thread::yield_now();
        let stolen = pool.try_get();
        if let Some(s) = &stolen {
            s.use_it();
            STEALS.fetch_add(1, SeqCst);
        }
        drop(stolen);
        other.join().unwrap();
        // What main reaches is idle; the other thread's magazine is its own.
        let idle = pool.stats().idle;
        let all: Vec<_> = std::iter::from_fn(|| pool.try_get()).collect();
        assert!(all.len() <= idle && idle <= 4);
        for t in &all {
            t.use_it();
        }
        drop(all);
        let pool = Arc::try_unwrap(pool).unwrap();
        check_and_drop(pool, &drops, 4);
    });
    assert!(
        STEALS.load(SeqCst) > 0,
        "some interleaving must steal from the other shard"
    );
}

/// The property across threads: an object on loan does not hold a place. Main lends
/// its only idle object (cap 1), so its magazine keeps a spare place; while main holds that
/// loan, the other thread gets and returns an object and main gets and returns another. The
/// other thread may take main's spare place, or main may hand it back to the budget first, or
/// one of them may reuse the object the other returned: whichever happens, one object is idle
/// at the end, and the loan's own return is then dropped for the cap.
#[test]
fn a_spare_place_is_taken_once_across_threads() {
    model("a_spare_place_is_taken_once_across_threads", || {
        let (pool, drops) = pool(1);
        let pool = Arc::new(pool);
        drop(pool.get()); // main: index 0, one object idle in its magazine
        let lent = pool.get(); // on loan; its place is a spare token in main's magazine
        let other = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || {
                let b = pool.get();
                b.use_it();
                drop(b); // no spare place of its own: the budget, or main's spare place
            })
        };
        let c = pool.get();
        c.use_it();
        drop(c);
        other.join().unwrap();
        let s = pool.stats();
        assert_eq!(s.created + s.reused, 4, "{s:?}");
        assert_eq!(s.returned + s.dropped_full, 3, "{s:?}");
        assert_eq!(s.idle, 1, "one object idle: {s:?}");
        drop(lent); // one object is idle: dropped for the cap
        assert_eq!(pool.stats().dropped_full, s.dropped_full + 1);
        let pool = Arc::try_unwrap(pool).unwrap();
        check_and_drop(pool, &drops, 1);
    });
}

#[test]
fn owned_guard_dropped_on_another_thread() {
    model("owned_guard_dropped_on_another_thread", || {
        let (pool, drops) = pool(2);
        let pool = Arc::new(pool);
        drop(pool.get()); // main: index 0, its magazine now holds the object
        // Popped from main's magazine, then given back from the other thread.
        let guard = Pool::get_owned(&pool);
        let other = thread::spawn(move || {
            guard.use_it();
            drop(guard);
        });
        // Meanwhile main's magazine is empty: this one comes from the shards or `create`.
        let mine = Pool::get_owned(&pool);
        mine.use_it();
        drop(mine);
        let again = pool.get();
        again.use_it();
        drop(again);
        other.join().unwrap();
        let pool = Arc::try_unwrap(pool).unwrap();
        check_and_drop(pool, &drops, 2);
    });
}

/// `clear` on main while another thread returns into its magazine and gets again: the
/// other thread drops its stale objects (or reuses ones returned after the clear), and no
/// place is lost either way.
#[test]
fn clear_while_another_thread_returns() {
    model("clear_while_another_thread_returns", || {
        let (pool, drops) = pool(2);
        let pool = Arc::new(pool);
        assert!(pool.try_get().is_none()); // main: index 0
        let other = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || {
                let (a, b) = (pool.get(), pool.get());
                drop((a, b)); // into its magazine
                let c = pool.get(); // reused, or the stale ones dropped and one created
                c.use_it();
            })
        };
        let cleared = pool.clear();
        assert!(cleared <= 2);
        other.join().unwrap();
        let pool = Arc::try_unwrap(pool).unwrap();
        check_and_drop(pool, &drops, 2);
    });
}
