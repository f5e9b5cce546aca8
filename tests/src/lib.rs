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

/// The demo policies with differential privacy off: for the tests of the exact rules
/// (thresholds, dominance, scans), whose answers are compared with the truth. Written once per
/// test binary into `tmp`.
pub fn exact_policies_dir(tmp: &Path) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tmp.join(format!("policies-exact-{}", std::process::id()));
        copy_tree(&policies_dir(), &dir);
        let path = dir.join("disclosure.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let off = text.replace("dp = \"required\"", "dp = \"off\"");
        assert_ne!(off, text, "disclosure.toml sets dp = \"required\"");
        std::fs::write(&path, off).unwrap();
        dir
    })
    .clone()
}

/// Copies a directory tree.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
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
        dp: false,
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
    cleanroom_attack::rows_text(batches).expect("every column has a text form")
}

/// The constraints of the published OpenLineage RunEvent schema (spec 2-0-2, and the
/// column-lineage dataset facet 1-2-0) that an event must meet, checked field by field: the
/// required members and their types, the `eventType` enum, `date-time`, `uri` and `uuid`
/// formats, the base facet members of every facet, and the column-lineage structure. Returns
/// what is wrong, empty when the event conforms.
pub mod openlineage {
    use serde_json::Value;

    fn is_uri(v: &Value) -> bool {
        v.as_str().is_some_and(|s| {
            s.split_once(':').is_some_and(|(scheme, rest)| {
                !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                    && !rest.is_empty()
                    && !s.contains(' ')
            })
        })
    }

    fn is_uuid(v: &Value) -> bool {
        v.as_str().is_some_and(|s| {
            let parts: Vec<&str> = s.split('-').collect();
            parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
                && parts
                    .iter()
                    .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
        })
    }

    fn facets(where_: &str, v: &Value, out: &mut Vec<String>) {
        if v.is_null() {
            return;
        }
        let Some(map) = v.as_object() else {
            out.push(format!("{where_}: facets must be an object"));
            return;
        };
        for (name, f) in map {
            if !is_uri(&f["_producer"]) {
                out.push(format!("{where_}.{name}: `_producer` must be a URI"));
            }
            if !is_uri(&f["_schemaURL"]) {
                out.push(format!("{where_}.{name}: `_schemaURL` must be a URI"));
            }
        }
    }

    fn input_fields(where_: &str, v: &Value, out: &mut Vec<String>) {
        let Some(fields) = v.as_array() else {
            out.push(format!("{where_}: must be an array"));
            return;
        };
        for (i, f) in fields.iter().enumerate() {
            for key in ["namespace", "name", "field"] {
                if !f[key].is_string() {
                    out.push(format!("{where_}[{i}]: `{key}` must be a string"));
                }
            }
            for (j, t) in f["transformations"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                if !t["type"].is_string() {
                    out.push(format!(
                        "{where_}[{i}].transformations[{j}]: `type` is required"
                    ));
                }
                if !(t["masking"].is_null() || t["masking"].is_boolean()) {
                    out.push(format!(
                        "{where_}[{i}].transformations[{j}]: `masking` is a boolean"
                    ));
                }
            }
        }
    }

    fn datasets(where_: &str, v: &Value, out: &mut Vec<String>) {
        for (i, d) in v.as_array().into_iter().flatten().enumerate() {
            for key in ["namespace", "name"] {
                if !d[key].is_string() {
                    out.push(format!("{where_}[{i}]: `{key}` is required"));
                }
            }
            facets(&format!("{where_}[{i}].facets"), &d["facets"], out);
            let lineage = &d["facets"]["columnLineage"];
            if !lineage.is_null() {
                let Some(fields) = lineage["fields"].as_object() else {
                    out.push(format!("{where_}[{i}]: columnLineage needs `fields`"));
                    continue;
                };
                for (name, f) in fields {
                    input_fields(
                        &format!("{where_}[{i}].columnLineage.{name}.inputFields"),
                        &f["inputFields"],
                        out,
                    );
                }
                if !lineage["dataset"].is_null() {
                    input_fields(
                        &format!("{where_}[{i}].columnLineage.dataset"),
                        &lineage["dataset"],
                        out,
                    );
                }
            }
        }
        if !(v.is_null() || v.is_array()) {
            out.push(format!("{where_}: must be an array"));
        }
    }

    pub fn problems(e: &Value) -> Vec<String> {
        let mut out = Vec::new();
        if !e.is_object() {
            return vec!["an event is an object".into()];
        }
        if !matches!(
            e["eventType"].as_str(),
            None | Some("START" | "RUNNING" | "COMPLETE" | "ABORT" | "FAIL" | "OTHER")
        ) {
            out.push("`eventType` is not one of the enum".into());
        }
        if e["eventTime"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .is_none()
        {
            out.push("`eventTime` must be an RFC 3339 date-time".into());
        }
        if !is_uri(&e["producer"]) {
            out.push("`producer` must be a URI".into());
        }
        if !is_uri(&e["schemaURL"]) {
            out.push("`schemaURL` must be a URI".into());
        }
        if !is_uuid(&e["run"]["runId"]) {
            out.push("`run.runId` must be a UUID".into());
        }
        facets("run.facets", &e["run"]["facets"], &mut out);
        for key in ["namespace", "name"] {
            if !e["job"][key].is_string() {
                out.push(format!("`job.{key}` is required"));
            }
        }
        facets("job.facets", &e["job"]["facets"], &mut out);
        datasets("inputs", &e["inputs"], &mut out);
        datasets("outputs", &e["outputs"], &mut out);
        out
    }
}

/// τ covers the noise the threshold's count actually gets (grid and rounding included): a group
/// of one unit, whose count is at most the count's sensitivity Δ, reaches τ with probability at
/// most e^{-(τ-Δ)/scale}, which must not exceed the δ of one measurement.
pub fn assert_threshold_covers_its_noise(dp: &cleanroom_guard::dp::DpReport) {
    let units = dp
        .measurements
        .iter()
        .find(|m| m.target == "threshold")
        .expect("the threshold's measurement");
    let delta_each = dp.delta / dp.measurements.len() as f64;
    // A group of one unit has an exact count of at most the count's sensitivity (1 distinct
    // unit, or the weights of its rows, up to the row limit): the noise must carry it to τ.
    let tail = (-(dp.threshold as f64 - units.sensitivity) / units.scale).exp();
    assert!(
        tail <= delta_each,
        "τ = {} against noise of scale {}: one unit passes with {tail:e} > δ {delta_each:e}",
        dp.threshold,
        units.scale
    );
}
