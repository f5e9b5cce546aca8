//! The transparency log as the platform serves it: the latest signed checkpoint, inclusion and
//! consistency proofs (auditors and admins, `audit.read`), and the checkpoints the platform
//! signs on its own (on a timer and on shutdown).

use cleanroom_store::log::record_bytes;
use cleanroom_store::{ConsistencyProof, InclusionProof, SignedCheckpoint};

use crate::authz::Resource;
use crate::{Error, Platform, Principal, Result};

impl Platform {
    /// Signs a checkpoint if the log grew since the last one (the system's, no caller).
    pub fn checkpoint_now(&self) -> Result<Option<SignedCheckpoint>> {
        Ok(self.store.checkpoint()?)
    }

    /// The latest signed checkpoint.
    pub fn latest_checkpoint(&self, who: &Principal) -> Result<SignedCheckpoint> {
        self.authorize(who, "audit.read", &Resource::Platform)?;
        let latest = match self.store.latest_checkpoint()? {
            Some(c) => Some(c),
            // Nothing signed yet: sign the log as it is.
            None => self.store.checkpoint()?,
        };
        latest.ok_or_else(|| Error::Unavailable("the log is empty: nothing is signed yet".into()))
    }

    /// The proof that record `seq` is in the tree of a signed checkpoint: the one of `size`
    /// records, or the latest (signed now if the record is newer than it). Returns the proof,
    /// the checkpoint it leads to, and the record's canonical text (the leaf's data) unless it
    /// was purged.
    pub fn inclusion_proof(
        &self,
        who: &Principal,
        seq: i64,
        size: Option<u64>,
    ) -> Result<(InclusionProof, SignedCheckpoint, Option<String>)> {
        self.authorize(who, "audit.read", &Resource::Platform)?;
        if seq < 1 {
            return Err(Error::Invalid("records are numbered from 1".into()));
        }
        let checkpoint = self.signed(size, seq.unsigned_abs())?;
        let proof = self.store.inclusion_proof(seq, checkpoint.size)?;
        Ok((proof, checkpoint, self.record_text(seq)?))
    }

    /// The canonical text of record `seq` (its leaf's data), unless it was purged.
    pub(crate) fn record_text(&self, seq: i64) -> Result<Option<String>> {
        Ok(self
            .store
            .audit_after(seq - 1, 1)?
            .into_iter()
            .find(|r| r.seq == seq)
            .map(|r| String::from_utf8_lossy(&record_bytes(r.seq, &r.audit)).into_owned()))
    }

    /// The proof that the signed tree of `from` records is a prefix of the signed tree of `to`
    /// (default: the latest checkpoint).
    pub fn consistency_proof(
        &self,
        who: &Principal,
        from: u64,
        to: Option<u64>,
    ) -> Result<(ConsistencyProof, SignedCheckpoint)> {
        self.authorize(who, "audit.read", &Resource::Platform)?;
        if from == 0 {
            return Err(Error::Invalid(
                "a consistency proof starts from a tree of at least one record".into(),
            ));
        }
        let checkpoint = self.signed(to, from)?;
        if from > checkpoint.size {
            return Err(Error::Invalid(format!(
                "`from` ({from}) is beyond the checkpoint of {} records",
                checkpoint.size
            )));
        }
        let proof = self.store.consistency_proof(from, checkpoint.size)?;
        Ok((proof, checkpoint))
    }

    /// The checkpoint of exactly `size` records, or the latest one covering `at_least`
    /// records (signing one now if need be).
    fn signed(&self, size: Option<u64>, at_least: u64) -> Result<SignedCheckpoint> {
        match size {
            Some(size) => self.store.checkpoint_of(size)?.ok_or_else(|| {
                Error::Invalid(format!("no checkpoint was signed at {size} records"))
            }),
            None => {
                let latest = match self.store.latest_checkpoint()? {
                    Some(c) if c.size >= at_least => Some(c),
                    _ => self.store.checkpoint()?,
                };
                latest
                    .filter(|c| c.size >= at_least)
                    .ok_or_else(|| Error::Invalid(format!("there is no record {at_least}")))
            }
        }
    }
}
