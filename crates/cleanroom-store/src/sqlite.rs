//! The embedded store: one SQLite file in WAL mode with `synchronous = FULL`, foreign keys on,
//! migrations applied on open, and result files in a directory beside it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use cleanroom_tlog::{Hash, Tree, Verifier, b64, leaf_hash};

use crate::files::{sweep, write_atomic};
use crate::log::{
    self, ConsistencyProof, InclusionProof, Log, LogOptions, RETENTION_YEARS, SignedCheckpoint,
    record_bytes,
};
use crate::{
    Audit, AuditRecord, BudgetCharge, Charged, CheckStatus, Error, JobId, JobKind, JobRow,
    JobStatus, JobUpdate, LicenceState, NewJob, NewProduct, ProductCheck, ProductId, ProductRow,
    ProductStatus, Recovery, Result, Review, Store, TokenRow,
};

/// ε a licence has spent on a dataset.
fn spent_in(tx: &rusqlite::Transaction<'_>, licence: &str, dataset: &str) -> Result<f64> {
    tx.query_row(
        "SELECT COALESCE(SUM(epsilon), 0.0) FROM budget_charges WHERE licence = ?1 AND dataset = ?2",
        params![licence, dataset],
        |r| r.get(0),
    )
    .map_err(db)
}

/// The schema, one step per entry; `PRAGMA user_version` holds how many are applied. Steps are
/// only ever appended.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    role      TEXT NOT NULL,
    licence   TEXT,
    scenario  TEXT,
    purpose   TEXT,
    action    TEXT NOT NULL,
    object    TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    hash      TEXT
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;

CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY,
    licence       TEXT NOT NULL,
    scenario      TEXT NOT NULL,
    operator      TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('sql', 'wasm')),
    source_hash   TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN
                  ('queued', 'running', 'succeeded', 'blocked', 'failed', 'cancelled', 'interrupted')),
    submitted_at  TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    decision      TEXT,
    report        TEXT,
    result_file   TEXT UNIQUE,
    result_sha256 TEXT
);
CREATE INDEX jobs_by_licence ON jobs (licence, submitted_at);
CREATE INDEX jobs_by_status ON jobs (status);

CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    role       TEXT NOT NULL,
    principal  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE licence_state (
    licence    TEXT PRIMARY KEY,
    suspended  INTEGER NOT NULL CHECK (suspended IN (0, 1)),
    reason     TEXT,
    changed_at TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE products (
    id           INTEGER PRIMARY KEY,
    job          INTEGER NOT NULL UNIQUE REFERENCES jobs (id),
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
    quorum       INTEGER NOT NULL CHECK (quorum >= 1),
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    registration TEXT UNIQUE,
    decided_at   TEXT
);
CREATE TABLE reviews (
    product  INTEGER NOT NULL REFERENCES products (id),
    reviewer TEXT NOT NULL,
    approve  INTEGER NOT NULL CHECK (approve IN (0, 1)),
    reason   TEXT NOT NULL,
    at       TEXT NOT NULL,
    PRIMARY KEY (product, reviewer)
);
CREATE TABLE dataset_state (
    dataset    TEXT PRIMARY KEY,
    suspended  INTEGER NOT NULL CHECK (suspended IN (0, 1)),
    reason     TEXT,
    changed_at TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    r#"
ALTER TABLE jobs ADD COLUMN source TEXT;
"#,
    r#"
ALTER TABLE audit ADD COLUMN leaf BLOB;
CREATE TABLE checkpoints (
    size INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    at   TEXT NOT NULL
);
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TABLE audit_purged (
    seq  INTEGER PRIMARY KEY,
    leaf BLOB NOT NULL
);
ALTER TABLE products ADD COLUMN approval_seq INTEGER;
ALTER TABLE products ADD COLUMN passport TEXT;
CREATE TABLE lineage (
    seq   INTEGER PRIMARY KEY,
    job   INTEGER NOT NULL REFERENCES jobs (id),
    kind  TEXT NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX lineage_by_job ON lineage (job);
CREATE TABLE product_holds (
    product INTEGER NOT NULL REFERENCES products (id),
    cause   TEXT NOT NULL,
    since   TEXT NOT NULL,
    PRIMARY KEY (product, cause)
);
"#,
    r#"
CREATE TABLE budget_charges (
    id           INTEGER PRIMARY KEY,
    licence      TEXT NOT NULL,
    dataset      TEXT NOT NULL,
    job          INTEGER NOT NULL REFERENCES jobs (id),
    epsilon      REAL NOT NULL,
    plan_hash    TEXT NOT NULL,
    data_version TEXT NOT NULL,
    at           TEXT NOT NULL
);
CREATE INDEX budget_by_licence ON budget_charges (licence, dataset);
CREATE INDEX budget_by_answer ON budget_charges (licence, plan_hash, data_version);
CREATE TRIGGER budget_no_update BEFORE UPDATE ON budget_charges
    BEGIN SELECT RAISE(ABORT, 'budget charges are append-only'); END;
CREATE TRIGGER budget_no_delete BEFORE DELETE ON budget_charges
    BEGIN SELECT RAISE(ABORT, 'budget charges are append-only'); END;
"#,
    r#"
CREATE TABLE product_checks (
    product INTEGER PRIMARY KEY REFERENCES products (id),
    status  TEXT NOT NULL,
    report  TEXT,
    at      TEXT NOT NULL
);
"#,
];

/// The guards of the audit table, lifted only inside the transaction that fills the leaf
/// hashes of records written before the log existed, or purges records past retention.
const AUDIT_GUARDS_DROP: &str = "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;";
const AUDIT_GUARDS: &str = "
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;";

/// Times are stored as fixed-width UTC text, so that text order is time order.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn parse_ts(s: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
        })
}

fn db(e: rusqlite::Error) -> Error {
    Error::Db(e.to_string())
}

pub struct SqliteStore {
    conn: Mutex<Connection>,
    results: PathBuf,
    /// Locked after `conn`, never before.
    log: Mutex<Log>,
    /// Records waiting to be committed together (group commit of [`Store::append_audit`]).
    group: Mutex<Group>,
    /// Signalled when a group's outcomes are known.
    decided: std::sync::Condvar,
}

/// The group commit's shared state.
#[derive(Default)]
struct Group {
    /// Records not yet taken by a committer, with their tickets.
    waiting: Vec<(u64, Audit)>,
    /// Outcomes of committed records not yet collected, by ticket.
    outcomes: std::collections::HashMap<u64, std::result::Result<i64, String>>,
    next_ticket: u64,
    /// Whether a caller is committing a group now.
    committing: bool,
}

impl SqliteStore {
    /// Opens (or creates) `dir/cleanroom.db` and `dir/results/`, sets the pragmas and applies
    /// the migrations this binary knows; loads the platform key (made on first start) and the
    /// log's tree. Call [`Store::recover`] next.
    pub fn open(dir: &Path) -> Result<SqliteStore> {
        SqliteStore::open_with(dir, &LogOptions::default())
    }

    /// As [`SqliteStore::open`], with the log's origin and checkpoint interval. A log whose
    /// records no longer match its latest signed checkpoint is refused: the platform does not
    /// go on writing on top of a rewritten record.
    pub fn open_with(dir: &Path, options: &LogOptions) -> Result<SqliteStore> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Io(format!("cannot create `{}`: {}", dir.display(), e.kind())))?;
        let mut conn = Connection::open(dir.join("cleanroom.db")).map_err(db)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(db)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Db(format!("the database refused WAL mode ({mode})")));
        }
        conn.execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
        )
        .map_err(db)?;
        migrate(&mut conn)?;
        backfill_leaves(&mut conn)?;
        let origin = origin(&conn, &options.origin)?;
        let signer = log::signer(dir, &origin)?;
        let mut tree = Tree::new();
        load_leaves(&conn, &mut tree, 0)?;
        let signed = latest_checkpoint(&conn)?;
        if let Some(cp) = &signed {
            let root = tree.root(cp.size).map_err(|_| {
                Error::State(format!(
                    "the audit log holds {} records but its latest checkpoint signs {}: run `cleanroom audit verify`",
                    tree.len(),
                    cp.size
                ))
            })?;
            if b64(&root) != cp.root {
                return Err(Error::State(
                    "the audit records disagree with their latest signed checkpoint: run `cleanroom audit verify`".into(),
                ));
            }
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            results: dir.join("results"),
            group: Mutex::new(Group::default()),
            decided: std::sync::Condvar::new(),
            log: Mutex::new(Log {
                tree,
                signer,
                origin,
                every: options.every.max(1),
                signed: signed.map_or(0, |c| c.size),
            }),
        })
    }

    fn log(&self) -> Result<std::sync::MutexGuard<'_, Log>> {
        self.log
            .lock()
            .map_err(|_| Error::Db("the log is poisoned".into()))
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| Error::Db("the connection is poisoned".into()))
    }

    /// Brings the tree up to the committed records, and signs a checkpoint when `every`
    /// records have come since the last one (or when `force` and anything has).
    fn catch_up(&self, conn: &Connection, force: bool) -> Result<()> {
        let mut log = self.log()?;
        let from = log.tree.len();
        load_leaves(conn, &mut log.tree, from)?;
        let size = log.tree.len();
        if size > log.signed && (force || size >= log.signed + log.every) {
            let checkpoint = log.checkpoint()?;
            let note = log.signer.sign_checkpoint(&checkpoint);
            conn.execute(
                "INSERT INTO checkpoints (size, root, note, at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    i64::try_from(size).unwrap_or(i64::MAX),
                    checkpoint.root.to_vec(),
                    note,
                    ts(Utc::now())
                ],
            )
            .map_err(db)?;
            log.signed = size;
        }
        Ok(())
    }

    /// One transaction: `f` runs inside it, and it commits only if `f` succeeds. The records
    /// it wrote then join the tree.
    fn tx<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn()?;
        // Immediate: the write lock is taken first, so another process writing the same file
        // (the token command beside a server) waits instead of invalidating this snapshot.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let out = f(&tx)?;
        tx.commit().map_err(db)?;
        // The change is durable whatever happens next; a tree that could not catch up here
        // does on the next call, and proofs surface the error.
        let _ = self.catch_up(&conn, false);
        Ok(out)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.conn()?;
        f(&conn).map_err(db)
    }

    /// A suspension flag and its record, in one transaction.
    fn set_flag_recorded(
        &self,
        table: &str,
        key: &str,
        id: &str,
        suspended: bool,
        reason: Option<&str>,
        audit: &Audit,
    ) -> Result<()> {
        self.tx(|tx| {
            set_flag(tx, table, key, id, suspended, reason, audit.at)?;
            insert_audit(tx, audit)?;
            Ok(())
        })
    }

    /// A pragma's current value, for tests and diagnostics.
    pub fn pragma(&self, name: &str) -> Result<String> {
        let known = [
            "journal_mode",
            "synchronous",
            "foreign_keys",
            "user_version",
        ];
        if !known.contains(&name) {
            return Err(Error::Db(format!("unknown pragma `{name}`")));
        }
        self.read(|c| {
            c.query_row(&format!("PRAGMA {name}"), [], |r| {
                r.get::<_, rusqlite::types::Value>(0)
            })
        })
        .map(|v| match v {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => t,
            other => format!("{other:?}"),
        })
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db)?;
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(Error::Version { found, known });
    }
    let tx = conn.transaction().map_err(db)?;
    for (i, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(step).map_err(db)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
            .map_err(db)?;
    }
    tx.commit().map_err(db)
}

/// Appends a record with the hash of its leaf; its sequence number follows the last one, purged
/// or not.
fn insert_audit(tx: &Transaction<'_>, a: &Audit) -> Result<i64> {
    // Both statements run once per record: cached, they are parsed once per connection.
    let last: Option<i64> = tx
        .prepare_cached(
            "SELECT MAX(m) FROM (SELECT MAX(seq) AS m FROM audit UNION ALL SELECT MAX(seq) FROM audit_purged)",
        )
        .and_then(|mut st| st.query_row([], |r| r.get(0)))
        .map_err(db)?;
    let seq = last.unwrap_or(0) + 1;
    let leaf = leaf_hash(&record_bytes(seq, a));
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO audit (seq, leaf, at, actor, role, licence, scenario, purpose, action, object, outcome, hash)
         VALUES (?11, ?12, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(db)?;
    insert
        .execute(params![
            ts(a.at),
            a.actor,
            a.role,
            a.licence,
            a.scenario,
            a.purpose,
            a.action,
            a.object,
            a.outcome,
            a.hash,
            seq,
            leaf.to_vec()
        ])
        .map_err(db)?;
    Ok(seq)
}

/// The log's origin: the one it was first signed under, or `configured` on a new log.
fn origin(conn: &Connection, configured: &str) -> Result<String> {
    let stored: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'log_origin'", [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(db)?;
    match stored {
        Some(o) => Ok(o),
        None => {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('log_origin', ?1)",
                [configured],
            )
            .map_err(db)?;
            Ok(configured.to_string())
        }
    }
}

/// Records written before the log existed get their leaf hash, once.
fn backfill_leaves(conn: &mut Connection) -> Result<()> {
    let missing: i64 = conn
        .query_row("SELECT COUNT(*) FROM audit WHERE leaf IS NULL", [], |r| {
            r.get(0)
        })
        .map_err(db)?;
    if missing == 0 {
        return Ok(());
    }
    let tx = conn.transaction().map_err(db)?;
    let records = audit_rows_with_leaves(&tx)?;
    tx.execute_batch(AUDIT_GUARDS_DROP).map_err(db)?;
    for (r, _) in records.iter().filter(|(_, leaf)| leaf.is_none()) {
        tx.execute(
            "UPDATE audit SET leaf = ?2 WHERE seq = ?1",
            params![r.seq, leaf_hash(&record_bytes(r.seq, &r.audit)).to_vec()],
        )
        .map_err(db)?;
    }
    tx.execute_batch(AUDIT_GUARDS).map_err(db)?;
    tx.commit().map_err(db)
}

/// Appends to `tree` the leaves after its size, purged or kept, in order; a missing record
/// stops it.
fn load_leaves(conn: &Connection, tree: &mut Tree, after: u64) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, leaf FROM audit_purged WHERE seq > ?1
             UNION ALL SELECT seq, leaf FROM audit WHERE seq > ?1 ORDER BY seq",
        )
        .map_err(db)?;
    let mut rows = stmt
        .query([i64::try_from(after).unwrap_or(i64::MAX)])
        .map_err(db)?;
    while let Some(row) = rows.next().map_err(db)? {
        let seq: i64 = row.get(0).map_err(db)?;
        let leaf = row
            .get::<_, Option<Vec<u8>>>(1)
            .map_err(db)?
            .and_then(log::leaf_from);
        let expected = tree.len() + 1;
        match leaf {
            Some(leaf) if u64::try_from(seq).ok() == Some(expected) => tree.push(leaf),
            _ => {
                return Err(Error::State(format!(
                    "audit record {expected} is missing or has no leaf hash: run `cleanroom audit verify`"
                )));
            }
        }
    }
    Ok(())
}

pub(crate) const CHECKPOINT_COLUMNS: &str = "size, root, note, at";

fn latest_checkpoint(conn: &Connection) -> Result<Option<SignedCheckpoint>> {
    conn.query_row(
        &format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY size DESC LIMIT 1"),
        [],
        checkpoint_row,
    )
    .optional()
    .map_err(db)
}

pub(crate) fn checkpoint_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SignedCheckpoint> {
    Ok(SignedCheckpoint {
        size: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
        root: b64(&r.get::<_, Vec<u8>>(1)?),
        note: r.get(2)?,
        at: parse_ts(&r.get::<_, String>(3)?)?,
    })
}

const AUDIT_COLUMNS: &str =
    "seq, at, actor, role, licence, scenario, purpose, action, object, outcome, hash";

fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRecord> {
    Ok(AuditRecord {
        seq: r.get(0)?,
        audit: Audit {
            at: parse_ts(&r.get::<_, String>(1)?)?,
            actor: r.get(2)?,
            role: r.get(3)?,
            licence: r.get(4)?,
            scenario: r.get(5)?,
            purpose: r.get(6)?,
            action: r.get(7)?,
            object: r.get(8)?,
            outcome: r.get(9)?,
            hash: r.get(10)?,
        },
    })
}

/// Every kept audit record with its stored leaf hash, in order.
pub(crate) fn audit_rows_with_leaves(
    conn: &Connection,
) -> Result<Vec<(AuditRecord, Option<Hash>)>> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {AUDIT_COLUMNS}, leaf FROM audit ORDER BY seq"
        ))
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                audit_row(r)?,
                r.get::<_, Option<Vec<u8>>>(11)?.and_then(log::leaf_from),
            ))
        })
        .map_err(db)?;
    rows.collect::<rusqlite::Result<_>>().map_err(db)
}

fn job_status(tx: &Transaction<'_>, id: JobId) -> Result<JobStatus> {
    let s: Option<String> = tx
        .query_row("SELECT status FROM jobs WHERE id = ?1", [id.0], |r| {
            r.get(0)
        })
        .optional()
        .map_err(db)?;
    let s = s.ok_or(Error::NoJob(id))?;
    JobStatus::parse(&s).ok_or_else(|| Error::Db(format!("job {id} has an unknown status")))
}

fn check_transition(tx: &Transaction<'_>, id: JobId, to: JobStatus) -> Result<()> {
    let from = job_status(tx, id)?;
    if from.may_become(to) {
        Ok(())
    } else {
        Err(Error::Transition { id, from, to })
    }
}

const JOB_COLUMNS: &str = "id, licence, scenario, operator, kind, source_hash, status, submitted_at, updated_at, decision, report, result_file, result_sha256, source";

fn job_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRow> {
    let kind: String = r.get(4)?;
    let status: String = r.get(6)?;
    let bad = |what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown {what}").into(),
        )
    };
    Ok(JobRow {
        id: JobId(r.get(0)?),
        licence: r.get(1)?,
        scenario: r.get(2)?,
        operator: r.get(3)?,
        kind: match kind.as_str() {
            "sql" => JobKind::Sql,
            "wasm" => JobKind::Wasm,
            _ => return Err(bad("job kind")),
        },
        source_hash: r.get(5)?,
        status: JobStatus::parse(&status).ok_or_else(|| bad("job status"))?,
        submitted_at: parse_ts(&r.get::<_, String>(7)?)?,
        updated_at: parse_ts(&r.get::<_, String>(8)?)?,
        decision: r.get(9)?,
        report: r.get(10)?,
        result_file: r.get(11)?,
        result_sha256: r.get(12)?,
        source: r.get(13)?,
    })
}

const PRODUCT_COLUMNS: &str = "id, job, name, description, status, quorum, requested_by, requested_at, registration, decided_at, approval_seq";

fn product_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProductRow> {
    let status: String = r.get(4)?;
    Ok(ProductRow {
        id: ProductId(r.get(0)?),
        job: JobId(r.get(1)?),
        name: r.get(2)?,
        description: r.get(3)?,
        status: ProductStatus::parse(&status).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                4,
                rusqlite::types::Type::Text,
                "unknown product status".into(),
            )
        })?,
        quorum: u32::try_from(r.get::<_, i64>(5)?).unwrap_or(u32::MAX),
        requested_by: r.get(6)?,
        requested_at: parse_ts(&r.get::<_, String>(7)?)?,
        registration: r.get(8)?,
        decided_at: r
            .get::<_, Option<String>>(9)?
            .map(|t| parse_ts(&t))
            .transpose()?,
        approval_seq: r.get(10)?,
    })
}

fn product_in(tx: &Transaction<'_>, id: ProductId) -> Result<ProductRow> {
    tx.query_row(
        &format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE id = ?1"),
        [id.0],
        product_row,
    )
    .optional()
    .map_err(db)?
    .ok_or(Error::NoProduct(id))
}

/// Inserts or updates a suspension flag of `table` (licence_state or dataset_state).
fn set_flag(
    tx: &Transaction<'_>,
    table: &str,
    key: &str,
    id: &str,
    suspended: bool,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        &format!(
            "INSERT INTO {table} ({key}, suspended, reason, changed_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT ({key}) DO UPDATE SET suspended = ?2, reason = ?3, changed_at = ?4"
        ),
        params![id, i64::from(suspended), reason, ts(at)],
    )
    .map_err(db)?;
    Ok(())
}

fn result_name(id: JobId) -> String {
    format!("{id}.arrow")
}

impl Store for SqliteStore {
    fn create_job(&self, job: &NewJob, audit: &Audit) -> Result<JobId> {
        self.tx(|tx| {
            tx.execute(
                "INSERT INTO jobs (licence, scenario, operator, kind, source_hash, status, submitted_at, updated_at, source)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?6, ?7)",
                params![
                    job.licence,
                    job.scenario,
                    job.operator,
                    job.kind.as_str(),
                    job.source_hash,
                    ts(job.at),
                    job.source
                ],
            )
            .map_err(db)?;
            let id = JobId(tx.last_insert_rowid());
            insert_audit(tx, audit)?;
            Ok(id)
        })
    }

    fn transition_job(
        &self,
        id: JobId,
        to: JobStatus,
        update: &JobUpdate,
        audit: &Audit,
    ) -> Result<()> {
        self.tx(|tx| {
            check_transition(tx, id, to)?;
            tx.execute(
                "UPDATE jobs SET status = ?2, updated_at = ?3,
                     decision = COALESCE(?4, decision), report = COALESCE(?5, report)
                 WHERE id = ?1",
                params![
                    id.0,
                    to.as_str(),
                    ts(audit.at),
                    update.decision,
                    update.report
                ],
            )
            .map_err(db)?;
            insert_audit(tx, audit)?;
            Ok(())
        })
    }

    fn attach_result(&self, id: JobId, bytes: &[u8], sha256: &str, audit: &Audit) -> Result<()> {
        let name = result_name(id);
        // The file first, durable; then the row that points to it. A crash in between leaves
        // an orphan file that recovery removes, never a row without its file.
        let written = self.tx(|tx| {
            if job_status(tx, id)? != JobStatus::Running {
                return Err(Error::Transition {
                    id,
                    from: job_status(tx, id)?,
                    to: JobStatus::Running,
                });
            }
            let path = write_atomic(&self.results, &name, bytes)?;
            let done = tx
                .execute(
                    "UPDATE jobs SET result_file = ?2, result_sha256 = ?3, updated_at = ?4 WHERE id = ?1",
                    params![id.0, name, sha256, ts(audit.at)],
                )
                .map_err(db)
                .and_then(|_| insert_audit(tx, audit));
            if done.is_err() {
                let _ = std::fs::remove_file(&path);
            }
            done.map(|_| path)
        });
        written.map(|_| ())
    }

    fn job(&self, id: JobId) -> Result<Option<JobRow>> {
        self.read(|c| {
            c.query_row(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
                [id.0],
                job_row,
            )
            .optional()
        })
    }

    fn jobs(&self, operator: Option<&str>, limit: usize) -> Result<Vec<JobRow>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE ?1 IS NULL OR operator = ?1 ORDER BY id DESC LIMIT ?2"
            ))?;
            let rows = stmt.query_map(
                params![operator, i64::try_from(limit).unwrap_or(i64::MAX)],
                job_row,
            )?;
            rows.collect()
        })
    }

    fn result(&self, id: JobId) -> Result<Option<Vec<u8>>> {
        let Some(row) = self.job(id)? else {
            return Err(Error::NoJob(id));
        };
        let Some(name) = row.result_file else {
            return Ok(None);
        };
        let path = self.results.join(name);
        std::fs::read(&path)
            .map(Some)
            .map_err(|e| Error::Io(format!("cannot read `{}`: {}", path.display(), e.kind())))
    }

    fn jobs_since(&self, licence: &str, since: DateTime<Utc>) -> Result<u64> {
        self.read(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM jobs WHERE licence = ?1 AND submitted_at >= ?2",
                params![licence, ts(since)],
                |r| r.get::<_, i64>(0),
            )
        })
        .map(|n| n.max(0) as u64)
    }

    fn jobs_with_status_since(
        &self,
        licence: &str,
        statuses: &[JobStatus],
        since: DateTime<Utc>,
    ) -> Result<u64> {
        let mut n = 0u64;
        for s in statuses {
            n += self
                .read(|c| {
                    c.query_row(
                        "SELECT COUNT(*) FROM jobs WHERE licence = ?1 AND status = ?2 AND updated_at >= ?3",
                        params![licence, s.as_str(), ts(since)],
                        |r| r.get::<_, i64>(0),
                    )
                })?
                .max(0) as u64;
        }
        Ok(n)
    }

    fn last_job_at(&self, licence: &str) -> Result<Option<DateTime<Utc>>> {
        let t: Option<String> = self.read(|c| {
            c.query_row(
                "SELECT MAX(submitted_at) FROM jobs WHERE licence = ?1",
                [licence],
                |r| r.get(0),
            )
        })?;
        t.map(|t| parse_ts(&t).map_err(db)).transpose()
    }

    fn add_token(&self, token: &TokenRow, audit: &Audit) -> Result<()> {
        self.tx(|tx| {
            tx.execute(
                "INSERT INTO tokens (hash, role, principal, created_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    token.hash,
                    token.role,
                    token.principal,
                    ts(token.created_at),
                    token.revoked_at.map(ts)
                ],
            )
            .map_err(db)?;
            insert_audit(tx, audit)?;
            Ok(())
        })
    }

    fn token(&self, hash: &str) -> Result<Option<TokenRow>> {
        self.read(|c| {
            c.query_row(
                "SELECT hash, role, principal, created_at, revoked_at FROM tokens WHERE hash = ?1",
                [hash],
                |r| {
                    Ok(TokenRow {
                        hash: r.get(0)?,
                        role: r.get(1)?,
                        principal: r.get(2)?,
                        created_at: parse_ts(&r.get::<_, String>(3)?)?,
                        revoked_at: r
                            .get::<_, Option<String>>(4)?
                            .map(|t| parse_ts(&t))
                            .transpose()?,
                    })
                },
            )
            .optional()
        })
    }

    fn first_start(&self, at: DateTime<Utc>) -> Result<DateTime<Utc>> {
        self.tx(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('first_start', ?1)",
                [ts(at)],
            )
            .map_err(db)?;
            tx.query_row(
                "SELECT value FROM meta WHERE key = 'first_start'",
                [],
                |r| parse_ts(&r.get::<_, String>(0)?),
            )
            .map_err(db)
        })
    }

    fn revoke_token(&self, hash: &str, at: DateTime<Utc>, audit: &Audit) -> Result<bool> {
        self.tx(|tx| {
            let n = tx
                .execute(
                    "UPDATE tokens SET revoked_at = ?2 WHERE hash = ?1 AND revoked_at IS NULL",
                    params![hash, ts(at)],
                )
                .map_err(db)?;
            if n == 0 {
                return Ok(false);
            }
            insert_audit(tx, audit)?;
            Ok(true)
        })
    }

    fn set_licence_suspended(
        &self,
        licence: &str,
        suspended: bool,
        reason: Option<&str>,
        audit: &Audit,
    ) -> Result<()> {
        self.set_flag_recorded(
            "licence_state",
            "licence",
            licence,
            suspended,
            reason,
            audit,
        )
    }

    fn licence_state(&self, licence: &str) -> Result<Option<LicenceState>> {
        self.read(|c| {
            c.query_row(
                "SELECT licence, suspended, reason, changed_at FROM licence_state WHERE licence = ?1",
                [licence],
                |r| {
                    Ok(LicenceState {
                        licence: r.get(0)?,
                        suspended: r.get::<_, i64>(1)? != 0,
                        reason: r.get(2)?,
                        changed_at: parse_ts(&r.get::<_, String>(3)?)?,
                    })
                },
            )
            .optional()
        })
    }

    fn create_product(&self, product: &NewProduct, audit: &Audit) -> Result<ProductId> {
        self.tx(|tx| {
            let status = job_status(tx, product.job)?;
            if status != JobStatus::Succeeded {
                return Err(Error::State(format!(
                    "{} is {status}: only a succeeded job can become a product",
                    product.job
                )));
            }
            let taken: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM products WHERE job = ?1)",
                    [product.job.0],
                    |r| r.get(0),
                )
                .map_err(db)?;
            if taken {
                return Err(Error::State(format!(
                    "{} has already been submitted as a product",
                    product.job
                )));
            }
            tx.execute(
                "INSERT INTO products (job, name, description, status, quorum, requested_by, requested_at)
                 VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6)",
                params![
                    product.job.0,
                    product.name,
                    product.description,
                    i64::from(product.quorum.max(1)),
                    product.requested_by,
                    ts(product.at)
                ],
            )
            .map_err(db)?;
            let id = ProductId(tx.last_insert_rowid());
            insert_audit(tx, audit)?;
            Ok(id)
        })
    }

    fn product(&self, id: ProductId) -> Result<Option<ProductRow>> {
        self.read(|c| {
            c.query_row(
                &format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE id = ?1"),
                [id.0],
                product_row,
            )
            .optional()
        })
    }

    fn products(&self, status: Option<ProductStatus>) -> Result<Vec<ProductRow>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {PRODUCT_COLUMNS} FROM products WHERE ?1 IS NULL OR status = ?1 ORDER BY id"
            ))?;
            let rows = stmt.query_map([status.map(ProductStatus::as_str)], product_row)?;
            rows.collect()
        })
    }

    fn product_of_job(&self, job: JobId) -> Result<Option<ProductRow>> {
        self.read(|c| {
            c.query_row(
                &format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE job = ?1"),
                [job.0],
                product_row,
            )
            .optional()
        })
    }

    fn reviews(&self, id: ProductId) -> Result<Vec<Review>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT reviewer, approve, reason, at FROM reviews WHERE product = ?1 ORDER BY at, reviewer",
            )?;
            let rows = stmt.query_map([id.0], |r| {
                Ok(Review {
                    reviewer: r.get(0)?,
                    approve: r.get::<_, i64>(1)? != 0,
                    reason: r.get(2)?,
                    at: parse_ts(&r.get::<_, String>(3)?)?,
                })
            })?;
            rows.collect()
        })
    }

    fn add_review(&self, id: ProductId, review: &Review, audit: &Audit) -> Result<ProductRow> {
        self.tx(|tx| {
            let product = product_in(tx, id)?;
            if product.status != ProductStatus::Pending {
                return Err(Error::State(format!(
                    "{id} is {}: it takes no more reviews",
                    product.status.as_str()
                )));
            }
            let done = tx.execute(
                "INSERT INTO reviews (product, reviewer, approve, reason, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id.0, review.reviewer, i64::from(review.approve), review.reason, ts(review.at)],
            );
            if let Err(rusqlite::Error::SqliteFailure(e, _)) = &done
                && e.code == rusqlite::ErrorCode::ConstraintViolation
            {
                return Err(Error::State(format!(
                    "{} has already reviewed {id}",
                    review.reviewer
                )));
            }
            done.map_err(db)?;
            insert_audit(tx, audit)?;
            let approvals: i64 = tx
                .query_row(
                    "SELECT COUNT(*) FROM reviews WHERE product = ?1 AND approve = 1",
                    [id.0],
                    |r| r.get(0),
                )
                .map_err(db)?;
            let decided = if !review.approve {
                Some((ProductStatus::Rejected, None))
            } else if approvals >= i64::from(product.quorum) {
                let year = review.at.format("%Y");
                Some((ProductStatus::Approved, Some(format!("CR-{year}-{:06}", id.0))))
            } else {
                None
            };
            if let Some((status, registration)) = decided {
                tx.execute(
                    "UPDATE products SET status = ?2, registration = ?3, decided_at = ?4 WHERE id = ?1",
                    params![id.0, status.as_str(), registration, ts(review.at)],
                )
                .map_err(db)?;
                let outcome = registration.unwrap_or_else(|| status.as_str().to_owned());
                let seq = insert_audit(
                    tx,
                    &Audit {
                        actor: "cleanroom".into(),
                        role: "system".into(),
                        action: format!("product.{}", status.as_str()),
                        object: id.to_string(),
                        outcome,
                        ..audit.clone()
                    },
                )?;
                if status == ProductStatus::Approved {
                    tx.execute(
                        "UPDATE products SET approval_seq = ?2 WHERE id = ?1",
                        params![id.0, seq],
                    )
                    .map_err(db)?;
                }
            }
            product_in(tx, id)
        })
    }

    fn set_passport(&self, id: ProductId, passport: &str, audit: &Audit) -> Result<()> {
        self.tx(|tx| {
            let product = product_in(tx, id)?;
            if product.status != ProductStatus::Approved {
                return Err(Error::State(format!(
                    "{id} is {}: only an approved product has a passport",
                    product.status.as_str()
                )));
            }
            tx.execute(
                "UPDATE products SET passport = ?2 WHERE id = ?1",
                params![id.0, passport],
            )
            .map_err(db)?;
            insert_audit(tx, audit)?;
            Ok(())
        })
    }

    fn passport(&self, id: ProductId) -> Result<Option<String>> {
        self.read(|c| {
            c.query_row("SELECT passport FROM products WHERE id = ?1", [id.0], |r| {
                r.get::<_, Option<String>>(0)
            })
            .optional()
        })
        .map(Option::flatten)
    }

    fn add_lineage(&self, job: JobId, kind: &str, event: &str) -> Result<()> {
        self.tx(|tx| {
            tx.execute(
                "INSERT INTO lineage (job, kind, event) VALUES (?1, ?2, ?3)",
                params![job.0, kind, event],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn lineage(&self, job: JobId) -> Result<Vec<String>> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT event FROM lineage WHERE job = ?1 ORDER BY seq")?;
            let rows = stmt.query_map([job.0], |r| r.get(0))?;
            rows.collect()
        })
    }

    fn lineage_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, String)>> {
        self.read(|c| {
            let mut stmt =
                c.prepare("SELECT seq, event FROM lineage WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
            let rows =
                stmt.query_map(params![after, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    fn set_hold(&self, id: ProductId, cause: &str, on: bool, audit: &Audit) -> Result<bool> {
        self.tx(|tx| {
            let changed = if on {
                tx.execute(
                    "INSERT OR IGNORE INTO product_holds (product, cause, since) VALUES (?1, ?2, ?3)",
                    params![id.0, cause, ts(audit.at)],
                )
            } else {
                tx.execute(
                    "DELETE FROM product_holds WHERE product = ?1 AND cause = ?2",
                    params![id.0, cause],
                )
            }
            .map_err(db)?;
            if changed > 0 {
                insert_audit(tx, audit)?;
            }
            Ok(changed > 0)
        })
    }

    fn charge_budget(&self, c: &BudgetCharge, audit: &Audit) -> Result<Charged> {
        self.tx(|tx| {
            let earlier: Option<i64> = tx
                .query_row(
                    "SELECT job FROM budget_charges WHERE licence = ?1 AND plan_hash = ?2 AND data_version = ?3 LIMIT 1",
                    params![c.licence, c.plan_hash, c.data_version],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?;
            if let Some(job) = earlier {
                let mut a = audit.clone();
                a.outcome = format!("reused the answer of {}", JobId(job));
                insert_audit(tx, &a)?;
                return Ok(Charged::Reused(JobId(job)));
            }
            for d in &c.datasets {
                let spent = spent_in(tx, &c.licence, d)?;
                if spent + c.epsilon > c.limit + 1e-9 {
                    let mut a = audit.clone();
                    a.outcome = format!("exhausted: {d}");
                    insert_audit(tx, &a)?;
                    return Ok(Charged::Exhausted {
                        dataset: d.clone(),
                        spent,
                        limit: c.limit,
                    });
                }
            }
            for d in &c.datasets {
                tx.execute(
                    "INSERT INTO budget_charges (licence, dataset, job, epsilon, plan_hash, data_version, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![c.licence, d, c.job.0, c.epsilon, c.plan_hash, c.data_version, ts(audit.at)],
                )
                .map_err(db)?;
            }
            insert_audit(tx, audit)?;
            Ok(Charged::Charged)
        })
    }

    fn budget_spent(&self, licence: &str) -> Result<Vec<(String, f64)>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT dataset, SUM(epsilon) FROM budget_charges WHERE licence = ?1 GROUP BY dataset ORDER BY dataset",
            )?;
            let rows = stmt.query_map([licence], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    fn set_product_check(&self, id: ProductId, check: &ProductCheck, audit: &Audit) -> Result<()> {
        self.tx(|tx| {
            product_in(tx, id)?;
            tx.execute(
                "INSERT INTO product_checks (product, status, report, at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (product) DO UPDATE SET status = ?2, report = ?3, at = ?4",
                params![id.0, check.status.as_str(), check.report, ts(check.at)],
            )
            .map_err(db)?;
            insert_audit(tx, audit)?;
            Ok(())
        })
    }

    fn product_check(&self, id: ProductId) -> Result<Option<ProductCheck>> {
        self.read(|c| {
            c.query_row(
                "SELECT status, report, at FROM product_checks WHERE product = ?1",
                [id.0],
                |r| {
                    let status: String = r.get(0)?;
                    Ok(ProductCheck {
                        status: CheckStatus::parse(&status).unwrap_or(CheckStatus::Failed),
                        report: r.get(1)?,
                        at: parse_ts(&r.get::<_, String>(2)?)?,
                    })
                },
            )
            .optional()
        })
    }

    fn pending_checks(&self) -> Result<Vec<ProductId>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT product FROM product_checks WHERE status = 'pending' ORDER BY product",
            )?;
            let rows = stmt.query_map([], |r| Ok(ProductId(r.get(0)?)))?;
            rows.collect()
        })
    }

    fn holds(&self, id: ProductId) -> Result<Vec<String>> {
        self.read(|c| {
            let mut stmt =
                c.prepare("SELECT cause FROM product_holds WHERE product = ?1 ORDER BY cause")?;
            let rows = stmt.query_map([id.0], |r| r.get(0))?;
            rows.collect()
        })
    }

    fn withdraw_product(&self, id: ProductId, audit: &Audit) -> Result<()> {
        self.tx(|tx| {
            let product = product_in(tx, id)?;
            if product.status != ProductStatus::Approved {
                return Err(Error::State(format!(
                    "{id} is {}: only an approved product can be withdrawn",
                    product.status.as_str()
                )));
            }
            tx.execute(
                "UPDATE products SET status = 'withdrawn', decided_at = ?2 WHERE id = ?1",
                params![id.0, ts(audit.at)],
            )
            .map_err(db)?;
            insert_audit(tx, audit)?;
            Ok(())
        })
    }

    fn set_dataset_suspended(
        &self,
        dataset: &str,
        suspended: bool,
        reason: Option<&str>,
        audit: &Audit,
    ) -> Result<()> {
        self.set_flag_recorded(
            "dataset_state",
            "dataset",
            dataset,
            suspended,
            reason,
            audit,
        )
    }

    fn dataset_suspended(&self, dataset: &str) -> Result<bool> {
        self.read(|c| {
            c.query_row(
                "SELECT suspended FROM dataset_state WHERE dataset = ?1",
                [dataset],
                |r| r.get::<_, i64>(0),
            )
            .optional()
        })
        .map(|v| v.is_some_and(|v| v != 0))
    }

    /// Group commit: the record joins the queue; if nobody is committing, this caller commits
    /// every waiting record in one transaction (one fsync) and hands each its number, otherwise
    /// it waits for the committer. A caller returns only once its record is durable; under
    /// concurrent load many records share a commit. One failing insert fails its group.
    fn append_audit(&self, audit: &Audit) -> Result<i64> {
        let poisoned = || Error::Db("the group commit is poisoned".into());
        let mut g = self.group.lock().map_err(|_| poisoned())?;
        let ticket = g.next_ticket;
        g.next_ticket += 1;
        g.waiting.push((ticket, audit.clone()));
        loop {
            if let Some(r) = g.outcomes.remove(&ticket) {
                return r.map_err(Error::Db);
            }
            if g.committing {
                g = self.decided.wait(g).map_err(|_| poisoned())?;
                continue;
            }
            g.committing = true;
            let batch = std::mem::take(&mut g.waiting);
            drop(g);
            let committed = self.tx(|tx| {
                batch
                    .iter()
                    .map(|(_, a)| insert_audit(tx, a))
                    .collect::<Result<Vec<i64>>>()
            });
            g = self.group.lock().map_err(|_| poisoned())?;
            for (i, (t, _)) in batch.iter().enumerate() {
                let r = match &committed {
                    Ok(seqs) => Ok(seqs[i]),
                    Err(e) => Err(e.to_string()),
                };
                g.outcomes.insert(*t, r);
            }
            g.committing = false;
            self.decided.notify_all();
        }
    }

    fn append_audits(&self, audits: &[Audit]) -> Result<Vec<i64>> {
        self.tx(|tx| audits.iter().map(|a| insert_audit(tx, a)).collect())
    }

    fn audit_after(&self, after: i64, limit: usize) -> Result<Vec<AuditRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![after, limit as i64], audit_row)?;
            rows.collect()
        })
    }

    fn checkpoint(&self) -> Result<Option<SignedCheckpoint>> {
        let conn = self.conn()?;
        self.catch_up(&conn, true)?;
        latest_checkpoint(&conn)
    }

    fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>> {
        latest_checkpoint(&*self.conn()?)
    }

    fn checkpoint_of(&self, size: u64) -> Result<Option<SignedCheckpoint>> {
        self.conn()?
            .query_row(
                &format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE size = ?1"),
                [i64::try_from(size).unwrap_or(i64::MAX)],
                checkpoint_row,
            )
            .optional()
            .map_err(db)
    }

    fn log_size(&self) -> Result<u64> {
        let conn = self.conn()?;
        self.catch_up(&conn, false)?;
        Ok(self.log()?.tree.len())
    }

    fn inclusion_proof(&self, seq: i64, size: u64) -> Result<InclusionProof> {
        let conn = self.conn()?;
        self.catch_up(&conn, false)?;
        self.log()?.inclusion(seq, size)
    }

    fn consistency_proof(&self, size1: u64, size2: u64) -> Result<ConsistencyProof> {
        let conn = self.conn()?;
        self.catch_up(&conn, false)?;
        self.log()?.consistency(size1, size2)
    }

    fn verifier(&self) -> Result<Verifier> {
        Ok(self.log()?.signer.verifier())
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; 64]> {
        Ok(self.log()?.signer.sign(message))
    }

    fn purge_audit(&self, before: DateTime<Utc>, audit: &Audit) -> Result<u64> {
        let limit = audit
            .at
            .checked_sub_months(chrono::Months::new(12 * RETENTION_YEARS as u32))
            .unwrap_or(audit.at);
        if before > limit {
            return Err(Error::State(format!(
                "records are kept at least {RETENTION_YEARS} years: nothing written after {} can be purged",
                ts(limit)
            )));
        }
        self.tx(|tx| {
            // The purged records are always a prefix of the log: up to the first record at or
            // after `before`.
            let through: i64 = tx
                .query_row(
                    "SELECT COALESCE((SELECT MIN(seq) FROM audit WHERE at >= ?1), (SELECT MAX(seq) FROM audit) + 1, 1) - 1",
                    [ts(before)],
                    |r| r.get(0),
                )
                .map_err(db)?;
            let count = tx
                .execute(
                    "INSERT INTO audit_purged (seq, leaf) SELECT seq, leaf FROM audit WHERE seq <= ?1",
                    [through],
                )
                .map_err(db)?;
            tx.execute_batch(AUDIT_GUARDS_DROP).map_err(db)?;
            tx.execute("DELETE FROM audit WHERE seq <= ?1", [through])
                .map_err(db)?;
            tx.execute_batch(AUDIT_GUARDS).map_err(db)?;
            let first: i64 = tx
                .query_row("SELECT COALESCE(MIN(seq), 1) FROM audit_purged", [], |r| {
                    r.get(0)
                })
                .map_err(db)?;
            insert_audit(
                tx,
                &Audit {
                    object: format!("audit:{first}-{through}"),
                    ..audit.clone()
                },
            )?;
            Ok(count as u64)
        })
    }

    fn recover(&self, at: DateTime<Utc>) -> Result<Recovery> {
        let (interrupted, keep) = self.tx(|tx| {
            let open: Vec<(i64, String, String)> = {
                let mut stmt = tx
                    .prepare(
                        "SELECT id, licence, scenario FROM jobs WHERE status IN ('queued', 'running') ORDER BY id",
                    )
                    .map_err(db)?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .map_err(db)?;
                rows.collect::<rusqlite::Result<_>>().map_err(db)?
            };
            let mut ids = Vec::with_capacity(open.len());
            for (id, licence, scenario) in open {
                let id = JobId(id);
                // A result attached before the crash is dropped with its file: the job never
                // succeeded, and nobody was told it did.
                tx.execute(
                    "UPDATE jobs SET status = 'interrupted', updated_at = ?2, result_file = NULL, result_sha256 = NULL WHERE id = ?1",
                    params![id.0, ts(at)],
                )
                .map_err(db)?;
                insert_audit(
                    tx,
                    &Audit::new(
                        at,
                        "cleanroom",
                        "system",
                        "job.interrupt",
                        &id.to_string(),
                        "interrupted",
                    )
                    .licence(&licence, &scenario),
                )?;
                ids.push(id);
            }
            let keep: BTreeSet<String> = {
                let mut stmt = tx
                    .prepare("SELECT result_file FROM jobs WHERE result_file IS NOT NULL")
                    .map_err(db)?;
                let rows = stmt.query_map([], |r| r.get(0)).map_err(db)?;
                rows.collect::<rusqlite::Result<_>>().map_err(db)?
            };
            Ok((ids, keep))
        })?;
        let orphans_removed = sweep(&self.results, &|name| keep.contains(name))?;
        Ok(Recovery {
            interrupted,
            orphans_removed,
        })
    }
}
