//! std collections growing and shrinking on top of `PoolAlloc` as the global allocator: `Vec`,
//! `String`, `VecDeque`, `HashMap`, `BTreeMap`, boxed slices of every small size, `Rc` lists.
//! Every element carries a value derived from its position, checked before it is dropped.

mod common;

use common::{Rng, check_slice, fill_slice};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::rc::Rc;

#[global_allocator]
static GLOBAL: pool_alloc::PoolAlloc = pool_alloc::PoolAlloc::new();

#[test]
fn vec_grows_and_shrinks_through_every_class() {
    for round in 0..3u64 {
        let mut v: Vec<u64> = Vec::new();
        for i in 0..100_000u64 {
            v.push(i ^ round);
            if i.is_power_of_two() {
                assert!(v.iter().enumerate().all(|(j, &x)| x == j as u64 ^ round));
            }
        }
        while v.len() > 3 {
            let keep = v.len() / 3;
            v.truncate(keep);
            v.shrink_to_fit();
            assert_eq!(v.capacity(), keep);
            assert!(v.iter().enumerate().all(|(j, &x)| x == j as u64 ^ round));
        }
    }
}

#[test]
fn byte_vecs_of_every_length_up_to_4k() {
    let mut bufs: Vec<Vec<u8>> = (1..=4096)
        .map(|len| {
            let mut b = vec![0u8; len];
            fill_slice(&mut b, len);
            b
        })
        .collect();
    for b in &bufs {
        check_slice(b, b.len());
    }
    // Grow each buffer by a third, one byte at a time, and shrink it back.
    for b in bufs.iter_mut() {
        let len = b.len();
        for i in 0..len / 3 + 1 {
            b.push(i as u8);
        }
        check_slice(&b[..len], len);
        b.truncate(len);
        b.shrink_to_fit();
        check_slice(b, len);
    }
    let mut rng = Rng::new(3);
    rng.shuffle(&mut bufs);
    for b in bufs {
        check_slice(&b, b.len());
    }
}

#[test]
fn strings_built_and_dropped_in_random_order() {
    let mut rng = Rng::new(11);
    let mut strings: Vec<(usize, usize, String)> = (0..20_000)
        .map(|i| {
            let reps = rng.range(0, 200);
            (i, reps, format!("{i}-").repeat(reps))
        })
        .collect();
    rng.shuffle(&mut strings);
    let mut total = String::new();
    for (_, _, s) in strings.iter().take(500) {
        total.push_str(s);
    }
    let expected: String = strings
        .iter()
        .take(500)
        .map(|(_, _, s)| s.as_str())
        .collect();
    assert_eq!(total, expected);
    drop(total);
    for (i, reps, s) in &strings {
        assert_eq!(*s, format!("{i}-").repeat(*reps));
    }
}

#[test]
fn vecdeque_as_a_sliding_window() {
    let mut q: VecDeque<Box<[u32]>> = VecDeque::new();
    for i in 0..50_000u32 {
        let len = (i % 97) as usize + 1;
        q.push_back(vec![i; len].into_boxed_slice());
        if q.len() > 1000 {
            let old = q.pop_front().expect("non-empty");
            let v = old[0];
            assert!(old.iter().all(|&x| x == v));
            assert_eq!(old.len(), (v % 97) as usize + 1);
        }
        if i % 10_000 == 9_999 {
            q.shrink_to_fit();
        }
    }
    assert_eq!(q.len(), 1000);
}

#[test]
fn hashmap_grows_shrinks_and_keeps_its_values() {
    let mut m: HashMap<u64, Vec<u8>> = HashMap::new();
    for k in 0..30_000u64 {
        let mut v = vec![0u8; (k % 300) as usize + 1];
        fill_slice(&mut v, k as usize);
        assert!(m.insert(k, v).is_none());
    }
    for k in (0..30_000u64).filter(|k| k % 4 != 0) {
        let v = m.remove(&k).expect("present");
        check_slice(&v, k as usize);
    }
    m.shrink_to_fit();
    assert_eq!(m.len(), 7_500);
    for (k, v) in &m {
        assert_eq!(k % 4, 0);
        assert_eq!(v.len(), (k % 300) as usize + 1);
        check_slice(v, *k as usize);
    }
    m.clear();
    m.shrink_to_fit();
    assert_eq!(m.capacity(), 0);
}

#[test]
fn btreemap_of_strings() {
    let mut m = BTreeMap::new();
    for k in 0..20_000u32 {
        m.insert(k.wrapping_mul(2_654_435_761), k.to_string());
    }
    m.retain(|_, v| v.len() % 2 == 0);
    for (k, v) in &m {
        let n: u32 = v.parse().expect("a number");
        assert_eq!(*k, n.wrapping_mul(2_654_435_761));
    }
    let kept = (0..20_000u32)
        .filter(|k| k.to_string().len() % 2 == 0)
        .count();
    assert_eq!(m.len(), kept);
}

#[test]
fn rc_linked_list_dropped_from_the_head() {
    #[derive(Debug)]
    struct Node {
        value: usize,
        payload: Box<[u8]>,
        next: Option<Rc<Node>>,
    }
    let mut head: Option<Rc<Node>> = None;
    for i in 0..20_000 {
        let mut payload = vec![0u8; i % 64 + 1];
        fill_slice(&mut payload, i);
        head = Some(Rc::new(Node {
            value: i,
            payload: payload.into_boxed_slice(),
            next: head.take(),
        }));
    }
    let mut expect = 20_000;
    let mut cur = head.clone();
    while let Some(n) = cur {
        expect -= 1;
        assert_eq!(n.value, expect);
        check_slice(&n.payload, n.value);
        cur = n.next.clone();
    }
    assert_eq!(expect, 0);
    // Unlink iteratively so that the drop does not recurse 20,000 deep.
    while let Some(n) = head {
        head = Rc::try_unwrap(n).ok().and_then(|mut n| n.next.take());
    }
}

#[test]
fn boxed_slices_of_every_small_size_freed_in_random_order() {
    let mut rng = Rng::new(5);
    for round in 0..4 {
        let mut boxes: Vec<(usize, Box<[u8]>)> = (1..=2048)
            .flat_map(|len| [len, len])
            .enumerate()
            .map(|(i, len)| {
                let mut b = vec![0u8; len].into_boxed_slice();
                fill_slice(&mut b, i + round);
                (i + round, b)
            })
            .collect();
        rng.shuffle(&mut boxes);
        // Free half, refill the holes with new blocks, then free everything.
        let half = boxes.len() / 2;
        for (seed, b) in boxes.drain(..half) {
            check_slice(&b, seed);
        }
        for i in 0..half {
            let len = rng.range(1, 2048);
            let mut b = vec![0u8; len].into_boxed_slice();
            fill_slice(&mut b, 1_000_000 + i);
            boxes.push((1_000_000 + i, b));
        }
        rng.shuffle(&mut boxes);
        for (seed, b) in boxes {
            check_slice(&b, seed);
        }
    }
}
