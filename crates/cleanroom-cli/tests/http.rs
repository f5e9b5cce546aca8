//! The platform over HTTP, end to end: the real binary on a loopback port, the generated demo
//! data, a real SQLite store and tokens issued by the CLI. Every role against every route (the
//! authorization matrix), the licence rules, quorum and self-approval, withdrawal, bad input,
//! and that no response to anyone holds a raw value of the data.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod support;

use serde_json::json;
use support::{ALLOWED_SQL, BLOCKED_SQL, ELDER, SCENARIO, Server, sql_job};

/// The callers of the matrix, in its column order.
const CALLERS: [&str; 6] = ["none", "owner", "other-op", "reviewer", "admin", "auditor"];

#[test]
fn every_role_against_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let tokens = [
        None,
        Some(server.token("operator", "acme-analytics")),
        Some(server.token("operator", "northstar-data")),
        Some(server.token("reviewer", "rev-1")),
        Some(server.token("admin", "adm-1")),
        Some(server.token("auditor", "aud-1")),
    ];
    let owner = server.client(tokens[1].as_deref());
    let r = owner.post("/v1/jobs", sql_job(ALLOWED_SQL));
    assert_eq!(r.status, 202, "{}", r.text());
    let job = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(owner.finished(&job)["status"], "succeeded");
    let r = owner.post(
        "/v1/products",
        json!({ "job": job, "name": "People per district", "description": "Counts by district." }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let product = r.json()["id"].as_str().unwrap().to_owned();
    let zeros = "0".repeat(64);

    // method, path, JSON body, expected status per caller (CALLERS order). A caller that is
    // permitted may still meet a state conflict (409): that shows it passed authorization.
    let matrix: Vec<(&str, String, Option<serde_json::Value>, [u16; 6])> = vec![
        (
            "GET",
            "/healthz".into(),
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/metrics".into(),
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/openapi.json".into(),
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/v1/catalog".into(),
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        (
            "POST",
            "/v1/jobs".into(),
            Some(sql_job(ALLOWED_SQL)),
            [401, 202, 403, 403, 403, 403],
        ),
        (
            "GET",
            "/v1/jobs".into(),
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            format!("/v1/jobs/{job}"),
            None,
            [401, 200, 404, 200, 200, 200],
        ),
        (
            "GET",
            format!("/v1/jobs/{job}/lineage"),
            None,
            [401, 200, 404, 200, 200, 200],
        ),
        (
            "GET",
            format!("/v1/jobs/{job}/result"),
            None,
            [401, 200, 404, 200, 403, 403],
        ),
        (
            "POST",
            format!("/v1/jobs/{job}/cancel"),
            Some(json!({})),
            [401, 200, 404, 403, 403, 403],
        ),
        (
            "POST",
            "/v1/products".into(),
            Some(json!({ "job": job, "name": "again", "description": "again" })),
            [401, 409, 404, 403, 403, 403],
        ),
        (
            "GET",
            "/v1/products".into(),
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            format!("/v1/products/{product}"),
            None,
            [401, 200, 404, 200, 200, 200],
        ),
        (
            "POST",
            format!("/v1/products/{product}/reviews"),
            Some(json!({ "approve": true, "reason": "aggregates only, k respected" })),
            [401, 403, 404, 200, 403, 403],
        ),
        (
            "GET",
            format!("/v1/products/{product}/download"),
            None,
            [401, 409, 404, 403, 403, 403],
        ),
        (
            "GET",
            "/v1/review/queue".into(),
            None,
            [401, 403, 403, 200, 403, 403],
        ),
        (
            "GET",
            "/v1/admin/licences".into(),
            None,
            [401, 403, 403, 403, 200, 200],
        ),
        (
            "POST",
            "/v1/admin/licences/LIC-BIZ-2026/resume".into(),
            Some(json!({ "reason": "matrix" })),
            [401, 403, 403, 403, 200, 403],
        ),
        (
            "POST",
            "/v1/admin/datasets/real_estate/resume".into(),
            Some(json!({ "reason": "matrix" })),
            [401, 403, 403, 403, 200, 403],
        ),
        (
            "POST",
            format!("/v1/admin/products/{product}/withdraw"),
            Some(json!({ "reason": "matrix" })),
            [401, 403, 404, 403, 409, 403],
        ),
        (
            "POST",
            "/v1/admin/tokens".into(),
            Some(json!({ "role": "auditor", "principal": "aud-2" })),
            [401, 403, 403, 403, 201, 403],
        ),
        (
            "POST",
            format!("/v1/admin/tokens/{zeros}/revoke"),
            Some(json!({})),
            [401, 403, 403, 403, 404, 403],
        ),
        (
            "GET",
            "/v1/audit".into(),
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        (
            "GET",
            "/v1/audit/checkpoint".into(),
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        (
            "GET",
            "/v1/audit/proof/inclusion?seq=1".into(),
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        (
            "GET",
            "/v1/audit/proof/consistency?from=1".into(),
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        (
            "GET",
            format!("/v1/products/{product}/passport"),
            None,
            [401, 409, 404, 409, 409, 409],
        ),
    ];
    let mut cells = 0;
    let mut wrong = Vec::new();
    for (method, path, body, expected) in &matrix {
        for (i, token) in tokens.iter().enumerate() {
            let c = server.client(token.as_deref());
            let r = match body {
                Some(b) if *method == "POST" => c.post(path, b.clone()),
                _ => c.get(path),
            };
            cells += 1;
            if r.status != expected[i] {
                wrong.push(format!(
                    "{method} {path} as {}: {} (expected {}): {}",
                    CALLERS[i],
                    r.status,
                    expected[i],
                    r.text()
                ));
            }
            if r.status >= 400 {
                let e = r.json();
                assert!(
                    e["error"]["code"].is_string() && e["error"]["request_id"].is_string(),
                    "{method} {path}: error body {}",
                    r.text()
                );
                assert_eq!(
                    r.header("x-request-id"),
                    e["error"]["request_id"].as_str(),
                    "the header and the body name the same request"
                );
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {cells} cells wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(cells, 27 * 6);

    // The OpenAPI document lists every route of the matrix.
    let doc = server.client(None).get("/openapi.json").json();
    for (method, path, _, _) in &matrix {
        let templated = path
            .split('?')
            .next()
            .unwrap()
            .replace(&job, "{id}")
            .replace(&product, "{id}")
            .replace(&zeros, "{id}")
            .replace("LIC-BIZ-2026/resume", "{id}/{verb}")
            .replace("real_estate/resume", "{id}/{verb}");
        assert!(
            doc["paths"][&templated][method.to_lowercase()].is_object(),
            "{method} {templated} missing from /openapi.json"
        );
    }
    server.assert_no_raw_values();
}

#[test]
fn the_licence_rules_refuse_with_their_rule_ids() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let acme = server.client(Some(&server.token("operator", "acme-analytics")));
    let north = server.client(Some(&server.token("operator", "northstar-data")));
    let admin = server.client(Some(&server.token("admin", "adm-1")));
    let code = |r: &cleanroom_server::client::Response| {
        r.json()["error"]["code"].as_str().unwrap_or("").to_owned()
    };

    let r = north.post("/v1/jobs", sql_job(ALLOWED_SQL));
    assert_eq!(
        (r.status, code(&r)),
        (403, "licence.scope".into()),
        "{}",
        r.text()
    );
    let r = acme.post(
        "/v1/jobs",
        json!({ "licence": "LIC-OLD-2024", "scenario": SCENARIO, "sql": ALLOWED_SQL }),
    );
    assert_eq!(r.status, 403);
    let rules: Vec<String> = r.json()["error"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["rule"].as_str().unwrap().to_owned())
        .collect();
    assert!(rules.contains(&"licence.expired".to_owned()), "{rules:?}");
    let r = acme.post(
        "/v1/jobs",
        json!({ "licence": ELDER, "scenario": "enterprise-employment", "sql": ALLOWED_SQL }),
    );
    assert_eq!(
        (r.status, code(&r)),
        (403, "licence.scenario".into()),
        "{}",
        r.text()
    );

    let r = admin.post(
        &format!("/v1/admin/licences/{ELDER}/suspend"),
        json!({ "reason": "inspection" }),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = acme.post("/v1/jobs", sql_job(ALLOWED_SQL));
    assert_eq!((r.status, code(&r)), (403, "licence.suspended".into()));
    let r = admin.post(
        &format!("/v1/admin/licences/{ELDER}/resume"),
        json!({ "reason": "inspection done" }),
    );
    assert_eq!(r.status, 200);
    let r = acme.post("/v1/jobs", sql_job(BLOCKED_SQL));
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let job = acme.finished(&id);
    assert_eq!(job["status"], "blocked");
    assert!(
        job["report"]["violations"]
            .as_array()
            .is_some_and(|v| !v.is_empty())
    );
    let r = acme.get(&format!("/v1/jobs/{id}/result"));
    assert_eq!(r.status, 409, "a blocked job has no result: {}", r.text());

    // Every refusal and suspension is in the record.
    let auditor = server.client(Some(&server.token("auditor", "aud-1")));
    let records = auditor.get("/v1/audit?limit=500").json();
    let actions: Vec<(String, String)> = records["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        actions
            .iter()
            .any(|(a, o)| a == "job.submit" && o.contains("licence.scope"))
    );
    assert!(actions.iter().any(|(a, _)| a == "licence.suspend"));
    assert!(actions.iter().any(|(a, _)| a == "licence.resume"));
    server.assert_no_raw_values();
}

#[test]
fn quorum_self_approval_download_and_withdrawal() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let acme = server.client(Some(&server.token("operator", "acme-analytics")));
    let north = server.client(Some(&server.token("operator", "northstar-data")));
    let rev1 = server.client(Some(&server.token("reviewer", "rev-1")));
    let rev2 = server.client(Some(&server.token("reviewer", "rev-2")));
    let self_reviewer = server.client(Some(&server.token("reviewer", "acme-analytics")));
    let admin = server.client(Some(&server.token("admin", "adm-1")));

    let id = acme.post("/v1/jobs", sql_job(ALLOWED_SQL)).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(acme.finished(&id)["status"], "succeeded");
    let r = acme.post(
        "/v1/products",
        json!({ "job": id, "name": "People per district", "description": "Counts." }),
    );
    let product = r.json()["id"].as_str().unwrap().to_owned();
    let view = rev1.get(&format!("/v1/products/{product}")).json();
    assert_eq!(
        view["quorum"], 2,
        "social_insurance is important: two reviewers"
    );
    // What the reviewer reads: the source, the report with its lineage, the checked result.
    assert_eq!(view["source"], ALLOWED_SQL);
    assert_eq!(view["report"]["decision"], "allowed");
    assert!(view["report"]["lineage"].is_object(), "{view}");
    assert_eq!(view["source_hash"].as_str().map(str::len), Some(64));
    let result = rev1.get(&format!("/v1/jobs/{id}/result"));
    assert_eq!(result.status, 200, "{}", result.text());
    assert!(result.json().as_array().is_some_and(|a| !a.is_empty()));
    assert_eq!(
        rev1.get("/v1/review/queue").json()["products"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let r = self_reviewer.post(
        &format!("/v1/products/{product}/reviews"),
        json!({ "approve": true, "reason": "mine" }),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("review.no-self-approval"));
    assert!(
        self_reviewer.get("/v1/review/queue").json()["products"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let approve = json!({ "approve": true, "reason": "aggregates by district, k respected" });
    let r = rev1.post(&format!("/v1/products/{product}/reviews"), approve.clone());
    assert_eq!(r.json()["status"], "pending", "{}", r.text());
    let r = rev1.post(&format!("/v1/products/{product}/reviews"), approve.clone());
    assert_eq!(r.status, 409, "one review per reviewer: {}", r.text());
    assert_eq!(
        acme.get(&format!("/v1/products/{product}/download")).status,
        409
    );
    let r = rev2.post(&format!("/v1/products/{product}/reviews"), approve);
    let v = r.json();
    assert_eq!(v["status"], "approved", "{}", r.text());
    let registration = v["registration"].as_str().unwrap().to_owned();
    assert!(registration.starts_with("CR-"), "{registration}");

    let path = format!("/v1/products/{product}/download");
    let r = acme.get(&path);
    assert_eq!(r.status, 200);
    let rows = r.json();
    assert!(
        rows.as_array().is_some_and(|a| !a.is_empty()),
        "{}",
        r.text()
    );
    assert!(rows[0]["district"].is_string() && rows[0]["people"].is_number());
    let csv = acme.get_as(&path, "text/csv");
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv.text().starts_with("district,people"), "{}", csv.text());
    let arrow = acme.get_as(&path, "application/vnd.apache.arrow.stream");
    assert_eq!(arrow.status, 200);
    assert!(!arrow.body.is_empty());
    // The passport, checked offline by the binary against the key held apart.
    let passport = acme.get(&format!("/v1/products/{product}/passport"));
    assert_eq!(passport.status, 200, "{}", passport.text());
    assert_eq!(passport.json()["registration"], registration.as_str());
    assert_eq!(
        north
            .get(&format!("/v1/products/{product}/passport"))
            .status,
        404
    );
    let files = tempfile::tempdir().unwrap();
    let (content, signed, key) = (
        files.path().join("product.arrows"),
        files.path().join("passport.json"),
        files.path().join("platform.pub"),
    );
    std::fs::write(&content, &arrow.body).unwrap();
    std::fs::write(&signed, passport.text()).unwrap();
    std::fs::copy(dir.path().join("platform.pub"), &key).unwrap();
    let verify = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cleanroom"))
            .args(["product", "verify"])
            .args([&content, &signed])
            .arg("--pubkey")
            .arg(&key)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = verify();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("OK: the product is the one the platform approved"),
        "{out}"
    );
    let mut changed = arrow.body.clone();
    let at = changed.len() / 2;
    changed[at] ^= 0x20;
    std::fs::write(&content, &changed).unwrap();
    let (code, out) = verify();
    assert_eq!(code, Some(5), "{out}");
    assert!(out.contains("FAILED  content"), "{out}");
    assert!(
        !out.contains("FAILED  signature"),
        "only the content: {out}"
    );
    let parquet = acme.get_as(&path, "application/vnd.apache.parquet");
    assert!(parquet.body.starts_with(b"PAR1"));
    assert_eq!(acme.get_as(&path, "image/png").status, 406);
    assert_eq!(
        north.get(&path).status,
        404,
        "another operator's product does not exist"
    );

    // Art. 40: suspending a source dataset stops downloads at once; so does a withdrawal.
    let r = admin.post(
        "/v1/admin/datasets/social_insurance/suspend",
        json!({ "reason": "source under correction" }),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(acme.get(&path).status, 409);
    admin.post(
        "/v1/admin/datasets/social_insurance/resume",
        json!({ "reason": "corrected" }),
    );
    assert_eq!(acme.get(&path).status, 200);
    let r = admin.post(
        &format!("/v1/admin/products/{product}/withdraw"),
        json!({ "reason": "licence terms changed" }),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(acme.get(&path).status, 409);
    server.assert_no_raw_values();
}

#[test]
fn bad_input_gets_honest_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let token = server.token("operator", "acme-analytics");
    let acme = server.client(Some(&token));
    let code = |r: &cleanroom_server::client::Response| {
        (
            r.status,
            r.json()["error"]["code"].as_str().unwrap_or("").to_owned(),
        )
    };

    let r = acme.post_raw("/v1/jobs", "application/json", b"{\"licence\": ");
    assert_eq!(code(&r), (400, "bad_request".into()), "{}", r.text());
    let r = acme.post(
        "/v1/jobs",
        json!({ "licence": 7, "scenario": SCENARIO, "sql": "x" }),
    );
    assert_eq!(code(&r), (400, "bad_request".into()), "{}", r.text());
    let r = acme.post(
        "/v1/jobs",
        json!({ "licence": ELDER, "scenario": SCENARIO, "sql": ALLOWED_SQL, "priority": 1 }),
    );
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("priority"),
        "the unknown field is named: {}",
        r.text()
    );
    let r = acme.post_raw("/v1/jobs", "text/plain", ALLOWED_SQL.as_bytes());
    assert_eq!(r.status, 415);
    let huge = vec![b' '; 40 << 20];
    let r = acme.post_raw("/v1/jobs", "application/json", &huge);
    assert_eq!(code(&r), (413, "payload_too_large".into()));

    // SQL that does not parse is refused at the door, its message scrubbed of values.
    let r = acme.post(
        "/v1/jobs",
        sql_job("SELEC district FROM residents WHERE citizen_id = '110101199001011234'"),
    );
    assert_eq!(code(&r), (400, "invalid".into()), "{}", r.text());
    assert!(r.text().contains("does not parse"), "{}", r.text());
    assert!(!r.text().contains("110101199001011234"), "{}", r.text());

    let manifest =
        std::fs::read(support::root().join("sandbox/modules/elderly-need/job.toml")).unwrap();
    let r = acme.post_multipart(
        "/v1/jobs",
        &[("manifest", &manifest), ("component", b"not wasm")],
    );
    assert_eq!(code(&r), (400, "invalid".into()), "{}", r.text());
    let r = acme.post_multipart("/v1/jobs", &[("manifest", &manifest)]);
    assert_eq!(r.status, 400);

    assert_eq!(code(&acme.get("/v1/nothing")), (404, "not_found".into()));
    assert_eq!(
        code(&acme.post("/v1/catalog", json!({}))),
        (405, "method_not_allowed".into())
    );
    assert_eq!(acme.get("/v1/jobs/job-999999").status, 404);
    assert_eq!(acme.get("/v1/jobs/not-a-number").status, 404);
    assert_eq!(acme.get("/v1/products?status=maybe").status, 400);
    assert_eq!(acme.get("/v1/jobs?limit=x").status, 400);

    // Tokens: absent, unknown, revoked.
    let anon = server.client(None);
    assert_eq!(anon.get("/v1/catalog").status, 401);
    assert_eq!(
        server.client(Some("crt_nope")).get("/v1/catalog").status,
        401
    );
    let admin = server.client(Some(&server.token("admin", "adm-1")));
    let id = cleanroom_platform::token_id(&token);
    let r = admin.post(&format!("/v1/admin/tokens/{id}/revoke"), json!({}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        acme.get("/v1/catalog").status,
        401,
        "a revoked token is refused at once"
    );
    server.assert_no_raw_values();
}

#[test]
fn a_wasm_job_runs_over_multipart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let acme = server.client(Some(&server.token("operator", "acme-analytics")));
    let manifest =
        std::fs::read(support::root().join("sandbox/modules/elderly-need/job.toml")).unwrap();
    let component = cleanroom_components::bytes("elderly-need").unwrap();
    let r = acme.post_multipart(
        "/v1/jobs",
        &[("manifest", &manifest), ("component", &component)],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let job = acme.finished(r.json()["id"].as_str().unwrap());
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["kind"], "wasm");
    let result = acme.get(&format!("/v1/jobs/{}/result", job["id"].as_str().unwrap()));
    assert_eq!(result.status, 200);
    assert!(result.json().as_array().is_some_and(|a| !a.is_empty()));
    server.assert_no_raw_values();
}

/// The size of the platform's latest signed checkpoint (its second line), as an auditor reads it.
fn checkpoint_size(server: &Server, auditor: &str) -> u64 {
    let r = server.client(Some(auditor)).get("/v1/audit/checkpoint");
    assert_eq!(r.status, 200, "{}", r.text());
    r.text().lines().nth(1).unwrap().parse().unwrap()
}

/// Runs two jobs, then waits until the platform's signed checkpoint (signed every second here)
/// covers every record: beyond `beyond` and the same over two readings 1.5 s apart. Returns its
/// size.
fn grow_log(server: &Server, operator: &str, auditor: &str, beyond: u64) -> u64 {
    let op = server.client(Some(operator));
    for _ in 0..2 {
        let r = op.post("/v1/jobs", sql_job(ALLOWED_SQL));
        assert_eq!(r.status, 202, "{}", r.text());
        op.finished(r.json()["id"].as_str().unwrap());
    }
    let mut last = 0;
    for _ in 0..20 {
        let size = checkpoint_size(server, auditor);
        if size > beyond && size == last {
            return size;
        }
        last = size;
        std::thread::sleep(std::time::Duration::from_millis(1500));
    }
    panic!("no settled checkpoint beyond {beyond} records in 30 s");
}

/// `cleanroom audit witness --addr`: a witness that holds nothing but the platform's public key
/// and its last checkpoint follows the live log over HTTP, accepting each checkpoint the
/// platform proves consistent with the one it holds, and refuses the platform once its state has
/// been rolled back behind that checkpoint.
#[test]
fn a_witness_follows_the_platform_over_http_and_refuses_a_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let config = dir.path().join("cleanroom.toml");
    std::fs::write(&config, "[log]\ncheckpoint_seconds = 1\n").unwrap();
    let held = dir.path().join("witness.checkpoint");
    let pubkey = dir.path().join("held-apart.pub");
    let witness = |server: &Server, token: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cleanroom"))
            .args(["audit", "witness", "--addr", &server.addr.to_string()])
            .args(["--token", token, "--held"])
            .arg(&held)
            .arg("--pubkey")
            .arg(&pubkey)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };

    let server = Server::start_config(&state, &config);
    let operator = server.token("operator", "acme-analytics");
    let auditor = server.token("auditor", "aud-1");
    std::fs::copy(state.join("platform.pub"), &pubkey).unwrap();
    let first = grow_log(&server, &operator, &auditor, 0);
    let (code, out) = witness(&server, &auditor);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "ACCEPTED: {first} records (the first checkpoint this witness holds)"
        )),
        "{out}"
    );
    // An operator may not read the log: the witness says why.
    let (code, out) = witness(&server, &operator);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("HTTP 403"), "{out}");

    // A copy of the state as it is now, taken with the platform stopped.
    server.kill();
    let backup = dir.path().join("backup");
    std::fs::create_dir_all(&backup).unwrap();
    for entry in std::fs::read_dir(&state).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), backup.join(entry.file_name())).unwrap();
        }
    }

    let server = Server::start_config(&state, &config);
    let second = grow_log(&server, &operator, &auditor, first);
    let (code, out) = witness(&server, &auditor);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "ACCEPTED: {second} records, consistent with the {first} held before"
        )),
        "{out}"
    );
    server.kill();

    // The platform comes back on the old copy: its log is shorter than what the witness holds.
    let server = Server::start_config(&backup, &config);
    let (code, out) = witness(&server, &auditor);
    assert_eq!(code, 5, "{out}");
    assert!(
        out.contains(&format!(
            "REFUSED: rolled back: this witness holds a checkpoint of {second} records"
        )),
        "{out}"
    );
}

/// `cleanroom query --repeat N` (for benchmarks): N runs on one warm engine, each with fresh
/// noise, one JSON line per run with its time; without `--format json` it is refused.
#[test]
fn a_repeated_query_prints_one_timed_line_per_run_with_fresh_noise() {
    let state = tempfile::tempdir().unwrap();
    let query = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_cleanroom"))
            .arg("query")
            .arg("--data")
            .arg(support::data())
            .arg("--state")
            .arg(state.path())
            .arg("--policies")
            .arg(support::policies())
            .args(["--licence", ELDER, "--scenario", SCENARIO])
            .args(extra)
            .arg(
                "SELECT district, count(*) AS n FROM residents GROUP BY district ORDER BY district",
            )
            .output()
            .unwrap()
    };
    let out = query(&["--format", "json", "--repeat", "3"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(runs.len(), 3);
    for (i, r) in runs.iter().enumerate() {
        assert_eq!(r["run"], i + 1);
        assert_eq!(r["decision"], "allowed");
        assert!(r["elapsed_ms"].as_f64().unwrap() > 0.0, "{r}");
        assert_eq!(r["rows"].as_array().unwrap().len(), 8, "{r}");
    }
    // Eight noisy counts that all repeat exactly would mean the noise did not change.
    assert_ne!(runs[0]["rows"], runs[1]["rows"]);
    // A second plain run on the same state repeats its own answer (the platform's key).
    let plain = |out: std::process::Output| -> serde_json::Value {
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["rows"].clone()
    };
    let a = plain(query(&["--format", "json"]));
    let b = plain(query(&["--format", "json"]));
    assert_eq!(a, b);
    let out = query(&["--repeat", "3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("add --format json"));
}
