//! The OS layer: arena mapping, unmapping, purging, and the page size.
//!
//! On a real target arenas come from `mmap`, aligned to their size by mapping
//! twice the size and trimming; purging is `madvise(MADV_DONTNEED)`, which makes
//! a private anonymous range read back as zeros. Under `cfg(miri)` and
//! `cfg(loom)` the page source is `System` (aligned, zeroed allocations), and a
//! purge writes zeros, so the same invariants hold.

use crate::sync::{AtomicUsize, Ordering};

/// Bytes per arena; arenas are aligned to this.
pub(crate) const ARENA_SIZE: usize = 1 << 20;

#[cfg(not(loom))]
static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);

/// The OS page size, read once with `sysconf` (4096 under Miri and loom).
pub(crate) fn page_size() -> usize {
    #[cfg(loom)]
    {
        let _ = (AtomicUsize::new(0), Ordering::Relaxed);
        4096
    }
    #[cfg(not(loom))]
    {
        let p = PAGE_SIZE.load(Ordering::Relaxed);
        if p != 0 {
            return p;
        }
        #[cfg(miri)]
        let p = 4096;
        #[cfg(not(miri))]
        // SAFETY: sysconf has no preconditions.
        let p = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
            n if n > 0 => n as usize,
            _ => 4096,
        };
        PAGE_SIZE.store(p, Ordering::Relaxed);
        p
    }
}

/// Maps one zero-filled arena aligned to [`ARENA_SIZE`]; null when the OS refuses.
pub(crate) fn map_arena() -> *mut u8 {
    #[cfg(any(miri, loom))]
    {
        // SAFETY: the layout has non-zero size and a power-of-two alignment.
        unsafe {
            std::alloc::GlobalAlloc::alloc_zeroed(
                &std::alloc::System,
                core::alloc::Layout::from_size_align_unchecked(ARENA_SIZE, ARENA_SIZE),
            )
        }
    }
    #[cfg(not(any(miri, loom)))]
    {
        let len = 2 * ARENA_SIZE;
        // SAFETY: an anonymous private mapping with no address hint touches no existing memory.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return core::ptr::null_mut();
        }
        let p = p.cast::<u8>();
        let addr = p.addr();
        let start = (addr + ARENA_SIZE - 1) & !(ARENA_SIZE - 1);
        let head = start - addr;
        let tail = len - head - ARENA_SIZE;
        // SAFETY: both ranges lie inside the mapping just made and outside the kept arena;
        // page-aligned because ARENA_SIZE and the mapping are.
        unsafe {
            if head > 0 {
                libc::munmap(p.cast(), head);
            }
            if tail > 0 {
                libc::munmap(p.add(head + ARENA_SIZE).cast(), tail);
            }
            let a = p.add(head);
            // Remote-free lists keep a count in the top 16 address bits.
            if (a.addr() + ARENA_SIZE) >> crate::pool::TAG_SHIFT != 0 {
                libc::munmap(a.cast(), ARENA_SIZE);
                return core::ptr::null_mut();
            }
            a
        }
    }
}

/// Returns an arena to the OS.
///
/// # Safety
///
/// `arena` came from [`map_arena`] and nothing in it is used again.
pub(crate) unsafe fn unmap_arena(arena: *mut u8) {
    #[cfg(any(miri, loom))]
    // SAFETY: allocated by `map_arena` with this layout.
    unsafe {
        std::alloc::GlobalAlloc::dealloc(
            &std::alloc::System,
            arena,
            core::alloc::Layout::from_size_align_unchecked(ARENA_SIZE, ARENA_SIZE),
        );
    }
    #[cfg(not(any(miri, loom)))]
    // SAFETY: the caller passes a whole arena mapped by `map_arena`.
    unsafe {
        libc::munmap(arena.cast(), ARENA_SIZE);
    }
}

/// Gives the physical pages of `[start, start + len)` back to the OS; the range
/// reads as zeros afterwards. Returns `false` (and does nothing) if the range is
/// not page-aligned.
///
/// # Safety
///
/// The range lies inside one arena and holds nothing anyone will read as data.
pub(crate) unsafe fn purge(start: *mut u8, len: usize) -> bool {
    let page = page_size();
    if !start.addr().is_multiple_of(page) || !len.is_multiple_of(page) {
        return false;
    }
    #[cfg(any(miri, loom))]
    // SAFETY: the caller owns the range.
    unsafe {
        core::ptr::write_bytes(start, 0, len);
    }
    #[cfg(not(any(miri, loom)))]
    {
        // SAFETY: page-aligned range of a private anonymous mapping owned by the caller.
        let rc = unsafe { libc::madvise(start.cast(), len, libc::MADV_DONTNEED) };
        if rc != 0 {
            return false;
        }
    }
    true
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn arena_is_aligned_and_zeroed() {
        assert!(page_size().is_power_of_two());
        let a = map_arena();
        assert!(!a.is_null());
        assert_eq!(a.addr() % ARENA_SIZE, 0);
        // SAFETY: the arena is ours and ARENA_SIZE long.
        unsafe {
            assert_eq!(*a, 0);
            assert_eq!(*a.add(ARENA_SIZE - 1), 0);
            a.write_bytes(7, 8192);
            assert!(purge(a, 8192));
            assert_eq!(*a.add(100), 0);
            assert!(!purge(a.add(1), 4096));
            unmap_arena(a);
        }
    }
}
