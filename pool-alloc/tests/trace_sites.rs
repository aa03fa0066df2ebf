//! Call sites (feature `call-sites`) under `Traced<PoolAlloc>`: a leak's line tops
//! `compare_to`, the sampled estimates are within 10% of a known pattern, and sampling while
//! threads exit and while stacks are resolved neither recurses nor deadlocks.
#![cfg(feature = "call-sites")]

use pool_alloc::PoolAlloc;
use pool_alloc::trace::{self, Group, Key, Statistic, Traced};
use std::sync::Mutex;

#[global_allocator]
static GLOBAL: Traced<PoolAlloc> = Traced::new(PoolAlloc::new());

/// Tracing is process-wide: one test at a time, each stopping it at the end.
static SERIAL: Mutex<()> = Mutex::new(());

/// Stops tracing and restores the interval, even when the test fails.
struct Tracing;

impl Tracing {
    fn start(frames: usize, interval: usize) -> Tracing {
        trace::set_sample_interval(interval);
        trace::start(frames);
        Tracing
    }
}

impl Drop for Tracing {
    fn drop(&mut self) {
        trace::stop();
        trace::set_sample_interval(trace::DEFAULT_SAMPLE_INTERVAL);
    }
}

/// The statistic whose innermost frame is this file at `line`.
fn at_line(stats: &[Statistic], line: u32) -> Option<&Statistic> {
    stats.iter().find(|s| match &s.group {
        Group::Traceback(frames) => frames
            .first()
            .is_some_and(|f| f.file.ends_with("trace_sites.rs") && f.line == line),
        Group::Sizes(..) => false,
    })
}

#[test]
fn a_leak_in_a_loop_tops_compare_to_by_line() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let _t = Tracing::start(5, 4096);
    let mut leaked: Vec<String> = Vec::new();
    let first = trace::snapshot();
    let leak_line = line!() + 3;
    for i in 0..4000 {
        let scratch = format!("request {i}").repeat(30); // freed each round
        leaked.push("x".repeat(700)); // kept: the leak
        drop(scratch);
    }
    let second = trace::snapshot();
    let diffs = second.compare_to(&first, Key::Lineno);
    for d in diffs.iter().take(3) {
        println!("{d}");
    }
    let top = &diffs[0];
    let text = top.to_string();
    assert!(
        text.contains(&format!("trace_sites.rs:{leak_line}: size=")),
        "{text}\n{}",
        diffs.iter().map(|d| format!("{d}\n")).collect::<String>()
    );
    // 2.8 MB leaked: the estimate is close.
    assert!(
        (2_400_000..3_300_000).contains(&top.size_diff),
        "{top}: {}",
        top.size_diff
    );
    let tb = second.compare_to(&first, Key::Traceback);
    println!("{:#}", tb[0].group);
    match &tb[0].group {
        Group::Traceback(frames) => {
            assert!(frames.len() > 1 && frames.len() <= 5, "{:#}", tb[0].group);
            assert_eq!(frames[0].line, leak_line, "{:#}", tb[0].group);
        }
        g => panic!("{g}"),
    }
    drop(leaked);
}

#[test]
fn sampled_estimates_are_within_ten_percent() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let _t = Tracing::start(1, 4096);
    // Three lines, 10 MB each (about 2,500 samples each at this interval).
    let mut small: Vec<Box<[u8; 64]>> = Vec::with_capacity(160_000);
    let mut mid: Vec<Vec<u8>> = Vec::with_capacity(10_000);
    let mut large: Vec<Vec<u8>> = Vec::with_capacity(100);
    let line = line!() + 2;
    for _ in 0..160_000 {
        small.push(Box::new([1; 64]));
    }
    for _ in 0..10_000 {
        mid.push(vec![2; 1000]);
    }
    for _ in 0..100 {
        large.push(vec![3; 100_000]);
    }
    let snap = trace::snapshot();
    let stats = snap.statistics(Key::Lineno);
    for (at, bytes, count) in [
        (line, 160_000 * 64, 160_000),
        (line + 3, 10_000 * 1000, 10_000),
        (line + 6, 100 * 100_000, 100),
    ] {
        let s = at_line(&stats, at).unwrap_or_else(|| panic!("line {at} not found: {stats:?}"));
        let (e_bytes, e_count) = (s.size as f64 / bytes as f64, s.count as f64 / count as f64);
        assert!(
            (0.9..1.1).contains(&e_bytes) && (0.9..1.1).contains(&e_count),
            "{s}: bytes {e_bytes:.3}, count {e_count:.3} of the truth"
        );
    }
    drop((small, mid, large));
}

#[test]
fn sampling_while_threads_exit_and_stacks_resolve_does_not_recurse() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Every allocation sampled.
    let _t = Tracing::start(16, 1);

    struct AllocatesAtExit(Vec<u32>);
    impl Drop for AllocatesAtExit {
        fn drop(&mut self) {
            // Allocates and frees during the thread's exit, after the tracer's own
            // thread-locals may be gone.
            let more: Vec<String> = self.0.iter().map(|i| i.to_string()).collect();
            assert_eq!(more.len(), self.0.len());
        }
    }
    thread_local! {
        static AT_EXIT: std::cell::RefCell<AllocatesAtExit> =
            const { std::cell::RefCell::new(AllocatesAtExit(Vec::new())) };
    }

    let before = trace::snapshot();
    let kept: Vec<Vec<String>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|t| {
                s.spawn(move || {
                    AT_EXIT.with(|a| a.borrow_mut().0.extend(0..200));
                    (0..300).map(|i| format!("{t}-{i}")).collect::<Vec<_>>()
                })
            })
            .collect();
        // Resolving stacks while the workers sample and exit.
        for _ in 0..3 {
            let stats = trace::snapshot().statistics(Key::Traceback);
            assert!(!stats.is_empty());
        }
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let after = trace::snapshot();
    let by_line = after.compare_to(&before, Key::Lineno);
    assert!(
        by_line.iter().any(|d| d.count_diff > 0),
        "the kept strings are sampled: {by_line:?}"
    );
    assert_eq!(kept.iter().map(Vec::len).sum::<usize>(), 1200);
    drop(kept);
    assert!(trace::get_tracemalloc_memory() > 0);
}
