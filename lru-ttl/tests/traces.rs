//! Replays every trace in `../shared/traces/` through an exact LRU ("get, insert on a
//! miss") at capacities 100, 1,000 and 10,000 and checks the hits and misses against the
//! reference counts of `shared/traces/README.md` (Python 3.11's `functools.lru_cache`),
//! copied below. When the folder is absent (a clone without it) it says so on the test output:
//! this test has its own `main` (`harness = false`), so what it prints is never captured.

use lru_ttl::{LruCache, ManualClock, SyncLruCache, TtlCache};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// `(file, requests, distinct keys, [(capacity, hits, misses); 3])`, from the tables of
/// `shared/traces/README.md` ("Reference: strict LRU").
/// `(capacity, hits, misses)`.
type Row = (usize, u64, u64);

const EXPECTED: [(&str, usize, usize, [Row; 3]); 4] = [
    (
        "loop.trace.gz",
        505_500,
        1_011,
        [
            (100, 0, 505_500),
            (1_000, 0, 505_500),
            (10_000, 504_489, 1_011),
        ],
    ),
    (
        "multi1.trace.gz",
        15_858,
        2_606,
        [
            (100, 2_881, 12_977),
            (1_000, 7_648, 8_210),
            (10_000, 13_252, 2_606),
        ],
    ),
    (
        "sprite.trace.gz",
        133_996,
        7_075,
        [
            (100, 28_917, 105_079),
            (1_000, 121_452, 12_544),
            (10_000, 126_921, 7_075),
        ],
    ),
    (
        "web07.trace.xz",
        76_118,
        20_484,
        [
            (100, 25_427, 50_691),
            (1_000, 38_368, 37_750),
            (10_000, 52_519, 23_599),
        ],
    ),
];

fn traces_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces")
}

/// The decompressed bytes of `path`, by `gzip -dc` or `xz -dc`.
fn decompress(path: &Path) -> Vec<u8> {
    let tool = match path.extension().and_then(|e| e.to_str()) {
        Some("gz") => "gzip",
        Some("xz") => "xz",
        other => panic!("unknown trace compression {other:?}"),
    };
    let mut child = Command::new(tool)
        .arg("-dc")
        .arg(path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_end(&mut out)
        .expect("read decompressed trace");
    let status = child.wait().expect("wait for decompressor");
    assert!(
        status.success(),
        "{tool} -dc {} failed: {status}",
        path.display()
    );
    out
}

/// The keys of a trace: decimal text lines (blank and `*` lines skipped), or big-endian
/// `u32`s for the binary `web07` trace.
fn read_trace(path: &Path) -> Vec<u64> {
    let bytes = decompress(path);
    let name = path.file_name().unwrap().to_string_lossy();
    if name.starts_with("web07") {
        assert_eq!(bytes.len() % 4, 0, "binary trace length");
        return bytes
            .chunks_exact(4)
            .map(|c| u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect();
    }
    let text = String::from_utf8(bytes).expect("text trace is UTF-8");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "*")
        .map(|l| l.parse().unwrap_or_else(|e| panic!("bad key {l:?}: {e}")))
        .collect()
}

fn replay_lru(keys: &[u64], cap: usize) -> (u64, u64) {
    let mut cache = LruCache::new(cap);
    let (mut hits, mut misses) = (0, 0);
    for &k in keys {
        if cache.get(&k).is_some() {
            hits += 1;
        } else {
            misses += 1;
            cache.insert(k, ());
        }
    }
    let info = cache.cache_info();
    assert_eq!(
        (info.hits, info.misses),
        (hits, misses),
        "cache_info agrees"
    );
    assert!(cache.len() <= cap);
    (hits, misses)
}

fn replay_sync_one_shard(keys: &[u64], cap: usize) -> (u64, u64) {
    let cache = SyncLruCache::with_shards(cap, 1);
    for &k in keys {
        cache.get_or_insert_with(&k, || ());
    }
    let info = cache.cache_info();
    (info.hits, info.misses)
}

fn replay_ttl_never_expiring(keys: &[u64], cap: usize) -> (u64, u64) {
    let clock = ManualClock::new();
    let mut cache = TtlCache::with_clock(Some(cap), Duration::from_secs(3600), clock.clone());
    for &k in keys {
        clock.advance(Duration::from_nanos(1));
        cache.get_or_insert_with(&k, || ());
    }
    let info = cache.cache_info();
    (info.hits, info.misses)
}

fn main() {
    let dir = traces_dir();
    if !dir.is_dir() {
        println!(
            "traces: SKIPPED, ../shared/traces not found (looked in {}): the replays against \
             Python's reference counts did not run",
            dir.display()
        );
        return;
    }
    for (file, requests, distinct, rows) in EXPECTED {
        let keys = read_trace(&dir.join(file));
        assert_eq!(keys.len(), requests, "{file}: request count");
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), distinct, "{file}: distinct keys");
        for (cap, hits, misses) in rows {
            assert_eq!(
                replay_lru(&keys, cap),
                (hits, misses),
                "{file}, LruCache, C={cap}"
            );
            if requests > 200_000 {
                continue; // the other caches on the three smaller traces only (test time)
            }
            assert_eq!(
                replay_sync_one_shard(&keys, cap),
                (hits, misses),
                "{file}, SyncLruCache with one shard, C={cap}"
            );
            assert_eq!(
                replay_ttl_never_expiring(&keys, cap),
                (hits, misses),
                "{file}, TtlCache (nothing expires), C={cap}"
            );
        }
        println!("traces: {file}: all capacities match the README");
    }
}
