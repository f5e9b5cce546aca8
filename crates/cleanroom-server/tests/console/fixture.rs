//! A real server on 127.0.0.1 over the generated demo data, with a product waiting for review,
//! tokens for every role, and helpers to sign in to the console over plain HTTP.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cleanroom_platform::BatteryProfile;
use cleanroom_platform::Role;
use cleanroom_server::client::{Client, Response};
use cleanroom_server::console::percent_encode;
use cleanroom_server::{Config, Limits, Running};

/// Residents in the test data: small enough for debug builds, large enough for real groups.
const ROWS: u64 = 20_000;
const SEED: u64 = 7;
pub const ELDER: &str = "LIC-ELDER-2026";
pub const ELDER_SCENARIO: &str = "elderly-care-planning";
pub const SQL: &str = "SELECT district, count(*) AS residents_65_plus FROM residents WHERE birth_date <= DATE '1961-06-30' GROUP BY district ORDER BY residents_65_plus DESC";

fn data_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("console-data-{ROWS}-{SEED}"));
        cleanroom_demo::ensure(&dir, ROWS, SEED, false).expect("generate test data");
        dir
    })
    .clone()
}

pub struct Server {
    pub addr: SocketAddr,
    pub acme: String,
    pub north: String,
    pub rev1: String,
    pub rev2: String,
    pub admin: String,
    pub auditor: String,
    running: Option<Running>,
    rt: tokio::runtime::Runtime,
    _state: tempfile::TempDir,
}

impl Server {
    /// A server without the attack battery: reviews need not wait.
    pub fn start() -> Server {
        Self::start_with(BatteryProfile::Off, false)
    }

    pub fn start_with(battery: BatteryProfile, secure_cookies: bool) -> Server {
        let state = tempfile::tempdir().unwrap();
        let config = Config {
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            state: state.path().to_owned(),
            data: data_dir(),
            policies: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies"),
            limits: Limits {
                quiet: true,
                ..Limits::default()
            },
            battery,
            secure_cookies,
            ..Config::default()
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let running = rt.block_on(Running::start(&config)).unwrap();
        let p = running.app.platform.clone();
        let issue = |role, who| p.issue_token("test", role, who).unwrap();
        Server {
            addr: running.addr,
            acme: issue(Role::Operator, "acme-analytics"),
            north: issue(Role::Operator, "northstar-data"),
            rev1: issue(Role::Reviewer, "rev-1"),
            rev2: issue(Role::Reviewer, "rev-2"),
            admin: issue(Role::Admin, "bureau-admin"),
            auditor: issue(Role::Auditor, "bureau-auditor"),
            running: Some(running),
            rt,
            _state: state,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn api(&self, token: &str) -> Client {
        let mut c = Client::new(self.addr).with_token(token);
        c.timeout = Duration::from_secs(60);
        c
    }

    /// The operator runs the elderly-care SQL and asks to release it as a product named
    /// `name`; returns the product's number.
    pub fn waiting_product(&self, name: &str) -> i64 {
        let c = self.api(&self.acme);
        let r = c
            .post_json(
                "/v1/jobs",
                &serde_json::json!({ "licence": ELDER, "scenario": ELDER_SCENARIO, "sql": SQL }),
            )
            .unwrap();
        assert_eq!(r.status, 202, "{}", r.text());
        let job = r.json()["id"].as_str().unwrap().to_owned();
        let started = Instant::now();
        loop {
            let v = c.get(&format!("/v1/jobs/{job}")).unwrap().json();
            match v["status"].as_str().unwrap() {
                "queued" | "running" => {
                    assert!(
                        started.elapsed() < Duration::from_secs(180),
                        "{job} still running"
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
                "succeeded" => break,
                other => panic!("{job} ended {other}: {v}"),
            }
        }
        let r = c
            .post_json(
                "/v1/products",
                &serde_json::json!({ "job": job, "name": name, "description": "Residents aged 65 and over per district." }),
            )
            .unwrap();
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["id"]
            .as_str()
            .unwrap()
            .trim_start_matches("product-")
            .parse()
            .unwrap()
    }
}

impl Server {
    /// Waits (bounded) until the product's attack battery has finished; returns its state.
    pub fn battery_done(&self, product: i64) -> serde_json::Value {
        let c = self.api(&self.rev1);
        let started = Instant::now();
        loop {
            let v = c
                .get(&format!("/v1/products/product-{product}"))
                .unwrap()
                .json();
            if v["battery"]["status"] != "pending" {
                return v["battery"].clone();
            }
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "the battery of product-{product} is still running"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            let _ = self.rt.block_on(r.stop());
        }
    }
}

/// `application/x-www-form-urlencoded`.
pub fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The value of cookie `name` set by a response.
pub fn set_cookie<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str())
        .find(|v| v.starts_with(&format!("{name}=")))
}

pub fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned()
}

/// The CSRF token of the first form of a page.
pub fn csrf_of(html: &str) -> String {
    let at = html
        .find(r#"name="csrf" value=""#)
        .expect("a form with a csrf field");
    let rest = &html[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// A console session over plain HTTP.
pub struct Browser {
    pub http: Client,
    pub cookie: String,
    pub csrf: String,
}

impl Browser {
    pub fn get(&self, path: &str) -> Response {
        self.http
            .send("GET", path, &[("cookie", &self.cookie)], b"")
            .unwrap()
    }

    pub fn post(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let body = form(fields);
        self.http
            .send(
                "POST",
                path,
                &[
                    ("cookie", &self.cookie),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                body.as_bytes(),
            )
            .unwrap()
    }
}

/// Opens the sign-in form and posts `token` with its double-submit token, as the form does;
/// returns the form page and the answer to the post.
pub fn post_sign_in(http: &Client, token: &str) -> (Response, Response) {
    let page = http.get("/console/signin").unwrap();
    assert_eq!(page.status, 200);
    let pre = cookie_value(set_cookie(&page, "cr_signin").unwrap());
    let csrf = csrf_of(&page.text());
    assert_eq!(pre, csrf, "the double-submit token is the cookie's");
    let r = http
        .send(
            "POST",
            "/console/signin",
            &[
                ("cookie", &format!("cr_signin={pre}")),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            form(&[("csrf", &csrf), ("token", token)]).as_bytes(),
        )
        .unwrap();
    assert_eq!(r.status, 303, "{}", r.text());
    (page, r)
}

/// Signs in with `token` the way the sign-in form does.
pub fn sign_in(server: &Server, token: &str) -> Browser {
    let http = Client::new(server.addr);
    let (_, r) = post_sign_in(&http, token);
    let cookie = format!(
        "cr_session={}",
        cookie_value(set_cookie(&r, "cr_session").unwrap())
    );
    let home = http
        .send("GET", "/console", &[("cookie", &cookie)], b"")
        .unwrap();
    assert_eq!(home.status, 200);
    let csrf = csrf_of(&home.text());
    Browser { http, cookie, csrf }
}
