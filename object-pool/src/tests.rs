//! Unit tests of the whole pool (also run under Miri, with smaller counts).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

use crate::{Pool, Reset};

/// Iterations for the threaded tests: small under Miri.
const ROUNDS: usize = if cfg!(miri) { 20 } else { 2_000 };

/// An object that counts its drops and checks that it has one holder at a time.
#[derive(Debug)]
struct Tracked {
    drops: Arc<AtomicUsize>,
    held: AtomicBool,
    panic_on_drop: bool,
}

impl Tracked {
    fn new(drops: &Arc<AtomicUsize>) -> Self {
        Self {
            drops: Arc::clone(drops),
            held: AtomicBool::new(false),
            panic_on_drop: false,
        }
    }

    fn hold(&self) {
        assert!(
            !self.held.swap(true, SeqCst),
            "object handed to two holders"
        );
    }

    fn release(&self) {
        assert!(self.held.swap(false, SeqCst));
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
        if self.panic_on_drop {
            panic!("drop panics");
        }
    }
}

impl Reset for Tracked {
    fn reset(&mut self) -> bool {
        assert!(!self.held.load(SeqCst), "returned while still held");
        true
    }
}

fn tracked_pool(max: usize) -> (Pool<Tracked>, Arc<AtomicUsize>) {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&drops);
    (Pool::new(max, move || Tracked::new(&d)), drops)
}

#[test]
fn quick_start() {
    let pool: Pool<Vec<u8>> = Pool::new(64, || Vec::with_capacity(4096));
    let mut buf = pool.get();
    buf.extend_from_slice(b"hello");
    drop(buf);
    let again = pool.get();
    assert_eq!(again.len(), 0);
    assert!(again.capacity() >= 4096);
    drop(again);
    let s = pool.stats();
    assert_eq!((s.created, s.reused, s.returned, s.idle), (1, 1, 2, 1));
}

#[test]
fn zero_never_retains() {
    let (pool, drops) = tracked_pool(0);
    for _ in 0..5 {
        drop(pool.get());
    }
    pool.put(Tracked::new(&drops));
    let s = pool.stats();
    assert_eq!((s.created, s.reused, s.idle, s.dropped_full), (5, 0, 0, 6));
    assert_eq!(drops.load(SeqCst), 6);
    assert!(pool.try_get().is_none());
}

#[test]
fn cap_is_hard_and_everything_is_dropped_once() {
    for max in [1, 2, 3, 7, 64] {
        let (pool, drops) = tracked_pool(max);
        let held: Vec<_> = (0..100).map(|_| pool.get()).collect();
        drop(held);
        let s = pool.stats();
        assert_eq!(s.idle, max.min(100), "max {max}");
        assert_eq!(s.returned as usize, max.min(100));
        assert_eq!(s.dropped_full as usize, 100 - max.min(100));
        assert_eq!(drops.load(SeqCst), 100 - max.min(100));
        // Every idle object can be taken again, none twice.
        let again: Vec<_> = std::iter::from_fn(|| pool.try_get()).collect();
        assert_eq!(again.len(), max.min(100));
        for t in &again {
            t.hold();
        }
        for t in &again {
            t.release();
        }
        drop(again);
        drop(pool);
        assert_eq!(
            drops.load(SeqCst),
            100,
            "max {max}: every object dropped exactly once"
        );
    }
}

#[test]
fn refused_objects_are_dropped() {
    let pool = Pool::with_reset(
        8,
        || Vec::<u8>::with_capacity(16),
        |v| {
            v.clear();
            v.capacity() <= 64
        },
    );
    pool.get().reserve(1000);
    drop(pool.get());
    let s = pool.stats();
    assert_eq!(
        (s.created, s.dropped_refused, s.returned, s.idle),
        (2, 1, 1, 1)
    );
    assert!(pool.get().capacity() <= 64);
}

#[test]
fn detach_keeps_the_object_out() {
    let (pool, drops) = tracked_pool(4);
    let t = pool.get().detach();
    assert_eq!(pool.stats().idle, 0);
    assert_eq!(pool.stats().returned, 0);
    pool.put(t);
    assert_eq!(pool.stats().idle, 1);
    drop(pool);
    assert_eq!(drops.load(SeqCst), 1);
}

#[test]
fn panicking_create_leaves_the_pool_usable() {
    let calls = AtomicUsize::new(0);
    let calls = Arc::new(calls);
    let c = Arc::clone(&calls);
    let pool: Pool<Vec<u8>> = Pool::new(4, move || {
        if c.fetch_add(1, SeqCst) == 1 {
            panic!("create fails once");
        }
        Vec::new()
    });
    let first = pool.get();
    assert!(catch_unwind(AssertUnwindSafe(|| pool.get())).is_err());
    drop(first);
    assert_eq!(pool.stats().idle, 1);
    let a = pool.get(); // reused
    let b = pool.get(); // created by the third call
    drop((a, b));
    let s = pool.stats();
    assert_eq!((s.created, s.reused, s.idle), (2, 1, 2));
    assert_eq!(calls.load(SeqCst), 3);
}

#[test]
fn panicking_reset_drops_that_object_once_and_loses_no_other() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&drops);
    let pool = Pool::with_reset(
        8,
        move || Tracked::new(&d),
        |t: &mut Tracked| {
            if t.panic_on_drop {
                // Reuse the flag as "poisoned": the reset panics, the drop must not.
                t.panic_on_drop = false;
                panic!("reset fails");
            }
            true
        },
    );
    let kept = [pool.get(), pool.get()];
    drop(kept);
    let mut bad = pool.get();
    bad.panic_on_drop = true;
    assert!(catch_unwind(AssertUnwindSafe(|| drop(bad))).is_err());
    assert_eq!(
        drops.load(SeqCst),
        1,
        "the object whose reset panicked was dropped once"
    );
    let s = pool.stats();
    assert_eq!(s.dropped_refused, 1);
    assert_eq!(s.idle, 1, "the other idle object is still there");
    drop(pool.get());
    drop(pool);
    assert_eq!(drops.load(SeqCst), 2);
}

#[test]
fn panicking_drop_during_trim_loses_nothing_else() {
    let (pool, drops) = tracked_pool(16);
    let mut objs: Vec<_> = (0..6).map(|_| pool.get().detach()).collect();
    objs[2].panic_on_drop = true;
    for t in objs {
        pool.put(t);
    }
    assert!(catch_unwind(AssertUnwindSafe(|| pool.clear())).is_err());
    assert_eq!(drops.load(SeqCst), 6, "every object dropped exactly once");
    assert_eq!(pool.stats().idle, 0);
    drop(pool.get());
    assert_eq!(pool.stats().idle, 1);
}

#[test]
fn trim_and_clear() {
    let (pool, drops) = tracked_pool(32);
    let held: Vec<_> = (0..10).map(|_| pool.get()).collect();
    drop(held);
    assert_eq!(pool.stats().idle, 10);
    assert_eq!(pool.trim(4), 6);
    assert_eq!(pool.stats().idle, 4);
    assert_eq!(drops.load(SeqCst), 6);
    assert_eq!(pool.trim(10), 0);
    assert_eq!(pool.clear(), 4);
    assert_eq!(pool.stats().idle, 0);
    assert_eq!(pool.stats().dropped_trimmed, 10);
    assert_eq!(drops.load(SeqCst), 10);
}

#[test]
fn clear_on_another_thread_makes_a_magazine_stale() {
    let (pool, drops) = tracked_pool(8);
    let held: Vec<_> = (0..3).map(|_| pool.get()).collect();
    drop(held); // all three land in this thread's magazine
    assert_eq!(pool.stats().idle, 3);
    std::thread::scope(|s| {
        s.spawn(|| assert_eq!(pool.clear(), 0));
    });
    assert_eq!(
        drops.load(SeqCst),
        0,
        "another thread's magazine is not reached"
    );
    drop(pool.get()); // drops the stale objects, creates a new one
    assert_eq!(drops.load(SeqCst), 3);
    let s = pool.stats();
    assert_eq!(
        (s.created, s.reused, s.dropped_trimmed, s.idle),
        (4, 0, 3, 1)
    );
    assert_eq!(
        pool.places_taken(),
        1 + pool.spare_tokens(),
        "stale places were given back"
    );
}

#[test]
fn other_threads_steal_from_the_shared_stacks() {
    let (pool, drops) = tracked_pool(64);
    let held: Vec<_> = (0..40).map(|_| pool.get()).collect();
    // The magazine (32) fills, flushes its older 16 to the home shard, and takes 8 more.
    drop(held);
    assert_eq!(pool.idle(), 40);
    std::thread::scope(|s| {
        s.spawn(|| {
            let stolen: Vec<_> = std::iter::from_fn(|| pool.try_get()).collect();
            assert_eq!(stolen.len(), 16, "what the owner flushed is reachable");
            for t in stolen {
                t.detach();
            }
        });
    });
    assert_eq!(drops.load(SeqCst), 16);
    assert_eq!(pool.stats().idle, 24);
    let mine: Vec<_> = std::iter::from_fn(|| pool.try_get()).collect();
    assert_eq!(mine.len(), 24);
}

#[test]
fn places_follow_idle_objects() {
    let (pool, _drops) = tracked_pool(64);
    let held: Vec<_> = (0..50).map(|_| pool.get()).collect();
    drop(held);
    assert_eq!(pool.idle(), 50);
    assert_eq!(pool.places_taken(), 50 + pool.spare_tokens());
    assert!(pool.places_taken() <= 64);
    let held: Vec<_> = (0..50).map(|_| pool.get()).collect();
    assert_eq!(pool.idle(), 0);
    assert_eq!(
        pool.places_taken(),
        pool.spare_tokens(),
        "loans hold spare places"
    );
    drop(held);
    assert_eq!(pool.idle(), 50);
    assert_eq!(pool.places_taken(), 50 + pool.spare_tokens());
    assert_eq!(pool.trim(0), 50);
    assert_eq!(
        pool.places_taken(),
        0,
        "every place is given back once nothing is idle"
    );
}

#[test]
fn objects_left_by_exited_threads_are_dropped_with_the_pool() {
    let (pool, drops) = tracked_pool(16);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                let a = pool.get();
                let b = pool.get();
                drop((a, b));
            });
        }
    });
    let s = pool.stats();
    assert_eq!(s.created as usize, s.idle + drops.load(SeqCst));
    let created = s.created as usize;
    drop(pool);
    assert_eq!(drops.load(SeqCst), created);
}

#[test]
fn owned_guards_return_from_other_threads() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&drops);
    let pool = Arc::new(Pool::new(4, move || Tracked::new(&d)));
    let guards: Vec<_> = (0..3).map(|_| pool.get_owned()).collect();
    std::thread::scope(|s| {
        for g in guards {
            s.spawn(move || {
                g.hold();
                g.release();
                drop(g);
            });
        }
    });
    let s = pool.stats();
    assert_eq!(s.created, 3);
    assert_eq!(s.returned + s.dropped_full, 3);
    let weak = Arc::downgrade(&pool);
    drop(pool);
    assert!(weak.upgrade().is_none(), "no guard kept the pool alive");
    assert_eq!(drops.load(SeqCst), 3);
    let _ = Pool::try_get_owned(&Arc::new(Pool::<Vec<u8>>::new(1, Vec::new)));
}

#[test]
fn concurrent_get_and_return_keep_one_holder_and_drop_once() {
    let (pool, drops) = tracked_pool(3);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for i in 0..ROUNDS {
                    let a = pool.get();
                    a.hold();
                    if i % 3 == 0 {
                        let b = pool.get();
                        b.hold();
                        b.release();
                    }
                    a.release();
                    if i % 97 == 0 {
                        pool.trim(1);
                    }
                }
            });
        }
    });
    let s = pool.stats();
    assert!(s.idle <= 3);
    assert_eq!(s.created as usize, s.idle + drops.load(SeqCst));
    let created = s.created as usize;
    drop(pool);
    assert_eq!(drops.load(SeqCst), created);
}

#[test]
fn debug_output_names_the_pool() {
    let pool: Pool<Vec<u8>> = Pool::new(2, Vec::new);
    let g = pool.get();
    assert!(format!("{pool:?}").starts_with("Pool {"));
    assert_eq!(format!("{g:?}"), "Pooled([])");
}

/// The reproduction: with `max_retained = 1`, an object on loan does not count
/// against the cap, so a second object returned while the first is out is kept.
#[test]
fn objects_on_loan_do_not_count_against_the_cap() {
    for max in [1, 2] {
        let (pool, drops) = tracked_pool(max);
        let pool = Arc::new(pool);
        drop(pool.get()); // A idle
        if max == 2 {
            assert_eq!(pool.idle(), 1);
        }
        let a = pool.get(); // A again
        let b = pool.get(); // B, new
        drop(b); // one idle at most: kept
        let s = pool.stats();
        assert_eq!((s.created, s.reused, s.dropped_full, s.idle), (2, 1, 0, 1));
        drop(a);
        let s = pool.stats();
        // max 1: B is idle, so A is dropped for the cap; max 2: both are kept.
        assert_eq!(s.dropped_full as usize, 2 - max, "max {max}");
        assert_eq!(s.idle, max);
        drop(pool);
        assert_eq!(drops.load(SeqCst), 2);
    }
}

/// The same with the loan held by another thread: its spare place is taken by this one.
#[test]
fn a_return_takes_the_place_of_an_object_on_loan_in_another_thread() {
    let (pool, drops) = tracked_pool(1);
    let pool = Arc::new(pool);
    let (lent_tx, lent_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let other = {
        let pool = Arc::clone(&pool);
        std::thread::spawn(move || {
            drop(pool.get()); // idle in this thread's magazine
            let a = pool.get(); // on loan; its place stays here as a spare token
            lent_tx.send(()).unwrap();
            done_rx.recv().unwrap();
            drop(a); // B is idle now: dropped for the cap
        })
    };
    lent_rx.recv().unwrap();
    let b = pool.get(); // nothing idle: created
    drop(b); // no object is idle: kept, with the other thread's spare place
    let s = pool.stats();
    assert_eq!((s.created, s.dropped_full, s.idle), (2, 0, 1));
    done_tx.send(()).unwrap();
    other.join().unwrap();
    let s = pool.stats();
    assert_eq!((s.dropped_full, s.idle), (1, 1));
    assert_eq!(pool.places_taken(), 1);
    drop(pool);
    assert_eq!(drops.load(SeqCst), 2);
}

#[test]
fn prefill_and_idle() {
    let (pool, drops) = tracked_pool(10);
    assert_eq!(pool.prefill(4), 4);
    assert_eq!(pool.idle(), 4);
    assert_eq!(pool.prefill(4), 0);
    assert_eq!(pool.prefill(50), 6);
    assert_eq!(pool.idle(), 10);
    let held: Vec<_> = (0..12).map(|_| pool.get()).collect();
    let s = pool.stats();
    assert_eq!((s.created, s.reused, s.idle), (12, 10, 0));
    drop(held);
    assert_eq!(pool.idle(), 10);
    assert_eq!(pool.stats().dropped_full, 2);
    drop(pool);
    assert_eq!(drops.load(SeqCst), 12);
}

#[test]
fn panicking_create_in_prefill_gives_its_place_back() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let pool = Pool::new(4, move || {
        if c.fetch_add(1, SeqCst) == 2 {
            panic!("create fails");
        }
        Vec::<u8>::new()
    });
    let r = catch_unwind(AssertUnwindSafe(|| pool.prefill(4)));
    assert!(r.is_err());
    assert_eq!(pool.idle(), 2);
    assert_eq!(pool.places_taken(), 2);
    assert_eq!(pool.prefill(4), 2);
    assert_eq!(pool.idle(), 4);
}

/// A guard detached on another thread empties its slot there; the owner finds the slot
/// again (by its flag) when it runs out of empty ones, instead of flushing to the shared
/// stacks.
#[test]
fn slots_emptied_on_another_thread_are_found_again() {
    let (pool, drops) = tracked_pool(4);
    let pool = Arc::new(pool);
    let made: Vec<_> = (0..4).map(|_| pool.get()).collect();
    drop(made); // four idle objects in this thread's four slots
    let lent: Vec<_> = (0..4).map(|_| pool.get_owned()).collect();
    let (away, here): (Vec<_>, Vec<_>) =
        lent.into_iter().enumerate().partition(|(i, _)| i % 2 == 0);
    std::thread::scope(|s| {
        s.spawn(move || {
            for (_, g) in away {
                drop(g.detach()); // slot emptied from this thread
            }
        });
    });
    drop(here); // given back in place
    assert_eq!(pool.idle(), 2);
    pool.put(Tracked::new(&drops));
    pool.put(Tracked::new(&drops));
    assert_eq!(pool.idle(), 4);
    assert_eq!(pool.stats().dropped_full, 0);
    std::thread::scope(|s| {
        s.spawn(|| {
            assert!(
                pool.try_get().is_none(),
                "nothing was flushed to the shards"
            )
        });
    });
    let all: Vec<_> = std::iter::from_fn(|| pool.try_get()).collect();
    assert_eq!(all.len(), 4);
    for t in &all {
        t.hold();
    }
    for t in &all {
        t.release();
    }
    drop(all);
    drop(pool);
    assert_eq!(drops.load(SeqCst), 6);
}
