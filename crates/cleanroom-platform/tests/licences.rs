//! The licence gate and the automatic suspensions, with the demo's policies, a real SQLite
//! store in a temporary directory and a clock the test moves.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use cleanroom_platform::{
    Authz, Clock as _, DORMANT_AFTER_DAYS, ManualClock, Platform, Principal, Role,
    VIOLATIONS_TO_SUSPEND,
};
use cleanroom_policy::decision::RuleId;
use cleanroom_policy::{JobKind, Policies};
use cleanroom_store::{Audit, JobId, JobStatus, JobUpdate, NewJob, SqliteStore, Store};

const ELDER: &str = "LIC-ELDER-2026";
const SCENARIO: &str = "elderly-care-planning";

struct World {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    clock: Arc<ManualClock>,
    platform: Platform,
}

fn world(at: DateTime<Utc>) -> World {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let policies = Policies::load(&root).unwrap();
    let authz = Arc::new(Authz::load(&root.join("authz")).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let clock = Arc::new(ManualClock::new(at));
    let platform = Platform::new(Arc::new(policies), authz, store.clone(), clock.clone());
    World {
        _dir: dir,
        store,
        clock,
        platform,
    }
}

fn acme() -> Principal {
    Principal {
        id: "acme-analytics".into(),
        role: Role::Operator,
    }
}

fn admin() -> Principal {
    Principal {
        id: "bureau-admin".into(),
        role: Role::Admin,
    }
}

fn march() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
}

fn refused(w: &World, who: &Principal, licence: &str, scenario: &str) -> Vec<RuleId> {
    match w
        .platform
        .admit(who, licence, scenario, JobKind::Sql)
        .unwrap()
    {
        Ok(()) => Vec::new(),
        Err(r) => r.rules(),
    }
}

/// Submits a job the way the platform will: admitted, then recorded.
fn submit(w: &World) -> JobId {
    assert_eq!(refused(w, &acme(), ELDER, SCENARIO), vec![]);
    let now = w.clock.now();
    w.store
        .create_job(
            &NewJob {
                licence: ELDER.into(),
                scenario: SCENARIO.into(),
                operator: "acme-analytics".into(),
                kind: JobKind::Sql,
                source_hash: "00".repeat(32),
                source: None,
                at: now,
            },
            &Audit::new(
                now,
                "acme-analytics",
                "operator",
                "job.submit",
                "job",
                "queued",
            )
            .licence(ELDER, SCENARIO),
        )
        .unwrap()
}

fn finish(w: &World, id: JobId, status: JobStatus) {
    let now = w.clock.now();
    for s in [JobStatus::Running, status] {
        w.store
            .transition_job(
                id,
                s,
                &JobUpdate::default(),
                &Audit::new(
                    now,
                    "cleanroom",
                    "system",
                    "job.status",
                    &id.to_string(),
                    s.as_str(),
                ),
            )
            .unwrap();
    }
}

fn actions(w: &World) -> Vec<(String, String)> {
    w.store
        .audit_after(0, 10_000)
        .unwrap()
        .into_iter()
        .filter(|r| r.audit.action != "job.status")
        .map(|r| (r.audit.action, r.audit.outcome))
        .collect()
}

#[test]
fn a_job_outside_the_licence_is_refused_with_its_rule_and_recorded() {
    let w = world(march());
    assert_eq!(refused(&w, &acme(), ELDER, SCENARIO), vec![]);
    let other_operator = Principal {
        id: "northstar-data".into(),
        role: Role::Operator,
    };
    assert_eq!(
        refused(&w, &other_operator, ELDER, SCENARIO),
        vec![RuleId::LicenceScope]
    );
    let reviewer = Principal {
        id: "acme-analytics".into(),
        role: Role::Reviewer,
    };
    assert_eq!(
        refused(&w, &reviewer, ELDER, SCENARIO),
        vec![RuleId::LicenceScope]
    );
    assert_eq!(
        refused(&w, &acme(), ELDER, "enterprise-employment"),
        vec![RuleId::LicenceScenario]
    );
    assert_eq!(
        refused(&w, &acme(), "LIC-OLD-2024", SCENARIO),
        vec![RuleId::LicenceExpired]
    );
    assert!(
        w.platform
            .admit(&acme(), "LIC-NOPE", SCENARIO, JobKind::Sql)
            .is_err()
    );
    let recorded = actions(&w);
    assert_eq!(recorded.len(), 4, "one record per refusal: {recorded:?}");
    assert!(
        recorded
            .iter()
            .all(|(a, o)| a == "job.submit" && o.starts_with("refused: licence."))
    );
    assert_eq!(recorded[2].1, "refused: licence.scenario");
}

#[test]
fn the_daily_limit_counts_a_sliding_day() {
    let w = world(march());
    for _ in 0..200 {
        submit(&w);
    }
    assert_eq!(
        refused(&w, &acme(), ELDER, SCENARIO),
        vec![RuleId::LicenceRate]
    );
    w.clock.advance(Duration::hours(23));
    assert_eq!(
        refused(&w, &acme(), ELDER, SCENARIO),
        vec![RuleId::LicenceRate]
    );
    w.clock.advance(Duration::hours(1));
    assert_eq!(refused(&w, &acme(), ELDER, SCENARIO), vec![]);
}

#[test]
fn five_blocked_jobs_in_a_day_suspend_the_licence_until_an_admin_resumes_it() {
    let w = world(march());
    for i in 1..=VIOLATIONS_TO_SUSPEND {
        let id = submit(&w);
        finish(&w, id, JobStatus::Blocked);
        let suspended = w.platform.after_blocked(ELDER).unwrap();
        assert_eq!(
            suspended,
            i == VIOLATIONS_TO_SUSPEND,
            "after {i} blocked jobs"
        );
        w.clock.advance(Duration::hours(4));
    }
    assert_eq!(
        refused(&w, &acme(), ELDER, SCENARIO),
        vec![RuleId::LicenceSuspended]
    );
    let state = w.store.licence_state(ELDER).unwrap().unwrap();
    assert!(state.reason.unwrap().contains("5 blocked jobs"));
    // Only an admin lifts it, and says why.
    assert!(
        w.platform
            .set_suspended(&acme(), ELDER, false, "please")
            .is_err()
    );
    w.platform
        .set_suspended(&admin(), ELDER, false, "reviewed with the operator")
        .unwrap();
    assert_eq!(refused(&w, &acme(), ELDER, SCENARIO), vec![]);
    let recorded = actions(&w);
    let suspensions: Vec<_> = recorded
        .iter()
        .filter(|(a, _)| a.starts_with("licence."))
        .collect();
    assert_eq!(suspensions.len(), 2, "{recorded:?}");
    assert_eq!(suspensions[1].1, "reviewed with the operator");
}

#[test]
fn blocked_jobs_spread_over_more_than_a_day_do_not_suspend() {
    let w = world(march());
    for _ in 0..VIOLATIONS_TO_SUSPEND + 2 {
        let id = submit(&w);
        finish(&w, id, JobStatus::Blocked);
        assert!(!w.platform.after_blocked(ELDER).unwrap());
        w.clock.advance(Duration::hours(7));
    }
    let id = submit(&w);
    finish(&w, id, JobStatus::Succeeded);
    assert_eq!(refused(&w, &acme(), ELDER, SCENARIO), vec![]);
}

#[test]
fn a_licence_with_no_job_for_ninety_days_is_suspended_as_dormant() {
    let w = world(march());
    submit(&w);
    w.clock.advance(Duration::days(DORMANT_AFTER_DAYS - 1));
    assert_eq!(refused(&w, &acme(), ELDER, SCENARIO), vec![]);
    w.clock.advance(Duration::days(1));
    assert_eq!(
        refused(&w, &acme(), ELDER, SCENARIO),
        vec![RuleId::LicenceSuspended]
    );
    let state = w.store.licence_state(ELDER).unwrap().unwrap();
    assert!(state.suspended && state.reason.unwrap().starts_with("dormant"));
    // Resumed by an admin, the dormancy clock restarts from the resumption.
    w.platform
        .set_suspended(&admin(), ELDER, false, "operator confirmed continued use")
        .unwrap();
    assert_eq!(refused(&w, &acme(), ELDER, SCENARIO), vec![]);
    let recorded = actions(&w);
    assert!(
        recorded
            .iter()
            .any(|(a, o)| a == "licence.suspend" && o.starts_with("dormant"))
    );
    assert_eq!(
        recorded.last().map(|(a, _)| a.as_str()),
        Some("licence.resume")
    );
}

#[test]
fn a_licence_never_used_since_it_began_becomes_dormant_too() {
    // The platform first runs on 2026-01-05 and nobody submits for 90 days.
    let w = world(Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap());
    w.platform.first_start().unwrap();
    w.clock.advance(Duration::days(DORMANT_AFTER_DAYS));
    assert_eq!(
        refused(&w, &acme(), ELDER, SCENARIO),
        vec![RuleId::LicenceSuspended],
        "90 days without a job since the platform began"
    );
}

#[test]
fn days_before_the_platform_first_ran_do_not_count_towards_dormancy() {
    // Valid since 2026-01-01, but the platform is installed on 2026-11-27.
    let w = world(Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap());
    assert_eq!(refused(&w, &acme(), ELDER, SCENARIO), vec![]);
    w.clock.advance(Duration::days(DORMANT_AFTER_DAYS - 1));
    assert_eq!(refused(&w, &acme(), ELDER, SCENARIO), vec![]);
}
