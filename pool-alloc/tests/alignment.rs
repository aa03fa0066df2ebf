//! Every power-of-two alignment from 1 to 4096 at many sizes, and `alloc_zeroed` on fresh and on
//! reused memory.

mod common;

use common::{Block, Rng, check, fill};
use std::alloc::{Layout, alloc, alloc_zeroed, dealloc};

#[global_allocator]
static GLOBAL: pool_alloc::PoolAlloc = pool_alloc::PoolAlloc::new();

fn aligns() -> impl Iterator<Item = usize> {
    (0..=12).map(|s| 1usize << s)
}

/// Sizes around `align`, around the class limits, and a few large ones.
fn sizes_for(align: usize) -> Vec<usize> {
    let mut v = vec![
        1, 2, 3, 7, 8, 16, 24, 33, 64, 100, 255, 256, 500, 512, 513, 1000, 1024, 1025, 2048, 3000,
        4096, 4097, 10_000, 16_384, 100_000,
    ];
    v.extend([
        align.saturating_sub(1).max(1),
        align,
        align + 1,
        2 * align,
        3 * align - 1,
    ]);
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn every_alignment_at_many_sizes() {
    let mut seed = 0;
    for align in aligns() {
        let mut live = Vec::new();
        for size in sizes_for(align) {
            for _ in 0..8 {
                seed += 1;
                live.push(Block::new(size, align, seed));
            }
        }
        // Blocks must not overlap: every pattern survives the others' fills.
        for b in &live {
            b.verify();
        }
        let mut addrs: Vec<(usize, usize)> = live.iter().map(|b| (b.addr(), b.size())).collect();
        addrs.sort_unstable();
        for w in addrs.windows(2) {
            assert!(
                w[0].0 + w[0].1 <= w[1].0,
                "blocks overlap: {:#x}+{} and {:#x}",
                w[0].0,
                w[0].1,
                w[1].0
            );
        }
        Rng::new(align as u64).shuffle(&mut live);
        drop(live);
    }
}

#[test]
fn mixed_alignments_interleaved() {
    let mut rng = Rng::new(1234);
    let mut live = Vec::new();
    for i in 0..20_000 {
        let align = 1 << rng.range(0, 12);
        let size = rng.range(1, 1500);
        live.push(Block::new(size, align, i));
        if live.len() > 2000 {
            let k = rng.range(0, live.len() - 1);
            drop(live.swap_remove(k));
        }
    }
    for b in &live {
        b.verify();
    }
}

#[test]
fn alloc_zeroed_is_zero_on_fresh_and_reused_memory() {
    for align in aligns() {
        for size in sizes_for(align) {
            let layout = Layout::from_size_align(size, align).expect("layout");
            // Dirty some blocks of this layout and free them, so that the zeroed allocations
            // below are likely to reuse them.
            let dirty: Vec<*mut u8> = (0..16)
                .map(|i| {
                    // SAFETY: non-zero size.
                    let p = unsafe { alloc(layout) };
                    assert!(!p.is_null());
                    // SAFETY: `p` holds `size` bytes.
                    unsafe { fill(p, size, i) };
                    // SAFETY: as above.
                    unsafe { std::ptr::write_bytes(p, 0xA5, size) };
                    p
                })
                .collect();
            for p in dirty {
                // SAFETY: live with `layout`.
                unsafe { dealloc(p, layout) };
            }
            let zeroed: Vec<*mut u8> = (0..24)
                .map(|i| {
                    // SAFETY: non-zero size.
                    let p = unsafe { alloc_zeroed(layout) };
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0);
                    // SAFETY: `p` holds `size` bytes.
                    let bytes = unsafe { std::slice::from_raw_parts(p, size) };
                    if let Some(pos) = bytes.iter().position(|&b| b != 0) {
                        panic!(
                            "alloc_zeroed({size}, align {align}) #{i} at {p:p}: byte {pos} is {:#x}",
                            bytes[pos]
                        );
                    }
                    // SAFETY: as above.
                    unsafe { fill(p, size, i) };
                    p
                })
                .collect();
            for (i, p) in zeroed.into_iter().enumerate() {
                // SAFETY: `p` holds `size` bytes filled with seed `i`, live with `layout`.
                unsafe {
                    check(p, size, i);
                    dealloc(p, layout);
                }
            }
        }
    }
}

#[test]
fn zeroed_vecs_after_dirty_vecs() {
    for round in 0..50u8 {
        let dirty: Vec<Vec<u8>> = (1..300).map(|n| vec![round | 1; n]).collect();
        drop(dirty);
        let clean: Vec<Vec<u64>> = (1..300).map(|n| vec![0u64; n]).collect();
        for v in &clean {
            assert!(v.iter().all(|&x| x == 0));
        }
    }
}
