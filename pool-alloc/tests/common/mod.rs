//! Helpers shared by the integration test binaries (each file in `tests/` is its own binary with
//! `PoolAlloc` as its `#[global_allocator]`; this module is compiled into each of them).
//!
//! - [`fill`] / [`check`]: write a pattern derived from a seed into a block, and verify it before
//!   the block is freed, so that a block handed out twice, overlapping another, or corrupted by
//!   the allocator's own free-list links is caught.
//! - [`rss_bytes`]: the resident set size from `/proc/self/statm`.
//! - [`serial`]: a process-wide lock for tests whose assertions read process-wide state (RSS,
//!   allocator counters), so the harness's parallel tests do not disturb them.

#![allow(dead_code)]

use std::alloc::Layout;
use std::sync::{Mutex, MutexGuard};

const PERIOD: usize = 4096;
const SEEDS: usize = 4093;

/// The pattern source: pseudo-random bytes; the pattern of `seed` is the window starting at
/// `seed % SEEDS`, repeated every `PERIOD` bytes. Fills and checks are then `memcpy`/`memcmp`,
/// which keeps the tests fast in debug builds.
static TABLE: [u8; SEEDS + PERIOD] = {
    let mut t = [0u8; SEEDS + PERIOD];
    let mut i = 0;
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    while i < t.len() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        t[i] = (x >> 24) as u8;
        i += 1;
    }
    t
};

/// The pattern byte at offset `i` of a block filled with `seed`.
#[inline]
pub fn pattern_byte(seed: usize, i: usize) -> u8 {
    TABLE[seed % SEEDS + i % PERIOD]
}

fn window(seed: usize, len: usize) -> &'static [u8] {
    let start = seed % SEEDS;
    &TABLE[start..start + len]
}

/// Fills `len` bytes at `ptr` with the pattern of `seed`.
///
/// # Safety
///
/// `ptr` must be valid for writes of `len` bytes.
pub unsafe fn fill(ptr: *mut u8, len: usize, seed: usize) {
    // SAFETY: the caller guarantees `len` writable bytes.
    fill_slice(unsafe { std::slice::from_raw_parts_mut(ptr, len) }, seed);
}

/// Asserts that the first `len` bytes at `ptr` still hold the pattern of `seed`.
///
/// # Safety
///
/// `ptr` must be valid for reads of `len` bytes.
#[track_caller]
pub unsafe fn check(ptr: *const u8, len: usize, seed: usize) {
    // SAFETY: the caller guarantees `len` readable bytes.
    check_slice(unsafe { std::slice::from_raw_parts(ptr, len) }, seed);
}

/// Fills a byte slice with the pattern of `seed`.
pub fn fill_slice(buf: &mut [u8], seed: usize) {
    for chunk in buf.chunks_mut(PERIOD) {
        chunk.copy_from_slice(window(seed, chunk.len()));
    }
}

/// Asserts that a byte slice holds the pattern of `seed`.
#[track_caller]
pub fn check_slice(buf: &[u8], seed: usize) {
    for (k, chunk) in buf.chunks(PERIOD).enumerate() {
        let want = window(seed, chunk.len());
        if chunk != want {
            let i = chunk
                .iter()
                .zip(want)
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "block at {:p} (len {}, seed {seed}) corrupted at byte {}: {:#04x}, expected {:#04x}",
                buf.as_ptr(),
                buf.len(),
                k * PERIOD + i,
                chunk[i],
                want[i]
            );
        }
    }
}

/// A pattern-filled block obtained from the global allocator through `std::alloc`, freed (after
/// checking its pattern) on drop. `Send`, so that another thread can free it.
#[derive(Debug)]
pub struct Block {
    ptr: *mut u8,
    layout: Layout,
    seed: usize,
}

// SAFETY: a `Block` exclusively owns its allocation; the global allocator may be called from any
// thread, so freeing it elsewhere is allowed.
unsafe impl Send for Block {}

impl Block {
    /// Allocates `size` bytes aligned to `align` and fills them with the pattern of `seed`.
    pub fn new(size: usize, align: usize, seed: usize) -> Self {
        let layout = Layout::from_size_align(size, align).expect("valid layout");
        assert!(size > 0, "zero-sized blocks are not allowed by GlobalAlloc");
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { std::alloc::alloc(layout) };
        assert!(!ptr.is_null(), "allocation of {layout:?} failed");
        assert_eq!(ptr as usize % align, 0, "{ptr:p} not aligned to {align}");
        // SAFETY: `ptr` is a fresh allocation of `size` bytes.
        unsafe { fill(ptr, size, seed) };
        Self { ptr, layout, seed }
    }

    /// The block's address.
    pub fn addr(&self) -> usize {
        self.ptr as usize
    }

    /// The block's size in bytes.
    pub fn size(&self) -> usize {
        self.layout.size()
    }

    /// Asserts that the block still holds its pattern.
    #[track_caller]
    pub fn verify(&self) {
        // SAFETY: the block owns `layout.size()` bytes at `ptr`.
        unsafe { check(self.ptr, self.layout.size(), self.seed) };
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        self.verify();
        // SAFETY: `ptr` was returned by `alloc` with exactly this layout and is freed only here.
        unsafe { std::alloc::dealloc(self.ptr, self.layout) };
    }
}

/// The resident set size of this process in bytes (`/proc/self/statm`'s second field times the
/// page size read from the OS).
#[cfg(unix)]
pub fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .expect("statm has a resident field")
        .parse()
        .expect("resident field is a number");
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    assert!(page > 0);
    pages * page as usize
}

/// The working set of this process in bytes (Windows' resident set size).
#[cfg(windows)]
pub fn rss_bytes() -> usize {
    use windows_sys::Win32::System::ProcessStatus::{
        K32GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS,
    };
    use windows_sys::Win32::System::Threading::GetCurrentProcess;
    // SAFETY: all-zero is a valid value of this plain C struct.
    let mut c: PROCESS_MEMORY_COUNTERS = unsafe { std::mem::zeroed() };
    c.cb = std::mem::size_of::<PROCESS_MEMORY_COUNTERS>() as u32;
    // SAFETY: the pseudo-handle of this process and a counters struct of the size given.
    let ok = unsafe { K32GetProcessMemoryInfo(GetCurrentProcess(), &mut c, c.cb) };
    assert_ne!(ok, 0, "GetProcessMemoryInfo failed");
    c.WorkingSetSize
}

/// One mebibyte.
pub const MIB: usize = 1 << 20;

/// Serialises the tests of one binary that read process-wide state (a poisoned lock, left by a
/// failed test, is taken anyway: the failure is already reported).
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A tiny deterministic generator (SplitMix64) for sizes and shuffles.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform integer in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    /// Shuffles `v` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.range(0, i);
            v.swap(i, j);
        }
    }
}
