//! The comparison command's allocator workloads under `Traced<PoolAlloc>` as the global
//! allocator, tracing: call sites sampled at the default interval (one per 512 KiB), stacks
//! of up to 16 frames (run by `compare`; see `benches::compare::alloc`).

#[global_allocator]
static GLOBAL: pool_alloc::trace::Traced<pool_alloc::PoolAlloc> =
    pool_alloc::trace::Traced::new(pool_alloc::PoolAlloc::new());

fn main() {
    pool_alloc::trace::start(16);
    benches::compare::alloc::child_main();
}
