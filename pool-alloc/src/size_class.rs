//! Routing: which size class serves a `(size, align)` request, if any.
//!
//! One function, [`route`], is used by `alloc`, `dealloc` and `realloc`, so a
//! block is always freed through the path that allocated it: there is no address
//! lookup as in pymalloc, because Rust hands the layout back on free.
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
    fn class_sizes_increase() {
        for c in 1..NUM_CLASSES {
            assert!(class_size(c) > class_size(c - 1));
            assert_eq!(class_size(c) % 16, 0);
            assert_eq!(class_of(class_size(c)), c);
        }
    }
}
