//! The comparison command's allocator workloads under `mimalloc` as the global allocator (run by
//! `compare`; see `benches::compare::alloc`).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    benches::compare::alloc::child_main();
}
