//! The workflows the bureau runs, without HTTP: the licence gate every job passes (art. 43-48),
//! the automatic suspensions (art. 31 and 75) and their lifting by an admin. Every decision
//! that changes state, and every refusal, leaves an audit record in the store. Time comes from
//! an injectable [`Clock`]: the server's, never the caller's. [`Jobs`] runs the job lifecycle.

mod annual;
mod authz;
mod battery;
mod budget;
mod jobs;
mod lineage;
mod passport;
mod products;
mod reads;
mod records;
mod tokens;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use cleanroom_policy::decision::{RuleId, Violation};
use cleanroom_policy::{JobKind, Licence, Policies};
use cleanroom_store::{Audit, JobStatus, Store};

/// A licence with no job for this long is suspended as dormant (art. 31).
pub const DORMANT_AFTER_DAYS: i64 = 90;
/// This many blocked jobs within [`VIOLATION_WINDOW_HOURS`] suspend a licence for review
/// (art. 75).
pub const VIOLATIONS_TO_SUSPEND: u64 = 5;
pub const VIOLATION_WINDOW_HOURS: i64 = 24;
/// The daily job limit counts submissions in this sliding window.
pub const RATE_WINDOW_HOURS: i64 = 24;

pub use annual::{AnnualReport, Counts, LicenceLine, ProductLine};
pub use authz::{Authz, Denied, Resource};
pub use battery::{BATTERY_DATASET, BatteryProfile, BatteryView};
pub use budget::{BudgetLine, BudgetState};
pub use jobs::{Jobs, MAX_COMPONENT_BYTES, MAX_MANIFEST_BYTES, QueueLimits, Submitted};
pub use lineage::ColumnUse;
pub use passport::{CONTENT_TYPE, Check, PASSPORT_FORMAT, verify_passport};
pub use products::{MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_REASON_CHARS};
pub use reads::{CatalogView, LicenceView, MAX_LIST, ProductView};
pub use tokens::{TOKEN_PREFIX, token_id};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] cleanroom_store::Error),
    #[error("unknown licence `{0}`")]
    UnknownLicence(String),
    /// The authorization policies did not permit it; the text names the action and the
    /// `forbid` rules that decided, never data.
    #[error("not permitted: {0}")]
    Forbidden(String),
    /// Absent, or not the caller's: the two read the same.
    #[error("{0} does not exist")]
    NoJob(cleanroom_store::JobId),
    #[error("{0} does not exist")]
    NoProduct(cleanroom_store::ProductId),
    /// Bad input: an empty or oversized text, an unknown name.
    #[error("{0}")]
    Invalid(String),
    /// The object exists but cannot be served now (not approved, withdrawn, suspended data).
    #[error("not available: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, Error>;

fn forbidden(action: &str, denied: &Denied) -> Error {
    if denied.forbidden_by.is_empty() {
        Error::Forbidden(format!("`{action}` is not granted to the caller"))
    } else {
        Error::Forbidden(format!(
            "`{action}` is forbidden by {}",
            denied.forbidden_by.join(", ")
        ))
    }
}

/// Where the time comes from.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The machine's clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told: for tests and replays.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(Mutex::new(at))
    }

    pub fn advance(&self, by: Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
            .lock()
            .map(|t| *t)
            .unwrap_or_else(|e| *e.into_inner())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Operator,
    Reviewer,
    Admin,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Operator, Role::Reviewer, Role::Admin, Role::Auditor];

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }
}

/// Who is asking: a principal (an operator company, a member of the bureau's staff) and a role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub id: String,
    pub role: Role,
}

/// A job refused at the licence gate: the violations, each with its rule id.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub violations: Vec<Violation>,
}

impl Refusal {
    pub fn rules(&self) -> Vec<RuleId> {
        self.violations.iter().map(|v| v.rule).collect()
    }
}

pub struct Platform {
    policies: Arc<Policies>,
    authz: Arc<Authz>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl Platform {
    pub fn new(
        policies: Arc<Policies>,
        authz: Arc<Authz>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Platform {
        Platform {
            policies,
            authz,
            store,
            clock,
        }
    }

    /// The store, for the bureau's own tools (exports, traces) that read it whole.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    /// Records that the platform runs from now on, if it is the first time (see
    /// [`Store::first_start`]); returns when it first ran.
    pub fn first_start(&self) -> Result<DateTime<Utc>> {
        Ok(self.store.first_start(self.now())?)
    }

    /// Asks the authorization policies, with the server's clock.
    pub fn decide(
        &self,
        who: &Principal,
        action: &str,
        resource: &Resource<'_>,
    ) -> Result<std::result::Result<(), Denied>> {
        self.authz.decide(who, action, resource, self.now())
    }

    /// [`Platform::decide`], a denial as [`Error::Forbidden`].
    pub(crate) fn authorize(
        &self,
        who: &Principal,
        action: &str,
        resource: &Resource<'_>,
    ) -> Result<()> {
        self.decide(who, action, resource)?
            .map_err(|d| forbidden(action, &d))
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn licence(&self, id: &str) -> Result<&Licence> {
        self.policies
            .licence(id)
            .ok_or_else(|| Error::UnknownLicence(id.to_owned()))
    }

    /// The licence gate every job passes before it is queued: the caller is an operator and
    /// the licence's holder; the scenario, job kind, datasets and validity window fit; the
    /// licence is not suspended (by policy, by an admin, or now as dormant); the daily job
    /// limit is not reached. A refusal is recorded; an admission is recorded by the job's own
    /// creation.
    pub fn admit(
        &self,
        who: &Principal,
        licence_id: &str,
        scenario: &str,
        kind: JobKind,
    ) -> Result<std::result::Result<(), Refusal>> {
        let now = self.now();
        let licence = self.licence(licence_id)?;
        let mut violations = Vec::new();
        let denied = self
            .authz
            .decide(who, "job.submit", &Resource::Licence(licence), now)?
            .err();
        // A denial no `forbid` decided means the caller does not hold the licence; the
        // window's `forbid` is reported by the licence rules below with its rule id.
        if denied.as_ref().is_some_and(|d| d.forbidden_by.is_empty()) {
            violations.push(
                Violation::new(
                    RuleId::LicenceScope,
                    licence_id,
                    format!("licence `{licence_id}` is not held by the caller"),
                )
                .with_suggestion("submit under a licence your organisation holds"),
            );
        }
        violations.extend(
            self.policies
                .check_licence(licence, scenario, kind, now.date_naive()),
        );
        if let Some(d) = &denied {
            for id in &d.forbidden_by {
                let rule = RuleId::parse(id).unwrap_or(RuleId::LicenceScope);
                if !violations.iter().any(|v| v.rule == rule) {
                    violations.push(Violation::new(
                        rule,
                        licence_id,
                        format!("submitting under `{licence_id}` is forbidden by `{id}`"),
                    ));
                }
            }
        }
        // Dormancy concerns a licence otherwise in force: an expired or suspended one is not
        // suspended again.
        if !violations
            .iter()
            .any(|v| matches!(v.rule, RuleId::LicenceSuspended | RuleId::LicenceExpired))
            && self.suspended_now(licence, now)?
        {
            violations.push(
                Violation::new(
                    RuleId::LicenceSuspended,
                    licence_id,
                    format!("licence `{licence_id}` is suspended and may not run jobs"),
                )
                .with_suggestion("ask the data bureau to review and resume the licence"),
            );
        }
        // A job exactly 24 hours old has left the window.
        let since = now - Duration::hours(RATE_WINDOW_HOURS) + Duration::microseconds(1);
        let recent = self.store.jobs_since(licence_id, since)?;
        if recent >= u64::from(licence.daily_job_limit) {
            violations.push(
                Violation::new(
                    RuleId::LicenceRate,
                    licence_id,
                    format!(
                        "licence `{licence_id}` allows {} jobs per 24 hours and has used them",
                        licence.daily_job_limit
                    ),
                )
                .with_suggestion("wait until earlier jobs leave the 24-hour window"),
            );
        }
        if violations.is_empty() {
            return Ok(Ok(()));
        }
        let rules: Vec<&str> = violations.iter().map(|v| v.rule.as_str()).collect();
        self.refuse_submission(who, licence_id, scenario, &rules.join(", "), None)?;
        Ok(Err(Refusal { violations }))
    }

    /// Records a submission refused for `why`.
    pub(crate) fn refuse_submission(
        &self,
        who: &Principal,
        licence: &str,
        scenario: &str,
        why: &str,
        hash: Option<&str>,
    ) -> Result<()> {
        let mut audit = Audit::new(
            self.now(),
            &who.id,
            who.role.as_str(),
            "job.submit",
            licence,
            &format!("refused: {why}"),
        )
        .licence(licence, scenario);
        audit.hash = hash.map(str::to_owned);
        self.store.append_audit(&audit)?;
        Ok(())
    }

    /// Whether the licence is suspended in the store, suspending it first if it has become
    /// dormant: no job for [`DORMANT_AFTER_DAYS`] since its last one (or since it became valid,
    /// or since the platform first ran, whichever is later: days it did not run do not count).
    fn suspended_now(&self, licence: &Licence, now: DateTime<Utc>) -> Result<bool> {
        let state = self.store.licence_state(&licence.id)?;
        if state.as_ref().is_some_and(|s| s.suspended) {
            return Ok(true);
        }
        let start = licence
            .valid_from
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or(now)
            .max(self.store.first_start(now)?);
        // The latest of: its last job, its start, its last resumption.
        let last = self
            .store
            .last_job_at(&licence.id)?
            .unwrap_or(start)
            .max(start)
            .max(state.map_or(start, |s| s.changed_at));
        if now - last >= Duration::days(DORMANT_AFTER_DAYS) {
            let reason = format!("dormant: no job for {DORMANT_AFTER_DAYS} days");
            self.suspend_by_rule(&licence.id, &reason, now)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// After a job under `licence_id` ended blocked: suspends the licence for review when it
    /// has [`VIOLATIONS_TO_SUSPEND`] blocked jobs within [`VIOLATION_WINDOW_HOURS`]. Returns
    /// whether it did.
    pub fn after_blocked(&self, licence_id: &str) -> Result<bool> {
        let now = self.now();
        let licence = self.licence(licence_id)?;
        if self
            .store
            .licence_state(licence_id)?
            .is_some_and(|s| s.suspended)
        {
            return Ok(false);
        }
        let since = now - Duration::hours(VIOLATION_WINDOW_HOURS);
        let blocked =
            self.store
                .jobs_with_status_since(licence_id, &[JobStatus::Blocked], since)?;
        if blocked < VIOLATIONS_TO_SUSPEND {
            return Ok(false);
        }
        let reason = format!(
            "{blocked} blocked jobs within {VIOLATION_WINDOW_HOURS} hours: suspended for review"
        );
        self.suspend_by_rule(&licence.id, &reason, now)?;
        Ok(true)
    }

    /// A suspension the platform itself decides, recorded as the system's.
    fn suspend_by_rule(&self, licence_id: &str, reason: &str, now: DateTime<Utc>) -> Result<()> {
        let audit = Audit::new(
            now,
            "cleanroom",
            "system",
            "licence.suspend",
            licence_id,
            reason,
        );
        self.store
            .set_licence_suspended(licence_id, true, Some(reason), &audit)?;
        Ok(())
    }

    /// An admin suspends (`suspend = true`) or resumes a licence, with a reason. Resuming a
    /// dormant licence restarts its dormancy clock from now.
    pub fn set_suspended(
        &self,
        admin: &Principal,
        licence_id: &str,
        suspend: bool,
        reason: &str,
    ) -> Result<()> {
        let licence = self.licence(licence_id)?;
        self.authorize(admin, "licence.manage", &Resource::Licence(licence))?;
        products::text("reason", reason, MAX_REASON_CHARS)?;
        let reason = reason.trim();
        let action = if suspend {
            "licence.suspend"
        } else {
            "licence.resume"
        };
        self.store.set_licence_suspended(
            licence_id,
            suspend,
            Some(reason),
            &Audit::new(
                self.now(),
                &admin.id,
                admin.role.as_str(),
                action,
                licence_id,
                reason,
            ),
        )?;
        // A revoked licence recalls every product made under it, found through lineage.
        self.recall(admin, None, Some(licence_id), suspend, reason)?;
        Ok(())
    }
}
