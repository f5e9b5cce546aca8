//! Keyed bijections and hashes: the generator's sources of determinism and of uniqueness.
//!
//! Every value the generator draws comes from a per-row RNG seeded by [`row_seed`], so any row of
//! any table can be recomputed from `(seed, index)` alone; every value that must be unique comes
//! from a bijection ([`Permutation`], or an affine map in the caller) rather than from a draw.

/// SplitMix64's finaliser: a fast, well-mixed 64-bit hash.
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A hash of three words (seed, table tag, index), used to seed one row's RNG.
pub(crate) fn row_seed(seed: u64, tag: u64, index: u64) -> u64 {
    splitmix64(splitmix64(seed ^ splitmix64(tag)) ^ index)
}

/// A keyed pseudo-random permutation of `0..n`: a balanced four-round Feistel network over the
/// smallest even power of two `>= n`, with cycle walking to stay inside `0..n`.
///
/// INVARIANT: `apply` is a bijection of `0..n` onto itself (a Feistel network is a bijection of its
/// domain whatever the round function, and cycle walking restricts a bijection to a subset of its
/// domain), and it terminates because the cycle through `x < n` comes back to `x`. The domain is
/// less than `4 n`, so the expected number of walks is below four.
#[derive(Clone, Debug)]
pub(crate) struct Permutation {
    n: u64,
    half_bits: u32,
    mask: u64,
    keys: [u64; 4],
}

impl Permutation {
    pub(crate) fn new(n: u64, key: u64) -> Self {
        let bits = (64 - n.saturating_sub(1).leading_zeros()).max(2);
        let half_bits = bits.div_ceil(2);
        let mut keys = [0u64; 4];
        for (r, k) in keys.iter_mut().enumerate() {
            *k = row_seed(key, 0x0FE1_57E1, r as u64);
        }
        Self {
            n,
            half_bits,
            mask: (1u64 << half_bits) - 1,
            keys,
        }
    }

    fn round_trip(&self, x: u64) -> u64 {
        let (mut l, mut r) = (x >> self.half_bits, x & self.mask);
        for k in self.keys {
            let f = splitmix64(r ^ k) & self.mask;
            (l, r) = (r, l ^ f);
        }
        (l << self.half_bits) | r
    }

    /// The image of `x` (which must be below `n`).
    pub(crate) fn apply(&self, x: u64) -> u64 {
        let mut y = self.round_trip(x);
        while y >= self.n {
            y = self.round_trip(y);
        }
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_bijection() {
        for n in [1u64, 2, 3, 7, 100, 1000, 4097] {
            let p = Permutation::new(n, 42);
            let mut seen = vec![false; n as usize];
            for x in 0..n {
                let y = p.apply(x);
                assert!(y < n);
                assert!(!seen[y as usize], "n={n}: {y} hit twice");
                seen[y as usize] = true;
            }
        }
    }

    #[test]
    fn permutation_depends_on_key() {
        let a = Permutation::new(1000, 1);
        let b = Permutation::new(1000, 2);
        assert!((0..1000).any(|x| a.apply(x) != b.apply(x)));
    }
}
