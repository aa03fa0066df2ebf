//! The memory benchmark, shared by the `alloc_rss_*` binaries (one per global allocator).
//!
//! 1. Collect, then read the RSS (`/proc/self/statm`): the start.
//! 2. Allocate 10 million 32-byte blocks, kept alive as a linked list threaded through the blocks
//!    themselves (so nothing but the blocks is allocated), and read the RSS: the growth, against
//!    the 320 MB payload.
//! 3. Free them all and read the RSS; then call the allocator's own "give memory back" call
//!    (`PoolAlloc::collect`, `malloc_trim(0)`, `mi_collect(true)`, jemalloc's tcache flush and
//!    `arena.<all>.purge`) and read it again.
//!
//! Each binary prints its row, writes it to `<criterion home>/alloc_rss/<allocator>.txt`, and
//! prints the table of every allocator's latest row found there.

use std::alloc::{Layout, alloc, dealloc};
use std::fmt::Write as _;
use std::time::Instant;

/// Live blocks in the measurement.
pub const BLOCKS: usize = 10_000_000;
/// Bytes per block.
pub const BLOCK: usize = 32;

const MB: f64 = 1e6;
const MIB: f64 = (1 << 20) as f64;

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("statm's resident field");
    pages * page_size()
}

fn page_size() -> usize {
    unsafe extern "C" {
        safe fn getpagesize() -> std::ffi::c_int;
    }
    getpagesize() as usize
}

/// One allocator's numbers.
struct Row {
    name: String,
    growth: usize,
    after_free: isize,
    after_collect: isize,
    alloc_secs: f64,
}

impl Row {
    fn line(&self) -> String {
        let ratio = self.growth as f64 / (BLOCKS * BLOCK) as f64;
        format!(
            "{:<12} {:>10.1} MB {:>7.3}x {:>12.1} MiB {:>12.1} MiB {:>8.2} s",
            self.name,
            self.growth as f64 / MB,
            ratio,
            self.after_free as f64 / MIB,
            self.after_collect as f64 / MIB,
            self.alloc_secs,
        )
    }
}

const HEADER: &str = "allocator      RSS growth  x 320 MB      after free   after collect  alloc time\n\
                      (10M x 32 B live)           (above start)   (above start)";

/// Runs the measurement with the installed global allocator, calls `collect` to give memory
/// back, and prints the row and the table. `extra` is printed after the row (e.g. statistics).
pub fn run(name: &str, collect: impl Fn(), extra: impl Fn() -> String) {
    let layout = Layout::from_size_align(BLOCK, 8).expect("layout");
    collect();
    let start = rss_bytes();

    let t = Instant::now();
    let mut head: *mut u8 = std::ptr::null_mut();
    for i in 0..BLOCKS {
        // SAFETY: non-zero size; freed below with the same layout.
        let p = unsafe { alloc(layout) };
        assert!(!p.is_null(), "allocation {i} failed");
        // SAFETY: the block holds 32 bytes, 8-aligned: a link and a tag.
        unsafe {
            p.cast::<*mut u8>().write(head);
            p.add(8).cast::<usize>().write(i);
        }
        head = p;
    }
    let alloc_secs = t.elapsed().as_secs_f64();
    let peak = rss_bytes();
    let extra_at_peak = extra();

    let mut n = BLOCKS;
    while !head.is_null() {
        let p = head;
        n -= 1;
        // SAFETY: `p` is a live block written above; freed exactly once.
        unsafe {
            assert_eq!(p.add(8).cast::<usize>().read(), n, "block {p:p} corrupted");
            head = p.cast::<*mut u8>().read();
            dealloc(p, layout);
        }
    }
    assert_eq!(n, 0);
    let after_free = rss_bytes();
    collect();
    let after_collect = rss_bytes();

    let row = Row {
        name: name.to_owned(),
        growth: peak.saturating_sub(start),
        after_free: after_free as isize - start as isize,
        after_collect: after_collect as isize - start as isize,
        alloc_secs,
    };
    println!("\nmemory: {name}, start RSS {:.1} MiB", start as f64 / MIB);
    println!("{HEADER}\n{}", row.line());
    if !extra_at_peak.is_empty() {
        println!("\n{name} with 10M blocks live:\n{extra_at_peak}");
        println!("\n{name} after free and collect:\n{}", extra());
    }

    let dir = benches::report::criterion_home().join("alloc_rss");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("{name}.txt")), row.line());
    let mut table = String::new();
    for member in ["pool-alloc", "system", "mimalloc", "jemalloc"] {
        if let Ok(line) = std::fs::read_to_string(dir.join(format!("{member}.txt"))) {
            let _ = writeln!(table, "{line}");
        }
    }
    println!(
        "\nmemory: every allocator's latest run (target: growth <= 1.1x, after collect <= 16 MiB)\n\
         {HEADER}\n{table}"
    );
}
