//! The job lifecycle over the real engine, the generated demo data and a real SQLite store:
//! queued → running → succeeded or blocked, results held as files with their digest, the
//! records in order; the queue bound; cancellation; suspension after repeated blocked jobs;
//! products through review, download, dataset suspension and withdrawal.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use cleanroom_platform::{
    Authz, Error, Jobs, ManualClock, Platform, Principal, QueueLimits, Role, Submitted,
    VIOLATIONS_TO_SUSPEND,
};
use cleanroom_policy::Policies;
use cleanroom_policy::decision::RuleId;
use cleanroom_store::{JobId, JobRow, JobStatus, SqliteStore, Store};
use cleanroom_tests::{engine_with, exact_policies_dir, policies_dir, root, rt};
use cleanroom_wasm::{Host, Limits};
use datafusion::arrow::ipc::reader::StreamReader;

const ELDER: &str = "LIC-ELDER-2026";
const SCENARIO: &str = "elderly-care-planning";
const ALLOWED: &str = "SELECT district, COUNT(*) AS n FROM residents GROUP BY district";
const BLOCKED: &str = "SELECT citizen_id FROM residents";

fn tmp() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

struct World {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    platform: Arc<Platform>,
    jobs: Arc<Jobs>,
}

fn world(limits: QueueLimits) -> World {
    world_with(limits, &policies_dir())
}

fn world_with(limits: QueueLimits, policies_dir: &Path) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    // In the licence's first quarter, so that it is not dormant.
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
    ));
    let policies = Arc::new(Policies::load(policies_dir).unwrap());
    let authz = Arc::new(Authz::load(&policies_dir.join("authz")).unwrap());
    let platform = Arc::new(Platform::new(policies, authz, store.clone(), clock));
    let engine = Arc::new(engine_with(tmp(), policies_dir));
    let host = Arc::new(Host::new(Limits::default()).unwrap());
    let jobs = Jobs::new(platform.clone(), engine, host, store.clone(), limits);
    World {
        _dir: dir,
        store,
        platform,
        jobs,
    }
}

fn acme() -> Principal {
    Principal {
        id: "acme-analytics".into(),
        role: Role::Operator,
    }
}

fn queued(s: Submitted) -> JobId {
    match s {
        Submitted::Queued(id) => id,
        other => panic!("{other:?}"),
    }
}

/// Waits (bounded) until the job has finished.
async fn finished(store: &SqliteStore, id: JobId) -> JobRow {
    for _ in 0..1_200 {
        let job = store.job(id).unwrap().unwrap();
        if job.status.is_finished() {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{id} did not finish within a minute");
}

/// Runs one allowed job to its end (the workers started).
async fn allowed(w: &World) -> JobRow {
    let id = queued(
        w.jobs
            .submit_sql(&acme(), ELDER, SCENARIO, ALLOWED)
            .unwrap(),
    );
    finished(&w.store, id).await
}

/// Starts the workers and runs one allowed job to its end.
fn run_allowed(w: &World) -> JobRow {
    rt().block_on(async {
        w.jobs.start();
        allowed(w).await
    })
}

#[test]
fn an_allowed_job_runs_to_a_stored_result_with_its_records_in_order() {
    let w = world(QueueLimits::default());
    let job = run_allowed(&w);
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(job.decision.as_deref(), Some("allowed"));
    let report: serde_json::Value = serde_json::from_str(job.report.as_deref().unwrap()).unwrap();
    assert_eq!(report["decision"], "allowed");
    // The result is held in the sandbox as Arrow IPC, with its digest.
    let bytes = w.store.result(job.id).unwrap().unwrap();
    let rows: usize = StreamReader::try_new(std::io::Cursor::new(&bytes), None)
        .unwrap()
        .map(|b| b.unwrap().num_rows())
        .sum();
    assert_eq!(rows, 8, "one row per district");
    let digest: String = {
        use sha2::Digest as _;
        sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(job.result_sha256.as_deref(), Some(digest.as_str()));
    // Intent before execution, the result's digest after.
    let records: Vec<_> = w
        .store
        .audit_after(0, 100)
        .unwrap()
        .into_iter()
        .map(|r| (r.audit.action, r.audit.outcome, r.audit.hash))
        .collect();
    let actions: Vec<&str> = records.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        actions,
        [
            "job.submit",
            "job.start",
            "job.intent",
            "budget.charge",
            "job.result",
            "job.finish"
        ]
    );
    assert_eq!(records[0].2, Some(job.source_hash.clone()));
    // The intent names the plan the guard decided, by hash, before any data is read.
    assert_eq!(records[2].1, "allowed");
    let plan_hash = records[2].2.clone().unwrap();
    assert_eq!(plan_hash.len(), 64);
    assert_ne!(
        plan_hash, job.source_hash,
        "the plan's hash, not the text's"
    );
    // ε is charged, under the plan's hash, before the result is stored.
    assert_eq!(records[3].1, "charged 0.8");
    assert_eq!(records[3].2.as_deref(), Some(plan_hash.as_str()));
    assert_eq!(records[4].2, Some(digest));
    assert_eq!(records[5].1, "succeeded");
    // The run's lineage: START, then COMPLETE with the column lineage, both conforming to the
    // OpenLineage RunEvent schema.
    let events: Vec<serde_json::Value> = w
        .store
        .lineage(job.id)
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["START", "COMPLETE"]);
    for e in &events {
        let problems = cleanroom_tests::openlineage::problems(e);
        assert!(problems.is_empty(), "{problems:?}\n{e}");
        assert_eq!(e["run"]["runId"], events[0]["run"]["runId"], "one run");
        assert_eq!(e["run"]["facets"]["cleanroom_licence"]["licence"], ELDER);
    }
    let complete = &events[1];
    assert_eq!(complete["inputs"][0]["name"], "residents");
    assert!(
        complete["job"]["facets"]["sql"]["query"]
            .as_str()
            .unwrap()
            .contains("GROUP BY")
    );
    assert_eq!(
        complete["run"]["facets"]["cleanroom_decision"]["decision"],
        "allowed"
    );
    let fields = complete["outputs"][0]["facets"]["columnLineage"]["fields"]
        .as_object()
        .unwrap();
    assert!(fields.contains_key("district"), "{fields:?}");
    // A malformed event is caught by the same check.
    let mut broken = complete.clone();
    broken["run"]["runId"] = serde_json::json!("job-1");
    broken["eventType"] = serde_json::json!("DONE");
    assert_eq!(cleanroom_tests::openlineage::problems(&broken).len(), 2);
}

/// Runs SQL jobs one after the other and returns each finished row.
fn run_each(w: &World, sqls: &[&str]) -> Vec<JobRow> {
    rt().block_on(async {
        w.jobs.start();
        let mut out = Vec::new();
        for sql in sqls {
            let id = queued(w.jobs.submit_sql(&acme(), ELDER, SCENARIO, sql).unwrap());
            out.push(finished(&w.store, id).await);
        }
        out
    })
}

#[test]
fn the_epsilon_ledger_charges_reuses_identical_answers_and_refuses_when_spent() {
    // A licence with ε = 2 per dataset: two distinct DP jobs of 0.8 fit, a third does not.
    let dir = tmp().join(format!("policies-budget-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    cleanroom_tests::copy_tree(&policies_dir(), &dir);
    let lic = dir.join("licences/LIC-ELDER-2026.toml");
    let text = std::fs::read_to_string(&lic).unwrap();
    std::fs::write(
        &lic,
        text.replace("epsilon_budget = 10.0", "epsilon_budget = 2.0"),
    )
    .unwrap();
    let w = world_with(QueueLimits::default(), &dir);
    let other = "SELECT gender, COUNT(*) AS n FROM residents GROUP BY gender";
    let third = "SELECT hukou_type, COUNT(*) AS n FROM residents GROUP BY hukou_type";
    let jobs = run_each(&w, &[ALLOWED, ALLOWED, other, third, ALLOWED]);
    let report = |j: &JobRow| -> serde_json::Value {
        serde_json::from_str(j.report.as_deref().unwrap()).unwrap()
    };
    let (first, again, second, refused, late) = (&jobs[0], &jobs[1], &jobs[2], &jobs[3], &jobs[4]);
    assert_eq!(first.status, JobStatus::Succeeded);
    assert_eq!(report(first)["budget"]["charged"], 0.8);
    // The identical re-run: the same noisy answer, nothing charged.
    assert_eq!(again.status, JobStatus::Succeeded);
    assert_eq!(report(again)["budget"]["charged"], 0.0);
    assert_eq!(report(again)["budget"]["reused"], first.id.to_string());
    assert_eq!(again.result_sha256, first.result_sha256);
    assert_eq!(
        w.store.result(again.id).unwrap(),
        w.store.result(first.id).unwrap()
    );
    assert_eq!(second.status, JobStatus::Succeeded);
    let ledger = &report(second)["budget"]["datasets"][0];
    assert_eq!(ledger["dataset"], "residents");
    let num = |v: &serde_json::Value| v.as_f64().unwrap();
    assert!((num(&ledger["spent"]) - 1.6).abs() < 1e-9, "{ledger}");
    assert!((num(&ledger["left"]) - 0.4).abs() < 1e-9, "{ledger}");
    // ε 1.6 of 2 spent: the third distinct job is refused, and nothing of it is stored.
    assert_eq!(refused.status, JobStatus::Blocked);
    let r = report(refused);
    assert_eq!(r["violations"][0]["rule"], "budget.exhausted");
    assert_eq!(r["budget"]["charged"], 0.0);
    assert!(w.store.result(refused.id).unwrap().is_none());
    // A spent budget still answers what was already answered, for free.
    assert_eq!(late.status, JobStatus::Succeeded);
    assert_eq!(late.result_sha256, first.result_sha256);
    let spent = w.platform.budget(ELDER).unwrap()[0].spent;
    assert!(
        (spent - 1.6).abs() < 1e-9,
        "residents: two charges of 0.8, not {spent}"
    );
    // Every charge, reuse and refusal is a record.
    let charges: Vec<String> = w
        .store
        .audit_after(0, 1000)
        .unwrap()
        .into_iter()
        .filter(|r| r.audit.action == "budget.charge")
        .map(|r| r.audit.outcome)
        .collect();
    assert_eq!(charges.len(), 5, "{charges:?}");
    assert_eq!(charges[0], "charged 0.8");
    assert!(charges[1].starts_with("reused the answer of"));
    assert_eq!(charges[3], "exhausted: residents");
    // The operator sees the ledger in the catalog.
    let catalog = w.platform.catalog(&acme()).unwrap();
    assert!((catalog.budgets[ELDER][0].left - 0.4).abs() < 1e-9);
}

#[test]
fn repeated_blocked_jobs_are_recorded_and_suspend_the_licence() {
    let w = world(QueueLimits::default());
    rt().block_on(async {
        w.jobs.start();
        for _ in 0..VIOLATIONS_TO_SUSPEND {
            let id = queued(
                w.jobs
                    .submit_sql(&acme(), ELDER, SCENARIO, BLOCKED)
                    .unwrap(),
            );
            let job = finished(&w.store, id).await;
            assert_eq!(job.status, JobStatus::Blocked);
            assert!(job.report.unwrap().contains("output.row_level"));
            let intent = w
                .store
                .audit_after(0, 1000)
                .unwrap()
                .into_iter()
                .rfind(|r| r.audit.action == "job.intent" && r.audit.object == id.to_string())
                .unwrap();
            assert!(intent.audit.outcome.starts_with("blocked: "), "{intent:?}");
            assert!(intent.audit.outcome.contains("output.row_level"));
            let last: serde_json::Value =
                serde_json::from_str(w.store.lineage(id).unwrap().last().unwrap()).unwrap();
            assert_eq!(last["eventType"], "FAIL");
            assert!(cleanroom_tests::openlineage::problems(&last).is_empty());
            assert_eq!(
                last["run"]["facets"]["cleanroom_decision"]["rules"][0],
                "output.row_level"
            );
            assert_eq!(w.store.result(id).unwrap(), None, "nothing is stored");
        }
    });
    match w
        .jobs
        .submit_sql(&acme(), ELDER, SCENARIO, ALLOWED)
        .unwrap()
    {
        Submitted::Refused(r) => assert_eq!(r.rules(), vec![RuleId::LicenceSuspended]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_queue_is_bounded_and_a_queued_job_can_be_cancelled_by_its_operator_only() {
    let w = world(QueueLimits {
        capacity: 2,
        workers: 1,
    });
    // The workers are not started yet: everything stays queued.
    let first = queued(
        w.jobs
            .submit_sql(&acme(), ELDER, SCENARIO, ALLOWED)
            .unwrap(),
    );
    let second = queued(
        w.jobs
            .submit_sql(&acme(), ELDER, SCENARIO, ALLOWED)
            .unwrap(),
    );
    assert!(matches!(
        w.jobs
            .submit_sql(&acme(), ELDER, SCENARIO, ALLOWED)
            .unwrap(),
        Submitted::QueueFull
    ));
    let last = w.store.audit_after(0, 100).unwrap().pop().unwrap();
    assert_eq!(last.audit.outcome, "refused: queue full");
    let other = Principal {
        id: "northstar-data".into(),
        role: Role::Operator,
    };
    assert!(matches!(w.jobs.cancel(&other, first), Err(Error::NoJob(_))));
    assert!(w.jobs.cancel(&acme(), first).unwrap());
    assert_eq!(
        w.store.job(first).unwrap().unwrap().status,
        JobStatus::Cancelled
    );
    assert!(!w.jobs.cancel(&acme(), first).unwrap(), "already finished");
    let cancels: Vec<_> = w
        .store
        .audit_after(0, 100)
        .unwrap()
        .into_iter()
        .filter(|r| r.audit.action == "job.cancel")
        .map(|r| (r.audit.actor, r.audit.object))
        .collect();
    assert_eq!(
        cancels,
        vec![("acme-analytics".to_string(), first.to_string())],
        "who cancelled, once"
    );
    let job = rt().block_on(async {
        w.jobs.start();
        finished(&w.store, second).await
    });
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(
        w.store.job(first).unwrap().unwrap().status,
        JobStatus::Cancelled,
        "a cancelled job is never started"
    );
    assert_eq!(w.jobs.in_flight(), 0);
}

fn principal(id: &str, role: Role) -> Principal {
    Principal {
        id: id.into(),
        role,
    }
}

#[test]
fn a_product_is_released_after_two_distinct_reviewers_and_stops_when_withdrawn() {
    let w = world(QueueLimits::default());
    let (job, blocked) = rt().block_on(async {
        w.jobs.start();
        let ok = queued(
            w.jobs
                .submit_sql(&acme(), ELDER, SCENARIO, ALLOWED)
                .unwrap(),
        );
        let bad = queued(
            w.jobs
                .submit_sql(&acme(), ELDER, SCENARIO, BLOCKED)
                .unwrap(),
        );
        (finished(&w.store, ok).await, finished(&w.store, bad).await)
    });
    let p = &w.platform;
    // Only a succeeded job of the caller's, with a name and a description.
    assert!(matches!(
        p.request_product(&acme(), blocked.id, "x", "y"),
        Err(Error::Store(cleanroom_store::Error::State(_)))
    ));
    let northstar = principal("northstar-data", Role::Operator);
    assert!(matches!(
        p.request_product(&northstar, job.id, "x", "y"),
        Err(Error::NoJob(_))
    ));
    assert!(matches!(
        p.request_product(&acme(), job.id, " ", "y"),
        Err(Error::Invalid(_))
    ));
    let id = p
        .request_product(
            &acme(),
            job.id,
            "Elderly per district",
            "Residents per district, 2026",
        )
        .unwrap();
    // social_insurance is graded important: two distinct reviewers, whatever the licence says.
    assert_eq!(w.store.product(id).unwrap().unwrap().quorum, 2);
    assert!(matches!(
        p.download(&acme(), id),
        Err(Error::Unavailable(_))
    ));
    let (rev1, rev2) = (
        principal("rev-1", Role::Reviewer),
        principal("rev-2", Role::Reviewer),
    );
    assert!(matches!(
        p.review(&acme(), id, true, "fine"),
        Err(Error::Forbidden(_))
    ));
    assert!(
        matches!(
            p.review(
                &principal("acme-analytics", Role::Reviewer),
                id,
                true,
                "mine"
            ),
            Err(Error::Forbidden(_))
        ),
        "nobody reviews what they submitted"
    );
    assert!(matches!(
        p.review(&rev1, id, true, ""),
        Err(Error::Invalid(_))
    ));
    let after_one = p
        .review(&rev1, id, true, "aggregates only, k holds")
        .unwrap();
    assert_eq!(after_one.status, cleanroom_store::ProductStatus::Pending);
    assert!(
        p.review(&rev1, id, true, "again").is_err(),
        "one review per reviewer"
    );
    let approved = p.review(&rev2, id, true, "checked the lineage").unwrap();
    assert_eq!(approved.status, cleanroom_store::ProductStatus::Approved);
    assert_eq!(approved.registration.as_deref(), Some("CR-2026-000001"));
    // Its operator downloads the checked result; nobody else sees it exists.
    assert_eq!(
        p.download(&acme(), id).unwrap(),
        w.store.result(job.id).unwrap().unwrap()
    );
    assert!(matches!(
        p.download(&northstar, id),
        Err(Error::NoProduct(_))
    ));
    passport_verifies_and_each_change_is_named(&w, id);
    // The year's disclosure, from the licences and the log alone.
    let annual = p.annual_report(2026).unwrap();
    let elder = annual.licences.iter().find(|l| l.id == ELDER).unwrap();
    assert_eq!(
        (
            elder.counts.jobs,
            elder.counts.succeeded,
            elder.counts.blocked,
            elder.counts.products
        ),
        (2, 1, 1, 1)
    );
    assert_eq!(elder.registrations, ["CR-2026-000001"]);
    assert_eq!(annual.products[0].operator, "acme-analytics");
    assert_eq!(annual.operators["acme-analytics"].jobs, 2);
    assert_eq!(annual.totals.products, 1);
    let md = annual.markdown();
    assert!(
        md.contains("| CR-2026-000001 | product-1 | LIC-ELDER-2026 |"),
        "{md}"
    );
    assert!(md.contains("| LIC-BIZ-2026 | northstar-data |"), "{md}");
    assert_eq!(
        p.annual_report(2025).unwrap().totals,
        cleanroom_platform::Counts::default()
    );
    // Suspending a dataset it derives from stops downloads at once; restoring it resumes them.
    let admin = principal("bureau-admin", Role::Admin);
    assert!(
        p.set_dataset_suspended(&rev1, "residents", true, "x")
            .is_err()
    );
    // Lineage finds what the product came from, and the product from a column it used.
    let uses = p.trace_column("residents", "district").unwrap();
    assert!(
        uses.iter()
            .any(|u| u.job == job.id.to_string()
                && u.registration.as_deref() == Some("CR-2026-000001")),
        "{uses:?}"
    );
    assert!(
        p.trace_column("residents", "citizen_id")
            .unwrap()
            .is_empty()
    );
    let origin = p.trace_product("CR-2026-000001").unwrap();
    assert_eq!(origin["datasets"], serde_json::json!(["residents"]));
    assert_eq!(origin["licence"], ELDER);
    // A suspended dataset recalls every product whose lineage reads it; resuming reinstates.
    p.set_dataset_suspended(&admin, "residents", true, "source under correction")
        .unwrap();
    assert_eq!(w.store.holds(id).unwrap(), ["dataset:residents"]);
    assert!(matches!(
        p.download(&acme(), id),
        Err(Error::Unavailable(m)) if m.contains("recalled")
    ));
    p.set_dataset_suspended(&admin, "residents", false, "corrected")
        .unwrap();
    assert!(w.store.holds(id).unwrap().is_empty());
    assert!(p.download(&acme(), id).is_ok());
    // So does a licence the bureau suspends; a dataset the product does not read does not.
    p.set_dataset_suspended(&admin, "enterprises", true, "audit")
        .unwrap();
    assert!(w.store.holds(id).unwrap().is_empty());
    p.set_dataset_suspended(&admin, "enterprises", false, "done")
        .unwrap();
    p.set_suspended(&admin, ELDER, true, "licence revoked")
        .unwrap();
    assert_eq!(w.store.holds(id).unwrap(), ["licence:LIC-ELDER-2026"]);
    p.set_suspended(&admin, ELDER, false, "reinstated").unwrap();
    assert!(p.download(&acme(), id).is_ok());
    p.withdraw_product(&admin, id, "recalled by the bureau")
        .unwrap();
    assert!(matches!(
        p.download(&acme(), id),
        Err(Error::Unavailable(_))
    ));
    let actions: Vec<String> = w
        .store
        .audit_after(0, 1000)
        .unwrap()
        .into_iter()
        .map(|r| r.audit.action)
        .filter(|a| a.starts_with("product.") || a.starts_with("dataset."))
        .collect();
    assert_eq!(
        actions,
        [
            "product.request",
            "product.review.approve",
            "product.review.approve",
            "product.approved",
            "product.passport",
            "product.download",
            "product.download",
            "dataset.suspend",
            "product.recall",
            "dataset.resume",
            "product.reinstate",
            "product.download",
            "dataset.suspend",
            "dataset.resume",
            "product.recall",
            "product.reinstate",
            "product.download",
            "product.withdraw",
        ]
    );
}

#[test]
fn one_rejection_rejects_a_product() {
    let w = world(QueueLimits::default());
    let job = run_allowed(&w);
    let p = &w.platform;
    let id = p.request_product(&acme(), job.id, "n", "d").unwrap();
    let rev = principal("rev-1", Role::Reviewer);
    let row = p
        .review(&rev, id, false, "the grouping is too fine for this use")
        .unwrap();
    assert_eq!(row.status, cleanroom_store::ProductStatus::Rejected);
    assert!(row.registration.is_none());
    assert!(
        p.review(&principal("rev-2", Role::Reviewer), id, true, "late")
            .is_err()
    );
    assert_eq!(w.store.reviews(id).unwrap().len(), 1);
    assert!(
        p.request_product(&acme(), job.id, "n", "d").is_err(),
        "one product per job"
    );
}

fn manifest(module: &str) -> String {
    std::fs::read_to_string(root().join("sandbox/modules").join(module).join("job.toml")).unwrap()
}

#[test]
fn a_wasm_job_runs_through_the_same_lifecycle_and_a_failing_one_keeps_its_class() {
    // Without DP, so that the product has exactly one row per district: which districts pass
    // DP's noisy threshold is tested in wasm.rs.
    let w = world_with(QueueLimits::default(), &exact_policies_dir(tmp()));
    let elderly = cleanroom_components::bytes("elderly-need").unwrap();
    // Malformed submissions are refused before anything becomes a job.
    for (m, c) in [
        (manifest("elderly-need"), b"not wasm".to_vec()),
        ("[job]\nlicence = 1".to_string(), elderly.clone()),
    ] {
        assert!(matches!(
            w.jobs.submit_wasm(&acme(), &m, c),
            Err(Error::Invalid(_))
        ));
    }
    let spin_manifest = manifest("elderly-need").replace(
        "fuel_per_call = 1_000_000_000",
        "fuel_per_call = 20_000_000",
    );
    assert!(spin_manifest.contains("20_000_000"));
    let (ok, spin) = rt().block_on(async {
        w.jobs.start();
        let ok = queued(
            w.jobs
                .submit_wasm(&acme(), &manifest("elderly-need"), elderly.clone())
                .unwrap(),
        );
        let spin = queued(
            w.jobs
                .submit_wasm(
                    &acme(),
                    &spin_manifest,
                    cleanroom_components::bytes("adv-spin").unwrap(),
                )
                .unwrap(),
        );
        (finished(&w.store, ok).await, finished(&w.store, spin).await)
    });
    assert_eq!(ok.status, JobStatus::Succeeded);
    assert_eq!(ok.kind, cleanroom_policy::JobKind::Wasm);
    let digest: String = {
        use sha2::Digest as _;
        sha2::Sha256::digest(&elderly)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(ok.source_hash, digest, "the component by its SHA-256");
    for (id, expected) in [(ok.id, "COMPLETE"), (spin.id, "FAIL")] {
        let events: Vec<serde_json::Value> = w
            .store
            .lineage(id)
            .unwrap()
            .iter()
            .map(|e| serde_json::from_str(e).unwrap())
            .collect();
        assert_eq!(events.len(), 2);
        assert_eq!(
            (
                events[0]["eventType"].as_str(),
                events[1]["eventType"].as_str()
            ),
            (Some("START"), Some(expected))
        );
        for e in &events {
            assert!(cleanroom_tests::openlineage::problems(e).is_empty(), "{e}");
            assert!(
                e["job"]["facets"]["sourceCode"]["sourceCode"]
                    .as_str()
                    .unwrap()
                    .contains("[job]")
            );
        }
    }
    let report: serde_json::Value = serde_json::from_str(ok.report.as_deref().unwrap()).unwrap();
    assert_eq!(report["component"], digest.as_str());
    assert!(report["fuel"].as_u64().unwrap() > 0);
    let bytes = w.store.result(ok.id).unwrap().unwrap();
    let rows: usize = StreamReader::try_new(std::io::Cursor::new(&bytes), None)
        .unwrap()
        .map(|b| b.unwrap().num_rows())
        .sum();
    assert_eq!(rows, 8, "the need index, one row per district");
    assert_eq!(spin.status, JobStatus::Failed);
    let failed: serde_json::Value = serde_json::from_str(spin.report.as_deref().unwrap()).unwrap();
    assert_eq!(failed["class"], "out_of_fuel");
    assert_eq!(w.store.result(spin.id).unwrap(), None);
}

/// The product's passport verifies offline with the downloaded content and the platform key;
/// a changed byte of the product, of the passport, another key, or a proof that does not lead to
/// the checkpoint each fail the check that concerns them, and only that one.
fn passport_verifies_and_each_change_is_named(w: &World, id: cleanroom_store::ProductId) {
    use cleanroom_platform::verify_passport;
    let p = &w.platform;
    let passport = p.passport(&acme(), id).unwrap();
    assert!(matches!(
        p.passport(&principal("northstar-data", Role::Operator), id),
        Err(Error::NoProduct(_))
    ));
    let content = p.download(&acme(), id).unwrap();
    let key = w.store.verifier().unwrap();
    let failed = |checks: Vec<cleanroom_platform::Check>| -> Vec<&'static str> {
        checks
            .into_iter()
            .filter(|c| c.outcome.is_err())
            .map(|c| c.what)
            .collect()
    };
    let json: serde_json::Value = serde_json::from_str(&passport).unwrap();
    assert_eq!(json["registration"], "CR-2026-000001");
    assert_eq!(json["k"], 10);
    assert_eq!(json["reviews"].as_array().unwrap().len(), 2);
    let sources: Vec<&str> = json["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["dataset"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["residents"]);
    assert!(
        json["sources"][0]["acquired"]
            .as_str()
            .unwrap()
            .starts_with("20")
    );
    let ok = verify_passport(&content, &passport, &key);
    assert_eq!(ok.len(), 6, "{ok:?}");
    assert!(failed(ok).is_empty());

    let mut changed = content.clone();
    let last = changed.len() - 9;
    changed[last] ^= 1;
    assert_eq!(
        failed(verify_passport(&changed, &passport, &key)),
        ["content"]
    );

    let forged = passport.replacen("Elderly per district", "Elderly per districts", 1);
    assert_eq!(
        failed(verify_passport(&content, &forged, &key)),
        ["signature"]
    );

    let other = cleanroom_tlog::Signer::generate(key.name())
        .unwrap()
        .0
        .verifier();
    assert_eq!(
        failed(verify_passport(&content, &passport, &other)),
        ["key", "signature", "checkpoint"]
    );

    // A proof for another record: re-signing is impossible, so the signature fails too; the
    // inclusion check names the proof.
    let mut bad = json.clone();
    bad["approval"]["proof"][0] = bad["approval"]["proof"][1].clone();
    let bad = serde_json::to_string(&bad).unwrap();
    assert_eq!(
        failed(verify_passport(&content, &bad, &key)),
        ["signature", "inclusion"]
    );
    assert_eq!(
        failed(verify_passport(&content, "{not json", &key)),
        ["passport"]
    );
}

/// The battery's attacks on a few people: enough to run every attack through the shadow.
const SMALL_BATTERY: cleanroom_attack::Profile = cleanroom_attack::Profile {
    targets: 8,
    averaging_targets: 1,
    rewrites: 3,
    lp_queries_per_target: 2,
    membership_trials: 0,
};

/// Waits (bounded) until a product's battery has finished.
async fn battery_done(w: &World, id: cleanroom_store::ProductId) -> cleanroom_store::ProductCheck {
    for _ in 0..6_000 {
        let check = w.store.product_check(id).unwrap().expect("a battery");
        if check.status != cleanroom_store::CheckStatus::Pending {
            return check;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the battery of {id} did not finish within ten minutes");
}

#[test]
fn each_product_gets_the_attack_battery_in_a_shadow_and_reviews_wait_for_it() {
    use cleanroom_store::CheckStatus;
    let w = world(QueueLimits::default());
    w.jobs.set_battery(Some(SMALL_BATTERY));
    let rt = rt();
    let (id, spent_before, records_before) = rt.block_on(async {
        w.jobs.start();
        let job = allowed(&w).await;
        let spent_before = w.platform.budget(ELDER).unwrap();
        let records_before = w.store.audit_after(0, 10_000).unwrap().len();
        let id = w.jobs.request_product(&acme(), job.id, "n", "d").unwrap();
        battery_done(&w, id).await;
        (id, spent_before, records_before)
    });
    let check = w.store.product_check(id).unwrap().unwrap();
    assert_eq!(check.status, CheckStatus::Done, "{:?}", check.report);
    let report: serde_json::Value = serde_json::from_str(check.report.as_deref().unwrap()).unwrap();
    let outcomes = report["outcomes"].as_array().unwrap();
    let attacks: Vec<&str> = outcomes
        .iter()
        .map(|o| o["attack"].as_str().unwrap())
        .collect();
    assert_eq!(attacks.len(), 10, "{attacks:?}");
    assert!(attacks.iter().any(|a| a.starts_with("differencing")));
    assert!(attacks.iter().any(|a| a.starts_with("reconstruction")));
    assert!(report["queries"].as_u64().unwrap() > 20, "{report}");
    // The ledger and the threshold refused some of the attacks' queries.
    assert!(outcomes.iter().any(|o| o["refused"].as_u64().unwrap() > 0));
    // The attacks ran in shadows: the operator's own ledger and jobs are as they were, the
    // record has the request and the battery's two records only, and no shadow is left behind.
    assert_eq!(w.platform.budget(ELDER).unwrap(), spent_before);
    assert_eq!(w.store.jobs(None, 100).unwrap().len(), 1);
    let records = w.store.audit_after(0, 10_000).unwrap();
    let battery: Vec<&str> = records[records_before..]
        .iter()
        .filter(|r| r.audit.action == "product.battery")
        .map(|r| r.audit.outcome.as_str())
        .collect();
    assert_eq!(battery, ["pending", "done"]);
    assert_eq!(records.len(), records_before + 3);
    let state = tmp().join(format!("state-{}", std::process::id()));
    let left: Vec<_> = std::fs::read_dir(state)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("battery-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // Reviewers read it; the passport carries its digest and figures.
    let view = w
        .platform
        .product(&principal("rev-1", Role::Reviewer), id)
        .unwrap();
    assert_eq!(
        view.battery.as_ref().unwrap().report.as_ref().unwrap()["outcomes"],
        report["outcomes"]
    );
    for r in ["rev-1", "rev-2"] {
        w.platform
            .review(&principal(r, Role::Reviewer), id, true, "read the battery")
            .unwrap();
    }
    let passport: serde_json::Value =
        serde_json::from_str(&w.platform.passport(&acme(), id).unwrap()).unwrap();
    assert_eq!(passport["battery"]["status"], "done");
    assert_eq!(
        passport["battery"]["report_sha256"],
        cleanroom_engine::sha256_hex(check.report.as_deref().unwrap().as_bytes())
    );
    assert_eq!(
        passport["battery"]["outcomes"].as_array().unwrap().len(),
        10
    );
}

#[test]
fn a_review_waits_for_a_pending_battery_and_a_licence_without_residents_gets_none() {
    use cleanroom_store::{Audit, CheckStatus, ProductCheck, ProductStatus};
    let w = world(QueueLimits::default());
    let rev1 = principal("rev-1", Role::Reviewer);
    let north = principal("northstar-data", Role::Operator);
    let rt = rt();
    rt.block_on(async {
        w.jobs.start();
        let job = allowed(&w).await;
        let id = w
            .platform
            .request_product(&acme(), job.id, "n", "d")
            .unwrap_or_else(|e| panic!("{e}: the job ended {:?}: {:?}", job.status, job.report));
        // A battery still running: reviews are refused until it has finished.
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
        let pending = ProductCheck {
            status: CheckStatus::Pending,
            report: None,
            at,
        };
        let audit = Audit::new(at, "cleanroom", "system", "product.battery", "p", "pending");
        w.store.set_product_check(id, &pending, &audit).unwrap();
        assert!(matches!(
            w.platform.review(&rev1, id, true, "fine"),
            Err(Error::Unavailable(_))
        ));
        let view = w.platform.product(&rev1, id).unwrap();
        assert_eq!(view.product.status, ProductStatus::Pending);
        assert!(view.reviews.is_empty());
        // A restart on a server that runs no battery closes it; the review goes through.
        w.jobs.resume_batteries().unwrap();
        let check = w.store.product_check(id).unwrap().unwrap();
        assert_eq!(check.status, CheckStatus::NotApplicable);
        w.platform.review(&rev1, id, true, "fine").unwrap();

        // The business licence covers no residents: the battery does not apply, and says why.
        w.jobs.set_battery(Some(SMALL_BATTERY));
        let job = queued(
            w.jobs
                .submit_sql(
                    &north,
                    "LIC-BIZ-2026",
                    "enterprise-employment",
                    "SELECT district, COUNT(*) AS n FROM enterprises GROUP BY district",
                )
                .unwrap(),
        );
        let job = finished(&w.store, job).await;
        assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.report);
        let id = w.jobs.request_product(&north, job.id, "n", "d").unwrap();
        let check = battery_done(&w, id).await;
        assert_eq!(check.status, CheckStatus::NotApplicable);
        assert!(check.report.unwrap().contains("`residents`"));
    });
}
