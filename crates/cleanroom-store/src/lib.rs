//! Durable state: jobs, their results, licences' runtime state, tokens (hashes only) and the
//! audit records, in one transactional store.
//!
//! [`Store`] is the interface the platform uses; [`SqliteStore`] is the embedded default (WAL,
//! `synchronous = FULL`, foreign keys, migrations on open). A PostgreSQL backend implements the
//! same trait later. Every method that changes state takes the [`Audit`] record describing the
//! change and writes it in the same transaction: either both are durable or neither is. Audit
//! records are append-only (triggers refuse UPDATE and DELETE); the transparency log is built
//! over them. Result files are written to a temporary file, fsynced and renamed before the row
//! that points to them commits, and [`Store::recover`] removes any file no row points to.

mod files;
pub mod log;
mod sqlite;
pub mod verify;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// A job's kind, as licences name it.
pub use cleanroom_policy::JobKind;
pub use files::write_atomic;
pub use log::{ConsistencyProof, InclusionProof, LogOptions, SignedCheckpoint};
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database refused or failed. The text is SQLite's and names no data value: the store
    /// binds every value as a parameter.
    #[error("store: {0}")]
    Db(String),
    #[error("store: {0}")]
    Io(String),
    #[error("job {0} does not exist")]
    NoJob(JobId),
    /// A transition the lifecycle does not allow (e.g. a finished job started again).
    #[error("job {id} is {from}, it cannot become {to}")]
    Transition {
        id: JobId,
        from: JobStatus,
        to: JobStatus,
    },
    #[error("product {0} does not exist")]
    NoProduct(ProductId),
    /// The object is not in a state that allows the change (a product already decided, a job
    /// that has not succeeded, a second review by the same reviewer).
    #[error("{0}")]
    State(String),
    /// The database was written by a newer version of cleanroom.
    #[error("the store is at schema version {found}; this binary knows up to {known}")]
    Version { found: i64, known: i64 },
}

pub type Result<T> = std::result::Result<T, Error>;

// chrono is built without its serde feature (one build of it for the whole workspace): times
// serialise as RFC 3339 strings.
fn ser_time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

fn ser_opt_time<S: serde::Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser_time(t, s),
        None => s.serialize_none(),
    }
}

/// A job's number; shown as `job-<n>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct JobId(pub i64);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "job-{}", self.0)
    }
}

impl JobId {
    /// Reads `job-<n>`.
    pub fn parse(text: &str) -> Option<JobId> {
        text.strip_prefix("job-")?.parse().ok().map(JobId)
    }
}

/// The job lifecycle: queued → running → succeeded | blocked | failed | cancelled |
/// interrupted (and queued → cancelled | interrupted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Blocked,
    Failed,
    Cancelled,
    Interrupted,
}

impl JobStatus {
    pub const ALL: [JobStatus; 7] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Blocked,
        JobStatus::Failed,
        JobStatus::Cancelled,
        JobStatus::Interrupted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Blocked => "blocked",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the lifecycle allows `self` → `to`.
    pub fn may_become(self, to: JobStatus) -> bool {
        use JobStatus::*;
        match self {
            Queued => matches!(to, Running | Cancelled | Interrupted),
            Running => matches!(to, Succeeded | Blocked | Failed | Cancelled | Interrupted),
            _ => false,
        }
    }

    pub fn is_finished(self) -> bool {
        !matches!(self, JobStatus::Queued | JobStatus::Running)
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an operator submitted.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub licence: String,
    pub scenario: String,
    pub operator: String,
    pub kind: JobKind,
    /// SHA-256 of the SQL text or of the component, hex.
    pub source_hash: String,
    /// What reviewers read: the SQL text, or the WASM job's manifest (the component itself is
    /// named by its hash).
    pub source: Option<String>,
    pub at: DateTime<Utc>,
}

/// A job as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JobRow {
    pub id: JobId,
    pub licence: String,
    pub scenario: String,
    pub operator: String,
    pub kind: JobKind,
    pub source_hash: String,
    pub status: JobStatus,
    #[serde(serialize_with = "ser_time")]
    pub submitted_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub updated_at: DateTime<Utc>,
    /// The decision and the report (JSON), once known.
    pub decision: Option<String>,
    pub report: Option<String>,
    /// The result file's name under the results directory, and its SHA-256.
    pub result_file: Option<String>,
    pub result_sha256: Option<String>,
    /// The SQL text or the WASM manifest.
    pub source: Option<String>,
}

/// What a transition records besides the status.
#[derive(Clone, Debug, Default)]
pub struct JobUpdate {
    pub decision: Option<String>,
    pub report: Option<String>,
}

/// One audit record as written: who did what to which object under which licence, and how it
/// ended. The store adds the sequence number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Audit {
    #[serde(serialize_with = "ser_time")]
    pub at: DateTime<Utc>,
    pub actor: String,
    pub role: String,
    pub licence: Option<String>,
    pub scenario: Option<String>,
    pub purpose: Option<String>,
    pub action: String,
    pub object: String,
    pub outcome: String,
    /// SHA-256 of the plan, the SQL or the component, hex.
    pub hash: Option<String>,
}

impl Audit {
    /// A record with only the required fields; set the others as needed.
    pub fn new(
        at: DateTime<Utc>,
        actor: &str,
        role: &str,
        action: &str,
        object: &str,
        outcome: &str,
    ) -> Audit {
        Audit {
            at,
            actor: actor.into(),
            role: role.into(),
            licence: None,
            scenario: None,
            purpose: None,
            action: action.into(),
            object: object.into(),
            outcome: outcome.into(),
            hash: None,
        }
    }

    pub fn licence(mut self, licence: &str, scenario: &str) -> Audit {
        self.licence = Some(licence.into());
        self.scenario = Some(scenario.into());
        self
    }

    pub fn hash(mut self, hash: &str) -> Audit {
        self.hash = Some(hash.into());
        self
    }
}

/// An audit record with its place in the log (1, 2, 3 ... without gaps).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    pub seq: i64,
    #[serde(flatten)]
    pub audit: Audit,
}

/// A bearer token as stored: its SHA-256, never the token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenRow {
    pub hash: String,
    pub role: String,
    pub principal: String,
    #[serde(serialize_with = "ser_time")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_opt_time")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A licence's runtime state (its terms live in `policies/licences/`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LicenceState {
    pub licence: String,
    pub suspended: bool,
    pub reason: Option<String>,
    #[serde(serialize_with = "ser_time")]
    pub changed_at: DateTime<Utc>,
}

/// A product's number; shown as `product-<n>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ProductId(pub i64);

impl std::fmt::Display for ProductId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "product-{}", self.0)
    }
}

/// pending → approved (quorum reached) | rejected (any reviewer); approved → withdrawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProductStatus {
    Pending,
    Approved,
    Rejected,
    Withdrawn,
}

impl ProductStatus {
    pub const ALL: [ProductStatus; 4] = [
        ProductStatus::Pending,
        ProductStatus::Approved,
        ProductStatus::Rejected,
        ProductStatus::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Pending => "pending",
            ProductStatus::Approved => "approved",
            ProductStatus::Rejected => "rejected",
            ProductStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<ProductStatus> {
        ProductStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// An operator's request to release a succeeded job as a product.
#[derive(Clone, Debug)]
pub struct NewProduct {
    pub job: JobId,
    pub name: String,
    pub description: String,
    /// Distinct approvals needed.
    pub quorum: u32,
    pub requested_by: String,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProductRow {
    pub id: ProductId,
    pub job: JobId,
    pub name: String,
    pub description: String,
    pub status: ProductStatus,
    pub quorum: u32,
    pub requested_by: String,
    #[serde(serialize_with = "ser_time")]
    pub requested_at: DateTime<Utc>,
    /// Given on approval: `CR-<year>-<number>`.
    pub registration: Option<String>,
    #[serde(serialize_with = "ser_opt_time")]
    pub decided_at: Option<DateTime<Utc>>,
    /// The audit record of the approval (its passport proves it is in the log).
    pub approval_seq: Option<i64>,
}

/// One reviewer's verdict on a product, with the reason (required either way).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Review {
    pub reviewer: String,
    pub approve: bool,
    pub reason: String,
    #[serde(serialize_with = "ser_time")]
    pub at: DateTime<Utc>,
}

/// A job's ε, charged to every dataset it read.
#[derive(Clone, Debug)]
pub struct BudgetCharge {
    pub licence: String,
    pub job: JobId,
    pub datasets: Vec<String>,
    pub epsilon: f64,
    /// The licence's budget per dataset.
    pub limit: f64,
    /// The same plan over the same data version gives the same (keyed) noisy answer.
    pub plan_hash: String,
    pub data_version: String,
}

/// What a budget charge did.
#[derive(Clone, Debug, PartialEq)]
pub enum Charged {
    Charged,
    /// The answer of this earlier job was given for the same plan and data: nothing charged.
    Reused(JobId),
    /// Nothing charged: this dataset's budget does not cover the job.
    Exhausted {
        dataset: String,
        spent: f64,
        limit: f64,
    },
}

/// Where a product's attack battery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Waiting or running; reviews wait for it.
    Pending,
    Done,
    /// The battery itself failed (its report says why); reviewers decide without it.
    Failed,
    /// The battery does not apply to the product's licence.
    NotApplicable,
}

impl CheckStatus {
    pub const ALL: [CheckStatus; 4] = [
        CheckStatus::Pending,
        CheckStatus::Done,
        CheckStatus::Failed,
        CheckStatus::NotApplicable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Pending => "pending",
            CheckStatus::Done => "done",
            CheckStatus::Failed => "failed",
            CheckStatus::NotApplicable => "not_applicable",
        }
    }

    pub fn parse(s: &str) -> Option<CheckStatus> {
        CheckStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A product's attack battery: its state and, once finished, its report (JSON).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProductCheck {
    pub status: CheckStatus,
    pub report: Option<String>,
    #[serde(serialize_with = "ser_time")]
    pub at: DateTime<Utc>,
}

/// What [`Store::recover`] found after a start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Jobs that were queued or running when the process stopped, now interrupted.
    pub interrupted: Vec<JobId>,
    /// Result files no row points to (and temporary files), removed.
    pub orphans_removed: usize,
}

/// The durable state the platform needs. Every state change takes its audit record and
/// writes both in one transaction.
pub trait Store: Send + Sync {
    /// Records a new queued job; returns its id.
    fn create_job(&self, job: &NewJob, audit: &Audit) -> Result<JobId>;

    /// Moves a job along its lifecycle; refuses what the lifecycle does not allow.
    fn transition_job(
        &self,
        id: JobId,
        to: JobStatus,
        update: &JobUpdate,
        audit: &Audit,
    ) -> Result<()>;

    /// Writes the job's result file (temporary file, fsync, rename), then commits the row that
    /// points to it with `audit`. The job must be running.
    fn attach_result(&self, id: JobId, bytes: &[u8], sha256: &str, audit: &Audit) -> Result<()>;

    fn job(&self, id: JobId) -> Result<Option<JobRow>>;

    /// Up to `limit` jobs, newest first, of one operator or of all.
    fn jobs(&self, operator: Option<&str>, limit: usize) -> Result<Vec<JobRow>>;

    /// The bytes of a job's result file, if it has one.
    fn result(&self, id: JobId) -> Result<Option<Vec<u8>>>;

    /// Jobs of a licence submitted at or after `since` (the daily limit counts these).
    fn jobs_since(&self, licence: &str, since: DateTime<Utc>) -> Result<u64>;

    /// Jobs of a licence with a status in `statuses` updated at or after `since`.
    fn jobs_with_status_since(
        &self,
        licence: &str,
        statuses: &[JobStatus],
        since: DateTime<Utc>,
    ) -> Result<u64>;

    /// The latest submission under a licence, if any.
    fn last_job_at(&self, licence: &str) -> Result<Option<DateTime<Utc>>>;

    fn add_token(&self, token: &TokenRow, audit: &Audit) -> Result<()>;

    fn token(&self, hash: &str) -> Result<Option<TokenRow>>;

    /// When the platform first used this store: `at` on the first call, the same time ever
    /// after. Days before it are not counted against a licence (dormancy).
    fn first_start(&self, at: DateTime<Utc>) -> Result<DateTime<Utc>>;

    /// Revokes a token from `at` on; returns false when it is unknown or already revoked.
    fn revoke_token(&self, hash: &str, at: DateTime<Utc>, audit: &Audit) -> Result<bool>;

    fn set_licence_suspended(
        &self,
        licence: &str,
        suspended: bool,
        reason: Option<&str>,
        audit: &Audit,
    ) -> Result<()>;

    fn licence_state(&self, licence: &str) -> Result<Option<LicenceState>>;

    /// Records a product request for a succeeded job (one product per job).
    fn create_product(&self, product: &NewProduct, audit: &Audit) -> Result<ProductId>;

    fn product(&self, id: ProductId) -> Result<Option<ProductRow>>;

    /// Products, oldest first, optionally of one status.
    fn products(&self, status: Option<ProductStatus>) -> Result<Vec<ProductRow>>;

    /// The product requested for a job, if any (one per job).
    fn product_of_job(&self, job: JobId) -> Result<Option<ProductRow>>;

    fn reviews(&self, id: ProductId) -> Result<Vec<Review>>;

    /// Records a review of a pending product and decides it in the same transaction: a
    /// rejection rejects it; the approval that reaches the quorum approves it and gives it its
    /// registration number. A reviewer reviews a product once.
    fn add_review(&self, id: ProductId, review: &Review, audit: &Audit) -> Result<ProductRow>;

    /// Keeps the signed passport of an approved product, with its record.
    fn set_passport(&self, id: ProductId, passport: &str, audit: &Audit) -> Result<()>;

    fn passport(&self, id: ProductId) -> Result<Option<String>>;

    /// Keeps one OpenLineage run event of a job (`kind`: START, COMPLETE, FAIL, ABORT).
    fn add_lineage(&self, job: JobId, kind: &str, event: &str) -> Result<()>;

    /// A job's lineage events, in order.
    fn lineage(&self, job: JobId) -> Result<Vec<String>>;

    /// Up to `limit` lineage events of every job after position `after`, in order.
    fn lineage_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, String)>>;

    /// Puts a product on hold for `cause` (a recall: `dataset:<id>` or `licence:<id>`) or lifts
    /// that hold; `audit` is written only when something changed, which the result says.
    fn set_hold(&self, id: ProductId, cause: &str, on: bool, audit: &Audit) -> Result<bool>;

    /// The causes a product is held for; downloads stop while there is any.
    fn holds(&self, id: ProductId) -> Result<Vec<String>>;

    /// Charges a job's ε to each dataset it read, atomically, with `audit` (its outcome is
    /// replaced where the charge is refused or an earlier answer is reused): an earlier charge
    /// for the same plan over the same data version means the same answer, reused without a new
    /// charge; a dataset whose spent ε plus this one would pass the limit refuses the whole
    /// charge.
    fn charge_budget(&self, charge: &BudgetCharge, audit: &Audit) -> Result<Charged>;

    /// ε spent per dataset under a licence, by dataset.
    fn budget_spent(&self, licence: &str) -> Result<Vec<(String, f64)>>;

    /// Sets the state of a product's attack battery, with its record.
    fn set_product_check(&self, id: ProductId, check: &ProductCheck, audit: &Audit) -> Result<()>;

    fn product_check(&self, id: ProductId) -> Result<Option<ProductCheck>>;

    /// Products whose battery is pending (to run again after a restart), oldest first.
    fn pending_checks(&self) -> Result<Vec<ProductId>>;

    /// Withdraws an approved product: downloads stop at once.
    fn withdraw_product(&self, id: ProductId, audit: &Audit) -> Result<()>;

    fn set_dataset_suspended(
        &self,
        dataset: &str,
        suspended: bool,
        reason: Option<&str>,
        audit: &Audit,
    ) -> Result<()>;

    fn dataset_suspended(&self, dataset: &str) -> Result<bool>;

    /// A record of something that changed no state (a refused request, a download).
    fn append_audit(&self, audit: &Audit) -> Result<i64>;

    /// Records of things that changed no state, written together in one transaction (one
    /// fsync): all durable or none. Returns their sequence numbers.
    fn append_audits(&self, audits: &[Audit]) -> Result<Vec<i64>>;

    /// Up to `limit` records after sequence number `after`, in order.
    fn audit_after(&self, after: i64, limit: usize) -> Result<Vec<AuditRecord>>;

    /// Signs a checkpoint of the whole log if it grew since the last one; returns the latest.
    fn checkpoint(&self) -> Result<Option<SignedCheckpoint>>;

    fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>>;

    /// The checkpoint signed at exactly `size` records, if one was.
    fn checkpoint_of(&self, size: u64) -> Result<Option<SignedCheckpoint>>;

    /// How many records the log holds, purged ones included.
    fn log_size(&self) -> Result<u64>;

    /// The proof that record `seq` is in the tree of the first `size` records.
    fn inclusion_proof(&self, seq: i64, size: u64) -> Result<InclusionProof>;

    /// The proof that the tree of `size1` records is a prefix of the tree of `size2`.
    fn consistency_proof(&self, size1: u64, size2: u64) -> Result<ConsistencyProof>;

    /// The platform's public key.
    fn verifier(&self) -> Result<cleanroom_tlog::Verifier>;

    /// An Ed25519 signature by the platform key (product passports).
    fn sign(&self, message: &[u8]) -> Result<[u8; 64]>;

    /// Purges the records written before `before`, which must be at least the retention period
    /// before `audit.at`: their contents go, their leaf hashes stay (the tree still verifies),
    /// and `audit` is recorded naming the range. Returns how many were purged.
    fn purge_audit(&self, before: DateTime<Utc>, audit: &Audit) -> Result<u64>;

    /// After a start: marks every queued or running job interrupted, each with a record, and
    /// removes result files no row points to.
    fn recover(&self, at: DateTime<Utc>) -> Result<Recovery>;
}
