//! Producer/consumer stress: one thread allocates, another frees, blocks travel
//! in batches of 1024 over a channel. Prints ns per block and the stats table.
//!
//! `cargo run --release -p pool-alloc --example cross_thread [blocks] [size]`

use std::alloc::{GlobalAlloc, Layout};
use std::sync::mpsc;
use std::time::Instant;

static A: pool_alloc::PoolAlloc = pool_alloc::PoolAlloc::new();

fn main() {
    let mut args = std::env::args().skip(1);
    let total: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000_000);
    let size: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(64);
    let layout = Layout::from_size_align(size, 8).expect("layout");
    let (full_tx, full_rx) = mpsc::sync_channel::<Vec<usize>>(8);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<usize>>();
    for _ in 0..12 {
        empty_tx.send(Vec::with_capacity(1024)).expect("send");
    }
    let start = Instant::now();
    std::thread::scope(|s| {
        s.spawn(move || {
            for mut batch in full_rx {
                for p in batch.drain(..) {
                    // SAFETY: allocated below with `layout`, freed once.
                    unsafe { A.dealloc(p as *mut u8, layout) };
                }
                let _ = empty_tx.send(batch);
            }
        });
        let mut left = total;
        while left > 0 {
            let mut batch = empty_rx.recv().expect("recv");
            let n = left.min(1024);
            for _ in 0..n {
                // SAFETY: non-zero size.
                let p = unsafe { A.alloc(layout) };
                assert!(!p.is_null());
                // SAFETY: at least one byte.
                unsafe { p.write(1) };
                batch.push(p as usize);
            }
            left -= n;
            full_tx.send(batch).expect("send");
        }
        drop(full_tx);
    });
    let el = start.elapsed();
    println!("{:.2} ns/block", el.as_nanos() as f64 / total as f64);
    println!("{}", A.stats());
}
