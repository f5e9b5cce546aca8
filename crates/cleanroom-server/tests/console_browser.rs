//! The reviewer console in a real headless Chromium (Debian `chromium` and `chromium-driver`),
//! driven over the W3C WebDriver protocol, against a real server on 127.0.0.1. Screenshots of
//! every page go to `target/console-screenshots/`.
//!
//! Without `chromedriver` on the PATH this test fails (it does not skip): `.ci/run` installs it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

#[path = "console/fixture.rs"]
#[allow(dead_code, reason = "shared with the HTTP test")]
mod fixture;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cleanroom_platform::BatteryProfile;
use cleanroom_server::client::Client;
use fixture::Server;
use serde_json::{Value, json};

/// The key of a WebDriver element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// A chromedriver process and one browser session; both end when this is dropped.
struct Driver {
    child: Child,
    addr: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
}

impl Driver {
    fn start() -> Driver {
        let exe = find_on_path("chromedriver").unwrap_or_else(|| {
            panic!(
                "chromedriver is not on the PATH: the browser tests need Debian's chromium and \
                 chromium-driver (`apt-get install -y chromium chromium-driver`, as .ci/run does)"
            )
        });
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(exe)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let mut driver = Driver {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            session: String::new(),
            _profile: profile,
        };
        let started = Instant::now();
        while !driver
            .send("GET", "/status", None)
            .is_ok_and(|(_, v)| v["value"]["ready"] == true)
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut options = json!({
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,2200",
                format!("--user-data-dir={}", driver._profile.path().display()),
            ]
        });
        if Path::new("/usr/bin/chromium").is_file() {
            options["binary"] = json!("/usr/bin/chromium");
        }
        let v = driver.call(
            "POST",
            "/session",
            json!({ "capabilities": { "alwaysMatch": { "browserName": "chrome", "goog:chromeOptions": options, "timeouts": { "pageLoad": 60000, "implicit": 0 } } } }),
        );
        driver.session = v["sessionId"].as_str().unwrap().to_owned();
        driver
    }

    /// One WebDriver request. chromedriver keeps connections open, so the answer is read by
    /// its Content-Length, not to the end of the stream.
    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> std::io::Result<(u16, Value)> {
        let mut stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(90)))?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            self.addr,
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.as_bytes())?;
        let mut raw = Vec::new();
        let mut buf = [0u8; 64 << 10];
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
        loop {
            if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..end]).to_string();
                let status: u16 = head
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| bad("no status"))?;
                let length: usize = head
                    .lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.trim().parse().ok())
                    .ok_or_else(|| bad("no content-length"))?;
                if raw.len() >= end + 4 + length {
                    let value = serde_json::from_slice(&raw[end + 4..end + 4 + length])
                        .map_err(|_| bad("not JSON"))?;
                    return Ok((status, value));
                }
            }
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Err(bad("closed early"));
            }
            raw.extend_from_slice(&buf[..n]);
            if raw.len() > 64 << 20 {
                return Err(bad("answer too large"));
            }
        }
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let body = (method != "GET").then_some(&body);
        let (status, v) = self.send(method, path, body).unwrap();
        assert_eq!(status, 200, "{method} {path}: {v}");
        v["value"].clone()
    }

    fn at(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    fn goto(&self, url: &str) {
        self.call("POST", &self.at("/url"), json!({ "url": url }));
    }

    fn url(&self) -> String {
        self.call("GET", &self.at("/url"), Value::Null)
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            &self.at("/element"),
            json!({ "using": "css selector", "value": css }),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_owned()
    }

    fn count(&self, css: &str) -> usize {
        let v = self.call(
            "POST",
            &self.at("/elements"),
            json!({ "using": "css selector", "value": css }),
        );
        v.as_array().unwrap().len()
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &self.at(&format!("/element/{e}/click")), json!({}));
    }

    /// Clicks something that loads a new page, and waits (bounded) until the new document is
    /// there: a click returns before a form's navigation has finished.
    fn open(&self, css: &str) {
        let before = self.document();
        self.click(css);
        let started = Instant::now();
        while self.document().is_none() || self.document() == before {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{css} did not load a page"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The current document's root element, if there is one right now.
    fn document(&self) -> Option<String> {
        let body = json!({ "using": "css selector", "value": "html" });
        let (status, v) = self.send("POST", &self.at("/element"), Some(&body)).ok()?;
        (status == 200).then(|| v["value"][ELEMENT].as_str().map(str::to_owned))?
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &self.at(&format!("/element/{e}/value")),
            json!({ "text": text }),
        );
    }

    fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.call("GET", &self.at(&format!("/element/{e}/text")), Value::Null)
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn cookie(&self, name: &str) -> String {
        self.call("GET", &self.at(&format!("/cookie/{name}")), Value::Null)["value"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Saves a PNG of the viewport as `target/console-screenshots/<name>.png`.
    fn screenshot(&self, name: &str) -> PathBuf {
        let v = self.call("GET", &self.at("/screenshot"), Value::Null);
        let png = base64_decode(v.as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let dir = screenshots();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    fn sign_in(&self, server: &Server, token: &str) {
        self.goto(&server.url("/console/signin"));
        self.type_into("#token", token);
        self.open("main button[type=submit]");
        assert!(
            self.url().ends_with("/console"),
            "signed in: {}",
            self.url()
        );
    }

    fn sign_out(&self) {
        self.open("header form button[type=submit]");
        assert!(self.url().ends_with("/console/signin"));
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.send("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn screenshots() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("console-screenshots")
}

/// Standard base64 (the screenshot), without a dependency for it.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64"),
        }
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.trim_end_matches('=').as_bytes().chunks(4) {
        let n = chunk.iter().fold(0u32, |acc, c| (acc << 6) | value(*c)) << (6 * (4 - chunk.len()));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

#[test]
fn reviewers_approve_in_the_browser_and_the_operator_downloads() {
    let driver = Driver::start();
    // The server runs the attack battery on the product, as by default; reviews wait for it.
    let server = Server::start_with(BatteryProfile::Fast, false);
    let product = server.waiting_product("Residents aged 65+ per district");
    let battery = server.battery_done(product);
    assert_eq!(battery["status"], "done", "{battery}");
    let product_path = format!("/console/products/{product}");

    // The first reviewer: sign in, the queue, the product with its report, lineage and result.
    driver.goto(&server.url("/console/signin"));
    assert_eq!(driver.text("h1"), "登录");
    driver.screenshot("01-signin");
    driver.sign_in(&server, &server.rev1);
    driver.open("nav a[href='/console/review']");
    assert!(
        driver
            .text("table.queue")
            .contains("Residents aged 65+ per district")
    );
    assert!(driver.text("table.queue").contains("0 / 2"));
    driver.screenshot("02-queue");
    driver.open(&format!("table.queue a[href='{product_path}']"));
    assert!(driver.url().ends_with(&product_path));
    assert!(driver.text("#h-report").contains("策略检查报告"));
    assert!(driver.text("pre.sql").contains("GROUP BY district"));
    assert_eq!(driver.count("svg.lineage"), 1, "the lineage picture");
    assert!(
        driver.count("svg.lineage .e-identity") >= 1,
        "district passed through: an identity line"
    );
    assert!(
        driver.count("svg.lineage .e-group-by") >= 1,
        "GROUP BY district: a group-by line"
    );
    assert!(
        driver.count("svg.lineage .e-filter") >= 1,
        "the WHERE as a filter line"
    );
    let result = driver.text("table.result");
    assert!(
        result.contains("residents_65_plus") && result.contains("district"),
        "{result}"
    );
    assert!(driver.count("table.result tbody tr") >= 1);
    // The battery's report: its status and one row per attack.
    assert_eq!(driver.text("strong.battery-status"), "已完成");
    assert_eq!(
        driver.count("table.battery tbody tr"),
        battery["report"]["outcomes"].as_array().unwrap().len()
    );
    assert!(driver.text("table.battery").contains("differencing"));
    let shot = driver.screenshot("03-product");
    if std::env::var_os("CLEANROOM_DOCS_SCREENSHOT").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/console-product.png");
        std::fs::copy(&shot, docs).unwrap();
    }
    driver.click("#d-approve");
    driver.type_into(
        "#reason",
        "Counts per district; k respected; no identifiers.",
    );
    driver.open("#submit-review");
    assert!(
        driver.url().ends_with(&product_path),
        "{}: {}",
        driver.url(),
        driver.text("main")
    );
    assert!(
        driver.text("dl.facts").contains("1 / 2"),
        "one of two approvals"
    );
    assert!(driver.text("ul.reviews").contains("rev-1"));
    assert_eq!(
        driver.count("#submit-review"),
        1,
        "still pending: the form stays for others"
    );
    driver.screenshot("04-approved-once");

    // A form POST without its CSRF token, with this browser's own session cookie, is refused.
    let session = driver.cookie("cr_session");
    let r = Client::new(server.addr)
        .send(
            "POST",
            &format!("{product_path}/review"),
            &[
                ("cookie", &format!("cr_session={session}")),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            b"decision=approve&reason=forged",
        )
        .unwrap();
    assert_eq!(r.status, 403);
    driver.sign_out();

    // The second reviewer completes the quorum (important-grade data needs two).
    driver.sign_in(&server, &server.rev2);
    driver.goto(&server.url(&product_path));
    driver.click("#d-approve");
    driver.type_into("#reason", "Agreed: aggregate counts only.");
    driver.open("#submit-review");
    assert!(driver.text("span.status").contains("approved"));
    let registration = driver.text("strong.registration");
    assert!(registration.starts_with("CR-"), "{registration}");
    assert!(
        driver
            .text("main")
            .contains(&format!("/v1/products/{product}/passport"))
    );
    assert_eq!(driver.count("#submit-review"), 0, "decided: no form");
    driver.screenshot("05-approved");
    driver.sign_out();

    // The operator downloads the product through the API.
    let r = server
        .api(&server.acme)
        .get_as(&format!("/v1/products/{product}/download"), "text/csv")
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(
        r.text().starts_with("district,residents_65_plus"),
        "{}",
        r.text()
    );

    // The operator is refused the review page.
    driver.sign_in(&server, &server.acme);
    driver.goto(&server.url("/console/review"));
    assert_eq!(driver.text("h1"), "无权访问");
    driver.screenshot("06-operator-refused");
    driver.open("main a[href='/console']");
    driver.sign_out();

    // The admin's licences, in English; the auditor's log and its verification.
    driver.goto(&server.url("/console/lang/en"));
    driver.sign_in(&server, &server.admin);
    driver.open("nav a[href='/console/licences']");
    assert!(driver.text("main").contains("LIC-ELDER-2026"));
    assert_eq!(driver.text("h1"), "Licences");
    driver.screenshot("07-licences");
    driver.sign_out();
    driver.sign_in(&server, &server.auditor);
    driver.open("nav a[href='/console/audit']");
    assert_eq!(driver.text("h1"), "Audit log");
    driver.type_into("#f-action", "product.review");
    driver.open("form.filters button[type=submit]");
    let log = driver.text("table.audit");
    assert!(
        log.contains("product.review.approve") && log.contains("rev-2"),
        "{log}"
    );
    assert!(!log.contains("product.request"), "filtered");
    driver.screenshot("08-audit");
    driver.open("#verify-now");
    assert!(driver.text("p.ok").starts_with("OK"));
    driver.screenshot("09-verified");
}
