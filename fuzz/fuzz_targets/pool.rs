//! recycle-pool driven by arbitrary operation sequences on one thread against a plain model (a
//! count of idle objects under the cap, and the counters): get and hold, return, a refusing
//! reset, put, detach, prefill, trim and clear. After every step the pool's counters and idle
//! count must equal the model's, and every object ever made must be dropped exactly once by
//! the end.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use recycle_pool::{Pool, Pooled};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Arbitrary, Debug)]
enum Op {
    Get,
    Return { index: u8, refuse: bool },
    Detach { index: u8 },
    Put,
    Prefill(u8),
    Trim(u8),
    Clear,
}

#[derive(Arbitrary, Debug)]
struct Input {
    max: u8,
    ops: Vec<Op>,
}

/// An object that counts itself alive; `refuse` makes its reset refuse it.
struct Obj {
    alive: Arc<AtomicI64>,
    refuse: bool,
}

impl Obj {
    fn new(alive: &Arc<AtomicI64>) -> Self {
        alive.fetch_add(1, Ordering::SeqCst);
        Obj { alive: alive.clone(), refuse: false }
    }
}

impl Drop for Obj {
    fn drop(&mut self) {
        self.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Default, Debug, PartialEq)]
struct Model {
    idle: usize,
    created: u64,
    reused: u64,
    returned: u64,
    dropped_full: u64,
    dropped_refused: u64,
    dropped_trimmed: u64,
}

fuzz_target!(|input: Input| {
    let max = usize::from(input.max % 40);
    let alive = Arc::new(AtomicI64::new(0));
    {
        let make = alive.clone();
        let pool = Pool::with_reset(max, move || Obj::new(&make), |o: &mut Obj| !o.refuse);
        let mut held: Vec<Pooled<'_, Obj>> = Vec::new();
        let mut m = Model::default();
        // The pool finds a place first (none: dropped unreset), then resets.
        let give_back = |m: &mut Model, refuse: bool| {
            if m.idle >= max {
                m.dropped_full += 1;
            } else if refuse {
                m.dropped_refused += 1;
            } else {
                m.idle += 1;
                m.returned += 1;
            }
        };
        for op in input.ops.into_iter().take(400) {
            match op {
                Op::Get => {
                    if m.idle > 0 {
                        m.idle -= 1;
                        m.reused += 1;
                    } else {
                        m.created += 1;
                    }
                    held.push(pool.get());
                }
                Op::Return { index, refuse } => {
                    if held.is_empty() {
                        continue;
                    }
                    let mut g = held.swap_remove(usize::from(index) % held.len());
                    g.refuse = refuse;
                    drop(g);
                    give_back(&mut m, refuse);
                }
                Op::Detach { index } => {
                    if held.is_empty() {
                        continue;
                    }
                    let g = held.swap_remove(usize::from(index) % held.len());
                    drop(Pooled::detach(g));
                }
                Op::Put => {
                    pool.put(Obj::new(&alive));
                    give_back(&mut m, false);
                }
                Op::Prefill(n) => {
                    let want = usize::from(n % 50).min(max).saturating_sub(m.idle);
                    assert_eq!(pool.prefill(usize::from(n % 50)), want);
                    m.idle += want;
                    m.created += want as u64;
                }
                Op::Trim(keep) => {
                    let keep = usize::from(keep % 50);
                    let gone = m.idle.saturating_sub(keep);
                    assert_eq!(pool.trim(keep), gone);
                    m.idle -= gone;
                    m.dropped_trimmed += gone as u64;
                }
                Op::Clear => {
                    assert_eq!(pool.clear(), m.idle);
                    m.dropped_trimmed += m.idle as u64;
                    m.idle = 0;
                }
            }
            let s = pool.stats();
            let got = Model {
                idle: s.idle,
                created: s.created,
                reused: s.reused,
                returned: s.returned,
                dropped_full: s.dropped_full,
                dropped_refused: s.dropped_refused,
                dropped_trimmed: s.dropped_trimmed,
            };
            assert_eq!(got, m);
            assert_eq!(
                alive.load(Ordering::SeqCst),
                (m.idle + held.len()) as i64,
                "objects alive: idle plus held"
            );
        }
        drop(held);
    }
    assert_eq!(alive.load(Ordering::SeqCst), 0, "an object leaked or dropped twice");
});
