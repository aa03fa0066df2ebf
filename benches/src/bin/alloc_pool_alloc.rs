//! The comparison command's allocator workloads under `pool_alloc` as the global allocator (run by
//! `compare`; see `benches::compare::alloc`).

#[global_allocator]
static GLOBAL: pool_alloc::PoolAlloc = pool_alloc::PoolAlloc::new();

fn main() {
    benches::compare::alloc::child_main();
}
