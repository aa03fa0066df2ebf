//! The comparison command's allocator workloads under `system` as the global allocator (run by
//! `compare`; see `benches::compare::alloc`).

#[global_allocator]
static GLOBAL: std::alloc::System = std::alloc::System;

fn main() {
    benches::compare::alloc::child_main();
}
