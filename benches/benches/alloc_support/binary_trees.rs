//! binary-trees from the Computer Language Benchmarks Game, shared by the `whole_*` benches
//! (one binary per global allocator).
//!
//! The program allocates and frees perfect binary trees of 16-byte nodes: a stretch tree of
//! depth `max + 1`, a long-lived tree of depth `max` kept to the end, and for every even depth
//! `d` from 4 to `max`, `2^(max - d + 4)` trees of depth `d` built and checked. As in the
//! benchmarks game, the depths run in parallel, one thread each. Every check is verified against
//! the node count `2^(d+1) - 1`, so an allocator that returned bad memory fails loudly.

use std::hint::black_box;
use std::thread;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode};

/// The depth of the benchmark (the "depth 20").
pub const DEPTH: u32 = 20;

const MIN_DEPTH: u32 = 4;

struct Node {
    left: Option<Box<Node>>,
    right: Option<Box<Node>>,
}

fn bottom_up(depth: u32) -> Box<Node> {
    if depth == 0 {
        Box::new(Node {
            left: None,
            right: None,
        })
    } else {
        Box::new(Node {
            left: Some(bottom_up(depth - 1)),
            right: Some(bottom_up(depth - 1)),
        })
    }
}

fn check(node: &Node) -> u64 {
    1 + node.left.as_deref().map_or(0, check) + node.right.as_deref().map_or(0, check)
}

fn nodes(depth: u32) -> u64 {
    (1 << (depth + 1)) - 1
}

/// Runs the whole program for `max_depth` and returns the sum of all checks (verified).
pub fn run(max_depth: u32) -> u64 {
    let max_depth = max_depth.max(MIN_DEPTH + 2);
    let stretch = bottom_up(max_depth + 1);
    let mut total = check(&stretch);
    assert_eq!(total, nodes(max_depth + 1));
    drop(stretch);

    let long_lived = bottom_up(max_depth);
    let depths: Vec<u32> = (MIN_DEPTH..=max_depth).step_by(2).collect();
    let sums: Vec<u64> = thread::scope(|s| {
        let handles: Vec<_> = depths
            .iter()
            .map(|&d| {
                s.spawn(move || {
                    let iterations = 1u64 << (max_depth - d + MIN_DEPTH);
                    let mut sum = 0;
                    for _ in 0..iterations {
                        let tree = bottom_up(d);
                        sum += check(black_box(&tree));
                    }
                    assert_eq!(sum, iterations * nodes(d));
                    sum
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a depth's thread panicked"))
            .collect()
    });
    total += sums.iter().sum::<u64>();
    let lived = check(&long_lived);
    assert_eq!(lived, nodes(max_depth));
    total + lived
}

/// The criterion benchmark: group `binary_trees`, function id `name` (the allocator), one
/// program run per iteration, ten flat samples.
pub fn bench(name: &str) {
    benches::report::mark_start();
    let mut c = Criterion::default().without_plots().configure_from_args();
    {
        let mut group = c.benchmark_group("binary_trees");
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(1))
            .measurement_time(Duration::from_secs(10));
        group.bench_function(BenchmarkId::new(name, format!("depth {DEPTH}")), |b| {
            b.iter(|| run(black_box(DEPTH)));
        });
        group.finish();
    }
    c.final_summary();
    // Every member's binary prints the table of all members measured so far (the members run as
    // separate binaries, so results of earlier runs are included: see each row's allocator).
    benches::report::print_group_any_age("binary_trees", "pool-alloc");
}
