//! Introspection: the [`Stats`] snapshot and its CPython-style `Display` table.

use core::fmt;

/// Counters for one size class.
///
/// # Examples
///
/// ```
/// let s = pool_alloc::PoolAlloc::new().stats();
/// for c in &s.classes {
///     assert!(c.block_size > 0);
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClassStats {
    /// Block size of the class in bytes.
    pub block_size: usize,
    /// Pools currently assigned to this class.
    pub pools: usize,
    /// Blocks handed out and not yet freed.
    pub blocks_in_use: usize,
    /// Blocks carved or not yet carved in this class's pools that are available.
    pub blocks_free: usize,
}

/// A snapshot of the allocator's counters, returned by
/// [`PoolAlloc::stats`](crate::PoolAlloc::stats).
///
/// # Examples
///
/// ```
/// let a = pool_alloc::PoolAlloc::new();
/// let s = a.stats();
/// assert!(s.arenas <= s.arenas_high_water);
/// println!("{s}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stats {
    /// Bytes in small blocks handed out (block size times blocks in use).
    pub small_bytes_in_use: usize,
    /// Bytes of arenas currently mapped from the OS.
    pub bytes_mapped: usize,
    /// Arenas currently mapped.
    pub arenas: usize,
    /// The most arenas ever mapped at once.
    pub arenas_high_water: usize,
    /// Arenas returned to the OS so far.
    pub arenas_released: usize,
    /// One entry per size class, smallest first.
    pub classes: Vec<ClassStats>,
    /// Live allocations served by the system allocator.
    pub large_count: usize,
    /// Bytes of live allocations served by the system allocator.
    pub large_bytes: usize,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Small block threshold = {}, in {} size classes.",
            self.classes.last().map_or(0, |c| c.block_size),
            self.classes.len()
        )?;
        writeln!(f)?;
        writeln!(f, "class   size   num pools   blocks in use  avail blocks")?;
        writeln!(f, "-----   ----   ---------   -------------  ------------")?;
        for (i, c) in self.classes.iter().enumerate() {
            if c.pools == 0 && c.blocks_in_use == 0 {
                continue;
            }
            writeln!(
                f,
                "{:>5} {:>6} {:>11} {:>15} {:>13}",
                i, c.block_size, c.pools, c.blocks_in_use, c.blocks_free
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "# arenas allocated total           = {:>15}",
            self.arenas_high_water
                .max(self.arenas + self.arenas_released)
        )?;
        writeln!(
            f,
            "# arenas reclaimed                 = {:>15}",
            self.arenas_released
        )?;
        writeln!(
            f,
            "# arenas highwater mark            = {:>15}",
            self.arenas_high_water
        )?;
        writeln!(
            f,
            "# arenas allocated current         = {:>15}",
            self.arenas
        )?;
        writeln!(
            f,
            "bytes mapped in arenas             = {:>15}",
            self.bytes_mapped
        )?;
        writeln!(
            f,
            "bytes in small blocks in use       = {:>15}",
            self.small_bytes_in_use
        )?;
        writeln!(
            f,
            "# large (system) allocations       = {:>15}",
            self.large_count
        )?;
        write!(
            f,
            "bytes in large (system) allocations = {:>14}",
            self.large_bytes
        )
    }
}
