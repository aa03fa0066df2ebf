//! The comparison command's allocator workloads under `Traced<PoolAlloc>` (counters only) as
//! the global allocator (run by `compare`; see `benches::compare::alloc`).

#[global_allocator]
static GLOBAL: pool_alloc::trace::Traced<pool_alloc::PoolAlloc> =
    pool_alloc::trace::Traced::new(pool_alloc::PoolAlloc::new());

fn main() {
    benches::compare::alloc::child_main();
}
