//! Dynamic rules over generated data, checked against the truth computed independently in a
//! plain DataFusion session over the same files.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use cleanroom_guard::RuleId;
use cleanroom_tests::{
    BIZ, ELDER, copy_tree, engine_with, exact_policies_dir, rows_text, run, truth,
};

fn tmp() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

const K: i64 = 10;

fn rules(r: &cleanroom_engine::Report) -> Vec<RuleId> {
    r.violations.iter().map(|v| v.rule).collect()
}

/// Groups of `key_sql` whose truth row has every unit count ≥ k, as key tuples.
fn qualifying(sql: &str, keys: usize, unit_cols: usize) -> (BTreeSet<Vec<String>>, usize) {
    let rows = rows_text(&truth(tmp(), sql));
    let total = rows.len();
    let ok = rows
        .into_iter()
        .filter(|r| (keys..keys + unit_cols).all(|i| r[i].parse::<i64>().unwrap() >= K))
        .map(|r| r[..keys].to_vec())
        .collect();
    (ok, total)
}

#[test]
fn every_returned_group_has_k_units_and_none_is_missing() {
    let engine = engine_with(tmp(), &exact_policies_dir(tmp()));
    let r = run(
        &engine,
        ELDER,
        "SELECT district, date_part('year', birth_date) AS y, gender, count(*) AS n FROM residents GROUP BY district, date_part('year', birth_date), gender",
    );
    assert!(r.is_allowed(), "{:?}", r.violations);
    let got: BTreeSet<Vec<String>> = rows_text(&r.batches)
        .into_iter()
        .map(|row| row[..3].to_vec())
        .collect();
    let (want, total) = qualifying(
        "SELECT district, date_part('year', birth_date) AS y, gender, count(DISTINCT citizen_id) FROM residents GROUP BY 1, 2, 3",
        3,
        1,
    );
    assert_eq!(got, want);
    assert!(!want.is_empty());
    assert!(
        r.suppressed_groups > 0,
        "a fine cross-tabulation must have small cells"
    );
    assert_eq!(r.suppressed_groups as usize, total - want.len());
    assert_eq!(r.suppression.threshold, r.suppressed_groups);
}

#[test]
fn rows_are_not_units_one_person_with_many_insurance_rows_counts_once() {
    let engine = engine_with(tmp(), &exact_policies_dir(tmp()));
    let group = "FROM residents r JOIN social_insurance s ON r.citizen_id = s.citizen_id GROUP BY r.district, date_part('year', r.birth_date), r.gender";
    let r = run(
        &engine,
        ELDER,
        &format!(
            "SELECT r.district, date_part('year', r.birth_date) AS y, r.gender, count(*) AS records {group}"
        ),
    );
    assert!(r.is_allowed(), "{:?}", r.violations);
    let got: BTreeSet<Vec<String>> = rows_text(&r.batches)
        .into_iter()
        .map(|row| row[..3].to_vec())
        .collect();
    let (want, total) = qualifying(
        &format!(
            "SELECT r.district, date_part('year', r.birth_date) AS y, r.gender, count(DISTINCT r.citizen_id) {group}"
        ),
        3,
        1,
    );
    assert_eq!(got, want);
    assert_eq!(r.suppressed_groups as usize, total - want.len());
    // Some group has ≥ k insurance records but < k persons: counting rows would release it.
    let (by_rows, _) = qualifying(
        &format!(
            "SELECT r.district, date_part('year', r.birth_date) AS y, r.gender, count(*) {group}"
        ),
        3,
        1,
    );
    assert!(
        by_rows.len() > want.len(),
        "the data must exercise rows ≠ units"
    );
}

#[test]
fn a_join_counts_units_of_every_dataset() {
    let engine = engine_with(tmp(), &exact_policies_dir(tmp()));
    let r = run(
        &engine,
        BIZ,
        "SELECT e.industry, e.district, count(*) AS n FROM enterprises e JOIN social_insurance s ON e.uscc = s.employer_uscc GROUP BY e.industry, e.district",
    );
    assert!(r.is_allowed(), "{:?}", r.violations);
    let got: BTreeSet<Vec<String>> = rows_text(&r.batches)
        .into_iter()
        .map(|row| row[..2].to_vec())
        .collect();
    let (want, total) = qualifying(
        "SELECT e.industry, e.district, count(DISTINCT e.uscc), count(DISTINCT s.citizen_id) FROM enterprises e JOIN social_insurance s ON e.uscc = s.employer_uscc GROUP BY 1, 2",
        2,
        2,
    );
    assert_eq!(got, want);
    assert_eq!(r.suppressed_groups as usize, total - want.len());
    // Counting only people would release cells with fewer than k companies.
    let (people_only, _) = qualifying(
        "SELECT e.industry, e.district, count(DISTINCT s.citizen_id) FROM enterprises e JOIN social_insurance s ON e.uscc = s.employer_uscc GROUP BY 1, 2",
        2,
        1,
    );
    assert!(
        people_only.len() > want.len(),
        "the data must have cells with many workers but few companies"
    );
}

/// Cells that pass k and both dominance rules, computed from per-unit contributions.
fn undominated(rows_sql: &str) -> (BTreeSet<String>, usize, usize) {
    // rows_sql returns (key, unit, contribution) with one row per unit and key.
    let rows = rows_text(&truth(tmp(), rows_sql));
    let mut cells: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in rows {
        cells
            .entry(r[0].clone())
            .or_default()
            .push(r[2].parse().unwrap());
    }
    let (mut ok, mut small, mut dominated) = (BTreeSet::new(), 0, 0);
    for (key, mut c) in cells {
        if (c.len() as i64) < K {
            small += 1;
            continue;
        }
        c.sort_by(|a, b| b.partial_cmp(a).unwrap());
        let total: f64 = c.iter().sum();
        let (a, b) = (c[0], c[1]);
        if total > 0.0 && ((a + b) / total >= 0.9 || (total - a - b) / a < 0.1) {
            dominated += 1;
        } else {
            ok.insert(key);
        }
    }
    (ok, small, dominated)
}

#[test]
fn dominated_cells_are_suppressed() {
    let engine = engine_with(tmp(), &exact_policies_dir(tmp()));
    let r = run(
        &engine,
        BIZ,
        "SELECT district || '/' || industry AS cell, sum(registered_capital) AS capital FROM enterprises GROUP BY district || '/' || industry",
    );
    assert!(r.is_allowed(), "{:?}", r.violations);
    let got: BTreeSet<String> = rows_text(&r.batches)
        .into_iter()
        .map(|row| row[0].clone())
        .collect();
    let (want, small, dominated) = undominated(
        "SELECT district || '/' || industry AS cell, uscc, registered_capital FROM enterprises",
    );
    assert_eq!(got, want);
    assert!(
        dominated > 0,
        "the generator makes giants that dominate some cells"
    );
    assert_eq!(r.suppression.threshold as usize, small);
    assert_eq!(
        (r.suppression.dominance_nk + r.suppression.dominance_p_ratio) as usize,
        dominated
    );
}

#[test]
fn dominance_sums_each_persons_rows_first() {
    let engine = engine_with(tmp(), &exact_policies_dir(tmp()));
    let r = run(
        &engine,
        ELDER,
        "SELECT pension_status, avg(monthly_wage) AS w FROM social_insurance GROUP BY pension_status",
    );
    assert!(r.is_allowed(), "{:?}", r.violations);
    let got: BTreeSet<String> = rows_text(&r.batches)
        .into_iter()
        .map(|row| row[0].clone())
        .collect();
    let (want, _, _) = undominated(
        "SELECT pension_status, citizen_id, sum(monthly_wage) FROM social_insurance GROUP BY pension_status, citizen_id",
    );
    assert_eq!(got, want);
    assert!(!want.is_empty());
}

#[test]
fn limit_applies_after_suppression() {
    let engine = engine_with(tmp(), &exact_policies_dir(tmp()));
    let r = run(
        &engine,
        ELDER,
        "SELECT district, count(*) AS n FROM residents GROUP BY district ORDER BY n DESC LIMIT 3",
    );
    assert!(r.is_allowed());
    let rows = rows_text(&r.batches);
    assert_eq!(rows.len(), 3);
    let truth_rows = rows_text(&truth(
        tmp(),
        "SELECT district, count(*) AS n FROM residents GROUP BY district ORDER BY n DESC LIMIT 3",
    ));
    assert_eq!(rows, truth_rows);
}

#[test]
fn a_result_whose_every_group_is_suppressed_keeps_its_columns() {
    let engine = engine_with(tmp(), &exact_policies_dir(tmp()));
    let r = run(
        &engine,
        ELDER,
        "SELECT birth_date, gender, district, hukou_type, count(*) AS n FROM residents GROUP BY birth_date, gender, district, hukou_type",
    );
    assert!(r.is_allowed());
    assert_eq!(r.row_count(), 0);
    assert!(r.suppressed_groups > 0);
    // The stored result is a valid Arrow stream with the columns and no rows.
    let ipc = r.result_ipc().unwrap();
    let reader =
        datafusion::arrow::ipc::reader::StreamReader::try_new(ipc.as_slice(), None).unwrap();
    let names: Vec<String> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names,
        ["birth_date", "gender", "district", "hukou_type", "n"]
    );
}

#[test]
fn dlp_blocks_identifier_shaped_cells_and_names() {
    let engine = engine_with(tmp(), &exact_policies_dir(tmp()));
    for sql in [
        "SELECT district, count(*) AS n, '11010519491231002X' AS tag FROM residents GROUP BY district",
        "SELECT district, count(*) AS n, 110101200001010010 AS tag FROM residents GROUP BY district",
        "SELECT district, count(*) AS n, '138-1234-5678' AS tag FROM residents GROUP BY district",
        "SELECT district, count(*) AS \"13812345678\" FROM residents GROUP BY district",
    ] {
        let r = run(&engine, ELDER, sql);
        assert!(!r.is_allowed(), "{sql}");
        assert!(
            rules(&r).contains(&RuleId::DlpIdentifier),
            "{sql}: {:?}",
            r.violations
        );
        assert!(r.batches.is_empty(), "nothing is released when blocked");
        let text = serde_json::to_string(&r).unwrap();
        for v in [
            "11010519491231002X",
            "110101200001010010",
            "13812345678",
            "1234-5678",
        ] {
            assert!(!text.contains(v), "report leaks {v}: {text}");
        }
    }
}

#[test]
fn echo_of_a_raw_identifier_value_is_blocked() {
    let engine = engine_with(tmp(), &exact_policies_dir(tmp()));
    // A real name from the raw data (read here, in the test, never reported).
    let name = rows_text(&truth(
        tmp(),
        "SELECT name FROM residents ORDER BY citizen_id LIMIT 1",
    ))[0][0]
        .clone();
    let sql = format!(
        "SELECT district, count(*) AS n, '{name}' AS label FROM residents GROUP BY district"
    );
    let r = run(&engine, ELDER, &sql);
    assert!(!r.is_allowed());
    assert!(
        rules(&r).contains(&RuleId::EchoRawValue),
        "{:?}",
        r.violations
    );
    let text = serde_json::to_string(&r).unwrap();
    assert!(!text.contains(&name), "report leaks the name");
    // A label that is no raw value passes.
    let r = run(
        &engine,
        ELDER,
        "SELECT district, count(*) AS n, 'all residents' AS label FROM residents GROUP BY district",
    );
    assert!(r.is_allowed(), "{:?}", r.violations);
}

#[test]
fn the_output_row_limit_holds() {
    // A copy of the demo policies with a licence-wide limit of 3 output rows.
    let dir = tmp().join(format!("policies-limit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_tree(&exact_policies_dir(tmp()), &dir);
    let disclosure = std::fs::read_to_string(dir.join("disclosure.toml")).unwrap();
    let patched: String = disclosure
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("max_output_rows") {
                "max_output_rows = 3".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(patched, disclosure, "disclosure.toml has max_output_rows");
    std::fs::write(dir.join("disclosure.toml"), patched).unwrap();
    let engine = engine_with(tmp(), &dir);
    let r = run(
        &engine,
        ELDER,
        "SELECT district, count(*) AS n FROM residents GROUP BY district",
    );
    assert!(!r.is_allowed());
    assert_eq!(rules(&r), vec![RuleId::LimitRows]);
    assert!(r.batches.is_empty());
    let r = run(
        &engine,
        ELDER,
        "SELECT district, count(*) AS n FROM residents GROUP BY district ORDER BY n DESC LIMIT 3",
    );
    assert!(r.is_allowed(), "{:?}", r.violations);
    assert_eq!(r.row_count(), 3);
}

#[test]
fn a_window_over_groups_sees_only_released_groups() {
    let engine = engine_with(tmp(), &exact_policies_dir(tmp()));
    let r = run(
        &engine,
        ELDER,
        "SELECT district, date_part('year', birth_date) AS y, count(*) AS n, lag(count(*)) OVER (ORDER BY district, date_part('year', birth_date)) AS previous_n FROM residents GROUP BY district, date_part('year', birth_date)",
    );
    assert!(r.is_allowed(), "{:?}", r.violations);
    let mut rows = rows_text(&r.batches);
    assert!(rows.len() > 10);
    rows.sort_by(|a, b| {
        (&a[0], a[1].parse::<f64>().unwrap_or(0.0))
            .partial_cmp(&(&b[0], b[1].parse::<f64>().unwrap_or(0.0)))
            .unwrap()
    });
    // LAG must copy the previous *released* group's count, never a suppressed one's.
    for w in rows.windows(2) {
        assert_eq!(w[1][3], w[0][2], "{w:?}");
    }
    for row in &rows {
        assert!(row[2].parse::<i64>().unwrap() >= K);
    }
}

#[test]
fn the_querys_own_distinct_count_serves_as_the_threshold_count() {
    let engine = engine_with(tmp(), &exact_policies_dir(tmp()));
    // Unaliased, so the helper and the visible column share a name; fine groups, so some fail.
    let group = "FROM residents r JOIN social_insurance s ON r.citizen_id = s.citizen_id GROUP BY r.district, date_part('year', r.birth_date)";
    let r = run(
        &engine,
        ELDER,
        &format!(
            "SELECT r.district, date_part('year', r.birth_date), count(DISTINCT r.citizen_id), avg(s.monthly_wage) {group}"
        ),
    );
    assert!(r.is_allowed(), "{:?}", r.violations);
    assert_eq!(
        r.columns.len(),
        4,
        "no helper column leaks into the result: {:?}",
        r.columns
    );
    let rows = rows_text(&r.batches);
    let got: BTreeSet<Vec<String>> = rows.iter().map(|row| row[..2].to_vec()).collect();
    let (want, total) = qualifying(
        &format!(
            "SELECT r.district, date_part('year', r.birth_date), count(DISTINCT r.citizen_id) {group}"
        ),
        2,
        1,
    );
    assert!(
        got.is_subset(&want),
        "only groups with k persons are released"
    );
    assert!(r.suppression.threshold as usize == total - want.len());
    assert!(rows.iter().all(|row| row[2].parse::<i64>().unwrap() >= K));
}

#[test]
fn one_jobs_tables_never_reach_the_next_jobs_session() {
    // Every job starts from one shared session template; the tables a licence brings must stay
    // in that job's own catalog.
    let engine = engine_with(tmp(), &exact_policies_dir(tmp()));
    let sql = "SELECT district, count(*) AS n FROM residents GROUP BY district";
    assert!(run(&engine, ELDER, sql).is_allowed());
    let r = run(&engine, BIZ, sql);
    assert_eq!(rules(&r), vec![RuleId::ScopeTable]);
    assert!(r.batches.is_empty());
    assert!(run(&engine, ELDER, sql).is_allowed());
}

/// Files under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let p = e.path();
            if p.is_dir() { files_under(&p) } else { vec![p] }
        })
        .collect()
}

/// A job whose aggregation outgrows its memory pool (2 MiB: with spilling disabled this very job
/// fails for want of memory) spills to disk under the state directory and still answers
/// exactly; its spill files hold raw rows, so none is left once the job is over, and the
/// engine's spill directory goes with the engine. One partition: with two, the fair pool splits
/// 2 MiB between two aggregations whose interleaving varies, and the final one sometimes could
/// not get memory even after spilling (3 failures in 15 runs).
#[test]
fn a_job_over_its_memory_limit_spills_and_leaves_no_spill_file() {
    let state = tmp().join(format!("spill-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state);
    let policies = cleanroom_policy::Policies::load(&exact_policies_dir(tmp())).unwrap();
    let engine = cleanroom_engine::Engine::new(
        policies,
        cleanroom_engine::EngineConfig {
            data_dir: cleanroom_tests::data_dir(tmp()),
            state_dir: state.clone(),
            limits: cleanroom_engine::SessionLimits {
                memory_bytes_max: 2 * 1024 * 1024,
                target_partitions: 1,
                ..Default::default()
            },
        },
    );
    let sql = "SELECT district, birth_date, gender, count(*) AS n FROM residents GROUP BY district, birth_date, gender";
    let r = run(&engine, ELDER, sql);
    assert!(r.is_allowed(), "{:?}", r.violations);
    let released: usize = r.batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(
        released, 0,
        "groups of one birth date hold fewer than k people"
    );
    assert_eq!(
        r.suppression.threshold as usize,
        rows_text(&truth(tmp(), sql)).len()
    );
    let spill = state.join("spill");
    let dirs: Vec<_> = std::fs::read_dir(&spill).unwrap().flatten().collect();
    assert_eq!(dirs.len(), 1, "the engine's own spill directory");
    assert!(files_under(&spill).is_empty(), "{:?}", files_under(&spill));
    drop(engine);
    assert!(std::fs::read_dir(&spill).unwrap().next().is_none());
}

/// The job's memory pool is the one execution answers to: a hash join's build side cannot
/// spill, so under a 256 KiB pool the join of residents and their insurance records fails for
/// want of memory, while an engine with a roomy pool answers it.
#[test]
fn a_join_that_outgrows_the_jobs_memory_pool_fails_as_resources_exhausted() {
    let sql = "SELECT r.district, count(DISTINCT r.citizen_id) AS retirees, avg(s.monthly_wage) AS avg_wage FROM residents r JOIN social_insurance s ON r.citizen_id = s.citizen_id GROUP BY r.district";
    let engine_with_pool = |bytes: usize, name: &str| {
        let state = tmp().join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&state);
        cleanroom_engine::Engine::new(
            cleanroom_policy::Policies::load(&exact_policies_dir(tmp())).unwrap(),
            cleanroom_engine::EngineConfig {
                data_dir: cleanroom_tests::data_dir(tmp()),
                state_dir: state,
                limits: cleanroom_engine::SessionLimits {
                    memory_bytes_max: bytes,
                    ..Default::default()
                },
            },
        )
    };
    let small = engine_with_pool(256 * 1024, "pool-small");
    let err = cleanroom_tests::rt()
        .block_on(small.run(&cleanroom_tests::request(ELDER.0, ELDER.1, sql)))
        .expect_err("a 256 KiB pool cannot hold the join's build side");
    assert!(
        matches!(err, cleanroom_engine::Error::ResourcesExhausted(_)),
        "{err:?}"
    );
    let roomy = engine_with_pool(1 << 30, "pool-roomy");
    let r = run(&roomy, ELDER, sql);
    assert!(r.is_allowed(), "{:?}", r.violations);
    assert!(r.batches.iter().map(|b| b.num_rows()).sum::<usize>() > 0);
}
