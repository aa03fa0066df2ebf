//! Call sites (feature `call-sites`): sampled stacks resolved to frames, lazily (at the first
//! statistics that need an address, cached), and grouped.
//!
//! Invariants: everything here runs inside the sampler's guard (its allocations are counted,
//! never sampled), and the cache's lock is never held by code that waits for the table's.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use super::counters;
use super::sample::{Guard, Live};
use super::snapshot::{Frame, Group, Statistic};

/// Resolved frames by return address, innermost (inlined) first.
static RESOLVED: Mutex<Option<HashMap<usize, Arc<[Frame]>>>> = Mutex::new(None);
/// Bytes kept by resolving: the cache above, and the debug information the `backtrace`
/// crate has read and keeps (measured on the resolving thread's own counters).
static KEPT: AtomicI64 = AtomicI64::new(0);

/// Function-name prefixes of the tracer, the allocator shims and the standard library.
const INTERNAL_NAMES: [&str; 16] = [
    "pool_alloc::trace::",
    "<pool_alloc::trace::",
    "backtrace::",
    "<backtrace::",
    "__rust",
    "__rdl_",
    "__rg_",
    "alloc::",
    "<alloc::",
    "std::",
    "<std::",
    "core::",
    "<core::",
    "hashbrown::",
    "<hashbrown::",
    "_Unwind_",
];

/// Path fragments of the standard library's sources (as rustup ships them, and as built
/// from `rust-src`).
const INTERNAL_FILES: [&str; 5] = [
    "/rustc/",
    "/library/std/",
    "/library/alloc/",
    "/library/core/",
    "/rust/deps/",
];

/// Whether a frame belongs to the tracer, the allocator or the standard library.
fn is_internal(f: &Frame) -> bool {
    (f.function.is_empty() && f.line == 0)
        || INTERNAL_NAMES.iter().any(|p| f.function.starts_with(p))
        || INTERNAL_FILES.iter().any(|p| f.file.contains(p))
}

fn resolve(ip: usize, cache: &mut HashMap<usize, Arc<[Frame]>>) -> Arc<[Frame]> {
    cache
        .entry(ip)
        .or_insert_with(|| {
            let mut frames = Vec::new();
            backtrace::resolve(ip as *mut core::ffi::c_void, |sym| {
                frames.push(Frame {
                    file: sym
                        .filename()
                        .map_or_else(|| "<unknown>".to_owned(), |p| p.display().to_string()),
                    line: sym.lineno().unwrap_or(0),
                    function: sym.name().map(|n| format!("{n:#}")).unwrap_or_default(),
                });
            });
            frames.into()
        })
        .clone()
}

/// The frames of a raw stack that a group is keyed by: up to `depth` of them, from the first
/// outside the tracer, the allocator and the standard library.
fn user_frames(
    stack: &[usize],
    depth: usize,
    cache: &mut HashMap<usize, Arc<[Frame]>>,
) -> Vec<Frame> {
    let mut out = Vec::with_capacity(depth);
    let mut inside = true;
    for &ip in stack {
        for f in resolve(ip, cache).iter() {
            if inside && is_internal(f) {
                continue;
            }
            inside = false;
            out.push(f.clone());
            if out.len() == depth {
                return out;
            }
        }
    }
    if out.is_empty() {
        out.push(Frame {
            file: "<unknown>".to_owned(),
            line: 0,
            function: String::new(),
        });
    }
    out
}

/// The sampled allocations grouped by their first `depth` user frames, scaled up to estimates.
pub(super) fn statistics(samples: &[Live], depth: usize) -> Vec<Statistic> {
    let Some(_guard) = Guard::enter() else {
        return Vec::new();
    };
    let mut cache = RESOLVED.lock().unwrap_or_else(|e| e.into_inner());
    let cache = cache.get_or_insert_with(HashMap::new);
    let mut groups: HashMap<Vec<Frame>, (f64, f64)> = HashMap::new();
    let (before, mut keys) = (counters::my_bytes(), Vec::with_capacity(samples.len()));
    for s in samples {
        // Resolving every stack first, so that what the resolver keeps is measured alone.
        keys.push(user_frames(&s.stack, depth.max(1), cache));
    }
    if let (Some(a), Some(b)) = (before, counters::my_bytes()) {
        let ours = keys.capacity() * size_of::<Vec<Frame>>()
            + keys
                .iter()
                .flatten()
                .map(|f| size_of::<Frame>() + f.file.capacity() + f.function.capacity())
                .sum::<usize>();
        KEPT.fetch_add(b - a - ours as i64, Relaxed);
    }
    for (key, s) in keys.into_iter().zip(samples) {
        let g = groups.entry(key).or_default();
        g.0 += s.size as f64 * s.weight;
        g.1 += s.weight;
    }
    groups
        .into_iter()
        .map(|(frames, (bytes, count))| Statistic {
            group: Group::Traceback(frames),
            size: bytes.round() as usize,
            count: count.round() as usize,
        })
        .collect()
}

/// Bytes kept by resolving stacks (the frame cache and the debug information read).
pub(super) fn own_bytes() -> usize {
    KEPT.load(Relaxed).max(0) as usize
}
