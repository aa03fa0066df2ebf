//! Object pools: get an object (a `Vec<u8>` of 4 KiB capacity), write to it, return it;
//! holding 1 or 16 at once, on 1 thread and on `--threads` threads sharing one pool.

use std::hint::black_box;
use std::sync::Mutex;

use super::{Case, Sample, Settings, Workload};
use crate::threads::parallel;

const CAPACITY: usize = 4096;

/// What every contender does with an object while it holds it.
#[inline(always)]
fn touch(buf: &mut Vec<u8>) {
    buf.extend_from_slice(b"hello, pool");
    black_box(&mut *buf);
}

/// A pool under test: gets `N` objects, touches each, gives them all back.
trait PoolDriver: Send + Sync + 'static {
    const NAME: &'static str;
    const OURS: bool = false;
    fn new() -> Self;
    fn round<const N: usize>(&self);
}

mod ours {
    use super::*;

    pub struct Ours(recycle_pool::Pool<Vec<u8>>);

    impl PoolDriver for Ours {
        const NAME: &'static str = "recycle-pool";
        const OURS: bool = true;
        fn new() -> Self {
            Ours(recycle_pool::Pool::new(64, || Vec::with_capacity(CAPACITY)))
        }
        fn round<const N: usize>(&self) {
            let mut held: [_; N] = std::array::from_fn(|_| self.0.get());
            held.iter_mut().for_each(|b| touch(b));
        }
    }
}

mod fresh {
    use super::*;

    pub struct Fresh;

    impl PoolDriver for Fresh {
        const NAME: &'static str = "fresh Vec";
        fn new() -> Self {
            Fresh
        }
        fn round<const N: usize>(&self) {
            let mut held: [Vec<u8>; N] = std::array::from_fn(|_| Vec::with_capacity(CAPACITY));
            held.iter_mut().for_each(touch);
        }
    }
}

mod mutex_vec {
    use super::*;

    /// The textbook pool: a `Mutex<Vec<T>>` keeping at most 64.
    pub struct MutexVec(Mutex<Vec<Vec<u8>>>);

    impl PoolDriver for MutexVec {
        const NAME: &'static str = "Mutex<Vec>";
        fn new() -> Self {
            MutexVec(Mutex::new(Vec::new()))
        }
        fn round<const N: usize>(&self) {
            let mut held: [Vec<u8>; N] = std::array::from_fn(|_| {
                let popped = self.0.lock().unwrap().pop();
                popped.unwrap_or_else(|| Vec::with_capacity(CAPACITY))
            });
            held.iter_mut().for_each(touch);
            for mut b in held {
                b.clear();
                let mut stack = self.0.lock().unwrap();
                if stack.len() < 64 {
                    stack.push(b);
                }
            }
        }
    }
}

mod object_pool_06 {
    use super::*;

    pub struct Peer(peer_object_pool::Pool<Vec<u8>>);

    impl PoolDriver for Peer {
        const NAME: &'static str = "object-pool 0.6";
        fn new() -> Self {
            Peer(peer_object_pool::Pool::new(0, || {
                Vec::with_capacity(CAPACITY)
            }))
        }
        fn round<const N: usize>(&self) {
            let mut held: [_; N] =
                std::array::from_fn(|_| self.0.pull(|| Vec::with_capacity(CAPACITY)));
            held.iter_mut().for_each(|b| {
                touch(b);
                b.clear(); // it has no reset: its users clear by hand
            });
        }
    }
}

mod lockfree {
    use super::*;

    pub struct Linear(lockfree_object_pool::LinearObjectPool<Vec<u8>>);

    impl PoolDriver for Linear {
        const NAME: &'static str = "lockfree-object-pool linear";
        fn new() -> Self {
            Linear(lockfree_object_pool::LinearObjectPool::new(
                || Vec::with_capacity(CAPACITY),
                |v| v.clear(),
            ))
        }
        fn round<const N: usize>(&self) {
            let mut held: [_; N] = std::array::from_fn(|_| self.0.pull());
            held.iter_mut().for_each(|b| touch(b));
        }
    }

    pub struct Spin(lockfree_object_pool::SpinLockObjectPool<Vec<u8>>);

    impl PoolDriver for Spin {
        const NAME: &'static str = "lockfree-object-pool spin";
        fn new() -> Self {
            Spin(lockfree_object_pool::SpinLockObjectPool::new(
                || Vec::with_capacity(CAPACITY),
                |v| v.clear(),
            ))
        }
        fn round<const N: usize>(&self) {
            let mut held: [_; N] = std::array::from_fn(|_| self.0.pull());
            held.iter_mut().for_each(|b| touch(b));
        }
    }
}

fn case<P: PoolDriver, const N: usize>(threads: usize, rounds: u64) -> Case {
    let pool = P::new();
    Case {
        contender: P::NAME.to_owned(),
        ours: P::OURS,
        run: Box::new(move || {
            let took = parallel(threads, rounds, &|_, n| {
                for _ in 0..n {
                    pool.round::<N>();
                }
            });
            Ok(Sample::time(took))
        }),
    }
}

fn cases<const N: usize>(threads: usize, rounds: u64) -> Vec<Case> {
    vec![
        case::<ours::Ours, N>(threads, rounds),
        case::<lockfree::Linear, N>(threads, rounds),
        case::<lockfree::Spin, N>(threads, rounds),
        case::<object_pool_06::Peer, N>(threads, rounds),
        case::<mutex_vec::MutexVec, N>(threads, rounds),
        case::<fresh::Fresh, N>(threads, rounds),
    ]
}

/// The pool workloads: hold 1 and 16, on 1 thread and on `settings.threads`.
pub fn workloads(settings: &Settings) -> Vec<Workload> {
    let ops = 100_000 * settings.mode.scale();
    let mut out = Vec::new();
    for threads in settings.thread_counts(&[]) {
        out.push(Workload {
            name: format!("hold 1, {threads} thr"),
            about: format!("{ops} get-write-return round trips per thread"),
            cases: cases::<1>(threads, ops),
            ..Workload::default()
        });
        out.push(Workload {
            name: format!("hold 16, {threads} thr"),
            about: format!(
                "{} rounds per thread of 16 gets, 16 writes, 16 returns",
                ops / 16
            ),
            cases: cases::<16>(threads, ops / 16),
            ..Workload::default()
        });
    }
    out
}
