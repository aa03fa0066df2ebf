//! A quick single-thread timing of get + use + return, next to a `Mutex<Vec<Vec<u8>>>` pool
//! (a sanity check; the real comparison is `cargo bench -p benches --bench object_pool`).
//! Prints the fastest of many short rounds, which filters out time lost to other processes.

use std::hint::black_box;
use std::sync::Mutex;
use std::time::Instant;

use recycle_pool::Pool;

fn fastest_round(mut body: impl FnMut()) -> f64 {
    const ITERS: u32 = 200_000;
    (0..60)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..ITERS {
                body();
            }
            start.elapsed().as_nanos() as f64 / f64::from(ITERS)
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let pool: Pool<Vec<u8>> = Pool::new(64, || Vec::with_capacity(4096));
    let ours = fastest_round(|| {
        let mut buf = pool.get();
        buf.extend_from_slice(b"hello, pool");
        black_box(&mut *buf);
    });
    let mutex = Mutex::new(Vec::<Vec<u8>>::new());
    let textbook = fastest_round(|| {
        let popped = mutex.lock().unwrap().pop();
        let mut buf = popped.unwrap_or_else(|| Vec::with_capacity(4096));
        buf.extend_from_slice(b"hello, pool");
        black_box(&mut buf);
        buf.clear();
        mutex.lock().unwrap().push(buf);
    });
    let fresh = fastest_round(|| {
        let mut buf = Vec::<u8>::with_capacity(4096);
        buf.extend_from_slice(b"hello, pool");
        black_box(&mut buf);
    });
    println!("recycle-pool      {ours:6.2} ns per get + use + return");
    println!(
        "Mutex<Vec<T>>    {textbook:6.2} ns ({:.2}x ours)",
        textbook / ours
    );
    println!(
        "Vec::with_capacity {fresh:4.2} ns ({:.2}x ours)",
        fresh / ours
    );
    println!("{:?}", pool.stats());
}
