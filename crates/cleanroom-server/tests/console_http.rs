//! The console over plain HTTP against a real server on 127.0.0.1: security headers, sign-in
//! and its double-submit token, sessions, the 403s the Cedar policies decide, CSRF on every
//! POST, and escaping.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

#[path = "console/fixture.rs"]
#[allow(dead_code, reason = "shared with the browser test")]
mod fixture;

use cleanroom_server::client::{Client, Response};
use fixture::{Server, form, set_cookie, sign_in};

fn assert_secured(r: &Response, what: &str) {
    assert_eq!(
        r.header("content-security-policy"),
        Some(cleanroom_server::console::CSP),
        "{what}"
    );
    assert!(cleanroom_server::console::CSP.contains("default-src 'none'"));
    assert!(cleanroom_server::console::CSP.contains("frame-ancestors 'none'"));
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{what}");
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
}

#[test]
fn console_security_sessions_roles_csrf_and_escaping() {
    let server = Server::start();
    let anon = Client::new(server.addr);

    // Headers on every console response: pages, redirects, the stylesheet, errors.
    let signin = anon.get("/console/signin").unwrap();
    assert_secured(&signin, "sign-in page");
    assert_eq!(signin.header("cache-control"), Some("no-store"));
    assert!(
        signin
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let body = signin.text();
    assert!(
        body.contains(r#"<html lang="zh-CN">"#),
        "Chinese by default"
    );
    assert!(!body.contains("<script"), "no script at all");
    let pre = set_cookie(&signin, "cr_signin").unwrap();
    assert!(
        pre.contains("HttpOnly")
            && pre.contains("SameSite=Strict")
            && pre.contains("Path=/console")
    );
    assert!(!pre.contains("Secure"), "plain HTTP: not Secure by default");
    let home = anon.get("/console").unwrap();
    assert_eq!(
        (home.status, home.header("location")),
        (303, Some("/console/signin"))
    );
    assert_secured(&home, "redirect");
    let missing = anon.get("/console/nothing-here").unwrap();
    assert_eq!(missing.status, 404);
    assert_secured(&missing, "unknown console path");
    let css_path = body
        .split(r#"rel="stylesheet" href=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let css = anon.get(css_path).unwrap();
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    assert_secured(&css, "stylesheet");
    // The API keeps its own shape, without the console's headers.
    assert!(
        anon.get("/healthz")
            .unwrap()
            .header("content-security-policy")
            .is_none()
    );

    // English through the language link, kept in a cookie.
    let en = anon.get("/console/lang/en").unwrap();
    let lang = fixture::cookie_value(set_cookie(&en, "cr_lang").unwrap());
    let english = anon
        .send(
            "GET",
            "/console/signin",
            &[("cookie", &format!("cr_lang={lang}"))],
            b"",
        )
        .unwrap();
    assert!(
        english.text().contains(r#"<html lang="en">"#) && english.text().contains("Access token")
    );

    // Sign-in needs its double-submit token: without the cookie, or with another value, 403.
    let csrf = fixture::csrf_of(&body);
    let urlenc = [("content-type", "application/x-www-form-urlencoded")];
    let no_cookie = anon
        .send(
            "POST",
            "/console/signin",
            &urlenc,
            form(&[("csrf", &csrf), ("token", &server.rev1)]).as_bytes(),
        )
        .unwrap();
    assert_eq!(no_cookie.status, 403);
    assert!(set_cookie(&no_cookie, "cr_session").is_none());
    let cookie = format!("cr_signin={}", fixture::cookie_value(pre));
    let headers = [urlenc[0], ("cookie", cookie.as_str())];
    let wrong = anon
        .send(
            "POST",
            "/console/signin",
            &headers,
            form(&[("csrf", "0000"), ("token", &server.rev1)]).as_bytes(),
        )
        .unwrap();
    assert_eq!(wrong.status, 403);
    let bad_token = anon
        .send(
            "POST",
            "/console/signin",
            &headers,
            form(&[("csrf", &csrf), ("token", "cr_not-a-token")]).as_bytes(),
        )
        .unwrap();
    assert_eq!(bad_token.status, 401);
    assert!(set_cookie(&bad_token, "cr_session").is_none());

    // A product whose name tries to inject markup.
    let product = server.waiting_product("<script>alert(1)</script> & co");

    let rev1 = sign_in(&server, &server.rev1);
    assert_eq!(rev1.csrf.len(), 64, "a 256-bit token");
    let queue = rev1.get("/console/review");
    assert_eq!(queue.status, 200);
    assert_secured(&queue, "queue");
    let queue = queue.text();
    assert!(queue.contains(&format!("/console/products/{product}")));
    assert!(queue.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
    assert!(!queue.contains("<script"));
    assert!(
        queue.contains("0 / 2"),
        "quorum progress: important-grade data needs two"
    );
    let filtered = rev1.get("/console/review?licence=LIC-BIZ-2026").text();
    assert!(
        !filtered.contains(&format!("/console/products/{product}")),
        "the filter hides other licences"
    );

    let page = rev1.get(&format!("/console/products/{product}"));
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co")
            && !html.contains("<script")
    );
    assert!(html.contains(r#"<svg xmlns="http://www.w3.org/2000/svg" class="lineage""#));
    assert!(html.contains(r#"<table class="result">"#) && html.contains("residents_65_plus"));
    assert!(!html.contains("citizen_id</td>"), "no raw rows");
    assert!(html.contains(r#"<span class="keyword">SELECT</span>"#));

    // Every POST needs the session's CSRF token: none, another session's, or none at all.
    let path = format!("/console/products/{product}/review");
    let approve = [("decision", "approve"), ("reason", "counts per district")];
    assert_eq!(rev1.post(&path, &approve).status, 403, "no token");
    let rev2 = sign_in(&server, &server.rev2);
    assert_ne!(rev1.csrf, rev2.csrf);
    let foreign = [("csrf", rev2.csrf.as_str()), approve[0], approve[1]];
    assert_eq!(
        rev1.post(&path, &foreign).status,
        403,
        "another session's token"
    );
    let anon_post = anon
        .send(
            "POST",
            &path,
            &urlenc,
            form(&[("csrf", &rev1.csrf), approve[0], approve[1]]).as_bytes(),
        )
        .unwrap();
    assert_eq!(anon_post.status, 403, "no session");
    let v = server
        .api(&server.rev1)
        .get(&format!("/v1/products/{product}"))
        .unwrap()
        .json();
    assert_eq!(
        (v["status"].as_str(), v["approvals"].as_u64()),
        (Some("pending"), Some(0)),
        "nothing was done"
    );
    // A reason is required (the platform says so).
    let empty = [("csrf", rev1.csrf.as_str()), approve[0], ("reason", " ")];
    assert_eq!(rev1.post(&path, &empty).status, 400);
    let ok = [("csrf", rev1.csrf.as_str()), approve[0], approve[1]];
    let done = rev1.post(&path, &ok);
    assert_eq!(
        (done.status, done.header("location")),
        (303, Some(format!("/console/products/{product}").as_str()))
    );
    assert!(
        rev1.get(&format!("/console/products/{product}"))
            .text()
            .contains("1 / 2")
    );

    // The operator signs in but is refused the review, licence and audit pages by the same
    // policies as the API, and the review itself; a reviewer is refused the audit log.
    let acme = sign_in(&server, &server.acme);
    for p in ["/console/review", "/console/licences", "/console/audit"] {
        let r = acme.get(p);
        assert_eq!(r.status, 403, "{p}");
        assert_secured(&r, p);
        assert!(
            r.header("content-type").unwrap().starts_with("text/html"),
            "{p}"
        );
    }
    let ok = [("csrf", acme.csrf.as_str()), approve[0], approve[1]];
    assert_eq!(acme.post(&path, &ok).status, 403);
    assert_eq!(rev1.get("/console/audit").status, 403);
    let north = sign_in(&server, &server.north);
    assert_eq!(
        north.get(&format!("/console/products/{product}")).status,
        404,
        "not theirs: absent"
    );

    // Admins see and change licences; auditors read them, read the log and verify it.
    let admin = sign_in(&server, &server.admin);
    let licences = admin.get("/console/licences");
    assert_eq!(licences.status, 200);
    // Each licence's status as the platform's clock sees it: the 2024 licence has expired.
    let page = licences.text();
    let status_of = |id: &str| -> String {
        let at = page.find(&format!(r#"id="l-{id}""#)).unwrap();
        let rest = &page[at..];
        let from = rest.find(r#"<span class="status"#).unwrap();
        let text = &rest[from..];
        let open = text.find('>').unwrap() + 1;
        text[open..open + text[open..].find('<').unwrap()].to_owned()
    };
    assert_eq!(status_of("LIC-OLD-2024"), "已过期");
    assert_eq!(status_of("LIC-ELDER-2026"), "有效");
    assert!(
        licences
            .text()
            .contains("/console/licences/LIC-BIZ-2026/suspend")
    );
    let r = admin.post(
        "/console/licences/LIC-BIZ-2026/suspend",
        &[("csrf", &admin.csrf), ("reason", "a check")],
    );
    assert_eq!(r.status, 303);
    assert!(
        admin
            .get("/console/licences")
            .text()
            .contains("/console/licences/LIC-BIZ-2026/resume")
    );
    let auditor = sign_in(&server, &server.auditor);
    let l = auditor.get("/console/licences").text();
    assert!(
        l.contains("LIC-BIZ-2026") && !l.contains("/suspend\"") && !l.contains("/resume\""),
        "read-only"
    );
    assert_eq!(
        auditor
            .post(
                "/console/licences/LIC-BIZ-2026/resume",
                &[("csrf", &auditor.csrf), ("reason", "x")]
            )
            .status,
        403
    );
    let log = auditor.get("/console/audit?action=licence");
    assert_eq!(log.status, 200);
    let log = log.text();
    assert!(
        log.contains("a check") || log.contains("licence.suspend"),
        "the suspension is in the log"
    );
    assert!(
        !log.contains("<code>product.request</code>"),
        "the filter keeps licence actions only"
    );
    let verified = auditor.post("/console/audit/verify", &[("csrf", &auditor.csrf)]);
    assert_eq!(verified.status, 200);
    assert!(verified.text().contains("校验通过"), "{}", verified.text());

    // Signing out ends the session on the server.
    let out = rev1.post("/console/signout", &[("csrf", &rev1.csrf)]);
    assert_eq!(out.status, 303);
    assert_eq!(rev1.get("/console/review").status, 303, "back to sign-in");

    // Form bodies are bounded.
    let big = "x".repeat(cleanroom_server::console::MAX_FORM_BYTES + 1);
    assert_eq!(
        rev2.post(&path, &[("csrf", &rev2.csrf), ("reason", &big)])
            .status,
        413
    );
}

#[test]
fn behind_tls_every_console_cookie_is_secure() {
    let server = Server::start_with(cleanroom_platform::BatteryProfile::Off, true);
    let (signin, r) = fixture::post_sign_in(&Client::new(server.addr), &server.rev1);
    assert!(
        set_cookie(&signin, "cr_signin")
            .unwrap()
            .contains("; Secure")
    );
    let session = set_cookie(&r, "cr_session").unwrap();
    assert!(
        session.contains("; Secure") && session.contains("HttpOnly"),
        "{session}"
    );
}
