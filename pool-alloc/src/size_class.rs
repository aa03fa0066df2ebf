//! Routing: which size class serves a `(size, align)` request, if any.
//!
//! One function, [`route`], decides for `alloc`, `dealloc` and `realloc`, so a
//! block is always freed through the path that allocated it: there is no address
//! lookup as in pymalloc, because Rust hands the layout back on free. The fast
//! paths use two shortcuts that agree with it (the tests check both): a block is a
//! pool block exactly when its size is at most [`SMALL_LIMIT`] and its alignment at
//! most [`MAX_ALIGN`] (so a free computes no class), and [`direct_index`] (for the
//! common alignments, an index into the heap's table of current pools by size,
//! mimalloc's `pages_free_direct`, so that an allocation computes no class either).
//!
//! Classes are 16 bytes apart up to 512 bytes, then 64 bytes apart up to
//! [`SMALL_LIMIT`]. Blocks start at [`crate::pool::POOL_HEADER`] (a multiple of
//! 128) inside a 16 KiB-aligned pool, so a class whose block size is a multiple
//! of an alignment `a <= 128` yields `a`-aligned blocks. A request with
//! `align > 16` is rounded up to a multiple of `align`; every multiple of 16 up
//! to 512, and of 64 above it, is a class size, so the rounded size is exactly a
//! class size and the block is aligned. Larger alignments go to the system.

pub use crate::tunables::{MAX_ALIGN, SMALL_LIMIT};
/// Number of size classes.
pub const NUM_CLASSES: usize = 40;
const FINE_LIMIT: usize = 512;

/// Block size of class `class`.
#[inline]
pub const fn class_size(class: usize) -> usize {
    if class < 32 {
        (class + 1) * 16
    } else {
        FINE_LIMIT + (class - 31) * 64
    }
}

/// The class serving `size` bytes (`size <= SMALL_LIMIT`).
#[inline]
const fn class_of(size: usize) -> usize {
    if size <= FINE_LIMIT {
        size.saturating_sub(1) >> 4
    } else {
        31 + ((size - FINE_LIMIT + 63) >> 6)
    }
}

/// The largest alignment served through [`direct_index`]: every class size is a multiple of
/// it, so the class of the size alone is aligned enough.
pub const DIRECT_ALIGN: usize = 16;

/// Entries of a heap's table of current pools by size: one per 16 bytes up to
/// [`SMALL_LIMIT`], and one for size 0.
pub const DIRECT_LEN: usize = SMALL_LIMIT / 16 + 1;

/// The index in a heap's table of current pools of a request of `size` bytes
/// (`size <= SMALL_LIMIT`, alignment at most [`DIRECT_ALIGN`]): one addition and one shift.
#[inline(always)]
pub const fn direct_index(size: usize) -> usize {
    (size + 15) >> 4
}

/// The indices of a heap's table of current pools that name the current pool of `class`:
/// one for a class up to 512 bytes (two for class 0, which size 0 shares), four for a class
/// of the 64-byte steps above.
pub const fn direct_indices(class: usize) -> core::ops::Range<usize> {
    if class == 0 {
        0..2
    } else if class < 32 {
        class + 1..class + 2
    } else {
        33 + 4 * (class - 32)..37 + 4 * (class - 32)
    }
}

/// The size class for a request, or `None` when the system allocator serves it.
#[inline]
pub const fn route(size: usize, align: usize) -> Option<usize> {
    let size = if align <= 16 {
        size
    } else if align <= MAX_ALIGN {
        // Cannot overflow: callers pass sizes of valid layouts (<= isize::MAX).
        (if size == 0 { 1 } else { size } + align - 1) & !(align - 1)
    } else {
        return None;
    };
    if size > SMALL_LIMIT {
        None
    } else {
        Some(class_of(size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_and_fit() {
        assert_eq!(class_size(NUM_CLASSES - 1), SMALL_LIMIT);
        let step = if cfg!(miri) { 7 } else { 1 };
        for size in (0..=SMALL_LIMIT + 64).step_by(step) {
            for shift in 0..=12 {
                let align = 1usize << shift;
                match route(size, align) {
                    Some(c) => {
                        assert!(c < NUM_CLASSES);
                        let bs = class_size(c);
                        assert!(bs >= size, "size {size} align {align} class {c}");
                        assert_eq!(bs % align, 0, "size {size} align {align}");
                        if c > 0 {
                            // the smallest class that fits
                            let prev = class_size(c - 1);
                            assert!(prev < size || !prev.is_multiple_of(align));
                        }
                    }
                    None => assert!(
                        size > SMALL_LIMIT
                            || align > MAX_ALIGN
                            || size.next_multiple_of(align) > SMALL_LIMIT
                    ),
                }
            }
        }
    }

    #[test]
    fn the_shortcuts_agree_with_route() {
        let step = if cfg!(miri) { 7 } else { 1 };
        for size in (0..=SMALL_LIMIT + 64).step_by(step) {
            for shift in 0..=12 {
                let align = 1usize << shift;
                // `SMALL_LIMIT` is a multiple of every alignment up to `MAX_ALIGN`, so rounding
                // a small size up to its alignment keeps it small.
                let small = size <= SMALL_LIMIT && align <= MAX_ALIGN;
                assert_eq!(
                    small,
                    route(size, align).is_some(),
                    "size {size} align {align}"
                );
                if size <= SMALL_LIMIT && align <= DIRECT_ALIGN {
                    let c = route(size, align).unwrap();
                    assert!(
                        direct_indices(c).contains(&direct_index(size)),
                        "size {size}"
                    );
                }
            }
        }
        // The classes' indices cover the table once each, in order.
        let mut next = 0;
        for c in 0..NUM_CLASSES {
            let r = direct_indices(c);
            assert_eq!(r.start, next, "class {c}");
            assert!(!r.is_empty());
            next = r.end;
        }
        assert_eq!(next, DIRECT_LEN);
    }

    #[test]
    fn class_sizes_increase() {
        for c in 1..NUM_CLASSES {
            assert!(class_size(c) > class_size(c - 1));
            assert_eq!(class_size(c) % 16, 0);
            assert_eq!(class_of(class_size(c)), c);
        }
    }
}
