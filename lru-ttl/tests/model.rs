//! Property tests without a property-testing crate: thousands of seeded random operation
//! sequences, each checked after every operation against a simple model: a `Vec` in
//! recency order for the LRU, a list of (key, value, deadline, set order) for the TTL
//! cache driven by a `ManualClock`.

use lru_ttl::{LruCache, ManualClock, SyncLruCache, TtlCache};
use std::time::Duration;

mod common;

use common::Rng;

/// The LRU model: most recent first.
struct LruModel {
    cap: Option<usize>,
    items: Vec<(u8, u32)>,
    hits: u64,
    misses: u64,
}

impl LruModel {
    fn pos(&self, k: u8) -> Option<usize> {
        self.items.iter().position(|e| e.0 == k)
    }
    fn get(&mut self, k: u8) -> Option<u32> {
        match self.pos(k) {
            Some(p) => {
                let e = self.items.remove(p);
                self.items.insert(0, e);
                self.hits += 1;
                Some(e.1)
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }
    fn insert(&mut self, k: u8, v: u32) -> Option<(u8, u32)> {
        if let Some(p) = self.pos(k) {
            let old = self.items.remove(p);
            self.items.insert(0, (k, v));
            return Some((k, old.1));
        }
        if self.cap == Some(0) {
            return Some((k, v));
        }
        let evicted = if Some(self.items.len()) == self.cap {
            self.items.pop()
        } else {
            None
        };
        self.items.insert(0, (k, v));
        evicted
    }
    fn trim(&mut self) {
        if let Some(c) = self.cap {
            self.items.truncate(c);
        }
    }
}

fn check_lru(cache: &LruCache<u8, u32>, model: &LruModel, seed: u64, step: usize) {
    let got: Vec<(u8, u32)> = cache.iter().map(|(k, v)| (*k, *v)).collect();
    assert_eq!(
        got, model.items,
        "seed {seed} step {step}: contents and order"
    );
    let back: Vec<(u8, u32)> = cache.iter().rev().map(|(k, v)| (*k, *v)).collect();
    assert!(
        back.iter().eq(model.items.iter().rev()),
        "seed {seed} step {step}: reverse"
    );
    assert_eq!(cache.len(), model.items.len());
    let info = cache.cache_info();
    assert_eq!(
        (info.hits, info.misses),
        (model.hits, model.misses),
        "seed {seed} step {step}"
    );
    assert_eq!(info.maxsize, model.cap);
}

#[test]
fn lru_cache_matches_vec_model() {
    for seed in 0..3000u64 {
        let mut rng = Rng(seed);
        let cap = match rng.below(10) {
            9 => None,
            c => Some(c as usize),
        };
        let mut cache = match cap {
            Some(c) => LruCache::new(c),
            None => LruCache::unbounded(),
        };
        let mut model = LruModel {
            cap,
            items: Vec::new(),
            hits: 0,
            misses: 0,
        };
        let keys = 2 + rng.below(14);
        for step in 0..150 {
            let k = rng.below(keys) as u8;
            let v = rng.next() as u32;
            match rng.below(100) {
                0..30 => assert_eq!(cache.get(&k).copied(), model.get(k), "seed {seed} get"),
                30..55 => assert_eq!(cache.insert(k, v), model.insert(k, v), "seed {seed} insert"),
                55..62 => {
                    let expect = model.pos(k).map(|p| model.items.remove(p).1);
                    assert_eq!(cache.remove(&k), expect, "seed {seed} remove");
                }
                62..70 => {
                    let expect = model.pos(k).map(|p| model.items[p].1);
                    assert_eq!(cache.peek(&k).copied(), expect);
                    assert_eq!(cache.contains_key(&k), expect.is_some());
                }
                70..85 => {
                    let expect = match model.get(k) {
                        Some(old) => old,
                        None => {
                            model.insert(k, v);
                            v
                        }
                    };
                    assert_eq!(*cache.get_or_insert_with(&k, || v), expect, "seed {seed}");
                }
                85..88 => {
                    let expect = model.items.pop();
                    assert_eq!(cache.pop_lru(), expect);
                }
                88..91 => {
                    let new = match rng.below(10) {
                        9 => None,
                        c => Some(c as usize),
                    };
                    model.cap = new;
                    model.trim();
                    cache.resize(new);
                }
                91..93 => {
                    cache.clear();
                    model.items.clear();
                    model.hits = 0;
                    model.misses = 0;
                }
                _ => {
                    let expect = model.items.last().map(|e| (e.0, e.1));
                    assert_eq!(cache.peek_lru().map(|(k, v)| (*k, *v)), expect);
                }
            }
            check_lru(&cache, &model, seed, step);
        }
    }
}

#[test]
fn sync_lru_with_one_shard_matches_vec_model() {
    for seed in 0..1000u64 {
        let mut rng = Rng(seed ^ 0xABCD);
        let cap = rng.below(8) as usize;
        let cache = SyncLruCache::with_shards(cap.max(1), 1);
        let mut model = LruModel {
            cap: Some(cap.max(1)),
            items: Vec::new(),
            hits: 0,
            misses: 0,
        };
        for _ in 0..100 {
            let k = rng.below(12) as u8;
            let v = rng.next() as u32;
            match rng.below(4) {
                0 => assert_eq!(cache.get(&k), model.get(k)),
                1 => assert_eq!(
                    cache.insert(k, v),
                    model
                        .insert(k, v)
                        .filter(|e| e.0 == k && model.items[0] == (k, v))
                        .map(|e| e.1)
                ),
                2 => {
                    let expect = model.pos(k).map(|p| model.items.remove(p).1);
                    assert_eq!(cache.remove(&k), expect);
                }
                _ => {
                    let expect = match model.get(k) {
                        Some(old) => old,
                        None => {
                            model.insert(k, v);
                            v
                        }
                    };
                    assert_eq!(cache.get_or_insert_with(&k, || v), expect);
                }
            }
            for &(k, v) in &model.items {
                assert_eq!(cache.peek(&k), Some(v), "seed {seed}");
            }
            assert_eq!(cache.len(), model.items.len());
            let info = cache.cache_info();
            assert_eq!((info.hits, info.misses), (model.hits, model.misses));
        }
    }
}

/// One TTL model entry.
#[derive(Clone, Copy, Debug, PartialEq)]
struct TtlEntry {
    key: u8,
    value: u32,
    deadline: u64,
    set: u64,
}

/// The TTL model: entries most recent first, each with its deadline and the order of its
/// last set; mirrors the documented removal rules (expired entries leave in deadline order,
/// equal deadlines in set order).
struct TtlModel {
    cap: Option<usize>,
    ttl: u64,
    items: Vec<TtlEntry>,
    seq: u64,
    hits: u64,
    misses: u64,
}

impl TtlModel {
    fn pos(&self, k: u8) -> Option<usize> {
        self.items.iter().position(|e| e.key == k)
    }
    /// The entry that expires first (of equal deadlines, the one set first).
    fn first(&self) -> Option<usize> {
        (0..self.items.len()).min_by_key(|&i| (self.items[i].deadline, self.items[i].set))
    }
    fn purge_head(&mut self, now: u64) {
        if let Some(h) = self.first()
            && now >= self.items[h].deadline
        {
            self.items.remove(h);
        }
    }
    fn get(&mut self, k: u8, now: u64) -> Option<u32> {
        match self.pos(k) {
            Some(p) if now < self.items[p].deadline => {
                let e = self.items.remove(p);
                self.items.insert(0, e);
                self.hits += 1;
                Some(e.value)
            }
            Some(p) => {
                self.items.remove(p);
                self.misses += 1;
                None
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }
    fn insert_absent(&mut self, k: u8, v: u32, ttl: u64, now: u64) {
        if ttl == 0 || self.cap == Some(0) {
            return;
        }
        self.purge_head(now);
        if Some(self.items.len()) == self.cap {
            let head = self.first().unwrap();
            // No live entry is evicted while an expired one holds a slot.
            if now >= self.items[head].deadline {
                self.items.remove(head);
            } else {
                self.items.pop();
            }
        }
        self.seq += 1;
        self.items.insert(
            0,
            TtlEntry {
                key: k,
                value: v,
                deadline: now.saturating_add(ttl),
                set: self.seq,
            },
        );
    }
    fn insert(&mut self, k: u8, v: u32, ttl: u64, now: u64) {
        if let Some(p) = self.pos(k)
            && now >= self.items[p].deadline
        {
            // An expired entry is not replaced: it is removed, and the key set anew.
            self.items.remove(p);
        }
        match self.pos(k) {
            Some(p) if ttl == 0 || self.cap == Some(0) => {
                self.items.remove(p);
            }
            Some(p) => {
                let mut e = self.items.remove(p);
                self.seq += 1;
                e.value = v;
                e.deadline = now + ttl;
                e.set = self.seq;
                self.items.insert(0, e);
                self.purge_head(now);
            }
            None => self.insert_absent(k, v, ttl, now),
        }
    }
}

#[test]
fn ttl_cache_matches_list_model_with_manual_clock() {
    for seed in 0..3000u64 {
        let mut rng = Rng(seed.wrapping_mul(31) + 7);
        let cap = match rng.below(8) {
            7 => None,
            c => Some(c as usize),
        };
        let ttl = rng.below(6);
        let clock = ManualClock::new();
        let mut cache = TtlCache::with_clock(cap, Duration::from_nanos(ttl), clock.clone());
        let mut model = TtlModel {
            cap,
            ttl,
            items: Vec::new(),
            seq: 0,
            hits: 0,
            misses: 0,
        };
        let keys = 2 + rng.below(10);
        for step in 0..150 {
            let now = clock_now(&clock);
            let k = rng.below(keys) as u8;
            let v = rng.next() as u32;
            match rng.below(100) {
                0..25 => assert_eq!(
                    cache.get(&k).copied(),
                    model.get(k, now),
                    "seed {seed} step {step} get"
                ),
                25..45 => {
                    cache.insert(k, v);
                    model.insert(k, v, model.ttl, now);
                }
                45..55 => {
                    let t = rng.below(8);
                    cache.insert_with_ttl(k, v, Duration::from_nanos(t));
                    model.insert(k, v, t, now);
                }
                55..62 => {
                    let expect = model.pos(k).and_then(|p| {
                        let e = model.items.remove(p);
                        (now < e.deadline).then_some(e.value)
                    });
                    assert_eq!(cache.remove(&k), expect, "seed {seed} step {step} remove");
                }
                62..70 => {
                    let expect = model
                        .pos(k)
                        .filter(|&p| now < model.items[p].deadline)
                        .map(|p| model.items[p].value);
                    assert_eq!(cache.peek(&k).copied(), expect);
                    assert_eq!(cache.contains_key(&k), expect.is_some());
                }
                70..85 => {
                    let expect = match model.get(k, now) {
                        Some(old) => old,
                        None => {
                            model.insert_absent(k, v, model.ttl, now);
                            v
                        }
                    };
                    assert_eq!(
                        *cache.get_or_insert_with(&k, || v),
                        expect,
                        "seed {seed} step {step}"
                    );
                }
                85..88 => {
                    let before = model.items.len();
                    model.items.retain(|e| now < e.deadline);
                    assert_eq!(cache.purge_expired(), before - model.items.len());
                }
                88..90 => {
                    cache.clear();
                    model.items.clear();
                    model.hits = 0;
                    model.misses = 0;
                }
                _ => clock.advance(Duration::from_nanos(rng.below(4))),
            }
            let now = clock_now(&clock);
            let live: Vec<(u8, u32)> = model
                .items
                .iter()
                .filter(|e| now < e.deadline)
                .map(|e| (e.key, e.value))
                .collect();
            let got: Vec<(u8, u32)> = cache.iter().map(|(k, v)| (*k, *v)).collect();
            assert_eq!(
                got, live,
                "seed {seed} step {step}: live entries in recency order"
            );
            assert_eq!(
                cache.len(),
                model.items.len(),
                "seed {seed} step {step}: stored"
            );
            let info = cache.cache_info();
            assert_eq!((info.hits, info.misses), (model.hits, model.misses));
        }
    }
}

fn clock_now(clock: &ManualClock) -> u64 {
    use lru_ttl::Clock;
    clock.now().as_nanos() as u64
}
