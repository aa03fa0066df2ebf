//! Model-based tests: the pool against the seed document's `ObjectPool(cls, max_size)`, a
//! LIFO list of idle objects where `get` reuses one if there is one and `release` resets and
//! keeps the object when fewer than `max_size` are idle.
//!
//! - One thread: seeded random sequences of get, `try_get`, return, refused return, `put`,
//!   detach, `prefill`, `trim` and `clear`, with every counter compared after every step.
//! - Several threads taking turns: what a thread sees depends on its magazine, so gets are
//!   not compared, but the cap is: a return is dropped for the cap exactly when
//!   `max_retained` objects are idle, whichever threads hold the others on loan.
//! - Several threads at once: totals checked at the end, and every place that is not idle
//!   is found again by a return.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, mpsc};

use recycle_pool::{OwnedPooled, Pool, Reset, Stats};

/// A small deterministic generator (xorshift64*), so that a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A pooled object: counts its drops, and is refused by its reset when marked.
#[derive(Debug)]
struct Obj {
    drops: Arc<AtomicUsize>,
    refuse: bool,
}

impl Drop for Obj {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

impl Reset for Obj {
    fn reset(&mut self) -> bool {
        !std::mem::take(&mut self.refuse)
    }
}

fn pool(max: usize, drops: &Arc<AtomicUsize>) -> Pool<Obj> {
    let d = Arc::clone(drops);
    Pool::new(max, move || Obj {
        drops: Arc::clone(&d),
        refuse: false,
    })
}

/// The seed document's pool, reduced to its counts (which object is reused does not change
/// them).
#[derive(Debug)]
struct Model {
    max: usize,
    stats: Stats,
}

impl Model {
    fn new(max: usize) -> Self {
        Self {
            max,
            stats: Stats::default(),
        }
    }

    fn try_get(&mut self) -> bool {
        if self.stats.idle == 0 {
            return false;
        }
        self.stats.idle -= 1;
        self.stats.reused += 1;
        true
    }

    fn get(&mut self) {
        if !self.try_get() {
            self.stats.created += 1;
        }
    }

    fn release(&mut self, refused: bool) {
        if self.stats.idle >= self.max {
            self.stats.dropped_full += 1;
        } else if refused {
            self.stats.dropped_refused += 1;
        } else {
            self.stats.idle += 1;
            self.stats.returned += 1;
        }
    }

    fn trim(&mut self, keep: usize) -> usize {
        let n = self.stats.idle.saturating_sub(keep);
        self.stats.idle -= n;
        self.stats.dropped_trimmed += n as u64;
        n
    }

    fn prefill(&mut self, n: usize) -> usize {
        let made = n.min(self.max).saturating_sub(self.stats.idle);
        self.stats.idle += made;
        self.stats.created += made as u64;
        made
    }
}

/// Caps around the magazine size (32) and the refill and reserve batches.
const CAPS: [usize; 10] = [1, 2, 3, 5, 8, 16, 31, 32, 33, 100];

#[test]
fn one_thread_matches_the_seed_pool_step_by_step() {
    let seeds = if cfg!(miri) { 4 } else { 400 };
    for seed in 0..seeds {
        let mut rng = Rng::new(seed);
        let max = CAPS[rng.below(CAPS.len())];
        let drops = Arc::new(AtomicUsize::new(0));
        let pool = pool(max, &drops);
        let mut model = Model::new(max);
        let mut held = Vec::new();
        let mut put_in = 0; // objects made here and handed in with `put`
        for step in 0..600 {
            let op = rng.below(100);
            let what = match op {
                0..=34 => {
                    held.push(pool.get());
                    model.get();
                    "get"
                }
                35..=39 => {
                    let got = pool.try_get();
                    assert_eq!(got.is_some(), model.try_get(), "seed {seed} step {step}");
                    held.extend(got);
                    "try_get"
                }
                40..=74 if !held.is_empty() => {
                    let mut g = held.swap_remove(rng.below(held.len()));
                    let refused = rng.below(10) == 0;
                    g.refuse = refused;
                    drop(g);
                    model.release(refused);
                    "return"
                }
                75..=84 => {
                    put_in += 1;
                    pool.put(Obj {
                        drops: Arc::clone(&drops),
                        refuse: false,
                    });
                    model.release(false);
                    "put"
                }
                85..=88 if !held.is_empty() => {
                    drop(held.swap_remove(rng.below(held.len())).detach());
                    "detach"
                }
                89..=92 => {
                    let keep = rng.below(max + 2);
                    assert_eq!(pool.trim(keep), model.trim(keep), "seed {seed} step {step}");
                    "trim"
                }
                93 => {
                    assert_eq!(pool.clear(), model.trim(0), "seed {seed} step {step}");
                    "clear"
                }
                94..=95 => {
                    let n = rng.below(max + 2);
                    assert_eq!(pool.prefill(n), model.prefill(n), "seed {seed} step {step}");
                    "prefill"
                }
                _ => continue,
            };
            assert_eq!(
                pool.stats(),
                model.stats,
                "seed {seed} step {step} after {what}, max {max}"
            );
            assert_eq!(pool.idle(), model.stats.idle);
        }
        let created = model.stats.created as usize;
        drop(held);
        drop(pool);
        // Every object made by the pool or handed in is dropped exactly once (detached ones
        // by the test).
        assert_eq!(drops.load(SeqCst), created + put_in, "seed {seed}");
    }
}

/// Several threads take turns (one operation at a time, each on a random thread); guards
/// move between them. Objects on loan never count against the cap, wherever their places
/// were left: a return is dropped for the cap exactly when `max` objects are idle.
#[test]
fn threads_taking_turns_drop_for_the_cap_only_when_the_pool_is_full() {
    type Job = Box<dyn FnOnce() + Send>;
    let seeds = if cfg!(miri) { 1 } else { 40 };
    for seed in 0..seeds {
        let mut rng = Rng::new(1000 + seed);
        let max = CAPS[rng.below(CAPS.len())];
        let threads = 2 + rng.below(3);
        let drops = Arc::new(AtomicUsize::new(0));
        let pool = Arc::new(pool(max, &drops));
        let held: Arc<Mutex<Vec<OwnedPooled<Obj>>>> = Arc::default();
        std::thread::scope(|s| {
            let (done_tx, done_rx) = mpsc::channel::<()>();
            let workers: Vec<mpsc::Sender<Job>> = (0..threads)
                .map(|_| {
                    let (tx, rx) = mpsc::channel::<Job>();
                    let done = done_tx.clone();
                    s.spawn(move || {
                        for job in rx {
                            job();
                            done.send(()).unwrap();
                        }
                    });
                    tx
                })
                .collect();
            let run = |t: usize, job: Job| {
                workers[t].send(job).unwrap();
                done_rx.recv().unwrap();
            };
            for step in 0..500 {
                let t = rng.below(threads);
                let before = pool.stats();
                let n_held = held.lock().unwrap().len();
                let (p, h) = (Arc::clone(&pool), Arc::clone(&held));
                let returned = match rng.below(10) {
                    0..=4 => {
                        run(t, Box::new(move || h.lock().unwrap().push(p.get_owned())));
                        false
                    }
                    5..=8 if n_held > 0 => {
                        let k = rng.below(n_held);
                        run(t, Box::new(move || drop(h.lock().unwrap().swap_remove(k))));
                        true
                    }
                    _ => {
                        let d = Arc::clone(&drops);
                        run(
                            t,
                            Box::new(move || {
                                p.put(Obj {
                                    drops: d,
                                    refuse: false,
                                })
                            }),
                        );
                        true
                    }
                };
                let after = pool.stats();
                assert!(after.idle <= max, "seed {seed} step {step}: {after:?}");
                if returned {
                    let dropped = after.dropped_full - before.dropped_full;
                    assert_eq!(
                        dropped,
                        u64::from(before.idle == max),
                        "seed {seed} step {step}: idle {} of {max}, on thread {t}",
                        before.idle
                    );
                }
            }
            held.lock().unwrap().clear();
        });
        let s = pool.stats();
        assert_eq!(s.idle as u64, s.returned - s.reused - s.dropped_trimmed);
    }
}

/// 2-4 threads run their own random sequences on one pool at once; at the end the totals
/// add up, no object was lost or dropped twice, and every place not held by an idle object
/// is found again by a return.
#[test]
fn concurrent_sequences_keep_the_totals() {
    let seeds = if cfg!(miri) { 1 } else { 30 };
    for seed in 0..seeds {
        let mut rng = Rng::new(5000 + seed);
        let max = CAPS[rng.below(CAPS.len())];
        let threads = 2 + rng.below(3);
        let drops = Arc::new(AtomicUsize::new(0));
        let pool = pool(max, &drops);
        let totals: Vec<(u64, u64, u64)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (pool, drops) = (&pool, &drops);
                    s.spawn(move || {
                        let mut rng = Rng::new(seed * 31 + t as u64);
                        let (mut gets, mut returns, mut put_in) = (0u64, 0u64, 0u64);
                        let mut held = Vec::new();
                        for _ in 0..3000 {
                            match rng.below(10) {
                                0..=3 => {
                                    held.push(pool.get());
                                    gets += 1;
                                }
                                4 => {
                                    if let Some(g) = pool.try_get() {
                                        held.push(g);
                                        gets += 1;
                                    }
                                }
                                5..=7 if !held.is_empty() => {
                                    let mut g = held.swap_remove(rng.below(held.len()));
                                    g.refuse = rng.below(8) == 0;
                                    drop(g);
                                    returns += 1;
                                }
                                8 => {
                                    pool.put(Obj {
                                        drops: Arc::clone(drops),
                                        refuse: false,
                                    });
                                    returns += 1;
                                    put_in += 1;
                                }
                                9 if rng.below(20) == 0 => {
                                    pool.trim(rng.below(max + 1));
                                }
                                _ => {}
                            }
                        }
                        returns += held.len() as u64;
                        drop(held);
                        (gets, returns, put_in)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let gets: u64 = totals.iter().map(|t| t.0).sum();
        let returns: u64 = totals.iter().map(|t| t.1).sum();
        let put_in: u64 = totals.iter().map(|t| t.2).sum();
        let s = pool.stats();
        assert!(s.idle <= max, "seed {seed}: {s:?}");
        assert_eq!(s.created + s.reused, gets, "seed {seed}: {s:?}");
        assert_eq!(
            s.returned + s.dropped_full + s.dropped_refused,
            returns,
            "seed {seed}: {s:?}"
        );
        assert_eq!(s.idle as u64, s.returned - s.reused - s.dropped_trimmed);
        assert_eq!(
            drops.load(SeqCst) as u64,
            s.created + put_in - s.idle as u64,
            "seed {seed}: every object not idle was dropped once"
        );
        // Quiet now: every place not held by an idle object is found by a return.
        let before = s.idle;
        for _ in before..max {
            pool.put(Obj {
                drops: Arc::clone(&drops),
                refuse: false,
            });
        }
        let s2 = pool.stats();
        assert_eq!(
            (s2.idle, s2.dropped_full),
            (max, s.dropped_full),
            "seed {seed}"
        );
        pool.put(Obj {
            drops: Arc::clone(&drops),
            refuse: false,
        });
        assert_eq!(pool.stats().dropped_full, s.dropped_full + 1, "seed {seed}");
    }
}
