//! The comparison command's allocator workloads under `jemalloc` as the global allocator (run by
//! `compare`; see `benches::compare::alloc`).

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    benches::compare::alloc::child_main();
}
