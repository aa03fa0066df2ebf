//! The global instance: the `static` core, the thread-local heap pointer,
//! thread start and exit, allocation during TLS teardown, and fork handlers.
//!
//! `HEAP` is a `const`-initialised thread-local `Cell` with no destructor, so
//! reading it is one TLS load with no lazy-init check and it stays readable
//! during and after TLS teardown. It starts at a sentinel heap whose every
//! class has the empty sentinel pool: the first allocation falls into the slow
//! path, which creates the thread's heap and registers it with the thread-exit
//! hook ([`exit_hook`]: a `pthread_key` destructor on Unix, the `GUARD`
//! thread-local's destructor elsewhere), which retires the heap at thread exit
//! (live pools are abandoned for other threads to free into and adopt) and points
//! `HEAP` at a second, "dead" sentinel. Allocations after that (later
//! destructors) are served by a locked after-teardown heap.

use crate::core_alloc::Core;
use crate::heap::{Heap, HeapKind};
use crate::lock::Lock;
use core::alloc::Layout;
use core::cell::Cell;

/// The core behind every `PoolAlloc`.
pub(crate) static CORE: Core = Core::new();

struct SentinelHeap(Heap);
// SAFETY: sentinel heaps are never written: the slow path diverts on their kind
// before touching them, and no pool names them as owner.
unsafe impl Sync for SentinelHeap {}

static UNINIT_HEAP: SentinelHeap = SentinelHeap(Heap::new(
    (&raw const CORE.empty).cast_mut(),
    HeapKind::Uninit,
));
static DEAD_HEAP: SentinelHeap = SentinelHeap(Heap::new(
    (&raw const CORE.empty).cast_mut(),
    HeapKind::Dead,
));

/// The heap of threads past TLS teardown (or when a heap could not be made).
pub(crate) static GLOBAL_HEAP: Lock<Heap> = Lock::new(Heap::new(
    (&raw const CORE.empty).cast_mut(),
    HeapKind::Real,
));

thread_local! {
    static HEAP: Cell<*mut Heap> = const { Cell::new((&raw const UNINIT_HEAP.0).cast_mut()) };
    static GUARD: Guard = const { Guard };
}

/// Retires the thread's heap when the thread's TLS is destroyed.
struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        let h = HEAP.replace((&raw const DEAD_HEAP.0).cast_mut());
        // SAFETY: `h` is this thread's heap; nothing uses it after the replace.
        unsafe {
            if (*h).kind == HeapKind::Real {
                CORE.retire_heap(h);
            }
        }
    }
}

/// The calling thread's heap (possibly a sentinel).
#[inline(always)]
pub(crate) fn heap() -> *mut Heap {
    HEAP.get()
}

/// `alloc` (`zero`: `alloc_zeroed`) for the calling thread: the core's fast path inline,
/// everything else in one call out of line (a tail call, so the fast path saves no register).
///
/// # Safety
///
/// `layout` has non-zero size.
#[inline(always)]
pub(crate) unsafe fn alloc(layout: Layout, zero: bool) -> *mut u8 {
    let h = heap();
    // SAFETY: `h` is this thread's heap (a sentinel's pools are empty, so the fast path
    // falls through to `alloc_slow`).
    unsafe {
        CORE.alloc_with(h, layout, zero, || {
            alloc_slow(layout.size(), layout.align(), h, zero)
        })
    }
}

/// `alloc` beyond the fast path for the calling thread.
///
/// # Safety
///
/// `heap` is the calling thread's heap; `size` and `align` make a valid layout of non-zero
/// size. (The arguments in the order the fast path has them: the jump here moves no
/// register.)
#[inline(never)]
unsafe fn alloc_slow(size: usize, align: usize, heap: *mut Heap, zero: bool) -> *mut u8 {
    // SAFETY: per the contract (a sentinel makes the core return null).
    unsafe {
        let p = Core::alloc_general(size, align, heap, &CORE, zero);
        if p.is_null() {
            let layout = Layout::from_size_align_unchecked(size, align);
            return alloc_unowned(heap, layout, zero);
        }
        p
    }
}

/// `realloc` for the calling thread.
///
/// # Safety
///
/// As for [`GlobalAlloc::realloc`].
#[inline]
#[cfg_attr(feature = "debug", allow(dead_code))]
pub(crate) unsafe fn realloc(p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
    let h = heap();
    // SAFETY: per the contract; `h` is this thread's heap.
    unsafe {
        let q = CORE.realloc(h, p, layout, new_size);
        if !q.is_null() || (*h).kind == HeapKind::Real {
            return q;
        }
        // A sentinel heap: allocate through the thread's slow path, copy, free.
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let q = alloc_unowned(h, new_layout, false);
        if !q.is_null() {
            core::ptr::copy_nonoverlapping(p, q, layout.size().min(new_size));
            CORE.dealloc(h, p, layout);
        }
        q
    }
}

/// Allocation for a thread whose heap is a sentinel (the core returned null): makes the
/// thread's heap, or uses the locked heap after TLS teardown. Null for a real heap (the OS
/// refused memory).
///
/// # Safety
///
/// `heap` is the calling thread's heap; `layout` has non-zero size.
#[cold]
#[inline(never)]
unsafe fn alloc_unowned(heap: *mut Heap, layout: Layout, zero: bool) -> *mut u8 {
    // SAFETY: heaps used here are this thread's own or the locked global one.
    unsafe {
        let via = |h: *mut Heap| {
            if zero {
                CORE.alloc_zeroed(h, layout)
            } else {
                CORE.alloc(h, layout)
            }
        };
        match (*heap).kind {
            HeapKind::Real => return core::ptr::null_mut(),
            HeapKind::Uninit => {
                let h = CORE.new_heap();
                if !h.is_null() {
                    // Install before registering the exit hook: registration may allocate.
                    HEAP.set(h);
                    init_process();
                    if exit_hook::register(h) || GUARD.try_with(|_| ()).is_ok() {
                        return via(h);
                    }
                    // TLS is being torn down: no destructor would run; give the heap back.
                    HEAP.set((&raw const DEAD_HEAP.0).cast_mut());
                    CORE.retire_heap(h);
                }
            }
            HeapKind::Dead => {}
        }
        let g = GLOBAL_HEAP.lock();
        // A raw pointer, not `&mut`: another thread may be holding the heap's own lock.
        via(g.as_ptr())
    }
}

/// Runs the current thread's heap's collection, then the global one's and the core's.
pub(crate) fn collect() {
    let h = heap();
    // SAFETY: `h` is this thread's heap; the global heap is used under its lock.
    unsafe {
        if (*h).kind == HeapKind::Real {
            CORE.collect_heap(h);
        }
        let g = GLOBAL_HEAP.lock();
        CORE.collect_heap(g.as_ptr());
    }
    CORE.collect();
}

/// Retiring a thread's heap at thread exit. On Unix a `pthread_key` destructor does it:
/// unlike a Rust thread-local destructor, it also runs for a thread whose first allocation
/// happens in another key's destructor (glibc runs Rust's thread-local destructors first, and
/// a destructor registered after them never runs; such threads used to keep their pools), and
/// it runs after the thread's Rust thread-local destructors, which can go on using the heap.
/// Elsewhere, and if no key can be had, `GUARD` does it.
mod exit_hook {
    use super::*;

    /// The key, or `usize::MAX` before `init_process` made it (or when it could not).
    #[cfg(all(unix, not(miri)))]
    pub(super) static KEY: crate::sync::AtomicUsize = crate::sync::AtomicUsize::new(usize::MAX);

    #[cfg(all(unix, not(miri)))]
    extern "C" fn thread_done(value: *mut core::ffi::c_void) {
        let h = value.cast::<Heap>();
        if HEAP.get() == h {
            HEAP.set((&raw const DEAD_HEAP.0).cast_mut());
        }
        // SAFETY: `h` is the heap this thread installed and registered; the thread is exiting
        // and nothing uses the heap after the replace above.
        unsafe {
            if (*h).kind == HeapKind::Real {
                CORE.retire_heap(h);
            }
        }
    }

    /// Makes the key (once, from `init_process`).
    #[cfg(all(unix, not(miri)))]
    pub(super) fn make_key() {
        let mut key: libc::pthread_key_t = 0;
        // SAFETY: `key` is written by pthread_key_create; the destructor is a plain function.
        if unsafe { libc::pthread_key_create(&mut key, Some(thread_done)) } == 0 {
            KEY.store(key as usize, crate::sync::Ordering::Release);
        }
    }

    /// Arranges for `h`, the calling thread's new heap, to be retired at thread exit;
    /// `false` if the key is unavailable.
    pub(super) fn register(h: *mut Heap) -> bool {
        #[cfg(all(unix, not(miri)))]
        {
            let key = KEY.load(crate::sync::Ordering::Acquire);
            // SAFETY: a key made by `make_key`; the value is the thread's own heap.
            key != usize::MAX
                && unsafe {
                    libc::pthread_setspecific(key as libc::pthread_key_t, h.cast_const().cast())
                } == 0
        }
        #[cfg(not(all(unix, not(miri))))]
        {
            let _ = h;
            false
        }
    }
}

/// Once per process, before any thread goes on with a heap: registers the `fork` handlers and
/// makes the thread-exit key. Every thread that gets a heap passes here, and none may go on
/// (and perhaps fork) before the handlers are registered: the first caller registers them
/// while later callers wait, so no thread can fork in the window between "someone is
/// registering" and "registered" (a flag set before `pthread_atfork` returned used to open
/// that window).
#[cfg(all(unix, not(miri)))]
fn init_process() {
    use crate::sync::{AtomicU32, Ordering};
    const UNREGISTERED: u32 = 0;
    const REGISTERING: u32 = 1;
    const REGISTERED: u32 = 2;
    static STATE: AtomicU32 = AtomicU32::new(UNREGISTERED);
    if STATE.load(Ordering::Acquire) == REGISTERED {
        return;
    }
    if STATE
        .compare_exchange(
            UNREGISTERED,
            REGISTERING,
            Ordering::Acquire,
            Ordering::Acquire,
        )
        .is_err()
    {
        // Another thread is registering: wait. (Its own allocations meanwhile go to its heap,
        // installed before it got here, so it never waits on itself.)
        while STATE.load(Ordering::Acquire) != REGISTERED {
            crate::sync::yield_now();
        }
        return;
    }
    /// The locked heap itself (its own lock is taken through the pointer).
    fn global_heap() -> *mut Heap {
        GLOBAL_HEAP.value_ptr()
    }
    // Every lock, in the core's lock order: no heap can be published meanwhile (the
    // retired lock), then the locked heap, every heap, the abandoned list, the arenas.
    extern "C" fn prepare() {
        CORE.retired.acquire_raw();
        GLOBAL_HEAP.acquire_raw();
        // SAFETY: heaps live as long as the core; only their locks are touched.
        unsafe {
            (*global_heap()).lock.acquire_raw();
            CORE.for_each_heap(|h| (*h).lock.acquire_raw());
        }
        CORE.abandoned.acquire_raw();
        CORE.arenas.acquire_raw();
    }
    extern "C" fn release() {
        // SAFETY: `prepare` took every lock in this process (parent) or in the
        // parent whose memory the child copied (child, which has one thread).
        unsafe {
            CORE.arenas.release_raw();
            CORE.abandoned.release_raw();
            CORE.for_each_heap(|h| (*h).lock.release_raw());
            (*global_heap()).lock.release_raw();
            GLOBAL_HEAP.release_raw();
            CORE.retired.release_raw();
        }
    }
    // SAFETY: the handlers are plain functions that only take and release our locks.
    unsafe {
        libc::pthread_atfork(Some(prepare), Some(release), Some(release));
    }
    exit_hook::make_key();
    STATE.store(REGISTERED, Ordering::Release);
}

/// No `fork` under Miri or on Windows, and thread exit goes through `GUARD`: nothing to do.
#[cfg(any(miri, not(unix)))]
fn init_process() {}
