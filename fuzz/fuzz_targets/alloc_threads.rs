//! The global `PoolAlloc` under 1-3 threads: each runs its share of an arbitrary sequence of
//! allocations, reallocations and frees of arbitrary layouts, handing some blocks to the other
//! threads through a shared list (so frees are cross-thread), with every block's contents
//! checked before it is moved or freed. Thread interleavings are not reproducible; the
//! single-threaded `alloc` target is.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::alloc::{GlobalAlloc, Layout};
use std::sync::Mutex;

#[global_allocator]
static GLOBAL: pool_alloc::PoolAlloc = pool_alloc::PoolAlloc::new();

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    Alloc { size: u16, align: u8, zero: bool },
    Realloc { index: u8, size: u16 },
    Free { index: u8 },
    Give { index: u8 },
    Take,
    Collect,
}

#[derive(Arbitrary, Debug)]
struct Input {
    threads: u8,
    ops: Vec<(u8, Op)>,
}

struct Block {
    ptr: *mut u8,
    layout: Layout,
    seed: u8,
}

// SAFETY: a block is owned by one thread at a time and freed once.
unsafe impl Send for Block {}

impl Block {
    fn fill(&self) {
        for i in 0..self.layout.size() {
            // SAFETY: a live block of `layout.size()` bytes.
            unsafe { self.ptr.add(i).write(self.seed.wrapping_add(i as u8)) };
        }
    }
    fn check(&self) {
        for i in 0..self.layout.size() {
            // SAFETY: as in `fill`.
            let b = unsafe { self.ptr.add(i).read() };
            assert_eq!(b, self.seed.wrapping_add(i as u8), "block corrupted at byte {i}");
        }
    }
    fn free(self) {
        self.check();
        // SAFETY: allocated by GLOBAL with this layout, freed once.
        unsafe { GLOBAL.dealloc(self.ptr, self.layout) };
    }
}

fn run(ops: &[Op], shared: &Mutex<Vec<Block>>, tid: u8) {
    let mut mine: Vec<Block> = Vec::new();
    let mut seed = tid.wrapping_mul(71);
    for &op in ops.iter().take(300) {
        seed = seed.wrapping_add(1);
        match op {
            Op::Alloc { size, align, zero } => {
                let Ok(layout) =
                    Layout::from_size_align(usize::from(size % 3000) + 1, 1 << (align % 12))
                else {
                    continue;
                };
                // SAFETY: a non-zero size.
                let ptr = unsafe {
                    if zero { GLOBAL.alloc_zeroed(layout) } else { GLOBAL.alloc(layout) }
                };
                assert!(!ptr.is_null());
                assert_eq!(ptr.addr() % layout.align(), 0);
                if zero {
                    // SAFETY: a fresh block of `layout.size()` bytes.
                    let s = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
                    assert!(s.iter().all(|&b| b == 0), "alloc_zeroed not zero");
                }
                let b = Block { ptr, layout, seed };
                b.fill();
                mine.push(b);
            }
            Op::Realloc { index, size } => {
                if mine.is_empty() {
                    continue;
                }
                let i = usize::from(index) % mine.len();
                mine[i].check();
                let new_size = usize::from(size % 3000) + 1;
                let old = &mine[i];
                // SAFETY: a live block with its layout; a valid new size.
                let q = unsafe { GLOBAL.realloc(old.ptr, old.layout, new_size) };
                assert!(!q.is_null());
                for j in 0..old.layout.size().min(new_size) {
                    // SAFETY: the new block keeps the old bytes up to the smaller size.
                    let b = unsafe { q.add(j).read() };
                    assert_eq!(b, old.seed.wrapping_add(j as u8), "realloc lost byte {j}");
                }
                let nb = Block {
                    ptr: q,
                    layout: Layout::from_size_align(new_size, old.layout.align()).unwrap(),
                    seed,
                };
                nb.fill();
                mine[i] = nb;
            }
            Op::Free { index } => {
                if !mine.is_empty() {
                    let i = usize::from(index) % mine.len();
                    mine.swap_remove(i).free();
                }
            }
            Op::Give { index } => {
                if !mine.is_empty() {
                    let i = usize::from(index) % mine.len();
                    let b = mine.swap_remove(i);
                    b.check();
                    shared.lock().unwrap().push(b);
                }
            }
            Op::Take => {
                let got = shared.lock().unwrap().pop();
                if let Some(b) = got {
                    b.check();
                    mine.push(b);
                }
            }
            Op::Collect => GLOBAL.collect(),
        }
    }
    for b in mine {
        b.free();
    }
}

fuzz_target!(|input: Input| {
    let threads = usize::from(input.threads % 3) + 1;
    let shared = Mutex::new(Vec::new());
    let mut shares: Vec<Vec<Op>> = vec![Vec::new(); threads];
    for (t, op) in input.ops {
        shares[usize::from(t) % threads].push(op);
    }
    std::thread::scope(|s| {
        for (t, ops) in shares.iter().enumerate() {
            let shared = &shared;
            s.spawn(move || run(ops, shared, t as u8));
        }
    });
    for b in shared.into_inner().unwrap() {
        b.free();
    }
});
