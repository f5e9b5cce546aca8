//! The audit records as a transparency log, on a real database file: checkpoints, proofs, the
//! key, retention, and verification of a clean state.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use cleanroom_store::verify::verify_state;
use cleanroom_store::{Audit, LogOptions, SqliteStore, Store};
use cleanroom_tlog::{hash_from_b64, verify_consistency, verify_inclusion};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

fn record(store: &SqliteStore, at: DateTime<Utc>, i: usize) -> i64 {
    store
        .append_audit(&Audit::new(
            at,
            "op-a",
            "operator",
            "job.result.read",
            &format!("job-{i}"),
            "allowed",
        ))
        .unwrap()
}

fn options(every: u64) -> LogOptions {
    LogOptions {
        origin: "cleanroom.test/audit".into(),
        every,
    }
}

#[test]
fn checkpoints_come_every_n_records_and_proofs_verify_against_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with(dir.path(), &options(10)).unwrap();
    for i in 0..25 {
        assert_eq!(record(&store, t0(), i), i as i64 + 1);
    }
    let latest = store.latest_checkpoint().unwrap().unwrap();
    assert_eq!(latest.size, 20, "signed at 10 and 20, not yet at 25");
    assert!(store.checkpoint_of(10).unwrap().is_some());
    let verifier = store.verifier().unwrap();
    let opened = verifier.open_checkpoint(&latest.note).unwrap();
    assert_eq!(opened.origin, "cleanroom.test/audit");
    assert_eq!(opened.size, 20);

    for seq in [1, 7, 20] {
        let p = store.inclusion_proof(seq, 20).unwrap();
        let proof: Vec<_> = p.proof.iter().map(|h| hash_from_b64(h).unwrap()).collect();
        verify_inclusion(
            p.index,
            20,
            &hash_from_b64(&p.leaf_hash).unwrap(),
            &proof,
            &opened.root,
        )
        .unwrap();
    }
    assert!(
        store.inclusion_proof(21, 20).is_err(),
        "not in the tree of 20"
    );

    let c = store.consistency_proof(10, 20).unwrap();
    let first = verifier
        .open_checkpoint(&store.checkpoint_of(10).unwrap().unwrap().note)
        .unwrap();
    let proof: Vec<_> = c.proof.iter().map(|h| hash_from_b64(h).unwrap()).collect();
    verify_consistency(10, 20, &first.root, &opened.root, &proof).unwrap();

    // A forced checkpoint covers the rest; the next start reloads the same tree.
    assert_eq!(store.checkpoint().unwrap().unwrap().size, 25);
    let root = store.latest_checkpoint().unwrap().unwrap().root;
    drop(store);
    let store = SqliteStore::open_with(dir.path(), &options(10)).unwrap();
    assert_eq!(store.log_size().unwrap(), 25);
    assert_eq!(
        store.checkpoint().unwrap().unwrap().root,
        root,
        "nothing new, nothing signed"
    );
    assert_eq!(record(&store, t0(), 25), 26);

    let v = verify_state(dir.path(), &verifier, None).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    assert_eq!((v.records, v.checkpoints, v.uncovered), (26, 3, 1));
}

#[test]
fn the_key_is_private_its_public_half_is_beside_it_and_the_origin_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with(dir.path(), &options(5)).unwrap();
    let public = std::fs::read_to_string(dir.path().join("platform.pub")).unwrap();
    assert_eq!(public.trim(), store.verifier().unwrap().encode());
    assert!(public.starts_with("cleanroom.test/audit+"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("platform.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    drop(store);
    // A later start under another configured origin keeps signing as the log began.
    let store = SqliteStore::open_with(
        dir.path(),
        &LogOptions {
            origin: "other.example/audit".into(),
            every: 5,
        },
    )
    .unwrap();
    let again = SqliteStore::open(tempfile::tempdir().unwrap().path()).unwrap();
    assert_ne!(store.verifier().unwrap(), again.verifier().unwrap());
    assert_eq!(store.verifier().unwrap().name(), "cleanroom.test/audit");
}

#[test]
fn records_younger_than_three_years_are_not_purged_older_ones_leave_their_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with(dir.path(), &options(4)).unwrap();
    let old = t0() - Duration::days(4 * 365);
    for i in 0..6 {
        record(&store, old, i);
    }
    for i in 6..9 {
        record(&store, t0(), i);
    }
    let verifier = store.verifier().unwrap();
    let purge = Audit::new(t0(), "root", "admin", "audit.purge", "audit", "purged");
    let err = store
        .purge_audit(t0() - Duration::days(365), &purge)
        .unwrap_err();
    assert!(err.to_string().contains("at least 3 years"), "{err}");
    assert_eq!(
        store.log_size().unwrap(),
        9,
        "a refused purge changes nothing"
    );

    let purged = store
        .purge_audit(t0() - Duration::days(3 * 366), &purge)
        .unwrap();
    assert_eq!(purged, 6);
    let left = store.audit_after(0, 100).unwrap();
    assert_eq!(left.first().unwrap().seq, 7, "the contents of 1-6 are gone");
    let last = left.last().unwrap();
    assert_eq!((last.seq, last.audit.object.as_str()), (10, "audit:1-6"));
    store.checkpoint().unwrap();
    // The tree still holds the purged leaves: old proofs and checkpoints still verify.
    let p = store.inclusion_proof(2, 10).unwrap();
    assert_eq!(p.proof.len(), 4);
    let v = verify_state(dir.path(), &verifier, None).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    assert_eq!((v.records, v.purged), (10, 6));
    drop(store);
    assert_eq!(
        SqliteStore::open_with(dir.path(), &options(4))
            .unwrap()
            .log_size()
            .unwrap(),
        10
    );
}

#[test]
fn a_batch_of_records_commits_together_and_joins_the_tree_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with(dir.path(), &options(100)).unwrap();
    record(&store, t0(), 0);
    let batch: Vec<Audit> = (1..6)
        .map(|i| {
            Audit::new(
                t0(),
                "op-a",
                "operator",
                "job.read",
                &format!("job-{i}"),
                "allowed",
            )
        })
        .collect();
    assert_eq!(store.append_audits(&batch).unwrap(), vec![2, 3, 4, 5, 6]);
    assert_eq!(store.log_size().unwrap(), 6);
    let cp = store.checkpoint().unwrap().unwrap();
    assert_eq!(cp.size, 6);
    let v = verify_state(dir.path(), &store.verifier().unwrap(), None).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
}

#[test]
fn concurrent_appends_share_commits_and_each_gets_its_own_number() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(SqliteStore::open_with(dir.path(), &options(64)).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = std::sync::Arc::clone(&store);
            std::thread::spawn(move || {
                (0..100)
                    .map(|i| record(&store, t0(), t * 1000 + i))
                    .collect::<Vec<i64>>()
            })
        })
        .collect();
    let mut seqs: Vec<i64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=800).collect::<Vec<i64>>(),
        "every record once, no gaps"
    );
    // Each caller's number is its own record's.
    let records = store.audit_after(0, 1000).unwrap();
    assert_eq!(records.len(), 800);
    let objects: std::collections::BTreeSet<&str> =
        records.iter().map(|r| r.audit.object.as_str()).collect();
    assert_eq!(objects.len(), 800);
    store.checkpoint().unwrap();
    let v = verify_state(dir.path(), &store.verifier().unwrap(), None).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
}
