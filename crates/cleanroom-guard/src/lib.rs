//! cleanroom-guard: the disclosure guard.
//!
//! It owns the decision whether a job's output may leave the sandbox:
//! - [`analyze`]: the static walk over a DataFusion logical plan as written. It computes, for
//!   every output column, the base columns it derives from and how (identity, generalised,
//!   transformed, aggregated), checks every use of every column against the catalog, applies the
//!   allow-lists of plan steps and functions, and returns a [`Decision`] with stable rule ids and
//!   the OpenLineage column lineage of the same walk.
//! - [`rewrite`]: adds the hidden aggregates the dynamic rules need (distinct privacy units per
//!   group and dataset, top-2 contributions for dominance).
//! - [`dynamic`]: suppresses small and dominated groups, then scans the result for identifiers
//!   (DLP), echoes of raw identifier values, and size limits.
//! - [`scrub`]: makes texts (DataFusion errors, expression names) safe to show.
//!
//! It must not own sessions, files or execution: `cleanroom-engine` runs the plans. Decisions
//! are values, not errors: an [`Error`] means the guard itself could not work.

pub mod analyze;
pub mod dp;
pub mod dynamic;
pub mod echo;
pub mod functions;
pub mod lineage;
pub mod noise;
pub mod rewrite;
pub mod scrub;
pub mod udaf;

use std::collections::{BTreeMap, BTreeSet};

pub use analyze::{Analysis, analyze, analyze_input};
pub use cleanroom_policy::decision::{Decision, RuleId, Verdict, Violation};
use cleanroom_policy::{Column, Dataset, DisclosureRules};
pub use dynamic::{Checked, Suppression};
pub use echo::EchoFilter;
pub use lineage::ColumnLineage;
pub use rewrite::{Rewritten, rewrite};

/// Errors of the guard itself (never a policy decision).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("internal error in the guard: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the guard knows about a job: the licensed datasets (by table name) and the effective
/// disclosure rules.
#[derive(Clone, Debug)]
pub struct GuardContext {
    datasets: BTreeMap<String, Dataset>,
    pub rules: DisclosureRules,
    /// Scalar functions a WASM component offers this job: opaque transformations.
    guest_functions: BTreeSet<String>,
    /// The job asked for DP where the policy makes it optional.
    dp_requested: bool,
    /// A fixed noise seed (tests and replays); the operating system's CSPRNG otherwise.
    noise_seed: Option<u64>,
    /// The platform's secret noise key: noise is then drawn from a keyed hash of the rows a
    /// statistic covers, so the same statistic over the same rows gets the same noise however
    /// the query is written (averaging rewrites gains nothing).
    noise_key: Option<[u8; 32]>,
    /// The most rows one privacy unit has in each dataset's data as it is now, measured on the
    /// data (not declared): where no unit has more rows than DP's per-unit limit, its rows need
    /// no weighting and the rewrite skips counting them per unit.
    unit_rows: BTreeMap<String, u64>,
}

impl GuardContext {
    pub fn new(datasets: impl IntoIterator<Item = Dataset>, rules: DisclosureRules) -> Self {
        let datasets = datasets.into_iter().map(|d| (d.id.clone(), d)).collect();
        GuardContext {
            datasets,
            rules,
            guest_functions: BTreeSet::new(),
            dp_requested: false,
            noise_seed: None,
            noise_key: None,
            unit_rows: BTreeMap::new(),
        }
    }

    /// Sets the platform's secret noise key (see the field).
    pub fn with_noise_key(mut self, key: Option<[u8; 32]>) -> Self {
        self.noise_key = key;
        self
    }

    pub fn noise_key(&self) -> Option<[u8; 32]> {
        self.noise_key
    }

    /// Sets the most rows one unit has in each dataset (see the field). The caller measures
    /// them on the data the job reads, once per data version.
    pub fn with_unit_rows(mut self, rows: impl IntoIterator<Item = (String, u64)>) -> Self {
        self.unit_rows.extend(rows);
        self
    }

    /// The most rows one unit has in `dataset`, where measured.
    pub fn unit_rows(&self, dataset: &str) -> Option<u64> {
        self.unit_rows.get(dataset).copied()
    }

    /// Asks for DP where the policy leaves it optional.
    pub fn with_dp_requested(mut self, requested: bool) -> Self {
        self.dp_requested = requested;
        self
    }

    /// Draws noise from a fixed seed instead of the operating system (tests only: a seed known
    /// to anyone makes the noise removable).
    pub fn with_noise_seed(mut self, seed: Option<u64>) -> Self {
        self.noise_seed = seed;
        self
    }

    /// True when the job's aggregates get DP noise.
    pub fn dp_on(&self) -> bool {
        self.rules.dp_applies(self.dp_requested)
    }

    /// A noise source for the `n`-th plan of this job.
    pub fn noise_source(&self, n: u64) -> Result<noise::NoiseSource> {
        Ok(match self.noise_seed {
            Some(seed) => noise::NoiseSource::seeded(seed.wrapping_add(n)),
            None => noise::NoiseSource::from_os()?,
        })
    }

    /// Declares the guest scalar functions registered into the job's session. The analysis
    /// allows them and treats each as an opaque transformation that can be reversed.
    pub fn with_guest_functions(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.guest_functions.extend(names);
        self
    }

    pub fn is_guest_function(&self, name: &str) -> bool {
        self.guest_functions.contains(name)
    }

    pub fn dataset(&self, table: &str) -> Option<&Dataset> {
        self.datasets.get(table)
    }

    pub fn datasets(&self) -> impl Iterator<Item = &Dataset> {
        self.datasets.values()
    }

    pub fn column(&self, src: &analyze::Src) -> Option<&Column> {
        self.datasets.get(&*src.dataset)?.column(&src.column)
    }
}
