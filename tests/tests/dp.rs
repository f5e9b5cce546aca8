//! Differential privacy through the real engine over generated data: the noise is there, stays
//! within what the report states, is the same for the same rows however the query is written,
//! bounds each person's contribution, and keeps small groups out.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cleanroom_guard::RuleId;
use cleanroom_tests::{
    ELDER, copy_tree, engine_with, policies_dir, request, rows_text, rt, run, truth,
};

fn tmp() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

/// Rows of a result keyed by their first column, the rest parsed as numbers.
fn by_key(rows: Vec<Vec<String>>) -> BTreeMap<String, Vec<f64>> {
    rows.into_iter()
        .map(|r| {
            let nums = r[1..].iter().map(|c| c.parse::<f64>().unwrap()).collect();
            (r[0].clone(), nums)
        })
        .collect()
}

fn error95(r: &cleanroom_engine::Report, target: &str, statistic: &str) -> f64 {
    let dp = r.dp.as_ref().expect("a DP report");
    dp.measurements
        .iter()
        .find(|m| m.target == target && m.statistic == statistic)
        .unwrap_or_else(|| panic!("no {statistic} measurement for {target}: {dp:?}"))
        .error95
}

#[test]
fn counts_are_noisy_within_the_stated_bound() {
    let engine = engine_with(tmp(), &policies_dir());
    let sql = "SELECT district, gender, count(*) AS n FROM residents GROUP BY district, gender";
    let r = run(&engine, ELDER, sql);
    assert!(r.is_allowed(), "{:?}", r.violations);
    let dp = r.dp.as_ref().unwrap();
    assert_eq!(r.epsilon, Some(0.8));
    assert_eq!(dp.epsilon, 0.8);
    // Two measurements (the threshold's unit count and COUNT(*)) share ε = 0.8.
    assert_eq!(dp.measurements.len(), 2, "{dp:?}");
    assert!(
        dp.measurements
            .iter()
            .all(|m| (m.epsilon - 0.4).abs() < 1e-12)
    );
    let bound = error95(&r, "count(*)", "count");
    // One person, one row: sensitivity 1, Laplace scale 1/0.4.
    // P(|X| > 7) = 2e^{-8/2.5} / (1 + e^{-1/2.5}) = 0.0488.
    assert_eq!(bound, 7.0, "95 % bound of a discrete Laplace of scale 2.5");
    let truth = rows_text(&truth(
        tmp(),
        "SELECT district || '/' || gender, count(*) FROM residents GROUP BY 1",
    ));
    let truth = by_key(truth);
    let got: BTreeMap<String, Vec<f64>> = rows_text(&r.batches)
        .into_iter()
        .map(|row| {
            (
                format!("{}/{}", row[0], row[1]),
                vec![row[2].parse().unwrap()],
            )
        })
        .collect();
    assert_eq!(
        got.len(),
        truth.len(),
        "every district × gender group is large"
    );
    let mut differ = 0;
    let mut within = 0;
    for (k, v) in &got {
        let diff = (v[0] - truth[k][0]).abs();
        // P(|X| > 8·bound) is about 2e-9 per cell.
        assert!(
            diff <= 8.0 * bound,
            "{k}: {diff} is far beyond the stated bound {bound}"
        );
        differ += usize::from(diff > 0.0);
        within += usize::from(diff <= bound);
    }
    // Each cell keeps its exact value with probability 0.197 and leaves the 95 % bound with
    // 0.0488: over 16 cells, fewer than 4 differing or than 9 within the bound happen with
    // probability below 1e-6 each, while a release without noise has none differing.
    assert_eq!(got.len(), 16);
    assert!(
        differ >= 4,
        "noise was added: {differ} of {} cells differ",
        got.len()
    );
    assert!(
        within >= 9,
        "{within} of {} within the 95 % bound",
        got.len()
    );
}

#[test]
fn the_same_rows_get_the_same_noise_however_the_query_is_written() {
    let engine = engine_with(tmp(), &policies_dir());
    let a = run(
        &engine,
        ELDER,
        "SELECT district, count(*) AS n FROM residents GROUP BY district ORDER BY district",
    );
    let b = run(
        &engine,
        ELDER,
        "SELECT r.district AS d, count(*) AS people FROM residents r WHERE 1 = 1 AND r.gender IS NOT NULL OR r.gender IS NULL GROUP BY r.district ORDER BY d",
    );
    assert!(
        a.is_allowed() && b.is_allowed(),
        "{:?} {:?}",
        a.violations,
        b.violations
    );
    assert_eq!(rows_text(&a.batches), rows_text(&b.batches));
    // Different rows (a subset) get different noise.
    let c = run(
        &engine,
        ELDER,
        "SELECT district, count(*) AS n FROM residents WHERE gender = '女' GROUP BY district ORDER BY district",
    );
    assert_ne!(rows_text(&a.batches), rows_text(&c.batches));
}

#[test]
fn sums_clamp_each_value_and_bound_each_persons_rows() {
    let engine = engine_with(tmp(), &policies_dir());
    let r = run(
        &engine,
        ELDER,
        "SELECT r.district, sum(s.monthly_wage) AS w, count(*) AS n FROM social_insurance s JOIN residents r ON s.citizen_id = r.citizen_id GROUP BY r.district",
    );
    assert!(r.is_allowed(), "{:?}", r.violations);
    let dp = r.dp.as_ref().unwrap();
    assert_eq!(dp.max_rows_per_unit, 3);
    cleanroom_tests::assert_threshold_covers_its_noise(dp);
    let sum = dp
        .measurements
        .iter()
        .find(|m| m.statistic == "sum")
        .unwrap();
    // Three rows per person over all groups together, each clamped into [0, 60 000].
    assert_eq!(sum.sensitivity, 180_000.0);
    // The truth the noise is centred on: each wage clamped (no one has more than 3 rows).
    let clamped = by_key(rows_text(&truth(
        tmp(),
        "SELECT r.district, sum(least(s.monthly_wage, 60000.0)), count(*) FROM social_insurance s JOIN residents r ON s.citizen_id = r.citizen_id GROUP BY r.district",
    )));
    let b_sum = error95(&r, "sum(s.monthly_wage)", "sum");
    let b_n = error95(&r, "count(*)", "count");
    for (k, v) in by_key(rows_text(&r.batches)) {
        let t = &clamped[&k];
        assert!(
            (v[0] - t[0]).abs() <= 6.0 * b_sum,
            "{k}: sum {} vs {}",
            v[0],
            t[0]
        );
        assert!(
            (v[1] - t[1]).abs() <= 6.0 * b_n,
            "{k}: count {} vs {}",
            v[1],
            t[1]
        );
    }
}

/// The demo policies with one line of disclosure.toml changed.
fn policies_with(name: &str, from: &str, to: &str) -> PathBuf {
    let dir = tmp().join(format!("policies-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_tree(&policies_dir(), &dir);
    let path = dir.join("disclosure.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "disclosure.toml has `{from}`");
    std::fs::write(&path, text.replace(from, to)).unwrap();
    dir
}

#[test]
fn a_person_weighs_at_most_their_row_bound_over_all_groups() {
    let engine = engine_with(
        tmp(),
        &policies_with("one-row", "max_rows_per_unit = 3", "max_rows_per_unit = 1"),
    );
    // Insured persons may have records under several statuses: counted per status they would
    // be in several groups at once.
    let r = run(
        &engine,
        ELDER,
        "SELECT pension_status, count(DISTINCT citizen_id) AS people FROM social_insurance GROUP BY pension_status",
    );
    assert!(r.is_allowed(), "{:?}", r.violations);
    let dp = r.dp.as_ref().unwrap();
    assert_eq!(dp.max_rows_per_unit, 1);
    // One person moves the distinct counts of all groups together by at most 1: the noise and
    // the threshold are those of a person in one group.
    let units = dp
        .measurements
        .iter()
        .find(|m| m.statistic == "units" && m.target.contains("citizen_id"))
        .unwrap();
    assert_eq!(units.sensitivity, 1.0);
    let released: f64 = by_key(rows_text(&r.batches)).values().map(|v| v[0]).sum();
    let per_group: f64 = by_key(rows_text(&truth(
        tmp(),
        "SELECT pension_status, count(DISTINCT citizen_id) FROM social_insurance GROUP BY pension_status",
    )))
    .values()
    .map(|v| v[0])
    .sum();
    let persons: f64 = rows_text(&truth(
        tmp(),
        "SELECT count(DISTINCT citizen_id) FROM social_insurance",
    ))[0][0]
        .parse()
        .unwrap();
    assert!(
        per_group > persons * 1.1,
        "the data has persons in several groups"
    );
    let bound = error95(&r, "count(DISTINCT social_insurance.citizen_id)", "units");
    assert!(
        (released - persons).abs() <= 4.0 * 3.0 * bound,
        "released {released} persons in all, {persons} exist ({per_group} group memberships)"
    );
    // Grouping sets would count everyone several times: refused.
    let r = run(
        &engine,
        ELDER,
        "SELECT pension_status, gender, count(*) AS n FROM social_insurance s JOIN residents r ON s.citizen_id = r.citizen_id GROUP BY ROLLUP (pension_status, gender)",
    );
    assert!(
        r.violations.iter().any(|v| v.rule == RuleId::DpRequired),
        "{:?}",
        r.violations
    );
}

#[test]
fn small_groups_stay_out_behind_the_noisy_threshold() {
    let engine = engine_with(tmp(), &policies_dir());
    let r = run(
        &engine,
        ELDER,
        "SELECT district, date_part('year', birth_date) AS y, count(*) AS n FROM residents GROUP BY district, date_part('year', birth_date)",
    );
    assert!(r.is_allowed(), "{:?}", r.violations);
    let tau = r.dp.as_ref().unwrap().threshold;
    cleanroom_tests::assert_threshold_covers_its_noise(r.dp.as_ref().unwrap());
    assert!(
        tau > 10,
        "τ = {tau} is above k: with ε/2 and δ = 1e-6 it is about 30"
    );
    let truth: BTreeMap<(String, String), i64> = rows_text(&truth(
        tmp(),
        "SELECT district, CAST(date_part('year', birth_date) AS VARCHAR), count(*) FROM residents GROUP BY 1, 2",
    ))
    .into_iter()
    .map(|r| ((r[0].clone(), r[1].clone()), r[2].parse().unwrap()))
    .collect();
    let got = rows_text(&r.batches);
    assert!(
        r.suppression.threshold > 0,
        "many district × year groups are small"
    );
    // A group below k passes τ with probability below 1e-5 (e^{-(τ-k)/2.5}); over the ~180
    // small groups one such release in a run is possible, two are not (below 1e-7), while a
    // threshold that did not work would release dozens.
    let small: Vec<i64> = got
        .iter()
        .map(|row| truth[&(row[0].clone(), row[1].trim_end_matches(".0").to_string())])
        .filter(|n| *n < 10)
        .collect();
    assert!(
        small.len() <= 1,
        "groups of {small:?} persons were released"
    );
}

#[test]
fn averages_and_spreads_stay_inside_the_bounds() {
    let engine = engine_with(tmp(), &policies_dir());
    let r = run(
        &engine,
        ELDER,
        "SELECT pension_status, avg(contribution_months) AS m, stddev(monthly_wage) AS sd, var_pop(contribution_months) AS v FROM social_insurance GROUP BY pension_status",
    );
    assert!(r.is_allowed(), "{:?}", r.violations);
    // AVG: 2 measurements, STDDEV and VAR 3 each, the threshold 1.
    let dp = r.dp.as_ref().unwrap();
    assert_eq!(dp.measurements.len(), 9);
    // ε shares: the threshold 2; AVG's sum 3 and count 1; VAR's (and STDDEV's) sum 2, sum of
    // squares 3 and count 1: 2 + 4 + 6 + 6 = 18 shares of ε 0.8, all spent. The threshold keeps
    // what an even split over 9 measurements gives it.
    let share = 0.8 / 18.0;
    let spent: f64 = dp.measurements.iter().map(|m| m.epsilon).sum();
    assert!((spent - 0.8).abs() < 1e-9, "{spent}");
    for m in &dp.measurements {
        let shares = match (m.target.as_str(), m.statistic) {
            ("threshold", _) => 2.0,
            (t, "sum") if t.starts_with("avg(") => 3.0,
            (_, "sum") => 2.0,
            (_, "sum_of_squares") => 3.0,
            _ => 1.0,
        };
        assert!((m.epsilon - shares * share).abs() < 1e-12, "{m:?}");
        assert_eq!(f64::from(m.shares), shares, "{m:?}");
    }
    assert!((dp.measurements[0].epsilon - 0.8 / 9.0).abs() < 1e-12);
    // The average's sum: at most 3 rows per person of at most 480 months each, on a grid of 0.1
    // with one step for rounding, against the ε of three shares.
    let avg_sum = dp
        .measurements
        .iter()
        .find(|m| m.target.starts_with("avg(") && m.statistic == "sum")
        .unwrap_or_else(|| panic!("{:?}", dp.measurements));
    assert!(
        (avg_sum.scale - (1440.0 + 0.1) / (3.0 * share)).abs() < 1e-6,
        "{avg_sum:?}"
    );
    cleanroom_tests::assert_threshold_covers_its_noise(dp);
    for (k, v) in by_key(rows_text(&r.batches)) {
        assert!((0.0..=480.0).contains(&v[0]), "{k}: avg {}", v[0]);
        assert!((0.0..=30_000.0).contains(&v[1]), "{k}: sd {}", v[1]);
        assert!((0.0..=240.0 * 240.0).contains(&v[2]), "{k}: var {}", v[2]);
    }
}

/// The demo policies with DP made optional.
fn optional_policies() -> PathBuf {
    let dir = tmp().join(format!("policies-optional-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_tree(&policies_dir(), &dir);
    let path = dir.join("disclosure.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("dp = \"required\"", "dp = \"optional\""),
    )
    .unwrap();
    dir
}

#[test]
fn optional_dp_applies_when_the_job_asks() {
    let engine = engine_with(tmp(), &optional_policies());
    let sql = "SELECT district, gender, count(*) AS n FROM residents GROUP BY district, gender ORDER BY district, gender";
    let exact = run(&engine, ELDER, sql);
    assert!(exact.dp.is_none() && exact.epsilon.is_none());
    assert_eq!(
        rows_text(&exact.batches),
        rows_text(&truth(
            tmp(),
            "SELECT district, gender, count(*) FROM residents GROUP BY district, gender ORDER BY district, gender"
        ))
    );
    let mut req = request(ELDER.0, ELDER.1, sql);
    req.dp = true;
    let noisy = rt().block_on(engine.run(&req)).unwrap();
    assert_eq!(noisy.epsilon, Some(0.8));
    assert_ne!(rows_text(&noisy.batches), rows_text(&exact.batches));
}

#[test]
fn aggregates_without_a_mechanism_are_refused_under_dp() {
    let engine = engine_with(tmp(), &policies_dir());
    for sql in [
        "SELECT district, count(DISTINCT name) AS n FROM residents GROUP BY district",
        "SELECT pension_status, sum(monthly_wage * 2) AS w FROM social_insurance GROUP BY pension_status",
        "SELECT pension_status, corr(monthly_wage, contribution_months) AS c FROM social_insurance GROUP BY pension_status",
    ] {
        let r = run(&engine, ELDER, sql);
        assert!(!r.is_allowed(), "{sql}");
        assert!(
            r.violations.iter().any(|v| v.rule == RuleId::DpRequired),
            "{sql}: {:?}",
            r.violations
        );
    }
}

#[test]
fn a_released_count_carries_exactly_the_stated_noise() {
    // Fresh keys, the same data: the released count minus the truth is a sample of the noise.
    let sql = "SELECT district, count(*) AS n FROM residents GROUP BY district";
    let truth: BTreeMap<String, f64> = by_key(rows_text(&truth(tmp(), sql)))
        .into_iter()
        .map(|(k, v)| (k, v[0]))
        .collect();
    let runtime = rt();
    let mut noise = Vec::new();
    let mut scale = 0.0;
    for i in 0..150u8 {
        let engine = engine_with(tmp(), &policies_dir()).with_noise_key([i; 32]);
        let r = runtime
            .block_on(engine.run(&request(ELDER.0, ELDER.1, sql)))
            .unwrap();
        scale = r.dp.as_ref().unwrap().measurements[1].scale;
        for (k, v) in by_key(rows_text(&r.batches)) {
            noise.push(v[0] - truth[&k]);
        }
    }
    // Discrete Laplace of scale t: mean 0, variance 2e^{-1/t} / (1 - e^{-1/t})².
    assert_eq!(scale, 2.5);
    let q = (-1.0f64 / scale).exp();
    let var = 2.0 * q / (1.0 - q).powi(2);
    let n = noise.len() as f64;
    let mean = noise.iter().sum::<f64>() / n;
    let sample_var = noise.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    assert!(
        mean.abs() < 4.0 * (var / n).sqrt(),
        "mean {mean} over {n} samples"
    );
    assert!(
        (sample_var / var - 1.0).abs() < 0.2,
        "variance {sample_var}, expected {var}"
    );
    let zeros = noise.iter().filter(|x| **x == 0.0).count() as f64 / n;
    let p0 = (1.0 - q) / (1.0 + q);
    assert!(
        (zeros - p0).abs() < 4.0 * (p0 * (1.0 - p0) / n).sqrt(),
        "P(0) {zeros} vs {p0}"
    );
}

#[test]
fn the_gaussian_mechanism_is_chosen_by_policy() {
    let engine = engine_with(
        tmp(),
        &policies_with(
            "gaussian",
            "mechanism = \"laplace\"",
            "mechanism = \"gaussian\"",
        ),
    );
    let sql = "SELECT district, count(*) AS n FROM residents GROUP BY district";
    let r = run(&engine, ELDER, sql);
    assert!(r.is_allowed(), "{:?}", r.violations);
    let dp = r.dp.as_ref().unwrap();
    let m = &dp.measurements[1];
    assert_eq!(m.mechanism, cleanroom_policy::Mechanism::Gaussian);
    // σ = Δ √(2 ln(1.25 / δ_each)) / ε_each with δ_each = 1e-6 / 2, ε_each = 0.4.
    let sigma = (2.0 * (1.25f64 / 5e-7).ln()).sqrt() / 0.4;
    assert!((m.scale - sigma).abs() < 1e-9, "{} vs {sigma}", m.scale);
    assert!(m.delta > 0.0);
    let truth = by_key(rows_text(&truth(tmp(), sql)));
    for (k, v) in by_key(rows_text(&r.batches)) {
        assert!(
            (v[0] - truth[&k][0]).abs() <= 3.0 * m.error95,
            "{k}: {} vs {}",
            v[0],
            truth[&k][0]
        );
    }
}

#[test]
fn measurement_targets_never_quote_a_literal_of_the_query() {
    let engine = engine_with(tmp(), &policies_dir());
    let r = run(
        &engine,
        ELDER,
        "SELECT district, sum(CASE WHEN marital_status = '已婚' THEN 1 ELSE 0 END) AS married FROM residents GROUP BY district",
    );
    assert!(r.is_allowed(), "{:?}", r.violations);
    let dp = r.dp.as_ref().unwrap();
    let sum = dp
        .measurements
        .iter()
        .find(|m| m.statistic == "sum")
        .unwrap_or_else(|| panic!("no sum measurement: {dp:?}"));
    assert!(sum.target.contains("marital_status"), "{}", sum.target);
    for m in &dp.measurements {
        assert!(!m.target.contains("已婚"), "{}", m.target);
    }
    assert!(!serde_json::to_string(&r).unwrap().contains("已婚"));
}

#[test]
fn engines_sharing_a_fresh_state_agree_on_one_noise_key() {
    // Eight engines on one new state directory draw their first noise at the same time: each
    // makes a key, one wins, and all use that one, so the same query gets the same noise.
    let state = tmp().join(format!("state-race-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state);
    let sql = "SELECT district, count(*) AS n FROM residents GROUP BY district ORDER BY district";
    let barrier = std::sync::Barrier::new(8);
    let answers: Vec<Vec<Vec<String>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    let engine = cleanroom_engine::Engine::new(
                        cleanroom_policy::Policies::load(&policies_dir()).unwrap(),
                        cleanroom_engine::EngineConfig {
                            data_dir: cleanroom_tests::data_dir(tmp()),
                            state_dir: state.clone(),
                            limits: cleanroom_engine::SessionLimits::default(),
                        },
                    );
                    barrier.wait();
                    let r = run(&engine, ELDER, sql);
                    assert!(r.is_allowed(), "{:?}", r.violations);
                    rows_text(&r.batches)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    let key = std::fs::read(state.join("noise.key")).unwrap();
    assert_eq!(key.len(), 32);
    let leftovers: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn where_nobody_has_more_rows_than_the_limit_the_weights_are_skipped_and_counts_stay_whole() {
    // The engine measures the most insurance rows any one person has (3 in the test data, the
    // policy's limit) and skips weighting rows: counts stay whole numbers, noised on a grid of
    // 1 (scale 3/ε). An engine told that someone has 4 rows weights every row by its person's
    // row count: fractional counts on a grid of hundredths (scale 3.01/ε). Both release the
    // same groups, each within its stated error of the truth.
    let sql = "SELECT pension_status, count(*) AS n, sum(contribution_months) AS m \
               FROM social_insurance GROUP BY pension_status ORDER BY pension_status";
    let most = rows_text(&truth(
        tmp(),
        "SELECT max(n) FROM (SELECT count(*) AS n FROM social_insurance GROUP BY citizen_id)",
    ));
    assert_eq!(
        most,
        vec![vec!["3".to_string()]],
        "the test data's most rows per person"
    );
    let exact = by_key(rows_text(&truth(
        tmp(),
        "SELECT pension_status, count(*), sum(least(greatest(contribution_months, 0), 480)) \
         FROM social_insurance GROUP BY pension_status",
    )));
    let engine_at = |state: &Path| {
        cleanroom_engine::Engine::new(
            cleanroom_policy::Policies::load(&policies_dir()).unwrap(),
            cleanroom_engine::EngineConfig {
                data_dir: cleanroom_tests::data_dir(tmp()),
                state_dir: state.to_path_buf(),
                limits: cleanroom_engine::SessionLimits::default(),
            },
        )
        .with_noise_key([7u8; 32])
    };
    let measured = tmp().join(format!("state-profile-a-{}", std::process::id()));
    let told = tmp().join(format!("state-profile-b-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&measured);
    let _ = std::fs::remove_dir_all(&told);
    let skipped = run(&engine_at(&measured), ELDER, sql);
    assert!(skipped.is_allowed(), "{:?}", skipped.violations);
    let profiles: Vec<PathBuf> = std::fs::read_dir(measured.join("profile"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        profiles.len(),
        1,
        "one profile, of social_insurance: {profiles:?}"
    );
    assert_eq!(std::fs::read_to_string(&profiles[0]).unwrap(), "3");
    let name = profiles[0].file_name().unwrap();
    assert!(name.to_string_lossy().starts_with("social_insurance-"));
    std::fs::create_dir_all(told.join("profile")).unwrap();
    std::fs::write(told.join("profile").join(name), "4").unwrap();
    let weighted = run(&engine_at(&told), ELDER, sql);
    assert!(weighted.is_allowed(), "{:?}", weighted.violations);

    let scale = |r: &cleanroom_engine::Report, target: &str| {
        let m = r.dp.as_ref().unwrap().measurements.iter();
        m.clone()
            .find(|m| m.target == target && m.statistic == "count")
            .unwrap_or_else(|| panic!("no count measurement for {target}"))
            .scale
    };
    // ε 0.8 over three measurements (threshold, COUNT, SUM).
    let each = 0.8 / 3.0;
    for target in ["threshold", "count(*)"] {
        assert!(
            (scale(&skipped, target) - 3.0 / each).abs() < 1e-9,
            "{target}"
        );
        assert!(
            (scale(&weighted, target) - 3.01 / each).abs() < 1e-9,
            "{target}"
        );
    }
    for r in [&skipped, &weighted] {
        cleanroom_tests::assert_threshold_covers_its_noise(r.dp.as_ref().unwrap());
        let got = by_key(rows_text(&r.batches));
        assert_eq!(got.len(), 3, "three statuses released: {got:?}");
        let (count_err, sum_err) = (error95(r, "count(*)", "count"), {
            let target = "sum(social_insurance.contribution_months)";
            error95(r, target, "sum")
        });
        for (status, values) in &got {
            let truth = &exact[status];
            assert_eq!(values[0].fract(), 0.0, "a count is released whole");
            assert!(
                (values[0] - truth[0]).abs() <= 8.0 * count_err,
                "{status}: {values:?}"
            );
            assert!(
                (values[1] - truth[1]).abs() <= 8.0 * sum_err,
                "{status}: {values:?}"
            );
        }
    }
}

/// A join of insured persons and their employers reads two kinds of privacy unit. DP protects
/// the unit of the higher-graded dataset (social_insurance's persons), whichever table the query
/// names first; the companies keep the exact threshold and the dominance rules, so a company's
/// capital that dominates its cell is suppressed under DP as it is without.
#[test]
fn in_a_join_of_persons_and_companies_dp_protects_the_persons_and_companies_keep_dominance() {
    let engine = engine_with(tmp(), &policies_dir());
    let exact = engine_with(tmp(), &cleanroom_tests::exact_policies_dir(tmp()));
    let select = "SELECT e.industry, e.district, count(DISTINCT s.citizen_id) AS workers, sum(e.registered_capital) AS capital";
    let group = "GROUP BY e.industry, e.district";
    let companies_first = format!(
        "{select} FROM enterprises e JOIN social_insurance s ON e.uscc = s.employer_uscc {group}"
    );
    let persons_first = format!(
        "{select} FROM social_insurance s JOIN enterprises e ON s.employer_uscc = e.uscc {group}"
    );
    let plain = run(&exact, cleanroom_tests::BIZ, &companies_first);
    assert!(plain.is_allowed(), "{:?}", plain.violations);
    let dominated = plain.suppression.dominance_nk + plain.suppression.dominance_p_ratio;
    assert!(dominated > 0, "{:?}", plain.suppression);
    for sql in [&companies_first, &persons_first] {
        let r = run(&engine, cleanroom_tests::BIZ, sql);
        assert!(r.is_allowed(), "{:?}", r.violations);
        let dp = r.dp.as_ref().unwrap();
        assert_eq!(dp.protected_units, ["social_insurance.citizen_id"], "{sql}");
        assert_eq!(dp.other_units, ["enterprises.uscc"], "{sql}");
        // Joined by the companies' own unique key, an insurance row finds one company at most:
        // a person still has at most the 3 rows the data profile measured, so the rows are not
        // weighted and the threshold's count stays whole (scale 3/ε over a third of ε 0.8;
        // weighted rows would make it 3.01/ε).
        let threshold = dp.measurements.iter().find(|m| m.target == "threshold");
        assert_eq!(threshold.unwrap().scale, 3.0 / (0.8 / 3.0), "{sql}: {dp:?}");
        assert!(
            r.suppression.dominance_nk + r.suppression.dominance_p_ratio > 0,
            "{sql}: {:?}",
            r.suppression
        );
    }
}
