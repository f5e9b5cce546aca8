//! WASM jobs end to end: real components (built from `sandbox/modules`), the real host, the
//! guard on the input and on the host's aggregation, over the generated demo data.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::Path;
use std::sync::{Arc, OnceLock};

use cleanroom_engine::{
    Engine, Error, GuestFunctions, JobRequest, Manifest, Report, WasmJob, WasmReport,
};
use cleanroom_guard::RuleId;
use cleanroom_tests::{engine_with, exact_policies_dir, policies_dir, root, rows_text, rt, today};
use cleanroom_wasm::{Host, Limits};

fn tmp() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| Host::new(Limits::default()).unwrap())
}

fn manifest(module: &str) -> Manifest {
    let text =
        std::fs::read_to_string(root().join("sandbox/modules").join(module).join("job.toml"))
            .unwrap();
    Manifest::parse(&text).unwrap()
}

fn run(engine: &Engine, component: &str, manifest: Manifest) -> Result<WasmReport, Error> {
    let job = WasmJob {
        manifest,
        component: cleanroom_components::bytes(component).unwrap(),
        today: today(),
        seed: 1,
    };
    rt().block_on(engine.run_wasm(host(), &job))
}

fn rules(r: &WasmReport) -> Vec<RuleId> {
    r.report.violations.iter().map(|v| v.rule).collect()
}

#[test]
fn the_elderly_need_index_is_released_per_district_after_the_checks() {
    let engine = engine_with(tmp(), &policies_dir());
    let r = run(&engine, "elderly-need", manifest("elderly-need")).unwrap();
    assert!(r.report.is_allowed(), "{:?}", r.report.violations);
    assert!(r.report.interactive, "LIC-ELDER-2026 is interactive");
    assert_eq!(r.report.columns, vec!["district", "need_index", "rank"]);
    let rows = rows_text(&r.report.batches);
    // Which districts appear is itself differentially private (a noisy threshold), so the test
    // holds the release to what DP promises rather than to one draw: compared with the exact
    // distinct-resident counts (the same job under the exact policies), a district more than twelve
    // noise scales above the threshold is released (it is dropped with probability below 1e-5),
    // and no district is released twice or out of nowhere.
    let dp = r
        .report
        .dp
        .as_ref()
        .expect("DP applies to the host's aggregation");
    let threshold = dp
        .measurements
        .iter()
        .find(|m| m.target == "threshold")
        .expect("the threshold's measurement");
    cleanroom_tests::assert_threshold_covers_its_noise(dp);
    let sure = dp.threshold as f64 + 12.0 * threshold.scale;
    let exact = engine_with(tmp(), &exact_policies_dir(tmp()));
    let exact = run(&exact, "elderly-need", manifest("elderly-need")).unwrap();
    let districts: Vec<String> = rows.iter().map(|row| row[0].clone()).collect();
    let mut unique = districts.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), districts.len(), "{districts:?}");
    assert!(exact.report.is_allowed(), "{:?}", exact.report.violations);
    let exact = rows_text(&exact.aggregates);
    assert_eq!(exact.len(), 8, "eight districts have elderly residents");
    let mut sure_count = 0;
    for a in &exact {
        let units: f64 = a[2].parse().unwrap();
        if units >= sure {
            sure_count += 1;
            assert!(districts.contains(&a[0]), "{} missing: {districts:?}", a[0]);
        }
    }
    assert!(
        sure_count >= 4,
        "the test data gives several districts a clear margin"
    );
    let known: Vec<&String> = exact.iter().map(|a| &a[0]).collect();
    assert!(
        districts.iter().all(|d| known.contains(&d)),
        "{districts:?}"
    );
    for (i, row) in rows.iter().enumerate() {
        let index: f64 = row[1].parse().unwrap();
        assert!((0.0..=100.0).contains(&index), "{row:?}");
        assert_eq!(row[2], (i + 1).to_string());
    }
    // The aggregates the product came from: every district reaches k distinct residents.
    let aggregates = rows_text(&r.aggregates);
    assert!(
        aggregates
            .iter()
            .all(|a| a[2].parse::<i64>().unwrap() >= 10),
        "{aggregates:?}"
    );
    assert!(r.input_rows > 0 && r.contributions > 0 && r.contributions < r.input_rows);
    // The host's aggregation of the contributions is differentially private: the threshold's
    // unit count and every released statistic carry noise, within the manifest's bounds.
    assert_eq!(r.report.epsilon, Some(0.8));
    assert!(dp.threshold > 10 && dp.measurements.len() >= 3, "{dp:?}");
    assert!(
        dp.measurements
            .iter()
            .all(|m| m.scale > 0.0 && m.error95 > 0.0),
        "{dp:?}"
    );
    assert_eq!(r.component.len(), 64);
    assert!(r.fuel > 0 && r.calls >= 2 && r.peak_memory_bytes > 0);
    // The lineage is the input's: the component is named by hash, the columns it read by name.
    let lineage = serde_json::to_string(&r.report.lineage).unwrap();
    assert!(
        lineage.contains("birth_date")
            && !lineage.contains("citizen_id\",\"transformations\":[{\"type\":\"DIRECT\"")
    );
}

#[test]
fn employment_stability_runs_under_the_other_licence() {
    let engine = engine_with(tmp(), &policies_dir());
    let r = run(
        &engine,
        "employment-stability",
        manifest("employment-stability"),
    )
    .unwrap();
    assert!(r.report.is_allowed(), "{:?}", r.report.violations);
    assert_eq!(
        r.report.columns,
        vec!["industry", "stability_sum", "stability_avg", "units"]
    );
    let rows = rows_text(&r.report.batches);
    assert!(!rows.is_empty());
    for row in rows {
        assert!(row[3].parse::<i64>().unwrap() >= 10, "{row:?}");
        let avg: f64 = row[2].parse().unwrap();
        assert!((0.0..=1.0).contains(&avg), "{row:?}");
    }
}

#[test]
fn an_identifier_in_the_input_never_reaches_the_component() {
    let engine = engine_with(tmp(), &policies_dir());
    let mut m = manifest("elderly-need");
    m.input.sql = "SELECT r.citizen_id, r.district, r.birth_date FROM residents r".into();
    let r = run(&engine, "elderly-need", m).unwrap();
    assert!(!r.report.is_allowed());
    assert_eq!(rules(&r), vec![RuleId::ColumnUse]);
    assert!(
        r.report.violations[0]
            .reason
            .contains("identifier `residents.citizen_id`")
    );
    assert_eq!(r.fuel, 0, "the component never ran");
}

#[test]
fn the_unit_must_be_a_dataset_the_input_reads() {
    let engine = engine_with(tmp(), &policies_dir());
    let mut m = manifest("elderly-need");
    m.input.sql = "SELECT s.pension_status, s.monthly_wage FROM social_insurance s".into();
    let r = run(&engine, "elderly-need", m).unwrap();
    assert_eq!(rules(&r), vec![RuleId::ColumnUse]);
    assert_eq!(r.report.violations[0].target, "input.unit");
}

#[test]
fn a_licence_without_the_dataset_sees_no_table() {
    let engine = engine_with(tmp(), &policies_dir());
    let mut m = manifest("elderly-need");
    m.job.licence = "LIC-BIZ-2026".into();
    m.job.scenario = "enterprise-employment".into();
    let r = run(&engine, "elderly-need", m).unwrap();
    assert!(
        rules(&r).contains(&RuleId::ScopeTable),
        "{:?}",
        r.report.violations
    );
}

#[test]
fn rebuilt_citizen_ids_as_keys_are_never_released() {
    let engine = engine_with(tmp(), &policies_dir());
    let mut m = manifest("elderly-need");
    m.finalize = None;
    m.input.sql = "SELECT r.district, r.birth_date, s.pension_status, s.monthly_wage FROM residents r LEFT JOIN social_insurance s ON r.citizen_id = s.citizen_id".into();
    let r = run(&engine, "adv-raw-keys", m).unwrap();
    assert_eq!(
        r.report.row_count(),
        0,
        "{:?}",
        rows_text(&r.report.batches)
    );
    // Every key is one person: the threshold suppresses every group.
    assert!(
        r.report.suppressed_groups > 1000,
        "{}",
        r.report.suppressed_groups
    );
}

#[test]
fn a_value_that_singles_out_one_person_is_suppressed_by_dominance() {
    let engine = engine_with(tmp(), &exact_policies_dir(tmp()));
    let mut m = manifest("elderly-need");
    m.finalize = None;
    m.output.values[0].max = 1e12;
    m.output.values[0].aggregates = vec![cleanroom_engine::Aggregate::Sum];
    let r = run(&engine, "adv-single-out", m).unwrap();
    let s = &r.report.suppression;
    assert!(s.dominance_nk + s.dominance_p_ratio >= 1, "{s:?}");
    assert_eq!(
        r.report.row_count(),
        7,
        "the district of the singled-out row is gone"
    );
}

#[test]
fn bounds_clamp_each_contribution() {
    let engine = engine_with(tmp(), &policies_dir());
    let mut m = manifest("elderly-need");
    m.finalize = None;
    m.output.values[0].max = 0.5;
    let r = run(&engine, "elderly-need", m).unwrap();
    assert!(r.clamped > 0);
    for row in rows_text(&r.report.batches) {
        assert!(row[1].parse::<f64>().unwrap() <= 0.5, "{row:?}");
    }
}

#[test]
fn a_failing_component_is_an_error_with_its_class() {
    let engine = engine_with(tmp(), &policies_dir());
    let mut m = manifest("elderly-need");
    m.limits.fuel_per_call = Some(20_000_000);
    match run(&engine, "adv-spin", m) {
        Err(Error::Component(f)) => assert_eq!(f.failure.class(), "out_of_fuel"),
        other => panic!("{:?}", other.map(|r| r.report.violations)),
    }
    match run(&engine, "adv-wrong-schema", manifest("elderly-need")) {
        Err(Error::Component(f)) => assert_eq!(f.failure.class(), "contract"),
        other => panic!("{:?}", other.map(|r| r.report.violations)),
    }
}

#[test]
fn manifests_are_validated_with_the_field_named() {
    let text =
        std::fs::read_to_string(root().join("sandbox/modules/elderly-need/job.toml")).unwrap();
    let bad = text.replace("max = 1.0", "max = -1.0");
    let e = Manifest::parse(&bad).unwrap_err().to_string();
    assert!(
        e.contains("`output.values` bounds must be finite with min <= max"),
        "{e}"
    );
    let unknown = text.replace("[limits]", "[limits]\nthreads = 4");
    let e = Manifest::parse(&unknown).unwrap_err().to_string();
    assert!(e.contains("unknown field `threads`"), "{e}");
    let injected = text.replace(
        "keys = [\"district\"]",
        "keys = [\"district\\\" FROM x --\"]",
    );
    assert!(Manifest::parse(&injected).is_err());
}

#[test]
fn a_product_from_finalize_is_scanned_again() {
    let engine = engine_with(tmp(), &policies_dir());
    let r = run(&engine, "adv-finalize-leak", manifest("elderly-need")).unwrap();
    assert!(!r.report.is_allowed());
    assert!(
        rules(&r).contains(&RuleId::DlpIdentifier),
        "{:?}",
        r.report.violations
    );
    assert_eq!(r.report.row_count(), 0, "a blocked product keeps no rows");
}

/// A component's scalar functions offered to a SQL job, on a host with `limits`.
fn functions(component: &str, limits: Limits) -> GuestFunctions {
    let host = Arc::new(Host::new(limits).unwrap());
    let module = host
        .load(&cleanroom_components::bytes(component).unwrap())
        .unwrap();
    GuestFunctions {
        host,
        module,
        seed: 1,
    }
}

fn sql_with(
    engine: &Engine,
    (licence, scenario): (&str, &str),
    component: &str,
    sql: &str,
) -> Result<Report, Error> {
    let req = JobRequest {
        licence: licence.into(),
        scenario: scenario.into(),
        sql: sql.into(),
        today: today(),
        dp: false,
    };
    let f = functions(component, Limits::default());
    rt().block_on(engine.run_with(&req, Some(&f)))
}

const ELDER: (&str, &str) = ("LIC-ELDER-2026", "elderly-care-planning");

#[test]
fn a_guest_function_inside_an_aggregate_matches_the_component_job() {
    let engine = engine_with(tmp(), &exact_policies_dir(tmp()));
    let r = sql_with(
        &engine,
        ELDER,
        "elderly-need",
        "SELECT r.district, AVG(need_score(r.birth_date, s.pension_status, s.monthly_wage)) AS need \
         FROM residents r LEFT JOIN social_insurance s ON r.citizen_id = s.citizen_id \
         GROUP BY r.district ORDER BY r.district",
    )
    .unwrap();
    assert!(r.is_allowed(), "{:?}", r.violations);
    let used = r.functions.as_ref().unwrap();
    assert_eq!(used.functions, vec!["need_score"]);
    assert_eq!(used.component.len(), 64);
    assert!(used.calls >= 2 && used.fuel > 0, "the listing and the rows");
    let by_udf = rows_text(&r.batches);
    assert_eq!(by_udf.len(), 8, "{by_udf:?}");
    // The same score through `contribute`: the host's average per district must agree.
    let job = run(&engine, "elderly-need", manifest("elderly-need")).unwrap();
    let by_job = rows_text(&job.aggregates);
    for row in &by_udf {
        let other = by_job.iter().find(|a| a[0] == row[0]).unwrap();
        let (a, b): (f64, f64) = (row[1].parse().unwrap(), other[1].parse().unwrap());
        assert!((a - b).abs() < 1e-9, "{}: {a} vs {b}", row[0]);
    }
    // And the lineage names the function as a transformation of the columns it read.
    let lineage = serde_json::to_string(&r.lineage).unwrap();
    assert!(lineage.contains("birth_date") && lineage.contains("monthly_wage"));
}

#[test]
fn a_guest_function_never_releases_a_row_level_value() {
    let engine = engine_with(tmp(), &policies_dir());
    let r = sql_with(
        &engine,
        ELDER,
        "elderly-need",
        "SELECT need_score(r.birth_date, s.pension_status, s.monthly_wage) AS need \
         FROM residents r LEFT JOIN social_insurance s ON r.citizen_id = s.citizen_id",
    )
    .unwrap();
    assert!(!r.is_allowed());
    assert!(
        r.violations
            .iter()
            .all(|v| v.rule == RuleId::OutputReversible && v.target == "need"),
        "{:?}",
        r.violations
    );
    assert!(r.batches.is_empty());
    // A guest's value selecting rows: blocked as a filter, before any data is read.
    for (component, sql) in [
        (
            "elderly-need",
            "SELECT r.district, COUNT(*) AS n FROM residents r JOIN social_insurance s \
             ON r.citizen_id = s.citizen_id \
             WHERE need_score(r.birth_date, s.pension_status, s.monthly_wage) > 0.5 GROUP BY r.district",
        ),
        (
            "adv-raw-keys",
            "SELECT district, COUNT(*) AS n FROM residents WHERE rebuild_id(district, birth_date) > 'a' GROUP BY district",
        ),
    ] {
        let r = sql_with(&engine, ELDER, component, sql).unwrap();
        assert!(!r.is_allowed(), "{sql}");
        assert!(
            r.violations
                .iter()
                .any(|v| v.rule == RuleId::OutputReversible && v.reason.contains("guest function")),
            "{sql}: {:?}",
            r.violations
        );
    }
    // Rebuilt citizen IDs, row by row or as group keys: blocked before any data is read.
    for sql in [
        "SELECT rebuild_id(district, birth_date) AS id FROM residents",
        "SELECT rebuild_id(district, birth_date) AS id, COUNT(*) AS n FROM residents GROUP BY 1",
    ] {
        let r = sql_with(&engine, ELDER, "adv-raw-keys", sql).unwrap();
        assert!(!r.is_allowed(), "{sql}");
        assert!(
            r.violations
                .iter()
                .any(|v| v.rule == RuleId::OutputReversible),
            "{sql}: {:?}",
            r.violations
        );
        assert_eq!(r.functions.unwrap().calls, 1, "only the listing ran: {sql}");
    }
}

#[test]
fn a_failing_guest_function_stops_the_job_with_its_class() {
    let engine = engine_with(tmp(), &exact_policies_dir(tmp()));
    let sum_of = |f: &str| {
        format!(
            "SELECT district, SUM({f}(CAST(date_part('year', birth_date) AS BIGINT))) AS s \
             FROM residents GROUP BY district"
        )
    };
    for (component, function, class) in [
        ("adv-bad-ipc", "short", "contract"),
        ("adv-bad-ipc", "wrong_type", "contract"),
        ("adv-bad-ipc", "garbage", "bad_output"),
    ] {
        match sql_with(&engine, ELDER, component, &sum_of(function)) {
            Err(Error::Component(f)) => assert_eq!(f.failure.class(), class, "{function}"),
            other => panic!("{function}: {:?}", other.map(|r| r.violations)),
        }
    }
    let req = JobRequest {
        licence: ELDER.0.into(),
        scenario: ELDER.1.into(),
        sql: sum_of("spin"),
        today: today(),
        dp: false,
    };
    let spin = functions(
        "adv-spin",
        Limits {
            fuel_per_call: 20_000_000,
            ..Limits::default()
        },
    );
    match rt().block_on(engine.run_with(&req, Some(&spin))) {
        Err(Error::Component(f)) => assert_eq!(f.failure.class(), "out_of_fuel"),
        other => panic!("{:?}", other.map(|r| r.violations)),
    }
    // A function named like a built-in would pass for it: the component is refused, even for
    // a name the guard knows and DataFusion does not register (`extract`).
    match sql_with(
        &engine,
        ELDER,
        "adv-bad-functions",
        "SELECT COUNT(*) AS n FROM residents",
    ) {
        Err(Error::Component(f)) => {
            assert_eq!(f.failure.class(), "contract");
            assert!(f.failure.to_string().contains("`extract`"), "{}", f.failure);
        }
        other => panic!("{:?}", other.map(|r| r.violations)),
    }
}
