//! Zipf-distributed keys, as YCSB draws them (Gray et al., "Quickly generating
//! billion-record synthetic databases", SIGMOD 1994), on top of [`SplitMix64`].
//!
//! Item `i` of `0..n` is drawn with probability proportional to `1 / (i + 1)^theta`; item 0
//! is the most popular. YCSB's default skew is `theta = 0.99` ([`YCSB_THETA`]). The
//! constant `zeta(n)` is summed once at construction (O(n)); each draw is O(1).

use crate::rng::SplitMix64;

/// YCSB's default Zipf constant.
///
/// ```
/// assert_eq!(benches::zipf::YCSB_THETA, 0.99);
/// ```
pub const YCSB_THETA: f64 = 0.99;

/// A seeded generator of Zipf-distributed integers in `0..n`.
///
/// ```
/// use benches::zipf::{Zipf, YCSB_THETA};
///
/// let mut zipf = Zipf::new(1000, YCSB_THETA, 42);
/// let mut zeros = 0;
/// for _ in 0..10_000 {
///     let k = zipf.next_u64();
///     assert!(k < 1000);
///     zeros += (k == 0) as u32;
/// }
/// // Item 0 has probability 1 / zeta(1000) (about 13%) at theta 0.99.
/// assert!((1000..1600).contains(&zeros), "{zeros}");
/// ```
#[derive(Debug, Clone)]
pub struct Zipf {
    rng: SplitMix64,
    n: u64,
    theta: f64,
    alpha: f64,
    zetan: f64,
    eta: f64,
}

impl Zipf {
    /// A generator over `0..n` (`n >= 2`) with skew `theta` (`0 < theta < 1`), seeded with
    /// `seed`.
    ///
    /// ```
    /// let zipf = benches::zipf::Zipf::new(100_000, 0.99, 1);
    /// assert_eq!(zipf.items(), 100_000);
    /// ```
    pub fn new(n: u64, theta: f64, seed: u64) -> Self {
        assert!(n >= 2, "Zipf needs at least two items");
        assert!(theta > 0.0 && theta < 1.0, "theta must be in (0, 1)");
        let zetan = zeta(n, theta);
        let zeta2 = zeta(2, theta);
        let eta = (1.0 - (2.0 / n as f64).powf(1.0 - theta)) / (1.0 - zeta2 / zetan);
        Self {
            rng: SplitMix64::new(seed),
            n,
            theta,
            alpha: 1.0 / (1.0 - theta),
            zetan,
            eta,
        }
    }

    /// The number of items, `n`.
    ///
    /// ```
    /// assert_eq!(benches::zipf::Zipf::new(10, 0.5, 0).items(), 10);
    /// ```
    pub fn items(&self) -> u64 {
        self.n
    }

    /// The next item, in `0..n`.
    ///
    /// ```
    /// let mut zipf = benches::zipf::Zipf::new(10, 0.99, 3);
    /// assert!(zipf.next_u64() < 10);
    /// ```
    pub fn next_u64(&mut self) -> u64 {
        let u = self.rng.next_f64();
        let uz = u * self.zetan;
        if uz < 1.0 {
            return 0;
        }
        if uz < 1.0 + 0.5f64.powf(self.theta) {
            return 1;
        }
        let k = (self.n as f64 * (self.eta * u - self.eta + 1.0).powf(self.alpha)) as u64;
        k.min(self.n - 1)
    }
}

/// `sum_{i=1..=n} 1 / i^theta`.
fn zeta(n: u64, theta: f64) -> f64 {
    (1..=n).map(|i| 1.0 / (i as f64).powf(theta)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_follow_the_power_law() {
        let n = 100;
        let mut zipf = Zipf::new(n, YCSB_THETA, 9);
        let mut counts = vec![0u32; n as usize];
        let draws = 400_000;
        for _ in 0..draws {
            counts[zipf.next_u64() as usize] += 1;
        }
        let zetan = zeta(n, YCSB_THETA);
        // Items 0 and 1 are drawn exactly; the rest follow Gray's closed-form approximation
        // (as in YCSB), which is only roughly proportional for small ranks.
        for (i, &c) in counts.iter().enumerate().take(2) {
            let expect = draws as f64 / ((i + 1) as f64).powf(YCSB_THETA) / zetan;
            let err = (c as f64 - expect).abs() / expect;
            assert!(err < 0.05, "item {i}: {c} draws, expected {expect:.0}");
        }
        assert!(counts[0] > counts[1] && counts[1] > counts[5]);
        let head: u32 = counts[..10].iter().sum();
        let tail: u32 = counts[90..].iter().sum();
        assert!(head > 5 * tail, "head {head}, tail {tail}");
    }
}
