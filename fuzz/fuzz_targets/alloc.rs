//! pool-alloc's core driven by arbitrary sequences of alloc, alloc_zeroed, realloc and free of
//! arbitrary layouts on three heaps (a free by a heap that does not own the block is a
//! cross-thread free), with every block's contents checked before it is freed or moved, and
//! `collect`, `collect_heap` and heap retirement in between. At the end everything is freed
//! and every arena must have gone back.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use pool_alloc::__internal::Core;
use std::alloc::Layout;

#[derive(Arbitrary, Debug)]
enum Op {
    Alloc { heap: u8, size: u16, align: u8, zero: bool },
    Realloc { index: u16, heap: u8, size: u16 },
    Free { index: u16, heap: u8 },
    CollectHeap { heap: u8 },
    Collect,
    Retire { heap: u8 },
}

struct Block {
    ptr: *mut u8,
    layout: Layout,
    seed: u8,
}

fn fill(b: &Block) {
    for i in 0..b.layout.size() {
        // SAFETY: a live block of `layout.size()` bytes.
        unsafe { b.ptr.add(i).write(b.seed.wrapping_add(i as u8)) };
    }
}

fn check(b: &Block) {
    for i in 0..b.layout.size() {
        // SAFETY: as in `fill`.
        let got = unsafe { b.ptr.add(i).read() };
        assert_eq!(got, b.seed.wrapping_add(i as u8), "block corrupted at byte {i}");
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let core = Core::new();
    let mut heaps = [core.new_heap(), core.new_heap(), core.new_heap()];
    let mut live: Vec<Block> = Vec::new();
    let mut seed = 0u8;
    for op in ops.into_iter().take(2_000) {
        seed = seed.wrapping_add(1);
        // SAFETY: every heap is used by this thread alone; every block is freed once, with
        // the layout it was allocated with.
        unsafe {
            match op {
                Op::Alloc { heap, size, align, zero } => {
                    let align = 1usize << (align % 13);
                    let Ok(layout) = Layout::from_size_align(usize::from(size % 4096) + 1, align)
                    else {
                        continue;
                    };
                    let h = heaps[usize::from(heap) % 3];
                    let ptr = if zero { core.alloc_zeroed(h, layout) } else { core.alloc(h, layout) };
                    assert!(!ptr.is_null());
                    assert_eq!(ptr.addr() % align, 0, "misaligned block");
                    if zero {
                        let s = std::slice::from_raw_parts(ptr, layout.size());
                        assert!(s.iter().all(|&b| b == 0), "alloc_zeroed not zero");
                    }
                    let b = Block { ptr, layout, seed };
                    fill(&b);
                    live.push(b);
                }
                Op::Realloc { index, heap, size } => {
                    if live.is_empty() {
                        continue;
                    }
                    let i = usize::from(index) % live.len();
                    let b = &live[i];
                    check(b);
                    let new_size = usize::from(size % 4096) + 1;
                    let h = heaps[usize::from(heap) % 3];
                    let q = core.realloc(h, b.ptr, b.layout, new_size);
                    assert!(!q.is_null());
                    let kept = b.layout.size().min(new_size);
                    let old_seed = b.seed;
                    for j in 0..kept {
                        assert_eq!(q.add(j).read(), old_seed.wrapping_add(j as u8), "realloc lost byte {j}");
                    }
                    let nb = Block {
                        ptr: q,
                        layout: Layout::from_size_align(new_size, b.layout.align()).unwrap(),
                        seed,
                    };
                    fill(&nb);
                    live[i] = nb;
                }
                Op::Free { index, heap } => {
                    if live.is_empty() {
                        continue;
                    }
                    let b = live.swap_remove(usize::from(index) % live.len());
                    check(&b);
                    core.dealloc(heaps[usize::from(heap) % 3], b.ptr, b.layout);
                }
                Op::CollectHeap { heap } => core.collect_heap(heaps[usize::from(heap) % 3]),
                Op::Collect => core.collect(),
                Op::Retire { heap } => {
                    let k = usize::from(heap) % 3;
                    core.retire_heap(heaps[k]);
                    heaps[k] = core.new_heap();
                }
            }
        }
    }
    // SAFETY: as above.
    unsafe {
        for b in live.drain(..) {
            check(&b);
            core.dealloc(heaps[0], b.ptr, b.layout);
        }
        for h in heaps {
            core.collect_heap(h);
            core.retire_heap(h);
        }
    }
    core.collect();
    let s = core.stats();
    assert_eq!(s.small_bytes_in_use, 0, "{s}");
    assert_eq!(s.arenas, 0, "arenas left after freeing everything: {s}");
});
