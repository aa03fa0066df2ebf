//! Loom models of the pool: every interleaving (up to the preemption bound) of two or three
//! threads getting and returning objects. Each object records its holders and its drops; the
//! models check that an object has one holder at a time, that the cap holds, and that every
//! object created is dropped exactly once.
//!
//! Under loom the pool has one front slot (the first thread to use it, here always the main
//! thread) and two shards, so the spawned threads use the shared stacks.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p object-pool --test loom`
#![cfg(loom)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

use loom::sync::Arc;
use loom::thread;
use object_pool::{Pool, Reset};

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

/// After the threads are done: idle within the cap, every object either idle or dropped,
/// and dropping the pool drops the idle ones, so each object is dropped exactly once.
fn check_and_drop(pool: Pool<Tracked>, drops: &AtomicUsize, max_retained: usize) {
    let s = pool.stats();
    assert!(s.idle <= max_retained, "{s:?}");
    assert_eq!(s.created as usize, s.idle + drops.load(SeqCst), "{s:?}");
    let created = s.created as usize;
    drop(pool);
    assert_eq!(drops.load(SeqCst), created);
}

#[test]
fn concurrent_get_and_return_with_the_cap_reached() {
    model("concurrent_get_and_return_with_the_cap_reached", || {
        let (pool, drops) = pool(2);
        let pool = Arc::new(pool);
        // The main thread takes index 0 (the front slot) and fills it: one place of two.
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
        drop(pool.get()); // main: index 0, home shard 0, front slot filled
        let other = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || {
                // Index 1, no front slot: both land on shard 1.
                let a = pool.get();
                let b = pool.get();
                a.use_it();
                drop((a, b));
            })
        };
        // Main holds its slot's object, so its next gets come from the shards (its home
        // shard 0 is empty: stealing from shard 1) or are created; its returns go to
        // shard 0, competing with the other thread for the budget.
        let mine = pool.get();
        let extra = pool.get();
        let stolen = pool.try_get();
        if let Some(s) = &stolen {
            s.use_it();
            STEALS.fetch_add(1, SeqCst);
        }
        extra.use_it();
        mine.use_it();
        drop((mine, extra, stolen));
        other.join().unwrap();
        // Everything idle is reachable from here.
        let idle = pool.stats().idle;
        let all: Vec<_> = std::iter::from_fn(|| pool.try_get()).collect();
        assert_eq!(all.len(), idle);
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

#[test]
fn owned_guard_dropped_on_another_thread() {
    model("owned_guard_dropped_on_another_thread", || {
        let (pool, drops) = pool(2);
        let pool = Arc::new(pool);
        drop(pool.get()); // main: index 0, its front slot now holds the object
        // Lent in place from main's front slot, then given back from the other thread.
        let guard = Pool::get_owned(&pool);
        let other = thread::spawn(move || {
            guard.use_it();
            drop(guard);
        });
        // Meanwhile main's slot is lent: this one comes from the shards or `create`.
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

#[test]
fn lent_object_detached_on_another_thread_while_clearing() {
    model(
        "lent_object_detached_on_another_thread_while_clearing",
        || {
            let (pool, drops) = pool(2);
            let pool = Arc::new(pool);
            // Main lends its front slot's object to a guard that another thread detaches, while
            // main clears the pool: the slot is lent, so `clear` must not touch it.
            drop(pool.get());
            let guard = Pool::get_owned(&pool);
            let other = thread::spawn(move || {
                guard.use_it();
                guard.detach()
            });
            assert_eq!(pool.clear(), 0);
            let detached = other.join().unwrap();
            detached.use_it();
            drop(detached);
            let pool = Arc::try_unwrap(pool).unwrap();
            check_and_drop(pool, &drops, 2);
        },
    );
}
