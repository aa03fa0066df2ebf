//! `PoolAlloc::stats()` and `collect()` seen from a program that uses `PoolAlloc` as its global
//! allocator: counters rise with live blocks and fall when they are freed, the `Display` table
//! lists the classes in use, and `collect()` gives memory back to the OS (RSS drops).

mod common;

use common::{MIB, rss_bytes, serial};
use std::alloc::{Layout, alloc, dealloc};

#[global_allocator]
static GLOBAL: pool_alloc::PoolAlloc = pool_alloc::PoolAlloc::new();

/// Live blocks of one layout, as a singly linked list threaded through the blocks themselves,
/// so that holding them costs no extra memory (RSS reflects the blocks alone).
struct Chain {
    head: *mut u8,
    layout: Layout,
    len: usize,
}

impl Chain {
    fn new(size: usize) -> Self {
        assert!(size >= 16);
        Self {
            head: std::ptr::null_mut(),
            layout: Layout::from_size_align(size, 8).expect("layout"),
            len: 0,
        }
    }

    fn push(&mut self) {
        // SAFETY: non-zero size.
        let p = unsafe { alloc(self.layout) };
        assert!(!p.is_null(), "allocation failed after {} blocks", self.len);
        // SAFETY: the block holds at least 16 bytes, 8-aligned: a link and a tag.
        unsafe {
            p.cast::<*mut u8>().write(self.head);
            p.add(8).cast::<usize>().write(!(p as usize));
        }
        self.head = p;
        self.len += 1;
    }

    fn free_all(&mut self) {
        while !self.head.is_null() {
            let p = self.head;
            // SAFETY: `p` is a live block of this chain, written by `push`.
            unsafe {
                assert_eq!(
                    p.add(8).cast::<usize>().read(),
                    !(p as usize),
                    "tag of {p:p}"
                );
                self.head = p.cast::<*mut u8>().read();
                dealloc(p, self.layout);
            }
            self.len -= 1;
        }
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        self.free_all();
    }
}

#[test]
fn counters_rise_and_fall() {
    let _serial = serial();
    let before = GLOBAL.stats();
    assert!(before.arenas <= before.arenas_high_water);
    assert!(before.small_bytes_in_use <= before.bytes_mapped);

    let mut chain = Chain::new(64);
    for _ in 0..50_000 {
        chain.push();
    }
    let during = GLOBAL.stats();
    let grown = during
        .small_bytes_in_use
        .saturating_sub(before.small_bytes_in_use);
    // 50,000 blocks of 64 bytes. The counters may lag by what per-thread caches hold, so only a
    // generous lower bound is asserted.
    assert!(
        grown >= 50_000 * 64 / 2,
        "small bytes in use grew by {grown} for 3.2 MB of live blocks:\n{during}"
    );
    assert!(during.bytes_mapped >= during.small_bytes_in_use, "{during}");
    assert!(
        during.arenas >= 1 && during.arenas <= during.arenas_high_water,
        "{during}"
    );
    // The debug mode pads each block with 8 guard bytes.
    let block = if cfg!(feature = "debug") { 72 } else { 64 };
    let class = during
        .classes
        .iter()
        .find(|c| c.block_size >= block)
        .expect("a class holding 64-byte blocks");
    assert!(class.blocks_in_use >= 50_000 / 2, "{during}");
    assert!(class.pools >= 1, "{during}");
    let sizes: Vec<usize> = during.classes.iter().map(|c| c.block_size).collect();
    assert!(
        sizes.windows(2).all(|w| w[0] < w[1]),
        "classes not ascending: {sizes:?}"
    );
    assert!(
        *sizes.last().expect("classes") >= 512,
        "small threshold below 512: {sizes:?}"
    );

    let table = during.to_string();
    assert!(table.contains("class"), "{table}");
    assert!(
        table.lines().count() >= 5,
        "the table has too few lines:\n{table}"
    );
    assert!(
        table.contains(&class.blocks_in_use.to_string()),
        "blocks in use of the 64-byte class not in the table:\n{table}"
    );

    let big = vec![7u8; 4 * MIB];
    let with_large = GLOBAL.stats();
    assert!(with_large.large_count >= 1, "{with_large}");
    assert!(with_large.large_bytes >= 4 * MIB, "{with_large}");
    drop(big);

    chain.free_all();
    GLOBAL.collect();
    let after = GLOBAL.stats();
    let in_use_drop = during
        .small_bytes_in_use
        .saturating_sub(after.small_bytes_in_use);
    assert!(
        in_use_drop >= 50_000 * 64 / 2,
        "small bytes in use fell by only {in_use_drop}:\nduring:\n{during}\nafter:\n{after}"
    );
    assert!(after.large_bytes < with_large.large_bytes, "{after}");
}

#[test]
fn collect_returns_memory_to_the_os() {
    let _serial = serial();
    GLOBAL.collect();
    let start = rss_bytes();
    // 200 MiB of live small blocks in several classes.
    let mut chains: Vec<Chain> = [32, 48, 64, 128].into_iter().map(Chain::new).collect();
    let per_class = 200 * MIB / 4;
    for c in &mut chains {
        let n = per_class / c.layout.size();
        for _ in 0..n {
            c.push();
        }
    }
    let peak = rss_bytes();
    assert!(
        peak >= start + 150 * MIB,
        "RSS rose by only {} MiB for 200 MiB of live blocks",
        (peak - start) / MIB
    );
    let stats_peak = GLOBAL.stats();
    for c in &mut chains {
        c.free_all();
    }
    GLOBAL.collect();
    let end = rss_bytes();
    let stats_end = GLOBAL.stats();
    // The target is 16 MiB above the start; the test asserts a looser bound.
    assert!(
        end <= start + 40 * MIB,
        "after freeing everything and collect(), RSS is {} MiB above the start (peak {} MiB)\n\
         at peak:\n{stats_peak}\nafter collect:\n{stats_end}",
        (end.saturating_sub(start)) / MIB,
        (peak - start) / MIB
    );
    assert!(stats_end.arenas < stats_peak.arenas, "{stats_end}");
    assert!(
        stats_end.arenas_released > stats_peak.arenas_released,
        "{stats_end}"
    );
}
