//! The per-job DataFusion session and what DataFusion does by default that the sandbox changes.

use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use cleanroom_guard::scrub::{mask_values, scrub_error};
use cleanroom_guard::{Decision, EchoFilter, GuardContext, RuleId};
use cleanroom_policy::{ColumnClass, Dataset};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{
    CatalogProvider, CatalogProviderList, MemoryCatalogProvider, MemoryCatalogProviderList,
    MemorySchemaProvider, SchemaProvider, TableProvider,
};
use datafusion::datasource::empty::EmptyTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::SessionStateDefaults;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::{SessionState, SessionStateBuilder, TaskContext};
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;
use futures::StreamExt;

use crate::{EngineConfig, Error, Result, exec_error, internal, one};

/// Limits of one job.
#[derive(Clone, Debug)]
pub struct SessionLimits {
    pub memory_bytes_max: usize,
    pub timeout_ms: u64,
    pub target_partitions: usize,
    pub batch_size: usize,
    /// Longest SQL text accepted.
    pub sql_bytes_max: usize,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            memory_bytes_max: 1 << 30,
            timeout_ms: 60_000,
            target_partitions: std::thread::available_parallelism()
                .map(NonZeroUsize::get)
                .unwrap_or(2),
            batch_size: 8192,
            sql_bytes_max: 64 * 1024,
        }
    }
}

const CATALOG: &str = "cleanroom";
const SCHEMA: &str = "public";

pub(crate) struct JobSession {
    /// The job's own state (not behind a `SessionContext`, whose every use clones it).
    state: SessionState,
    /// The one schema of the job's catalog, where its tables go.
    schema: Arc<MemorySchemaProvider>,
    /// The job's own runtime (the shared one with a memory pool of the job's own), for a job
    /// that reads data: execution runs under it.
    runtime: Option<Arc<RuntimeEnv>>,
    licensed: Vec<String>,
    sql_bytes_max: usize,
}

fn arrow_type(t: &str) -> DataType {
    match t {
        "utf8" => DataType::Utf8View,
        "date32" => DataType::Date32,
        "float64" => DataType::Float64,
        "int32" => DataType::Int32,
        "int64" => DataType::Int64,
        "bool" | "boolean" => DataType::Boolean,
        _ => DataType::Utf8View,
    }
}

/// The schema the catalog declares for a dataset (used when no data is read).
pub fn catalog_schema(ds: &Dataset) -> Schema {
    Schema::new(
        ds.columns
            .iter()
            .map(|c| Field::new(&c.name, arrow_type(&c.data_type), false))
            .collect::<Vec<_>>(),
    )
}

/// The session configuration shared by the sandbox and the benchmark's bare baseline.
pub fn base_config(limits: &SessionLimits) -> SessionConfig {
    let mut config = SessionConfig::new()
        .with_information_schema(false)
        .with_target_partitions(limits.target_partitions)
        .with_batch_size(limits.batch_size)
        .with_default_catalog_and_schema(CATALOG, SCHEMA);
    let opts = config.options_mut();
    opts.execution.enable_recursive_ctes = false;
    // What a spilling sort or aggregation sets aside for merging its spill files: DataFusion's
    // 10 MiB, or a sixteenth of a smaller pool (a pool smaller than the reservation could
    // never spill).
    opts.execution.sort_spill_reservation_bytes = opts
        .execution
        .sort_spill_reservation_bytes
        .min(limits.memory_bytes_max / 16);
    config
}

/// What every job's session starts from, built once per engine: the configuration, and only
/// the function sets the guard knows; no table factories, no table functions (generate_series,
/// range), no file formats for CREATE EXTERNAL TABLE. A job's session is a clone of it with a
/// catalog of its own: building the function registries per job cost about a quarter of a
/// millisecond, and even rebuilding them from the template's (what `SessionStateBuilder` does)
/// cost more than the clone.
pub(crate) struct Template {
    state: SessionState,
    /// The same over the shared runtime, for jobs that read data, made on the first.
    with_data: OnceLock<SessionState>,
    /// The runtime of jobs that read data, made on the first: the spill directory's manager
    /// and the file metadata caches are shared (a Parquet footer is read once, not per job);
    /// each job executes under a clone of it with a memory pool of its own.
    runtime: OnceLock<Arc<RuntimeEnv>>,
}

impl Template {
    pub(crate) fn new(limits: &SessionLimits) -> Self {
        Template {
            state: SessionStateBuilder::new()
                .with_config(base_config(limits))
                .with_expr_planners(SessionStateDefaults::default_expr_planners())
                .with_scalar_functions(SessionStateDefaults::default_scalar_functions())
                .with_aggregate_functions(SessionStateDefaults::default_aggregate_functions())
                .with_window_functions(SessionStateDefaults::default_window_functions())
                .build(),
            with_data: OnceLock::new(),
            runtime: OnceLock::new(),
        }
    }

    /// The template over the shared runtime, so that planning a scan finds the shared caches.
    fn data_state(&self, state_dir: &Path) -> Result<&SessionState> {
        if let Some(s) = self.with_data.get() {
            return Ok(s);
        }
        let runtime = Arc::clone(self.runtime(state_dir)?);
        let state = SessionStateBuilder::new_from_existing(self.state.clone())
            .with_runtime_env(runtime)
            .build();
        Ok(self.with_data.get_or_init(|| state))
    }

    /// The shared runtime, with spill files in a directory of its own under `state/spill`
    /// (`datafusion-*`, removed when the engine is dropped). A spill file is deleted as soon as
    /// the operator that wrote it is done with it, so none outlives its job.
    fn runtime(&self, state_dir: &Path) -> Result<&Arc<RuntimeEnv>> {
        if let Some(r) = self.runtime.get() {
            return Ok(r);
        }
        let root = state_dir.join("spill");
        std::fs::create_dir_all(&root).map_err(internal)?;
        let runtime = RuntimeEnvBuilder::new()
            .with_disk_manager_builder(
                DiskManagerBuilder::default().with_mode(DiskManagerMode::Directories(vec![root])),
            )
            .build_arc()
            .map_err(|e| internal(scrub_error(&e)))?;
        Ok(self.runtime.get_or_init(|| runtime))
    }
}

impl JobSession {
    pub(crate) async fn new(
        template: &Template,
        tables: &TableCache,
        ctx: &GuardContext,
        cfg: &EngineConfig,
        with_data: bool,
    ) -> Result<JobSession> {
        let limits = &cfg.limits;
        // The template's functions and rules, a catalog of its own that only this job's tables
        // go into, and (for a job that reads data) its own memory pool.
        let (mut state, runtime) = if with_data {
            let mut runtime = RuntimeEnv::clone(template.runtime(&cfg.state_dir)?);
            runtime.memory_pool = Arc::new(TrackConsumersPool::new(
                FairSpillPool::new(limits.memory_bytes_max),
                NonZeroUsize::new(5).unwrap_or(NonZeroUsize::MIN),
            ));
            let state = template.data_state(&cfg.state_dir)?.clone();
            (state, Some(Arc::new(runtime)))
        } else {
            (template.state.clone(), None)
        };
        let catalogs = Arc::new(MemoryCatalogProviderList::new());
        let catalog = Arc::new(MemoryCatalogProvider::new());
        let schema = Arc::new(MemorySchemaProvider::new());
        catalog
            .register_schema(SCHEMA, Arc::clone(&schema) as Arc<dyn SchemaProvider>)
            .map_err(|e| internal(scrub_error(&e)))?;
        catalogs.register_catalog(CATALOG.to_string(), catalog);
        state.register_catalog_list(catalogs);
        // The job's `now()`, as `SessionContext::state` would set it.
        state.mark_start_execution();
        let mut licensed = Vec::new();
        for ds in ctx.datasets() {
            let table: Arc<dyn TableProvider> = if with_data {
                tables.table(&cfg.data_dir, &ds.id).await?
            } else {
                Arc::new(EmptyTable::new(Arc::new(catalog_schema(ds))))
            };
            schema
                .register_table(ds.id.clone(), table)
                .map_err(|e| internal(scrub_error(&e)))?;
            licensed.push(ds.id.clone());
        }
        Ok(JobSession {
            state,
            schema,
            runtime,
            licensed,
            sql_bytes_max: limits.sql_bytes_max,
        })
    }

    /// Registers batches the host produced (a WASM job's contributions) as a table of this
    /// job, readable like a licensed dataset.
    pub(crate) fn register_batches(
        &mut self,
        name: &str,
        schema: Arc<Schema>,
        batches: Vec<datafusion::arrow::array::RecordBatch>,
    ) -> Result<()> {
        let table = datafusion::datasource::MemTable::try_new(schema, vec![batches])
            .map_err(|e| internal(scrub_error(&e)))?;
        self.schema
            .register_table(name.to_string(), Arc::new(table))
            .map_err(|e| internal(scrub_error(&e)))?;
        self.licensed.push(name.to_string());
        Ok(())
    }

    /// The job's DataFusion state, for registering a component's scalar functions.
    pub(crate) fn state_mut(&mut self) -> &mut SessionState {
        &mut self.state
    }

    /// The statement checks in their order: one SELECT, licensed tables only, planned, and
    /// DataFusion's own statement verification. A refusal comes back as the decision.
    pub(crate) async fn plan_select(&self, sql: &str) -> Result<Result<LogicalPlan, Decision>> {
        let stmt = match self.parse(sql) {
            Ok(s) => s,
            Err(d) => return Ok(Err(d)),
        };
        if let Some(d) = self.check_tables(&stmt) {
            return Ok(Err(d));
        }
        let plan = match self.plan(stmt).await? {
            Ok(p) => p,
            Err(d) => return Ok(Err(d)),
        };
        Ok(verify_statement(&plan).map(|()| plan))
    }

    /// Parses exactly one SELECT statement.
    pub(crate) fn parse(&self, sql: &str) -> Result<DfStatement, Decision> {
        if sql.len() > self.sql_bytes_max {
            return Err(one(
                RuleId::StmtSingleSelect,
                "query",
                format!(
                    "the query is {} bytes long; at most {} are accepted",
                    sql.len(),
                    self.sql_bytes_max
                ),
                None,
            ));
        }
        let recursion_limit = self
            .state
            .config()
            .options()
            .sql_parser
            .recursion_limit
            .get();
        let stmts = datafusion::sql::parser::DFParserBuilder::new(sql)
            .with_recursion_limit(recursion_limit)
            .build()
            .and_then(|mut p| p.parse_statements());
        let mut stmts = match stmts {
            Ok(s) => s,
            Err(e) => {
                return Err(one(
                    RuleId::StmtSingleSelect,
                    "query",
                    format!("the query does not parse: {}", parser_message(&e)),
                    Some("submit one SELECT statement"),
                ));
            }
        };
        if stmts.len() != 1 {
            return Err(one(
                RuleId::StmtSingleSelect,
                "query",
                format!(
                    "{} statements were submitted; exactly one SELECT is accepted",
                    stmts.len()
                ),
                Some("submit one SELECT statement"),
            ));
        }
        let Some(stmt) = stmts.pop_front() else {
            return Err(one(
                RuleId::StmtSingleSelect,
                "query",
                "no statement was submitted",
                None,
            ));
        };
        match &stmt {
            DfStatement::Statement(s) if matches!(**s, SqlStatement::Query(_)) => Ok(stmt),
            other => {
                let kind = statement_kind(other);
                Err(one(
                    RuleId::StmtSingleSelect,
                    kind.clone(),
                    format!("`{kind}` is not allowed: only one SELECT query runs in the sandbox"),
                    Some("submit one SELECT statement"),
                ))
            }
        }
    }

    /// Every table the statement names must be a licensed dataset; unknown and unlicensed
    /// tables read the same: "not found".
    pub(crate) fn check_tables(&self, stmt: &DfStatement) -> Option<Decision> {
        let refs = match self.state.resolve_table_references(stmt) {
            Ok(r) => r,
            Err(e) => {
                return Some(one(
                    RuleId::StmtSingleSelect,
                    "query",
                    scrub_error(&e),
                    None,
                ));
            }
        };
        let mut d = Decision::default();
        for r in refs {
            let ok_schema =
                r.schema().is_none_or(|s| s == SCHEMA) && r.catalog().is_none_or(|c| c == CATALOG);
            if !ok_schema || !self.licensed.iter().any(|t| t == r.table()) {
                let name = mask_values(&r.to_string());
                d.push(cleanroom_guard::Violation::new(
                    RuleId::ScopeTable,
                    name.clone(),
                    format!("table `{name}` not found"),
                ));
            }
        }
        if d.is_allowed() { None } else { Some(d) }
    }

    /// Plans the statement. Planning refusals that are policy decisions (an unknown or removed
    /// function, a recursive query) come back as a decision; other failures are invalid input.
    pub(crate) async fn plan(&self, stmt: DfStatement) -> Result<Result<LogicalPlan, Decision>> {
        let e = match self.state.statement_to_plan(stmt).await {
            Ok(p) => return Ok(Ok(p)),
            Err(e) => e,
        };
        let text = e.to_string();
        if let Some(rest) = text.split("Invalid function '").nth(1) {
            let name = mask_values(rest.split('\'').next().unwrap_or_default());
            return Ok(Err(one(
                RuleId::FunctionNotAllowed,
                format!("{name}()"),
                format!("function `{name}` is not available in the sandbox"),
                Some("use the SQL functions the sandbox lists as allowed"),
            )));
        }
        if text.contains("Recursive CTEs are not enabled") {
            return Ok(Err(one(
                RuleId::PlanNode,
                "recursive query",
                "a `recursive query` step is not allowed in the sandbox: only SELECT queries over licensed datasets run",
                Some("write the query without WITH RECURSIVE"),
            )));
        }
        Err(Error::InvalidInput(scrub_error(&e)))
    }

    /// Executes a rewritten plan under the memory pool and the deadline.
    pub(crate) async fn execute(
        &self,
        plan: LogicalPlan,
        timeout_ms: u64,
    ) -> Result<Vec<datafusion::arrow::array::RecordBatch>> {
        let run = async {
            // What `execute_logical_plan(..).collect()` does, with the job's runtime.
            let physical = self
                .state
                .create_physical_plan(&plan)
                .await
                .map_err(|e| exec_error(&e))?;
            let mut task = TaskContext::from(&self.state);
            if let Some(runtime) = &self.runtime {
                task = task.with_runtime(Arc::clone(runtime));
            }
            datafusion::physical_plan::collect(physical, Arc::new(task))
                .await
                .map_err(|e| exec_error(&e))
        };
        match tokio::time::timeout(std::time::Duration::from_millis(timeout_ms), run).await {
            Ok(r) => r,
            Err(_) => Err(Error::ResourcesExhausted(format!(
                "the job did not finish within {timeout_ms} ms and was cancelled"
            ))),
        }
    }
}

/// The statement-level allow-list, as a second line behind [`JobSession::parse`]: DataFusion's
/// `SQLOptions` with DDL, DML and statements off.
pub(crate) fn verify_statement(plan: &LogicalPlan) -> Result<(), Decision> {
    datafusion::execution::context::SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
        .verify_plan(plan)
        .map_err(|e| {
            one(
                RuleId::StmtSingleSelect,
                "query",
                scrub_error(&e),
                Some("submit one SELECT statement"),
            )
        })
}

/// The parser's own words without the quoting around them, then masked: the message names the
/// offending token, which may be a literal.
/// Why `sql` does not parse as SQL at all (values masked), checked when a job is submitted so
/// that a typo is a 400 rather than a queued job that fails; `None` when it parses. Whether it
/// is one SELECT, and everything else, is the guard's decision when the job runs.
pub fn parse_problem(sql: &str) -> Option<String> {
    datafusion::sql::parser::DFParserBuilder::new(sql)
        .build()
        .and_then(|mut p| p.parse_statements())
        .err()
        .map(|e| parser_message(&e))
}

fn parser_message(e: &datafusion::error::DataFusionError) -> String {
    let text = e.to_string();
    let inner = text
        .strip_prefix("SQL error: ParserError(\"")
        .and_then(|t| t.strip_suffix("\")"))
        .unwrap_or(&text);
    mask_values(inner)
}

fn statement_kind(stmt: &DfStatement) -> String {
    match stmt {
        DfStatement::Explain(_) => "EXPLAIN".into(),
        DfStatement::CreateExternalTable(_) => "CREATE EXTERNAL TABLE".into(),
        DfStatement::CopyTo(_) => "COPY".into(),
        DfStatement::Reset(_) => "RESET".into(),
        DfStatement::Statement(s) => {
            let text = s.to_string();
            let words: Vec<&str> = text
                .split_whitespace()
                .take_while(|w| w.chars().all(|c| c.is_ascii_alphabetic()))
                .take(2)
                .collect();
            if words.is_empty() {
                "statement".into()
            } else {
                words.join(" ").to_uppercase()
            }
        }
        #[allow(unreachable_patterns)]
        _ => "statement".into(),
    }
}

pub(crate) async fn listing_table(ctx: &SessionContext, path: &Path) -> Result<Arc<ListingTable>> {
    if !path.is_file() {
        return Err(Error::Data(format!(
            "missing data file `{}`",
            path.display()
        )));
    }
    let abs = std::fs::canonicalize(path)
        .map_err(|e| Error::Data(format!("cannot open `{}`: {}", path.display(), e.kind())))?;
    let url =
        ListingTableUrl::parse(abs.to_string_lossy()).map_err(|e| internal(scrub_error(&e)))?;
    let opts =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let state = ctx.state();
    let config = ListingTableConfig::new(url)
        .with_listing_options(opts)
        .infer_schema(&state)
        .await
        .map_err(|e| Error::Data(scrub_error(&e)))?;
    Ok(Arc::new(
        ListingTable::try_new(config).map_err(|e| Error::Data(scrub_error(&e)))?,
    ))
}

/// The data zone's table providers, built once per dataset file version: inferring a Parquet
/// schema reads the file's footer, which is not worth doing again for every job.
#[derive(Default)]
pub(crate) struct TableCache(
    std::sync::Mutex<std::collections::HashMap<String, Arc<ListingTable>>>,
);

impl TableCache {
    async fn table(&self, data_dir: &Path, id: &str) -> Result<Arc<ListingTable>> {
        let path = data_dir.join(format!("{id}.parquet"));
        let unavailable =
            || Error::Data(format!("dataset `{id}` is not available in the data zone"));
        let meta = std::fs::metadata(&path).map_err(|_| unavailable())?;
        let key = format!(
            "{}|{}|{:?}",
            path.display(),
            meta.len(),
            meta.modified().ok()
        );
        if let Some(t) = self.0.lock().map_err(internal)?.get(&key) {
            return Ok(t.clone());
        }
        let table = listing_table(&SessionContext::new(), &path)
            .await
            .map_err(|e| match e {
                Error::Data(_) => unavailable(),
                e => e,
            })?;
        self.0.lock().map_err(internal)?.insert(key, table.clone());
        Ok(table)
    }
}

/// A plain session over the one data file at `path`, registered as table `t`: for the
/// engine's own once-per-version scans (echo filters, the data profile), not for jobs.
async fn file_as_t(path: &Path) -> Result<SessionContext> {
    let ctx = SessionContext::new();
    let table = listing_table(&ctx, path).await?;
    ctx.register_table("t", table)
        .map_err(|e| internal(scrub_error(&e)))?;
    Ok(ctx)
}

/// Reads every identifier column of a dataset once and fills an echo filter.
pub(crate) async fn build_echo_filter(ds: &Dataset, path: &Path) -> Result<EchoFilter> {
    let ctx = file_as_t(path).await?;
    let cols: Vec<String> = ds
        .columns
        .iter()
        .filter(|c| c.class == Some(ColumnClass::Identifier))
        .map(|c| format!("\"{}\"", c.name))
        .collect();
    if cols.is_empty() {
        return Ok(EchoFilter::with_capacity(1));
    }
    let count_df = ctx
        .sql("SELECT count(*) FROM t")
        .await
        .map_err(|e| internal(scrub_error(&e)))?;
    let counted = count_df
        .collect()
        .await
        .map_err(|e| internal(scrub_error(&e)))?;
    let rows = counted
        .first()
        .map(|b| {
            b.column(0)
                .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                .value(0)
        })
        .unwrap_or(0);
    let mut filter = EchoFilter::with_capacity((rows.max(1) as u64) * cols.len() as u64);
    let df = ctx
        .sql(&format!("SELECT {} FROM t", cols.join(", ")))
        .await
        .map_err(|e| internal(scrub_error(&e)))?;
    let mut stream = df
        .execute_stream()
        .await
        .map_err(|e| internal(scrub_error(&e)))?;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| internal(scrub_error(&e)))?;
        for col in batch.columns() {
            let col = datafusion::arrow::compute::cast(col, &DataType::Utf8).map_err(internal)?;
            for v in col.as_string::<i32>().iter().flatten() {
                filter.insert(v);
            }
            let _ = col.len();
        }
    }
    Ok(filter)
}

/// The most rows any one privacy unit has in the dataset file at `path` (0 for an empty file):
/// `max(count(*))` grouped by the unit, computed by DataFusion. Rows without a unit count as
/// one unit, as DP's weighting counts them.
pub(crate) async fn max_unit_rows(ds: &Dataset, path: &Path) -> Result<u64> {
    let ctx = file_as_t(path).await?;
    let unit = ds.privacy_unit.replace('"', "\"\"");
    let sql = format!("SELECT max(n) FROM (SELECT count(*) AS n FROM t GROUP BY \"{unit}\")");
    let batches = ctx
        .sql(&sql)
        .await
        .map_err(|e| internal(scrub_error(&e)))?
        .collect()
        .await
        .map_err(|e| internal(scrub_error(&e)))?;
    let most = batches
        .first()
        .filter(|b| b.num_rows() == 1 && b.column(0).is_valid(0))
        .map(|b| {
            b.column(0)
                .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                .value(0)
        })
        .unwrap_or(0);
    Ok(u64::try_from(most).unwrap_or(0))
}
