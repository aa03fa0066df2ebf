//! Batch stress: allocate 10,000 blocks, touch each, free them in allocation
//! order (or a fixed random order with `random`); repeat. Prints microseconds
//! per batch.
//!
//! `cargo run --release -p pool-alloc --example batch [rounds] [size] [random]`

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::time::Instant;

static A: pool_alloc::PoolAlloc = pool_alloc::PoolAlloc::new();

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5000);
    let size: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(64);
    let random = args.next().is_some_and(|s| s == "random");
    let layout = Layout::from_size_align(size, 8).expect("layout");
    let mut order: Vec<usize> = (0..10_000).collect();
    if random {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for i in (1..order.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
    }
    let mut ptrs = vec![std::ptr::null_mut::<u8>(); 10_000];
    let start = Instant::now();
    for _ in 0..rounds {
        for slot in ptrs.iter_mut() {
            // SAFETY: non-zero size.
            let p = unsafe { A.alloc(layout) };
            assert!(!p.is_null());
            // SAFETY: at least one byte.
            unsafe { p.write(1) };
            *slot = p;
        }
        for &i in &order {
            // SAFETY: allocated above with `layout`, freed once.
            unsafe { A.dealloc(black_box(ptrs[i]), layout) };
        }
    }
    let el = start.elapsed();
    println!("{:.1} us/batch", el.as_secs_f64() * 1e6 / rounds as f64);
}
