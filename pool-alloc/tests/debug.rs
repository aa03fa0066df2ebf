//! The debug mode (feature `debug`): each kind of violation is caught, reported on stderr and
//! aborts. Each case runs in a child process (this test binary, run again for one case), since
//! the report ends the process.

#![cfg(feature = "debug")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command;

#[global_allocator]
static GLOBAL: pool_alloc::PoolAlloc = pool_alloc::PoolAlloc::new();

const CASE: &str = "POOL_ALLOC_DEBUG_CASE";

/// Commits the violation named `case` (in the child).
fn commit(case: &str) {
    let l = Layout::from_size_align(64, 8).unwrap();
    // SAFETY: each case breaks the allocator's contract on purpose; the debug mode must abort
    // before anything is corrupted.
    unsafe {
        let keep = GLOBAL.alloc(l); // keeps the pool assigned
        let p = GLOBAL.alloc(l);
        match case {
            "double-free" => {
                GLOBAL.dealloc(p, l);
                GLOBAL.dealloc(p, l);
            }
            "overflow" => {
                p.add(64).write(1);
                GLOBAL.dealloc(p, l);
            }
            "wrong-layout" => GLOBAL.dealloc(p, Layout::from_size_align(256, 8).unwrap()),
            "interior" => GLOBAL.dealloc(p.add(16), l),
            "foreign" => {
                let f = System.alloc(l);
                GLOBAL.dealloc(f, l);
            }
            _ => panic!("unknown case {case}"),
        }
        GLOBAL.dealloc(keep, l);
    }
}

/// Runs `case` in a child and returns its stderr; the child must have aborted.
fn run(case: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "violations_are_reported_and_abort",
            "--nocapture",
        ])
        .env(CASE, case)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{case}: the child did not abort");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn violations_are_reported_and_abort() {
    if let Ok(case) = std::env::var(CASE) {
        commit(&case);
        unreachable!("{case} was not caught");
    }
    for (case, says) in [
        ("double-free", "double free"),
        ("overflow", "buffer overflow"),
        ("wrong-layout", "free with a layout of another size class"),
        ("interior", "free of a pointer inside a block"),
        (
            "foreign",
            "free of a pointer that pool-alloc did not hand out",
        ),
    ] {
        let err = run(case);
        assert!(
            err.contains(&format!("pool-alloc debug: {says}")),
            "{case}: stderr was {err:?}"
        );
        assert!(err.contains("layout size"), "{case}: {err:?}");
    }
}

#[test]
fn fill_patterns_and_normal_use() {
    let l = Layout::from_size_align(40, 8).unwrap();
    // SAFETY: a live block of 40 bytes, freed once.
    unsafe {
        let p = GLOBAL.alloc(l);
        let s = std::slice::from_raw_parts(p, 40);
        assert!(s.iter().all(|&b| b == pool_alloc::debug::NEW));
        let z = GLOBAL.alloc_zeroed(l);
        assert!(std::slice::from_raw_parts(z, 40).iter().all(|&b| b == 0));
        let q = GLOBAL.realloc(p, l, 500);
        assert!(
            std::slice::from_raw_parts(q, 40)
                .iter()
                .all(|&b| b == pool_alloc::debug::NEW)
        );
        GLOBAL.dealloc(q, Layout::from_size_align(500, 8).unwrap());
        GLOBAL.dealloc(z, l);
    }
    let v: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    assert_eq!(v[999], "999");
}
