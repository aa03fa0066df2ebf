//! `fork` from a multi-threaded process whose other threads are busy in the allocator (local and
//! remote frees, `collect`): the child must be able to allocate, free blocks inherited from the
//! parent, and start threads of its own. A child that deadlocks is killed after a generous
//! deadline and reported as a failure. Unix only: Windows has no `fork`.

#![cfg(unix)]

mod common;

use common::{Block, Rng};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: pool_alloc::PoolAlloc = pool_alloc::PoolAlloc::new();

/// Work done in the child: returns normally when every check passed.
fn child_work(inherited: Vec<Block>) {
    for b in &inherited {
        b.verify();
    }
    drop(inherited);
    let mut rng = Rng::new(42);
    let mut live: Vec<Block> = (0..5000)
        .map(|k| Block::new(rng.range(1, 2000), 1 << rng.range(0, 6), k))
        .collect();
    let big = Block::new(300_000, 64, 7);
    rng.shuffle(&mut live);
    live.truncate(1000);
    let handles: Vec<_> = (0..2)
        .map(|t| {
            thread::spawn(move || {
                let v: Vec<Block> = (0..2000)
                    .map(|k| Block::new(k % 700 + 1, 8, t * 10_000 + k))
                    .collect();
                v.len()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().expect("child thread panicked"), 2000);
    }
    let s = format!("{}", GLOBAL.stats());
    assert!(!s.is_empty());
    GLOBAL.collect();
    for b in &live {
        b.verify();
    }
    drop(live);
    drop(big);
}

/// Forks; the child runs `child_work` and exits with 0 on success, 1 on a failed check.
/// Returns the child's wait status, or `None` if it had to be killed after the deadline.
fn fork_and_wait(inherited: Vec<Block>) -> Option<libc::c_int> {
    // SAFETY: fork has no memory-safety preconditions; the child only allocates (which is what
    // this test checks) and leaves through `_exit`, never returning into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| child_work(inherited)))
            .is_ok();
        // SAFETY: `_exit` ends the child without running the parent's atexit handlers.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let status = wait_with_deadline(pid);
    // The parent's own copy of the blocks is untouched by the child.
    drop(inherited);
    status
}

fn wait_with_deadline(pid: libc::pid_t) -> Option<libc::c_int> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid out-pointer; `pid` is our child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert!(r >= 0, "waitpid failed");
        if r == pid {
            return Some(status);
        }
        if Instant::now() > deadline {
            // SAFETY: `pid` is our own, still unreaped child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return None;
        }
        thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn fork_while_other_threads_allocate() {
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::sync_channel::<Vec<Block>>(4);
    let rx = Arc::new(std::sync::Mutex::new(rx));
    let mut workers = Vec::new();
    for t in 0..8usize {
        let stop = Arc::clone(&stop);
        let tx = tx.clone();
        let rx = Arc::clone(&rx);
        workers.push(thread::spawn(move || {
            let mut rng = Rng::new(t as u64);
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let v: Vec<Block> = (0..200)
                    .map(|k| Block::new(rng.range(1, 3000), 8, n + k))
                    .collect();
                n += 200;
                if t % 2 == 0 {
                    // Producers: hand blocks to consumers (remote frees).
                    if tx.try_send(v).is_err() {
                        GLOBAL.collect();
                    }
                } else {
                    // Consumers: free others' blocks, and their own.
                    let got = rx.lock().expect("lock").try_recv();
                    drop(got);
                    drop(v);
                }
            }
            n
        }));
    }
    drop(tx);
    let mut failures = Vec::new();
    for i in 0..12 {
        let inherited: Vec<Block> = (0..100)
            .map(|k| Block::new(k * 13 + 1, 16, i * 1000 + k))
            .collect();
        match fork_and_wait(inherited) {
            Some(status) if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 => {}
            Some(status) => {
                failures.push(format!("fork #{i}: child exited with status {status:#x}"))
            }
            None => failures.push(format!("fork #{i}: child deadlocked (killed after 10 s)")),
        }
        if !failures.is_empty() {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        assert!(w.join().expect("worker panicked") > 0);
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
