//! The FIFO, LFU and random-replacement policies against cachetools 8 itself, step by step:
//! thousands of seeded operation sequences (get, set, pop; capacities in entries and in
//! weight) are replayed on a one-shard `Cache` and, through `tests/cachetools/replay.py`, on
//! cachetools' `FIFOCache`, `LFUCache` and `RRCache` (with the same deterministic `choice`);
//! after every operation the keys held, and what each get and pop returned, must be equal.
//!
//! It needs `python3` with cachetools 8 (`pip install cachetools`). Without them it says so on
//! the test output and passes: this test has its own `main` (`harness = false`), so what it
//! prints is never captured.

use lru_ttl::{Cache, EvictionPolicy};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

mod common;

use common::Rng;

/// Sequences per policy and weighting.
const SEQUENCES: u64 = 400;
/// Operations per sequence.
const OPS: usize = 150;

/// One operation: get, set (key, value) or pop.
#[derive(Clone, Copy, Debug)]
enum Op {
    Get(u32),
    Set(u32, u32),
    Pop(u32),
}

struct Sequence {
    seed: u64,
    maxsize: u64,
    weighted: bool,
    ops: Vec<Op>,
}

fn sequence(seed: u64, weighted: bool) -> Sequence {
    let mut rng = Rng(seed);
    // Weighted values weigh 1 to 5 and the bound is at least 5, so every value fits alone
    // (cachetools raises for one that does not, and keeps the old value; lru-ttl does not).
    let maxsize = if weighted {
        5 + rng.below(16)
    } else {
        1 + rng.below(12)
    };
    let keys = 2 + rng.below(24) as u32;
    let ops = (0..OPS)
        .map(|_| {
            let k = rng.below(u64::from(keys)) as u32;
            match rng.below(10) {
                0..=4 => Op::Get(k),
                5..=8 => Op::Set(k, 1 + rng.below(5) as u32),
                _ => Op::Pop(k),
            }
        })
        .collect();
    Sequence {
        seed,
        maxsize,
        weighted,
        ops,
    }
}

fn name(policy: EvictionPolicy) -> &'static str {
    match policy {
        EvictionPolicy::Fifo => "fifo",
        EvictionPolicy::Lfu => "lfu",
        EvictionPolicy::Random => "rr",
        _ => unreachable!(),
    }
}

/// What lru-ttl prints for each operation, in the format of `replay.py`.
fn ours(policy: EvictionPolicy, s: &Sequence) -> Vec<String> {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut b = Cache::<u32, u32>::builder()
        .max_capacity(s.maxsize)
        .eviction_policy(policy)
        .shards(1)
        .random_choice(move |n| (7 * calls.fetch_add(1, Ordering::Relaxed) + 3) % n);
    if s.weighted {
        b = b.weigher(|_, v| *v);
    }
    let cache = b.build();
    let value = |v: Option<u32>| format!("v={} ", v.map_or("-".to_owned(), |v| v.to_string()));
    s.ops
        .iter()
        .map(|op| {
            let prefix = match *op {
                Op::Get(k) => value(cache.get(&k)),
                Op::Set(k, v) => {
                    cache.insert(k, v);
                    String::new()
                }
                Op::Pop(k) => value(cache.remove(&k)),
            };
            let mut keys: Vec<u32> = cache.iter().map(|(k, _)| k).collect();
            keys.sort_unstable();
            let keys: Vec<String> = keys.iter().map(u32::to_string).collect();
            format!("{prefix}keys={}", keys.join(","))
        })
        .collect()
}

/// What cachetools prints for every sequence, or why it could not be asked.
fn theirs(policy: EvictionPolicy, seqs: &[Sequence]) -> Result<Vec<String>, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cachetools/replay.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("python3 did not start: {e}"))?;
    let mut input = String::new();
    for s in seqs {
        input += &format!(
            "new {} {} {}\n",
            name(policy),
            s.maxsize,
            u8::from(s.weighted)
        );
        for op in &s.ops {
            input += &match *op {
                Op::Get(k) => format!("g {k}\n"),
                Op::Set(k, v) => format!("s {k} {v}\n"),
                Op::Pop(k) => format!("d {k}\n"),
            };
        }
    }
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child
        .wait_with_output()
        .map_err(|e| format!("python3 failed: {e}"))?;
    writer
        .join()
        .expect("writer thread")
        .map_err(|e| format!("writing to python3: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "replay.py failed ({}): {}",
            out.status,
            err.lines().last().unwrap_or("")
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

fn cachetools_version() -> Option<String> {
    let out = Command::new("python3")
        .args(["-c", "import cachetools; print(cachetools.__version__)"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn main() {
    let Some(version) = cachetools_version() else {
        println!(
            "cachetools: SKIPPED: python3 with cachetools is not installed here \
             (`pip install cachetools`), so the policies were not compared with it"
        );
        return;
    };
    if !version.starts_with("8.") {
        println!("cachetools: note: comparing with cachetools {version}; written for 8.x");
    }
    let mut compared = 0;
    for policy in [
        EvictionPolicy::Fifo,
        EvictionPolicy::Lfu,
        EvictionPolicy::Random,
    ] {
        let seqs: Vec<Sequence> = (0..SEQUENCES)
            .flat_map(|i| [sequence(i, false), sequence(1_000_000 + i, true)])
            .collect();
        let theirs = match theirs(policy, &seqs) {
            Ok(t) => t,
            Err(e) => panic!("cachetools ({}): {e}", name(policy)),
        };
        assert_eq!(theirs.len(), seqs.len() * OPS, "replay.py's output length");
        for (s, expected) in seqs.iter().zip(theirs.chunks(OPS)) {
            let got = ours(policy, s);
            for (step, (g, e)) in got.iter().zip(expected).enumerate() {
                assert_eq!(
                    g,
                    e,
                    "{} (seed {}, maxsize {}, weighted {}) differs from cachetools at step {step} \
                     ({:?}); the operations so far: {:?}",
                    name(policy),
                    s.seed,
                    s.maxsize,
                    s.weighted,
                    s.ops[step],
                    &s.ops[..=step]
                );
            }
            compared += 1;
        }
    }
    println!(
        "cachetools: {compared} sequences of {OPS} operations matched cachetools {version} \
         step by step (FIFOCache, LFUCache, RRCache)"
    );
}
