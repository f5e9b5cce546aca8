//! `cleanroom attack` against the real server on a loopback port: every query of the battery
//! is a job under the operator's licence, so the ε ledger, the refusal counter and the daily
//! limit stand in the attacker's way as they would in production.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod support;

use std::process::Command;

use support::{ELDER, SCENARIO, Server};

#[test]
fn the_battery_against_a_running_server_gains_nothing_over_guessing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let token = server.token("operator", "acme-analytics");
    let out = Command::new(env!("CARGO_BIN_EXE_cleanroom"))
        .args([
            "attack",
            "--addr",
            &server.addr.to_string(),
            "--token",
            &token,
        ])
        .args(["--licence", ELDER, "--scenario", SCENARIO, "--json"])
        .arg("--data")
        .arg(support::data())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcomes: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcomes = outcomes.as_array().unwrap();
    assert_eq!(outcomes.len(), 10, "{outcomes:?}");
    let mut refused = 0;
    for o in outcomes {
        refused += o["refused"].as_u64().unwrap();
        if o["metric"] == "success rate" {
            let (s, b) = (
                o["success"].as_f64().unwrap(),
                o["baseline"].as_f64().unwrap(),
            );
            // What chance allows, and a hair more for the division's rounding.
            let targets = o["targets"].as_u64().unwrap() as usize;
            let tolerance = cleanroom_attack::chance_tolerance(b, targets);
            assert!(s <= b + tolerance + 1e-9, "{o}");
        }
    }
    // The ledger (and then the licence's refusal counter) stopped most of the queries.
    let asked: u64 = outcomes
        .iter()
        .map(|o| o["queries"].as_u64().unwrap())
        .sum();
    assert!(refused * 10 >= asked * 9, "{refused} of {asked} refused");
    server.kill();
}
