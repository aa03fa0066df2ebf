//! binary-trees (benchmarks game, depth 20) with `pool-alloc` as the global allocator; group
//! `binary_trees`, function id `pool-alloc`. See `alloc_support/binary_trees.rs`.

#[path = "alloc_support/binary_trees.rs"]
mod binary_trees;

#[global_allocator]
static GLOBAL: pool_alloc::PoolAlloc = pool_alloc::PoolAlloc::new();

fn main() {
    binary_trees::bench("pool-alloc");
}
