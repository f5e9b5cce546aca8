//! The attack battery on every product awaiting review (seed art. 54; DESIGN.md §4, DP): when
//! an operator asks to release a job, the battery of `cleanroom-attack` (differencing, trackers,
//! averaging, LP reconstruction, margins) runs against the policy in force, as an attacker
//! holding the product's licence would: each attack through its own shadow platform (a fresh
//! store and ε ledger under the platform's state directory, the same engine, policies and
//! authorization), so the operator's own ledger and counters are untouched. Its report is kept
//! with the product, shown to reviewers, and summarised in the passport; reviews wait until it
//! has finished. One battery runs at a time; a restart runs the pending ones again.

use std::sync::Arc;
use std::time::Instant;

use cleanroom_attack::{Answer, Oracle, Outcome, Profile, Truth};
use cleanroom_store::{Audit, CheckStatus, JobStatus, ProductCheck, ProductId, SqliteStore, Store};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::jobs::{Jobs, QueueLimits, Submitted, sha256_hex};
use crate::{Error, Platform, Principal, Result, Role};

/// How much of the battery a server runs on each product.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BatteryProfile {
    /// No battery: reviews do not wait (a product shows none).
    Off,
    /// The profile CI runs: the same attacks on fewer people.
    #[default]
    Fast,
    Full,
}

impl BatteryProfile {
    pub fn profile(self) -> Option<Profile> {
        match self {
            BatteryProfile::Off => None,
            BatteryProfile::Fast => Some(Profile::FAST),
            BatteryProfile::Full => Some(Profile::FULL),
        }
    }
}

/// The dataset the attacks single people out of.
pub const BATTERY_DATASET: &str = "residents";

/// A product's battery as a reviewer reads it.
#[derive(Clone, Debug, Serialize)]
pub struct BatteryView {
    pub status: CheckStatus,
    pub at: String,
    /// The report, once finished: the outcomes of each attack against its baseline.
    pub report: Option<Value>,
}

impl BatteryView {
    pub(crate) fn of(check: ProductCheck) -> BatteryView {
        BatteryView {
            status: check.status,
            at: check.at.to_rfc3339(),
            report: check.report.and_then(|r| serde_json::from_str(&r).ok()),
        }
    }
}

impl Platform {
    /// Sets a product's battery state with its record (the system's).
    fn set_check(&self, id: ProductId, status: CheckStatus, report: Option<&Value>) -> Result<()> {
        let (_, job) = self.product_and_job(id)?;
        let text = report.map(Value::to_string);
        let mut audit = Audit::new(
            self.now(),
            "cleanroom",
            "system",
            "product.battery",
            &id.to_string(),
            status.as_str(),
        )
        .licence(&job.licence, &job.scenario);
        if let Some(t) = &text {
            audit = audit.hash(&sha256_hex(t.as_bytes()));
        }
        self.store.set_product_check(
            id,
            &ProductCheck {
                status,
                report: text,
                at: self.now(),
            },
            &audit,
        )?;
        Ok(())
    }

    /// Refuses a review while the product's battery has not finished.
    pub(crate) fn battery_finished(&self, id: ProductId) -> Result<()> {
        match self.store.product_check(id)? {
            Some(c) if c.status == CheckStatus::Pending => Err(Error::Unavailable(format!(
                "the attack battery of {id} has not finished; review it when its report is in"
            ))),
            _ => Ok(()),
        }
    }
}

impl Jobs {
    /// An operator asks to release a job as a product; its battery is scheduled when this
    /// server runs one.
    pub fn request_product(
        self: &Arc<Self>,
        who: &Principal,
        job: cleanroom_store::JobId,
        name: &str,
        description: &str,
    ) -> Result<ProductId> {
        let id = self
            .platform()
            .request_product(who, job, name, description)?;
        if self.battery().is_some() {
            self.platform().set_check(id, CheckStatus::Pending, None)?;
            self.spawn_battery(id);
        }
        Ok(id)
    }

    /// Runs the batteries a stopped process left pending (or closes them when this server runs
    /// none). Call inside a Tokio runtime.
    pub fn resume_batteries(self: &Arc<Self>) -> Result<()> {
        for id in self.store().pending_checks()? {
            if self.battery().is_some() {
                self.spawn_battery(id);
            } else {
                let report = json!({ "error": "the battery is off on this server" });
                self.platform()
                    .set_check(id, CheckStatus::NotApplicable, Some(&report))?;
            }
        }
        Ok(())
    }

    fn spawn_battery(self: &Arc<Self>, id: ProductId) {
        let jobs = Arc::clone(self);
        let gate = self.battery_gate();
        tokio::spawn(async move {
            let Ok(_permit) = gate.acquire_owned().await else {
                return;
            };
            let runner = Arc::clone(&jobs);
            let outcome = tokio::task::spawn_blocking(move || runner.run_battery(id))
                .await
                .unwrap_or_else(|_| {
                    (
                        CheckStatus::Failed,
                        json!({ "error": "the battery stopped unexpectedly" }),
                    )
                });
            // A failure to record leaves the check pending: a restart runs it again.
            let _ = jobs.platform().set_check(id, outcome.0, Some(&outcome.1));
        });
    }

    /// Runs the battery for one product: its status and report.
    fn run_battery(&self, id: ProductId) -> (CheckStatus, Value) {
        let Some(profile) = self.battery() else {
            return (
                CheckStatus::NotApplicable,
                json!({ "error": "the battery is off on this server" }),
            );
        };
        match self.battery_report(id, profile) {
            Ok(r) => r,
            Err(e) => (
                CheckStatus::Failed,
                json!({ "error": cleanroom_engine::mask_values(&e.to_string()) }),
            ),
        }
    }

    fn battery_report(&self, id: ProductId, profile: Profile) -> Result<(CheckStatus, Value)> {
        let platform = self.platform();
        let (_, job) = platform.product_and_job(id)?;
        let licence = platform.licence(&job.licence)?;
        if !licence.datasets.iter().any(|d| d == BATTERY_DATASET) {
            return Ok((
                CheckStatus::NotApplicable,
                json!({
                    "error": format!(
                        "the attacks single people out of `{BATTERY_DATASET}`, which licence {} does not cover",
                        job.licence
                    ),
                }),
            ));
        }
        let started = Instant::now();
        let started_at = platform.now();
        let truth = Truth::open(&self.engine().config().data_dir)
            .map_err(|e| Error::Internal(e.to_string()))?;
        let who = Principal {
            id: job.operator.clone(),
            role: Role::Operator,
        };
        let outcomes: Vec<Outcome> = {
            let mut make = || -> anyhow::Result<Box<dyn Oracle>> {
                Ok(Box::new(Shadow::new(
                    self,
                    who.clone(),
                    &job.licence,
                    &job.scenario,
                )?))
            };
            cleanroom_attack::battery(&mut make, &truth, profile)
                .map_err(|e| Error::Internal(e.to_string()))?
        };
        let queries: usize = outcomes.iter().map(|o| o.queries).sum();
        Ok((
            CheckStatus::Done,
            json!({
                "licence": job.licence,
                "scenario": job.scenario,
                "profile": profile,
                "started_at": started_at.to_rfc3339(),
                "seconds": started.elapsed().as_secs_f64(),
                "queries": queries,
                "outcomes": outcomes,
                "method": "each attack ran through its own copy of the licence's gate and a fresh ε ledger, against the policy in force; success is the share of targeted people whose attribute the attack got right, baseline the share a guess of the commonest value gets",
            }),
        ))
    }
}

/// An attacker holding the licence, against a platform of its own: a fresh store and ε
/// ledger in a temporary directory of the state directory, the same engine and policies.
struct Shadow {
    jobs: Arc<Jobs>,
    store: Arc<SqliteStore>,
    who: Principal,
    licence: String,
    scenario: String,
    // Removed when the attack is over.
    _dir: tempfile::TempDir,
}

impl Shadow {
    fn new(jobs: &Jobs, who: Principal, licence: &str, scenario: &str) -> anyhow::Result<Shadow> {
        let state = &jobs.engine().config().state_dir;
        std::fs::create_dir_all(state)?;
        let dir = tempfile::Builder::new()
            .prefix("battery-")
            .tempdir_in(state)?;
        let store = Arc::new(SqliteStore::open(dir.path())?);
        let real = jobs.platform();
        let platform = Arc::new(Platform::new(
            real.policies.clone(),
            real.authz.clone(),
            store.clone(),
            real.clock.clone(),
        ));
        let shadow = Jobs::new(
            platform,
            jobs.engine().clone(),
            jobs.host().clone(),
            store.clone(),
            QueueLimits {
                capacity: 4,
                workers: 1,
            },
        );
        Ok(Shadow {
            jobs: shadow,
            store,
            who,
            licence: licence.to_owned(),
            scenario: scenario.to_owned(),
            _dir: dir,
        })
    }
}

impl Oracle for Shadow {
    fn ask(&mut self, sql: &str) -> anyhow::Result<Answer> {
        let id = match self
            .jobs
            .submit_sql(&self.who, &self.licence, &self.scenario, sql)
        {
            Ok(Submitted::Queued(id)) => id,
            Ok(Submitted::Refused(r)) => {
                let rules: Vec<&str> = r.violations.iter().map(|v| v.rule.as_str()).collect();
                return Ok(Answer::Refused(rules.join(",")));
            }
            Ok(Submitted::QueueFull) => anyhow::bail!("the shadow queue is full"),
            Err(Error::Invalid(_)) => return Ok(Answer::Refused("invalid".into())),
            Err(e) => return Err(e.into()),
        };
        // Run here and now, under the engine's own deadline per job.
        tokio::runtime::Handle::current().block_on(self.jobs.drain());
        let job = self
            .store
            .job(id)?
            .ok_or_else(|| anyhow::anyhow!("{id} vanished"))?;
        if !job.status.is_finished() {
            anyhow::bail!("{id} did not run");
        }
        if job.status != JobStatus::Succeeded {
            let report: Value = job
                .report
                .as_deref()
                .and_then(|r| serde_json::from_str(r).ok())
                .unwrap_or(Value::Null);
            let rules: Vec<&str> = report["violations"]
                .as_array()
                .map(|v| v.iter().filter_map(|x| x["rule"].as_str()).collect())
                .unwrap_or_default();
            return Ok(Answer::Refused(rules.join(",")));
        }
        let bytes = self.store.result(id)?.unwrap_or_default();
        Ok(Answer::Rows(cleanroom_attack::ipc_rows_text(&bytes)?))
    }
}
