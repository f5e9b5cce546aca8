//! Pieces of the product page that are pure functions of their input: SQL highlighting, the
//! attack battery report, the checked result as a table page.

use arrow::array::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use maud::{Markup, html};
use serde_json::Value;

use super::Lang;

/// Rows of the checked result per page.
pub const RESULT_PAGE_ROWS: usize = 50;

const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "ORDER",
    "HAVING",
    "JOIN",
    "LEFT",
    "RIGHT",
    "INNER",
    "OUTER",
    "FULL",
    "ON",
    "AS",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "DISTINCT",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "LIMIT",
    "OFFSET",
    "UNION",
    "ALL",
    "WITH",
    "DESC",
    "ASC",
    "BETWEEN",
    "LIKE",
    "DATE",
    "INTERVAL",
    "OVER",
    "PARTITION",
    "CAST",
    "EXISTS",
];

/// SQL as spans: keywords, strings, numbers and comments each get a class; every piece of
/// text is escaped by maud.
pub fn sql(text: &str) -> Markup {
    let mut parts: Vec<(&'static str, &str)> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let c = bytes[i];
        let (class, len) = if rest.starts_with("--") {
            ("comment", rest.find('\n').unwrap_or(rest.len()))
        } else if c == b'\'' {
            // To the closing quote ('' is an escaped quote inside), or the end.
            let mut j = 1;
            loop {
                match rest[j..].find('\'') {
                    Some(k) if rest[j + k + 1..].starts_with('\'') => j += k + 2,
                    Some(k) => break ("string", j + k + 1),
                    None => break ("string", rest.len()),
                }
            }
        } else if c.is_ascii_digit() {
            (
                "number",
                rest.find(|ch: char| !(ch.is_ascii_digit() || ch == '.'))
                    .unwrap_or(rest.len()),
            )
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let len = rest
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
                .unwrap_or(rest.len());
            let word = &rest[..len];
            let kw = KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word));
            (if kw { "keyword" } else { "" }, len)
        } else {
            ("", rest.chars().next().map_or(1, char::len_utf8))
        };
        parts.push((class, &rest[..len]));
        i += len;
    }
    html! {
        pre.sql { code {
            @for (class, piece) in parts {
                @if class.is_empty() { (piece) } @else { span class=(class) { (piece) } }
            }
        } }
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "—".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// A table's head row: one column header per (Chinese, English) pair.
pub fn thead(lang: Lang, columns: &[(&'static str, &'static str)]) -> Markup {
    html! { thead { tr { @for (zh, en) in columns { th scope="col" { (lang.t(zh, en)) } } } } }
}

/// Percent-encodes a query or form value (everything but the unreserved characters).
pub fn percent_encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The attack battery section: the battery the platform keeps with the product (`status`,
/// then its `report` with each attack's outcome, or the reason it did not run), or "not run".
pub fn battery(battery: Option<&Value>, lang: Lang) -> Markup {
    let Some(battery) = battery else {
        return html! { p { (lang.t("此服务器不运行攻击测试。", "This server runs no attack battery.")) } };
    };
    let status = battery["status"].as_str().unwrap_or("");
    let said = match status {
        "pending" => lang.t("进行中：审核须待其完成", "running: reviews wait for it"),
        "done" => lang.t("已完成", "done"),
        "failed" => lang.t("失败", "failed"),
        "not_applicable" => lang.t("不适用", "not applicable"),
        _ => lang.t("未知", "unknown"),
    };
    let report = &battery["report"];
    let outcomes = report["outcomes"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    // A share as a percentage; an RMSE as it is.
    let figure = |o: &Value, key: &str| -> String {
        let v = o[key].as_f64().unwrap_or(f64::NAN);
        if o["metric"] == "rmse" {
            format!("{v:.2}")
        } else {
            format!("{:.1} %", v * 100.0)
        }
    };
    html! {
        p { (lang.t("状态：", "Status: ")) strong.battery-status { (said) } }
        @if let Some(why) = report["error"].as_str() { p.note { (why) } }
        @if !outcomes.is_empty() {
            p {
                (lang.t(
                    "每项攻击都以持有本许可的运营者身份、针对现行策略运行（独立的预算账本）；成功率与基线（猜测最常见值）对比。",
                    "Each attack ran as an operator holding this licence, against the policy in force (a ledger of its own); success is set against the baseline of guessing the commonest value.",
                ))
            }
            table.battery {
                (thead(lang, &[
                    ("攻击", "Attack"), ("目标数", "Targets"), ("查询数", "Queries"), ("被拒", "Refused"),
                    ("指标", "Metric"), ("攻击结果", "Attack"), ("基线", "Baseline"), ("说明", "Note"),
                ]))
                tbody {
                    @for o in outcomes {
                        tr {
                            th scope="row" { (cell(&o["attack"])) }
                            td { (cell(&o["targets"])) }
                            td { (cell(&o["queries"])) }
                            td { (cell(&o["refused"])) }
                            td { (cell(&o["metric"])) }
                            td { (figure(o, "success")) }
                            td { (figure(o, "baseline")) }
                            td { (cell(&o["note"])) }
                        }
                    }
                }
            }
        }
    }
}

/// One page of the checked result: `page` counts from 0. Returns the table and the number of
/// pages.
pub fn result_page(batches: &[RecordBatch], page: usize, lang: Lang) -> (Markup, usize) {
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let pages = total.div_ceil(RESULT_PAGE_ROWS).max(1);
    let page = page.min(pages - 1);
    let (start, end) = (
        page * RESULT_PAGE_ROWS,
        ((page + 1) * RESULT_PAGE_ROWS).min(total),
    );
    let names: Vec<String> = batches
        .first()
        .map(|b| {
            b.schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect()
        })
        .unwrap_or_default();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut offset = 0;
    let options = FormatOptions::default().with_null("—");
    for b in batches {
        let n = b.num_rows();
        if offset + n > start && offset < end {
            let formatters: Vec<Option<ArrayFormatter<'_>>> = b
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).ok())
                .collect();
            for r in start.saturating_sub(offset)..(end - offset).min(n) {
                rows.push(
                    formatters
                        .iter()
                        .map(|f| {
                            f.as_ref()
                                .map_or_else(|| "?".to_owned(), |f| f.value(r).to_string())
                        })
                        .collect(),
                );
            }
        }
        offset += n;
    }
    let table = html! {
        table.result {
            caption { (lang.t("已检查结果，行 ", "Checked result, rows ")) (if total == 0 { 0 } else { start + 1 }) "–" (end) " / " (total) }
            thead { tr { @for n in &names { th scope="col" { (n) } } } }
            tbody { @for row in &rows { tr { @for c in row { td { (c) } } } } }
        }
    };
    (table, pages)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn sql_is_highlighted_and_escaped() {
        let html = sql("SELECT a, count(*) FROM t WHERE b = 'x''<y>' -- note <b>\nAND c > 10")
            .into_string();
        assert!(html.contains(r#"<span class="keyword">SELECT</span>"#));
        assert!(html.contains(r#"<span class="keyword">WHERE</span>"#));
        assert!(html.contains(r#"<span class="string">'x''&lt;y&gt;'</span>"#));
        assert!(html.contains(r#"<span class="comment">-- note &lt;b&gt;</span>"#));
        assert!(html.contains(r#"<span class="number">10</span>"#));
        assert!(html.contains("c &gt; "));
        assert!(!html.contains("<y>") && !html.contains("<b>"));
        // Unterminated strings and multibyte text do not break it.
        let html = sql("SELECT '尖山区").into_string();
        assert!(html.contains("'尖山区</span>"));
    }

    #[test]
    fn the_battery_report_shows_status_and_outcomes() {
        let none = battery(None, Lang::En).into_string();
        assert!(none.contains("runs no attack battery"));
        let done = serde_json::json!({
            "status": "done",
            "at": "2026-03-02T10:00:00+00:00",
            "report": { "outcomes": [
                {"attack": "differencing<script>", "targets": 20, "queries": 40, "refused": 38,
                 "metric": "success rate", "success": 0.05, "baseline": 0.04, "note": ""},
                {"attack": "averaging", "targets": 5, "queries": 100, "refused": 90,
                 "metric": "rmse", "success": 3.25, "baseline": 3.5, "note": "budget spent"}
            ]}
        });
        let html = battery(Some(&done), Lang::En).into_string();
        assert!(html.contains(r#"<strong class="battery-status">done</strong>"#));
        assert_eq!(html.matches("<tr>").count(), 3, "a header and two outcomes");
        assert!(html.contains("differencing&lt;script&gt;"));
        assert!(html.contains("<td>5.0 %</td>") && html.contains("<td>4.0 %</td>"));
        assert!(html.contains("<td>3.25</td>") && html.contains("<td>budget spent</td>"));
        let pending =
            battery(Some(&serde_json::json!({"status": "pending"})), Lang::Zh).into_string();
        assert!(pending.contains("进行中") && !pending.contains("<table"));
        let na =
            serde_json::json!({"status": "not_applicable", "report": {"error": "no <residents>"}});
        let html = battery(Some(&na), Lang::En).into_string();
        assert!(html.contains("not applicable") && html.contains("no &lt;residents&gt;"));
    }

    #[test]
    fn results_are_paged() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("district", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let batch = |from: i64, to: i64| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from_iter(
                        (from..to).map(|i| Some(format!("d{i}"))),
                    )),
                    Arc::new(Int64Array::from_iter(
                        (from..to).map(|i| if i == 3 { None } else { Some(i) }),
                    )),
                ],
            )
            .unwrap()
        };
        // 120 rows in two batches: three pages, the second crossing the batch boundary.
        let batches = [batch(0, 70), batch(70, 120)];
        let (first, pages) = result_page(&batches, 0, Lang::En);
        let first = first.into_string();
        assert_eq!(pages, 3);
        assert!(first.contains("rows 1–50 / 120"));
        assert!(
            first.contains("<td>d0</td>")
                && first.contains("<td>d49</td>")
                && !first.contains("<td>d50</td>")
        );
        assert!(first.contains("<td>—</td>"), "null shown as a dash");
        let second = result_page(&batches, 1, Lang::En).0.into_string();
        assert!(
            second.contains("<td>d50</td>")
                && second.contains("<td>d99</td>")
                && !second.contains("<td>d100</td>")
        );
        let last = result_page(&batches, 99, Lang::En).0.into_string();
        assert!(
            last.contains("rows 101–120 / 120"),
            "a page past the end shows the last"
        );
        assert_eq!(result_page(&[], 0, Lang::En).1, 1);
    }
}
