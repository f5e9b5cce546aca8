//! The dependency direction of DESIGN.md §2, checked over `cargo metadata`:
//! policy → guard → engine → cli, wasm → engine, demo → cli, policy → store → platform → server
//! → cli, tlog → store; HTTP (axum) only in the server, ring only in the transparency log;
//! heavy crates stay in their rooms (the WASM host knows Arrow, not DataFusion; the store
//! neither).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

#[test]
fn dependency_direction() {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in meta["packages"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap().to_string();
        let normal: BTreeSet<String> = p["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"].is_null())
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect();
        deps.insert(name, normal);
    }
    let allowed: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("cleanroom-policy", &[][..]),
        ("cleanroom-demo", &["cleanroom-policy"][..]),
        ("cleanroom-guard", &["cleanroom-policy"][..]),
        ("cleanroom-wasm", &[][..]),
        ("cleanroom-components", &[][..]),
        ("cleanroom-tlog", &[][..]),
        // The attacker knows queries and the data files to score against, nothing inside.
        ("cleanroom-attack", &[][..]),
        (
            "cleanroom-store",
            &["cleanroom-policy", "cleanroom-tlog"][..],
        ),
        (
            "cleanroom-platform",
            &[
                "cleanroom-attack",
                "cleanroom-policy",
                "cleanroom-engine",
                "cleanroom-wasm",
                "cleanroom-store",
                "cleanroom-tlog",
            ][..],
        ),
        (
            "cleanroom-server",
            &[
                "cleanroom-policy",
                "cleanroom-engine",
                "cleanroom-wasm",
                "cleanroom-store",
                "cleanroom-platform",
                "cleanroom-tlog",
            ][..],
        ),
        (
            "cleanroom-engine",
            &["cleanroom-policy", "cleanroom-guard", "cleanroom-wasm"][..],
        ),
        (
            "cleanroom-cli",
            &[
                "cleanroom-policy",
                "cleanroom-demo",
                "cleanroom-guard",
                "cleanroom-engine",
                "cleanroom-wasm",
                "cleanroom-components",
                "cleanroom-store",
                "cleanroom-platform",
                "cleanroom-server",
                "cleanroom-tlog",
                "cleanroom-attack",
            ][..],
        ),
    ]);
    for (krate, ok) in &allowed {
        let have = deps
            .get(*krate)
            .unwrap_or_else(|| panic!("{krate} is a workspace member"));
        for d in have.iter().filter(|d| d.starts_with("cleanroom-")) {
            assert!(ok.contains(&d.as_str()), "{krate} must not depend on {d}");
        }
    }
    // Heavy crates stay in their rooms.
    for light in [
        "cleanroom-policy",
        "cleanroom-demo",
        "cleanroom-wasm",
        "cleanroom-store",
    ] {
        assert!(
            !deps[light].contains("datafusion"),
            "{light} must not depend on datafusion"
        );
    }
    for krate in ["cleanroom-store", "cleanroom-policy", "cleanroom-platform"] {
        assert!(
            !deps[krate].contains("wasmtime") && !deps[krate].contains("arrow"),
            "{krate} holds no Arrow and no WebAssembly"
        );
    }
    // HTTP lives in the server alone; the workflows know no HTTP.
    for krate in deps
        .keys()
        .filter(|k| *k != "cleanroom-server" && *k != "cleanroom-tests")
    {
        assert!(
            !deps[krate].contains("axum"),
            "{krate} must not depend on axum: HTTP is the server's"
        );
    }
    // Signatures are made in one place.
    for krate in deps.keys().filter(|k| *k != "cleanroom-tlog") {
        assert!(
            !deps[krate].contains("ring"),
            "{krate} must not depend on ring: signatures are the transparency log's"
        );
    }
    assert!(
        !deps["cleanroom-policy"].contains("arrow"),
        "the policy model has no Arrow"
    );
}
