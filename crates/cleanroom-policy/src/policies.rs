//! The loaded policies and the questions other crates ask of them.

use std::collections::{BTreeMap, BTreeSet};

use crate::decision::{RuleId, Violation};
use crate::{Dataset, Disclosure, DisclosureRules, Grade, JobKind, Licence, Result};

/// Everything in `policies/`: catalog, licences and disclosure rules.
#[derive(Clone, Debug, PartialEq)]
pub struct Policies {
    /// Datasets by id (file stem).
    pub catalog: BTreeMap<String, Dataset>,
    /// Licences by id.
    pub licences: BTreeMap<String, Licence>,
    pub disclosure: Disclosure,
    /// FNV-1a 64 hash (hex) of every policy file's relative path and bytes, in sorted path
    /// order: the policy version recorded with every job.
    pub version: String,
}

impl Policies {
    /// Reads `dir/catalog/*.toml`, `dir/licences/*.toml` and `dir/disclosure.toml` (anything
    /// else, e.g. `dir/authz`, is ignored) and validates them, collecting every problem.
    pub fn load(dir: &std::path::Path) -> Result<Policies> {
        crate::load::load(dir)
    }

    pub fn dataset(&self, id: &str) -> Option<&Dataset> {
        self.catalog.get(id)
    }

    pub fn licence(&self, id: &str) -> Option<&Licence> {
        self.licences.get(id)
    }

    /// The most restrictive value across everything a job touches (就高从严): k = max(global,
    /// grade of each dataset, dataset override, licence `min_group_size`); dominance n = max;
    /// dominance k = min; p ratio = max; output rows and bytes = min (the licence's
    /// `max_output_rows` too); substr prefix = min; round bucket = max; DP required if any
    /// source requires it.
    pub fn effective_rules(&self, licence: &Licence, datasets: &[&Dataset]) -> DisclosureRules {
        let mut rules = self.disclosure.global.clone();
        let grades: BTreeSet<Grade> = datasets.iter().map(|d| d.grade).collect();
        for grade in grades {
            if let Some(partial) = self.disclosure.grades.get(&grade) {
                rules.tighten(partial);
            }
        }
        for dataset in datasets {
            if let Some(k) = dataset.min_group_size {
                rules.k = rules.k.max(k);
            }
        }
        if let Some(k) = licence.min_group_size {
            rules.k = rules.k.max(k);
        }
        if let Some(rows) = licence.max_output_rows {
            rules.max_output_rows = rules.max_output_rows.min(rows);
        }
        rules
    }

    /// Licence checks done before anything else, in this order: suspended, validity window,
    /// scenario, scope (job kind and whether each licensed dataset is still licensable).
    /// Returns every problem found; empty when the licence may run this job.
    pub fn check_licence(
        &self,
        licence: &Licence,
        scenario: &str,
        kind: JobKind,
        today: chrono::NaiveDate,
    ) -> Vec<Violation> {
        let id = licence.id.as_str();
        let mut out = Vec::new();
        if licence.suspended {
            out.push(
                Violation::new(
                    RuleId::LicenceSuspended,
                    id,
                    format!("licence `{id}` is suspended and may not run jobs"),
                )
                .with_suggestion("contact the data bureau to have the licence restored"),
            );
        }
        if today < licence.valid_from {
            out.push(
                Violation::new(
                    RuleId::LicenceExpired,
                    id,
                    format!(
                        "licence `{id}` is not yet valid: it starts on {}",
                        licence.valid_from
                    ),
                )
                .with_suggestion(format!("run the job on or after {}", licence.valid_from)),
            );
        } else if today > licence.valid_until {
            out.push(
                Violation::new(
                    RuleId::LicenceExpired,
                    id,
                    format!("licence `{id}` expired on {}", licence.valid_until),
                )
                .with_suggestion("ask the data bureau to renew the licence"),
            );
        }
        if !licence.scenarios.iter().any(|s| s == scenario) {
            out.push(
                Violation::new(
                    RuleId::LicenceScenario,
                    id,
                    format!("licence `{id}` does not cover the scenario `{scenario}`"),
                )
                .with_suggestion(format!(
                    "use a licensed scenario: {}",
                    backticked(&licence.scenarios)
                )),
            );
        }
        if !licence.job_kinds.contains(&kind) {
            let kinds: Vec<&str> = licence.job_kinds.iter().map(|k| k.as_str()).collect();
            out.push(
                Violation::new(
                    RuleId::LicenceScope,
                    id,
                    format!(
                        "licence `{id}` does not allow {} jobs",
                        kind.as_str().to_uppercase()
                    ),
                )
                .with_suggestion(format!("submit one of: {}", backticked(&kinds))),
            );
        }
        for dataset_id in &licence.datasets {
            let reason = match self.dataset(dataset_id) {
                None => Some(format!(
                    "dataset `{dataset_id}` of licence `{id}` is no longer in the catalog"
                )),
                Some(dataset) => dataset.unlicensable_reason(),
            };
            if let Some(reason) = reason {
                out.push(
                    Violation::new(RuleId::LicenceScope, dataset_id.as_str(), reason)
                        .with_suggestion(format!(
                            "the licence no longer covers `{dataset_id}`; ask the data bureau to review licence `{id}`"
                        )),
                );
            }
        }
        out
    }
}

fn backticked<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        return "none".to_owned();
    }
    items
        .iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}
