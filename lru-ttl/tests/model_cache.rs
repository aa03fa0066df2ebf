//! The configurable `Cache` (one shard, so one exact LRU) against a plain model, over
//! thousands of seeded operation sequences with random configurations: a bound in entries
//! or in weight (weights 0 to 3, from the value), a time to live, a time to idle, a
//! per-entry expiry computed from the value, `insert_with_ttl`, and an eviction listener
//! whose every call (key, value, cause, in order) must match the model's. Time comes from a
//! `ManualClock`; every step compares the live entries in recency order, the stored count,
//! the total weight and the statistics.

use lru_ttl::{Cache, ManualClock, RemovalCause};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod common;

use common::Rng;

const NEVER: u64 = u64::MAX;

#[derive(Clone, Copy, Debug)]
struct Entry {
    key: u8,
    value: u32,
    deadline: u64,
    accessed: u64,
    weight: u64,
    set: u64,
}

type Event = (u8, u32, RemovalCause);

/// The model: entries most recent first; mirrors the documented rules.
struct Model {
    max: u64,
    ttl: u64,
    tti: u64,
    weighted: bool,
    expiring: bool,
    items: Vec<Entry>,
    seq: u64,
    hits: u64,
    misses: u64,
    events: Vec<Event>,
}

impl Model {
    fn weight_of(&self, v: u32) -> u64 {
        if self.weighted { u64::from(v % 4) } else { 1 }
    }
    /// The per-entry expiry: values divisible by 3 live 2 ns, the others the default.
    fn ttl_of(&self, v: u32) -> u64 {
        if self.expiring && v.is_multiple_of(3) {
            2
        } else {
            self.ttl
        }
    }
    fn alive(&self, e: &Entry, now: u64) -> bool {
        now < e.deadline && (self.tti == NEVER || now < e.accessed.saturating_add(self.tti))
    }
    fn pos(&self, k: u8) -> Option<usize> {
        self.items.iter().position(|e| e.key == k)
    }
    fn total(&self) -> u64 {
        self.items.iter().map(|e| e.weight).sum()
    }
    fn first_expired(&self, now: u64) -> Option<usize> {
        let first =
            (0..self.items.len()).min_by_key(|&i| (self.items[i].deadline, self.items[i].set))?;
        if now >= self.items[first].deadline {
            return Some(first);
        }
        let tail = self.items.len() - 1;
        (self.tti != NEVER && !self.alive(&self.items[tail], now)).then_some(tail)
    }
    fn take(&mut self, i: usize, cause: RemovalCause) {
        let e = self.items.remove(i);
        self.events.push((e.key, e.value, cause));
    }
    fn purge_one(&mut self, now: u64) {
        if let Some(i) = self.first_expired(now) {
            self.take(i, RemovalCause::Expired);
        }
    }
    fn evict(&mut self, now: u64) {
        match self.first_expired(now) {
            Some(i) => self.take(i, RemovalCause::Expired),
            None => self.take(self.items.len() - 1, RemovalCause::Capacity),
        }
    }
    fn get(&mut self, k: u8, now: u64) -> Option<u32> {
        let Some(p) = self.pos(k) else {
            self.misses += 1;
            return None;
        };
        if !self.alive(&self.items[p], now) {
            self.misses += 1;
            self.take(p, RemovalCause::Expired);
            return None;
        }
        self.hits += 1;
        let mut e = self.items.remove(p);
        e.accessed = now;
        self.items.insert(0, e);
        Some(e.value)
    }
    fn insert(&mut self, k: u8, v: u32, ttl: Option<u64>, now: u64) -> Option<u32> {
        let ttl = ttl.unwrap_or_else(|| self.ttl_of(v));
        let w = self.weight_of(v);
        let storable = ttl != 0 && self.max != 0 && w <= self.max;
        if let Some(p) = self.pos(k)
            && !self.alive(&self.items[p], now)
        {
            self.take(p, RemovalCause::Expired);
        }
        if let Some(p) = self.pos(k) {
            if !storable {
                self.take(p, RemovalCause::Replaced);
                return None;
            }
            let mut e = self.items.remove(p);
            let old = e.value;
            self.events.push((k, old, RemovalCause::Replaced));
            self.seq += 1;
            e.value = v;
            e.deadline = now.saturating_add(ttl);
            e.accessed = now;
            e.weight = w;
            e.set = self.seq;
            self.items.insert(0, e);
            while self.total() > self.max {
                self.evict(now);
            }
            self.purge_one(now);
            return Some(old);
        }
        if !storable {
            return None;
        }
        self.purge_one(now);
        while self.total() + w > self.max {
            self.evict(now);
        }
        self.seq += 1;
        self.items.insert(
            0,
            Entry {
                key: k,
                value: v,
                deadline: now.saturating_add(ttl),
                accessed: now,
                weight: w,
                set: self.seq,
            },
        );
        None
    }
    fn remove(&mut self, k: u8, now: u64) -> Option<u32> {
        let p = self.pos(k)?;
        if !self.alive(&self.items[p], now) {
            self.take(p, RemovalCause::Expired);
            return None;
        }
        let v = self.items[p].value;
        self.take(p, RemovalCause::Explicit);
        Some(v)
    }
}

fn now(clock: &ManualClock) -> u64 {
    use lru_ttl::Clock;
    clock.now().as_nanos() as u64
}

#[test]
fn cache_matches_model_with_ttl_tti_weights_expiry_and_listener() {
    for seed in 0..2500u64 {
        let mut rng = Rng(seed.wrapping_mul(0x5851_F42D) + 3);
        let max = match rng.below(6) {
            0 => None,
            _ => Some(rng.below(10)),
        };
        let ttl = (rng.below(3) > 0).then(|| rng.below(8));
        let tti = (rng.below(3) == 0).then(|| 1 + rng.below(5));
        let weighted = rng.below(2) == 0;
        let expiring = rng.below(3) == 0;
        let clock = ManualClock::new();
        let heard: Arc<Mutex<Vec<Event>>> = Arc::default();
        let log = Arc::clone(&heard);
        let mut b = Cache::builder()
            .shards(1)
            .clock(clock.clone())
            .eviction_listener(move |k: &u8, v: &u32, cause| {
                log.lock().unwrap().push((*k, *v, cause))
            });
        if let Some(m) = max {
            b = b.max_capacity(m);
        }
        if let Some(t) = ttl {
            b = b.time_to_live(Duration::from_nanos(t));
        }
        if let Some(t) = tti {
            b = b.time_to_idle(Duration::from_nanos(t));
        }
        if weighted {
            b = b.weigher(|_k: &u8, v: &u32| v % 4);
        }
        if expiring {
            b = b.expire_after(|_k: &u8, v: &u32| {
                v.is_multiple_of(3).then_some(Duration::from_nanos(2))
            });
        }
        let timed = ttl.is_some() || tti.is_some() || weighted || expiring;
        let cache: Cache<u8, u32> = b.build();
        let mut model = Model {
            max: max.unwrap_or(u64::MAX),
            ttl: ttl.unwrap_or(NEVER),
            tti: tti.unwrap_or(NEVER),
            weighted,
            expiring,
            items: Vec::new(),
            seq: 0,
            hits: 0,
            misses: 0,
            events: Vec::new(),
        };
        let keys = 2 + rng.below(8);
        for step in 0..120 {
            let t = now(&clock);
            let k = rng.below(keys) as u8;
            let v = rng.next() as u32 % 1000;
            let at = format!("seed {seed} step {step}");
            let mut unordered = false;
            match rng.below(100) {
                0..25 => assert_eq!(cache.get(&k), model.get(k, t), "{at}: get"),
                25..45 => assert_eq!(
                    cache.insert(k, v),
                    model.insert(k, v, None, t),
                    "{at}: insert"
                ),
                45..52 if timed => {
                    let own = rng.below(6);
                    assert_eq!(
                        cache.insert_with_ttl(k, v, Duration::from_nanos(own)),
                        model.insert(k, v, Some(own), t),
                        "{at}: insert_with_ttl"
                    );
                }
                52..60 => assert_eq!(cache.remove(&k), model.remove(k, t), "{at}: remove"),
                60..66 => {
                    let expect = model.pos(k).and_then(|p| {
                        let e = model.items[p];
                        model.alive(&e, t).then_some(e.value)
                    });
                    assert_eq!(cache.peek(&k), expect, "{at}: peek");
                }
                66..80 => {
                    let expect = match model.get(k, t) {
                        Some(old) => old,
                        None => {
                            model.insert(k, v, None, t);
                            v
                        }
                    };
                    assert_eq!(
                        cache.get_or_insert_with(&k, || v),
                        expect,
                        "{at}: get_or_insert_with"
                    );
                }
                80..83 => {
                    let before = model.items.len();
                    let expired: Vec<Entry> = model
                        .items
                        .iter()
                        .copied()
                        .filter(|e| !model.alive(e, t))
                        .collect();
                    let params = model_params(&model);
                    model.items.retain(|e| model_alive(&params, e, t));
                    for e in expired {
                        model.events.push((e.key, e.value, RemovalCause::Expired));
                    }
                    assert_eq!(
                        cache.purge_expired(),
                        before - model.items.len(),
                        "{at}: purge"
                    );
                    unordered = true;
                }
                83..86 => {
                    let params = model_params(&model);
                    let mut gone = Vec::new();
                    model.items.retain(|e| {
                        let alive = model_alive(&params, e, t);
                        let keep = alive && e.key % 2 == 0;
                        if !keep {
                            let cause = if alive {
                                RemovalCause::Explicit
                            } else {
                                RemovalCause::Expired
                            };
                            gone.push((e.key, e.value, cause));
                        }
                        keep
                    });
                    model.events.extend(gone);
                    cache.retain(|k, _| k % 2 == 0);
                    unordered = true;
                }
                86..88 => {
                    for e in std::mem::take(&mut model.items) {
                        model.events.push((e.key, e.value, RemovalCause::Explicit));
                    }
                    model.hits = 0;
                    model.misses = 0;
                    cache.clear();
                    unordered = true;
                }
                _ => clock.advance(Duration::from_nanos(rng.below(4))),
            }
            let mut got = std::mem::take(&mut *heard.lock().unwrap());
            let mut want = std::mem::take(&mut model.events);
            if unordered {
                got.sort_by_key(|e| (e.0, e.1));
                want.sort_by_key(|e| (e.0, e.1));
            }
            assert_eq!(got, want, "{at}: the listener's calls");
            let t = now(&clock);
            let live: Vec<(u8, u32)> = model
                .items
                .iter()
                .filter(|e| model.alive(e, t))
                .map(|e| (e.key, e.value))
                .collect();
            assert_eq!(
                cache.iter().collect::<Vec<_>>(),
                live,
                "{at}: live entries in recency order"
            );
            assert_eq!(cache.len(), model.items.len(), "{at}: stored");
            let weight = if timed {
                model.total()
            } else {
                model.items.len() as u64
            };
            assert_eq!(cache.weighted_size(), weight, "{at}: weight");
            let info = cache.cache_info();
            assert_eq!(
                (info.hits, info.misses),
                (model.hits, model.misses),
                "{at}: statistics"
            );
        }
    }
}

/// The parts of the model `alive` needs, for closures that borrow the items mutably.
struct Params {
    tti: u64,
}

fn model_params(m: &Model) -> Params {
    Params { tti: m.tti }
}

fn model_alive(p: &Params, e: &Entry, now: u64) -> bool {
    now < e.deadline && (p.tti == NEVER || now < e.accessed.saturating_add(p.tti))
}
