//! Object pools side by side: get a `Vec<u8>` of 4 KiB capacity, use it, return it.
//!
//! Members of each group: our `recycle-pool`, a fresh `Vec::with_capacity(4096)` per use
//! (`fresh-vec`), the textbook `Mutex<Vec<Vec<u8>>>` pool (`mutex-vec`), the published
//! `object-pool` 0.6 (`object-pool-0.6`) and `lockfree-object-pool` 0.1.6 (its linear and
//! spin-lock pools). Each runs with 1 and 2 threads; every thread does the same number of
//! iterations on one shared pool, started together by a barrier, and the time per iteration
//! is the slowest thread's time divided by its iterations.
//!
//! - `object_pool/get_return`: get one object, write to it, return it.
//! - `object_pool/hold_16`: get 16 objects at once, write to each, return them all (one
//!   iteration = 16 gets and 16 returns): a thread holding several objects, where a pool with
//!   a single per-thread slot falls back to its shared level.
//!
//! Run: `flock /tmp/bench.lock cargo bench -p benches --bench object_pool`.

use std::hint::black_box;
use std::sync::Mutex;
use std::time::Duration;

use benches::threads::parallel;
use criterion::{BenchmarkId, Criterion};

const CAPACITY: usize = 4096;
const OURS: &str = "recycle-pool";
const GROUP_ONE: &str = "object_pool/get_return";
const GROUP_HOLD: &str = "object_pool/hold_16";
const HOLD: usize = 16;

/// What every member does with an object while it holds it.
#[inline(always)]
fn touch(buf: &mut Vec<u8>) {
    buf.extend_from_slice(b"hello, pool");
    black_box(&mut *buf);
}

/// The textbook pool every crate is measured against.
struct MutexVecPool(Mutex<Vec<Vec<u8>>>);

impl MutexVecPool {
    fn get(&self) -> Vec<u8> {
        self.0
            .lock()
            .unwrap()
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(CAPACITY))
    }

    fn put(&self, mut buf: Vec<u8>) {
        buf.clear();
        let mut stack = self.0.lock().unwrap();
        if stack.len() < 64 {
            stack.push(buf);
        }
    }
}

/// One member: a name and a closure doing `n` iterations.
type Member = (&'static str, Box<dyn Fn(u64) + Sync>);

/// The pools under test, each freshly made (empty).
struct Pools {
    ours: recycle_pool::Pool<Vec<u8>>,
    mutex: MutexVecPool,
    peer06: peer_object_pool::Pool<Vec<u8>>,
    linear: lockfree_object_pool::LinearObjectPool<Vec<u8>>,
    spin: lockfree_object_pool::SpinLockObjectPool<Vec<u8>>,
}

fn pools() -> Pools {
    Pools {
        ours: recycle_pool::Pool::new(64, || Vec::with_capacity(CAPACITY)),
        mutex: MutexVecPool(Mutex::new(Vec::new())),
        peer06: peer_object_pool::Pool::new(0, || Vec::with_capacity(CAPACITY)),
        linear: lockfree_object_pool::LinearObjectPool::new(
            || Vec::with_capacity(CAPACITY),
            |v| v.clear(),
        ),
        spin: lockfree_object_pool::SpinLockObjectPool::new(
            || Vec::with_capacity(CAPACITY),
            |v| v.clear(),
        ),
    }
}

/// Members that get, use and return one object per iteration.
fn members_one() -> Vec<Member> {
    let Pools {
        ours,
        mutex,
        peer06,
        linear,
        spin,
    } = pools();
    vec![
        (
            OURS,
            Box::new(move |n| {
                for _ in 0..n {
                    touch(&mut ours.get());
                }
            }),
        ),
        (
            "fresh-vec",
            Box::new(move |n| {
                for _ in 0..n {
                    touch(&mut Vec::with_capacity(CAPACITY));
                }
            }),
        ),
        (
            "mutex-vec",
            Box::new(move |n| {
                for _ in 0..n {
                    let mut buf = mutex.get();
                    touch(&mut buf);
                    mutex.put(buf);
                }
            }),
        ),
        (
            "object-pool-0.6",
            Box::new(move |n| {
                for _ in 0..n {
                    let mut buf = peer06.pull(|| Vec::with_capacity(CAPACITY));
                    touch(&mut buf);
                    // object-pool 0.6 has no reset: clear by hand, as its users must.
                    buf.clear();
                }
            }),
        ),
        (
            "lockfree-object-pool/linear",
            Box::new(move |n| {
                for _ in 0..n {
                    touch(&mut linear.pull());
                }
            }),
        ),
        (
            "lockfree-object-pool/spin_lock",
            Box::new(move |n| {
                for _ in 0..n {
                    touch(&mut spin.pull());
                }
            }),
        ),
    ]
}

/// Members that get `HOLD` objects, use them, and return them all, per iteration.
fn members_hold() -> Vec<Member> {
    let Pools {
        ours,
        mutex,
        peer06,
        linear,
        spin,
    } = pools();
    vec![
        (
            OURS,
            Box::new(move |n| {
                for _ in 0..n {
                    let mut held: [_; HOLD] = std::array::from_fn(|_| ours.get());
                    held.iter_mut().for_each(|b| touch(b));
                }
            }),
        ),
        (
            "fresh-vec",
            Box::new(move |n| {
                for _ in 0..n {
                    let mut held: [_; HOLD] =
                        std::array::from_fn(|_| Vec::<u8>::with_capacity(CAPACITY));
                    held.iter_mut().for_each(touch);
                }
            }),
        ),
        (
            "mutex-vec",
            Box::new(move |n| {
                for _ in 0..n {
                    let mut held: [_; HOLD] = std::array::from_fn(|_| mutex.get());
                    held.iter_mut().for_each(touch);
                    held.into_iter().for_each(|b| mutex.put(b));
                }
            }),
        ),
        (
            "object-pool-0.6",
            Box::new(move |n| {
                for _ in 0..n {
                    let mut held: [_; HOLD] =
                        std::array::from_fn(|_| peer06.pull(|| Vec::with_capacity(CAPACITY)));
                    held.iter_mut().for_each(|b| {
                        touch(b);
                        b.clear();
                    });
                }
            }),
        ),
        (
            "lockfree-object-pool/linear",
            Box::new(move |n| {
                for _ in 0..n {
                    let mut held: [_; HOLD] = std::array::from_fn(|_| linear.pull());
                    held.iter_mut().for_each(|b| touch(b));
                }
            }),
        ),
        (
            "lockfree-object-pool/spin_lock",
            Box::new(move |n| {
                for _ in 0..n {
                    let mut held: [_; HOLD] = std::array::from_fn(|_| spin.pull());
                    held.iter_mut().for_each(|b| touch(b));
                }
            }),
        ),
    ]
}

fn run_group(c: &mut Criterion, group_name: &str, members: fn() -> Vec<Member>) {
    let mut group = c.benchmark_group(group_name);
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    for threads in [1, 2] {
        let param = if threads == 1 {
            "1 thread".to_owned()
        } else {
            format!("{threads} threads")
        };
        for (name, work) in members() {
            group.bench_function(BenchmarkId::new(name, &param), |b| {
                b.iter_custom(|iters| parallel(threads, iters, &|_, n| work(n)));
            });
        }
    }
    group.finish();
}

fn main() {
    benches::report::mark_start();
    let mut c = Criterion::default().configure_from_args();
    run_group(&mut c, GROUP_ONE, members_one);
    run_group(&mut c, GROUP_HOLD, members_hold);
    c.final_summary();
    benches::report::print_group(GROUP_ONE, OURS);
    benches::report::print_group(GROUP_HOLD, OURS);
}
