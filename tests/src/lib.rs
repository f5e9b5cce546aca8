//! cleanroom-tests: shared fixtures of the integration tests.
//!
//! The fixture generates the demo datasets once per test binary (in `CARGO_TARGET_TMPDIR`,
//! regenerated only when missing) and offers two sessions over the same files: the sandbox
//! (`Engine`) and a plain DataFusion session that computes the truth independently.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "test support: a failed assumption is a failed test"
)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::NaiveDate;
use cleanroom_engine::{Engine, EngineConfig, JobRequest, Report, SessionLimits};
use cleanroom_policy::Policies;
use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

/// Residents in the test data: small enough for debug builds, large enough for real groups.
pub const ROWS: u64 = 20_000;
pub const SEED: u64 = 7;
/// The date jobs are decided on.
pub const TODAY: &str = "2026-06-30";

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn policies_dir() -> PathBuf {
    root().join("policies")
}

/// The generated data of this test binary.
pub fn data_dir(tmp: &Path) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tmp.join(format!("data-{ROWS}-{SEED}"));
        cleanroom_demo::ensure(&dir, ROWS, SEED, false).expect("generate test data");
        dir
    })
    .clone()
}

pub fn today() -> NaiveDate {
    NaiveDate::parse_from_str(TODAY, "%Y-%m-%d").unwrap()
}

/// An engine over the test data with the given policies.
pub fn engine_with(tmp: &Path, policies: &Path) -> Engine {
    let policies = Policies::load(policies).expect("policies load");
    let state = tmp.join(format!("state-{}", std::process::id()));
    Engine::new(
        policies,
        EngineConfig {
            data_dir: data_dir(tmp),
            state_dir: state,
            limits: SessionLimits::default(),
        },
    )
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

pub fn request(licence: &str, scenario: &str, sql: &str) -> JobRequest {
    JobRequest {
        licence: licence.into(),
        scenario: scenario.into(),
        sql: sql.into(),
        today: today(),
    }
}

pub const ELDER: (&str, &str) = ("LIC-ELDER-2026", "elderly-care-planning");
pub const BIZ: (&str, &str) = ("LIC-BIZ-2026", "enterprise-employment");

/// Runs a job in the sandbox.
pub fn run(engine: &Engine, lic: (&str, &str), sql: &str) -> Report {
    rt().block_on(engine.run(&request(lic.0, lic.1, sql)))
        .expect("the job runs")
}

/// Runs SQL in a plain DataFusion session over the same files: the independent truth.
pub fn truth(tmp: &Path, sql: &str) -> Vec<RecordBatch> {
    let dir = data_dir(tmp);
    rt().block_on(async {
        let ctx = SessionContext::new();
        for t in [
            "residents",
            "social_insurance",
            "enterprises",
            "real_estate",
        ] {
            ctx.register_parquet(
                t,
                dir.join(format!("{t}.parquet")).to_str().unwrap(),
                ParquetReadOptions::default(),
            )
            .await
            .unwrap();
        }
        ctx.sql(sql).await.unwrap().collect().await.unwrap()
    })
}

/// Every cell of a result as text, row by row (for comparing result sets).
pub fn rows_text(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let mut out = Vec::new();
    for b in batches {
        let fmts: Vec<ArrayFormatter> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &FormatOptions::default()).unwrap())
            .collect();
        for r in 0..b.num_rows() {
            out.push(fmts.iter().map(|f| f.value(r).to_string()).collect());
        }
    }
    out
}
