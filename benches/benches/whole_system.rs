//! binary-trees (benchmarks game, depth 20) with `system` as the global allocator; group
//! `binary_trees`, function id `system`. See `alloc_support/binary_trees.rs`.

#[path = "alloc_support/binary_trees.rs"]
mod binary_trees;

#[global_allocator]
static GLOBAL: std::alloc::System = std::alloc::System;

fn main() {
    binary_trees::bench("system");
}
