//! binary-trees (benchmarks game, depth 20) with `jemalloc` as the global allocator; group
//! `binary_trees`, function id `jemalloc`. See `alloc_support/binary_trees.rs`.

#[path = "alloc_support/binary_trees.rs"]
mod binary_trees;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    binary_trees::bench("jemalloc");
}
