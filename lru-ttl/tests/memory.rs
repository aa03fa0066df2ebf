//! Heap bytes per entry, measured by a counting global allocator, and the promise that a
//! warm cache allocates nothing per operation. Only the test's own thread is counted: the
//! harness (or a sanitizer's runtime) may allocate on other threads meanwhile.

use lru_ttl::{LruCache, SyncLruCache, TtlCache};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

struct Counting;

thread_local! {
    /// Whether this thread's allocations are counted (no destructor: readable in any state).
    static MEASURED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn measured() -> bool {
    MEASURED.try_with(std::cell::Cell::get).unwrap_or(false)
}

static LIVE: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to `System` with the same arguments; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if measured() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if measured() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: `ptr` was allocated by `System` with `layout` (see `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if measured() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract, passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const CAP: usize = 10_000;

/// Bytes the allocator holds for `make`'s result, per entry, after filling it with
/// `10 * CAP` distinct keys.
fn bytes_per_entry<C>(make: impl FnOnce() -> C, fill: impl Fn(&mut C, u64)) -> (f64, C) {
    let before = LIVE.load(Ordering::Relaxed);
    let mut cache = make();
    for k in 0..(10 * CAP as u64) {
        fill(&mut cache, k);
    }
    let after = LIVE.load(Ordering::Relaxed);
    ((after - before) as f64 / CAP as f64, cache)
}

#[test]
fn bytes_per_entry_and_no_allocation_when_warm() {
    MEASURED.with(|m| m.set(true));
    let (lru, mut cache) = bytes_per_entry(
        || LruCache::<u64, u64>::new(CAP),
        |c, k| {
            c.insert(k, k);
        },
    );
    assert_eq!(cache.len(), CAP);
    assert_eq!(
        lru,
        cache.heap_size() as f64 / CAP as f64,
        "heap_size agrees"
    );
    println!("LruCache<u64, u64>, capacity {CAP}: {lru:.1} bytes per entry");
    assert!(lru <= 48.0, "{lru} bytes per entry, target 48");

    // Warm: gets, hits, misses with eviction, replacement: no allocation at all.
    let allocs = ALLOCS.load(Ordering::Relaxed);
    for k in 0..50_000u64 {
        cache.get(&(k * 7 % 200_000));
        cache.insert(k * 13 % 300_000, k);
    }
    assert_eq!(
        ALLOCS.load(Ordering::Relaxed),
        allocs,
        "allocated when warm"
    );

    let (ttl, ttl_cache) = bytes_per_entry(
        || TtlCache::<u64, u64>::new(CAP, Duration::from_secs(3600)),
        |c, k| {
            c.insert(k, k);
        },
    );
    assert_eq!(ttl_cache.len(), CAP);
    println!("TtlCache<u64, u64>, capacity {CAP}: {ttl:.1} bytes per entry");
    assert!(ttl <= 64.0, "{ttl} bytes per entry");

    let (sync, sync_cache) = bytes_per_entry(
        || SyncLruCache::<u64, u64>::with_shards(CAP, 8),
        |c, k| {
            c.insert(k, k);
        },
    );
    assert_eq!(sync_cache.len(), CAP);
    println!("SyncLruCache<u64, u64>, capacity {CAP}, 8 shards: {sync:.1} bytes per entry");
    assert!(sync <= 56.0, "{sync} bytes per entry");
}
