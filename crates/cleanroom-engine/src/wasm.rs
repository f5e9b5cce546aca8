//! WASM jobs: a manifest and a component.
//!
//! The order of a WASM job:
//! 1. the licence (as for SQL, with the job kind `wasm`);
//! 2. the manifest's input SQL, planned and checked by the guard in input mode
//!    ([`cleanroom_guard::analyze_input`]): only columns with an aggregate, group_by or output use,
//!    never an identifier;
//! 3. the input runs with the privacy unit of each row added by the host and kept aside: the
//!    component never sees it;
//! 4. `contribute` per batch, in a fresh instance of the component; each contribution row is
//!    tied to its input row, so the host knows whose it is; values are clamped to the
//!    manifest's bounds;
//! 5. the host aggregates the contributions per key (distinct units, SUM, AVG) as a SQL job over
//!    a table of its own making, through the same guard: thresholds, dominance, DLP and echo;
//! 6. `finalize`, if the manifest asks for it, in another fresh instance (so nothing of the raw
//!    rows it saw in `contribute` survives), on the checked aggregates only; its product is
//!    scanned again (DLP, echo, row limit).

use std::sync::Arc;

use cleanroom_guard::scrub::{mask_values, scrub_error};
use cleanroom_guard::{Decision, EchoFilter, GuardContext, RuleId, Violation};
use cleanroom_policy::{Column, ColumnClass, DisclosureRules, JobKind, Use};
use cleanroom_wasm::{Failure, Host, Module, Usage};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, RecordBatch, StringArray, UInt32Array,
};
use datafusion::arrow::compute::{cast, take};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::logical_expr::{Expr, LogicalPlan, Projection};
use serde::{Deserialize, Serialize};

use crate::{Engine, Error, Intent, IntentHook, Report, Result, internal, session};

/// The table the host aggregates contributions from, and its privacy-unit column.
const CONTRIBUTIONS: &str = "contributions";
const UNIT: &str = "privacy_unit";
/// Contribution rows one job may produce in all.
const MAX_CONTRIBUTIONS: usize = 20_000_000;

/// A WASM job's manifest (TOML).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub job: JobSection,
    pub input: InputSection,
    pub output: OutputSection,
    #[serde(default)]
    pub finalize: Option<FinalizeSection>,
    #[serde(default)]
    pub limits: JobLimits,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JobSection {
    pub licence: String,
    pub scenario: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InputSection {
    /// One SELECT over licensed datasets; row-level; checked by the guard in input mode.
    pub sql: String,
    /// The dataset whose privacy unit each input row belongs to (it must be read by `sql`).
    pub unit: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    /// Key columns of the contributions (Utf8).
    pub keys: Vec<String>,
    /// Value columns of the contributions (Float64), with their bounds.
    pub values: Vec<ValueSpec>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ValueSpec {
    pub name: String,
    /// Each contribution is clamped into [min, max] before aggregation.
    pub min: f64,
    pub max: f64,
    /// Aggregates released per key: `sum` and/or `avg` (default both).
    #[serde(default = "default_aggregates")]
    pub aggregates: Vec<Aggregate>,
}

fn default_aggregates() -> Vec<Aggregate> {
    vec![Aggregate::Sum, Aggregate::Avg]
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Aggregate {
    Sum,
    Avg,
}

impl Aggregate {
    fn sql(self) -> &'static str {
        match self {
            Aggregate::Sum => "SUM",
            Aggregate::Avg => "AVG",
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Aggregate::Sum => "sum",
            Aggregate::Avg => "avg",
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FinalizeSection {
    /// The product's columns, in order.
    pub columns: Vec<ColumnSpec>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: ProductType,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProductType {
    Utf8,
    Float64,
    Int64,
}

impl ProductType {
    fn arrow(self) -> DataType {
        match self {
            ProductType::Utf8 => DataType::Utf8,
            ProductType::Float64 => DataType::Float64,
            ProductType::Int64 => DataType::Int64,
        }
    }
}

/// Per-job limits; each is capped by the host's.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JobLimits {
    pub fuel_per_call: Option<u64>,
    pub deadline_ms: Option<u64>,
    pub memory_mb: Option<usize>,
}

impl Manifest {
    /// Parses and validates a manifest; errors name the field.
    pub fn parse(text: &str) -> Result<Manifest> {
        let m: Manifest = toml::from_str(text)
            .map_err(|e| Error::InvalidInput(format!("the job manifest is invalid: {e}")))?;
        m.validate()?;
        Ok(m)
    }

    fn validate(&self) -> Result<()> {
        let bad = |field: &str, why: &str| {
            Err(Error::InvalidInput(format!(
                "the job manifest is invalid: `{field}` {why}"
            )))
        };
        if self.output.keys.is_empty() {
            return bad("output.keys", "must name at least one key");
        }
        if self.output.values.is_empty() {
            return bad("output.values", "must declare at least one value");
        }
        let mut names: Vec<&str> = Vec::new();
        for key in &self.output.keys {
            names.push(key);
        }
        for v in &self.output.values {
            names.push(&v.name);
            if !(v.min.is_finite() && v.max.is_finite() && v.min <= v.max) {
                return bad("output.values", "bounds must be finite with min <= max");
            }
            if v.aggregates.is_empty() {
                return bad("output.values.aggregates", "must list sum, avg or both");
            }
        }
        for name in &names {
            if !is_plain_name(name) || *name == UNIT || *name == "row" || *name == "units" {
                return bad(
                    "output",
                    "names must be lowercase ASCII letters, digits and `_`, start with a letter, and not be `row`, `units` or `privacy_unit`",
                );
            }
        }
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != names.len() {
            return bad("output", "names must be distinct");
        }
        if let Some(f) = &self.finalize
            && (f.columns.is_empty() || f.columns.iter().any(|c| !is_plain_name(&c.name)))
        {
            return bad(
                "finalize.columns",
                "must list columns with plain lowercase names",
            );
        }
        Ok(())
    }

    /// The schema `contribute` must return: `row`, the keys, the values.
    pub fn contributions_schema(&self) -> Schema {
        let mut fields = vec![Field::new("row", DataType::UInt32, false)];
        fields.extend(
            self.output
                .keys
                .iter()
                .map(|k| Field::new(k, DataType::Utf8, true)),
        );
        fields.extend(
            self.output
                .values
                .iter()
                .map(|v| Field::new(&v.name, DataType::Float64, true)),
        );
        Schema::new(fields)
    }

    /// The schema `finalize` must return.
    pub fn product_schema(&self) -> Option<Schema> {
        self.finalize.as_ref().map(|f| {
            Schema::new(
                f.columns
                    .iter()
                    .map(|c| Field::new(&c.name, c.data_type.arrow(), true))
                    .collect::<Vec<_>>(),
            )
        })
    }

    /// The aggregation the host runs over the contributions, as SQL through the guard.
    fn aggregation_sql(&self) -> String {
        let keys: Vec<String> = self
            .output
            .keys
            .iter()
            .map(|k| format!("\"{k}\""))
            .collect();
        let mut select = keys.clone();
        for v in &self.output.values {
            for a in &v.aggregates {
                select.push(format!(
                    "{}(\"{}\") AS \"{}_{}\"",
                    a.sql(),
                    v.name,
                    v.name,
                    a.suffix()
                ));
            }
        }
        select.push(format!("COUNT(DISTINCT \"{UNIT}\") AS \"units\""));
        format!(
            "SELECT {} FROM {CONTRIBUTIONS} GROUP BY {}",
            select.join(", "),
            keys.join(", ")
        )
    }
}

fn is_plain_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

/// A WASM job: the manifest, the component's bytes, the server's date and the seed of the
/// guest's random source.
#[derive(Clone, Debug)]
pub struct WasmJob {
    pub manifest: Manifest,
    pub component: Vec<u8>,
    pub today: chrono::NaiveDate,
    pub seed: u64,
}

/// What a WASM job produced. `report` holds the checked aggregates (or the checked product when
/// the manifest has `finalize`), with the guard's decision over both.
#[derive(Clone, Debug, Serialize)]
pub struct WasmReport {
    #[serde(flatten)]
    pub report: Report,
    /// SHA-256 of the component: its name in the lineage, where it is an opaque transformation.
    pub component: String,
    pub input_rows: u64,
    pub contributions: u64,
    /// Contributions whose value fell outside the manifest's bounds and was clamped.
    pub clamped: u64,
    pub fuel: u64,
    pub peak_memory_bytes: usize,
    pub calls: u64,
    /// The checked aggregates when a product was made from them (not released themselves).
    #[serde(skip)]
    pub aggregates: Vec<RecordBatch>,
}

/// How a WASM job ended when it did not produce a report: a classified failure of the
/// component, with the guest's own message for runs on mock data only.
#[derive(Debug)]
pub struct ComponentFailure {
    pub failure: Failure,
    pub usage: Usage,
}

impl Engine {
    /// Runs a WASM job. Errors are input, data or resource errors; a component that fails
    /// comes back as [`Error::Component`] with its classified failure.
    pub async fn run_wasm(&self, host: &Host, job: &WasmJob) -> Result<WasmReport> {
        self.run_wasm_hooked(host, job, None).await
    }

    /// As [`Engine::run_wasm`], calling `intent` with the input's static decision (its plan
    /// hash covers the input query; the component is named by its own hash) before execution.
    pub async fn run_wasm_hooked(
        &self,
        host: &Host,
        job: &WasmJob,
        intent: Option<IntentHook<'_>>,
    ) -> Result<WasmReport> {
        let m = &job.manifest;
        let module = host.load(&job.component).map_err(component_error)?;
        let policies = self.policies();
        let licence = policies.licence(&m.job.licence).ok_or_else(|| {
            Error::InvalidInput(format!("unknown licence `{}`", mask_values(&m.job.licence)))
        })?;
        let datasets: Vec<&cleanroom_policy::Dataset> = licence
            .datasets
            .iter()
            .filter_map(|d| policies.dataset(d))
            .collect();
        let rules = policies.effective_rules(licence, &datasets);
        let blocked = |d: Decision| -> Result<WasmReport> {
            Ok(wasm_report(
                Report::blocked(d, rules.k, &policies.version),
                &module,
            ))
        };
        let problems = policies.check_licence(licence, &m.job.scenario, JobKind::Wasm, job.today);
        if !problems.is_empty() {
            let mut d = Decision::default();
            d.extend(problems);
            return blocked(d);
        }
        let ctx = GuardContext::new(datasets.iter().map(|d| (*d).clone()), rules.clone());
        let session =
            session::JobSession::new(&self.template, &self.tables, &ctx, self.config(), true)
                .await?;
        let plan = match session.plan_select(&m.input.sql).await? {
            Ok(p) => p,
            Err(d) => return blocked(d),
        };
        let analysis = cleanroom_guard::analyze_input(&plan, &ctx);
        if let Some(hook) = intent {
            hook(&Intent::of(&plan, &analysis.decision)).map_err(Error::Internal)?;
        }
        if !analysis.decision.is_allowed() {
            let mut r = Report::blocked(analysis.decision, rules.k, &policies.version);
            r.columns = analysis.columns;
            r.lineage = Some(analysis.lineage);
            return Ok(wasm_report(r, &module));
        }
        let plan = match with_unit(plan, &m.input.unit, &ctx) {
            Ok(p) => p,
            Err(d) => return blocked(d),
        };
        let input = session
            .execute(plan, self.config().limits.timeout_ms)
            .await?;
        drop(session);

        // contribute, batch by batch, in one instance that never sees a privacy unit.
        let schema = Arc::new(m.contributions_schema());
        let limits = job_limits(host, &m.limits);
        let mut instance = host
            .instantiate_with(&module, job.seed, limits.clone())
            .map_err(component_error)?;
        let mut contributions = Vec::new();
        let mut totals = Totals::default();
        for batch in input {
            let units = unit_strings(batch.column(0))?;
            let visible = batch
                .project(&(1..batch.num_columns()).collect::<Vec<_>>())
                .map_err(internal)?;
            let expected = Arc::clone(&schema);
            let (back, result) = tokio::task::spawn_blocking(move || {
                let r = instance.contribute(&visible, &expected);
                (instance, r)
            })
            .await
            .map_err(internal)?;
            instance = back;
            let out = result.map_err(|f| component_failure(f, instance.usage()))?;
            totals.input_rows += batch.num_rows() as u64;
            let attributed = attribute(&out, &units, m, &mut totals)
                .map_err(|f| component_failure(f, instance.usage()))?;
            if totals.contributions as usize > MAX_CONTRIBUTIONS {
                return Err(component_failure(
                    Failure::OutputLimit(format!(
                        "the component made more than {MAX_CONTRIBUTIONS} contributions"
                    )),
                    instance.usage(),
                ));
            }
            contributions.push(attributed);
        }
        let mut usage = instance.usage();
        drop(instance);

        // The host's aggregation, through the guard like any SQL job.
        let (mut report, aggregates_ctx) = self
            .aggregate(contributions, m, &datasets, &rules, &analysis.datasets)
            .await?;
        report.lineage = Some(analysis.lineage);
        report.interactive = licence.interactive;
        report.sources = self.sources(&analysis.datasets)?;
        let mut aggregates = Vec::new();
        if let (Some(product_schema), true) = (m.product_schema(), report.is_allowed()) {
            // finalize in a fresh instance: nothing of the raw rows survives into it.
            let released = std::mem::take(&mut report.batches);
            let table = datafusion::arrow::compute::concat_batches(
                &released
                    .first()
                    .map(RecordBatch::schema)
                    .unwrap_or_else(|| Arc::new(Schema::empty())),
                &released,
            )
            .map_err(internal)?;
            let mut instance = host
                .instantiate_with(&module, job.seed, limits)
                .map_err(component_error)?;
            let expected = product_schema.clone();
            let to_guest = table.clone();
            let (back, result) = tokio::task::spawn_blocking(move || {
                let r = instance.finalize(&to_guest, &expected);
                (instance, r)
            })
            .await
            .map_err(internal)?;
            let product = result.map_err(|f| component_failure(f, back.usage()))?;
            let u = back.usage();
            usage.calls += u.calls;
            usage.fuel += u.fuel;
            usage.peak_memory_bytes = usage.peak_memory_bytes.max(u.peak_memory_bytes);
            let product = vec![product];
            let mut decision = Decision::default();
            decision.extend(report.violations.clone());
            decision.extend(
                self.scan_product(&product, &aggregates_ctx.rules, &analysis.datasets)
                    .await?
                    .violations,
            );
            report.decision = decision.verdict();
            report.violations = decision.violations;
            report.columns = product_schema
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            if report.is_allowed() {
                report.batches = product;
            }
            aggregates = released;
        }
        let mut out = wasm_report(report, &module);
        out.input_rows = totals.input_rows;
        out.contributions = totals.contributions;
        out.clamped = totals.clamped;
        out.fuel = usage.fuel;
        out.calls = usage.calls;
        out.peak_memory_bytes = usage.peak_memory_bytes;
        out.aggregates = aggregates;
        Ok(out)
    }

    /// Runs the aggregation SQL over the contributions through the guard.
    async fn aggregate(
        &self,
        contributions: Vec<RecordBatch>,
        m: &Manifest,
        datasets: &[&cleanroom_policy::Dataset],
        rules: &DisclosureRules,
        input_datasets: &std::collections::BTreeSet<String>,
    ) -> Result<(Report, GuardContext)> {
        let unit_ds = datasets
            .iter()
            .find(|d| d.id == m.input.unit)
            .ok_or_else(|| internal("the unit dataset vanished"))?;
        let mut synthetic = (*unit_ds).clone();
        synthetic.id = CONTRIBUTIONS.into();
        synthetic.privacy_unit = UNIT.into();
        synthetic.unit_unique_per_row = false;
        synthetic.columns = std::iter::once(column(UNIT, "utf8", ColumnClass::Identifier))
            .chain(
                m.output
                    .keys
                    .iter()
                    .map(|k| column(k, "utf8", ColumnClass::Quasi)),
            )
            .chain(m.output.values.iter().map(|v| Column {
                // Under DP the host's aggregation clamps into the declared bounds.
                bounds: Some((v.min, v.max)),
                ..column(&v.name, "float64", ColumnClass::Sensitive)
            }))
            .collect();
        let mut ctx = GuardContext::new([synthetic], rules.clone());
        if ctx.dp_on() {
            ctx = ctx.with_noise_key(Some(self.noise_key()?));
        }
        let mut session = session::JobSession::new(
            &self.template,
            &self.tables,
            &GuardContext::new([], rules.clone()),
            self.config(),
            true,
        )
        .await?;
        let schema = contributions_table_schema(m);
        session.register_batches(CONTRIBUTIONS, schema, contributions)?;
        let sql = m.aggregation_sql();
        let stmt = session
            .parse(&sql)
            .map_err(|_| internal("the host's aggregation does not parse"))?;
        let plan = session
            .plan(stmt)
            .await?
            .map_err(|_| internal("the host's aggregation does not plan"))?;
        let analysis = cleanroom_guard::analyze(&plan, &ctx);
        if !analysis.decision.is_allowed() {
            // The host wrote this query: a refusal here is a bug, not an operator's mistake.
            return Err(internal(format!(
                "the guard refused the host's aggregation: {:?}",
                analysis
                    .decision
                    .violations
                    .iter()
                    .map(|v| v.rule.as_str())
                    .collect::<Vec<_>>()
            )));
        }
        let rewritten =
            cleanroom_guard::rewrite(&plan, &ctx).map_err(|e| internal(scrub_error(&e)))?;
        let batches = session
            .execute(rewritten.plan.clone(), self.config().limits.timeout_ms)
            .await?;
        let filters = self.echo_filters(input_datasets).await?;
        let refs: Vec<&EchoFilter> = filters.iter().map(Arc::as_ref).collect();
        let checked = cleanroom_guard::dynamic::check(batches, &rewritten, &ctx.rules, &refs)
            .map_err(|e| internal(scrub_error(&e)))?;
        let report = Report {
            decision: checked.decision.verdict(),
            violations: checked.decision.violations,
            suppressed_groups: checked.suppressed.total(),
            suppression: checked.suppressed,
            k: ctx.rules.k,
            columns: analysis.columns,
            lineage: None,
            policy_version: self.policies().version.clone(),
            interactive: false,
            functions: None,
            sources: Vec::new(),
            epsilon: rewritten.dp.as_ref().map(|d| d.epsilon),
            dp: rewritten.dp.clone(),
            batches: checked.batches,
        };
        Ok((report, ctx))
    }

    /// The output scans (DLP, echo, row limit) over a product.
    async fn scan_product(
        &self,
        product: &[RecordBatch],
        rules: &DisclosureRules,
        input_datasets: &std::collections::BTreeSet<String>,
    ) -> Result<Decision> {
        let filters = self.echo_filters(input_datasets).await?;
        let refs: Vec<&EchoFilter> = filters.iter().map(Arc::as_ref).collect();
        let mut d = cleanroom_guard::dynamic::scan(product, rules, &refs);
        let rows: usize = product.iter().map(RecordBatch::num_rows).sum();
        if rows as u64 > rules.max_output_rows {
            d.push(Violation::new(
                RuleId::LimitRows,
                "product",
                format!(
                    "the product has {rows} rows; at most {} may be released",
                    rules.max_output_rows
                ),
            ));
        }
        Ok(d)
    }
}

fn column(name: &str, data_type: &str, class: ColumnClass) -> Column {
    Column {
        name: name.into(),
        data_type: data_type.into(),
        class: Some(class),
        uses: match class {
            ColumnClass::Identifier => Some(vec![Use::Join]),
            ColumnClass::Quasi => Some(vec![Use::GroupBy, Use::Compare]),
            _ => Some(vec![Use::Aggregate]),
        },
        description: String::new(),
        bounds: None,
    }
}

fn contributions_table_schema(m: &Manifest) -> Arc<Schema> {
    let mut fields = vec![Field::new(UNIT, DataType::Utf8, false)];
    fields.extend(
        m.output
            .keys
            .iter()
            .map(|k| Field::new(k, DataType::Utf8, true)),
    );
    fields.extend(
        m.output
            .values
            .iter()
            .map(|v| Field::new(&v.name, DataType::Float64, true)),
    );
    Arc::new(Schema::new(fields))
}

#[derive(Default)]
struct Totals {
    input_rows: u64,
    contributions: u64,
    clamped: u64,
}

/// Ties each contribution to its input row's privacy unit and clamps its values.
fn attribute(
    out: &RecordBatch,
    units: &StringArray,
    m: &Manifest,
    totals: &mut Totals,
) -> Result<RecordBatch, Failure> {
    let rows = out
        .column(0)
        .as_any()
        .downcast_ref::<UInt32Array>()
        .ok_or_else(|| Failure::Contract("the `row` column is not UInt32".into()))?;
    if rows.null_count() > 0 {
        return Err(Failure::Contract("the `row` column has nulls".into()));
    }
    if rows.values().iter().any(|r| *r as usize >= units.len()) {
        return Err(Failure::Contract(
            "a contribution names an input row that does not exist".into(),
        ));
    }
    let unit = take(units, rows, None).map_err(|_| Failure::Host("cannot attribute units"))?;
    let mut columns: Vec<ArrayRef> = vec![unit];
    let keys = m.output.keys.len();
    for i in 0..keys {
        columns.push(Arc::clone(out.column(1 + i)));
    }
    for (i, spec) in m.output.values.iter().enumerate() {
        let values = out
            .column(1 + keys + i)
            .as_primitive::<datafusion::arrow::datatypes::Float64Type>();
        let clamped: Float64Array = values
            .iter()
            .map(|v| {
                v.filter(|x| !x.is_nan()).map(|x| {
                    let c = x.clamp(spec.min, spec.max);
                    if c != x {
                        totals.clamped += 1;
                    }
                    c
                })
            })
            .collect();
        columns.push(Arc::new(clamped));
    }
    totals.contributions += out.num_rows() as u64;
    RecordBatch::try_new(contributions_table_schema(m), columns)
        .map_err(|_| Failure::Host("cannot assemble the contributions"))
}

/// The unit column as plain Utf8 (Parquet strings may arrive as views).
fn unit_strings(column: &ArrayRef) -> Result<StringArray> {
    let utf8 = cast(column, &DataType::Utf8).map_err(internal)?;
    utf8.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| internal("the privacy unit is not text"))
}

/// Adds the privacy unit of `unit_dataset` as the first column of the input's top projection.
fn with_unit(
    plan: LogicalPlan,
    unit_dataset: &str,
    ctx: &GuardContext,
) -> Result<LogicalPlan, Decision> {
    let refuse = |reason: String| {
        let mut d = Decision::default();
        d.push(
            Violation::new(RuleId::ColumnUse, "input.unit", reason)
                .with_suggestion("name in `input.unit` a dataset the input SQL reads, and end the input SQL with a plain SELECT list"),
        );
        d
    };
    let Some(ds) = ctx.dataset(unit_dataset) else {
        return Err(refuse(format!(
            "`input.unit` names `{}`, which is not a dataset of this licence",
            mask_values(unit_dataset)
        )));
    };
    let LogicalPlan::Projection(p) = plan else {
        return Err(refuse("the input SQL must end in a plain SELECT list (no DISTINCT, ORDER BY, LIMIT or set operation at the top)".into()));
    };
    let target = cleanroom_guard::analyze::Src {
        dataset: ds.id.as_str().into(),
        column: ds.privacy_unit.as_str().into(),
    };
    let found = p.input.schema().columns().into_iter().find(|c| {
        let e = Expr::Column(c.clone());
        cleanroom_guard::analyze::expr_sources(&e, &p.input, ctx) == vec![target.clone()]
    });
    let Some(unit) = found else {
        return Err(refuse(format!(
            "the input SQL does not read `{}.{}` where its SELECT list could take it",
            ds.id, ds.privacy_unit
        )));
    };
    let mut exprs = vec![Expr::Column(unit).alias(UNIT)];
    exprs.extend(p.expr.iter().cloned());
    Projection::try_new(exprs, Arc::clone(&p.input))
        .map(LogicalPlan::Projection)
        .map_err(|e| refuse(scrub_error(&e)))
}

fn job_limits(host: &Host, job: &JobLimits) -> cleanroom_wasm::Limits {
    let mut limits = host.limits().clone();
    if let Some(f) = job.fuel_per_call {
        limits.fuel_per_call = limits.fuel_per_call.min(f);
    }
    if let Some(ms) = job.deadline_ms {
        limits.deadline = limits.deadline.min(std::time::Duration::from_millis(ms));
    }
    if let Some(mb) = job.memory_mb {
        limits.memory_bytes = limits.memory_bytes.min(mb.saturating_mul(1 << 20));
    }
    limits
}

fn wasm_report(report: Report, module: &Module) -> WasmReport {
    WasmReport {
        report,
        component: module.digest().to_string(),
        input_rows: 0,
        contributions: 0,
        clamped: 0,
        fuel: 0,
        peak_memory_bytes: 0,
        calls: 0,
        aggregates: Vec::new(),
    }
}

fn component_error(failure: Failure) -> Error {
    component_failure(failure, Usage::default())
}

pub(crate) fn component_failure(failure: Failure, usage: Usage) -> Error {
    Error::Component(Box::new(ComponentFailure { failure, usage }))
}

impl std::fmt::Display for ComponentFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.failure)
    }
}
