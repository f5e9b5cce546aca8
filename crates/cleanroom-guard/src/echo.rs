//! The probabilistic filter behind `echo.raw_value`: a Bloom filter over every raw value of the
//! identifier columns of a dataset version. It is built once per dataset version and cached in
//! the state directory by the engine; a job only queries it.
//!
//! False positives block a harmless output (sized for one in a million per cell); false
//! negatives cannot happen.

const MAGIC: &[u8; 8] = b"CRBLOOM1";

#[derive(Clone, Debug, PartialEq)]
pub struct EchoFilter {
    bits: Vec<u64>,
    hashes: u32,
    items: u64,
}

fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A stable 64-bit hash (FNV-1a, then a finaliser): the filter is stored on disk, so the hash
/// must not change between runs or builds, which rules out `std`'s randomised hasher.
fn hash(s: &str) -> (u64, u64) {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let h1 = fmix64(h);
    let h2 = fmix64(h1 ^ 0x9e37_79b9_7f4a_7c15) | 1;
    (h1, h2)
}

impl EchoFilter {
    /// A filter sized for `expected` items at a false-positive rate of 1e-6.
    pub fn with_capacity(expected: u64) -> Self {
        let n = expected.max(1) as f64;
        let ln2 = std::f64::consts::LN_2;
        let m = (-(n * 1e-6f64.ln()) / (ln2 * ln2)).ceil().max(64.0) as u64;
        let hashes = ((m as f64 / n) * ln2).round().clamp(1.0, 30.0) as u32;
        EchoFilter {
            bits: vec![0; m.div_ceil(64) as usize],
            hashes,
            items: 0,
        }
    }

    fn positions(&self, s: &str) -> impl Iterator<Item = (usize, u64)> + use<> {
        let (h1, h2) = hash(s);
        let m = (self.bits.len() as u64) * 64;
        (0..u64::from(self.hashes)).map(move |i| {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) % m;
            ((bit / 64) as usize, 1u64 << (bit % 64))
        })
    }

    pub fn insert(&mut self, value: &str) {
        let value = cleanroom_policy::ident::normalise(value);
        for (w, mask) in self.positions(&value) {
            self.bits[w] |= mask;
        }
        self.items += 1;
    }

    pub fn contains(&self, value: &str) -> bool {
        let value = cleanroom_policy::ident::normalise(value);
        self.positions(&value)
            .all(|(w, mask)| self.bits[w] & mask != 0)
    }

    pub fn items(&self) -> u64 {
        self.items
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + self.bits.len() * 8);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.hashes.to_le_bytes());
        out.extend_from_slice(&self.items.to_le_bytes());
        out.extend_from_slice(&(self.bits.len() as u32).to_le_bytes());
        for w in &self.bits {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// Reads a filter written by [`EchoFilter::to_bytes`]; `None` for anything else.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let rest = b.strip_prefix(MAGIC)?;
        let hashes = u32::from_le_bytes(rest.get(0..4)?.try_into().ok()?);
        let items = u64::from_le_bytes(rest.get(4..12)?.try_into().ok()?);
        let words = u32::from_le_bytes(rest.get(12..16)?.try_into().ok()?) as usize;
        let body = rest.get(16..)?;
        if body.len() != words * 8 || words == 0 || hashes == 0 {
            return None;
        }
        let bits = body
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect();
        Some(EchoFilter {
            bits,
            hashes,
            items,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_found_and_strangers_mostly_not() {
        let mut f = EchoFilter::with_capacity(10_000);
        for i in 0..10_000 {
            f.insert(&format!("id-{i}"));
        }
        assert!((0..10_000).all(|i| f.contains(&format!("id-{i}"))));
        let fp = (0..100_000)
            .filter(|i| f.contains(&format!("other-{i}")))
            .count();
        assert!(fp <= 2, "false positives: {fp}");
        let g = EchoFilter::from_bytes(&f.to_bytes()).unwrap();
        assert_eq!(f, g);
        assert!(EchoFilter::from_bytes(b"CRBLOOM1garbage").is_none());
    }
}
