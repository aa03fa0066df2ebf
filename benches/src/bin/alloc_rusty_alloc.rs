//! The comparison command's allocator workloads under `rusty_alloc` as the global allocator (run by
//! `compare`; see `benches::compare::alloc`).

#[global_allocator]
static GLOBAL: rusty_alloc_api::RustyAlloc = rusty_alloc_api::RustyAlloc;

fn main() {
    benches::compare::alloc::child_main();
}
