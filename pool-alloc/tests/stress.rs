//! A bounded stress test of the global allocator, run by `scripts/stress` (about a minute in
//! release; `POOL_ALLOC_STRESS_SECS` sets the time): 16 threads on however many cores, each
//! replacing random blocks of 1-3000 bytes (pattern-checked on every free) and handing some to
//! a neighbour to free; threads retiring and starting anew (thread churn); one thread calling
//! `collect()` and `stats()` all the while; and, on Unix, a fork now and then whose child
//! allocates and frees and exits. Every block's pattern is checked when it is freed, on
//! whichever thread frees it.

#![cfg(not(loom))]

mod common;

use common::{Block, Rng, serial};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: pool_alloc::PoolAlloc = pool_alloc::PoolAlloc::new();

const THREADS: usize = 16;

fn secs() -> u64 {
    std::env::var("POOL_ALLOC_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
}

#[test]
#[ignore = "a minute long: run by scripts/stress (POOL_ALLOC_STRESS_SECS sets the time)"]
fn sixteen_threads_churn_hand_off_collect_and_fork() {
    let _serial = serial();
    let deadline = Instant::now() + Duration::from_secs(secs());
    let mailboxes: Arc<Vec<Mutex<Vec<Block>>>> =
        Arc::new((0..THREADS).map(|_| Mutex::new(Vec::new())).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut forks = 0;
            while !stop.load(Ordering::Relaxed) {
                GLOBAL.collect();
                let s = GLOBAL.stats();
                assert!(s.small_bytes_in_use <= s.bytes_mapped, "{s}");
                #[cfg(unix)]
                if forks < 20 {
                    forks += 1;
                    fork_and_check();
                }
                thread::sleep(Duration::from_millis(50));
            }
            forks
        })
    };
    let mut generation = 0u64;
    while Instant::now() < deadline {
        // A generation of threads that live a few seconds at most (thread churn).
        let until = (Instant::now() + Duration::from_secs(3)).min(deadline);
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (mailboxes, rounds) = (mailboxes.clone(), rounds.clone());
                let seed = generation * THREADS as u64 + t as u64 + 1;
                thread::spawn(move || {
                    let mut rng = Rng::new(seed);
                    let mut mine: Vec<Block> = Vec::new();
                    while Instant::now() < until {
                        for _ in 0..200 {
                            let size = rng.range(1, 3000);
                            let align = 1 << rng.range(0, 6);
                            let b = Block::new(size, align, rng.range(0, 1 << 20));
                            if mine.len() < 500 {
                                mine.push(b);
                            } else {
                                let i = rng.range(0, mine.len() - 1);
                                mine[i] = b; // the old one is checked and freed here
                            }
                        }
                        // Hand some blocks on; free what others handed us (cross-thread frees).
                        let give: Vec<Block> = mine.drain(..mine.len().min(50)).collect();
                        mailboxes[(t + 1) % THREADS].lock().unwrap().extend(give);
                        let got = std::mem::take(&mut *mailboxes[t].lock().unwrap());
                        for b in &got {
                            b.verify();
                        }
                        drop(got);
                        rounds.fetch_add(1, Ordering::Relaxed);
                    }
                    drop(mine);
                })
            })
            .collect();
        for w in workers {
            w.join().expect("a worker failed");
        }
        generation += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let forks = watcher.join().expect("the watcher failed");
    for m in mailboxes.iter() {
        drop(std::mem::take(&mut *m.lock().unwrap()));
    }
    GLOBAL.collect();
    let s = GLOBAL.stats();
    eprintln!(
        "stress: {} generations of {THREADS} threads, {} rounds, {forks} forks; {s}",
        generation,
        rounds.load(Ordering::Relaxed)
    );
    assert!(rounds.load(Ordering::Relaxed) > 0);
}

/// Forks; the child allocates, frees and exits 0; the parent waits for it.
#[cfg(unix)]
fn fork_and_check() {
    // SAFETY: the child only allocates, frees and exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let v: Vec<Block> = (0..1000).map(|i| Block::new(1 + i % 700, 8, i)).collect();
        drop(v);
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(0) };
    }
    assert!(pid > 0, "fork failed");
    let mut status = 0;
    // SAFETY: waits for our own child.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child failed"
    );
}
