//! The Cedar policies of `policies/authz/`: strict validation at load, and the decisions the
//! platform relies on, each with the server's clock.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use cleanroom_platform::{Authz, Denied, Error, Principal, Resource, Role};
use cleanroom_policy::Policies;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}

fn who(id: &str, role: Role) -> Principal {
    Principal {
        id: id.into(),
        role,
    }
}

/// A copy of the real authz directory with `extra` added as one more policy file.
fn with_extra(extra: &str) -> Result<Authz, Error> {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(root().join("authz")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    std::fs::write(dir.path().join("zz-extra.cedar"), extra).unwrap();
    Authz::load(dir.path())
}

#[test]
fn the_real_policies_load_and_every_policy_is_named() {
    let authz = Authz::load(&root().join("authz")).unwrap();
    let ids = authz.policy_ids();
    for id in [
        "operator.submit",
        "licence.expired",
        "review.no-self-approval",
        "auditor.read",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} missing from {ids:?}");
    }
}

#[test]
fn a_policy_that_does_not_fit_the_schema_stops_the_load_naming_its_file() {
    let typo = r#"@id("typo")
permit (principal, action == Cleanroom::Action::"job.read", resource)
when { resource.owner == principal.name };"#;
    let err = with_extra(typo).unwrap_err().to_string();
    assert!(err.contains("zz-extra.cedar"), "{err}");

    let unnamed = r#"permit (principal, action == Cleanroom::Action::"audit.read", resource);"#;
    let err = with_extra(unnamed).unwrap_err().to_string();
    assert!(err.contains("@id"), "{err}");

    let twice = r#"@id("auditor.read")
permit (principal, action == Cleanroom::Action::"audit.read", resource);"#;
    let err = with_extra(twice).unwrap_err().to_string();
    assert!(err.contains("used twice"), "{err}");

    let unknown_action = r#"@id("x")
permit (principal, action == Cleanroom::Action::"data.export", resource);"#;
    assert!(with_extra(unknown_action).is_err());
}

#[test]
fn decisions_follow_the_licence_the_role_and_the_server_clock() {
    let authz = Authz::load(&root().join("authz")).unwrap();
    let policies = Policies::load(&root()).unwrap();
    let elder = policies.licence("LIC-ELDER-2026").unwrap();
    let acme = who("acme-analytics", Role::Operator);
    let north = who("northstar-data", Role::Operator);
    let submit = Resource::Licence(elder);

    assert_eq!(
        authz
            .decide(&acme, "job.submit", &submit, at(2026, 6, 1))
            .unwrap(),
        Ok(())
    );
    // The window's last day is inside it; the next is not.
    assert_eq!(
        authz
            .decide(&acme, "job.submit", &submit, at(2027, 12, 31))
            .unwrap(),
        Ok(())
    );
    assert_eq!(
        authz
            .decide(&acme, "job.submit", &submit, at(2028, 1, 1))
            .unwrap(),
        Err(Denied {
            forbidden_by: vec!["licence.expired".into()]
        })
    );
    assert_eq!(
        authz
            .decide(&north, "job.submit", &submit, at(2026, 6, 1))
            .unwrap(),
        Err(Denied {
            forbidden_by: vec![]
        }),
        "not the holder: no permit applies"
    );
    for role in [Role::Reviewer, Role::Admin, Role::Auditor] {
        assert!(
            authz
                .decide(
                    &who("acme-analytics", role),
                    "job.submit",
                    &submit,
                    at(2026, 6, 1)
                )
                .unwrap()
                .is_err()
        );
    }

    let job = |in_review, released| Resource::Job {
        id: 7,
        operator: "acme-analytics",
        licence: elder,
        in_review,
        released,
    };
    let now = at(2026, 6, 1);
    assert!(
        authz
            .decide(&acme, "job.result", &job(false, false), now)
            .unwrap()
            .is_ok(),
        "interactive licence"
    );
    assert!(
        authz
            .decide(&north, "job.read", &job(false, false), now)
            .unwrap()
            .is_err()
    );
    let reviewer = who("rev-1", Role::Reviewer);
    assert!(
        authz
            .decide(&reviewer, "job.result", &job(false, false), now)
            .unwrap()
            .is_err(),
        "not under review"
    );
    assert!(
        authz
            .decide(&reviewer, "job.result", &job(true, false), now)
            .unwrap()
            .is_ok()
    );
    let auditor = who("aud-1", Role::Auditor);
    assert!(
        authz
            .decide(&auditor, "job.read", &job(true, true), now)
            .unwrap()
            .is_ok()
    );
    assert!(
        authz
            .decide(&auditor, "job.result", &job(true, true), now)
            .unwrap()
            .is_err(),
        "auditors never see results"
    );

    let biz = policies.licence("LIC-BIZ-2026").unwrap();
    let biz_job = |released| Resource::Job {
        id: 8,
        operator: "northstar-data",
        licence: biz,
        in_review: true,
        released,
    };
    assert!(
        authz
            .decide(&north, "job.result", &biz_job(false), now)
            .unwrap()
            .is_err(),
        "not interactive"
    );
    assert!(
        authz
            .decide(&north, "job.result", &biz_job(true), now)
            .unwrap()
            .is_ok(),
        "released"
    );

    let product = |requested_by| Resource::Product {
        id: 1,
        operator: "acme-analytics",
        requested_by,
        licence: elder,
    };
    assert!(
        authz
            .decide(&reviewer, "product.review", &product("acme-analytics"), now)
            .unwrap()
            .is_ok()
    );
    assert_eq!(
        authz
            .decide(
                &who("acme-analytics", Role::Reviewer),
                "product.review",
                &product("acme-analytics"),
                now
            )
            .unwrap(),
        Err(Denied {
            forbidden_by: vec!["review.no-self-approval".into()]
        })
    );
    assert!(
        authz
            .decide(&acme, "product.download", &product("acme-analytics"), now)
            .unwrap()
            .is_ok()
    );
    assert!(
        authz
            .decide(
                &reviewer,
                "product.download",
                &product("acme-analytics"),
                now
            )
            .unwrap()
            .is_err()
    );
    assert!(
        authz
            .decide(
                &who("adm", Role::Admin),
                "product.withdraw",
                &product("acme-analytics"),
                now
            )
            .unwrap()
            .is_ok()
    );
    assert!(
        authz
            .decide(&auditor, "audit.read", &Resource::Platform, now)
            .unwrap()
            .is_ok()
    );
    assert!(
        authz
            .decide(
                &who("adm", Role::Admin),
                "audit.read",
                &Resource::Platform,
                now
            )
            .unwrap()
            .is_err()
    );
}
