//! No error text or report produced from a failing or blocked query contains a raw value.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::Path;

use cleanroom_tests::{
    ELDER, engine_with, exact_policies_dir, policies_dir, request, rows_text, rt, truth,
};

fn tmp() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

/// Raw values of the data that must never appear in what leaves: districts, genders, marital
/// statuses, and a real ID, name and phone number.
fn raw_values() -> Vec<String> {
    let mut v: Vec<String> = [
        "尖山区",
        "岭东区",
        "男",
        "女",
        "已婚",
        "未婚",
        "城镇",
        "农村",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let row = &rows_text(&truth(
        tmp(),
        "SELECT citizen_id, name, phone FROM residents ORDER BY citizen_id LIMIT 1",
    ))[0];
    v.extend(row.iter().cloned());
    v
}

#[test]
fn runtime_errors_are_scrubbed() {
    let engine = engine_with(tmp(), &exact_policies_dir(tmp()));
    let raw = raw_values();
    // Each passes the guard (quasi columns may be aggregated and compared) and fails while
    // executing, with a DataFusion error that quotes the offending raw value.
    for sql in [
        "SELECT district, avg(CAST(gender AS INT)) AS g FROM residents GROUP BY district",
        "SELECT count(*) AS n FROM residents WHERE CAST(district AS INT) > 0",
        "SELECT hukou_type, sum(CAST(marital_status AS DOUBLE)) AS m FROM residents GROUP BY hukou_type",
    ] {
        let res = rt().block_on(engine.run(&request(ELDER.0, ELDER.1, sql)));
        let text = match res {
            Ok(r) => panic!("expected a runtime error for {sql}, got {:?}", r.decision),
            Err(e) => e.to_string(),
        };
        assert!(
            text.to_lowercase().contains("cast"),
            "the category stays: {text}"
        );
        for v in &raw {
            assert!(
                !text.contains(v.as_str()),
                "error text leaks a raw value: {text}"
            );
        }
    }
}

#[test]
fn reports_of_blocked_queries_carry_no_literal_value() {
    let engine = engine_with(tmp(), &policies_dir());
    let raw = raw_values();
    let (id, name, phone) = (
        &raw[raw.len() - 3],
        &raw[raw.len() - 2],
        &raw[raw.len() - 1],
    );
    for sql in [
        format!("SELECT name, phone FROM residents WHERE citizen_id = '{id}'"),
        format!("SELECT count(*) FROM residents WHERE name = '{name}' OR phone IN ('{phone}')"),
        format!("SELECT citizen_id = '{id}' AS hit FROM residents"),
        format!(
            "SELECT district, count(*) FROM residents WHERE starts_with(citizen_id, '{}') GROUP BY district",
            &id[..10]
        ),
        format!("SELECT cast('{id}' AS BIGINT) + 1 AS x"),
        format!("SELEKT '{name}'"),
    ] {
        let res = rt().block_on(engine.check(&request(ELDER.0, ELDER.1, &sql)));
        let text = match res {
            Ok(r) => serde_json::to_string(&r).unwrap(),
            Err(e) => e.to_string(),
        };
        for v in [id, name, phone, &id[..10].to_string()] {
            assert!(
                !text.contains(v.as_str()),
                "{sql}\nleaks a raw value: {text}"
            );
        }
    }
}
