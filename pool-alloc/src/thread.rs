//! The global instance: the `static` core, the thread-local heap pointer,
//! thread start and exit, allocation during TLS teardown, and fork handlers.
//!
//! `HEAP` is a `const`-initialised thread-local `Cell` with no destructor, so
//! reading it is one TLS load with no lazy-init check and it stays readable
//! during and after TLS teardown. It starts at a sentinel heap whose every
//! class has the empty sentinel pool: the first allocation falls into the slow
//! path, which creates the thread's heap and touches `GUARD`, a thread-local
//! whose destructor retires the heap at thread exit (live pools are abandoned
//! for other threads to free into and adopt) and points `HEAP` at a second,
//! "dead" sentinel. Allocations after that (other TLS destructors) are served
//! by a locked after-teardown heap.

use crate::core_alloc::Core;
use crate::heap::{Heap, alloc_fast, kind};
use crate::lock::Lock;
use core::cell::Cell;

/// The core behind every `PoolAlloc`.
pub(crate) static CORE: Core = Core::new();

struct SentinelHeap(Heap);
// SAFETY: sentinel heaps are never written: the slow path diverts on their kind
// before touching them, and no pool names them as owner.
unsafe impl Sync for SentinelHeap {}

static UNINIT_HEAP: SentinelHeap =
    SentinelHeap(Heap::new((&raw const CORE.empty).cast_mut(), kind::UNINIT));
static DEAD_HEAP: SentinelHeap =
    SentinelHeap(Heap::new((&raw const CORE.empty).cast_mut(), kind::DEAD));

/// The heap of threads past TLS teardown (or when a heap could not be made).
pub(crate) static GLOBAL_HEAP: Lock<Heap> =
    Lock::new(Heap::new((&raw const CORE.empty).cast_mut(), kind::REAL));

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
            if (*h).kind == kind::REAL {
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

/// Slow path for a thread whose heap is a sentinel.
///
/// # Safety
///
/// `heap` is the calling thread's (sentinel) heap; `class < NUM_CLASSES`.
#[cold]
#[inline(never)]
pub(crate) unsafe fn alloc_unowned(heap: *mut Heap, class: usize, zero: bool) -> (*mut u8, bool) {
    // SAFETY: heaps used here are this thread's own or the locked global one.
    unsafe {
        if (*heap).kind == kind::UNINIT {
            let h = CORE.new_heap();
            if !h.is_null() {
                // Install before registering the destructor: registration may allocate.
                HEAP.set(h);
                register_fork_handlers();
                if GUARD.try_with(|_| ()).is_ok() {
                    return CORE.alloc_slow(h, class, zero);
                }
                // TLS is being torn down: no destructor would run; give the heap back.
                HEAP.set((&raw const DEAD_HEAP.0).cast_mut());
                CORE.retire_heap(h);
            }
        }
        let mut g = GLOBAL_HEAP.lock();
        let h: *mut Heap = &mut *g;
        let p = alloc_fast(h, class);
        if !p.is_null() {
            return (p, false);
        }
        CORE.alloc_slow(h, class, zero)
    }
}

/// Runs the current thread's heap's collection, then the global one's and the core's.
pub(crate) fn collect() {
    let h = heap();
    // SAFETY: `h` is this thread's heap; the global heap is used under its lock.
    unsafe {
        if (*h).kind == kind::REAL {
            CORE.collect_heap(h);
        }
        let mut g = GLOBAL_HEAP.lock();
        CORE.collect_heap(&mut *g);
    }
    CORE.collect();
}

/// Registers the `fork` handlers once per process. Every thread that gets a heap passes
/// here, and none may go on (and perhaps fork) before the handlers are registered: the first
/// caller registers them while later callers wait, so no thread can fork in the window
/// between "someone is registering" and "registered" (a flag set before `pthread_atfork`
/// returned used to open that window).
#[cfg(all(unix, not(miri)))]
fn register_fork_handlers() {
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
    extern "C" fn prepare() {
        GLOBAL_HEAP.acquire_raw();
        CORE.abandoned.acquire_raw();
        CORE.arenas.acquire_raw();
        CORE.retired.acquire_raw();
    }
    extern "C" fn release() {
        // SAFETY: `prepare` took every lock in this process (parent) or in the
        // parent whose memory the child copied (child, which has one thread).
        unsafe {
            CORE.retired.release_raw();
            CORE.arenas.release_raw();
            CORE.abandoned.release_raw();
            GLOBAL_HEAP.release_raw();
        }
    }
    // SAFETY: the handlers are plain functions that only take and release our locks.
    unsafe {
        libc::pthread_atfork(Some(prepare), Some(release), Some(release));
    }
    STATE.store(REGISTERED, Ordering::Release);
}

/// No `fork` under Miri or on Windows: nothing to register.
#[cfg(any(miri, not(unix)))]
fn register_fork_handlers() {}
