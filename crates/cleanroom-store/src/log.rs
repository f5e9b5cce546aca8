//! The audit records as a transparency log (DESIGN.md §6): each record's canonical bytes are a
//! leaf of the RFC 9162 tree, the store signs checkpoints of it with the platform key, and
//! serves inclusion and consistency proofs.

use std::path::Path;

use chrono::{DateTime, Utc};
use cleanroom_tlog::{Checkpoint, Hash, Signer, Tree, Verifier, b64};
use serde::Serialize;

use crate::{Audit, Error, Result};

/// Where the platform's signing key lives in the state directory (PKCS#8, mode 0600).
pub const KEY_FILE: &str = "platform.key";
/// The public key beside it, in the signed-note verifier format.
pub const PUBKEY_FILE: &str = "platform.pub";
/// Records younger than this cannot be purged (art. 60: kept at least three years).
pub const RETENTION_YEARS: i32 = 3;

/// How the log is signed.
#[derive(Clone, Debug)]
pub struct LogOptions {
    /// The checkpoint's origin line and the key's name: names the platform.
    pub origin: String,
    /// A checkpoint is signed at least every this many records.
    pub every: u64,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            origin: "cleanroom.local/audit".into(),
            every: 256,
        }
    }
}

/// The canonical bytes of a record, the data of its leaf: compact JSON with sorted keys, the
/// time as the store writes it (UTC, microseconds), absent fields as `null`.
pub fn record_bytes(seq: i64, a: &Audit) -> Vec<u8> {
    let value = serde_json::json!({
        "seq": seq,
        "at": crate::sqlite::ts(a.at),
        "actor": a.actor,
        "role": a.role,
        "licence": a.licence,
        "scenario": a.scenario,
        "purpose": a.purpose,
        "action": a.action,
        "object": a.object,
        "outcome": a.outcome,
        "hash": a.hash,
    });
    // A map of strings, numbers and nulls always serialises.
    serde_json::to_vec(&value).unwrap_or_default()
}

/// A signed checkpoint as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignedCheckpoint {
    pub size: u64,
    /// Base64 SHA-256.
    pub root: String,
    /// The signed note, as standard tooling reads it.
    pub note: String,
    #[serde(serialize_with = "crate::ser_time")]
    pub at: DateTime<Utc>,
}

/// A record's inclusion proof against the tree of `size` records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InclusionProof {
    pub seq: i64,
    /// The leaf's index in the tree: `seq - 1`.
    pub index: u64,
    pub size: u64,
    /// Base64 of the leaf hash.
    pub leaf_hash: String,
    /// Base64 of the root of the tree of `size`.
    pub root: String,
    /// Base64 hashes, leaf to root.
    pub proof: Vec<String>,
}

/// A consistency proof between two tree sizes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsistencyProof {
    pub size1: u64,
    pub size2: u64,
    pub root1: String,
    pub root2: String,
    pub proof: Vec<String>,
}

/// The in-memory side of the log: the tree over every leaf, the key, and the last checkpoint.
pub(crate) struct Log {
    pub tree: Tree,
    pub signer: Signer,
    pub origin: String,
    pub every: u64,
    pub signed: u64,
}

impl Log {
    pub fn checkpoint(&self) -> Result<Checkpoint> {
        let size = self.tree.len();
        Ok(Checkpoint {
            origin: self.origin.clone(),
            size,
            root: self.tree.root(size).map_err(tlog)?,
        })
    }

    pub fn inclusion(&self, seq: i64, size: u64) -> Result<InclusionProof> {
        let index = u64::try_from(seq - 1)
            .map_err(|_| Error::State(format!("there is no record {seq}")))?;
        let proof = self.tree.inclusion(index, size).map_err(tlog)?;
        let leaf = self
            .tree
            .leaf(index)
            .ok_or_else(|| Error::State(format!("there is no record {seq}")))?;
        Ok(InclusionProof {
            seq,
            index,
            size,
            leaf_hash: b64(&leaf),
            root: b64(&self.tree.root(size).map_err(tlog)?),
            proof: proof.iter().map(|h| b64(h)).collect(),
        })
    }

    pub fn consistency(&self, size1: u64, size2: u64) -> Result<ConsistencyProof> {
        let proof = self.tree.consistency(size1, size2).map_err(tlog)?;
        Ok(ConsistencyProof {
            size1,
            size2,
            root1: b64(&self.tree.root(size1).map_err(tlog)?),
            root2: b64(&self.tree.root(size2).map_err(tlog)?),
            proof: proof.iter().map(|h| b64(h)).collect(),
        })
    }
}

pub(crate) fn tlog(e: cleanroom_tlog::Error) -> Error {
    Error::State(e.to_string())
}

/// Loads the platform key of `dir`, making it on first start, and writes its public key beside
/// it.
pub(crate) fn signer(dir: &Path, origin: &str) -> Result<Signer> {
    let signer = Signer::load_or_create(&dir.join(KEY_FILE), origin).map_err(tlog)?;
    let public = format!("{}\n", signer.verifier().encode());
    if std::fs::read_to_string(dir.join(PUBKEY_FILE))
        .ok()
        .as_deref()
        != Some(public.as_str())
    {
        crate::write_atomic(dir, PUBKEY_FILE, public.as_bytes())?;
    }
    Ok(signer)
}

/// Reads a verifier key file (`name+hash+key`).
pub fn read_verifier(path: &Path) -> Result<Verifier> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Io(format!("cannot read `{}`: {}", path.display(), e.kind())))?;
    Verifier::parse(&text).map_err(tlog)
}

/// A stored leaf hash as it comes out of the database.
pub(crate) fn leaf_from(bytes: Vec<u8>) -> Option<Hash> {
    Hash::try_from(bytes.as_slice()).ok()
}
