//! `realloc` within a size class, across classes, and across the small/system boundary in both
//! directions, at several alignments. The preserved prefix is checked after every move, and the
//! whole block is refilled and checked before it is freed.

mod common;

use common::{Rng, check, fill};
use std::alloc::{Layout, alloc, dealloc, realloc};
use std::hint::black_box;

#[global_allocator]
static GLOBAL: pool_alloc::PoolAlloc = pool_alloc::PoolAlloc::new();

/// Sizes on both sides of every plausible class and threshold boundary, plus large ones.
const SIZES: &[usize] = &[
    1, 2, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 96, 127, 128, 129, 255, 256, 257,
    383, 384, 511, 512, 513, 767, 768, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096, 4097, 8192,
    16_384, 16_385, 65_536, 100_000,
];

/// Allocates `from` bytes, fills, reallocates to `to`, checks the preserved prefix, refills,
/// checks and frees. Returns the two addresses.
fn roundtrip(from: usize, to: usize, align: usize, seed: usize) -> (usize, usize) {
    let layout = Layout::from_size_align(from, align).expect("layout");
    // SAFETY: non-zero size.
    let p = unsafe { alloc(layout) };
    assert!(!p.is_null());
    assert_eq!(p as usize % align, 0);
    // SAFETY: `p` holds `from` bytes.
    unsafe { fill(p, from, seed) };
    // SAFETY: `p` was allocated with `layout`; `to` is non-zero and fits `isize` when rounded.
    let q = unsafe { realloc(p, layout, to) };
    assert!(
        !q.is_null(),
        "realloc {from} -> {to} (align {align}) failed"
    );
    assert_eq!(
        q as usize % align,
        0,
        "realloc {from} -> {to} lost align {align}"
    );
    // SAFETY: `q` holds `to` bytes, of which the first `min(from, to)` were preserved.
    unsafe { check(q, from.min(to), seed) };
    // SAFETY: `q` holds `to` bytes.
    unsafe { fill(q, to, seed + 1) };
    // SAFETY: as above.
    unsafe { check(q, to, seed + 1) };
    // SAFETY: `q` is live with the new layout (same align, size `to`).
    unsafe { dealloc(q, Layout::from_size_align(to, align).expect("layout")) };
    (p as usize, q as usize)
}

#[test]
fn realloc_between_every_pair_of_sizes() {
    let mut seed = 0;
    for align in [1, 8, 16, 64] {
        for &from in SIZES {
            for &to in SIZES {
                seed += 1;
                roundtrip(from, to, align, seed);
            }
        }
    }
}

#[test]
fn realloc_within_a_size_keeps_or_moves_consistently() {
    // Shrinking by one byte and growing back must preserve contents; a realloc to the same size
    // is a no-op for the contents.
    for &size in SIZES.iter().filter(|&&s| s >= 2) {
        let layout = Layout::from_size_align(size, 8).expect("layout");
        // SAFETY: non-zero size.
        let p = unsafe { alloc(layout) };
        assert!(!p.is_null());
        // SAFETY: `p` holds `size` bytes.
        unsafe { fill(p, size, size) };
        // SAFETY: `p` is live with `layout`.
        let q = unsafe { realloc(p, layout, size) };
        assert!(!q.is_null());
        // SAFETY: `q` holds `size` bytes.
        unsafe { check(q, size, size) };
        // SAFETY: `q` is live with `layout`.
        let r = unsafe { realloc(q, layout, size - 1) };
        assert!(!r.is_null());
        // SAFETY: `r` holds `size - 1` bytes.
        unsafe { check(r, size - 1, size) };
        let smaller = Layout::from_size_align(size - 1, 8).expect("layout");
        // SAFETY: `r` is live with `smaller`.
        let s = unsafe { realloc(r, smaller, size) };
        assert!(!s.is_null());
        // SAFETY: `s` holds `size` bytes, the first `size - 1` preserved.
        unsafe { check(s, size - 1, size) };
        // SAFETY: `s` is live with `layout`.
        unsafe { dealloc(s, layout) };
    }
}

#[test]
fn realloc_one_byte_at_a_time_up_to_5000_and_back() {
    let mut size = 1;
    let layout = Layout::from_size_align(size, 1).expect("layout");
    // SAFETY: non-zero size.
    let mut p = unsafe { alloc(layout) };
    assert!(!p.is_null());
    // SAFETY: one byte.
    unsafe { p.write(common::pattern_byte(9, 0)) };
    while size < 5000 {
        let old = Layout::from_size_align(size, 1).expect("layout");
        // SAFETY: `p` is live with `old`.
        p = unsafe { realloc(p, old, size + 1) };
        assert!(!p.is_null());
        // SAFETY: the new byte is within the block.
        unsafe { p.add(size).write(common::pattern_byte(9, size)) };
        size += 1;
        if size % 97 == 0 || size < 64 {
            // SAFETY: `p` holds `size` bytes.
            unsafe { check(p, size, 9) };
        }
    }
    // SAFETY: `p` holds `size` bytes.
    unsafe { check(p, size, 9) };
    while size > 1 {
        let old = Layout::from_size_align(size, 1).expect("layout");
        // SAFETY: `p` is live with `old`; `size - 1 > 0`.
        p = unsafe { realloc(p, old, size - 1) };
        assert!(!p.is_null());
        size -= 1;
        if size % 89 == 0 || size < 64 {
            // SAFETY: `p` holds `size` bytes.
            unsafe { check(p, size, 9) };
        }
    }
    // SAFETY: `p` is live with a 1-byte layout.
    unsafe { dealloc(p, Layout::from_size_align(1, 1).expect("layout")) };
}

#[test]
fn many_live_blocks_reallocated_in_random_order() {
    // Blocks move between classes while their neighbours stay live: a realloc that wrote past
    // its class, or freed into the wrong class, corrupts a neighbour's pattern.
    let mut rng = Rng::new(77);
    let mut blocks: Vec<(*mut u8, usize, usize)> = (0..4000)
        .map(|i| {
            let size = rng.range(1, 2048);
            // SAFETY: non-zero size.
            let p = unsafe { alloc(Layout::from_size_align(size, 8).expect("layout")) };
            assert!(!p.is_null());
            // SAFETY: `p` holds `size` bytes.
            unsafe { fill(p, size, i) };
            (p, size, i)
        })
        .collect();
    for step in 0..20_000 {
        let k = rng.range(0, blocks.len() - 1);
        let (p, size, seed) = blocks[k];
        let to = if step % 10 == 0 {
            rng.range(2049, 70_000)
        } else {
            rng.range(1, 2048)
        };
        // SAFETY: `p` is live with this layout.
        let q = unsafe { realloc(p, Layout::from_size_align(size, 8).expect("layout"), to) };
        assert!(!q.is_null());
        // SAFETY: `q` holds `to` bytes, the first `min(size, to)` preserved.
        unsafe { check(q, size.min(to), seed) };
        let new_seed = seed + 10_000;
        // SAFETY: `q` holds `to` bytes.
        unsafe { fill(q, to, new_seed) };
        blocks[k] = (q, to, new_seed);
    }
    for (p, size, seed) in blocks {
        // SAFETY: `p` is live with this layout.
        unsafe {
            check(p, size, seed);
            dealloc(p, Layout::from_size_align(size, 8).expect("layout"));
        }
    }
}

#[test]
fn refused_requests_return_null_and_keep_the_old_block() {
    // 4 EiB: larger than any address space, so the OS must refuse it; the allocator must return
    // null rather than panic or abort, and a failed realloc must leave the block untouched.
    let huge = 1usize << 62;
    for align in [1, 8, 64, 4096] {
        let layout = Layout::from_size_align(huge, align).expect("layout");
        // `black_box` keeps the optimiser from assuming that an allocation whose result only
        // meets a null check succeeds (it may remove such an allocation altogether).
        // SAFETY: non-zero size.
        let p = black_box(unsafe { alloc(black_box(layout)) });
        // SAFETY: non-zero size.
        let z = black_box(unsafe { std::alloc::alloc_zeroed(black_box(layout)) });
        for q in [p, z] {
            if !q.is_null() {
                // SAFETY: `q` was just allocated with `layout`.
                unsafe { dealloc(q, layout) };
            }
        }
        assert!(p.is_null(), "alloc of 4 EiB (align {align}) succeeded");
        assert!(
            z.is_null(),
            "alloc_zeroed of 4 EiB (align {align}) succeeded"
        );
    }
    for (seed, &size) in SIZES.iter().enumerate() {
        let layout = Layout::from_size_align(size, 8).expect("layout");
        // SAFETY: non-zero size.
        let p = unsafe { alloc(layout) };
        assert!(!p.is_null());
        // SAFETY: `p` holds `size` bytes.
        unsafe { fill(p, size, seed) };
        // SAFETY: `p` is live with `layout`; `huge` rounded up to 8 does not overflow `isize`.
        let q = black_box(unsafe { realloc(p, layout, black_box(huge)) });
        assert!(q.is_null(), "realloc {size} -> 4 EiB succeeded");
        // SAFETY: after a failed realloc the old block is still live and unchanged.
        unsafe {
            check(p, size, seed);
            dealloc(p, layout);
        }
    }
}
