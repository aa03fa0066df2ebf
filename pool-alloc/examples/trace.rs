//! Finding a leak with `pool_alloc::trace`, as one would with Python's `tracemalloc`:
//! `cargo run --release -p pool-alloc --example trace --features call-sites`.

use pool_alloc::PoolAlloc;
use pool_alloc::trace::{self, Key, Traced};

#[global_allocator]
static GLOBAL: Traced<PoolAlloc> = Traced::new(PoolAlloc::new());

/// A request handler that keeps a little of every request by mistake.
fn handle(i: u32, log: &mut Vec<String>) -> usize {
    let body = format!("request {i}: ").repeat(80); // freed at the end of the request
    log.push(body[..700].to_owned()); // the leak
    body.len()
}

fn main() {
    trace::start(10);
    let mut log = Vec::new();
    let before = trace::snapshot();
    let mut served = 0;
    for i in 0..20_000 {
        served += handle(i, &mut log);
    }
    let after = trace::snapshot();
    println!("served {served} bytes; top differences by line:");
    for stat in after.compare_to(&before, Key::Lineno).iter().take(3) {
        println!("  {stat}");
    }
    println!("the largest, with its stack:");
    if let Some(top) = after.compare_to(&before, Key::Traceback).first() {
        println!("{:#}", top.group);
    }
    let (current, peak) = trace::get_traced_memory();
    println!("current {current} B, peak {peak} B");
    println!("the tracer uses {} B", trace::get_tracemalloc_memory());
}
