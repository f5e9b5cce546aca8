//! cleanroom-engine: runs one job.
//!
//! It owns the per-job DataFusion session (only the licence's datasets are registered; no DDL,
//! DML, statements, URL tables, table functions or `information_schema`; recursive CTEs off; a
//! bounded memory pool of its own; spill files under the state directory, each deleted as soon as
//! the operator that wrote it is done with it; a deadline) and the order of a job: licence checks, statement check, planning, the guard's
//! static decision, the rewrite, execution, the guard's dynamic checks.
//!
//! INVARIANT: no raw row crosses this crate's public API. [`Report`] holds only checked results
//! (after suppression and the output scans), and every error text is scrubbed of values.

mod functions;
mod session;
mod wasm;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use cleanroom_guard::dynamic::Suppression;
use cleanroom_guard::scrub::scrub_error;
use cleanroom_guard::{
    ColumnLineage, Decision, EchoFilter, GuardContext, RuleId, Verdict, Violation,
};
use cleanroom_policy::{DisclosureRules, JobKind, Policies};
use datafusion::arrow::array::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::LogicalPlan;
use serde::Serialize;

pub use cleanroom_guard::lineage::{NAMESPACE as LINEAGE_NAMESPACE, PRODUCER as LINEAGE_PRODUCER};
pub use cleanroom_guard::scrub::mask_values;
pub use functions::{FunctionsUse, GuestFunctions};
pub use session::{SessionLimits, base_config, catalog_schema, parse_problem};
pub use wasm::{Aggregate, ComponentFailure, Manifest, WasmJob, WasmReport};

/// Errors that stop a job before a decision exists. Policy decisions are not errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input from the caller: unknown licence, SQL that does not parse or plan.
    #[error("{0}")]
    InvalidInput(String),
    /// The job ran out of memory or time.
    #[error("{0}")]
    ResourcesExhausted(String),
    /// Data files missing or unreadable.
    #[error("{0}")]
    Data(String),
    /// A WASM job's component failed: out of fuel, past its deadline, over a limit, trapped,
    /// or broke the contract.
    #[error("{0}")]
    Component(Box<ComponentFailure>),
    /// A bug or an environment failure.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(mask_values(&e.to_string()))
}

/// Maps a DataFusion error during execution to a scrubbed engine error.
fn exec_error(e: &DataFusionError) -> Error {
    match e.find_root() {
        DataFusionError::ResourcesExhausted(_) => {
            Error::ResourcesExhausted(format!("the job ran out of memory: {}", scrub_error(e)))
        }
        DataFusionError::Plan(_)
        | DataFusionError::SQL(..)
        | DataFusionError::NotImplemented(_)
        | DataFusionError::SchemaError(..) => Error::InvalidInput(scrub_error(e)),
        _ => Error::Internal(scrub_error(e)),
    }
}

/// Where the engine finds things, and its limits.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub data_dir: PathBuf,
    pub state_dir: PathBuf,
    pub limits: SessionLimits,
}

/// One job.
#[derive(Clone, Debug)]
pub struct JobRequest {
    pub licence: String,
    pub scenario: String,
    pub sql: String,
    /// The server's date, never the caller's.
    pub today: NaiveDate,
    /// Ask for differential privacy where the policy makes it optional (it is always on where
    /// the policy requires it).
    pub dp: bool,
}

/// A dataset a job read, and which version of it: the data zone file's size and the time it
/// was last written (when this version was acquired).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Source {
    pub dataset: String,
    /// RFC 3339, UTC.
    pub acquired: String,
    pub bytes: u64,
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What the guard decided of a planned job before reading any data: the platform records it
/// before execution (DESIGN.md §6, intent before, result digest after).
#[derive(Clone, Debug, Serialize)]
pub struct Intent {
    /// SHA-256 of the logical plan as the guard analysed it.
    pub plan_hash: String,
    pub decision: Verdict,
    /// The ids of the rules the static analysis found violated.
    pub rules: Vec<String>,
}

impl Intent {
    fn of(plan: &LogicalPlan, decision: &Decision) -> Intent {
        Intent {
            plan_hash: sha256_hex(plan.display_indent().to_string().as_bytes()),
            decision: decision.verdict(),
            rules: decision
                .violations
                .iter()
                .map(|v| v.rule.to_string())
                .collect(),
        }
    }
}

/// Called with the [`Intent`] once the plan is decided and before execution; an error stops
/// the job before it reads anything.
pub type IntentHook<'a> = &'a (dyn Fn(&Intent) -> std::result::Result<(), String> + Send + Sync);

/// What a job produced: the decision, what was suppressed, the lineage and the checked result.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub decision: Verdict,
    pub violations: Vec<Violation>,
    pub suppressed_groups: u64,
    pub suppression: Suppression,
    /// The effective threshold k (distinct privacy units per group).
    pub k: u32,
    pub columns: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lineage: Option<ColumnLineage>,
    pub policy_version: String,
    /// May the operator see the rows before review (the licence's `interactive`)?
    pub interactive: bool,
    /// The checked result; empty when blocked or not executed.
    /// The guest scalar functions the job could call: the component by hash, and their use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub functions: Option<FunctionsUse>,
    /// The datasets an executed job read, with the version of each (empty when not executed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
    /// ε the job spends (null without DP).
    pub epsilon: Option<f64>,
    /// Differential privacy: ε, δ, the noisy threshold and every noisy measurement with its
    /// scale and 95 % error bound (absent without DP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dp: Option<cleanroom_guard::dp::DpReport>,
    #[serde(skip)]
    pub batches: Vec<RecordBatch>,
}

impl Report {
    fn blocked(decision: Decision, k: u32, policy_version: &str) -> Report {
        Report {
            decision: decision.verdict(),
            violations: decision.violations,
            suppressed_groups: 0,
            suppression: Suppression::default(),
            k,
            columns: Vec::new(),
            lineage: None,
            policy_version: policy_version.to_string(),
            interactive: false,
            functions: None,
            sources: Vec::new(),
            epsilon: None,
            dp: None,
            batches: Vec::new(),
        }
    }

    pub fn is_allowed(&self) -> bool {
        self.decision == Verdict::Allowed
    }

    pub fn row_count(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// The checked result as one Arrow IPC stream (the schema, then every batch), for storing.
    pub fn result_ipc(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        if let Some(first) = self.batches.first() {
            let mut w =
                datafusion::arrow::ipc::writer::StreamWriter::try_new(&mut out, &first.schema())
                    .map_err(internal)?;
            for b in &self.batches {
                w.write(b).map_err(internal)?;
            }
            w.finish().map_err(internal)?;
        }
        Ok(out)
    }
}

/// A planned job that passed the static checks.
struct Planned {
    session: session::JobSession,
    plan: LogicalPlan,
    ctx: GuardContext,
    analysis: cleanroom_guard::Analysis,
    interactive: bool,
    functions: Option<functions::Registered>,
}

enum Stage {
    Blocked(Box<Report>),
    Planned(Box<Planned>),
}

/// The job runner. Cheap to share; one per process.
pub struct Engine {
    policies: Arc<Policies>,
    config: EngineConfig,
    echo: Mutex<HashMap<String, Arc<EchoFilter>>>,
    /// The most rows one unit has, per dataset file version (see [`Engine::unit_rows`]).
    unit_rows: Mutex<HashMap<String, u64>>,
    tables: session::TableCache,
    template: session::Template,
    /// Set once from the state directory, or by [`Engine::with_noise_key`] /
    /// [`Engine::renew_noise_key`].
    noise_key: Mutex<Option<[u8; 32]>>,
}

/// The platform's secret DP noise key in the state directory (see
/// [`GuardContext::with_noise_key`]).
pub const NOISE_KEY_FILE: &str = "noise.key";

impl Engine {
    pub fn new(policies: Policies, config: EngineConfig) -> Self {
        Engine {
            policies: Arc::new(policies),
            template: session::Template::new(&config.limits),
            config,
            echo: Mutex::new(HashMap::new()),
            unit_rows: Mutex::new(HashMap::new()),
            tables: session::TableCache::default(),
            noise_key: Mutex::new(None),
        }
    }

    /// Uses this noise key instead of the state directory's (replays, and tests that need fresh
    /// noise per run over the same state).
    pub fn with_noise_key(self, key: [u8; 32]) -> Self {
        self.set_noise_key(key);
        self
    }

    /// Draws a fresh noise key from the operating system's random source, held in memory only:
    /// the next job's noise is independent of every earlier one, as on a new platform
    /// (benchmarks that time a warm engine over repeated runs with fresh noise each).
    pub fn renew_noise_key(&self) -> Result<()> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(internal)?;
        self.set_noise_key(key);
        Ok(())
    }

    fn set_noise_key(&self, key: [u8; 32]) {
        let mut slot = self
            .noise_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = Some(key);
    }

    fn held_noise_key(&self) -> Option<[u8; 32]> {
        *self
            .noise_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The noise key: read from `state_dir/noise.key`, made from the operating system's random
    /// source on first use (readable by the owner only).
    pub(crate) fn noise_key(&self) -> Result<[u8; 32]> {
        if let Some(k) = self.held_noise_key() {
            return Ok(k);
        }
        let path = self.config.state_dir.join(NOISE_KEY_FILE);
        let key = match std::fs::read(&path) {
            Ok(bytes) => <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| internal(format!("{NOISE_KEY_FILE} is not 32 bytes")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(internal)?;
                std::fs::create_dir_all(&self.config.state_dir).map_err(internal)?;
                let tmp = own_temp(&path)?;
                {
                    use std::io::Write as _;
                    use std::os::unix::fs::OpenOptionsExt as _;
                    let mut f = std::fs::OpenOptions::new()
                        .write(true)
                        .create(true)
                        .truncate(true)
                        .mode(0o600)
                        .open(&tmp)
                        .map_err(internal)?;
                    f.write_all(&key).map_err(internal)?;
                    f.sync_all().map_err(internal)?;
                }
                // Another engine on the same state may have won the race: keep its key.
                if std::fs::hard_link(&tmp, &path).is_err() {
                    let _ = std::fs::remove_file(&tmp);
                    return self.noise_key();
                }
                let _ = std::fs::remove_file(&tmp);
                key
            }
            Err(e) => {
                return Err(internal(format!(
                    "cannot read {NOISE_KEY_FILE}: {}",
                    e.kind()
                )));
            }
        };
        let mut slot = self
            .noise_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(*slot.get_or_insert(key))
    }

    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The static decision: licence, statement, plan and guard, without reading any data.
    pub async fn check(&self, req: &JobRequest) -> Result<Report> {
        self.check_with(req, None).await
    }

    /// As [`Engine::check`], with a component's scalar functions callable from the SQL.
    pub async fn check_with(
        &self,
        req: &JobRequest,
        functions: Option<&GuestFunctions>,
    ) -> Result<Report> {
        match self.plan(req, false, functions).await? {
            Stage::Blocked(r) => Ok(*r),
            Stage::Planned(p) => {
                let d = p.analysis.decision;
                Ok(Report {
                    decision: d.verdict(),
                    violations: d.violations,
                    suppressed_groups: 0,
                    suppression: Suppression::default(),
                    k: p.ctx.rules.k,
                    columns: p.analysis.columns,
                    lineage: Some(p.analysis.lineage),
                    policy_version: self.policies.version.clone(),
                    interactive: p.interactive,
                    functions: p.functions.as_ref().map(functions::Registered::report),
                    sources: Vec::new(),
                    epsilon: p.ctx.dp_on().then_some(p.ctx.rules.epsilon),
                    dp: None,
                    batches: Vec::new(),
                })
            }
        }
    }

    /// Runs a job in the sandbox: the static decision, then (if allowed) execution and the
    /// dynamic checks. Only the checked result comes back.
    pub async fn run(&self, req: &JobRequest) -> Result<Report> {
        self.run_with(req, None).await
    }

    /// As [`Engine::run`], with a component's scalar functions callable from the SQL. A
    /// function that fails stops the job with [`Error::Component`] and its classified failure.
    pub async fn run_with(
        &self,
        req: &JobRequest,
        functions: Option<&GuestFunctions>,
    ) -> Result<Report> {
        self.run_hooked(req, functions, None).await
    }

    /// As [`Engine::run_with`], calling `intent` with the static decision before execution.
    pub async fn run_hooked(
        &self,
        req: &JobRequest,
        functions: Option<&GuestFunctions>,
        intent: Option<IntentHook<'_>>,
    ) -> Result<Report> {
        let p = match self.plan(req, true, functions).await? {
            Stage::Blocked(r) => return Ok(*r),
            Stage::Planned(p) => p,
        };
        let Planned {
            session,
            plan,
            ctx,
            analysis,
            interactive,
            functions,
        } = *p;
        if let Some(hook) = intent {
            hook(&Intent::of(&plan, &analysis.decision)).map_err(Error::Internal)?;
        }
        if !analysis.decision.is_allowed() {
            let mut r = Report::blocked(analysis.decision, ctx.rules.k, &self.policies.version);
            r.columns = analysis.columns;
            r.lineage = Some(analysis.lineage);
            r.interactive = interactive;
            r.functions = functions.as_ref().map(functions::Registered::report);
            return Ok(r);
        }
        let ctx = if ctx.dp_on() {
            let rows = self.unit_rows(&analysis.datasets).await?;
            ctx.with_unit_rows(rows)
        } else {
            ctx
        };
        let rewritten =
            cleanroom_guard::rewrite(&plan, &ctx).map_err(|e| internal(scrub_error(&e)))?;
        let batches = session
            .execute(rewritten.plan.clone(), self.config.limits.timeout_ms)
            .await;
        // A guest function's classified failure says more than DataFusion's error text.
        let batches = match (batches, functions.as_ref().and_then(|f| f.failure())) {
            (Err(_), Some(failure)) => return Err(failure),
            (batches, _) => batches?,
        };
        let filters = self.echo_filters(&analysis.datasets).await?;
        let refs: Vec<&EchoFilter> = filters.iter().map(Arc::as_ref).collect();
        let checked = cleanroom_guard::dynamic::check(batches, &rewritten, &ctx.rules, &refs)
            .map_err(|e| internal(scrub_error(&e)))?;
        drop(session);
        let mut decision = analysis.decision;
        decision.extend(checked.decision.violations);
        let sources = self.sources(&analysis.datasets)?;
        Ok(Report {
            decision: decision.verdict(),
            violations: decision.violations,
            suppressed_groups: checked.suppressed.total(),
            suppression: checked.suppressed,
            k: ctx.rules.k,
            columns: analysis.columns,
            lineage: Some(analysis.lineage),
            policy_version: self.policies.version.clone(),
            interactive,
            functions: functions.as_ref().map(functions::Registered::report),
            sources,
            epsilon: rewritten.dp.as_ref().map(|d| d.epsilon),
            dp: rewritten.dp,
            batches: checked.batches,
        })
    }

    async fn plan(
        &self,
        req: &JobRequest,
        with_data: bool,
        guest: Option<&GuestFunctions>,
    ) -> Result<Stage> {
        let policies = &self.policies;
        let licence = policies.licence(&req.licence).ok_or_else(|| {
            Error::InvalidInput(format!("unknown licence `{}`", mask_values(&req.licence)))
        })?;
        let datasets: Vec<&cleanroom_policy::Dataset> = licence
            .datasets
            .iter()
            .filter_map(|d| policies.dataset(d))
            .collect();
        let rules: DisclosureRules = policies.effective_rules(licence, &datasets);
        let licence_problems =
            policies.check_licence(licence, &req.scenario, JobKind::Sql, req.today);
        if !licence_problems.is_empty() {
            let mut d = Decision::default();
            d.extend(licence_problems);
            return Ok(blocked_stage(d, rules.k, &policies.version));
        }
        let mut ctx = GuardContext::new(datasets.iter().map(|d| (*d).clone()), rules)
            .with_dp_requested(req.dp);
        if ctx.dp_on() && with_data {
            ctx = ctx.with_noise_key(Some(self.noise_key()?));
        }
        let mut session =
            session::JobSession::new(&self.template, &self.tables, &ctx, &self.config, with_data)
                .await?;
        let (ctx, functions) = match guest {
            Some(g) => {
                let registered = functions::register(g, session.state_mut()).await?;
                let ctx = ctx.with_guest_functions(registered.names.iter().cloned());
                (ctx, Some(registered))
            }
            None => (ctx, None),
        };

        let plan = match session.plan_select(&req.sql).await? {
            Ok(p) => p,
            Err(d) => return Ok(blocked_stage(d, ctx.rules.k, &policies.version)),
        };
        let analysis = cleanroom_guard::analyze(&plan, &ctx);
        Ok(Stage::Planned(Box::new(Planned {
            session,
            plan,
            ctx,
            analysis,
            interactive: licence.interactive,
            functions,
        })))
    }

    /// The version of each dataset read: the data file's size and modification time.
    pub(crate) fn sources(
        &self,
        datasets: &std::collections::BTreeSet<String>,
    ) -> Result<Vec<Source>> {
        datasets
            .iter()
            .map(|id| {
                let path = self.config.data_dir.join(format!("{id}.parquet"));
                let meta = std::fs::metadata(&path).map_err(|e| {
                    Error::Data(format!("cannot read dataset `{id}`: {}", e.kind()))
                })?;
                let acquired = meta
                    .modified()
                    .map(chrono::DateTime::<chrono::Utc>::from)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default();
                Ok(Source {
                    dataset: id.clone(),
                    acquired,
                    bytes: meta.len(),
                })
            })
            .collect()
    }

    /// The key of the current version of dataset `id`'s file: its name, size and modification
    /// time.
    fn version_key(&self, id: &str) -> Result<(PathBuf, String)> {
        let path = self.config.data_dir.join(format!("{id}.parquet"));
        let meta = std::fs::metadata(&path)
            .map_err(|e| Error::Data(format!("cannot read dataset `{id}`: {}", e.kind())))?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .unwrap_or(Duration::ZERO);
        let key = format!("{id}-{:x}-{:x}", meta.len(), mtime.as_nanos());
        Ok((path, key))
    }

    /// The echo filters of the given datasets, built once per dataset file version and cached
    /// in memory and in `state_dir/echo/`.
    async fn echo_filters(
        &self,
        datasets: &std::collections::BTreeSet<String>,
    ) -> Result<Vec<Arc<EchoFilter>>> {
        let mut out = Vec::new();
        for id in datasets {
            let Some(ds) = self.policies.dataset(id) else {
                continue;
            };
            let (path, key) = self.version_key(id)?;
            if let Some(f) = self.echo.lock().map_err(internal)?.get(&key) {
                out.push(f.clone());
                continue;
            }
            let cache = self
                .config
                .state_dir
                .join("echo")
                .join(format!("{key}.bloom"));
            let filter = match std::fs::read(&cache)
                .ok()
                .and_then(|b| EchoFilter::from_bytes(&b))
            {
                Some(f) => f,
                None => {
                    let f = session::build_echo_filter(ds, &path).await?;
                    write_atomic(&cache, &f.to_bytes())?;
                    f
                }
            };
            let f = Arc::new(filter);
            self.echo.lock().map_err(internal)?.insert(key, f.clone());
            out.push(f);
        }
        Ok(out)
    }

    /// The most rows one privacy unit has in each of the given protected datasets whose units
    /// may own several rows: measured on the data once per file version and cached in memory
    /// and in `state_dir/profile/`. DP's rewrite skips weighting rows where no unit has more
    /// than its per-unit limit.
    async fn unit_rows(
        &self,
        datasets: &std::collections::BTreeSet<String>,
    ) -> Result<Vec<(String, u64)>> {
        let mut out = Vec::new();
        for id in datasets {
            let Some(ds) = self.policies.dataset(id) else {
                continue;
            };
            if !ds.is_protected() || ds.unit_unique_per_row {
                continue;
            }
            let (path, key) = self.version_key(id)?;
            if let Some(n) = self.unit_rows.lock().map_err(internal)?.get(&key) {
                out.push((id.clone(), *n));
                continue;
            }
            let cache = self
                .config
                .state_dir
                .join("profile")
                .join(format!("{key}.unit-rows"));
            let cached = std::fs::read_to_string(&cache)
                .ok()
                .and_then(|t| t.trim().parse::<u64>().ok());
            let n = match cached {
                Some(n) => n,
                None => {
                    let n = session::max_unit_rows(ds, &path).await?;
                    write_atomic(&cache, n.to_string().as_bytes())?;
                    n
                }
            };
            self.unit_rows.lock().map_err(internal)?.insert(key, n);
            out.push((id.clone(), n));
        }
        Ok(out)
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| internal("cache path has no parent"))?;
    std::fs::create_dir_all(dir).map_err(internal)?;
    let tmp = own_temp(path)?;
    std::fs::write(&tmp, bytes).map_err(internal)?;
    std::fs::rename(&tmp, path).map_err(internal)
}

/// A temporary file beside `path` for this attempt alone: engines racing on the same state
/// directory must not truncate or rename each other's half-written file.
fn own_temp(path: &Path) -> Result<PathBuf> {
    let mut tag = [0u8; 8];
    getrandom::fill(&mut tag).map_err(internal)?;
    let name = path
        .file_name()
        .ok_or_else(|| internal("a state file without a name"))?;
    Ok(path.with_file_name(format!(
        "{}.{}.{:016x}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        u64::from_le_bytes(tag)
    )))
}

/// Converts checked batches to JSON rows (arrays of cells, in column order).
pub fn rows_json(batches: &[RecordBatch]) -> Result<Vec<Vec<serde_json::Value>>> {
    let mut rows = Vec::new();
    for b in batches {
        let mut buf = Vec::new();
        {
            let mut w = datafusion::arrow::json::ArrayWriter::new(&mut buf);
            w.write(b).map_err(internal)?;
            w.finish().map_err(internal)?;
        }
        let objs: Vec<serde_json::Map<String, serde_json::Value>> = if buf.is_empty() {
            Vec::new()
        } else {
            serde_json::from_slice(&buf).map_err(internal)?
        };
        let names: Vec<String> = b
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        for mut o in objs {
            rows.push(
                names
                    .iter()
                    .map(|n| o.remove(n).unwrap_or(serde_json::Value::Null))
                    .collect(),
            );
        }
    }
    Ok(rows)
}

/// A single-violation decision.
pub(crate) fn one(
    rule: RuleId,
    target: impl Into<String>,
    reason: impl Into<String>,
    suggestion: Option<&str>,
) -> Decision {
    let mut v = Violation::new(rule, target, reason);
    if let Some(s) = suggestion {
        v = v.with_suggestion(s);
    }
    let mut d = Decision::default();
    d.push(v);
    d
}

fn blocked_stage(decision: Decision, k: u32, policy_version: &str) -> Stage {
    Stage::Blocked(Box::new(Report::blocked(decision, k, policy_version)))
}
