//! `cleanroom audit verify` and `cleanroom audit witness`, the real binary, on real state
//! directories: a clean log verifies; each kind of tampering is detected and named: a changed
//! byte (with and without a recomputed leaf hash), a deleted record, two records reordered, a
//! truncated tail, the log replaced by a fork signed with another key, and the whole state
//! rolled back while a witness holds a newer checkpoint.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{TimeZone, Utc};
use cleanroom_store::log::record_bytes;
use cleanroom_store::{Audit, LogOptions, SqliteStore, Store};

const EXIT_CHECK_FAILED: i32 = 5;

/// A state directory whose log holds `n` records, checkpoints every 10 and one at the end.
fn state(dir: &Path, n: usize, salt: &str) {
    let store = SqliteStore::open_with(
        dir,
        &LogOptions {
            every: 10,
            ..LogOptions::default()
        },
    )
    .unwrap();
    append(&store, 0, n, salt);
}

fn append(store: &SqliteStore, from: usize, to: usize, salt: &str) {
    let at = Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap();
    for i in from..to {
        store
            .append_audit(
                &Audit::new(
                    at,
                    "acme-analytics",
                    "operator",
                    "job.submit",
                    &format!("job-{i}{salt}"),
                    "queued",
                )
                .licence("LIC-ELDER-2026", "elderly-care-planning")
                .hash(&format!("{i:064x}")),
            )
            .unwrap();
    }
    store.checkpoint().unwrap();
}

fn cleanroom(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cleanroom"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn verify(state: &Path, pubkey: &Path, witness: Option<&Path>) -> (i32, String) {
    let mut args = vec![
        "audit",
        "verify",
        "--state",
        state.to_str().unwrap(),
        "--pubkey",
        pubkey.to_str().unwrap(),
    ];
    if let Some(w) = witness {
        args.extend(["--witness", w.to_str().unwrap()]);
    }
    cleanroom(&args)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// What an intruder with write access to the database does: lift the guards, then edit.
fn tamper(state: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(state.join("cleanroom.db")).unwrap();
    conn.execute_batch(&format!(
        "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; {sql}"
    ))
    .unwrap();
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    pristine: PathBuf,
    pubkey: PathBuf,
}

/// A clean state of 40 records, and its public key kept apart from it.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let pristine = root.join("pristine");
    state(&pristine, 40, "");
    let pubkey = root.join("held-apart.pub");
    std::fs::copy(pristine.join("platform.pub"), &pubkey).unwrap();
    Fixture {
        _dir: dir,
        root,
        pristine,
        pubkey,
    }
}

impl Fixture {
    fn copy(&self, name: &str) -> PathBuf {
        let to = self.root.join(name);
        copy_dir(&self.pristine, &to);
        to
    }
}

#[test]
fn a_clean_log_verifies_and_prints_its_key_and_checkpoint() {
    let f = fixture();
    let (code, out) = verify(&f.pristine, &f.pubkey, None);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("records: 40 (0 purged); checkpoints: 4; not yet signed: 0"),
        "{out}"
    );
    assert!(out.contains("OK: every record matches its leaf"), "{out}");

    let (code, key) = cleanroom(&["audit", "pubkey", "--state", f.pristine.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(
        key.trim(),
        std::fs::read_to_string(&f.pubkey).unwrap().trim()
    );

    // The export is the leaves' exact bytes: hashing its lines rebuilds the signed root.
    let (code, ndjson) = cleanroom(&[
        "audit",
        "export",
        "--format",
        "ndjson",
        "--state",
        f.pristine.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let mut tree = cleanroom_tlog::Tree::new();
    for line in ndjson.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
        tree.push(cleanroom_tlog::leaf_hash(line.as_bytes()));
    }
    let store = SqliteStore::open(&f.pristine).unwrap();
    let latest = store.latest_checkpoint().unwrap().unwrap();
    assert_eq!(
        cleanroom_tlog::b64(&tree.root(40).unwrap()),
        latest.root,
        "the export rebuilds the signed tree"
    );
}

/// What a case does to a copy of the clean state.
type Damage = Box<dyn Fn(&Path)>;

#[test]
fn each_kind_of_tampering_is_detected_and_named() {
    let f = fixture();
    let cases: Vec<(&str, Damage, &str)> = vec![
        (
            "a changed byte",
            Box::new(|s| tamper(s, "UPDATE audit SET object = 'job-15' WHERE seq = 17")),
            "record 17 was altered",
        ),
        (
            "a changed byte with its leaf hash recomputed",
            Box::new(|s| {
                let store = SqliteStore::open(s).unwrap();
                let mut r = store.audit_after(22, 1).unwrap().remove(0);
                drop(store);
                r.audit.outcome = "refused".into();
                let leaf = cleanroom_tlog::leaf_hash(&record_bytes(r.seq, &r.audit));
                let conn = rusqlite::Connection::open(s.join("cleanroom.db")).unwrap();
                conn.execute_batch("DROP TRIGGER audit_no_update").unwrap();
                conn.execute(
                    "UPDATE audit SET outcome = 'refused', leaf = ?1 WHERE seq = 23",
                    [leaf.to_vec()],
                )
                .unwrap();
            }),
            "records 21-30 disagree with the checkpoint signed at 30",
        ),
        (
            "a deleted record",
            Box::new(|s| tamper(s, "DELETE FROM audit WHERE seq = 12")),
            "record 12 is missing (deleted)",
        ),
        (
            "two records reordered",
            Box::new(|s| {
                tamper(
                    s,
                    "UPDATE audit SET seq = -5 WHERE seq = 5;
                     UPDATE audit SET seq = 5 WHERE seq = 6;
                     UPDATE audit SET seq = 6 WHERE seq = -5;",
                )
            }),
            "record 5 was altered",
        ),
        (
            "a truncated tail",
            Box::new(|s| tamper(s, "DELETE FROM audit WHERE seq > 33")),
            "the log holds 33 records but a checkpoint signs 40: records 34-40 are gone (truncated)",
        ),
    ];
    for (what, damage, expected) in cases {
        let s = f.copy(&what.replace(' ', "-"));
        damage(&s);
        let (code, out) = verify(&s, &f.pubkey, None);
        assert_eq!(code, EXIT_CHECK_FAILED, "{what}: {out}");
        let first = out
            .lines()
            .find(|l| l.starts_with("FAILED: "))
            .unwrap_or("");
        assert!(
            first.contains(expected),
            "{what}: the first problem is {first:?}\n{out}"
        );
    }
}

#[test]
fn a_fork_signed_by_another_key_is_refused_by_verify_and_by_the_witness() {
    let f = fixture();
    // Another history of the same length, made and signed by an intruder's platform, copied
    // over the real one with its own key files.
    let fork = f.root.join("fork");
    state(&fork, 40, "-forged");
    let replaced = f.copy("replaced");
    copy_dir(&fork, &replaced);
    let (code, out) = verify(&replaced, &f.pubkey, None);
    assert_eq!(code, EXIT_CHECK_FAILED, "{out}");
    assert!(
        out.contains(
            "FAILED: checkpoint of 10 records: not signed by `cleanroom.local/audit` with key"
        ),
        "{out}"
    );
    // Checked against its own key the fork agrees with itself: which is why the key is held
    // apart.
    let (code, out) = cleanroom(&["audit", "verify", "--state", replaced.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("pass --pubkey for an independent check"),
        "{out}"
    );

    let cp = f.root.join("fork.checkpoint");
    std::fs::write(
        &cp,
        SqliteStore::open(&fork)
            .unwrap()
            .latest_checkpoint()
            .unwrap()
            .unwrap()
            .note,
    )
    .unwrap();
    let held = f.root.join("witness.checkpoint");
    let (code, out) = cleanroom(&[
        "audit",
        "witness",
        "--state",
        replaced.to_str().unwrap(),
        "--checkpoint",
        cp.to_str().unwrap(),
        "--held",
        held.to_str().unwrap(),
        "--pubkey",
        f.pubkey.to_str().unwrap(),
    ]);
    assert_eq!(code, EXIT_CHECK_FAILED, "{out}");
    assert!(
        out.contains("REFUSED: the new checkpoint: not signed by"),
        "{out}"
    );
    assert!(!held.exists(), "nothing held after a refusal");
}

#[test]
fn a_state_rolled_back_behind_the_witness_is_detected() {
    let f = fixture();
    let live = f.copy("live");
    let backup = f.copy("backup-at-40");
    let held = f.root.join("witness.checkpoint");
    let witness = |checkpoint: &Path| {
        cleanroom(&[
            "audit",
            "witness",
            "--state",
            live.to_str().unwrap(),
            "--checkpoint",
            checkpoint.to_str().unwrap(),
            "--held",
            held.to_str().unwrap(),
            "--pubkey",
            f.pubkey.to_str().unwrap(),
        ])
    };
    let checkpoint = |state: &Path, name: &str| {
        let (code, note) = cleanroom(&["audit", "checkpoint", "--state", state.to_str().unwrap()]);
        assert_eq!(code, 0, "{note}");
        let path = f.root.join(name);
        std::fs::write(&path, note).unwrap();
        path
    };

    let at40 = checkpoint(&live, "at40");
    let (code, out) = witness(&at40);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ACCEPTED: 40 records (the first"), "{out}");

    let store = SqliteStore::open(&live).unwrap();
    append(&store, 40, 60, "");
    drop(store);
    let at60 = checkpoint(&live, "at60");
    let (code, out) = witness(&at60);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("ACCEPTED: 60 records, consistent with the 40 held before"),
        "{out}"
    );

    // The old copy is put back: alone it verifies, against the witness it is caught.
    let (code, out) = verify(&backup, &f.pubkey, None);
    assert_eq!(code, 0, "{out}");
    let (code, out) = verify(&backup, &f.pubkey, Some(&held));
    assert_eq!(code, EXIT_CHECK_FAILED, "{out}");
    assert!(
        out.contains("FAILED: rolled back: the witness holds a signed checkpoint of 60 records, the log has 40"),
        "{out}"
    );
    let (code, out) = witness(&at40);
    assert_eq!(code, EXIT_CHECK_FAILED, "{out}");
    assert!(
        out.contains("REFUSED: rolled back: this witness holds a checkpoint of 60 records"),
        "{out}"
    );
    // The live state, ahead of the witness, verifies against it.
    let (code, out) = verify(&live, &f.pubkey, Some(&held));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn the_audit_bench_writes_its_section_and_keeps_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("BENCHMARKS.md");
    std::fs::write(&out, "# Head\n\n<!-- load -->\n## Load\nkept\n").unwrap();
    let (code, text) = cleanroom(&[
        "audit",
        "bench",
        "--appends",
        "200",
        "--records",
        "2000",
        "--state",
        dir.path().join("state").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{text}");
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(
        written
            .starts_with("# Head\n\n<!-- load -->\n## Load\nkept\n\n<!-- audit -->\n## Audit log"),
        "{written}"
    );
    assert!(written.contains("| inclusion |") && written.contains("| consistency |"));
    assert!(
        !dir.path().join("state").read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("audit-bench")),
        "the scratch store is removed"
    );
}
