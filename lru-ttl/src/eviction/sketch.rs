//! The count-min sketch of W-TinyLFU.

/// How often keys were asked for lately: a count-min sketch of four rows of saturating
/// 4-bit counts (one byte each here), indexed by the key's hash, all halved after ten times
/// as many additions as the entries it was sized for, so old popularity fades.
#[derive(Default)]
pub(super) struct Sketch {
    pub(super) counters: Vec<u8>,
    /// `counters.len() / 4 - 1`: a row's index mask.
    pub(super) mask: usize,
    /// Additions since the last halving.
    pub(super) added: u64,
    /// Additions between halvings.
    pub(super) period: u64,
}

impl Sketch {
    /// Sizes the sketch for `entries` (four counters per entry and row, doubling as the core
    /// grows, the counts starting over each time; at most 2^24 per row), unless the core is
    /// unbounded (`max`), when nothing is ever evicted.
    pub(super) fn fit(&mut self, entries: usize, max: u64) {
        if max == u64::MAX {
            return;
        }
        let width = (entries.max(16) * 4).next_power_of_two().min(1 << 24);
        if width <= self.mask + 1 && !self.counters.is_empty() {
            return;
        }
        self.counters = vec![0; width * 4];
        self.mask = width - 1;
        self.added = 0;
        self.period = (width as u64 / 4 * 10).max(64);
    }

    pub(super) fn index(&self, hash: u64, row: usize) -> usize {
        let h = (hash ^ (row as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .wrapping_mul(0xD6E8_FEB8_6659_FD93);
        row * (self.mask + 1) + ((h >> 32) as usize & self.mask)
    }

    pub(super) fn add(&mut self, hash: u64) {
        if self.counters.is_empty() {
            return;
        }
        for row in 0..4 {
            let i = self.index(hash, row);
            if self.counters[i] < 15 {
                self.counters[i] += 1;
            }
        }
        self.added += 1;
        if self.added >= self.period {
            self.added = 0;
            for c in &mut self.counters {
                *c >>= 1;
            }
        }
    }

    pub(super) fn estimate(&self, hash: u64) -> u8 {
        if self.counters.is_empty() {
            return 0;
        }
        (0..4)
            .map(|row| self.counters[self.index(hash, row)])
            .min()
            .unwrap_or(0)
    }
}
