//! The ε ledger (DESIGN.md §4, DP): per licence and dataset, charged atomically before a
//! result becomes visible, refused when the licence's `epsilon_budget` would be passed
//! (`budget.exhausted`), and free for an identical re-run (same plan over the same data
//! version), whose keyed noise gives the same answer. The budget lives with the licence: a new
//! licence starts a new ledger, an expired one admits no job to spend it.

use cleanroom_engine::{Report, sha256_hex};
use cleanroom_policy::decision::{RuleId, Violation};
use cleanroom_store::{Audit, BudgetCharge, Charged, JobId};
use serde::Serialize;

use crate::{Error, Platform, Result};

/// ε spent and left on one dataset under a licence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BudgetLine {
    pub dataset: String,
    pub spent: f64,
    pub limit: f64,
    pub left: f64,
}

/// What the ledger did for one job, as its report shows it.
#[derive(Clone, Debug, Serialize)]
pub struct BudgetState {
    /// ε this job was charged (0 when an earlier answer was reused or the charge refused).
    pub charged: f64,
    /// The job whose identical answer this one repeats, if any: its stored result is returned.
    #[serde(
        rename = "reused",
        skip_serializing_if = "Option::is_none",
        serialize_with = "job_name"
    )]
    pub earlier: Option<JobId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Violation>,
    /// The licence's ledger after this job.
    pub datasets: Vec<BudgetLine>,
}

impl Platform {
    /// The ledger of a licence: every dataset it covers, with ε spent and left.
    pub fn budget(&self, licence_id: &str) -> Result<Vec<BudgetLine>> {
        let licence = self
            .policies()
            .licence(licence_id)
            .ok_or_else(|| Error::UnknownLicence(licence_id.to_owned()))?;
        let spent = self.store().budget_spent(licence_id)?;
        Ok(licence
            .datasets
            .iter()
            .map(|d| {
                let s = spent
                    .iter()
                    .find(|(ds, _)| ds == d)
                    .map_or(0.0, |(_, e)| *e);
                BudgetLine {
                    dataset: d.clone(),
                    spent: s,
                    limit: licence.epsilon_budget,
                    left: (licence.epsilon_budget - s).max(0.0),
                }
            })
            .collect())
    }

    /// Charges a DP job's ε to each dataset it read, with its audit record.
    pub(crate) fn charge_budget(
        &self,
        job: JobId,
        licence_id: &str,
        scenario: &str,
        epsilon: f64,
        report: &Report,
        plan_hash: &str,
    ) -> Result<BudgetState> {
        let limit = self
            .policies()
            .licence(licence_id)
            .map_or(0.0, |l| l.epsilon_budget);
        let version =
            serde_json::to_string(&report.sources).map_err(|e| Error::Internal(e.to_string()))?;
        let charge = BudgetCharge {
            licence: licence_id.to_owned(),
            job,
            datasets: report.sources.iter().map(|s| s.dataset.clone()).collect(),
            epsilon,
            limit,
            plan_hash: plan_hash.to_owned(),
            data_version: sha256_hex(version.as_bytes()),
        };
        let audit = Audit::new(
            self.now(),
            "cleanroom",
            "system",
            "budget.charge",
            &job.to_string(),
            &format!("charged {epsilon}"),
        )
        .licence(licence_id, scenario)
        .hash(plan_hash);
        let (charged, earlier, refusal) = match self.store().charge_budget(&charge, &audit)? {
            Charged::Charged => (epsilon, None, None),
            Charged::Reused(earlier) => (0.0, Some(earlier), None),
            Charged::Exhausted {
                dataset,
                spent,
                limit,
            } => {
                let v = Violation::new(
                    RuleId::BudgetExhausted,
                    dataset.clone(),
                    format!(
                        "the licence has spent ε = {spent} of its {limit} on `{dataset}`; this job needs {epsilon} more"
                    ),
                )
                .with_suggestion("re-run an earlier query unchanged (its answer is free), or ask the bureau for a new licence period");
                (0.0, None, Some(v))
            }
        };
        Ok(BudgetState {
            charged,
            earlier,
            refusal,
            datasets: self.budget(licence_id)?,
        })
    }
}

/// A job id as its name (`job-<n>`), as every report and record shows it.
fn job_name<S: serde::Serializer>(
    id: &Option<JobId>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match id {
        Some(j) => s.collect_str(j),
        None => s.serialize_none(),
    }
}
