//! Property: random expression chains over identifier and sensitive columns are never allowed
//! as row-level outputs, however they are wrapped (CTEs, subqueries, UNION, CASE, windows).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use cleanroom_engine::{Engine, EngineConfig, SessionLimits};
use cleanroom_guard::RuleId;
use cleanroom_policy::Policies;
use cleanroom_tests::{ELDER, policies_dir, request, rt};
use proptest::prelude::*;

/// Identifier and sensitive columns of the LIC-ELDER-2026 datasets, as text.
const COLUMNS: &[&str] = &[
    "citizen_id",
    "name",
    "phone",
    "CAST(monthly_wage AS VARCHAR)",
    "CAST(contribution_months AS VARCHAR)",
    "employer_uscc",
    "marital_status",
];

/// One step of a chain: a string-to-string transformation.
fn step(f: usize, x: &str) -> String {
    match f {
        0 => format!("upper({x})"),
        1 => format!("lower({x})"),
        2 => format!("md5({x})"),
        3 => format!("encode(sha256({x}), 'hex')"),
        4 => format!("reverse({x})"),
        5 => format!("concat({x}, 'salt')"),
        6 => format!("({x} || '-')"),
        7 => format!("substr({x}, 2, 8)"),
        8 => format!("trim({x})"),
        9 => format!("CAST({x} AS VARCHAR)"),
        10 => format!("lpad({x}, 20, '0')"),
        11 => format!("replace({x}, '1', 'one')"),
        12 => format!("encode(CAST({x} AS BYTEA), 'hex')"),
        13 => format!("coalesce({x}, '')"),
        14 => format!("CASE WHEN length({x}) > 0 THEN {x} ELSE 'none' END"),
        _ => format!("to_hex(length({x}))"),
    }
}

/// A wrapper around the chain: the ways an operator could try to launder a row-level output.
fn wrap(w: usize, e: &str) -> String {
    let from = "residents r JOIN social_insurance s ON r.citizen_id = s.citizen_id";
    let e = e.replace("citizen_id", "r.citizen_id");
    match w {
        0 => format!("SELECT {e} AS v FROM {from}"),
        1 => format!("WITH t AS (SELECT {e} AS v FROM {from}) SELECT v FROM t"),
        2 => format!("SELECT v FROM (SELECT {e} AS v FROM {from}) AS sub WHERE v IS NOT NULL"),
        3 => format!("SELECT {e} AS v FROM {from} UNION ALL SELECT 'x' AS v"),
        4 => format!("SELECT lag({e}) OVER (ORDER BY r.district) AS v FROM {from}"),
        5 => format!("SELECT DISTINCT {e} AS v FROM {from} ORDER BY v LIMIT 5"),
        _ => format!(
            "SELECT r.district, {e} AS v, count(*) OVER (PARTITION BY r.district) AS n FROM {from}"
        ),
    }
}

fn engine() -> Engine {
    let policies = Policies::load(&policies_dir()).unwrap();
    let tmp = std::env::temp_dir().join("cleanroom-property");
    Engine::new(
        policies,
        EngineConfig {
            data_dir: tmp.clone(),
            state_dir: tmp,
            limits: SessionLimits::default(),
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn chains_over_protected_columns_are_never_released_row_by_row(
        col in 0..COLUMNS.len(),
        chain in proptest::collection::vec(0usize..16, 0..5),
        wrapper in 0usize..7,
    ) {
        let mut e = COLUMNS[col].to_string();
        for f in chain {
            e = step(f, &e);
        }
        let sql = wrap(wrapper, &e);
        let engine = engine();
        let report = match rt().block_on(engine.check(&request(ELDER.0, ELDER.1, &sql))) {
            Ok(r) => r,
            Err(e) => return Err(TestCaseError::fail(format!("{sql}: {e}"))),
        };
        prop_assert!(!report.is_allowed(), "allowed: {}", sql);
        let rules: Vec<RuleId> = report.violations.iter().map(|v| v.rule).collect();
        prop_assert!(
            rules.iter().any(|r| matches!(r, RuleId::OutputReversible | RuleId::OutputRowLevel | RuleId::AggregateValueRevealing | RuleId::ColumnUse | RuleId::FilterTargeting)),
            "{} blocked for the wrong reasons: {:?}", sql, rules
        );
    }
}
