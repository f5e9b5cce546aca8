//! `cleanroom token issue` against the real binary and a real store: the token is printed once,
//! only its SHA-256 is stored, and it authenticates as the principal and role it was issued for.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use cleanroom_platform::{Authz, Platform, Role, SystemClock, TOKEN_PREFIX};
use cleanroom_policy::Policies;
use cleanroom_store::{SqliteStore, Store};

fn policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

fn issue(state: &Path, role: &str, principal: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cleanroom"))
        .args(["token", "issue", "--role", role, "--principal", principal])
        .arg("--policies")
        .arg(policies())
        .arg("--state")
        .arg(state)
        .output()
        .unwrap()
}

#[test]
fn a_token_is_shown_once_stored_as_a_hash_and_authenticates() {
    let dir = tempfile::tempdir().unwrap();
    let out = issue(dir.path(), "reviewer", "rev-1");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with(TOKEN_PREFIX) && token.len() == TOKEN_PREFIX.len() + 64);
    let again = issue(dir.path(), "reviewer", "rev-1");
    let second = String::from_utf8(again.stdout).unwrap().trim().to_owned();
    assert_ne!(token, second, "every token is new");
    // Nothing of the token in the database files, WAL included.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            let secret = &token.as_bytes()[TOKEN_PREFIX.len()..];
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret),
                "{} holds the token",
                path.display()
            );
        }
    }
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let platform = Platform::new(
        Arc::new(Policies::load(&policies()).unwrap()),
        Arc::new(Authz::load(&policies().join("authz")).unwrap()),
        store.clone(),
        Arc::new(SystemClock),
    );
    let who = platform.authenticate(&token).unwrap().unwrap();
    assert_eq!((who.id.as_str(), who.role), ("rev-1", Role::Reviewer));
    assert!(platform.authenticate("crt_0000").unwrap().is_none());
    assert!(platform.authenticate("not a token").unwrap().is_none());
    let issued = store
        .audit_after(0, 10)
        .unwrap()
        .into_iter()
        .filter(|r| r.audit.action == "token.issue")
        .count();
    assert_eq!(issued, 2, "each issue is recorded");
}

#[test]
fn a_bad_role_or_principal_is_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    for (role, principal) in [("root", "rev-1"), ("admin", "Bad Name"), ("admin", "")] {
        let out = issue(dir.path(), role, principal);
        assert_eq!(out.status.code(), Some(2), "{role} {principal}");
        assert!(out.stdout.is_empty());
    }
}
