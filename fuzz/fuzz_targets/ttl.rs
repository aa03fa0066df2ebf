//! The timed caches without a bound, against a `HashMap` of deadlines, on a manual clock:
//! `TtlCache` (ttl, per-entry ttl) and a `Cache` built with a time to live and a time to idle.
//! Every lookup must return the value exactly while it is alive; `purge_expired` must remove
//! exactly the expired entries; the deadline heap (and the stores) must stay consistent
//! through inserts, re-sets, removals and time moving in small and large steps.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use lru_ttl::{Cache, ManualClock, TtlCache};
use std::collections::HashMap;
use std::time::Duration;

#[derive(Arbitrary, Debug)]
enum Op {
    Insert(u8, u16),
    InsertWithTtl(u8, u16, u8),
    Get(u8),
    Peek(u8),
    Remove(u8),
    Purge,
    Advance(u8),
}

#[derive(Arbitrary, Debug)]
struct Input {
    ttl: u8,
    tti: u8,
    ops: Vec<Op>,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    value: u16,
    deadline: u64,
    accessed: u64,
}

fuzz_target!(|input: Input| {
    let ttl = u64::from(input.ttl % 20) + 1;
    let tti = u64::from(input.tti % 20) + 1;
    let clock = ManualClock::new();
    let mut plain: TtlCache<u8, u16, ManualClock> =
        TtlCache::with_clock(None, Duration::from_nanos(ttl), clock.clone());
    let idle: Cache<u8, u16> = Cache::builder()
        .time_to_live(Duration::from_nanos(ttl))
        .time_to_idle(Duration::from_nanos(tti))
        .clock(clock.clone())
        .shards(1)
        .build();
    // What each cache should hold (the idle one also tracks the last access).
    let mut a: HashMap<u8, Entry> = HashMap::new();
    let mut b: HashMap<u8, Entry> = HashMap::new();
    let mut now = 0u64;
    let alive_a = |e: &Entry, now: u64| now < e.deadline;
    let alive_b = |e: &Entry, now: u64| now < e.deadline && now < e.accessed + tti;
    for op in input.ops.into_iter().take(400) {
        match op {
            Op::Insert(k, v) => {
                plain.insert(k, v);
                idle.insert(k, v);
                let e = Entry { value: v, deadline: now + ttl, accessed: now };
                a.insert(k, e);
                b.insert(k, e);
            }
            Op::InsertWithTtl(k, v, t) => {
                let t = u64::from(t % 30);
                plain.insert_with_ttl(k, v, Duration::from_nanos(t));
                idle.insert_with_ttl(k, v, Duration::from_nanos(t));
                let e = Entry { value: v, deadline: now + t, accessed: now };
                if t == 0 {
                    // A ttl of zero stores nothing, and an old entry goes.
                    a.remove(&k);
                    b.remove(&k);
                } else {
                    a.insert(k, e);
                    b.insert(k, e);
                }
            }
            Op::Get(k) => {
                let want_a = a.get(&k).filter(|e| alive_a(e, now)).map(|e| e.value);
                assert_eq!(plain.get(&k).copied(), want_a, "TtlCache get {k} at {now}");
                let want_b = b.get(&k).filter(|e| alive_b(e, now)).map(|e| e.value);
                assert_eq!(idle.get(&k), want_b, "Cache get {k} at {now}");
                if want_b.is_some() {
                    b.get_mut(&k).unwrap().accessed = now;
                }
            }
            Op::Peek(k) => {
                let want_a = a.get(&k).filter(|e| alive_a(e, now)).map(|e| e.value);
                assert_eq!(plain.peek(&k).copied(), want_a);
                let want_b = b.get(&k).filter(|e| alive_b(e, now)).map(|e| e.value);
                assert_eq!(idle.peek(&k), want_b);
            }
            Op::Remove(k) => {
                let want_a = a.remove(&k).filter(|e| alive_a(e, now)).map(|e| e.value);
                assert_eq!(plain.remove(&k), want_a);
                let want_b = b.remove(&k).filter(|e| alive_b(e, now)).map(|e| e.value);
                assert_eq!(idle.remove(&k), want_b);
            }
            Op::Purge => {
                let expired_a = a.values().filter(|e| !alive_a(e, now)).count();
                let expired_b = b.values().filter(|e| !alive_b(e, now)).count();
                // Entries already met expired and removed on the way are not in the caches any
                // more; the models keep them until here, so compare what is left.
                plain.purge_expired();
                idle.purge_expired();
                a.retain(|_, e| alive_a(e, now));
                b.retain(|_, e| alive_b(e, now));
                let _ = (expired_a, expired_b);
                assert_eq!(plain.len(), a.len(), "TtlCache len after purge");
                assert_eq!(idle.len(), b.len(), "Cache len after purge");
            }
            Op::Advance(d) => {
                let d = u64::from(d % 8);
                now += d;
                clock.advance(Duration::from_nanos(d));
            }
        }
        // Every live entry is there, in both.
        for (k, e) in &a {
            if alive_a(e, now) {
                assert_eq!(plain.peek(k), Some(&e.value), "TtlCache lost live {k}");
            }
        }
        for (k, e) in &b {
            if alive_b(e, now) {
                assert_eq!(idle.peek(k), Some(e.value), "Cache lost live {k}");
            }
        }
    }
});
