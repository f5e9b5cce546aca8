//! Offline verification of a state directory's log: recomputes every leaf from the record it
//! holds, rebuilds the tree, checks each checkpoint's signature against a public key and its
//! root against the tree, checks the checkpoints' mutual consistency, and compares the log with
//! a witness's checkpoint. Reads the database read-only and never writes.

use std::path::Path;

use cleanroom_tlog::{Hash, Tree, Verifier, b64, leaf_hash, verify_consistency};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use crate::log::{leaf_from, record_bytes};
use crate::sqlite::{CHECKPOINT_COLUMNS, audit_rows_with_leaves, checkpoint_row};
use crate::{Error, Result};

/// What verification found. `problems` is empty when everything holds; the first problem is
/// the first bad record or checkpoint found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Verification {
    /// Records in the log, purged ones included.
    pub records: u64,
    /// Records whose contents were purged after retention (their leaf hashes remain).
    pub purged: u64,
    /// Signed checkpoints checked.
    pub checkpoints: u64,
    /// The latest checkpoint that verified: size and base64 root.
    pub latest: Option<(u64, String)>,
    /// Records after the latest good checkpoint, not yet signed.
    pub uncovered: u64,
    /// The size of the witness's checkpoint the log was compared with.
    pub witness: Option<u64>,
    pub problems: Vec<String>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The action of the record a purge writes; its object is `audit:<first>-<last>`.
pub const PURGE_ACTION: &str = "audit.purge";

/// Verifies the log in `dir` against `verifier`, and against `witness` (a signed checkpoint
/// note a witness holds) when given.
pub fn verify_state(
    dir: &Path,
    verifier: &Verifier,
    witness: Option<&str>,
) -> Result<Verification> {
    let path = dir.join("cleanroom.db");
    if !path.is_file() {
        return Err(Error::Io(format!("no store at `{}`", path.display())));
    }
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| Error::Db(e.to_string()))?;
    let mut v = Verification::default();

    // Leaves, in order: the purged ones from their hashes, the others recomputed from the
    // records themselves.
    let purged: Vec<(i64, Option<Hash>)> = {
        let mut stmt = conn
            .prepare("SELECT seq, leaf FROM audit_purged ORDER BY seq")
            .map_err(|e| Error::Db(e.to_string()))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, leaf_from(r.get(1)?))))
            .map_err(|e| Error::Db(e.to_string()))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| Error::Db(e.to_string()))?
    };
    let records = audit_rows_with_leaves(&conn)?;
    let purge_through = records
        .iter()
        .filter(|(r, _)| r.audit.action == PURGE_ACTION)
        .filter_map(|(r, _)| r.audit.object.rsplit('-').next()?.parse::<i64>().ok())
        .max()
        .unwrap_or(0);

    let mut tree = Tree::new();
    let mut expected: i64 = 1;
    for (seq, leaf) in &purged {
        if *seq != expected {
            v.problems
                .push(format!("record {expected} is missing (deleted)"));
            expected = *seq;
        }
        if *seq > purge_through {
            v.problems.push(format!(
                "record {seq} has no contents and no purge record covers it"
            ));
        }
        tree.push(leaf.unwrap_or([0; 32]));
        v.purged += 1;
        expected += 1;
    }
    for (record, stored) in &records {
        if record.seq > expected {
            let last = record.seq - 1;
            v.problems.push(if last == expected {
                format!("record {expected} is missing (deleted)")
            } else {
                format!("records {expected}-{last} are missing (deleted)")
            });
        } else if record.seq < expected {
            v.problems
                .push(format!("record {} appears twice", record.seq));
        }
        expected = record.seq + 1;
        let leaf = leaf_hash(&record_bytes(record.seq, &record.audit));
        if stored.as_ref() != Some(&leaf) {
            v.problems.push(format!(
                "record {} was altered: its contents do not match the leaf hash written with it",
                record.seq
            ));
        }
        tree.push(leaf);
    }
    v.records = tree.len();

    // Checkpoints: the signature, then the root against the rebuilt tree, then consistency with
    // the previous good one.
    let checkpoints = {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY size"
            ))
            .map_err(|e| Error::Db(e.to_string()))?;
        let rows = stmt
            .query_map([], checkpoint_row)
            .map_err(|e| Error::Db(e.to_string()))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| Error::Db(e.to_string()))?
    };
    let mut good: Option<(u64, Hash)> = None;
    for cp in &checkpoints {
        v.checkpoints += 1;
        let opened = match verifier.open_checkpoint(&cp.note) {
            Ok(c) => c,
            Err(e) => {
                v.problems
                    .push(format!("checkpoint of {} records: {e}", cp.size));
                continue;
            }
        };
        if opened.size != cp.size || b64(&opened.root) != cp.root {
            v.problems.push(format!(
                "checkpoint of {} records: the stored size or root differs from the signed note",
                cp.size
            ));
            continue;
        }
        if opened.size > v.records {
            let gone = if opened.size == v.records + 1 {
                format!("record {} is gone", opened.size)
            } else {
                format!("records {}-{} are gone", v.records + 1, opened.size)
            };
            v.problems.push(format!(
                "the log holds {} records but a checkpoint signs {}: {gone} (truncated)",
                v.records, opened.size
            ));
            continue;
        }
        let root = tree.root(opened.size).map_err(crate::log::tlog)?;
        if root != opened.root {
            let after = good.map_or(0, |(s, _)| s);
            v.problems.push(format!(
                    "records {}-{} disagree with the checkpoint signed at {} records: one of them was changed, removed or reordered",
                    after + 1,
                    opened.size,
                    opened.size
                ),
            );
            continue;
        }
        if let Some((size1, root1)) = good {
            let proof = tree
                .consistency(size1, opened.size)
                .map_err(crate::log::tlog)?;
            if let Err(e) = verify_consistency(size1, opened.size, &root1, &opened.root, &proof) {
                v.problems.push(format!(
                    "checkpoints of {size1} and {} records are not consistent: {e}",
                    opened.size
                ));
            }
        }
        good = Some((opened.size, opened.root));
    }
    if let Some((size, root)) = good {
        v.latest = Some((size, b64(&root)));
        v.uncovered = v.records - size;
    } else if v.records > 0 {
        v.problems
            .push("no signed checkpoint covers the log".into());
        v.uncovered = v.records;
    }

    if let Some(witness) = witness {
        match verifier.open_checkpoint(witness) {
            Err(e) => v.problems.push(format!("the witness's checkpoint: {e}")),
            Ok(w) => {
                v.witness = Some(w.size);
                if w.size > v.records {
                    v.problems.push(format!(
                            "rolled back: the witness holds a signed checkpoint of {} records, the log has {}",
                            w.size, v.records
                        ),
                    );
                } else if tree.root(w.size).map_err(crate::log::tlog)? != w.root {
                    v.problems.push(format!(
                            "forked: the log's first {} records differ from the witness's signed checkpoint",
                            w.size
                        ),
                    );
                }
            }
        }
    }
    Ok(v)
}
