//! Synchronisation primitives for this crate.
//!
//! Every other module imports atomics, locks, cells and thread-locals from here, never from
//! `std::sync` or `loom` directly. Under `cfg(loom)` these names map to loom's model-checked
//! types, so the loom tests exercise the same code that ships; otherwise they are the real
//! primitives. The wrappers give both worlds one API: [`Mutex::lock`] returns the guard
//! directly (no lock in this crate is ever held while user code runs, so poisoning cannot
//! happen and is ignored), and [`UnsafeCell`] has loom's `with` / `with_mut` shape.

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::{lazy_static, thread_local};

#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};

#[cfg(not(loom))]
type Inner<T> = std::sync::Mutex<T>;
#[cfg(loom)]
type Inner<T> = loom::sync::Mutex<T>;

#[cfg(not(loom))]
type InnerGuard<'a, T> = std::sync::MutexGuard<'a, T>;
#[cfg(loom)]
type InnerGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

/// A mutual-exclusion lock whose `lock` returns the guard directly.
#[derive(Debug)]
pub(crate) struct Mutex<T>(Inner<T>);

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`.
    #[cfg(not(loom))]
    pub(crate) const fn new(value: T) -> Self {
        Self(Inner::new(value))
    }

    /// A new unlocked mutex holding `value`.
    #[cfg(loom)]
    pub(crate) fn new(value: T) -> Self {
        Self(Inner::new(value))
    }

    /// Locks, waiting as long as needed. A poisoned lock is taken anyway: this crate never
    /// runs user code under a lock, so the data behind it is always consistent.
    pub(crate) fn lock(&self) -> InnerGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// An `UnsafeCell` with loom's closure-based API.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    /// A new cell holding `value`.
    pub(crate) const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    /// Calls `f` with a mutable raw pointer to the contents.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

// ---- An asymmetric store-load barrier -------------------------------------------------------
//
// A magazine's owner consumes its own spare tokens on every return by writing its own counter;
// a thread that takes another magazine's spare token (rare: only when the pool is full) writes
// the takers' counter. That is Dekker's problem: each side writes its counter, then reads the
// other's, and at least one of them must see the other's write, which needs a store-load
// barrier on both sides. A full fence (or a compare-and-swap) on the owner's side would cost
// most of a get and return, so the barrier is made asymmetric: on Linux the owner's side is a
// compiler fence only, and the rare side runs `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`,
// which makes every running thread of the process pass a full memory barrier (threads not
// running pass one when they are switched). Where that is unavailable (other systems, Miri, a
// kernel without it), both sides use `fence(SeqCst)`. The choice is made once, when the first
// pool is built, and never changes. Under loom, which does not model `SeqCst` fences, both
// sides use read-modify-writes, which always read the latest value, so the models check the
// same protocol with the same guarantee.

/// The owner's side: stores `value` into its counter `mine`, then loads the other side's
/// counter `theirs`, the store ordered before the load against [`other_side_barrier`].
#[inline(always)]
pub(crate) fn owner_store_then_load(
    mine: &AtomicUsize,
    value: usize,
    theirs: &AtomicUsize,
) -> usize {
    #[cfg(not(loom))]
    {
        mine.store(value, Ordering::Relaxed);
        if barrier::is_membarrier() {
            std::sync::atomic::compiler_fence(Ordering::SeqCst);
        } else {
            std::sync::atomic::fence(Ordering::SeqCst);
        }
        theirs.load(Ordering::Relaxed)
    }
    #[cfg(loom)]
    {
        mine.swap(value, Ordering::SeqCst);
        theirs.fetch_add(0, Ordering::SeqCst)
    }
}

/// The owner's addition to its counter: a load and a store, as no other thread writes it.
/// Under loom a read-modify-write, like every owner write to a counter the other side reads
/// with read-modify-writes: with a plain store there, loom produced executions in which the
/// owner read back an older value than its own store, after another thread's
/// read-modify-write of the same location; read-modify-writes avoid the question.
#[inline(always)]
pub(crate) fn owner_add(mine: &AtomicUsize, n: usize) {
    #[cfg(not(loom))]
    mine.store(
        mine.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
    #[cfg(loom)]
    mine.fetch_add(n, Ordering::SeqCst);
}

/// The owner's plain store into its counter (to undo a consumption).
#[inline(always)]
pub(crate) fn owner_store(mine: &AtomicUsize, value: usize) {
    #[cfg(not(loom))]
    mine.store(value, Ordering::Relaxed);
    #[cfg(loom)]
    mine.swap(value, Ordering::SeqCst);
}

/// The other side's barrier: after its read-modify-write of its own counter, before it loads
/// the owners' counters with [`other_side_load`].
pub(crate) fn other_side_barrier() {
    #[cfg(not(loom))]
    barrier::heavy();
}

/// The other side's load of an owner's counter (or of its own, after the barrier).
#[inline]
pub(crate) fn other_side_load(counter: &AtomicUsize) -> usize {
    #[cfg(not(loom))]
    return counter.load(Ordering::Relaxed);
    #[cfg(loom)]
    return counter.fetch_add(0, Ordering::SeqCst);
}

/// Chooses the barrier once, before any pool is used (called when a pool is built).
pub(crate) fn init_barrier() {
    #[cfg(not(loom))]
    barrier::init();
}

#[cfg(not(loom))]
mod barrier {
    use std::sync::atomic::{AtomicU8, Ordering, fence};

    const UNKNOWN: u8 = 0;
    const MEMBARRIER: u8 = 1;
    const FENCE: u8 = 2;

    /// Set once by `init`, before the first pool exists, and never changed: every use of a
    /// pool happens after its construction, so every thread reads the settled value.
    static MODE: AtomicU8 = AtomicU8::new(UNKNOWN);

    #[inline(always)]
    pub(super) fn is_membarrier() -> bool {
        MODE.load(Ordering::Relaxed) == MEMBARRIER
    }

    pub(super) fn init() {
        if MODE.load(Ordering::Acquire) == UNKNOWN {
            let mode = if os::register() { MEMBARRIER } else { FENCE };
            let _ = MODE.compare_exchange(UNKNOWN, mode, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    pub(super) fn heavy() {
        if is_membarrier() {
            os::barrier();
        } else {
            fence(Ordering::SeqCst);
        }
    }

    #[cfg(all(target_os = "linux", not(miri)))]
    mod os {
        // The kernel's ABI (include/uapi/linux/membarrier.h).
        const CMD_GLOBAL: libc::c_long = 1 << 0;
        const CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
        const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

        fn membarrier(cmd: libc::c_long) -> bool {
            // SAFETY: `membarrier` takes two integers and touches no memory of ours.
            unsafe {
                libc::syscall(
                    libc::SYS_membarrier,
                    cmd,
                    0 as libc::c_long,
                    0 as libc::c_long,
                ) == 0
            }
        }

        /// Registers the process for expedited barriers; `false` if the kernel cannot.
        pub(super) fn register() -> bool {
            membarrier(CMD_REGISTER_PRIVATE_EXPEDITED)
        }

        /// A full barrier on every running thread of the process. A forked child is not
        /// registered (the registration belongs to the parent's address space): it registers
        /// on first use. If expedited barriers fail anyway, the global one (slow, but
        /// available wherever the registration succeeded) serves.
        pub(super) fn barrier() {
            if membarrier(CMD_PRIVATE_EXPEDITED) {
                return;
            }
            if register() && membarrier(CMD_PRIVATE_EXPEDITED) {
                return;
            }
            if !membarrier(CMD_GLOBAL) {
                // Owners rely on this barrier; without it the cap could be exceeded. This
                // cannot happen on a kernel that accepted the registration.
                std::process::abort();
            }
        }
    }

    #[cfg(not(all(target_os = "linux", not(miri))))]
    mod os {
        pub(super) fn register() -> bool {
            false
        }

        pub(super) fn barrier() {
            unreachable!("membarrier is only chosen on Linux")
        }
    }
}
