//! Crash safety against the real binary: jobs are submitted from several clients while the
//! server is killed with SIGKILL at a random moment, again and again on the same state. After
//! each restart every acknowledged job is there, none is left queued or running (each one
//! interrupted has its record), and no result file is without its row.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cleanroom_store::{JobId, SqliteStore, Store};
use support::{ALLOWED_SQL, BLOCKED_SQL, Server, sql_job};

/// Rounds of submit-and-kill.
const ROUNDS: usize = 10;

/// A small xorshift generator: the seed is printed, so a failing round can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn sigkill_at_random_points_loses_nothing_acknowledged() {
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let acknowledged: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let mut token = None;
    let mut kills = 0;
    for round in 0..ROUNDS {
        let server = Server::start(dir.path());
        let token = token
            .get_or_insert_with(|| server.token("operator", "acme-analytics"))
            .clone();
        check_recovered(&server, &token, &acknowledged, round);
        let stop = Instant::now() + Duration::from_millis(200 + rng.next() % 1_500);
        let mut clients = Vec::new();
        for c in 0..4 {
            let client = cleanroom_server::client::Client::new(server.addr).with_token(&token);
            let acknowledged = acknowledged.clone();
            clients.push(std::thread::spawn(move || {
                let mut n = 0;
                while Instant::now() < stop && n < 40 {
                    let sql = if (c + n) % 3 == 0 {
                        BLOCKED_SQL
                    } else {
                        ALLOWED_SQL
                    };
                    n += 1;
                    // A connection cut by the kill is not an acknowledgement.
                    if let Ok(r) = client.post_json("/v1/jobs", &sql_job(sql))
                        && r.status == 202
                    {
                        let id = r.json()["id"].as_str().unwrap().to_owned();
                        acknowledged.lock().unwrap().insert(id);
                    }
                }
            }));
        }
        std::thread::sleep(stop.saturating_duration_since(Instant::now()));
        server.kill();
        kills += 1;
        for c in clients {
            c.join().unwrap();
        }
    }
    let server = Server::start(dir.path());
    check_recovered(&server, token.as_deref().unwrap(), &acknowledged, ROUNDS);
    drop(server);
    assert_eq!(kills, ROUNDS);
    assert!(
        acknowledged.lock().unwrap().len() >= ROUNDS,
        "the rounds acknowledged too few jobs to mean anything"
    );
    eprintln!(
        "{kills} kills, {} acknowledged jobs, none lost",
        acknowledged.lock().unwrap().len()
    );
}

/// After a restart: every acknowledged job is there and finished; every interrupted one has
/// its record; every result file has its row and every row its file.
fn check_recovered(
    server: &Server,
    token: &str,
    acknowledged: &Mutex<BTreeSet<String>>,
    round: usize,
) {
    let client = server.client(Some(token));
    let store = SqliteStore::open(&server.state).unwrap();
    let interrupted: BTreeSet<String> = store
        .audit_after(0, 1_000_000)
        .unwrap()
        .into_iter()
        .filter(|r| r.audit.action == "job.interrupt")
        .map(|r| r.audit.object)
        .collect();
    let mut files = BTreeSet::new();
    for id in acknowledged.lock().unwrap().iter() {
        let r = client.get(&format!("/v1/jobs/{id}"));
        assert_eq!(r.status, 200, "round {round}: acknowledged {id} is lost");
        let status = r.json()["status"].as_str().unwrap().to_owned();
        // Checked before any new submission: every job is of a killed process.
        assert!(
            !["queued", "running"].contains(&status.as_str()),
            "round {round}: {id} is still {status} after the restart"
        );
        let n: i64 = id.trim_start_matches("job-").parse().unwrap();
        let row = store.job(JobId(n)).unwrap().unwrap();
        if status == "interrupted" {
            assert!(
                interrupted.contains(id),
                "round {round}: {id} interrupted without a record"
            );
        }
        if let Some(f) = row.result_file {
            assert_eq!(
                status, "succeeded",
                "round {round}: {id} has a result but is {status}"
            );
            files.insert(f);
        }
    }
    // Every file in the results directory belongs to a job row that points to it.
    let pointed: BTreeSet<String> = store
        .jobs(None, usize::MAX)
        .unwrap()
        .into_iter()
        .filter_map(|j| j.result_file)
        .collect();
    let results = server.state.join("results");
    if results.is_dir() {
        for entry in std::fs::read_dir(&results).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                pointed.contains(&name),
                "round {round}: orphan file {name} in the results directory"
            );
        }
    }
    for f in files {
        assert!(results.join(&f).is_file(), "round {round}: {f} missing");
    }
}
