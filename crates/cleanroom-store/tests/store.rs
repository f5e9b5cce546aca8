//! The SQLite store on a real database file in a temporary directory.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use chrono::{DateTime, Duration, TimeZone, Utc};
use cleanroom_store::{
    Audit, BudgetCharge, Charged, Error, JobId, JobKind, JobStatus, JobUpdate, NewJob, SqliteStore,
    Store, TokenRow,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

fn new_job(licence: &str, at: DateTime<Utc>) -> NewJob {
    NewJob {
        licence: licence.into(),
        scenario: "elderly-care-planning".into(),
        operator: "op-a".into(),
        kind: JobKind::Sql,
        source_hash: "ab".repeat(32),
        source: Some("SELECT 1".into()),
        at,
    }
}

fn audit(at: DateTime<Utc>, action: &str, object: &str, outcome: &str) -> Audit {
    Audit::new(at, "op-a", "operator", action, object, outcome)
        .licence("LIC-ELDER-2026", "elderly-care-planning")
}

fn submit(store: &SqliteStore, at: DateTime<Utc>) -> JobId {
    store
        .create_job(
            &new_job("LIC-ELDER-2026", at),
            &audit(at, "job.submit", "job", "queued"),
        )
        .unwrap()
}

fn to(store: &SqliteStore, id: JobId, status: JobStatus, at: DateTime<Utc>) -> Result<(), Error> {
    store.transition_job(
        id,
        status,
        &JobUpdate::default(),
        &audit(at, "job.status", &id.to_string(), status.as_str()),
    )
}

fn records(store: &SqliteStore) -> Vec<(i64, String, String)> {
    store
        .audit_after(0, 1000)
        .unwrap()
        .into_iter()
        .map(|r| (r.seq, r.audit.action, r.audit.outcome))
        .collect()
}

#[test]
fn opening_sets_wal_full_sync_and_foreign_keys_and_migrates_once() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.pragma("journal_mode").unwrap(), "wal");
        assert_eq!(store.pragma("synchronous").unwrap(), "2", "FULL");
        assert_eq!(store.pragma("foreign_keys").unwrap(), "1");
        assert_eq!(store.pragma("user_version").unwrap(), "7");
        assert!(store.pragma("cache_size").is_err(), "only known pragmas");
    }
    // A database from a newer binary is refused, not rewritten.
    let conn = rusqlite::Connection::open(dir.path().join("cleanroom.db")).unwrap();
    conn.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(conn);
    match SqliteStore::open(dir.path()) {
        Err(Error::Version {
            found: 99,
            known: 7,
        }) => {}
        other => panic!("{:?}", other.map(|_| ())),
    }
}

#[test]
fn a_state_change_and_its_record_commit_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let id = submit(&store, t0());
    assert_eq!(id.to_string(), "job-1");
    let job = store.job(id).unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Queued);
    assert_eq!(job.submitted_at, t0());
    assert_eq!(job.source.as_deref(), Some("SELECT 1"));
    to(&store, id, JobStatus::Running, t0() + Duration::seconds(1)).unwrap();
    // A transition the lifecycle refuses changes nothing and records nothing.
    match to(&store, id, JobStatus::Queued, t0()) {
        Err(Error::Transition { from, to, .. }) => {
            assert_eq!((from, to), (JobStatus::Running, JobStatus::Queued));
        }
        other => panic!("{other:?}"),
    }
    store
        .transition_job(
            id,
            JobStatus::Succeeded,
            &JobUpdate {
                decision: Some("allowed".into()),
                report: Some("{}".into()),
            },
            &audit(
                t0() + Duration::seconds(2),
                "job.status",
                "job-1",
                "succeeded",
            ),
        )
        .unwrap();
    for again in [JobStatus::Running, JobStatus::Cancelled] {
        assert!(matches!(
            to(&store, id, again, t0()),
            Err(Error::Transition { .. })
        ));
    }
    assert!(matches!(
        to(&store, JobId(42), JobStatus::Running, t0()),
        Err(Error::NoJob(JobId(42)))
    ));
    let job = store.job(id).unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(job.decision.as_deref(), Some("allowed"));
    assert_eq!(job.updated_at, t0() + Duration::seconds(2));
    assert_eq!(
        records(&store),
        vec![
            (1, "job.submit".into(), "queued".into()),
            (2, "job.status".into(), "running".into()),
            (3, "job.status".into(), "succeeded".into()),
        ],
        "one record per change, numbered without gaps"
    );
    let first = &store.audit_after(0, 1).unwrap()[0];
    assert_eq!(first.audit.licence.as_deref(), Some("LIC-ELDER-2026"));
    assert_eq!(store.audit_after(2, 10).unwrap().len(), 1);
}

#[test]
fn audit_records_are_append_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    store
        .append_audit(&audit(t0(), "job.submit", "job", "refused"))
        .unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("cleanroom.db")).unwrap();
    for sql in [
        "UPDATE audit SET outcome = 'allowed' WHERE seq = 1",
        "DELETE FROM audit WHERE seq = 1",
    ] {
        let err = conn.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(records(&store)[0].2, "refused");
}

#[test]
fn a_result_file_is_durable_before_its_row_and_orphans_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let id = submit(&store, t0());
    let a = audit(t0(), "job.result", &id.to_string(), "stored");
    // Only a running job gets a result.
    assert!(matches!(
        store.attach_result(id, b"x", "00", &a),
        Err(Error::Transition { .. })
    ));
    to(&store, id, JobStatus::Running, t0()).unwrap();
    store.attach_result(id, b"arrow bytes", "cd", &a).unwrap();
    assert_eq!(store.result(id).unwrap().unwrap(), b"arrow bytes");
    let job = store.job(id).unwrap().unwrap();
    assert_eq!(job.result_file.as_deref(), Some("job-1.arrow"));
    assert_eq!(job.result_sha256.as_deref(), Some("cd"));
    to(&store, id, JobStatus::Succeeded, t0()).unwrap();
    // What a crash between the file and the row would leave: files no row points to.
    let results = dir.path().join("results");
    std::fs::write(results.join("job-7.arrow"), b"orphan").unwrap();
    std::fs::write(results.join("job-8.arrow.tmp"), b"half").unwrap();
    let other = submit(&store, t0());
    assert_eq!(store.result(other).unwrap(), None);
    let recovery = store.recover(t0()).unwrap();
    assert_eq!(recovery.orphans_removed, 2);
    let mut left: Vec<String> = std::fs::read_dir(&results)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, vec!["job-1.arrow"]);
}

#[test]
fn recovery_interrupts_open_jobs_each_with_a_record() {
    let dir = tempfile::tempdir().unwrap();
    let (queued, running, done) = {
        let store = SqliteStore::open(dir.path()).unwrap();
        let queued = submit(&store, t0());
        let running = submit(&store, t0());
        to(&store, running, JobStatus::Running, t0()).unwrap();
        // Killed after its result was written and before it was marked succeeded.
        store
            .attach_result(
                running,
                b"result",
                &"cd".repeat(32),
                &audit(t0(), "job.result", "job-2", "stored"),
            )
            .unwrap();
        let done = submit(&store, t0());
        to(&store, done, JobStatus::Running, t0()).unwrap();
        to(&store, done, JobStatus::Blocked, t0()).unwrap();
        (queued, running, done)
        // Dropped without any shutdown step, as a killed process would be.
    };
    let store = SqliteStore::open(dir.path()).unwrap();
    let later = t0() + Duration::minutes(5);
    let recovery = store.recover(later).unwrap();
    assert_eq!(recovery.interrupted, vec![queued, running]);
    assert_eq!(
        recovery.orphans_removed, 1,
        "the unfinished job's result file goes"
    );
    assert_eq!(store.job(running).unwrap().unwrap().result_file, None);
    assert_eq!(store.result(running).unwrap(), None);
    for id in [queued, running] {
        let job = store.job(id).unwrap().unwrap();
        assert_eq!(job.status, JobStatus::Interrupted);
        assert_eq!(job.updated_at, later);
    }
    assert_eq!(store.job(done).unwrap().unwrap().status, JobStatus::Blocked);
    let interrupts: Vec<_> = store
        .audit_after(0, 100)
        .unwrap()
        .into_iter()
        .filter(|r| r.audit.action == "job.interrupt")
        .map(|r| (r.audit.object, r.audit.role, r.audit.licence))
        .collect();
    assert_eq!(
        interrupts,
        vec![
            (
                "job-1".into(),
                "system".into(),
                Some("LIC-ELDER-2026".into())
            ),
            (
                "job-2".into(),
                "system".into(),
                Some("LIC-ELDER-2026".into())
            ),
        ]
    );
    assert_eq!(store.recover(later).unwrap().interrupted, vec![]);
}

#[test]
fn licence_counters_tokens_and_suspension() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(store.last_job_at("LIC-ELDER-2026").unwrap(), None);
    assert_eq!(store.first_start(t0()).unwrap(), t0());
    assert_eq!(
        store.first_start(t0() + Duration::days(3)).unwrap(),
        t0(),
        "the first start is kept"
    );
    for h in 0..3 {
        let id = submit(&store, t0() + Duration::hours(h));
        to(&store, id, JobStatus::Running, t0() + Duration::hours(h)).unwrap();
        to(&store, id, JobStatus::Blocked, t0() + Duration::hours(h)).unwrap();
    }
    store
        .create_job(
            &new_job("LIC-OTHER", t0()),
            &audit(t0(), "job.submit", "job", "queued"),
        )
        .unwrap();
    assert_eq!(store.jobs_since("LIC-ELDER-2026", t0()).unwrap(), 3);
    let newest: Vec<i64> = store
        .jobs(None, 2)
        .unwrap()
        .iter()
        .map(|j| j.id.0)
        .collect();
    assert_eq!(newest, [4, 3], "newest first, at most the limit");
    assert_eq!(store.jobs(Some("op-a"), 10).unwrap().len(), 4);
    assert!(store.jobs(Some("op-b"), 10).unwrap().is_empty());
    assert_eq!(
        store
            .jobs_since("LIC-ELDER-2026", t0() + Duration::minutes(30))
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .jobs_with_status_since("LIC-ELDER-2026", &[JobStatus::Blocked], t0())
            .unwrap(),
        3
    );
    assert_eq!(
        store.last_job_at("LIC-ELDER-2026").unwrap(),
        Some(t0() + Duration::hours(2))
    );

    let token = TokenRow {
        hash: "ef".repeat(32),
        role: "reviewer".into(),
        principal: "rev-1".into(),
        created_at: t0(),
        revoked_at: None,
    };
    store
        .add_token(&token, &audit(t0(), "token.issue", "rev-1", "issued"))
        .unwrap();
    assert_eq!(store.token(&token.hash).unwrap(), Some(token.clone()));
    assert_eq!(store.token("00").unwrap(), None);
    assert!(
        store
            .add_token(&token, &audit(t0(), "token.issue", "rev-1", "issued"))
            .is_err(),
        "a hash is stored once"
    );
    let revoke = audit(t0(), "token.revoke", "rev-1", "revoked");
    assert!(store.revoke_token(&token.hash, t0(), &revoke).unwrap());
    assert_eq!(
        store.token(&token.hash).unwrap().unwrap().revoked_at,
        Some(t0())
    );
    assert!(
        !store.revoke_token(&token.hash, t0(), &revoke).unwrap(),
        "a token is revoked once"
    );
    assert!(!store.revoke_token("00", t0(), &revoke).unwrap());

    assert_eq!(store.licence_state("LIC-ELDER-2026").unwrap(), None);
    store
        .set_licence_suspended(
            "LIC-ELDER-2026",
            true,
            Some("5 blocked jobs in 24 hours"),
            &audit(t0(), "licence.suspend", "LIC-ELDER-2026", "suspended"),
        )
        .unwrap();
    let s = store.licence_state("LIC-ELDER-2026").unwrap().unwrap();
    assert!(s.suspended);
    assert_eq!(s.reason.as_deref(), Some("5 blocked jobs in 24 hours"));
    store
        .set_licence_suspended(
            "LIC-ELDER-2026",
            false,
            None,
            &audit(t0(), "licence.resume", "LIC-ELDER-2026", "resumed"),
        )
        .unwrap();
    assert!(
        !store
            .licence_state("LIC-ELDER-2026")
            .unwrap()
            .unwrap()
            .suspended
    );
    // Every change above left its record, and the failed token insert left none.
    let actions: Vec<String> = records(&store).into_iter().map(|r| r.1).collect();
    assert_eq!(actions.iter().filter(|a| *a == "token.issue").count(), 1);
    assert_eq!(
        actions.iter().filter(|a| *a == "token.revoke").count(),
        1,
        "only the revocation that changed something is recorded"
    );
    assert_eq!(actions.last().map(String::as_str), Some("licence.resume"));
    assert_eq!(actions.len(), 3 * 3 + 1 + 1 + 1 + 2);
}

#[test]
fn a_product_is_decided_in_the_transaction_of_the_review_that_decides_it() {
    use cleanroom_store::{NewProduct, ProductStatus, Review};
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let id = submit(&store, t0());
    let request = |job| NewProduct {
        job,
        name: "n".into(),
        description: "d".into(),
        quorum: 2,
        requested_by: "op-a".into(),
        at: t0(),
    };
    let a = audit(t0(), "product.request", "job-1", "pending");
    assert!(matches!(
        store.create_product(&request(id), &a),
        Err(Error::State(_))
    ));
    to(&store, id, JobStatus::Running, t0()).unwrap();
    to(&store, id, JobStatus::Succeeded, t0()).unwrap();
    assert_eq!(store.product_of_job(id).unwrap(), None);
    let p = store.create_product(&request(id), &a).unwrap();
    assert_eq!(p.to_string(), "product-1");
    assert_eq!(store.product_of_job(id).unwrap().map(|r| r.id), Some(p));
    assert!(matches!(
        store.create_product(&request(id), &a),
        Err(Error::State(_))
    ));
    let review = |who: &str, approve| Review {
        reviewer: who.into(),
        approve,
        reason: "r".into(),
        at: t0() + Duration::hours(1),
    };
    let r = audit(t0(), "product.review", "product-1", "r");
    assert_eq!(
        store
            .add_review(p, &review("rev-1", true), &r)
            .unwrap()
            .status,
        ProductStatus::Pending
    );
    assert!(matches!(
        store.add_review(p, &review("rev-1", true), &r),
        Err(Error::State(_))
    ));
    assert!(matches!(
        store.withdraw_product(p, &r),
        Err(Error::State(_))
    ));
    let done = store.add_review(p, &review("rev-2", true), &r).unwrap();
    assert_eq!(done.status, ProductStatus::Approved);
    assert_eq!(done.registration.as_deref(), Some("CR-2026-000001"));
    assert_eq!(done.decided_at, Some(t0() + Duration::hours(1)));
    assert!(matches!(
        store.add_review(p, &review("rev-3", false), &r),
        Err(Error::State(_))
    ));
    assert_eq!(store.reviews(p).unwrap().len(), 2);
    assert_eq!(
        store.products(Some(ProductStatus::Approved)).unwrap().len(),
        1
    );
    assert_eq!(
        store.products(Some(ProductStatus::Pending)).unwrap().len(),
        0
    );
    store.withdraw_product(p, &r).unwrap();
    assert_eq!(
        store.product(p).unwrap().unwrap().status,
        ProductStatus::Withdrawn
    );
    assert!(!store.dataset_suspended("residents").unwrap());
    store
        .set_dataset_suspended("residents", true, Some("x"), &r)
        .unwrap();
    assert!(store.dataset_suspended("residents").unwrap());
    let outcomes: Vec<String> = store
        .audit_after(0, 100)
        .unwrap()
        .into_iter()
        .filter(|x| x.audit.action == "product.approved")
        .map(|x| x.audit.outcome)
        .collect();
    assert_eq!(
        outcomes,
        vec!["CR-2026-000001"],
        "the decision has its own record"
    );
}

#[test]
fn budget_charges_are_atomic_reused_for_the_same_answer_and_refused_past_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let charge = |job: JobId, plan: &str, version: &str| BudgetCharge {
        licence: "LIC-ELDER-2026".into(),
        job,
        datasets: vec!["residents".into(), "social_insurance".into()],
        epsilon: 1.0,
        limit: 2.5,
        plan_hash: plan.into(),
        data_version: version.into(),
    };
    let a = audit(t0(), "budget.charge", "job", "charged");
    let (j1, j2, j3, j4) = (
        submit(&store, t0()),
        submit(&store, t0()),
        submit(&store, t0()),
        submit(&store, t0()),
    );
    assert_eq!(
        store.charge_budget(&charge(j1, "p1", "v1"), &a).unwrap(),
        Charged::Charged
    );
    // The same plan over the same data: the earlier answer, nothing charged.
    assert_eq!(
        store.charge_budget(&charge(j2, "p1", "v1"), &a).unwrap(),
        Charged::Reused(j1)
    );
    // New data: a new answer, charged.
    assert_eq!(
        store.charge_budget(&charge(j3, "p1", "v2"), &a).unwrap(),
        Charged::Charged
    );
    let spent = store.budget_spent("LIC-ELDER-2026").unwrap();
    assert_eq!(
        spent,
        vec![("residents".into(), 2.0), ("social_insurance".into(), 2.0)]
    );
    // 2 + 1 > 2.5: refused, and nothing charged on either dataset.
    assert_eq!(
        store.charge_budget(&charge(j4, "p2", "v2"), &a).unwrap(),
        Charged::Exhausted {
            dataset: "residents".into(),
            spent: 2.0,
            limit: 2.5
        }
    );
    assert_eq!(store.budget_spent("LIC-ELDER-2026").unwrap(), spent);
    assert!(store.budget_spent("LIC-BIZ-2026").unwrap().is_empty());
    // Every charge, reuse and refusal is a record.
    let outcomes: Vec<String> = records(&store)
        .into_iter()
        .filter(|(_, action, _)| action == "budget.charge")
        .map(|(_, _, o)| o)
        .collect();
    assert_eq!(
        outcomes,
        vec![
            "charged".to_string(),
            format!("reused the answer of {j1}"),
            "charged".into(),
            "exhausted: residents".into()
        ]
    );
    // The ledger cannot be rewritten.
    let conn = rusqlite::Connection::open(dir.path().join("cleanroom.db")).unwrap();
    assert!(conn.execute("DELETE FROM budget_charges", []).is_err());
    assert!(
        conn.execute("UPDATE budget_charges SET epsilon = 0", [])
            .is_err()
    );
}

#[test]
fn a_products_battery_state_is_kept_with_its_record_and_pending_ones_are_listed() {
    use cleanroom_store::{CheckStatus, NewProduct, ProductCheck, ProductId};
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let job = submit(&store, t0());
    to(&store, job, JobStatus::Running, t0()).unwrap();
    to(&store, job, JobStatus::Succeeded, t0()).unwrap();
    let p = store
        .create_product(
            &NewProduct {
                job,
                name: "n".into(),
                description: "d".into(),
                quorum: 1,
                requested_by: "op-a".into(),
                at: t0(),
            },
            &audit(t0(), "product.request", "job-1", "pending"),
        )
        .unwrap();
    assert_eq!(store.product_check(p).unwrap(), None);
    let check = |status, report: Option<&str>| ProductCheck {
        status,
        report: report.map(str::to_owned),
        at: t0(),
    };
    let before = records(&store).len();
    store
        .set_product_check(
            p,
            &check(CheckStatus::Pending, None),
            &audit(t0(), "product.battery", "product-1", "pending"),
        )
        .unwrap();
    assert_eq!(store.pending_checks().unwrap(), vec![p]);
    store
        .set_product_check(
            p,
            &check(CheckStatus::Done, Some("{\"outcomes\":[]}")),
            &audit(t0(), "product.battery", "product-1", "done"),
        )
        .unwrap();
    assert_eq!(store.pending_checks().unwrap(), vec![]);
    let kept = store.product_check(p).unwrap().unwrap();
    assert_eq!(kept.status, CheckStatus::Done);
    assert_eq!(kept.report.as_deref(), Some("{\"outcomes\":[]}"));
    let after = records(&store);
    assert_eq!(after.len(), before + 2);
    assert_eq!(after.last().unwrap().2, "done");
    // No product, no state and no record.
    assert!(
        store
            .set_product_check(
                ProductId(99),
                &check(CheckStatus::Pending, None),
                &audit(t0(), "product.battery", "product-99", "pending"),
            )
            .is_err()
    );
    assert_eq!(records(&store).len(), before + 2);
}
