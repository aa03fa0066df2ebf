//! `Traced<PoolAlloc>` as the global allocator: the counters follow what the program holds
//! (current, peak, blocks, per size bucket), threads' counts survive their exit, and a leak
//! in a loop shows at the top of `compare_to`, by size and (feature `call-sites`) by line.

use pool_alloc::PoolAlloc;
use pool_alloc::trace::{self, Group, Key, Traced};
use std::sync::Mutex;

#[global_allocator]
static GLOBAL: Traced<PoolAlloc> = Traced::new(PoolAlloc::new());

/// The counters are process-wide: one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn counters_follow_what_is_held() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = trace::snapshot();
    let blocks: Vec<Box<[u8; 100]>> = (0..10_000).map(|i| Box::new([i as u8; 100])).collect();
    let during = trace::snapshot();
    let grown = during.bytes as i64 - before.bytes as i64;
    // 10,000 blocks of 100 bytes and the Vec's 80,000 bytes (others may allocate a little).
    assert!((1_070_000..1_200_000).contains(&grown), "grew by {grown}");
    // The harness's other threads allocate and exit meanwhile: a few blocks either way.
    assert!(during.blocks >= before.blocks + 9_900);
    assert!(during.peak >= during.bytes);
    let top = &during.compare_to(&before, Key::Size)[0];
    assert_eq!(top.group, Group::Sizes(65, 128), "{top}");
    // The test harness's other threads may allocate a block or two meanwhile.
    assert!((9_990..10_010).contains(&top.count_diff), "{top}");
    assert!((998_700..1_001_300).contains(&top.size_diff), "{top}");
    assert!(
        top.to_string()
            .contains(&format!("count={} ({:+})", top.count, top.count_diff)),
        "{top}"
    );
    drop(blocks);
    let after = trace::snapshot();
    assert_back_near(&before, &after);
    assert!(after.peak >= during.bytes - 256 * 1024, "the peak is kept");
    assert!(after.frees >= during.frees + 10_000);
    trace::reset_peak();
    let (current, peak) = trace::get_traced_memory();
    assert!(
        peak >= current && peak < during.bytes,
        "reset_peak: {current} {peak}"
    );
}

#[test]
fn threads_counts_survive_their_exit() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = trace::snapshot();
    let kept: Vec<Vec<u64>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|_| s.spawn(|| (0..1000).map(|i| vec![i as u64; 16]).collect::<Vec<_>>()))
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let after = trace::snapshot();
    // 8,000 vectors of 128 bytes made on threads that have exited, held here.
    let grown = after.bytes as i64 - before.bytes as i64;
    assert!(grown >= 8_000 * 128, "grew by {grown}");
    drop(kept);
    assert_back_near(&before, &trace::snapshot());
}

/// Once what a test held is dropped, the bytes held are back to where they were, give or
/// take 64 KiB that the harness's other threads may hold meanwhile.
fn assert_back_near(before: &trace::Snapshot, after: &trace::Snapshot) {
    assert!(
        after.bytes <= before.bytes + 64 * 1024,
        "{} then {}",
        before.bytes,
        after.bytes
    );
}

#[test]
fn a_leak_in_a_loop_tops_compare_to() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut leaked: Vec<String> = Vec::new();
    let first = trace::snapshot();
    for i in 0..2000 {
        let scratch = format!("request {i}").repeat(3); // freed each round
        leaked.push("x".repeat(700)); // kept: the leak
        drop(scratch);
    }
    let second = trace::snapshot();
    let top = &second.compare_to(&first, Key::Size)[0];
    assert_eq!(top.group, Group::Sizes(513, 1024), "{top}");
    assert!((1990..2010).contains(&top.count_diff), "{top}");
    drop(leaked);
}

#[test]
fn size_statistics_add_up_to_the_totals() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let kept: Vec<Vec<u8>> = (0..100).map(|i| vec![0u8; 3000 + i]).collect();
    let snap = trace::snapshot();
    let stats = snap.statistics(Key::Size);
    let (bytes, blocks) = stats
        .iter()
        .fold((0, 0), |(b, n), s| (b + s.size, n + s.count));
    assert_eq!((bytes, blocks), (snap.bytes, snap.blocks));
    assert!(
        stats.windows(2).all(|w| w[0].size >= w[1].size),
        "largest first"
    );
    let top = stats
        .iter()
        .find(|s| s.group == Group::Sizes(2049, 4096))
        .expect("the 3000-byte vectors");
    assert!(top.count >= 100, "{top}");
    assert!(
        top.to_string().starts_with("sizes 2049-4096 B: size="),
        "{top}"
    );
    drop(kept);
}

#[test]
fn the_peak_is_kept_without_reading_it() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    trace::reset_peak();
    let base = trace::get_traced_memory().0;
    // 4 MB held for a moment, never read while held: the threads' own looks keep the peak.
    let held: Vec<Box<[u8; 100]>> = (0..40_000).map(|i| Box::new([i as u8; 100])).collect();
    assert_eq!(held.len(), 40_000);
    drop(held);
    let (current, peak) = trace::get_traced_memory();
    assert!(current < base + 64 * 1024, "{base} then {current}");
    assert!(
        peak + trace::PEAK_STEP as usize >= base + 4_000_000,
        "peak {peak}, base {base}"
    );
}
