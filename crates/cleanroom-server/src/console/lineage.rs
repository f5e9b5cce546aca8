//! The lineage picture: the column-lineage facet of a job's report (the same facet its
//! OpenLineage events carry) drawn as SVG by the server. Source columns on the left, coloured
//! by class; output columns on the right; between them one line per use, its look saying what
//! kind: identity (thin solid), transformation (solid, labelled), aggregation (thick, labelled),
//! and the indirect uses (filter, join, group by, sort, window, condition) dashed, each its own
//! dash pattern. All text goes through maud, so it is escaped.

use std::collections::BTreeMap;

use maud::{Markup, html};
use serde_json::Value;

use super::Lang;

/// Nodes drawn per side at most; the rest are counted in a note.
pub const MAX_NODES: usize = 60;
/// Lines drawn at most.
pub const MAX_EDGES: usize = 400;

const ROW: usize = 30;
const LEFT_X: usize = 10;
const NODE_W: usize = 250;
const RIGHT_X: usize = 560;
const WIDTH: usize = RIGHT_X + NODE_W + 10;
const TOP: usize = 40;

/// How a line is drawn: its CSS class and dash pattern (a presentation attribute: the strict
/// CSP forbids style attributes, not these).
fn look(kind: &str, subtype: &str) -> (&'static str, Option<&'static str>) {
    match (kind, subtype) {
        ("DIRECT", "IDENTITY") => ("e-identity", None),
        ("DIRECT", "AGGREGATION") => ("e-aggregation", None),
        ("DIRECT", _) => ("e-transformation", None),
        (_, "FILTER") => ("e-filter", Some("6 4")),
        (_, "JOIN") => ("e-join", Some("2 3")),
        (_, "GROUP_BY") => ("e-group-by", Some("10 3 2 3")),
        (_, "SORT") => ("e-sort", Some("1 5")),
        (_, "WINDOW") => ("e-window", Some("8 8")),
        _ => ("e-conditional", Some("4 2")),
    }
}

/// One use of a source column by an output (or by all outputs, for dataset-wide uses).
struct Edge {
    from: usize,
    /// `None`: every output (a dataset-wide indirect use).
    to: Option<usize>,
    kind: String,
    subtype: String,
    description: String,
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// The picture of `lineage` (the report's `lineage` object); `class_of(dataset, column)` gives
/// a source column's class. `None` when the report carries no lineage.
pub fn svg(
    lineage: Option<&Value>,
    class_of: &dyn Fn(&str, &str) -> Option<&'static str>,
    lang: Lang,
) -> Option<Markup> {
    let lineage = lineage?.as_object()?;
    let mut sources: Vec<(String, String)> = Vec::new();
    let mut outputs: Vec<String> = Vec::new();
    let mut edges: Vec<Edge> = Vec::new();
    let mut dropped = 0usize;
    let mut source = |ds: &str, col: &str, dropped: &mut usize| -> Option<usize> {
        let key = (ds.to_owned(), col.to_owned());
        if let Some(i) = sources.iter().position(|s| *s == key) {
            return Some(i);
        }
        if sources.len() >= MAX_NODES {
            *dropped += 1;
            return None;
        }
        sources.push(key);
        Some(sources.len() - 1)
    };
    let fields: BTreeMap<&String, &Value> = lineage
        .get("fields")
        .and_then(Value::as_object)
        .map(|m| m.iter().collect())
        .unwrap_or_default();
    for (out, field) in fields {
        if outputs.len() >= MAX_NODES {
            dropped += 1;
            continue;
        }
        outputs.push(out.clone());
        let to = outputs.len() - 1;
        for input in field["inputFields"].as_array().into_iter().flatten() {
            let Some(from) = source(str_of(input, "name"), str_of(input, "field"), &mut dropped)
            else {
                continue;
            };
            for t in input["transformations"].as_array().into_iter().flatten() {
                edges.push(Edge {
                    from,
                    to: Some(to),
                    kind: str_of(t, "type").to_owned(),
                    subtype: str_of(t, "subtype").to_owned(),
                    description: str_of(t, "description").to_owned(),
                });
            }
        }
    }
    for input in lineage
        .get("dataset")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(from) = source(str_of(input, "name"), str_of(input, "field"), &mut dropped) else {
            continue;
        };
        for t in input["transformations"].as_array().into_iter().flatten() {
            edges.push(Edge {
                from,
                to: None,
                kind: str_of(t, "type").to_owned(),
                subtype: str_of(t, "subtype").to_owned(),
                description: str_of(t, "description").to_owned(),
            });
        }
    }
    let shown_edges = edges.len().min(MAX_EDGES);
    dropped += edges.len() - shown_edges;
    let rows = sources.len().max(outputs.len()).max(1);
    let height = TOP + rows * ROW + 20;
    let y = |i: usize| TOP + i * ROW + ROW / 2;
    // Outputs are spread over the same height as the sources, so lines stay readable.
    let out_y = |i: usize| {
        if outputs.len() <= 1 {
            y((rows - 1) / 2)
        } else {
            TOP + ROW / 2 + i * (rows - 1) * ROW / (outputs.len() - 1)
        }
    };
    let (x1, x2) = (LEFT_X + NODE_W, RIGHT_X);
    let title = lang.t("列级血缘", "Column lineage");
    Some(html! {
        svg xmlns="http://www.w3.org/2000/svg" class="lineage" role="img"
            aria-labelledby="lineage-title" viewBox=(format!("0 0 {WIDTH} {height}"))
            width=(WIDTH) height=(height) {
            title id="lineage-title" { (title) }
            text x=(LEFT_X) y="20" class="head" { (lang.t("来源数据集.列", "Source dataset.column")) }
            text x=(RIGHT_X) y="20" class="head" { (lang.t("输出列", "Output column")) }
            @for e in edges.iter().take(shown_edges) {
                @let (class, dash) = look(&e.kind, &e.subtype);
                @let targets: Vec<usize> = match e.to { Some(t) => vec![t], None => (0..outputs.len()).collect() };
                @for t in targets {
                    @let (ya, yb) = (y(e.from), out_y(t));
                    g class=(format!("edge {class}")) {
                        title { (e.subtype) ": " (e.description) }
                        path d=(format!("M{x1},{ya} C{},{ya} {},{yb} {x2},{yb}", x1 + 120, x2 - 120))
                            fill="none" stroke-dasharray=[dash] {}
                        @if e.to.is_some() && e.subtype != "IDENTITY" {
                            text x=((x1 + x2) / 2 - 40) y=((ya + yb) / 2 - 3) class="label" { (e.subtype) }
                        }
                    }
                }
            }
            @for (i, (ds, col)) in sources.iter().enumerate() {
                @let class = class_of(ds, col).unwrap_or("unknown");
                g class=(format!("node src c-{class}")) {
                    title { (ds) "." (col) " (" (class) ")" }
                    rect x=(LEFT_X) y=(y(i) - 11) width=(NODE_W) height="22" rx="4" {}
                    text x=(LEFT_X + 8) y=(y(i) + 5) { (ds) "." (col) }
                }
            }
            @for (i, out) in outputs.iter().enumerate() {
                g class="node out" {
                    rect x=(RIGHT_X) y=(out_y(i) - 11) width=(NODE_W) height="22" rx="4" {}
                    text x=(RIGHT_X + 8) y=(out_y(i) + 5) { (out) }
                }
            }
        }
        @if dropped > 0 {
            p.note { (lang.t("图中省略的节点或连线数：", "Nodes or lines left out of the picture: ")) (dropped) }
        }
        (legend(lang))
    })
}

fn legend(lang: Lang) -> Markup {
    html! {
        dl.legend {
            dt { span.swatch.e-identity {} } dd { (lang.t("原样", "identity")) }
            dt { span.swatch.e-transformation {} } dd { (lang.t("变换", "transformation")) }
            dt { span.swatch.e-aggregation {} } dd { (lang.t("聚合", "aggregation")) }
            dt { span.swatch.e-filter {} } dd { (lang.t("间接：过滤（虚线）", "indirect: filter (dashed)")) }
            dt { span.swatch.e-join {} } dd { (lang.t("间接：连接（点线）", "indirect: join (dotted)")) }
            dt { span.swatch.e-group-by {} } dd { (lang.t("间接：分组（点划线）", "indirect: group by (dash-dot)")) }
            dt { span.swatch.c-identifier {} } dd { (lang.t("标识符列", "identifier column")) }
            dt { span.swatch.c-quasi {} } dd { (lang.t("准标识符列", "quasi-identifier column")) }
            dt { span.swatch.c-sensitive {} } dd { (lang.t("敏感列", "sensitive column")) }
            dt { span.swatch.c-public {} } dd { (lang.t("公开列", "public column")) }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]
    use super::*;
    use serde_json::json;

    fn class_of(_: &str, col: &str) -> Option<&'static str> {
        match col {
            "citizen_id" => Some("identifier"),
            "district" => Some("quasi"),
            _ => None,
        }
    }

    #[test]
    fn uses_are_drawn_apart_and_text_is_escaped() {
        let lineage = json!({
            "fields": {
                "district": {"inputFields": [{"namespace": "cleanroom", "name": "residents", "field": "district",
                    "transformations": [{"type": "DIRECT", "subtype": "IDENTITY", "description": "", "masking": false}]}]},
                "n<script>": {"inputFields": [{"namespace": "cleanroom", "name": "residents", "field": "citizen_id",
                    "transformations": [{"type": "DIRECT", "subtype": "AGGREGATION", "description": "count", "masking": true}]}]}
            },
            "dataset": [{"namespace": "cleanroom", "name": "residents", "field": "birth_date",
                "transformations": [{"type": "INDIRECT", "subtype": "FILTER", "description": "", "masking": false}]},
                {"namespace": "cleanroom", "name": "residents", "field": "district",
                "transformations": [{"type": "INDIRECT", "subtype": "GROUP_BY", "description": "", "masking": false}]}]
        });
        let svg = svg(Some(&lineage), &class_of, Lang::En)
            .unwrap()
            .into_string();
        assert!(svg.starts_with("<svg"));
        for class in [
            "e-identity",
            "e-aggregation",
            "e-filter",
            "e-group-by",
            "c-identifier",
            "c-quasi",
            "c-unknown",
        ] {
            assert!(svg.contains(class), "{class} in {svg}");
        }
        assert!(svg.contains(r#"stroke-dasharray="6 4""#), "filter dashed");
        assert!(
            svg.contains(r#"stroke-dasharray="10 3 2 3""#),
            "group by dash-dot"
        );
        assert!(svg.contains("n&lt;script&gt;"));
        assert!(!svg.contains("<script"));
        // district is one source node used twice; three source nodes in all.
        assert_eq!(svg.matches("node src").count(), 3);
        // The filter and the group by reach both outputs: 2 direct + 2 x 2 indirect lines.
        assert_eq!(svg.matches("<path").count(), 6);
        // Inline SVG in HTML has no void elements: an unclosed <rect> would swallow its label.
        assert_eq!(svg.matches("</path>").count(), 6);
        assert_eq!(svg.matches("<rect").count(), svg.matches("</rect>").count());
        assert!(svg.contains("residents.district</text>"));
    }

    #[test]
    fn no_lineage_no_picture_and_the_size_is_bounded() {
        assert!(svg(None, &class_of, Lang::Zh).is_none());
        let mut fields = serde_json::Map::new();
        for i in 0..(MAX_NODES + 5) {
            fields.insert(format!("c{i:03}"), json!({"inputFields": []}));
        }
        let svg = svg(Some(&json!({ "fields": fields })), &class_of, Lang::En)
            .unwrap()
            .into_string();
        assert_eq!(svg.matches("node out").count(), MAX_NODES);
        assert!(svg.contains("left out of the picture: 5"));
    }
}
