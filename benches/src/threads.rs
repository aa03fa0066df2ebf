//! Timing work on several threads at once, the same way in every suite.
//!
//! Criterion's `iter_custom` asks for the time of `iters` iterations. For a multi-threaded
//! benchmark, each of `threads` threads runs `iters` iterations; all start together behind a
//! barrier, each times its own run, and the slowest thread's time is the sample. Spawning and
//! joining the threads is outside the measured span.

use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Runs `work(thread, iters)` on `threads` threads at once (`thread` is `0..threads`) and
/// returns the slowest thread's time. With one thread it runs on the caller's thread, with no
/// spawn at all.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// let done = AtomicU64::new(0);
/// let took = benches::threads::parallel(2, 1000, &|_thread, iters| {
///     done.fetch_add(iters, Ordering::Relaxed);
/// });
/// assert_eq!(done.load(Ordering::Relaxed), 2000);
/// assert!(took.as_secs() < 60);
/// ```
pub fn parallel(threads: usize, iters: u64, work: &(dyn Fn(usize, u64) + Sync)) -> Duration {
    if threads <= 1 {
        let start = Instant::now();
        work(0, iters);
        return start.elapsed();
    }
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    work(t, iters);
                    start.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("benchmark thread panicked"))
            .max()
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn every_thread_index_runs_once_with_all_iterations() {
        for threads in [1, 2, 4] {
            let seen = Mutex::new(Vec::new());
            parallel(threads, 7, &|t, iters| {
                seen.lock().unwrap().push((t, iters))
            });
            let mut seen = seen.into_inner().unwrap();
            seen.sort();
            let expected: Vec<_> = (0..threads).map(|t| (t, 7)).collect();
            assert_eq!(seen, expected);
        }
    }

    #[test]
    fn the_sample_is_the_slowest_thread() {
        let took = parallel(2, 0, &|t, _| {
            if t == 1 {
                std::thread::sleep(Duration::from_millis(30));
            }
        });
        assert!(took >= Duration::from_millis(30), "{took:?}");
    }
}
