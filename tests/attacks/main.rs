//! The attack battery against the real sandbox over generated data, three ways:
//!
//! 1. DP off (thresholds, dominance and the scans only), through the engine;
//! 2. DP on, through the engine with no ε ledger: what the noise alone withstands when an
//!    attacker may ask without limit;
//! 3. DP on, through the platform (queue, store, ε ledger): what an operator really gets.
//!
//! Then the membership test (an outlier added or not, fresh noise each trial) gives an
//! empirical lower bound on ε. The goals of the default policy are asserted on 3 (and on the
//! membership test). `CLEANROOM_ATTACKS=full` runs the full profile and writes its tables into
//! the attack battery's section of BENCHMARKS.md.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test harness: a failed assumption is a failed run"
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use cleanroom_attack::{Answer, Oracle, Outcome, Profile, Truth};
use cleanroom_engine::{Engine, EngineConfig, SessionLimits};
use cleanroom_platform::{
    Authz, Jobs, ManualClock, Platform, Principal, QueueLimits, Role, Submitted,
};
use cleanroom_policy::Policies;
use cleanroom_store::{JobStatus, SqliteStore, Store};
use cleanroom_tests::{ELDER, data_dir, exact_policies_dir, policies_dir, request, rows_text, rt};
use datafusion::arrow::ipc::reader::StreamReader;
use rand::{RngCore as _, SeedableRng as _};

fn tmp() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

fn engine(policies: &Path, data: PathBuf, state: PathBuf) -> Engine {
    Engine::new(
        Policies::load(policies).unwrap(),
        EngineConfig {
            data_dir: data,
            state_dir: state,
            limits: SessionLimits::default(),
        },
    )
}

/// Noise keys from a fixed seed, one per call: every oracle the battery asks for, and every
/// run of the membership and utility tests, gets its own key, and the outcome is reproducible
/// (a run on CI and on a laptop draw the same noise).
fn noise_keys(seed: u64) -> impl FnMut() -> [u8; 32] {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    move || {
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        key
    }
}

/// Queries straight into the engine: no ledger.
struct EngineOracle {
    engine: Engine,
    rt: tokio::runtime::Runtime,
}

impl Oracle for EngineOracle {
    fn ask(&mut self, sql: &str) -> anyhow::Result<Answer> {
        let r = self
            .rt
            .block_on(self.engine.run(&request(ELDER.0, ELDER.1, sql)))?;
        Ok(if r.is_allowed() {
            Answer::Rows(rows_text(&r.batches))
        } else {
            Answer::Refused(
                r.violations
                    .iter()
                    .map(|v| v.rule.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            )
        })
    }
}

/// Queries as jobs through the platform: licence gate, queue, ε ledger, stored results.
struct PlatformOracle {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    jobs: Arc<Jobs>,
    rt: tokio::runtime::Runtime,
}

impl PlatformOracle {
    fn new(policies: &Path, noise_key: [u8; 32]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
        ));
        let policies_loaded = Arc::new(Policies::load(policies).unwrap());
        let authz = Arc::new(Authz::load(&policies.join("authz")).unwrap());
        let platform = Arc::new(Platform::new(policies_loaded, authz, store.clone(), clock));
        let engine = Arc::new(
            engine(policies, data_dir(tmp()), dir.path().join("engine")).with_noise_key(noise_key),
        );
        let host = Arc::new(cleanroom_wasm::Host::new(cleanroom_wasm::Limits::default()).unwrap());
        // A generous daily limit is the licence's business; the attacker stays within it here
        // by the ledger refusing first.
        let jobs = Jobs::new(
            platform,
            engine,
            host,
            store.clone(),
            QueueLimits::default(),
        );
        let rt = rt();
        rt.block_on(async { jobs.start() });
        PlatformOracle {
            _dir: dir,
            store,
            jobs,
            rt,
        }
    }
}

impl Oracle for PlatformOracle {
    fn ask(&mut self, sql: &str) -> anyhow::Result<Answer> {
        let who = Principal {
            id: "acme-analytics".into(),
            role: Role::Operator,
        };
        let id = match self.jobs.submit_sql(&who, ELDER.0, ELDER.1, sql)? {
            Submitted::Queued(id) => id,
            other => return Ok(Answer::Refused(format!("{other:?}"))),
        };
        let store = self.store.clone();
        let job = self.rt.block_on(async move {
            for _ in 0..1200 {
                let job = store.job(id).unwrap().unwrap();
                if job.status.is_finished() {
                    return job;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            panic!("{id} did not finish");
        });
        if job.status != JobStatus::Succeeded {
            let report: serde_json::Value =
                serde_json::from_str(job.report.as_deref().unwrap_or("{}"))?;
            return Ok(Answer::Refused(report["violations"].to_string()));
        }
        let bytes = self.store.result(id)?.unwrap_or_default();
        let batches: Vec<_> =
            StreamReader::try_new(std::io::Cursor::new(bytes), None)?.collect::<Result<_, _>>()?;
        Ok(Answer::Rows(rows_text(&batches)))
    }
}

/// A copy of the data with one more resident: a copy of the first one under a new identifier.
fn with_outlier(data: &Path, out: &Path) -> String {
    std::fs::create_dir_all(out).unwrap();
    for e in std::fs::read_dir(data).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), out.join(e.file_name())).unwrap();
    }
    rt().block_on(async {
        let ctx = datafusion::prelude::SessionContext::new();
        ctx.register_parquet(
            "residents",
            data.join("residents.parquet").to_str().unwrap(),
            Default::default(),
        )
        .await
        .unwrap();
        let first = ctx
            .sql("SELECT district FROM residents ORDER BY citizen_id LIMIT 1")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let district = rows_text(&first)[0][0].clone();
        let schema = ctx.table("residents").await.unwrap().schema().clone();
        let cols: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| match f.name().as_str() {
                "citizen_id" => "'OUTLIER-0000000001' AS citizen_id".to_string(),
                "district" => format!("'{district}' AS district"),
                n => format!("\"{n}\""),
            })
            .collect();
        let sql = format!(
            "SELECT * FROM residents UNION ALL (SELECT {} FROM residents LIMIT 1)",
            cols.join(", ")
        );
        let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let file = std::fs::File::create(out.join("residents.parquet")).unwrap();
        let mut w =
            datafusion::parquet::arrow::ArrowWriter::try_new(file, batches[0].schema(), None)
                .unwrap();
        for b in &batches {
            w.write(b).unwrap();
        }
        w.close().unwrap();
        district
    })
}

fn membership(policies: &Path, trials: usize) -> cleanroom_attack::Membership {
    let data = data_dir(tmp());
    let plus = tmp().join(format!("data-outlier-{}", std::process::id()));
    let district = with_outlier(&data, &plus);
    let truth = Truth::open(&data).unwrap();
    let sql = "SELECT district, count(*) AS n FROM residents GROUP BY district";
    let without: f64 = truth
        .rows(sql)
        .unwrap()
        .into_iter()
        .find(|r| r[0] == district)
        .unwrap()[1]
        .parse()
        .unwrap();
    let state = tmp().join(format!("state-membership-{}", std::process::id()));
    let mut keys = noise_keys(7);
    let rt = rt();
    cleanroom_attack::membership(trials, 11, without + 0.5, |inside, _| {
        let key = keys();
        let dir = if inside { plus.clone() } else { data.clone() };
        let e = engine(policies, dir, state.clone()).with_noise_key(key);
        let r = rt.block_on(e.run(&request(ELDER.0, ELDER.1, sql)))?;
        Ok(rows_text(&r.batches)
            .into_iter()
            .find(|row| row[0] == district)
            .and_then(|row| row[1].parse().ok()))
    })
    .unwrap()
}

/// Utility: relative error of the district counts under DP, over `runs` fresh noise keys, on
/// `rows` residents. Returns (mean, largest) relative error.
fn utility(rows: u64, runs: usize) -> (f64, f64) {
    let data = if rows == cleanroom_tests::ROWS {
        data_dir(tmp())
    } else {
        let dir = tmp().join(format!("data-{rows}-{}", cleanroom_tests::SEED));
        cleanroom_demo::ensure(&dir, rows, cleanroom_tests::SEED, false).unwrap();
        dir
    };
    let sql = "SELECT district, count(*) AS n FROM residents GROUP BY district";
    let truth: std::collections::BTreeMap<String, f64> = Truth::open(&data)
        .unwrap()
        .rows(sql)
        .unwrap()
        .into_iter()
        .map(|r| (r[0].clone(), r[1].parse().unwrap()))
        .collect();
    let state = tmp().join(format!("state-utility-{}", std::process::id()));
    let mut keys = noise_keys(3);
    let rt = rt();
    let (mut sum, mut max, mut n) = (0.0f64, 0.0f64, 0usize);
    for _ in 0..runs {
        let key = keys();
        let e = engine(&policies_dir(), data.clone(), state.clone()).with_noise_key(key);
        let r = rt.block_on(e.run(&request(ELDER.0, ELDER.1, sql))).unwrap();
        for row in rows_text(&r.batches) {
            let t = truth[&row[0]];
            let rel = (row[1].parse::<f64>().unwrap() - t).abs() / t;
            sum += rel;
            max = max.max(rel);
            n += 1;
        }
    }
    (sum / n.max(1) as f64, max)
}

const MARKER: &str = "<!-- attacks -->";

/// Replaces (or appends) this battery's section of BENCHMARKS.md: from its marker line to the
/// next marker or the end; the other sections stay as they are.
fn write_section(path: &Path, report: &str) {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let body = format!(
        "## The attack battery (`CLEANROOM_ATTACKS=full cargo test --workspace --locked --test attacks`)\n\n{}",
        report.trim_end()
    );
    let new = match old.find(MARKER) {
        Some(start) => {
            let after = start + MARKER.len();
            let end = old[after..]
                .find("\n<!-- ")
                .map_or(old.len(), |i| after + i + 1);
            format!("{}{MARKER}\n{body}\n\n{}", &old[..start], &old[end..])
        }
        None => format!("{}\n\n{MARKER}\n{body}\n", old.trim_end()),
    };
    std::fs::write(path, new.trim_end().to_owned() + "\n").unwrap();
}

fn tolerance(o: &Outcome) -> f64 {
    cleanroom_attack::chance_tolerance(o.baseline, o.targets)
}

fn find<'a>(outcomes: &'a [Outcome], prefix: &str) -> &'a Outcome {
    outcomes
        .iter()
        .find(|o| o.attack.starts_with(prefix))
        .unwrap()
}

fn main() {
    let full = std::env::var("CLEANROOM_ATTACKS").is_ok_and(|v| v == "full");
    let profile = if full { Profile::FULL } else { Profile::FAST };
    let truth = Truth::open(&data_dir(tmp())).unwrap();
    let exact = exact_policies_dir(tmp());
    let dp = policies_dir();

    let engine_oracle = |policies: PathBuf, state: &'static str, seed: u64| {
        let mut key = noise_keys(seed);
        move || -> anyhow::Result<Box<dyn Oracle>> {
            Ok(Box::new(EngineOracle {
                engine: engine(&policies, data_dir(tmp()), tmp().join(state)).with_noise_key(key()),
                rt: rt(),
            }))
        }
    };
    let dp_off = cleanroom_attack::battery(
        &mut engine_oracle(exact.clone(), "state-attacks-off", 11),
        &truth,
        profile,
    )
    .unwrap();
    let dp_unlimited = cleanroom_attack::battery(
        &mut engine_oracle(dp.clone(), "state-attacks-dp", 13),
        &truth,
        profile,
    )
    .unwrap();
    // Each attack against a fresh platform: its own licence budget and refusal counter.
    let dp_ledger = cleanroom_attack::battery(
        &mut {
            let (dp, mut key) = (dp.clone(), noise_keys(17));
            move || -> anyhow::Result<Box<dyn Oracle>> {
                Ok(Box::new(PlatformOracle::new(&dp, key())))
            }
        },
        &truth,
        profile,
    )
    .unwrap();
    let m_off = membership(&exact, profile.membership_trials);
    let m_dp = membership(&dp, profile.membership_trials);
    let utility_rows = if full { 100_000 } else { cleanroom_tests::ROWS };
    let (u_mean, u_max) = utility(utility_rows, 20);

    let mut report = format!(
        "Profile: {} targets, {} rewrites on {} of them, {} membership trials; {} residents.\n\n",
        profile.targets,
        profile.rewrites,
        profile.averaging_targets,
        profile.membership_trials,
        cleanroom_tests::ROWS
    );
    for (title, o) in [
        ("DP off (thresholds, dominance, scans)", &dp_off),
        ("DP on, no ε ledger (unlimited queries)", &dp_unlimited),
        (
            "DP on, through the platform and its ε ledger (the default; a fresh licence budget per attack)",
            &dp_ledger,
        ),
    ] {
        report.push_str(&format!("### {title}\n\n{}\n", cleanroom_attack::table(o)));
    }
    report.push_str(&format!(
        "### Membership (an outlier added or not)\n\n| | accuracy | TPR | FPR | empirical ε (point) | empirical ε (95 % lower bound) |\n|---|---:|---:|---:|---:|---:|\n| DP off | {:.1} % | {:.2} | {:.2} | {:.2} | {:.2} |\n| DP on | {:.1} % | {:.2} | {:.2} | {:.2} | {:.2} |\n",
        m_off.accuracy * 100.0,
        m_off.true_positive_rate,
        m_off.false_positive_rate,
        m_off.epsilon_point,
        m_off.epsilon_lower_bound,
        m_dp.accuracy * 100.0,
        m_dp.true_positive_rate,
        m_dp.false_positive_rate,
        m_dp.epsilon_point,
        m_dp.epsilon_lower_bound,
    ));
    let trials = profile.membership_trials as f64;
    report.push_str(&format!(
        "\nThe attacker reads one released count, a measurement of ε 0.4 (the job's 0.8 split with the threshold's count): no test can tell in from out with more than e^0.4 / (1 + e^0.4) = 59.9 % accuracy, which is where the 60 % goal sits. {} trials estimate an accuracy to within ±{:.1} points (95 %).\n",
        profile.membership_trials,
        196.0 * (0.6 * 0.4 / trials).sqrt()
    ));
    report.push_str(&format!(
        "\n### Utility\n\nDistrict-level resident counts under the default DP policy, {utility_rows} residents, 20 runs with fresh noise: mean relative error {:.4} %, largest {:.4} % (goal: within 1 %).\n",
        u_mean * 100.0,
        u_max * 100.0
    ));
    println!("{report}");
    if full {
        let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../BENCHMARKS.md");
        write_section(&out, &report);
        println!("written to the `{MARKER}` section of {}", out.display());
    }

    // Without DP the attacks work: the battery can tell a leak from no leak.
    let diff_off = find(&dp_off, "differencing (<>)");
    assert!(
        diff_off.success >= 0.95,
        "differencing without DP should succeed: {diff_off:?}"
    );
    assert!(m_off.accuracy >= 0.95, "{m_off:?}");
    // The goals at the default policy.
    for o in dp_ledger.iter().chain(&dp_unlimited) {
        if o.metric == "success rate" && !o.attack.starts_with("reconstruction") {
            assert!(
                o.success <= o.baseline + tolerance(o),
                "{} succeeds {:.3} against a baseline of {:.3}",
                o.attack,
                o.success,
                o.baseline
            );
        }
    }
    let lp = find(&dp_ledger, "reconstruction");
    assert!(lp.success <= lp.baseline + tolerance(lp), "{lp:?}");
    let avg = find(&dp_unlimited, "averaging");
    assert!(
        avg.success >= avg.baseline * 0.999,
        "averaging gained accuracy: {avg:?}"
    );
    assert!(
        m_dp.accuracy <= 0.60 + 2.0 / (profile.membership_trials as f64).sqrt(),
        "{m_dp:?}"
    );
    let declared = Policies::load(&dp).unwrap().disclosure.global.epsilon;
    assert!(
        m_dp.epsilon_lower_bound <= declared,
        "empirical ε {} above the declared {declared}",
        m_dp.epsilon_lower_bound
    );
    assert!(
        u_max <= 0.01,
        "district counts off by {:.3} %",
        u_max * 100.0
    );
    println!("attack battery: every goal met");
}
