//! How decisions and checked results are printed.

use std::fmt::Write as _;

use cleanroom_engine::{Report, rows_json};
use cleanroom_guard::Verdict;
use serde_json::json;

use crate::Format;

/// The `check --json` document.
pub(crate) fn check_json(r: &Report) -> anyhow::Result<String> {
    let v = json!({
        "decision": r.decision,
        "violations": r.violations,
        "lineage": r.lineage,
    });
    Ok(serde_json::to_string_pretty(&v)?)
}

/// The decision as text: one block per violation, with its rule id, target, reason and suggestion.
pub(crate) fn report_text(r: &Report) -> String {
    let mut s = String::new();
    match r.decision {
        Verdict::Allowed => {
            let _ = writeln!(s, "decision: allowed");
        }
        Verdict::Blocked => {
            let _ = writeln!(
                s,
                "decision: blocked ({} violation{})",
                r.violations.len(),
                if r.violations.len() == 1 { "" } else { "s" }
            );
        }
    }
    for v in &r.violations {
        let _ = writeln!(s, "  ✗ {}  [{}]", v.rule.as_str(), v.target);
        let _ = writeln!(s, "    {}", v.reason);
        if let Some(sug) = &v.suggestion {
            let _ = writeln!(s, "    suggestion: {sug}");
        }
    }
    if let Some(f) = &r.functions {
        let _ = writeln!(
            s,
            "guest functions: {} from component sha256:{} ({} calls, {} fuel)",
            f.functions.join(", "),
            f.component,
            f.calls,
            f.fuel
        );
    }
    s
}

fn suppression_text(r: &Report) -> String {
    let sp = &r.suppression;
    format!(
        "suppressed groups: {} (fewer than k={} distinct persons or companies: {}; dominated by top contributors: {}; p-ratio: {})",
        r.suppressed_groups, r.k, sp.threshold, sp.dominance_nk, sp.dominance_p_ratio
    )
}

/// What differential privacy did: ε and δ spent, the noisy threshold, and per released number
/// its noise and 95 % error bound.
pub(crate) fn dp_text(r: &Report) -> String {
    let Some(dp) = &r.dp else {
        return String::new();
    };
    let mut s = format!(
        "differential privacy: ε = {} spent, δ = {:e}; a group appears when its noisy count of distinct persons or companies reaches {}; at most {} rows per person in an aggregate, all groups together\n",
        dp.epsilon, dp.delta, dp.threshold, dp.max_rows_per_unit
    );
    if !dp.other_units.is_empty() {
        let _ = writeln!(
            s,
            "  protects {}; {} keep the exact threshold and the dominance rules",
            dp.protected_units.join(", "),
            dp.other_units.join(", ")
        );
    }
    for m in &dp.measurements {
        let _ = writeln!(
            s,
            "  {} ({}): {:?} noise of scale {:.4} (sensitivity {}, ε {:.4}), within ±{} at 95 %",
            m.target, m.statistic, m.mechanism, m.scale, m.sensitivity, m.epsilon, m.error95
        );
    }
    s
}

/// Prints a query's checked result and report in the chosen format.
/// A query's decision, report and (where visible) rows as JSON.
fn query_json(r: &Report) -> anyhow::Result<serde_json::Value> {
    let visible = r.is_allowed() && r.interactive;
    let rows = if visible {
        rows_json(&r.batches)?
    } else {
        Vec::new()
    };
    Ok(json!({
        "decision": r.decision,
        "violations": r.violations,
        "suppressed_groups": r.suppressed_groups,
        "suppression": r.suppression,
        "k": r.k,
        "epsilon": r.epsilon,
        "dp": r.dp,
        "columns": r.columns,
        "rows": rows,
        "held_for_review": r.is_allowed() && !r.interactive,
    }))
}

/// One run of `query --repeat`: the JSON of [`print_query`] on one line, with the run's number
/// and its time.
pub(crate) fn print_query_line(
    r: &Report,
    run: u32,
    elapsed: std::time::Duration,
) -> anyhow::Result<()> {
    let mut v = query_json(r)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("run".into(), json!(run));
        o.insert("elapsed_ms".into(), json!(elapsed.as_secs_f64() * 1e3));
    }
    println!("{}", serde_json::to_string(&v)?);
    Ok(())
}

pub(crate) fn print_query(r: &Report, format: Format) -> anyhow::Result<()> {
    let visible = r.is_allowed() && r.interactive;
    match format {
        Format::Json => {
            println!("{}", serde_json::to_string_pretty(&query_json(r)?)?);
        }
        Format::Csv => {
            if visible {
                let mut w = datafusion::arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(std::io::stdout());
                for b in &r.batches {
                    w.write(b)?;
                }
            }
            eprint!("{}", report_text(r));
            if r.is_allowed() {
                eprintln!("{}", suppression_text(r));
                eprint!("{}", dp_text(r));
            }
        }
        Format::Table => {
            print!("{}", report_text(r));
            if r.is_allowed() {
                println!("{}", suppression_text(r));
                print!("{}", dp_text(r));
                if visible {
                    if r.row_count() == 0 {
                        println!("(no rows)");
                    } else {
                        println!(
                            "{}",
                            datafusion::arrow::util::pretty::pretty_format_batches(&r.batches)?
                        );
                    }
                } else {
                    println!(
                        "{} checked rows are held in the sandbox until a reviewer approves the product (the licence is not interactive)",
                        r.row_count()
                    );
                }
            }
        }
    }
    Ok(())
}
