//! `LruCache` and a one-shard `Cache` driven by arbitrary operation sequences against a `Vec`
//! in recency order: every get, peek, insert (its displaced pair), remove, get_or_insert_with,
//! pop_lru, resize and clear must agree, and so must the contents after every step.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use lru_ttl::{Cache, LruCache};

#[derive(Arbitrary, Debug)]
enum Op {
    Get(u8),
    Peek(u8),
    Insert(u8, u16),
    Remove(u8),
    GetOrInsert(u8, u16),
    PopLru,
    Resize(u8),
    Clear,
}

#[derive(Arbitrary, Debug)]
struct Input {
    capacity: u8,
    ops: Vec<Op>,
}

/// Most recent first.
struct Model {
    cap: usize,
    items: Vec<(u8, u16)>,
}

impl Model {
    fn pos(&self, k: u8) -> Option<usize> {
        self.items.iter().position(|e| e.0 == k)
    }
    fn touch(&mut self, p: usize) -> u16 {
        let e = self.items.remove(p);
        self.items.insert(0, e);
        e.1
    }
    fn insert(&mut self, k: u8, v: u16) -> Option<(u8, u16)> {
        if let Some(p) = self.pos(k) {
            let old = self.items.remove(p);
            self.items.insert(0, (k, v));
            return Some((k, old.1));
        }
        if self.cap == 0 {
            return Some((k, v));
        }
        let evicted = (self.items.len() == self.cap).then(|| self.items.pop().unwrap());
        self.items.insert(0, (k, v));
        evicted
    }
}

fuzz_target!(|input: Input| {
    let cap = usize::from(input.capacity % 16);
    let mut cache = LruCache::new(cap);
    let shared: Cache<u8, u16> = Cache::with_shards(cap, 1);
    let mut model = Model { cap, items: Vec::new() };
    for op in input.ops.into_iter().take(500) {
        match op {
            Op::Get(k) => {
                let want = model.pos(k).map(|p| model.touch(p));
                assert_eq!(cache.get(&k).copied(), want);
                assert_eq!(shared.get(&k), want);
            }
            Op::Peek(k) => {
                let want = model.pos(k).map(|p| model.items[p].1);
                assert_eq!(cache.peek(&k).copied(), want);
                assert_eq!(shared.peek(&k), want);
            }
            Op::Insert(k, v) => {
                let want = model.insert(k, v);
                assert_eq!(cache.insert(k, v), want);
                let old = want.filter(|w| w.0 == k && model.cap > 0).map(|w| w.1);
                assert_eq!(shared.insert(k, v), old);
            }
            Op::Remove(k) => {
                let want = model.pos(k).map(|p| model.items.remove(p).1);
                assert_eq!(cache.remove(&k), want);
                assert_eq!(shared.remove(&k), want);
            }
            Op::GetOrInsert(k, v) => {
                let want = match model.pos(k) {
                    Some(p) => model.touch(p),
                    None => {
                        model.insert(k, v);
                        v
                    }
                };
                assert_eq!(*cache.get_or_insert_with(&k, || v), want);
                assert_eq!(shared.get_or_insert_with(&k, || v), want);
            }
            Op::PopLru => {
                let want = if model.items.is_empty() { None } else { model.items.pop() };
                assert_eq!(cache.pop_lru(), want);
                if let Some((k, _)) = want {
                    shared.remove(&k);
                }
            }
            Op::Resize(c) => {
                let c = usize::from(c % 16);
                model.cap = c;
                model.items.truncate(c);
                cache.resize(Some(c));
                // The shared cache keeps its bound: rebuild it to match.
                shared.clear();
                for &(k, v) in model.items.iter().rev() {
                    if c > 0 {
                        shared.insert(k, v);
                    }
                }
                if c != cap {
                    // The shared cache cannot be resized; stop comparing it with a new bound.
                    return;
                }
            }
            Op::Clear => {
                model.items.clear();
                cache.clear();
                shared.clear();
            }
        }
        let got: Vec<(u8, u16)> = cache.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(got, model.items);
        assert_eq!(shared.iter().collect::<Vec<_>>(), model.items);
    }
});
