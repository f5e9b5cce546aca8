//! The Merkle tree of RFC 9162 §2.1: leaves `SHA-256(0x00 || data)`, nodes
//! `SHA-256(0x01 || left || right)`, a tree of `n` leaves split at the largest power of two
//! smaller than `n`; inclusion and consistency proofs and their verification.

use ring::digest::{Context, SHA256};

use crate::Error;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut ctx = Context::new(&SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The hash of a leaf holding `data`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    sha256(&[&[0x00], data])
}

/// The hash of an inner node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[0x01], left, right])
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    sha256(&[])
}

/// The leaf hashes of a log and every complete subtree above them, so that any root of a prefix
/// and any proof costs O(log² n) lookups, never a pass over the leaves.
///
/// `levels[k][i]` is the hash of leaves `[i·2^k, (i+1)·2^k)`; only complete subtrees are kept,
/// about 2n hashes in all (64 MiB for a million records).
#[derive(Clone, Debug, Default)]
pub struct Tree {
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    pub fn new() -> Tree {
        Tree::default()
    }

    /// How many leaves the tree holds.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends one leaf hash (see [`leaf_hash`]).
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            row.push(hash);
            if !row.len().is_multiple_of(2) {
                return;
            }
            let n = row.len();
            hash = node_hash(&row[n - 2], &row[n - 1]);
            level += 1;
        }
    }

    /// The hash of leaf `index`.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.levels
            .first()?
            .get(usize::try_from(index).ok()?)
            .copied()
    }

    /// The root of the first `size` leaves.
    pub fn root(&self, size: u64) -> Result<Hash, Error> {
        if size > self.len() {
            return Err(Error::Size {
                asked: size,
                held: self.len(),
            });
        }
        Ok(if size == 0 {
            empty_root()
        } else {
            self.subtree(0, size)
        })
    }

    /// The hash of leaves `[start, end)`, `end > start`, a range the RFC's recursion visits.
    fn subtree(&self, start: u64, end: u64) -> Hash {
        let n = end - start;
        if n.is_power_of_two() && start.is_multiple_of(n) {
            let level = n.trailing_zeros() as usize;
            if let Some(h) = self.levels[level].get((start >> level) as usize) {
                return *h;
            }
        }
        let k = split(n);
        node_hash(
            &self.subtree(start, start + k),
            &self.subtree(start + k, end),
        )
    }

    /// The audit path of leaf `index` in the tree of the first `size` leaves (RFC 9162 §2.1.3.1).
    pub fn inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>, Error> {
        if size > self.len() {
            return Err(Error::Size {
                asked: size,
                held: self.len(),
            });
        }
        if index >= size {
            return Err(Error::Index { index, size });
        }
        let mut proof = Vec::new();
        self.path(index, 0, size, &mut proof);
        Ok(proof)
    }

    fn path(&self, m: u64, start: u64, end: u64, out: &mut Vec<Hash>) {
        let n = end - start;
        if n <= 1 {
            return;
        }
        let k = split(n);
        if m < k {
            self.path(m, start, start + k, out);
            out.push(self.subtree(start + k, end));
        } else {
            self.path(m - k, start + k, end, out);
            out.push(self.subtree(start, start + k));
        }
    }

    /// The proof that the tree of the first `size1` leaves is a prefix of the tree of the first
    /// `size2` (RFC 9162 §2.1.4.1).
    pub fn consistency(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, Error> {
        if size2 > self.len() {
            return Err(Error::Size {
                asked: size2,
                held: self.len(),
            });
        }
        if size1 > size2 {
            return Err(Error::Order { size1, size2 });
        }
        let mut proof = Vec::new();
        if size1 > 0 && size1 < size2 {
            self.subproof(size1, 0, size2, true, &mut proof);
        }
        Ok(proof)
    }

    fn subproof(&self, m: u64, start: u64, end: u64, whole: bool, out: &mut Vec<Hash>) {
        let n = end - start;
        if m == n {
            if !whole {
                out.push(self.subtree(start, end));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, start, start + k, whole, out);
            out.push(self.subtree(start + k, end));
        } else {
            self.subproof(m - k, start + k, end, false, out);
            out.push(self.subtree(start, start + k));
        }
    }
}

/// The largest power of two smaller than `n` (`n >= 2`).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// How a proof of `index` in a tree of `size` leaves divides: the hashes inside the subtree
/// where the path to `index` and the path to the last leaf part, then the border hashes.
fn decompose(index: u64, size: u64) -> (usize, usize) {
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = (index >> inner).count_ones() as usize;
    (inner, border)
}

fn chain_inner(mut seed: Hash, proof: &[Hash], index: u64) -> Hash {
    for (i, h) in proof.iter().enumerate() {
        seed = if (index >> i) & 1 == 0 {
            node_hash(&seed, h)
        } else {
            node_hash(h, &seed)
        };
    }
    seed
}

fn chain_inner_right(mut seed: Hash, proof: &[Hash], index: u64) -> Hash {
    for (i, h) in proof.iter().enumerate() {
        if (index >> i) & 1 == 1 {
            seed = node_hash(h, &seed);
        }
    }
    seed
}

fn chain_border_right(mut seed: Hash, proof: &[Hash]) -> Hash {
    for h in proof {
        seed = node_hash(h, &seed);
    }
    seed
}

/// Checks that `leaf` (a leaf hash) sits at `index` of the tree of `size` leaves whose root is
/// `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), Error> {
    if index >= size {
        return Err(Error::Index { index, size });
    }
    let (inner, border) = decompose(index, size);
    if proof.len() != inner + border {
        return Err(Error::ProofLength {
            got: proof.len(),
            want: inner + border,
        });
    }
    let computed = chain_border_right(chain_inner(*leaf, &proof[..inner], index), &proof[inner..]);
    if &computed == root {
        Ok(())
    } else {
        Err(Error::RootMismatch)
    }
}

/// Checks that the tree of `size1` leaves with root `root1` is a prefix of the tree of `size2`
/// leaves with root `root2`. Roots are taken as bytes, as they come off the wire: equal sizes
/// need equal roots and an empty proof; otherwise both must be SHA-256 hashes.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &[u8],
    root2: &[u8],
    proof: &[Hash],
) -> Result<(), Error> {
    if size2 < size1 {
        return Err(Error::Order { size1, size2 });
    }
    if size1 == 0 {
        // Every tree extends the empty one: such a check proves nothing and is refused, so
        // that nobody mistakes it for a proof.
        return Err(Error::Malformed(
            "a consistency proof from the empty tree proves nothing".into(),
        ));
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(Error::ProofLength {
                got: proof.len(),
                want: 0,
            });
        }
        return if root1 == root2 {
            Ok(())
        } else {
            Err(Error::RootMismatch)
        };
    }
    let (Ok(root1), Ok(root2)) = (Hash::try_from(root1), Hash::try_from(root2)) else {
        return Err(Error::Malformed("a root is not a SHA-256 hash".into()));
    };
    let (inner, border) = decompose(size1 - 1, size2);
    let shift = size1.trailing_zeros() as usize;
    let inner = inner - shift;
    // When size1 is a power of two its root is a node of the bigger tree and starts the chain;
    // otherwise the proof's first hash does.
    let (seed, rest) = if size1 == 1 << shift {
        (root1, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (*first, rest),
            None => {
                return Err(Error::ProofLength {
                    got: 0,
                    want: 1 + inner + border,
                });
            }
        }
    };
    if rest.len() != inner + border {
        return Err(Error::ProofLength {
            got: proof.len(),
            want: proof.len() - rest.len() + inner + border,
        });
    }
    let mask = (size1 - 1) >> shift;
    let hash1 = chain_border_right(
        chain_inner_right(seed, &rest[..inner], mask),
        &rest[inner..],
    );
    if hash1 != root1 {
        return Err(Error::RootMismatch);
    }
    let hash2 = chain_border_right(chain_inner(seed, &rest[..inner], mask), &rest[inner..]);
    if hash2 != root2 {
        return Err(Error::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use super::*;

    /// The definition of RFC 9162 §2.1.1, computed from the leaves alone.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn roots_of_every_prefix_match_the_definition() {
        let all = leaves(70);
        let mut tree = Tree::new();
        for l in &all {
            tree.push(*l);
        }
        for size in 0..=70 {
            assert_eq!(
                tree.root(size).unwrap(),
                reference_root(&all[..size as usize]),
                "size {size}"
            );
        }
    }

    #[test]
    fn every_proof_of_a_small_tree_verifies_and_a_changed_one_does_not() {
        let all = leaves(33);
        let mut tree = Tree::new();
        for l in &all {
            tree.push(*l);
        }
        for size in 1..=33u64 {
            let root = tree.root(size).unwrap();
            for index in 0..size {
                let proof = tree.inclusion(index, size).unwrap();
                verify_inclusion(index, size, &all[index as usize], &proof, &root).unwrap();
                if let Some(first) = proof.first() {
                    let mut bad = proof.clone();
                    bad[0] = node_hash(first, first);
                    assert!(
                        verify_inclusion(index, size, &all[index as usize], &bad, &root).is_err()
                    );
                }
            }
            for size1 in 1..=size {
                let proof = tree.consistency(size1, size).unwrap();
                let root1 = tree.root(size1).unwrap();
                verify_consistency(size1, size, &root1, &root, &proof).unwrap();
                if size1 > 0 && size1 < size {
                    let other = leaf_hash(b"forged");
                    assert!(verify_consistency(size1, size, &other, &root, &proof).is_err());
                }
            }
        }
    }

    #[test]
    fn out_of_range_requests_are_refused() {
        let mut tree = Tree::new();
        tree.push(leaf_hash(b"a"));
        assert!(matches!(tree.root(2), Err(Error::Size { .. })));
        assert!(matches!(tree.inclusion(1, 1), Err(Error::Index { .. })));
        assert!(matches!(tree.consistency(1, 0), Err(Error::Order { .. })));
    }
}
