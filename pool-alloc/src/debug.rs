//! The debug mode (cargo feature `debug`), in the spirit of CPython's `PYTHONMALLOC=debug`:
//! every block is padded with guard bytes, new bytes are filled with one pattern and freed
//! ones with another, and each free is checked. A violation is reported on stderr, without
//! allocating, and the process aborts.
//!
//! | bytes of a block                         | after `alloc` | after `dealloc` |
//! |------------------------------------------|---------------|-----------------|
//! | `[0, size)`: the caller's                 | [`NEW`]       | [`DEAD`]        |
//! | `[size, g)`, `g = max(size, 8)`: slack     | [`GUARD`]     | [`DEAD`]        |
//! | `[g, g + 8)`: the guard                    | [`GUARD`]     | [`DEAD`]        |
//!
//! The guard starts at byte 8 at the earliest, past the word a free block's list link
//! overwrites, so a freed block keeps [`DEAD`] guard bytes until it is handed out again.
//!
//! Checked on every `dealloc` (and `realloc`) of a pool block:
//! - the pointer lies in an assigned pool of a mapped arena (else: foreign, or its memory
//!   already went back to the OS);
//! - the layout routes to the pool's size class (else: the wrong layout);
//! - the pointer is at a block boundary (else: misaligned, an interior pointer);
//! - the guard bytes are intact: all [`DEAD`] means a double free, anything else an overflow
//!   past the end of the block.
//!
//! Large blocks (from the system allocator) get the same guard and patterns.

use crate::pool::Pool;
use crate::size_class::route;
use crate::tunables::POOL_SIZE;
use core::alloc::Layout;
use core::fmt::Write as _;
use std::io::Write as _;

/// Fills new bytes (CPython's `CLEANBYTE`).
pub const NEW: u8 = 0xCD;
/// Fills freed bytes (CPython's `DEADBYTE`).
pub const DEAD: u8 = 0xDD;
/// Fills the guard bytes after a block (CPython's `FORBIDDENBYTE`).
pub const GUARD: u8 = 0xFD;
/// Guard bytes after each block.
const GUARD_LEN: usize = 8;

/// Where the guard starts for a request of `size` bytes.
fn guard_at(size: usize) -> usize {
    size.max(8)
}

/// The layout really allocated for `layout`: room for the guard.
pub(crate) fn padded(layout: Layout) -> Layout {
    let size = guard_at(layout.size()) + GUARD_LEN;
    // A size past isize::MAX would not be a valid layout: keep the caller's, which the
    // system allocator then refuses or serves (no guard is checked for it).
    Layout::from_size_align(size, layout.align()).unwrap_or(layout)
}

/// Fills a block just allocated for `layout` (`zeroed`: its caller's bytes stay zero).
///
/// # Safety
///
/// `p` is a live block of at least `padded(layout).size()` bytes.
pub(crate) unsafe fn on_alloc(p: *mut u8, layout: Layout, zeroed: bool) {
    let size = layout.size();
    let g = guard_at(size);
    // SAFETY: per the contract, `[0, g + GUARD_LEN)` is the block's.
    unsafe {
        if !zeroed {
            p.write_bytes(NEW, size);
        }
        p.add(size).write_bytes(GUARD, g + GUARD_LEN - size);
    }
}

/// Checks a block about to be freed with `layout`, then fills it with [`DEAD`]; reports and
/// aborts on a violation.
///
/// # Safety
///
/// The caller passes what it passed to `dealloc`; the core `core` allocated pool blocks.
pub(crate) unsafe fn on_dealloc(core: &crate::core_alloc::Core, p: *mut u8, layout: Layout) {
    let size = layout.size();
    let g = guard_at(size);
    let padded = padded(layout);
    if let Some(class) = route(padded.size(), padded.align()) {
        if !core.owns_assigned(p) {
            report(
                "free of a pointer that pool-alloc did not hand out (or whose pool was already freed)",
                p,
                layout,
                None,
            );
        }
        let pool = Pool::of(p);
        // SAFETY: `p` lies in an assigned pool, whose header is initialised.
        let (pool_class, block) = unsafe { ((*pool).class as usize, (*pool).block_size as usize) };
        if pool_class != class {
            report(
                "free with a layout of another size class",
                p,
                layout,
                Some(pool_class),
            );
        }
        let within = p.addr() - pool.addr();
        if within < crate::pool::POOL_HEADER
            || !(within - crate::pool::POOL_HEADER).is_multiple_of(block)
            || within >= POOL_SIZE
        {
            report(
                "free of a pointer inside a block, not at its start",
                p,
                layout,
                Some(pool_class),
            );
        }
    }
    // SAFETY: the block (pool or system) has at least `padded.size()` bytes.
    let guard = unsafe { core::slice::from_raw_parts(p.add(g), GUARD_LEN) };
    if guard.iter().all(|&b| b == DEAD) {
        report(
            "double free",
            p,
            layout,
            route(padded.size(), padded.align()),
        );
    }
    if guard.iter().any(|&b| b != GUARD) {
        report(
            "buffer overflow: the guard bytes after the block were overwritten",
            p,
            layout,
            route(padded.size(), padded.align()),
        );
    }
    // SAFETY: as above.
    unsafe { p.write_bytes(DEAD, g + GUARD_LEN) };
}

/// A fixed buffer that formats without allocating.
struct Line {
    buf: [u8; 512],
    len: usize,
}

impl core::fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Writes what happened to stderr, without allocating, and aborts.
#[cold]
fn report(what: &str, p: *mut u8, layout: Layout, class: Option<usize>) -> ! {
    let mut line = Line {
        buf: [0; 512],
        len: 0,
    };
    let _ = write!(
        line,
        "pool-alloc debug: {what}: address {p:p}, layout size {} align {}",
        layout.size(),
        layout.align()
    );
    if let Some(c) = class {
        let _ = write!(
            line,
            ", size class {c} ({} bytes)",
            crate::size_class::class_size(c)
        );
    }
    let _ = line.write_str("\n");
    let _ = std::io::stderr().write_all(&line.buf[..line.len]);
    std::process::abort()
}
