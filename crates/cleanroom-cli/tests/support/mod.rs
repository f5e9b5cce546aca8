//! The real binary serving on a loopback port, over the generated demo data, for the HTTP
//! tests. Every response body a test reads is kept, so that the test can check that none holds
//! a raw value of the data.

#![allow(dead_code, reason = "each test binary uses part of this")]

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use cleanroom_server::client::{Client, Response};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn policies() -> PathBuf {
    root().join("policies")
}

/// Demo data shared by the tests of one binary (generated once).
pub fn data() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("http-data-20000-7");
        if !dir.join("residents.parquet").exists() {
            let out = Command::new(env!("CARGO_BIN_EXE_cleanroom"))
                .args([
                    "demo", "generate", "--rows", "20000", "--seed", "7", "--out",
                ])
                .arg(&dir)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        dir
    })
}

/// Raw values no response may contain: every citizen id, phone number and name (of three
/// characters or more: shorter ones occur inside ordinary Chinese text) of the residents.
pub fn raw_values() -> &'static Vec<String> {
    static RAW: OnceLock<Vec<String>> = OnceLock::new();
    RAW.get_or_init(|| {
        let file = std::fs::File::open(data().join("residents.parquet")).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let mut out = Vec::new();
        for batch in reader {
            let batch = batch.unwrap();
            for name in ["citizen_id", "phone", "name"] {
                let col = batch.column_by_name(name).unwrap();
                let col = col.as_string::<i32>();
                for i in 0..col.len() {
                    if col.is_valid(i) && col.value(i).chars().count() >= 3 {
                        out.push(col.value(i).to_owned());
                    }
                }
            }
        }
        out
    })
}

/// One automaton for all of [`raw_values`]: a body is scanned once, however many values there
/// are (tens of thousands: one `contains` per value and body took minutes).
fn raw_finder() -> &'static aho_corasick::AhoCorasick {
    static FINDER: OnceLock<aho_corasick::AhoCorasick> = OnceLock::new();
    FINDER.get_or_init(|| {
        let values = raw_values();
        assert!(values.len() > 1000, "the test data has raw values");
        let finder = aho_corasick::AhoCorasick::new(values).unwrap();
        let probe = format!("[\"{}\"]", values[values.len() / 2]);
        assert!(finder.is_match(&probe), "the finder finds a raw value");
        finder
    })
}

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub state: PathBuf,
    bodies: Mutex<Vec<Vec<u8>>>,
}

impl Server {
    /// Starts `cleanroom serve` on 127.0.0.1 (a free port) with the state in `state`.
    pub fn start(state: &Path) -> Server {
        Self::start_with(state, &policies(), &[])
    }

    pub fn start_with(state: &Path, policies: &Path, env: &[(&str, &str)]) -> Server {
        Self::start_full(state, policies, Path::new("/dev/null"), env)
    }

    /// Starts with a configuration file of the test's making.
    pub fn start_config(state: &Path, config: &Path) -> Server {
        Self::start_full(state, &policies(), config, &[])
    }

    fn start_full(state: &Path, policies: &Path, config: &Path, env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cleanroom"))
            .args(["serve", "--address", "127.0.0.1:0", "--config"])
            .arg(config)
            // The battery has its own tests (tests/tests/jobs.rs, the demo); reviews here need
            // not wait for it.
            .args(["--battery", "off"])
            .arg("--state")
            .arg(state)
            .arg("--data")
            .arg(data())
            .arg("--policies")
            .arg(policies)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        Server {
            child,
            addr,
            state: state.to_owned(),
            bodies: Mutex::new(Vec::new()),
        }
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A token issued by the CLI against this server's store.
    pub fn token(&self, role: &str, principal: &str) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_cleanroom"))
            .args(["token", "issue", "--role", role, "--principal", principal])
            .arg("--policies")
            .arg(policies())
            .arg("--state")
            .arg(&self.state)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    pub fn client(&self, token: Option<&str>) -> Caller<'_> {
        let client = Client::new(self.addr);
        Caller {
            server: self,
            client: match token {
                Some(t) => client.with_token(t),
                None => client,
            },
        }
    }

    /// Asserts that no response read so far holds a citizen id or a name of the data.
    pub fn assert_no_raw_values(&self) {
        let bodies = self.bodies.lock().unwrap();
        assert!(!bodies.is_empty());
        let raw = raw_finder();
        for body in bodies.iter() {
            assert!(!raw.is_match(body), "a response holds a raw value");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client that keeps every body it reads.
pub struct Caller<'a> {
    server: &'a Server,
    pub client: Client,
}

impl Caller<'_> {
    fn keep(&self, r: std::io::Result<Response>) -> Response {
        let r = r.unwrap();
        self.server.bodies.lock().unwrap().push(r.body.clone());
        r
    }

    pub fn get(&self, path: &str) -> Response {
        self.keep(self.client.get(path))
    }

    pub fn get_as(&self, path: &str, accept: &str) -> Response {
        self.keep(self.client.get_as(path, accept))
    }

    pub fn post(&self, path: &str, body: serde_json::Value) -> Response {
        self.keep(self.client.post_json(path, &body))
    }

    pub fn post_raw(&self, path: &str, content_type: &str, body: &[u8]) -> Response {
        self.keep(
            self.client
                .send("POST", path, &[("content-type", content_type)], body),
        )
    }

    pub fn post_multipart(&self, path: &str, parts: &[(&str, &[u8])]) -> Response {
        self.keep(self.client.post_multipart(path, parts))
    }

    /// Waits until a job has finished; returns its view.
    pub fn finished(&self, id: &str) -> serde_json::Value {
        for _ in 0..600 {
            let r = self.get(&format!("/v1/jobs/{id}"));
            assert_eq!(r.status, 200, "{}", r.text());
            let v = r.json();
            if !["queued", "running"].contains(&v["status"].as_str().unwrap_or("")) {
                return v;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("{id} did not finish in a minute");
    }
}

pub const ELDER: &str = "LIC-ELDER-2026";
pub const SCENARIO: &str = "elderly-care-planning";
/// An allowed aggregate over the elder licence.
pub const ALLOWED_SQL: &str =
    "SELECT district, COUNT(*) AS people FROM residents GROUP BY district";
/// A query that reads raw identifiers: blocked.
pub const BLOCKED_SQL: &str = "SELECT citizen_id, name FROM residents";

pub fn sql_job(sql: &str) -> serde_json::Value {
    serde_json::json!({ "licence": ELDER, "scenario": SCENARIO, "sql": sql })
}
