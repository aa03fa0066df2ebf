//! Many threads: 8+ threads freeing each other's blocks, all-to-all; threads created and joined
//! in a loop whose objects outlive them and are freed by other threads; allocation inside
//! thread-local destructors; memory an idle thread's blocks held comes back when other threads
//! free them. Each block carries a pattern checked before it is freed.

mod common;

use common::{Block, MIB, Rng, rss_bytes, serial};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;

#[global_allocator]
static GLOBAL: pool_alloc::PoolAlloc = pool_alloc::PoolAlloc::new();

const THREADS: usize = 8;

/// A block size mix: mostly small classes, some at the class limit, a few large.
fn size_for(rng: &mut Rng) -> usize {
    match rng.range(0, 99) {
        0..=59 => rng.range(1, 128),
        60..=89 => rng.range(129, 1024),
        90..=97 => rng.range(1025, 4096),
        _ => rng.range(4097, 40_000),
    }
}

#[test]
fn ring_of_threads_free_each_others_blocks() {
    let _serial = serial();
    // Thread i allocates batches and sends them to thread i+1, which checks and frees them while
    // it keeps allocating its own: every owner sees remote frees racing its local work.
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..THREADS).map(|_| mpsc::channel::<Vec<Block>>()).unzip();
    let mut handles = Vec::new();
    for (i, rx) in receivers.into_iter().enumerate() {
        let tx = senders[(i + 1) % THREADS].clone();
        handles.push(thread::spawn(move || {
            let mut rng = Rng::new(i as u64 + 1);
            let mut freed = 0usize;
            for round in 0..40 {
                let batch: Vec<Block> = (0..500)
                    .map(|k| {
                        let size = size_for(&mut rng);
                        Block::new(size, 1 << rng.range(0, 6), (i << 24) | (round << 12) | k)
                    })
                    .collect();
                tx.send(batch).expect("receiver alive");
                // Free what the previous thread sent, in a scrambled order.
                while let Ok(mut got) = rx.try_recv() {
                    rng.shuffle(&mut got);
                    freed += got.len();
                    drop(got);
                }
            }
            // Then drain until the previous thread has finished sending.
            drop(tx);
            for mut got in rx {
                rng.shuffle(&mut got);
                freed += got.len();
                drop(got);
            }
            freed
        }));
    }
    drop(senders);
    let freed: usize = handles
        .into_iter()
        .map(|h| h.join().expect("worker panicked"))
        .sum();
    assert_eq!(freed, THREADS * 40 * 500);
}

#[test]
fn all_to_all_exchange_with_barrier() {
    let _serial = serial();
    // Every thread allocates a share for every other thread; after a barrier, each frees the
    // blocks addressed to it. Repeated, so that pools emptied by remote frees are reused.
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for _ in 0..THREADS {
        let (tx, rx) = mpsc::channel::<Vec<Block>>();
        senders.push(tx);
        receivers.push(rx);
    }
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = receivers
        .into_iter()
        .enumerate()
        .map(|(i, rx)| {
            let senders = senders.clone();
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                let mut rng = Rng::new(100 + i as u64);
                let mut received = 0;
                for round in 0..10 {
                    for (j, tx) in senders.iter().enumerate() {
                        let blocks = (0..300)
                            .map(|k| {
                                let size = size_for(&mut rng);
                                Block::new(size, 8, (i << 20) ^ (j << 12) ^ (round << 9) ^ k)
                            })
                            .collect();
                        tx.send(blocks).expect("receiver alive");
                    }
                    barrier.wait();
                    for _ in 0..THREADS {
                        let mut got = rx.recv().expect("a batch from every thread");
                        assert_eq!(got.len(), 300);
                        rng.shuffle(&mut got);
                        received += got.len();
                        drop(got);
                    }
                    barrier.wait();
                }
                received
            })
        })
        .collect();
    drop(senders);
    for h in handles {
        assert_eq!(h.join().expect("worker panicked"), 10 * THREADS * 300);
    }
}

#[test]
fn threads_created_and_joined_in_a_loop_objects_outlive_them() {
    let _serial = serial();
    let start_rss = rss_bytes();
    let mut survivors: Vec<Vec<Block>> = Vec::new();
    let mut peak_extra = 0;
    for generation in 0..300usize {
        // Each short-lived thread allocates ~600 KiB in many classes, frees most of it, and
        // returns some blocks that outlive it; some of those are freed by the next thread.
        let inherited = if survivors.len() > 4 {
            Some(survivors.remove(0))
        } else {
            None
        };
        let h = thread::spawn(move || {
            if let Some(old) = inherited {
                for b in &old {
                    b.verify();
                }
                drop(old);
            }
            let mut rng = Rng::new(generation as u64);
            let mut mine: Vec<Block> = (0..4000)
                .map(|k| Block::new(rng.range(1, 300), 8, (generation << 16) | k))
                .collect();
            rng.shuffle(&mut mine);
            let keep = mine.split_off(3900);
            drop(mine);
            keep
        });
        let kept = h.join().expect("worker panicked");
        assert_eq!(kept.len(), 100);
        survivors.push(kept);
        if generation % 50 == 49 {
            peak_extra = peak_extra.max(rss_bytes().saturating_sub(start_rss));
        }
    }
    for s in &survivors {
        for b in s {
            b.verify();
        }
    }
    drop(survivors);
    // 300 threads each allocated ~600 KiB (180 MiB in all) and left blocks in its pools when it
    // exited. If exited threads' pools were never reused or freed, RSS would grow by far more
    // than this bound.
    assert!(
        peak_extra < 64 * MIB,
        "RSS grew by {} MiB while threads came and went",
        peak_extra / MIB
    );
}

#[test]
fn allocation_in_thread_local_destructors() {
    let _serial = serial();
    struct AllocOnDrop(mpsc::Sender<Vec<Block>>);
    impl Drop for AllocOnDrop {
        fn drop(&mut self) {
            // Runs during TLS teardown, possibly after the allocator's own thread state is gone.
            let mut v: Vec<Block> = (0..200).map(|k| Block::new(k % 200 + 1, 8, k)).collect();
            let tail = v.split_off(100);
            for b in &v {
                b.verify();
            }
            drop(v);
            let _ = self.0.send(tail);
        }
    }
    thread_local! {
        static ON_DROP: std::cell::RefCell<Option<AllocOnDrop>> = const { std::cell::RefCell::new(None) };
    }
    let (tx, rx) = mpsc::channel();
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            let tx = tx.clone();
            thread::spawn(move || {
                // Thread-local destructors run in reverse order of registration. Even threads
                // register ours before their first allocation (which sets up the allocator's
                // own thread state), so ours runs after the allocator's teardown; odd threads
                // allocate first, so ours runs before it.
                if i % 2 == 0 {
                    ON_DROP.with(|slot| *slot.borrow_mut() = Some(AllocOnDrop(tx)));
                    (0..50)
                        .map(|k| Block::new(96, 8, i * 100 + k))
                        .collect::<Vec<Block>>()
                } else {
                    let early: Vec<Block> =
                        (0..50).map(|k| Block::new(64, 8, i * 100 + k)).collect();
                    ON_DROP.with(|slot| *slot.borrow_mut() = Some(AllocOnDrop(tx)));
                    let late: Vec<Block> =
                        (0..50).map(|k| Block::new(96, 8, i * 100 + k)).collect();
                    drop(early);
                    late
                }
            })
        })
        .collect();
    drop(tx);
    let mut outlived = Vec::new();
    for h in handles {
        outlived.extend(h.join().expect("worker panicked"));
    }
    let from_destructors: Vec<Vec<Block>> = rx.iter().collect();
    assert_eq!(from_destructors.len(), THREADS);
    for v in &from_destructors {
        assert_eq!(v.len(), 100);
        for b in v {
            b.verify();
        }
    }
    assert_eq!(outlived.len(), THREADS * 50);
}

#[test]
fn stats_and_collect_race_with_busy_threads() {
    let _serial = serial();
    // Workers allocate, free their own and each other's blocks, and call `collect()`, while the
    // main thread takes and prints `stats()` snapshots: nothing may crash or corrupt a block.
    let stop = Arc::new(AtomicBool::new(false));
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..6).map(|_| mpsc::channel::<Vec<Block>>()).unzip();
    let workers: Vec<_> = receivers
        .into_iter()
        .enumerate()
        .map(|(i, rx)| {
            let tx = senders[(i + 1) % 6].clone();
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut rng = Rng::new(500 + i as u64);
                let mut rounds = 0usize;
                while !stop.load(Ordering::Relaxed) || rounds < 20 {
                    let mut v: Vec<Block> = (0..400)
                        .map(|k| Block::new(size_for(&mut rng), 8, (i << 20) | (rounds << 9) | k))
                        .collect();
                    let give = v.split_off(200);
                    let _ = tx.send(give);
                    rng.shuffle(&mut v);
                    drop(v);
                    while let Ok(got) = rx.try_recv() {
                        drop(got);
                    }
                    if rounds.is_multiple_of(5) {
                        GLOBAL.collect();
                    }
                    rounds += 1;
                }
                drop(tx);
                for got in rx {
                    drop(got);
                }
                rounds
            })
        })
        .collect();
    drop(senders);
    let mut printed = 0;
    for _ in 0..100 {
        let s = GLOBAL.stats();
        let table = s.to_string();
        assert!(!table.is_empty());
        printed += table.len();
        GLOBAL.collect();
        thread::yield_now();
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        assert!(w.join().expect("worker panicked") >= 20);
    }
    assert!(printed > 0);
    // Quiescent now: the snapshot is consistent.
    let s = GLOBAL.stats();
    assert!(s.arenas <= s.arenas_high_water, "{s}");
    assert!(s.small_bytes_in_use <= s.bytes_mapped, "{s}");
}

/// The first allocation of each thread here happens in a `pthread_key` destructor, after the
/// thread's Rust thread-local destructors have run (glibc runs those first), so a heap
/// retired by a thread-local destructor would never be retired: each such thread would keep
/// its pools. The memory mapped after all of them must not grow with their number.
#[cfg(unix)]
#[test]
fn threads_first_seen_in_a_pthread_key_destructor_are_retired() {
    use std::ffi::c_void;
    use std::sync::OnceLock;

    let _serial = serial();
    static KEY: OnceLock<libc::pthread_key_t> = OnceLock::new();

    extern "C" fn destructor(_: *mut c_void) {
        // This thread's first allocation: 2,000 blocks of 256 B (about 32 pools), freed.
        let blocks: Vec<Box<[u8; 256]>> = (0..2_000).map(|i| Box::new([i as u8; 256])).collect();
        assert!(blocks.iter().enumerate().all(|(i, b)| b[255] == i as u8));
        drop(blocks);
    }

    extern "C" fn start(_: *mut c_void) -> *mut c_void {
        let key = *KEY.get().expect("the key is made before any thread starts");
        // SAFETY: a valid key; a non-null value makes the destructor run at thread exit.
        unsafe { libc::pthread_setspecific(key, std::ptr::dangling::<c_void>()) };
        std::ptr::null_mut()
    }

    KEY.get_or_init(|| {
        let mut key = 0;
        // SAFETY: `key` is written by pthread_key_create; the destructor is a plain function.
        let rc = unsafe { libc::pthread_key_create(&mut key, Some(destructor)) };
        assert_eq!(rc, 0);
        key
    });
    let run = |threads: usize| {
        for _ in 0..threads {
            let mut t: libc::pthread_t = 0;
            // SAFETY: default attributes, a plain start function, joined right after.
            unsafe {
                assert_eq!(
                    libc::pthread_create(&mut t, std::ptr::null(), start, std::ptr::null_mut()),
                    0
                );
                assert_eq!(libc::pthread_join(t, std::ptr::null_mut()), 0);
            }
        }
        GLOBAL.collect();
        GLOBAL.stats().bytes_mapped
    };
    let warm = run(20);
    let after = run(400);
    assert!(
        after <= warm + 16 * MIB,
        "400 threads first seen in a key destructor left {} MiB mapped (from {} MiB)",
        after / MIB,
        warm / MIB
    );
}

/// A worker builds a large result, hands it to the main thread and stays alive but idle (it
/// never allocates again). The main thread frees the result: the worker's pools must come
/// back without the worker's help, all but its cache of empty pools at once, and those too
/// on `collect()` from the main thread.
#[test]
fn an_idle_threads_pools_come_back_when_another_thread_frees_their_blocks() {
    let _serial = serial();
    GLOBAL.collect();
    let before = GLOBAL.stats().bytes_mapped;
    let (result_tx, result_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let worker = thread::spawn(move || {
        let blocks: Vec<Box<[u8; 64]>> = (0..400_000).map(|i| Box::new([i as u8; 64])).collect();
        result_tx.send(blocks).expect("main is alive");
        let _ = done_rx.recv(); // idle until the end
    });
    let blocks = result_rx.recv().expect("the worker's result");
    let built = GLOBAL.stats().bytes_mapped;
    assert!(
        built >= before + 20 * MIB,
        "the result maps {} MiB",
        (built - before) / MIB
    );
    assert!(blocks.iter().enumerate().all(|(i, b)| b[63] == i as u8));
    drop(blocks);
    // No call: the worker's cache of empty pools (1 MiB), its current pools and up to
    // eight free arenas kept against thrashing may stay mapped.
    let freed = GLOBAL.stats().bytes_mapped;
    assert!(
        freed <= before + 12 * MIB,
        "{} MiB still mapped after the idle worker's {} MiB were freed",
        (freed - before) / MIB,
        (built - before) / MIB
    );
    GLOBAL.collect(); // from the main thread, not the worker
    let collected = GLOBAL.stats().bytes_mapped;
    assert!(
        collected <= before + 2 * MIB,
        "{} MiB still mapped after collect()",
        (collected - before) / MIB
    );
    done_tx.send(()).expect("the worker waits");
    worker.join().expect("the worker");
}
