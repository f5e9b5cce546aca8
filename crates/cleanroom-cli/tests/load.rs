//! A bounded load through the real binary on loopback: `cleanroom load` fails unless every
//! submission was acknowledged and every job finished.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod support;

use std::process::Command;

#[test]
fn fifty_clients_three_hundred_jobs_no_error_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cleanroom"))
        .args(["load", "--clients", "50", "--jobs", "300"])
        .arg("--data")
        .arg(support::data())
        .arg("--state")
        .arg(dir.path())
        .arg("--policies")
        .arg(support::policies())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The table row: clients, jobs, errors, lost.
    let row = stdout
        .lines()
        .find(|l| l.starts_with("| 50 |"))
        .unwrap_or_else(|| panic!("no result row in {stdout}"));
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(&cells[1..5], &["50", "300", "0", "0"], "{row}");
}
