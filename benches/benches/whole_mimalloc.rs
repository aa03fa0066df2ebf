//! binary-trees (benchmarks game, depth 20) with `mimalloc` as the global allocator; group
//! `binary_trees`, function id `mimalloc`. See `alloc_support/binary_trees.rs`.

#[path = "alloc_support/binary_trees.rs"]
mod binary_trees;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    binary_trees::bench("mimalloc");
}
