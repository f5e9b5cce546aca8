//! The transparency log of the audit records (DESIGN.md §6): every record is a leaf of an
//! RFC 9162 Merkle tree, the platform signs checkpoints of the tree with Ed25519 in the C2SP
//! signed-note format, and anyone holding the public key can check that a record is in the log
//! (inclusion proof) and that an older checkpoint is a prefix of a newer one (consistency proof):
//! nothing rewritten, dropped or reordered.
//!
//! No storage here: the store keeps the leaves and checkpoints, this crate does the arithmetic
//! and the cryptography.

pub mod merkle;
pub mod note;

pub use merkle::{
    Hash, Tree, empty_root, leaf_hash, node_hash, verify_consistency, verify_inclusion,
};
pub use note::{Checkpoint, Signer, Verifier};

/// Why a proof, a checkpoint or a key was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("the tree holds {held} records, not {asked}")]
    Size { asked: u64, held: u64 },
    #[error("record index {index} is outside a tree of {size}")]
    Index { index: u64, size: u64 },
    #[error("a tree of {size1} records cannot be a prefix of one of {size2}")]
    Order { size1: u64, size2: u64 },
    #[error("the proof has {got} hashes where {want} are needed")]
    ProofLength { got: usize, want: usize },
    #[error("the proof does not lead to the signed root")]
    RootMismatch,
    #[error("the signature of `{0}` does not verify: the signed text or the key differs")]
    BadSignature(String),
    #[error("not signed by {expected}: signed by {}", if found.is_empty() { "nobody".to_string() } else { found.join(", ") })]
    WrongKey {
        expected: String,
        found: Vec<String>,
    },
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    Key(String),
}

/// Base64 (standard alphabet, padded), as checkpoints and proofs write hashes.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Reads base64 (standard alphabet, padded).
pub fn from_b64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// Reads a base64 SHA-256 hash.
pub fn hash_from_b64(text: &str) -> Result<Hash, Error> {
    from_b64(text)
        .and_then(|b| Hash::try_from(b.as_slice()).ok())
        .ok_or_else(|| Error::Malformed("not a base64 SHA-256 hash".into()))
}

/// Reads a proof: base64 SHA-256 hashes, as the store and the API write them.
pub fn hashes_from_b64(proof: &[String]) -> Result<Vec<Hash>, Error> {
    proof.iter().map(|h| hash_from_b64(h)).collect()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
