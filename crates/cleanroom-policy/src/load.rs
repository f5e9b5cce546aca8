//! Reading and validating `policies/`.
//!
//! Each file is deserialised into a private raw struct whose fields carry their byte spans
//! (`toml::Spanned`), validated, and converted into the public model. Every problem in every
//! file is collected into one [`Error::Invalid`], each with file, line and field.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::{
    Column, ColumnClass, DATA_TYPES, Dataset, Diagnostic, Disclosure, DisclosureRules, DpMode,
    Error, Grade, JobKind, Licence, LicenceMode, LicensedOperation, Mechanism, OpenType,
    OperationStatus, PartialRules, Policies, Result, ShareType, Use,
};

// ---------------------------------------------------------------------------------------------
// Raw file shapes

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDataset {
    name: String,
    summary: String,
    format: String,
    industry: String,
    time_coverage: String,
    region_coverage: String,
    update_frequency: String,
    provider_name: String,
    provider_code: String,
    share_type: ShareType,
    share_conditions: String,
    open_type: OpenType,
    open_conditions: String,
    licensed_operation: RawLicensedOperation,
    grade: Grade,
    privacy_unit: Spanned<String>,
    unit_unique_per_row: bool,
    #[serde(default)]
    min_group_size: Option<Spanned<u32>>,
    columns: Spanned<Vec<RawColumn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLicensedOperation {
    status: Spanned<OperationStatus>,
    #[serde(default)]
    scenarios: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    name: Spanned<String>,
    data_type: Spanned<String>,
    #[serde(default)]
    class: Option<ColumnClass>,
    #[serde(default)]
    uses: Option<Vec<Use>>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    bounds: Option<Spanned<Vec<f64>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLicence {
    id: Spanned<String>,
    operator: Spanned<String>,
    mode: LicenceMode,
    datasets: Spanned<Vec<Spanned<String>>>,
    scenarios: Spanned<Vec<Spanned<String>>>,
    valid_from: Spanned<toml::value::Datetime>,
    valid_until: Spanned<toml::value::Datetime>,
    job_kinds: Spanned<Vec<JobKind>>,
    #[serde(default)]
    min_group_size: Option<Spanned<u32>>,
    daily_job_limit: Spanned<u32>,
    epsilon_budget: Spanned<f64>,
    interactive: bool,
    release_quorum: Spanned<u32>,
    #[serde(default)]
    max_output_rows: Option<Spanned<u64>>,
    #[serde(default)]
    suspended: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDisclosure {
    global: Spanned<RawRules>,
    #[serde(default)]
    grades: RawGrades,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGrades {
    general: Option<RawRules>,
    important: Option<RawRules>,
    core: Option<RawRules>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRules {
    k: Option<Spanned<u32>>,
    dominance_n: Option<Spanned<u32>>,
    dominance_k: Option<Spanned<f64>>,
    p_ratio: Option<Spanned<f64>>,
    max_output_rows: Option<Spanned<u64>>,
    max_output_bytes: Option<Spanned<u64>>,
    max_substr_prefix: Option<Spanned<u32>>,
    min_round_bucket: Option<Spanned<f64>>,
    dp: Option<DpMode>,
    epsilon: Option<Spanned<f64>>,
    delta: Option<Spanned<f64>>,
    max_rows_per_unit: Option<Spanned<u32>>,
    mechanism: Option<Mechanism>,
}

// ---------------------------------------------------------------------------------------------
// Diagnostics

/// One file being checked: its path, its text, and where its problems go.
struct FileCx<'a> {
    path: &'a Path,
    text: &'a str,
    diags: &'a mut Vec<Diagnostic>,
}

impl FileCx<'_> {
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        1 + self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
    }

    fn report(&mut self, span: Range<usize>, field: &str, message: impl Into<String>) {
        let line = self.line(span.start);
        self.diags.push(Diagnostic {
            file: self.path.to_path_buf(),
            line,
            field: Some(field.to_owned()),
            message: message.into(),
        });
    }

    fn report_toml(&mut self, err: &toml::de::Error) {
        let message = err.message().trim().to_owned();
        let offset = err.span().map_or(0, |s| s.start);
        let field = field_in_message(&message).or_else(|| key_before(self.text, offset));
        self.diags.push(Diagnostic {
            file: self.path.to_path_buf(),
            line: self.line(offset),
            field,
            message,
        });
    }

    fn parse<T: serde::de::DeserializeOwned>(&mut self) -> Option<T> {
        match toml::from_str::<T>(self.text) {
            Ok(v) => Some(v),
            Err(err) => {
                self.report_toml(&err);
                None
            }
        }
    }
}

/// The field named by a serde message such as "missing field `x`" or "unknown field `x`".
fn field_in_message(message: &str) -> Option<String> {
    for prefix in ["missing field `", "unknown field `", "duplicate field `"] {
        if let Some(rest) = message.find(prefix).map(|i| &message[i + prefix.len()..]) {
            return rest.split('`').next().map(str::to_owned);
        }
    }
    None
}

/// The key of the `key = value` line at or before `offset`, stopping at a table header: the
/// field a value error concerns (a multi-line array's element names the array's key).
fn key_before(text: &str, offset: usize) -> Option<String> {
    let end = offset.min(text.len());
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
    for line in text[..line_end].lines().rev() {
        let line = line.trim();
        if line.starts_with('[') {
            return None;
        }
        if let Some((key, _)) = line.split_once('=') {
            let key = key.trim();
            let last = key
                .rsplit('.')
                .next()
                .unwrap_or(key)
                .trim()
                .trim_matches('"');
            if !last.is_empty()
                && last
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Some(last.to_owned());
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Loading

struct PolicyFile {
    /// Relative path with `/` separators: the hash order.
    rel: String,
    path: PathBuf,
    text: String,
}

fn read_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The `*.toml` files of `dir/sub`, sorted by name.
fn read_dir_toml(dir: &Path, sub: &str) -> Result<Vec<PolicyFile>> {
    let folder = dir.join(sub);
    let io = |source| Error::Io {
        path: folder.clone(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&folder).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".toml") && entry.file_type().map_err(io)?.is_file() {
            names.push(name);
        }
    }
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let path = folder.join(&name);
            Ok(PolicyFile {
                rel: format!("{sub}/{name}"),
                text: read_file(&path)?,
                path,
            })
        })
        .collect()
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn is_lower_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// FNV-1a 64: stable across platforms and releases, unlike `DefaultHasher`.
fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

pub(crate) fn load(dir: &Path) -> Result<Policies> {
    let catalog_files = read_dir_toml(dir, "catalog")?;
    let licence_files = read_dir_toml(dir, "licences")?;
    let disclosure_path = dir.join("disclosure.toml");
    let disclosure_file = PolicyFile {
        rel: "disclosure.toml".to_owned(),
        text: read_file(&disclosure_path)?,
        path: disclosure_path,
    };

    let mut diags = Vec::new();

    let mut catalog = BTreeMap::new();
    // Datasets whose file is broken: a licence naming them gets no second, misleading error.
    let mut broken = BTreeSet::new();
    for file in &catalog_files {
        let id = stem(&file.path);
        let mut cx = FileCx {
            path: &file.path,
            text: &file.text,
            diags: &mut diags,
        };
        match load_dataset(&mut cx, &id) {
            Some(dataset) => {
                catalog.insert(id, dataset);
            }
            None => {
                broken.insert(id);
            }
        }
    }

    let disclosure = load_disclosure(&mut FileCx {
        path: &disclosure_file.path,
        text: &disclosure_file.text,
        diags: &mut diags,
    });

    let mut licences = BTreeMap::new();
    for file in &licence_files {
        let mut cx = FileCx {
            path: &file.path,
            text: &file.text,
            diags: &mut diags,
        };
        if let Some(licence) = load_licence(&mut cx, &stem(&file.path), &catalog, &broken) {
            licences.insert(licence.id.clone(), licence);
        }
    }

    if !diags.is_empty() {
        return Err(Error::Invalid(diags));
    }
    let Some(disclosure) = disclosure else {
        // Unreachable in practice: a missing disclosure always leaves a diagnostic.
        return Err(Error::Invalid(vec![Diagnostic {
            file: disclosure_file.path,
            line: 1,
            field: None,
            message: "the disclosure rules could not be read".to_owned(),
        }]));
    };

    let mut files: Vec<&PolicyFile> = catalog_files
        .iter()
        .chain(&licence_files)
        .chain([&disclosure_file])
        .collect();
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    let hash = files.iter().fold(0xcbf2_9ce4_8422_2325, |h, f| {
        let h = fnv1a(h, f.rel.as_bytes());
        let h = fnv1a(h, &[0]);
        let h = fnv1a(h, f.text.as_bytes());
        fnv1a(h, &[0])
    });

    Ok(Policies {
        catalog,
        licences,
        disclosure,
        version: format!("{hash:016x}"),
    })
}

fn check_min_group_size(cx: &mut FileCx<'_>, field: &str, k: &Spanned<u32>) {
    if *k.get_ref() < 2 {
        cx.report(
            k.span(),
            field,
            format!(
                "must be at least 2 distinct privacy units, got {}",
                k.get_ref()
            ),
        );
    }
}

fn load_dataset(cx: &mut FileCx<'_>, id: &str) -> Option<Dataset> {
    let raw: RawDataset = cx.parse()?;
    let before = cx.diags.len();
    if !is_lower_ident(id) {
        cx.diags.push(Diagnostic {
            file: cx.path.to_path_buf(),
            line: 1,
            field: Some("id".to_owned()),
            message: format!(
                "dataset id `{id}` (the file name) must be a lowercase identifier: a letter \
                 followed by letters, digits or underscores"
            ),
        });
    }
    if let Some(k) = &raw.min_group_size {
        check_min_group_size(cx, "min_group_size", k);
    }
    if raw.grade == Grade::Core
        && *raw.licensed_operation.status.get_ref() != OperationStatus::NotLicensable
    {
        cx.report(
            raw.licensed_operation.status.span(),
            "status",
            format!(
                "dataset `{id}` is graded core and core data is never licensable: the status \
                 must be `not_licensable`, not `{}`",
                raw.licensed_operation.status.get_ref().as_str()
            ),
        );
    }
    if raw.columns.get_ref().is_empty() {
        cx.report(
            raw.columns.span(),
            "columns",
            "a dataset must declare at least one column",
        );
    }
    let mut seen = BTreeSet::new();
    for column in raw.columns.get_ref() {
        let name = column.name.get_ref();
        if !seen.insert(name.as_str()) {
            cx.report(
                column.name.span(),
                "name",
                format!("duplicate column `{name}`"),
            );
        } else if name.is_empty() {
            cx.report(
                column.name.span(),
                "name",
                "a column name must not be empty",
            );
        }
        let data_type = column.data_type.get_ref();
        if !DATA_TYPES.contains(&data_type.as_str()) {
            cx.report(
                column.data_type.span(),
                "data_type",
                format!(
                    "unknown data type `{data_type}` of column `{name}`, expected one of {}",
                    DATA_TYPES
                        .iter()
                        .map(|t| format!("`{t}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        if let Some(b) = &column.bounds {
            check_bounds(cx, b, name, data_type);
        }
    }
    let unit = raw.privacy_unit.get_ref();
    if !seen.contains(unit.as_str()) {
        cx.report(
            raw.privacy_unit.span(),
            "privacy_unit",
            format!("privacy unit `{unit}` is not a column of dataset `{id}`"),
        );
    }
    if cx.diags.len() != before {
        return None;
    }
    Some(Dataset {
        id: id.to_owned(),
        name: raw.name,
        summary: raw.summary,
        format: raw.format,
        industry: raw.industry,
        time_coverage: raw.time_coverage,
        region_coverage: raw.region_coverage,
        update_frequency: raw.update_frequency,
        provider_name: raw.provider_name,
        provider_code: raw.provider_code,
        share_type: raw.share_type,
        share_conditions: raw.share_conditions,
        open_type: raw.open_type,
        open_conditions: raw.open_conditions,
        licensed_operation: LicensedOperation {
            status: raw.licensed_operation.status.into_inner(),
            scenarios: raw.licensed_operation.scenarios,
        },
        grade: raw.grade,
        privacy_unit: raw.privacy_unit.into_inner(),
        unit_unique_per_row: raw.unit_unique_per_row,
        min_group_size: raw.min_group_size.map(Spanned::into_inner),
        columns: raw
            .columns
            .into_inner()
            .into_iter()
            .map(|c| Column {
                name: c.name.into_inner(),
                data_type: c.data_type.into_inner(),
                class: c.class,
                uses: c.uses,
                description: c.description,
                bounds: c.bounds.and_then(|b| match b.get_ref().as_slice() {
                    [lo, hi] => Some((*lo, *hi)),
                    _ => None,
                }),
            })
            .collect(),
    })
}

fn to_date(
    cx: &mut FileCx<'_>,
    field: &str,
    value: &Spanned<toml::value::Datetime>,
) -> Option<chrono::NaiveDate> {
    let dt = value.get_ref();
    let date = match (dt.date, dt.time, dt.offset) {
        (Some(d), None, None) => {
            chrono::NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
        }
        _ => None,
    };
    if date.is_none() {
        cx.report(
            value.span(),
            field,
            "expected a plain date such as 2026-01-01 (no time, no offset)",
        );
    }
    date
}

fn load_licence(
    cx: &mut FileCx<'_>,
    stem: &str,
    catalog: &BTreeMap<String, Dataset>,
    broken: &BTreeSet<String>,
) -> Option<Licence> {
    let raw: RawLicence = cx.parse()?;
    let before = cx.diags.len();
    let id = raw.id.get_ref();
    if id != stem {
        cx.report(
            raw.id.span(),
            "id",
            format!("licence id `{id}` must equal the file name `{stem}`"),
        );
    }
    if raw.operator.get_ref().trim().is_empty() {
        cx.report(
            raw.operator.span(),
            "operator",
            "the operator must not be empty",
        );
    }
    if raw.datasets.get_ref().is_empty() {
        cx.report(
            raw.datasets.span(),
            "datasets",
            "a licence must name at least one dataset",
        );
    }
    if raw.scenarios.get_ref().is_empty() {
        cx.report(
            raw.scenarios.span(),
            "scenarios",
            "a licence must name at least one scenario",
        );
    }
    let mut datasets = Vec::new();
    for name in raw.datasets.get_ref() {
        let ds_id = name.get_ref();
        match catalog.get(ds_id) {
            Some(dataset) => {
                if let Some(reason) = dataset.unlicensable_reason() {
                    cx.report(name.span(), "datasets", reason);
                }
                datasets.push(dataset);
            }
            None if broken.contains(ds_id) => {}
            None => cx.report(
                name.span(),
                "datasets",
                format!("unknown dataset `{ds_id}`"),
            ),
        }
    }
    for scenario in raw.scenarios.get_ref() {
        let s = scenario.get_ref();
        for dataset in &datasets {
            if !dataset.licensed_operation.scenarios.iter().any(|x| x == s) {
                cx.report(
                    scenario.span(),
                    "scenarios",
                    format!(
                        "scenario `{s}` is not among the licensed-operation scenarios of dataset `{}`",
                        dataset.id
                    ),
                );
            }
        }
    }
    let valid_from = to_date(cx, "valid_from", &raw.valid_from);
    let valid_until = to_date(cx, "valid_until", &raw.valid_until);
    if let (Some(from), Some(until)) = (valid_from, valid_until)
        && until < from
    {
        cx.report(
            raw.valid_until.span(),
            "valid_until",
            format!("the licence ends ({until}) before it starts ({from})"),
        );
    }
    if raw.job_kinds.get_ref().is_empty() {
        cx.report(
            raw.job_kinds.span(),
            "job_kinds",
            "a licence must allow at least one job kind",
        );
    }
    if let Some(k) = &raw.min_group_size {
        check_min_group_size(cx, "min_group_size", k);
    }
    if *raw.daily_job_limit.get_ref() == 0 {
        cx.report(
            raw.daily_job_limit.span(),
            "daily_job_limit",
            "must be at least 1; suspend the licence to stop all jobs",
        );
    }
    let epsilon = *raw.epsilon_budget.get_ref();
    if !(epsilon.is_finite() && epsilon >= 0.0) {
        cx.report(
            raw.epsilon_budget.span(),
            "epsilon_budget",
            "must be a finite number, zero or more",
        );
    }
    if *raw.release_quorum.get_ref() == 0 {
        cx.report(
            raw.release_quorum.span(),
            "release_quorum",
            "at least one reviewer must approve a release",
        );
    }
    if let Some(rows) = &raw.max_output_rows
        && *rows.get_ref() == 0
    {
        cx.report(rows.span(), "max_output_rows", "must be at least 1");
    }
    if cx.diags.len() != before {
        return None;
    }
    let (Some(valid_from), Some(valid_until)) = (valid_from, valid_until) else {
        return None;
    };
    Some(Licence {
        id: raw.id.into_inner(),
        operator: raw.operator.into_inner(),
        mode: raw.mode,
        datasets: raw
            .datasets
            .into_inner()
            .into_iter()
            .map(Spanned::into_inner)
            .collect(),
        scenarios: raw
            .scenarios
            .into_inner()
            .into_iter()
            .map(Spanned::into_inner)
            .collect(),
        valid_from,
        valid_until,
        job_kinds: raw.job_kinds.into_inner(),
        min_group_size: raw.min_group_size.map(Spanned::into_inner),
        daily_job_limit: raw.daily_job_limit.into_inner(),
        epsilon_budget: epsilon,
        interactive: raw.interactive,
        release_quorum: raw.release_quorum.into_inner(),
        max_output_rows: raw.max_output_rows.map(Spanned::into_inner),
        suspended: raw.suspended,
    })
}

/// Numeric types whose values DP can clamp into `bounds`.
const NUMERIC_TYPES: &[&str] = &["int32", "int64", "float64"];

fn check_bounds(cx: &mut FileCx<'_>, b: &Spanned<Vec<f64>>, name: &str, data_type: &str) {
    if !NUMERIC_TYPES.contains(&data_type) {
        cx.report(
            b.span(),
            "bounds",
            format!("column `{name}` is `{data_type}`: only numeric columns have bounds"),
        );
        return;
    }
    match b.get_ref().as_slice() {
        [lo, hi] if lo.is_finite() && hi.is_finite() && lo < hi => {}
        _ => cx.report(
            b.span(),
            "bounds",
            format!("bounds of column `{name}` must be two finite numbers `[lo, hi]` with lo < hi"),
        ),
    }
}

/// Checks the values a rules table sets and converts it.
fn check_rules(cx: &mut FileCx<'_>, raw: &RawRules) -> PartialRules {
    if let Some(k) = &raw.k {
        check_min_group_size(cx, "k", k);
    }
    if let Some(n) = &raw.dominance_n
        && *n.get_ref() == 0
    {
        cx.report(n.span(), "dominance_n", "must be at least 1 contributor");
    }
    if let Some(dk) = &raw.dominance_k {
        let v = *dk.get_ref();
        if !(v > 0.0 && v <= 1.0) {
            cx.report(
                dk.span(),
                "dominance_k",
                format!("must be in (0, 1], got {v}"),
            );
        }
    }
    if let Some(p) = &raw.p_ratio {
        let v = *p.get_ref();
        if !(0.0..1.0).contains(&v) {
            cx.report(p.span(), "p_ratio", format!("must be in [0, 1), got {v}"));
        }
    }
    for (field, value) in [
        ("max_output_rows", &raw.max_output_rows),
        ("max_output_bytes", &raw.max_output_bytes),
    ] {
        if let Some(v) = value
            && *v.get_ref() == 0
        {
            cx.report(v.span(), field, "must be at least 1");
        }
    }
    if let Some(b) = &raw.min_round_bucket {
        let v = *b.get_ref();
        if !(v.is_finite() && v > 0.0) {
            cx.report(
                b.span(),
                "min_round_bucket",
                format!("must be a positive number, got {v}"),
            );
        }
    }
    if let Some(e) = &raw.epsilon {
        let v = *e.get_ref();
        if !(v.is_finite() && v > 0.0 && v <= 10.0) {
            cx.report(e.span(), "epsilon", format!("must be in (0, 10], got {v}"));
        }
    }
    if let Some(d) = &raw.delta {
        let v = *d.get_ref();
        if !(v > 0.0 && v < 1e-3) {
            cx.report(
                d.span(),
                "delta",
                format!("must be in (0, 0.001): δ is the chance the guarantee fails, got {v}"),
            );
        }
    }
    if let Some(l) = &raw.max_rows_per_unit
        && *l.get_ref() == 0
    {
        cx.report(l.span(), "max_rows_per_unit", "must be at least 1");
    }
    let get = |s: &Option<Spanned<u32>>| s.as_ref().map(|v| *v.get_ref());
    let get64 = |s: &Option<Spanned<u64>>| s.as_ref().map(|v| *v.get_ref());
    let getf = |s: &Option<Spanned<f64>>| s.as_ref().map(|v| *v.get_ref());
    PartialRules {
        k: get(&raw.k),
        dominance_n: get(&raw.dominance_n),
        dominance_k: getf(&raw.dominance_k),
        p_ratio: getf(&raw.p_ratio),
        max_output_rows: get64(&raw.max_output_rows),
        max_output_bytes: get64(&raw.max_output_bytes),
        max_substr_prefix: get(&raw.max_substr_prefix),
        min_round_bucket: getf(&raw.min_round_bucket),
        dp: raw.dp,
        epsilon: getf(&raw.epsilon),
        delta: getf(&raw.delta),
        max_rows_per_unit: get(&raw.max_rows_per_unit),
        mechanism: raw.mechanism,
    }
}

fn load_disclosure(cx: &mut FileCx<'_>) -> Option<Disclosure> {
    let raw: RawDisclosure = cx.parse()?;
    let before = cx.diags.len();
    let global_span = raw.global.span();
    let g = check_rules(cx, raw.global.get_ref());
    let mut missing = |field: &str| {
        cx.report(
            global_span.clone(),
            field,
            "missing in `[global]`: the global rules must set every value",
        );
    };
    let global = match g {
        PartialRules {
            k: Some(k),
            dominance_n: Some(dominance_n),
            dominance_k: Some(dominance_k),
            p_ratio: Some(p_ratio),
            max_output_rows: Some(max_output_rows),
            max_output_bytes: Some(max_output_bytes),
            max_substr_prefix: Some(max_substr_prefix),
            min_round_bucket: Some(min_round_bucket),
            dp: Some(dp),
            epsilon: Some(epsilon),
            delta: Some(delta),
            max_rows_per_unit: Some(max_rows_per_unit),
            mechanism,
        } => Some(DisclosureRules {
            k,
            dominance_n,
            dominance_k,
            p_ratio,
            max_output_rows,
            max_output_bytes,
            max_substr_prefix,
            min_round_bucket,
            dp,
            epsilon,
            delta,
            max_rows_per_unit,
            mechanism: mechanism.unwrap_or(Mechanism::Laplace),
        }),
        g => {
            let fields = [
                ("k", g.k.is_none()),
                ("dominance_n", g.dominance_n.is_none()),
                ("dominance_k", g.dominance_k.is_none()),
                ("p_ratio", g.p_ratio.is_none()),
                ("max_output_rows", g.max_output_rows.is_none()),
                ("max_output_bytes", g.max_output_bytes.is_none()),
                ("max_substr_prefix", g.max_substr_prefix.is_none()),
                ("min_round_bucket", g.min_round_bucket.is_none()),
                ("dp", g.dp.is_none()),
                ("epsilon", g.epsilon.is_none()),
                ("delta", g.delta.is_none()),
                ("max_rows_per_unit", g.max_rows_per_unit.is_none()),
            ];
            for (field, absent) in fields {
                if absent {
                    missing(field);
                }
            }
            None
        }
    };
    let mut grades = BTreeMap::new();
    for (grade, rules) in [
        (Grade::General, &raw.grades.general),
        (Grade::Important, &raw.grades.important),
        (Grade::Core, &raw.grades.core),
    ] {
        if let Some(rules) = rules {
            grades.insert(grade, check_rules(cx, rules));
        }
    }
    if cx.diags.len() != before {
        return None;
    }
    Some(Disclosure {
        global: global?,
        grades,
    })
}
