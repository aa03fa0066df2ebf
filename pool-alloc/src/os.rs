//! The OS layer, the crate's only platform-specific file: arena mapping, unmapping, purging,
//! and the page size.
//!
//! Every platform gives the same three promises: an arena is [`ARENA_SIZE`] bytes aligned to
//! its size and reads as zeros when mapped; [`purge`] gives a range's physical pages back and
//! the range reads as zeros afterwards (so `alloc_zeroed` may skip its memset on purged
//! memory); [`unmap_arena`] gives the whole arena back.
//!
//! | platform | map | purge (reads as zeros after) | unmap |
//! |---|---|---|---|
//! | Linux | `mmap` twice the size, trim the ends | `madvise(MADV_DONTNEED)` (private anonymous memory reads back as zeros) | `munmap` |
//! | other Unix (macOS, the BSDs) | as Linux | a fresh anonymous `mmap(MAP_FIXED)` over the range (`MADV_DONTNEED` and `MADV_FREE` do not promise zeros there) | `munmap` |
//! | Windows | reserve twice the size, release, then reserve and commit the aligned arena inside it (retried if another thread took the spot) | `VirtualFree(MEM_DECOMMIT)` then `VirtualAlloc(MEM_COMMIT)`: recommitted pages are zeros | `VirtualFree(MEM_RELEASE)` |
//! | Miri, loom | `System`'s aligned, zeroed allocation | writes zeros | `System`'s free |

use crate::sync::{AtomicUsize, Ordering};

use crate::tunables::ARENA_SIZE;

#[cfg(not(loom))]
static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);

/// The OS page size, read once (4096 under Miri and loom).
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
        let p = sys::page_size().unwrap_or(4096);
        PAGE_SIZE.store(p, Ordering::Relaxed);
        p
    }
}

/// Whether an arena starting at `a` fits the remote-free lists' address packing (they keep a
/// count in the top address bits).
#[cfg(not(any(miri, loom)))]
fn fits_tagging(a: *mut u8) -> bool {
    (a.addr() + ARENA_SIZE) >> crate::pool::TAG_SHIFT == 0
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
        let a = sys::map_aligned();
        if a.is_null() || fits_tagging(a) {
            return a;
        }
        // SAFETY: `a` is a whole arena just mapped, and unused.
        unsafe { sys::unmap(a) };
        core::ptr::null_mut()
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
        sys::unmap(arena);
    }
}

/// Gives the physical pages of `[start, start + len)` back to the OS; the range
/// reads as zeros afterwards. Returns `false` (and does nothing) if the range is
/// not page-aligned or the OS refused.
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
        true
    }
    #[cfg(not(any(miri, loom)))]
    // SAFETY: a page-aligned range of one of our arenas, owned by the caller.
    unsafe {
        sys::purge(start, len)
    }
}

/// Unix: `mmap` and `munmap`; purging by `madvise` on Linux, by a fresh mapping elsewhere.
#[cfg(all(unix, not(any(miri, loom))))]
mod sys {
    use super::ARENA_SIZE;

    pub(super) fn page_size() -> Option<usize> {
        // SAFETY: sysconf has no preconditions.
        match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
            n if n > 0 => Some(n as usize),
            _ => None,
        }
    }

    pub(super) fn map_aligned() -> *mut u8 {
        let len = 2 * ARENA_SIZE;
        // SAFETY: an anonymous private mapping with no address hint touches no existing memory.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANON,
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
            p.add(head)
        }
    }

    /// # Safety
    /// `arena` is a whole arena from `map_aligned`, unused.
    pub(super) unsafe fn unmap(arena: *mut u8) {
        // SAFETY: as the caller promises.
        unsafe {
            libc::munmap(arena.cast(), ARENA_SIZE);
        }
    }

    /// # Safety
    /// A page-aligned range of one of our arenas, owned by the caller.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(super) unsafe fn purge(start: *mut u8, len: usize) -> bool {
        // SAFETY: as the caller promises; private anonymous memory reads back as zeros.
        unsafe { libc::madvise(start.cast(), len, libc::MADV_DONTNEED) == 0 }
    }

    /// # Safety
    /// A page-aligned range of one of our arenas, owned by the caller.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub(super) unsafe fn purge(start: *mut u8, len: usize) -> bool {
        // A fresh anonymous mapping over the range drops its pages and reads as zeros, which
        // `MADV_DONTNEED` and `MADV_FREE` do not promise here.
        // SAFETY: as the caller promises: the range is ours, so replacing it is harmless.
        let p = unsafe {
            libc::mmap(
                start.cast(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANON | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        p != libc::MAP_FAILED
    }
}

/// Windows: `VirtualAlloc` and `VirtualFree`.
#[cfg(all(windows, not(any(miri, loom))))]
mod sys {
    use super::ARENA_SIZE;
    use windows_sys::Win32::System::Memory::{
        MEM_COMMIT, MEM_DECOMMIT, MEM_RELEASE, MEM_RESERVE, PAGE_NOACCESS, PAGE_READWRITE,
        VirtualAlloc, VirtualFree,
    };
    use windows_sys::Win32::System::SystemInformation::{GetSystemInfo, SYSTEM_INFO};

    pub(super) fn page_size() -> Option<usize> {
        // SAFETY: GetSystemInfo fills the struct it is given; all-zero is a valid start.
        let info = unsafe {
            let mut info: SYSTEM_INFO = core::mem::zeroed();
            GetSystemInfo(&mut info);
            info
        };
        (info.dwPageSize > 0).then_some(info.dwPageSize as usize)
    }

    /// Reserves twice the size to find an aligned spot, releases it, and reserves and
    /// commits the arena there; another thread may take the spot in between, so it retries.
    pub(super) fn map_aligned() -> *mut u8 {
        for _ in 0..16 {
            // SAFETY: a reservation with no address hint touches no existing memory.
            let probe = unsafe {
                VirtualAlloc(
                    core::ptr::null(),
                    2 * ARENA_SIZE,
                    MEM_RESERVE,
                    PAGE_NOACCESS,
                )
            };
            if probe.is_null() {
                return core::ptr::null_mut();
            }
            let aligned = (probe.addr() + ARENA_SIZE - 1) & !(ARENA_SIZE - 1);
            // SAFETY: releases the whole reservation just made.
            unsafe { VirtualFree(probe, 0, MEM_RELEASE) };
            let hint = probe.cast::<u8>().with_addr(aligned);
            // SAFETY: asks for a fresh reservation at an address no one of ours uses.
            let p = unsafe {
                VirtualAlloc(
                    hint.cast(),
                    ARENA_SIZE,
                    MEM_RESERVE | MEM_COMMIT,
                    PAGE_READWRITE,
                )
            };
            if !p.is_null() {
                return p.cast();
            }
        }
        core::ptr::null_mut()
    }

    /// # Safety
    /// `arena` is a whole arena from `map_aligned`, unused.
    pub(super) unsafe fn unmap(arena: *mut u8) {
        // SAFETY: as the caller promises: the base of a reservation of ours.
        unsafe { VirtualFree(arena.cast(), 0, MEM_RELEASE) };
    }

    /// # Safety
    /// A page-aligned range of one of our arenas, owned by the caller.
    pub(super) unsafe fn purge(start: *mut u8, len: usize) -> bool {
        // SAFETY: as the caller promises; pages committed again read as zeros.
        unsafe {
            VirtualFree(start.cast(), len, MEM_DECOMMIT) != 0
                && !VirtualAlloc(start.cast(), len, MEM_COMMIT, PAGE_READWRITE).is_null()
        }
    }
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
