//! The policy model: catalog entries, column classes and uses, licences and disclosure rules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Data grade (GB/T 43697: 一般 / 重要 / 核心). Ordered from least to most protected.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Grade {
    General,
    Important,
    Core,
}

impl Grade {
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::General => "general",
            Grade::Important => "important",
            Grade::Core => "core",
        }
    }
}

/// Column class: a preset of column uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnClass {
    /// Direct identifier (citizen ID, USCC, name, phone): join key only.
    Identifier,
    /// Quasi-identifier (birth date, district, gender, industry).
    Quasi,
    /// Sensitive attribute (wage, pension, diagnosis).
    Sensitive,
    /// Public: every use.
    Public,
}

impl ColumnClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnClass::Identifier => "identifier",
            ColumnClass::Quasi => "quasi",
            ColumnClass::Sensitive => "sensitive",
            ColumnClass::Public => "public",
        }
    }

    /// The uses this class grants (DESIGN.md §3).
    pub fn uses(self) -> Uses {
        match self {
            ColumnClass::Identifier => Uses::of(&[Use::Join]),
            ColumnClass::Quasi => Uses::of(&[Use::GroupBy, Use::Compare, Use::Aggregate]),
            ColumnClass::Sensitive => Uses::of(&[Use::Aggregate, Use::Compare]),
            ColumnClass::Public => Uses::ALL,
        }
    }
}

/// One way a query may use a column (SCQL-style column control, default deny).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Use {
    /// May appear in the output as is.
    Output,
    /// May appear only as a key of a thresholded aggregate.
    GroupBy,
    /// Only inside N→1 aggregates.
    Aggregate,
    /// In WHERE/HAVING/ON against literals or columns.
    Compare,
    /// Equality join key only.
    Join,
}

impl Use {
    /// Every use, in declaration order.
    pub const ALL: [Use; 5] = [
        Use::Output,
        Use::GroupBy,
        Use::Aggregate,
        Use::Compare,
        Use::Join,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Use::Output => "output",
            Use::GroupBy => "group_by",
            Use::Aggregate => "aggregate",
            Use::Compare => "compare",
            Use::Join => "join",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl std::fmt::Display for Use {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of uses.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Uses(u8);

impl Uses {
    pub const NONE: Uses = Uses(0);
    pub const ALL: Uses = Uses(0b1_1111);

    pub fn of(uses: &[Use]) -> Uses {
        Uses(uses.iter().fold(0, |acc, u| acc | u.bit()))
    }

    pub fn contains(self, u: Use) -> bool {
        self.0 & u.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Use> {
        Use::ALL.into_iter().filter(move |u| self.contains(*u))
    }
}

impl std::fmt::Debug for Uses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Serialize for Uses {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// The column data types a catalog may declare (Arrow names, lowercase).
pub const DATA_TYPES: &[&str] = &["utf8", "date32", "float64", "int32", "int64"];

/// One column of a dataset: an art. 12 data item with its format, plus its class and uses.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Column {
    pub name: String,
    /// One of [`DATA_TYPES`].
    pub data_type: String,
    pub class: Option<ColumnClass>,
    /// Explicit uses; when present they override the class preset.
    pub uses: Option<Vec<Use>>,
    pub description: String,
    /// `[lo, hi]` of a numeric column: under DP each value is clamped into it, which bounds what
    /// one person can add to a SUM, AVG or VAR (the sensitivity).
    pub bounds: Option<(f64, f64)>,
}

impl Column {
    /// Explicit uses if given, else the class preset, else none (default deny).
    pub fn effective_uses(&self) -> Uses {
        match (&self.uses, self.class) {
            (Some(uses), _) => Uses::of(uses),
            (None, Some(class)) => class.uses(),
            (None, None) => Uses::NONE,
        }
    }

    /// True unless the column is classed public and may be output as is. A column without a
    /// class counts as protected: default deny.
    pub fn is_protected(&self) -> bool {
        self.class != Some(ColumnClass::Public) || !self.effective_uses().contains(Use::Output)
    }
}

/// Share type (art. 24) and open type (art. 37).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ShareType {
    Unconditional,
    Conditional,
    None,
}

/// Open type (art. 37).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpenType {
    Unconditional,
    Conditional,
    None,
}

/// Licensed-operation status of a dataset (art. 12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationStatus {
    Licensable,
    Licensed,
    NotLicensable,
}

impl OperationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OperationStatus::Licensable => "licensable",
            OperationStatus::Licensed => "licensed",
            OperationStatus::NotLicensable => "not_licensable",
        }
    }
}

/// Licensed-operation status and the scenarios the dataset may be licensed for.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LicensedOperation {
    pub status: OperationStatus,
    #[serde(default)]
    pub scenarios: Vec<String>,
}

/// A catalog entry (art. 12) with its grade, privacy unit and columns.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dataset {
    /// The file stem, e.g. `residents`; also the table name in SQL.
    pub id: String,
    pub name: String,
    pub summary: String,
    pub format: String,
    pub industry: String,
    pub time_coverage: String,
    pub region_coverage: String,
    pub update_frequency: String,
    pub provider_name: String,
    pub provider_code: String,
    pub share_type: ShareType,
    pub share_conditions: String,
    pub open_type: OpenType,
    pub open_conditions: String,
    pub licensed_operation: LicensedOperation,
    pub grade: Grade,
    /// The column that identifies the person or legal person.
    pub privacy_unit: String,
    /// True when each row is a distinct privacy unit.
    pub unit_unique_per_row: bool,
    /// Dataset-level k override.
    pub min_group_size: Option<u32>,
    pub columns: Vec<Column>,
}

impl Dataset {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// True when any column is protected.
    pub fn is_protected(&self) -> bool {
        self.columns.iter().any(Column::is_protected)
    }

    /// True when a licence may cover this dataset (art. 24, 43): not core, not marked
    /// not licensable, and shareable.
    pub fn is_licensable(&self) -> bool {
        self.grade != Grade::Core
            && self.licensed_operation.status != OperationStatus::NotLicensable
            && self.share_type != ShareType::None
    }

    /// Why a licence may not cover this dataset, if it may not.
    pub fn unlicensable_reason(&self) -> Option<String> {
        let id = &self.id;
        if self.grade == Grade::Core {
            Some(format!(
                "dataset `{id}` is graded core and core data is never licensable"
            ))
        } else if self.licensed_operation.status == OperationStatus::NotLicensable {
            Some(format!(
                "dataset `{id}` is marked not licensable in the catalog"
            ))
        } else if self.share_type == ShareType::None {
            Some(format!(
                "dataset `{id}` has share type none and may not be shared"
            ))
        } else {
            None
        }
    }
}

/// Licensing mode (art. 43-48).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LicenceMode {
    Whole,
    Domain,
    Scenario,
}

/// Kind of job a licence may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    Sql,
    Wasm,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Sql => "sql",
            JobKind::Wasm => "wasm",
        }
    }
}

/// A licence agreement with one operator (art. 43-48).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Licence {
    /// Equal to the file stem, e.g. `LIC-ELDER-2026`.
    pub id: String,
    pub operator: String,
    pub mode: LicenceMode,
    pub datasets: Vec<String>,
    pub scenarios: Vec<String>,
    #[serde(serialize_with = "ser_date")]
    pub valid_from: chrono::NaiveDate,
    #[serde(serialize_with = "ser_date")]
    pub valid_until: chrono::NaiveDate,
    pub job_kinds: Vec<JobKind>,
    pub min_group_size: Option<u32>,
    pub daily_job_limit: u32,
    pub epsilon_budget: f64,
    /// May the operator see checked results before a product is approved.
    pub interactive: bool,
    /// Reviewer approvals needed before release.
    pub release_quorum: u32,
    pub max_output_rows: Option<u64>,
    pub suspended: bool,
}

// chrono is built without its serde feature: dates serialise as ISO 8601 strings.
fn ser_date<S: serde::Serializer>(d: &chrono::NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&d.format("%Y-%m-%d"))
}

/// Disclosure-control parameters; the effective values for a job.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DisclosureRules {
    /// Minimum distinct privacy units per group, per protected dataset.
    pub k: u32,
    /// Top-n contributors considered by the dominance rule.
    pub dominance_n: u32,
    /// Share of the top-n contributors at or above which a cell fails.
    pub dominance_k: f64,
    /// A cell fails when (total - top1 - top2) / top1 < p.
    pub p_ratio: f64,
    pub max_output_rows: u64,
    pub max_output_bytes: u64,
    /// Longest allowed substr/left prefix of a group_by column.
    pub max_substr_prefix: u32,
    /// Finest allowed round/floor bucket width for numeric generalisation.
    pub min_round_bucket: f64,
    /// Whether noise is added to every aggregate over the data (DESIGN.md §4, DP).
    pub dp: DpMode,
    /// ε one job may spend, split evenly over its noisy measurements.
    pub epsilon: f64,
    /// δ of the noisy threshold that selects which groups appear (and of the Gaussian mechanism).
    pub delta: f64,
    /// Rows one privacy unit may contribute to one aggregate, over all its groups together: a
    /// unit with more rows has each row weighted down so that they add up to this many.
    pub max_rows_per_unit: u32,
    pub mechanism: Mechanism,
}

/// Differential privacy for a grade: off, at the job's request, or always.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DpMode {
    Off,
    Optional,
    Required,
}

/// The noise distribution: discrete Laplace (pure ε-DP) or discrete Gaussian ((ε, δ)-DP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mechanism {
    Laplace,
    Gaussian,
}

impl DisclosureRules {
    /// True when a job's aggregates get noise: required by the data, or optional and asked for.
    pub fn dp_applies(&self, requested: bool) -> bool {
        match self.dp {
            DpMode::Required => true,
            DpMode::Optional => requested,
            DpMode::Off => false,
        }
    }
}

/// Disclosure rules with every field optional: a per-grade override.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PartialRules {
    pub k: Option<u32>,
    pub dominance_n: Option<u32>,
    pub dominance_k: Option<f64>,
    pub p_ratio: Option<f64>,
    pub max_output_rows: Option<u64>,
    pub max_output_bytes: Option<u64>,
    pub max_substr_prefix: Option<u32>,
    pub min_round_bucket: Option<f64>,
    pub dp: Option<DpMode>,
    pub epsilon: Option<f64>,
    pub delta: Option<f64>,
    pub max_rows_per_unit: Option<u32>,
    pub mechanism: Option<Mechanism>,
}

/// Global defaults and per-grade overrides (`policies/disclosure.toml`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Disclosure {
    pub global: DisclosureRules,
    pub grades: BTreeMap<Grade, PartialRules>,
}

impl DisclosureRules {
    /// Tightens `self` with every value `other` sets (就高从严: the most restrictive wins).
    pub fn tighten(&mut self, other: &PartialRules) {
        if let Some(k) = other.k {
            self.k = self.k.max(k);
        }
        if let Some(n) = other.dominance_n {
            // More contributors counted → a larger top-n share → more cells fail.
            self.dominance_n = self.dominance_n.max(n);
        }
        if let Some(dk) = other.dominance_k {
            self.dominance_k = self.dominance_k.min(dk);
        }
        if let Some(p) = other.p_ratio {
            self.p_ratio = self.p_ratio.max(p);
        }
        if let Some(rows) = other.max_output_rows {
            self.max_output_rows = self.max_output_rows.min(rows);
        }
        if let Some(bytes) = other.max_output_bytes {
            self.max_output_bytes = self.max_output_bytes.min(bytes);
        }
        if let Some(prefix) = other.max_substr_prefix {
            self.max_substr_prefix = self.max_substr_prefix.min(prefix);
        }
        if let Some(bucket) = other.min_round_bucket {
            self.min_round_bucket = self.min_round_bucket.max(bucket);
        }
        if let Some(dp) = other.dp {
            self.dp = self.dp.max(dp);
        }
        if let Some(e) = other.epsilon {
            self.epsilon = self.epsilon.min(e);
        }
        if let Some(d) = other.delta {
            self.delta = self.delta.min(d);
        }
        if let Some(l) = other.max_rows_per_unit {
            self.max_rows_per_unit = self.max_rows_per_unit.min(l);
        }
        if let Some(m) = other.mechanism {
            // The grade's choice replaces the global one; Gaussian wins between grades, so the
            // result does not depend on the order the datasets are read.
            self.mechanism = self.mechanism.max(m);
        }
    }
}
