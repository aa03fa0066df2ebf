//! Loom models of the allocator core's concurrent protocols.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p pool-alloc --test loom`.
//! Each model ends by freeing everything, collecting, and asserting that every
//! arena went back: a lost block (never freed) or a block freed twice leaves a
//! pool's `used` count non-zero, which keeps its arena mapped.

#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use pool_alloc::__internal::{Core, class_size};
use std::alloc::Layout;

#[derive(Clone, Copy)]
struct P(*mut u8);
// SAFETY: blocks are handed between threads whole; each is freed once.
unsafe impl Send for P {}

fn layout(class: usize) -> Layout {
    Layout::from_size_align(class_size(class), 8).unwrap()
}

fn fill(p: *mut u8, v: u8) {
    // SAFETY: a live block of at least 16 bytes.
    unsafe { p.write_bytes(v, 16) };
}

fn check(p: *mut u8, v: u8) {
    // SAFETY: as in `fill`.
    let s = unsafe { core::slice::from_raw_parts(p, 16) };
    assert!(s.iter().all(|&b| b == v));
}

fn assert_all_returned(core: &Core) {
    core.collect();
    let s = core.stats();
    assert_eq!(s.small_bytes_in_use, 0, "{s}");
    assert_eq!(s.arenas, 0, "{s}");
}

/// The owner allocates, frees and collects while two threads free into its pool.
#[test]
fn owner_and_two_remote_freers() {
    loom::model(|| {
        let core = Arc::new(Core::new());
        let h = core.new_heap();
        let l = layout(0);
        // SAFETY: `h` is this thread's heap.
        let blocks: Vec<P> = (0..4)
            .map(|i| {
                let p = unsafe { core.alloc(h, l) };
                fill(p, i);
                P(p)
            })
            .collect();
        let joins: Vec<_> = [(blocks[0], 0u8), (blocks[1], 1u8)]
            .into_iter()
            .map(|(b, v)| {
                let core = core.clone();
                thread::spawn(move || {
                    let mine = core.new_heap();
                    check(b.0, v);
                    // SAFETY: the block is live and freed once, here; `mine` is ours.
                    unsafe {
                        core.dealloc(mine, b.0, l);
                        core.retire_heap(mine);
                    }
                })
            })
            .collect();
        // SAFETY: `h` is ours; blocks 2 and 3 are freed once, here.
        unsafe {
            core.dealloc(h, blocks[2].0, l);
            let q = core.alloc(h, l);
            fill(q, 9);
            core.collect_heap(h);
            check(blocks[3].0, 3);
            core.dealloc(h, blocks[3].0, l);
            check(q, 9);
            core.dealloc(h, q, l);
        }
        for j in joins {
            j.join().unwrap();
        }
        // SAFETY: `h` is ours.
        unsafe {
            core.collect_heap(h);
            core.retire_heap(h);
        }
        assert_all_returned(&core);
    });
}

/// A full pool moves to the full list; an owner free brings it back to the
/// partial list, and the owner takes it up again and drains its remote list
/// while another thread pushes onto it. No block is lost or handed out twice.
#[test]
fn full_pool_hand_back() {
    loom::model(|| {
        let core = Arc::new(Core::new());
        let h = core.new_heap();
        let class = pool_alloc::__internal::NUM_CLASSES - 1; // 15 blocks per pool
        let l = layout(class);
        // SAFETY: `h` is this thread's heap.
        let blocks: Vec<P> = (0..15).map(|_| P(unsafe { core.alloc(h, l) })).collect();
        // One more: the first pool is exhausted and goes to the full list.
        // SAFETY: as above.
        let mut second: Vec<P> = vec![P(unsafe { core.alloc(h, l) })];
        let remote = blocks[0];
        let c2 = core.clone();
        let t = thread::spawn(move || {
            let mine = c2.new_heap();
            fill(remote.0, 5);
            // SAFETY: freed once, here.
            unsafe {
                c2.dealloc(mine, remote.0, l);
                c2.retire_heap(mine);
            }
        });
        // SAFETY: `h` is ours; each block is freed once.
        unsafe {
            thread::yield_now();
            // owner free into the full pool: it moves to the partial list
            core.dealloc(h, blocks[1].0, l);
            // use up the second pool, then take the first one back and drain its
            // remote list (racing the other thread's push)
            for _ in 0..16 {
                let p = core.alloc(h, l);
                assert!(!p.is_null());
                assert!(
                    !blocks[2..].iter().any(|b| b.0 == p),
                    "live block handed out"
                );
                assert!(!second.iter().any(|b| b.0 == p), "live block handed out");
                fill(p, 6);
                second.push(P(p));
            }
        }
        t.join().unwrap();
        // SAFETY: as above.
        unsafe {
            for b in blocks[2..].iter().chain(second.iter()) {
                core.dealloc(h, b.0, l);
            }
            core.collect_heap(h);
            core.retire_heap(h);
        }
        assert_all_returned(&core);
    });
}

/// A thread exits (abandoning a pool with live blocks) while another thread
/// frees one of them and a third allocates (adopting the pool).
#[test]
fn abandonment_races_remote_free_and_reclaim() {
    loom::model(|| {
        let core = Arc::new(Core::new());
        let l = layout(1);
        let (tx, rx) = loom::sync::mpsc::channel::<(P, P)>();
        let c1 = core.clone();
        let owner = thread::spawn(move || {
            let h = c1.new_heap();
            // SAFETY: `h` is this thread's heap.
            let (a, b) = unsafe { (c1.alloc(h, l), c1.alloc(h, l)) };
            fill(a, 1);
            fill(b, 2);
            tx.send((P(a), P(b))).unwrap();
            // SAFETY: the thread exits: its heap is retired, its pool abandoned.
            unsafe { c1.retire_heap(h) };
        });
        let (a, b) = rx.recv().unwrap();
        let c2 = core.clone();
        let freer = thread::spawn(move || {
            let h = c2.new_heap();
            check(a.0, 1);
            // SAFETY: freed once, here.
            unsafe {
                c2.dealloc(h, a.0, l);
                c2.retire_heap(h);
            }
        });
        let h = core.new_heap();
        // SAFETY: `h` is ours.
        let c = unsafe { core.alloc(h, l) };
        fill(c, 3);
        owner.join().unwrap();
        freer.join().unwrap();
        check(b.0, 2);
        check(c, 3);
        // SAFETY: each freed once.
        unsafe {
            core.dealloc(h, b.0, l);
            core.dealloc(h, c, l);
            core.collect_heap(h);
            core.retire_heap(h);
        }
        assert_all_returned(&core);
    });
}

/// Two threads take and return pools of one arena; the arena stays mapped while
/// any pool in it is in use and goes back once all are free.
#[test]
fn arena_released_only_when_completely_free() {
    loom::model(|| {
        let core = Arc::new(Core::new());
        let h = core.new_heap();
        let l = layout(2);
        // SAFETY: `h` is ours.
        let keep = unsafe { core.alloc(h, l) };
        fill(keep, 7);
        let joins: Vec<_> = [3usize, 4]
            .into_iter()
            .map(|class| {
                let core = core.clone();
                thread::spawn(move || {
                    let mine = core.new_heap();
                    let l = layout(class);
                    // SAFETY: `mine` is ours; the block is freed once.
                    unsafe {
                        let p = core.alloc(mine, l);
                        fill(p, class as u8);
                        check(p, class as u8);
                        core.dealloc(mine, p, l);
                        core.collect_heap(mine);
                        core.retire_heap(mine);
                    }
                    core.collect();
                    // `keep` is live, so its arena must still be mapped.
                    assert!(core.arena_count() >= 1);
                })
            })
            .collect();
        for j in joins {
            j.join().unwrap();
        }
        core.collect();
        assert_eq!(core.arena_count(), 1);
        check(keep, 7);
        // SAFETY: freed once.
        unsafe {
            core.dealloc(h, keep, l);
            core.collect_heap(h);
            core.retire_heap(h);
        }
        assert_all_returned(&core);
    });
}

/// The last live block of a listed pool, freed by another thread, gives the pool back under
/// the owner's lock, while the owner exhausts its current pool and its slow path takes that
/// same pool from its partial list. Either the pool is given back first (and the owner gets
/// it from its cache, empty) or the owner takes it first (and the free lands on its remote
/// list); no block is lost or handed out twice.
#[test]
fn last_remote_free_races_the_owners_slow_path() {
    loom::model(|| {
        let core = Arc::new(Core::new());
        let h = core.new_heap();
        let class = pool_alloc::__internal::NUM_CLASSES - 1; // 15 blocks per pool
        let l = layout(class);
        // SAFETY: `h` is this thread's heap.
        let first: Vec<P> = (0..15).map(|_| P(unsafe { core.alloc(h, l) })).collect();
        // The second pool becomes current with one block left; the first is full.
        // SAFETY: as above.
        let mut second: Vec<P> = (0..14).map(|_| P(unsafe { core.alloc(h, l) })).collect();
        // SAFETY: owner frees: the first pool goes to the partial list with one live block.
        unsafe {
            for b in &first[1..] {
                core.dealloc(h, b.0, l);
            }
        }
        let last = first[0];
        fill(last.0, 4);
        let c2 = core.clone();
        let t = thread::spawn(move || {
            let mine = c2.new_heap();
            check(last.0, 4);
            // SAFETY: freed once, here.
            unsafe {
                c2.dealloc(mine, last.0, l);
                c2.retire_heap(mine);
            }
        });
        // SAFETY: `h` is ours: the second allocation takes the slow path.
        unsafe {
            for _ in 0..2 {
                let p = core.alloc(h, l);
                assert!(!p.is_null());
                assert!(!second.iter().any(|b| b.0 == p), "live block handed out");
                fill(p, 6);
                second.push(P(p));
            }
        }
        t.join().unwrap();
        // SAFETY: as above.
        unsafe {
            for b in &second {
                core.dealloc(h, b.0, l);
            }
            core.collect_heap(h);
            core.retire_heap(h);
        }
        assert_all_returned(&core);
    });
}

/// `collect()` on a third thread gives back an owner's pool whose last block another thread
/// frees meanwhile, while the owner goes on freeing into its current pool. Whoever comes
/// last gives the pool back; it is never given back twice or while a block is live.
#[test]
fn collect_from_another_thread_races_the_last_remote_free() {
    loom::model(|| {
        let core = Arc::new(Core::new());
        let h = core.new_heap();
        let class = pool_alloc::__internal::NUM_CLASSES - 1;
        let l = layout(class);
        // SAFETY: `h` is this thread's heap.
        let first: Vec<P> = (0..15).map(|_| P(unsafe { core.alloc(h, l) })).collect();
        // SAFETY: as above: the first pool is full, the second current.
        let own = P(unsafe { core.alloc(h, l) });
        // SAFETY: owner frees: the first pool goes to the partial list with one live block.
        unsafe {
            for b in &first[1..] {
                core.dealloc(h, b.0, l);
            }
        }
        let last = first[0];
        fill(last.0, 2);
        let c2 = core.clone();
        let freer = thread::spawn(move || {
            let mine = c2.new_heap();
            check(last.0, 2);
            // SAFETY: freed once, here.
            unsafe {
                c2.dealloc(mine, last.0, l);
                c2.retire_heap(mine);
            }
        });
        let c3 = core.clone();
        let collector = thread::spawn(move || c3.collect());
        fill(own.0, 3);
        check(own.0, 3);
        // SAFETY: freed once, here (the current pool: a plain push).
        unsafe { core.dealloc(h, own.0, l) };
        freer.join().unwrap();
        collector.join().unwrap();
        // The first pool went back (to the heap's cache or its arena): a collection from
        // any thread leaves only the owner's current pool.
        core.collect();
        assert_eq!(core.stats().classes[class].pools, 1);
        // SAFETY: `h` is ours.
        unsafe {
            core.collect_heap(h);
            core.retire_heap(h);
        }
        assert_all_returned(&core);
    });
}

/// A thread exits while another frees the last live block of its pool: whether the pool is
/// still current (the exit drains it), or already abandoned (the free returns it), it goes
/// back to its arena with no call.
#[test]
fn last_free_into_an_abandoned_pool_races_the_exit() {
    loom::model(|| {
        let core = Arc::new(Core::new());
        let l = layout(1);
        let c1 = core.clone();
        let (tx, rx) = loom::sync::mpsc::channel::<P>();
        let owner = thread::spawn(move || {
            let h = c1.new_heap();
            // SAFETY: `h` is this thread's heap.
            let a = unsafe { c1.alloc(h, l) };
            fill(a, 1);
            tx.send(P(a)).unwrap();
            // SAFETY: the thread exits.
            unsafe { c1.retire_heap(h) };
        });
        let a = rx.recv().unwrap();
        let h = core.new_heap();
        check(a.0, 1);
        // SAFETY: freed once, here; `h` is ours.
        unsafe { core.dealloc(h, a.0, l) };
        owner.join().unwrap();
        let s = core.stats();
        assert_eq!(s.classes[1].pools, 0, "{s}");
        // SAFETY: `h` is ours.
        unsafe { core.retire_heap(h) };
        assert_all_returned(&core);
    });
}

// ---- The tracer's counter slots (`src/trace/slot.rs`) ------------------------------------

use pool_alloc::__internal::{BUCKETS, BucketTotals, TraceSlot};

fn totals(slots: &[&TraceSlot]) -> [BucketTotals; BUCKETS] {
    let mut t = [BucketTotals::default(); BUCKETS];
    for s in slots.iter().rev() {
        s.add_to(&mut t);
    }
    t
}

/// Two threads each claim the slot, count and hand it back, or count in the shared slot when
/// the other holds it (as threads without a slot do): whichever way they meet, the shared slot
/// ends with every count exactly once and the slot is empty.
#[test]
fn trace_slot_handed_from_thread_to_thread() {
    loom::model(|| {
        let slot = Arc::new(TraceSlot::new(1 << 20));
        let shared = Arc::new(TraceSlot::new(1 << 20));
        let owners: Vec<_> = [&[4, 4, -4][..], &[2, -4][..]]
            .into_iter()
            .map(|ops| {
                let (slot, shared) = (slot.clone(), shared.clone());
                thread::spawn(move || {
                    let mine = slot.try_claim();
                    for &op in ops {
                        match (mine, op > 0) {
                            (true, true) => _ = slot.count_alloc(op as usize),
                            (true, false) => slot.count_free(-op as usize),
                            (false, true) => _ = shared.shared_alloc(op as usize),
                            (false, false) => shared.shared_free(-op as usize),
                        }
                    }
                    if mine {
                        slot.release_into(&shared, 1 << 20);
                    }
                })
            })
            .collect();
        for o in owners {
            o.join().unwrap();
        }
        assert_eq!(slot.net_bytes(), 0);
        assert_eq!(shared.shared_bytes(), 2);
        let t = totals(&[&slot, &shared]); // the shared slot read first
        let (blocks, bytes) = t
            .iter()
            .fold((0, 0), |(n, b), t| (n + t.blocks, b + t.bytes));
        assert_eq!((blocks, bytes), (1, 2));
        assert_eq!(t.iter().map(|t| t.allocs).sum::<u64>(), 3);
        assert_eq!(t.iter().map(|t| t.frees).sum::<u64>(), 2);
    });
}

/// A reader adds up the slots while their owner exits (moving its counts to the shared slot):
/// it may see too little, never a count twice.
#[test]
fn trace_slot_read_while_its_owner_exits() {
    loom::model(|| {
        let slot = Arc::new(TraceSlot::new(1 << 20));
        let shared = Arc::new(TraceSlot::new(1 << 20));
        assert!(slot.try_claim());
        let owner = {
            let (slot, shared) = (slot.clone(), shared.clone());
            thread::spawn(move || {
                slot.count_alloc(4);
                slot.count_alloc(4);
                slot.release_into(&shared, 1 << 20);
            })
        };
        let shared_first = shared.shared_bytes();
        let seen = shared_first + slot.net_bytes();
        assert!((0..=8).contains(&seen), "a reader saw {seen}");
        let t = totals(&[&slot, &shared]);
        let blocks: i64 = t.iter().map(|t| t.blocks).sum();
        assert!((0..=2).contains(&blocks), "a reader saw {blocks} blocks");
        owner.join().unwrap();
        assert_eq!(shared.shared_bytes() + slot.net_bytes(), 8);
    });
}
