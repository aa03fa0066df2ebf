//! Prints `pool-alloc`'s `_debugmallocstats`-style table for a small std workload: with the
//! blocks live, after freeing half of them, and after freeing the rest and `collect()`.
//!
//!     cargo run --release -p benches --example alloc_stats

use std::collections::HashMap;

#[global_allocator]
static GLOBAL: pool_alloc::PoolAlloc = pool_alloc::PoolAlloc::new();

fn main() {
    let mut words: Vec<String> = (0..200_000).map(|i| format!("word-{i}")).collect();
    let mut map: HashMap<u32, Vec<u8>> = (0..50_000u32)
        .map(|k| (k, vec![k as u8; (k % 900) as usize + 1]))
        .collect();
    let boxes: Vec<Box<[u64; 4]>> = (0..100_000u64).map(|i| Box::new([i; 4])).collect();
    println!(
        "== live: 200,000 strings, 50,000 map values, 100,000 boxes\n{}",
        GLOBAL.stats()
    );

    words.truncate(100_000);
    map.retain(|k, _| k % 2 == 0);
    println!(
        "\n== after freeing half of the strings and map values\n{}",
        GLOBAL.stats()
    );

    assert_eq!(
        boxes.iter().map(|b| b[0]).sum::<u64>(),
        99_999 * 100_000 / 2
    );
    drop((words, map, boxes));
    GLOBAL.collect();
    println!(
        "\n== after freeing everything and collect()\n{}",
        GLOBAL.stats()
    );
}
