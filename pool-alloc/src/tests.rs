//! Unit tests on the instantiable core (and the global wrapper), run under Miri too.

use crate::PoolAlloc;
use crate::core_alloc::Core;
use crate::heap::Heap;
use crate::size_class::{NUM_CLASSES, SMALL_LIMIT, class_size};
use core::alloc::{GlobalAlloc, Layout};
use std::vec::Vec;

/// Shrinks iteration counts under Miri.
const fn n(real: usize, miri: usize) -> usize {
    if cfg!(miri) { miri } else { real }
}

fn fill(p: *mut u8, len: usize, seed: u8) {
    for i in 0..len {
        // SAFETY: the caller passes a live block of at least `len` bytes.
        unsafe { p.add(i).write(seed.wrapping_add(i as u8)) };
    }
}

fn check(p: *mut u8, len: usize, seed: u8) {
    for i in 0..len {
        // SAFETY: as in `fill`.
        let b = unsafe { p.add(i).read() };
        assert_eq!(b, seed.wrapping_add(i as u8), "byte {i}");
    }
}

struct SendPtr(*mut u8);
// SAFETY: test blocks are handed between threads whole.
unsafe impl Send for SendPtr {}

#[test]
fn every_class_alloc_fill_free_and_collect() {
    let core = Core::new();
    let h = core.new_heap();
    assert!(!h.is_null());
    let per = n(300, 20);
    let mut live = Vec::new();
    for c in 0..NUM_CLASSES {
        let l = Layout::from_size_align(class_size(c), 8).unwrap();
        for i in 0..per {
            // SAFETY: `h` is ours; the layout is non-zero.
            let p = unsafe { core.alloc(h, l) };
            assert!(!p.is_null());
            assert_eq!(p.addr() % 16, 0);
            fill(p, l.size(), (c + i) as u8);
            live.push((p, l, (c + i) as u8));
        }
    }
    let s = core.stats();
    assert_eq!(
        s.classes.iter().map(|c| c.blocks_in_use).sum::<usize>(),
        live.len()
    );
    assert!(s.small_bytes_in_use >= live.iter().map(|x| x.1.size()).sum::<usize>());
    assert!(s.arenas >= 1 && s.arenas <= s.arenas_high_water);
    for (i, &(p, l, seed)) in live.iter().enumerate() {
        if i % 2 == 0 {
            check(p, l.size(), seed);
            // SAFETY: live block of `h`.
            unsafe { core.dealloc(h, p, l) };
        }
    }
    for (i, &(p, l, seed)) in live.iter().enumerate() {
        if i % 2 == 1 {
            check(p, l.size(), seed);
            // SAFETY: live block of `h`.
            unsafe { core.dealloc(h, p, l) };
        }
    }
    assert_eq!(core.stats().small_bytes_in_use, 0);
    // SAFETY: `h` is ours.
    unsafe { core.collect_heap(h) };
    core.collect();
    let s = core.stats();
    assert_eq!(s.arenas, 0, "{s}");
    assert!(s.arenas_released >= 1);
    // SAFETY: not used again.
    unsafe { core.retire_heap(h) };
}

#[test]
fn lifo_reuse_and_zeroed() {
    let core = Core::new();
    let h = core.new_heap();
    let l = Layout::from_size_align(48, 16).unwrap();
    // SAFETY: `h` is ours; blocks are freed once.
    unsafe {
        let z = core.alloc_zeroed(h, l);
        assert!((0..48).all(|i| *z.add(i) == 0));
        let a = core.alloc(h, l);
        fill(a, 48, 9);
        core.dealloc(h, a, l);
        let b = core.alloc(h, l);
        assert_eq!(a, b, "LIFO free list reuses the last freed block");
        fill(b, 48, 200);
        core.dealloc(h, b, l);
        let z2 = core.alloc_zeroed(h, l);
        assert_eq!(z2, b);
        assert!((0..48).all(|i| *z2.add(i) == 0));
        core.dealloc(h, z, l);
        core.dealloc(h, z2, l);
        // large zeroed
        let big = Layout::from_size_align(SMALL_LIMIT * 3, 8).unwrap();
        let g = core.alloc_zeroed(h, big);
        assert!((0..big.size()).all(|i| *g.add(i) == 0));
        assert_eq!(core.stats().large_count, 1);
        core.dealloc(h, g, big);
        assert_eq!(core.stats().large_count, 0);
        core.retire_heap(h);
    }
}

#[test]
fn alignments_1_to_4096() {
    let core = Core::new();
    let h = core.new_heap();
    let sizes: &[usize] = if cfg!(miri) {
        &[1, 24, 100, 1000]
    } else {
        &[1, 7, 16, 24, 100, 333, 512, 700, 1000, 1024, 5000]
    };
    for shift in 0..=12 {
        let align = 1usize << shift;
        for &size in sizes {
            let l = Layout::from_size_align(size, align).unwrap();
            let mut ps = Vec::new();
            for k in 0..n(20, 3) {
                // SAFETY: `h` is ours.
                let p = unsafe { core.alloc(h, l) };
                assert!(!p.is_null());
                assert_eq!(p.addr() % align, 0, "size {size} align {align}");
                fill(p, size, k as u8);
                ps.push(p);
            }
            for (k, p) in ps.into_iter().enumerate() {
                check(p, size, k as u8);
                // SAFETY: live block with its layout.
                unsafe { core.dealloc(h, p, l) };
            }
        }
    }
    // SAFETY: not used again.
    unsafe { core.retire_heap(h) };
}

#[test]
fn realloc_across_classes_and_system() {
    let core = Core::new();
    let h = core.new_heap();
    let mut l = Layout::from_size_align(8, 8).unwrap();
    // SAFETY: `h` is ours; each block is reallocated with its current layout.
    unsafe {
        let mut p = core.alloc(h, l);
        fill(p, 8, 1);
        let sizes = [
            10usize, 16, 17, 200, 512, 513, 1024, 1025, 4000, 600, 30, 3000, 5,
        ];
        for &ns in &sizes {
            let keep = l.size().min(ns);
            let q = core.realloc(h, p, l, ns);
            assert!(!q.is_null());
            check(q, keep, 1);
            if ns <= 16 && l.size() <= 16 {
                assert_eq!(p, q, "same class stays in place");
            }
            fill(q, ns, 1);
            p = q;
            l = Layout::from_size_align(ns, 8).unwrap();
        }
        core.dealloc(h, p, l);
        assert_eq!(core.stats().large_bytes, 0);
        core.retire_heap(h);
    }
}

#[test]
fn remote_frees_are_taken_by_owner() {
    let core = Core::new();
    let a = core.new_heap();
    let b = core.new_heap();
    let l = Layout::from_size_align(64, 8).unwrap();
    let cnt = n(2000, 300);
    // SAFETY: both heaps are ours (single thread); blocks freed once.
    unsafe {
        let ps: Vec<_> = (0..cnt).map(|_| core.alloc(a, l)).collect();
        let pools_before = core.stats().classes[3].pools;
        for &p in &ps {
            core.dealloc(b, p, l); // remote: b does not own them
        }
        assert_eq!(
            core.stats().classes[3].blocks_in_use,
            0,
            "blocks freed remotely count as free before the owner takes them"
        );
        // the owner reuses them without new pools
        let again: Vec<_> = (0..cnt).map(|_| core.alloc(a, l)).collect();
        assert!(again.iter().all(|p| !p.is_null()));
        assert!(core.stats().classes[3].pools <= pools_before + 1);
        for &p in &again {
            core.dealloc(a, p, l);
        }
        core.collect_heap(a);
        core.collect();
        assert_eq!(core.stats().arenas, 0);
        core.retire_heap(a);
        core.retire_heap(b);
    }
}

#[test]
fn abandoned_pools_are_freed_into_and_adopted() {
    let core = Core::new();
    let a = core.new_heap();
    let l = Layout::from_size_align(32, 8).unwrap();
    let cnt = n(3000, 400);
    // SAFETY: heaps are ours; blocks freed once.
    unsafe {
        let ps: Vec<_> = (0..cnt)
            .map(|i| {
                let p = core.alloc(a, l);
                fill(p, 32, i as u8);
                p
            })
            .collect();
        core.retire_heap(a); // blocks outlive their heap
        let b = core.new_heap();
        for (i, &p) in ps.iter().enumerate() {
            check(p, 32, i as u8);
            if i % 2 == 0 {
                core.dealloc(b, p, l);
            }
        }
        // b adopts the abandoned pools before taking fresh ones
        let mapped = core.stats().arenas;
        let more: Vec<_> = (0..cnt / 2).map(|_| core.alloc(b, l)).collect();
        assert_eq!(core.stats().arenas, mapped);
        for (i, &p) in ps.iter().enumerate() {
            if i % 2 == 1 {
                core.dealloc(b, p, l);
            }
        }
        for &p in &more {
            core.dealloc(b, p, l);
        }
        core.collect_heap(b);
        core.retire_heap(b);
        core.collect();
        assert_eq!(core.stats().arenas, 0);
        assert_eq!(core.stats().small_bytes_in_use, 0);
    }
}

#[test]
fn one_spare_arena_is_kept() {
    let core = Core::new();
    core.set_arena_decay(core::time::Duration::ZERO);
    let h = core.new_heap();
    let l = Layout::from_size_align(1024, 8).unwrap();
    // 15 blocks per pool, 63 pools per arena: three arenas' worth.
    let cnt = 15 * 63 * 3;
    // SAFETY: `h` is ours; blocks freed once.
    unsafe {
        let ps: Vec<_> = (0..cnt).map(|_| core.alloc(h, l)).collect();
        assert_eq!(core.stats().arenas, 3);
        for &p in &ps {
            core.dealloc(h, p, l);
        }
        // the heap keeps up to 64 empty pools (about one arena); the rest went back
        // and at most one completely free arena stayed mapped
        let s = core.stats();
        assert!(s.arenas <= 3, "{s}");
        assert!(s.classes[NUM_CLASSES - 1].pools <= 65, "{s}");
        core.collect_heap(h);
        assert_eq!(core.stats().arenas, 1, "one spare kept");
        assert_eq!(core.stats().arenas_released, 2);
        core.collect();
        assert_eq!(core.stats().arenas, 0);
        assert_eq!(core.stats().arenas_high_water, 3);
        core.retire_heap(h);
    }
}

#[test]
fn free_arenas_decay_instead_of_thrashing() {
    let core = Core::new();
    core.set_arena_decay(core::time::Duration::from_secs(3600));
    let h = core.new_heap();
    let l = Layout::from_size_align(1024, 8).unwrap();
    let cnt = 15 * 63 * 3;
    // SAFETY: `h` is ours; blocks freed once.
    unsafe {
        for round in 0..2 {
            let ps: Vec<_> = (0..cnt).map(|_| core.alloc(h, l)).collect();
            assert_eq!(core.stats().arenas, 3);
            for &p in &ps {
                core.dealloc(h, p, l);
            }
            // within the decay window free arenas stay mapped and are reused
            assert_eq!(core.stats().arenas, 3, "round {round}");
            assert_eq!(core.stats().arenas_released, 0);
        }
        core.collect_heap(h);
        core.collect();
        assert_eq!(core.stats().arenas, 0);
        assert_eq!(core.stats().arenas_released, 3);
        core.retire_heap(h);
    }
}

/// However long the decay, at most `MAX_FREE_ARENAS` completely free arenas stay mapped after
/// a mass free: the rest go back to the OS at once.
#[test]
fn a_mass_free_unmaps_arenas_beyond_the_cap_at_once() {
    use crate::tunables::MAX_FREE_ARENAS;
    let core = Core::new();
    core.set_arena_decay(core::time::Duration::from_secs(3600));
    let h = core.new_heap();
    let l = Layout::from_size_align(1024, 8).unwrap();
    let arenas = MAX_FREE_ARENAS + n(12, 4);
    let cnt = 15 * 63 * arenas;
    // SAFETY: `h` is ours; blocks freed once.
    unsafe {
        let ps: Vec<_> = (0..cnt).map(|_| core.alloc(h, l)).collect();
        assert_eq!(core.stats().arenas, arenas);
        for &p in &ps {
            core.dealloc(h, p, l);
        }
        // The heap may keep its cached empty pools and its current pool: at most three
        // arenas that are not free.
        let s = core.stats();
        assert!(
            s.arenas <= MAX_FREE_ARENAS + 3,
            "{} arenas still mapped",
            s.arenas
        );
        assert!(s.arenas_released >= arenas - MAX_FREE_ARENAS - 3);
        core.retire_heap(h);
    }
}

/// A pool whose last block another heap frees goes back without its owner's help: into the
/// owner's cache of empty pools while it has room, else to its arena; `collect()` from a
/// thread that is not the owner gives back the cached ones too.
#[test]
fn pools_emptied_by_remote_frees_come_back_without_the_owner() {
    use crate::tunables::MAX_CACHED_EMPTY;
    let core = Core::new();
    let owner = core.new_heap();
    let other = core.new_heap();
    let class = NUM_CLASSES - 1;
    let l = Layout::from_size_align(class_size(class), 8).unwrap();
    let per_pool = 15;
    let pools = MAX_CACHED_EMPTY as usize + n(36, 4);
    // SAFETY: both heaps are ours (one thread); every block is freed once.
    unsafe {
        let ps: Vec<_> = (0..pools * per_pool)
            .map(|i| {
                let p = core.alloc(owner, l);
                fill(p, 8, i as u8);
                p
            })
            .collect();
        assert_eq!(core.stats().classes[class].pools, pools);
        for (i, &p) in ps.iter().enumerate() {
            check(p, 8, i as u8);
            core.dealloc(other, p, l); // not the owner: a remote free
        }
        let s = core.stats();
        assert_eq!(s.classes[class].blocks_in_use, 0);
        // The owner's current pool waits for it; of the others, the cache keeps its fill.
        assert_eq!(
            s.classes[class].pools,
            1 + MAX_CACHED_EMPTY as usize,
            "pools still assigned after the owner's blocks were all freed remotely"
        );
        core.collect(); // not the owner's `collect_heap`
        assert_eq!(core.stats().classes[class].pools, 1);
        // The owner finds its heap consistent: it allocates and frees again.
        let again: Vec<_> = (0..3 * per_pool).map(|_| core.alloc(owner, l)).collect();
        for &p in &again {
            core.dealloc(owner, p, l);
        }
        core.collect_heap(owner);
        core.collect();
        assert_eq!(core.stats().arenas, 0);
        core.retire_heap(owner);
        core.retire_heap(other);
    }
}

/// The last free into an abandoned pool (its thread exited) returns the pool to its arena
/// at once.
#[test]
fn the_last_free_into_an_abandoned_pool_returns_it() {
    let core = Core::new();
    let owner = core.new_heap();
    let l = Layout::from_size_align(48, 8).unwrap();
    let cnt = n(2000, 400);
    // SAFETY: heaps are ours; blocks freed once.
    unsafe {
        let ps: Vec<_> = (0..cnt).map(|_| core.alloc(owner, l)).collect();
        core.retire_heap(owner);
        let class = crate::size_class::route(48, 8).unwrap();
        assert!(core.stats().classes[class].pools >= 2);
        let other = core.new_heap();
        for &p in &ps {
            core.dealloc(other, p, l);
        }
        let s = core.stats();
        assert_eq!(s.classes[class].pools, 0, "abandoned pools kept: {s}");
        assert_eq!(s.small_bytes_in_use, 0);
        core.retire_heap(other);
    }
}

#[test]
fn threads_free_each_others_blocks() {
    let core = std::sync::Arc::new(Core::new());
    let threads = n(4, 2);
    let per = n(5000, 200);
    let (tx, rx) = std::sync::mpsc::channel::<Vec<SendPtr>>();
    let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            let core = core.clone();
            let tx = tx.clone();
            let rx = rx.clone();
            std::thread::spawn(move || {
                let h = core.new_heap();
                let l = Layout::from_size_align(16 + 16 * (t % 4), 8).unwrap();
                // SAFETY: `h` is this thread's; blocks freed once by whoever receives them.
                unsafe {
                    let v: Vec<SendPtr> = (0..per)
                        .map(|_| {
                            let p = core.alloc(h, l);
                            fill(p, 16, 0xA5);
                            SendPtr(p)
                        })
                        .collect();
                    tx.send(v).unwrap();
                    let got = rx.lock().unwrap().recv().unwrap();
                    for p in got {
                        check(p.0, 16, 0xA5);
                        // the sender's class may differ: rebuild its layout from the pool.
                        let pool = crate::pool::Pool::of(p.0);
                        let bs = (*pool).block_size as usize;
                        core.dealloc(h, p.0, Layout::from_size_align(bs, 8).unwrap());
                    }
                    core.retire_heap(h);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    core.collect();
    assert_eq!(core.stats().small_bytes_in_use, 0);
    assert_eq!(core.stats().arenas, 0);
}

#[test]
fn global_allocator_handle_across_threads() {
    let a = PoolAlloc::new();
    let l = Layout::from_size_align(40, 8).unwrap();
    let rounds = n(8, 2);
    let mut keep = Vec::new();
    for r in 0..rounds {
        let h = std::thread::spawn(move || {
            // SAFETY: blocks are freed once, with their layout.
            unsafe {
                let v: Vec<SendPtr> = (0..n(1000, 50))
                    .map(|_| {
                        let p = PoolAlloc::new().alloc(l);
                        fill(p, 40, r as u8);
                        SendPtr(p)
                    })
                    .collect();
                v
            }
        });
        keep.push((r, h.join().unwrap()));
    }
    for (r, v) in keep {
        for p in v {
            check(p.0, 40, r as u8);
            // SAFETY: live block, freed once, layout unchanged.
            unsafe { a.dealloc(p.0, l) };
        }
    }
    a.collect();
    let s = a.stats();
    assert!(s.to_string().contains("arenas"));
}

#[test]
fn heap_is_send_only_through_raw_pointers() {
    fn assert_send<T: Send>() {}
    assert_send::<Heap>();
}

/// Allocates and frees in a thread's exit path and checks which heap served: `expect` is the
/// kind of the thread's heap pointer at that moment (its own heap, or the dead sentinel whose
/// allocations go to the locked after-teardown heap), `None` where either may be.
fn alloc_while_exiting(expect: Option<crate::heap::HeapKind>, ok: &std::sync::atomic::AtomicUsize) {
    let a = PoolAlloc::new();
    let l = Layout::from_size_align(24, 8).unwrap();
    // SAFETY: the thread's heap pointer is valid (its heap or a sentinel); blocks are freed
    // once with their layout.
    unsafe {
        if let Some(kind) = expect {
            assert_eq!((*crate::thread::heap()).kind, kind);
        }
        let p = a.alloc(l);
        if !p.is_null() {
            fill(p, 24, 3);
            check(p, 24, 3);
            let q = a.alloc(l);
            assert!(!q.is_null() && q != p);
            a.dealloc(q, l);
            a.dealloc(p, l);
            ok.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// A Rust thread-local destructor allocates: on Unix the thread's heap is still live then
/// (it is retired later, by a `pthread_key` destructor); elsewhere, and under Miri, the
/// thread-local guard has retired it and the locked heap serves (on Unix targets; Windows does
/// not promise the order of thread-local destructors, so either heap may serve there). A
/// `pthread_key` destructor made after the allocator's key runs after it: the locked heap
/// serves.
#[test]
fn allocation_after_tls_teardown_uses_the_locked_heap() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static OK: AtomicUsize = AtomicUsize::new(0);
    const KEY_HOOK: bool = cfg!(all(unix, not(miri)));
    struct AllocOnDrop;
    impl Drop for AllocOnDrop {
        fn drop(&mut self) {
            let expect = if KEY_HOOK {
                Some(crate::heap::HeapKind::Real)
            } else if cfg!(unix) {
                Some(crate::heap::HeapKind::Dead)
            } else {
                None
            };
            alloc_while_exiting(expect, &OK);
        }
    }
    thread_local! {
        static LATE: AllocOnDrop = const { AllocOnDrop };
    }
    #[cfg(all(unix, not(miri)))]
    extern "C" fn key_destructor(_: *mut core::ffi::c_void) {
        alloc_while_exiting(Some(crate::heap::HeapKind::Dead), &OK);
    }
    let t = std::thread::spawn(|| {
        // Registered before the allocator's guard, so destroyed after it.
        LATE.with(|_| {});
        let a = PoolAlloc::new();
        let l = Layout::from_size_align(24, 8).unwrap();
        // SAFETY: freed once with its layout.
        unsafe {
            let p = a.alloc(l);
            assert!(!p.is_null());
            a.dealloc(p, l);
        }
        #[cfg(all(unix, not(miri)))]
        // SAFETY: a fresh key (made after the allocator's) with a plain destructor; a
        // non-null value makes it run at thread exit.
        unsafe {
            let mut key = 0;
            assert_eq!(libc::pthread_key_create(&mut key, Some(key_destructor)), 0);
            assert_eq!(libc::pthread_setspecific(key, core::ptr::dangling()), 0);
        }
    });
    t.join().unwrap();
    assert_eq!(OK.load(Ordering::SeqCst), if KEY_HOOK { 2 } else { 1 });
}
