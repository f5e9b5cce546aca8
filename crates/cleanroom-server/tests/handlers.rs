//! The router in process, through `tower::ServiceExt::oneshot`: the envelope (request id,
//! errors in the API's shape), authentication, the catalog by role, strict JSON bodies and the
//! OpenAPI document made from the route table.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cleanroom_platform::Role;
use cleanroom_server::{App, Config, Limits, router};
use tower::ServiceExt as _;

fn config(state: &Path) -> Config {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    Config {
        state: state.to_owned(),
        data: state.join("no-data"),
        policies: root.join("policies"),
        limits: Limits {
            quiet: true,
            rate_per_second: 1.0,
            rate_burst: 3,
            ..Limits::default()
        },
        ..Config::default()
    }
}

async fn call(
    app: &Arc<App>,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (StatusCode, Option<String>, serde_json::Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if !body.is_empty() {
        req = req.header("content-type", "application/json");
    }
    let resp = router(app.clone())
        .oneshot(req.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let id = resp
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, id, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_envelope_authentication_and_strict_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let (app, recovery) = App::open(&config(dir.path())).unwrap();
    assert!(recovery.interrupted.is_empty());

    let (status, id, body) = call(&app, "GET", "/healthz", None, "").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    assert!(id.unwrap().starts_with("req-"));

    // Errors, the framework's included, come in the API's shape with the request id.
    for (method, path, expected, code) in [
        ("GET", "/v1/nothing", StatusCode::NOT_FOUND, "not_found"),
        (
            "DELETE",
            "/v1/catalog",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "GET",
            "/v1/catalog",
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
    ] {
        let (status, id, body) = call(&app, method, path, None, "").await;
        assert_eq!(status, expected, "{method} {path}");
        assert_eq!(body["error"]["code"], code);
        assert_eq!(body["error"]["request_id"].as_str(), id.as_deref());
    }

    let acme = app
        .platform
        .issue_token("test", Role::Operator, "acme-analytics")
        .unwrap();
    let (status, _, body) = call(&app, "GET", "/v1/catalog", Some(&acme), "").await;
    assert_eq!(status, StatusCode::OK);
    let licences: Vec<&str> = body["licences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert!(licences.contains(&"LIC-ELDER-2026"));
    assert!(
        !licences.contains(&"LIC-BIZ-2026"),
        "only the caller's licences"
    );
    let datasets = body["datasets"].as_array().unwrap();
    assert_eq!(datasets.len(), 2, "residents and social insurance");
    assert!(
        datasets.iter().all(|d| d["name"]
            .as_str()
            .is_some_and(|n| !n.contains("Real estate"))),
        "no dataset outside the caller's licences"
    );

    let (status, _, body) = call(
        &app,
        "POST",
        "/v1/products",
        Some(&acme),
        r#"{"job": "job-1", "name": "n", "description": "d", "extra": true}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["message"].as_str().unwrap().contains("extra"));

    // The third request above used the burst of three; the fourth within a second (at one
    // request per second) exceeds it.
    let (status, _, _) = call(&app, "GET", "/v1/jobs", Some(&acme), "").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = call(&app, "GET", "/v1/jobs", Some(&acme), "").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");

    let (status, _, doc) = call(&app, "GET", "/openapi.json", None, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/v1/jobs"]["post"].is_object());
    assert!(doc["paths"]["/v1/products/{id}/reviews"]["post"]["security"].is_array());

    let (status, _, _) = call(&app, "GET", "/metrics", None, "").await;
    assert_eq!(status, StatusCode::OK);
}

async fn get_text(app: &Arc<App>, path: &str, token: &str) -> (StatusCode, String) {
    let req = Request::builder()
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let resp = router(app.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

fn hashes(v: &serde_json::Value) -> Vec<cleanroom_tlog::Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| cleanroom_tlog::hash_from_b64(h.as_str().unwrap()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_serves_signed_checkpoints_and_proofs_that_verify_offline() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.limits.rate_per_second = 1000.0;
    config.limits.rate_burst = 1000;
    let (app, _) = App::open(&config).unwrap();
    let auditor = app
        .platform
        .issue_token("test", Role::Auditor, "audit-office")
        .unwrap();
    let acme = app
        .platform
        .issue_token("test", Role::Operator, "acme-analytics")
        .unwrap();
    let verifier = cleanroom_store::log::read_verifier(&dir.path().join("platform.pub")).unwrap();

    let (status, _, body) = call(&app, "GET", "/v1/audit/checkpoint", Some(&acme), "").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // The first checkpoint, then more records, then a proof that signs the next one.
    let (status, first) = get_text(&app, "/v1/audit/checkpoint", &auditor).await;
    assert_eq!(status, StatusCode::OK);
    let first = verifier.open_checkpoint(&first).unwrap();
    assert_eq!(first.origin, "cleanroom.local/audit");
    for i in 0..5 {
        app.platform
            .issue_token("test", Role::Reviewer, &format!("reviewer-{i}"))
            .unwrap();
    }
    let newest = first.size + 5;
    let (status, _, body) = call(
        &app,
        "GET",
        &format!("/v1/audit/proof/inclusion?seq={newest}"),
        Some(&auditor),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second = verifier
        .open_checkpoint(body["checkpoint"].as_str().unwrap())
        .unwrap();
    assert_eq!(second.size, newest);
    let record = body["record"].as_str().unwrap();
    assert!(record.contains("\"action\":\"token.issue\""), "{record}");
    let leaf = cleanroom_tlog::leaf_hash(record.as_bytes());
    cleanroom_tlog::verify_inclusion(
        newest - 1,
        newest,
        &leaf,
        &hashes(&body["proof"]),
        &second.root,
    )
    .unwrap();

    let (status, _, body) = call(
        &app,
        "GET",
        &format!("/v1/audit/proof/consistency?from={}", first.size),
        Some(&auditor),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    cleanroom_tlog::verify_consistency(
        first.size,
        second.size,
        &first.root,
        &second.root,
        &hashes(&body["proof"]),
    )
    .unwrap();

    for bad in [
        "/v1/audit/proof/inclusion?seq=0",
        "/v1/audit/proof/inclusion?seq=999999",
        "/v1/audit/proof/inclusion?seq=1&size=3",
        "/v1/audit/proof/consistency?from=0",
        "/v1/audit/proof/inclusion?seq=x",
    ] {
        let (status, _, body) = call(&app, "GET", bad, Some(&auditor), "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_signed_on_a_timer_and_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.address = "127.0.0.1:0".parse().unwrap();
    config.log.checkpoint_seconds = 1;
    config.log.checkpoint_every = 1_000;
    let server = cleanroom_server::Running::start(&config).await.unwrap();
    let platform = server.app.platform.clone();
    platform
        .issue_token("test", Role::Auditor, "audit-office")
        .unwrap();
    let store = platform.store().clone();
    let size = store.log_size().unwrap();
    assert!(size >= 1);
    // Well under the 1,000-record interval: the timer signs it within a few seconds.
    let mut signed = 0;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        signed = store.latest_checkpoint().unwrap().map_or(0, |c| c.size);
        if signed >= size {
            break;
        }
    }
    assert_eq!(signed, size, "the timer signed the log");
    server.stop().await.unwrap();
    drop((platform, store));
    // With no timer to speak of, only the shutdown signs the last record.
    config.log.checkpoint_seconds = 3_600;
    let server = cleanroom_server::Running::start(&config).await.unwrap();
    let platform = server.app.platform.clone();
    let store = platform.store().clone();
    platform
        .issue_token("test", Role::Reviewer, "late-reviewer")
        .unwrap();
    let size = store.log_size().unwrap();
    assert!(store.latest_checkpoint().unwrap().unwrap().size < size);
    server.stop().await.unwrap();
    assert_eq!(
        store.latest_checkpoint().unwrap().unwrap().size,
        size,
        "the last record is signed on shutdown"
    );
}
