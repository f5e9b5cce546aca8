//! The dynamic checks on a result, after execution and before anything leaves the sandbox:
//! suppression of small and dominated groups (`threshold.group`, `dominance.nk`,
//! `dominance.p_ratio`), the root LIMIT/OFFSET, then the scans that block the whole result
//! (`dlp.identifier`, `echo.raw_value`, `limit.rows`, `limit.bytes`).

use cleanroom_policy::DisclosureRules;
use cleanroom_policy::decision::{Decision, RuleId, Violation};
use cleanroom_policy::ident;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::common::{Result, exec_datafusion_err};
use serde::Serialize;

use crate::echo::EchoFilter;
use crate::rewrite::{Rewritten, is_hidden};
use crate::scrub::mask_values;

/// How many output groups each rule suppressed (never which).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Suppression {
    pub threshold: u64,
    pub dominance_nk: u64,
    pub dominance_p_ratio: u64,
}

impl Suppression {
    pub fn total(&self) -> u64 {
        self.threshold + self.dominance_nk + self.dominance_p_ratio
    }
}

/// A checked result: what may be shown, and what was done to it.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The surviving rows without hidden columns; empty when the decision blocks.
    pub batches: Vec<RecordBatch>,
    pub suppressed: Suppression,
    /// Violations of the output scans; any one blocks the whole result.
    pub decision: Decision,
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| exec_datafusion_err!("internal: hidden column {name} missing"))
}

/// Suppresses, limits and scans a result.
pub fn check(
    batches: Vec<RecordBatch>,
    rw: &Rewritten,
    rules: &DisclosureRules,
    echo: &[&EchoFilter],
) -> Result<Checked> {
    let mut suppressed = Suppression::default();
    // Kept so that a result whose every row is suppressed still has its columns.
    // (A new empty batch: a zero-length slice would still hold, and count, the buffers.)
    let empty = batches.first().map(|b| RecordBatch::new_empty(b.schema()));
    let mut kept = Vec::with_capacity(batches.len());
    for batch in batches {
        let mut keep = vec![true; batch.num_rows()];
        for (name, k) in rw.hidden.units.iter().zip(&rw.hidden.thresholds) {
            let units = column(&batch, name)?.as_primitive::<Int64Type>();
            for (i, slot) in keep.iter_mut().enumerate() {
                if *slot && (units.is_null(i) || units.value(i) < *k) {
                    *slot = false;
                    suppressed.threshold += 1;
                }
            }
        }
        for d in &rw.hidden.dominance {
            let top = column(&batch, &d.top)?.as_struct();
            let top1 = top.column(0).as_primitive::<Float64Type>();
            let top2 = top.column(1).as_primitive::<Float64Type>();
            let total = top.column(2).as_primitive::<Float64Type>();
            for (i, slot) in keep.iter_mut().enumerate() {
                if !*slot || top.is_null(i) {
                    continue;
                }
                let (t, a, b) = (total.value(i), top1.value(i), top2.value(i));
                if t <= 0.0 {
                    continue;
                }
                let top_n = if rules.dominance_n <= 1 { a } else { a + b };
                if top_n / t >= rules.dominance_k {
                    *slot = false;
                    suppressed.dominance_nk += 1;
                } else if a > 0.0 && (t - a - b) / a < rules.p_ratio {
                    *slot = false;
                    suppressed.dominance_p_ratio += 1;
                }
            }
        }
        let batch = filter_record_batch(&batch, &BooleanArray::from(keep))?;
        if batch.num_rows() > 0 {
            kept.push(batch);
        }
    }

    // OFFSET / LIMIT after suppression.
    let mut skip = rw.skip;
    let mut left = rw.fetch.unwrap_or(usize::MAX);
    let mut limited = Vec::new();
    for b in kept {
        if left == 0 {
            break;
        }
        let n = b.num_rows();
        if skip >= n {
            skip -= n;
            continue;
        }
        let take = (n - skip).min(left);
        limited.push(b.slice(skip, take));
        left -= take;
        skip = 0;
    }

    if limited.is_empty() {
        limited.extend(empty);
    }

    // Drop the hidden columns.
    let mut visible = Vec::with_capacity(limited.len());
    for b in limited {
        let idx: Vec<usize> = b
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| !is_hidden(f.name()))
            .map(|(i, _)| i)
            .collect();
        visible.push(b.project(&idx)?);
    }

    let decision = scan(&visible, rules, echo);
    let batches = if decision.is_allowed() {
        visible
    } else {
        Vec::new()
    };
    Ok(Checked {
        batches,
        suppressed,
        decision,
    })
}

/// The output scans. Reports name columns and counts, never a value.
pub fn scan(batches: &[RecordBatch], rules: &DisclosureRules, echo: &[&EchoFilter]) -> Decision {
    let mut d = Decision::default();
    let Some(first) = batches.first() else {
        return d;
    };
    let schema = first.schema();
    for f in schema.fields() {
        if let Some(kind) = ident::classify(f.name()) {
            d.push(Violation::new(
                RuleId::DlpIdentifier,
                mask_values(f.name()),
                format!("a column name looks like {}", kind.describe()),
            ));
        }
    }
    for (ci, f) in schema.fields().iter().enumerate() {
        let name = mask_values(f.name());
        let mut dlp_hit = None;
        let mut echo_hit = false;
        for b in batches {
            for_each_text(b.column(ci), &mut |s| {
                if dlp_hit.is_none() {
                    dlp_hit = ident::classify(s);
                }
                if !echo_hit && echo.iter().any(|e| e.contains(s)) {
                    echo_hit = true;
                }
            });
        }
        if let Some(kind) = dlp_hit {
            d.push(
                Violation::new(
                    RuleId::DlpIdentifier,
                    name.clone(),
                    format!("values in column `{name}` look like {}", kind.describe()),
                )
                .with_suggestion("release counts or statistics per group instead of identifiers"),
            );
        }
        if echo_hit {
            d.push(Violation::new(RuleId::EchoRawValue, name.clone(), format!("values in column `{name}` equal raw values of an identifier column of the data read")));
        }
    }
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if rows as u64 > rules.max_output_rows {
        d.push(
            Violation::new(
                RuleId::LimitRows,
                "*",
                format!(
                    "the result has {rows} rows; at most {} may be released",
                    rules.max_output_rows
                ),
            )
            .with_suggestion("group more coarsely or add LIMIT"),
        );
    }
    let bytes: usize = batches.iter().map(RecordBatch::get_array_memory_size).sum();
    if bytes as u64 > rules.max_output_bytes {
        d.push(Violation::new(
            RuleId::LimitBytes,
            "*",
            format!(
                "the result takes {bytes} bytes; at most {} may be released",
                rules.max_output_bytes
            ),
        ));
    }
    d
}

/// Calls `f` with the text of every string cell, and of every integer (or integral float) cell
/// written in decimal: an 18-digit ID fits in an Int64, an 11-digit phone number in a Float64.
/// Calls `f` with the decimal digits of `v`, written on the stack (the scans see every cell).
fn with_decimal(v: i64, f: &mut dyn FnMut(&str)) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut n = v.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    f(std::str::from_utf8(&buf[at..]).unwrap_or_default());
}

fn for_each_text(arr: &ArrayRef, f: &mut dyn FnMut(&str)) {
    match arr.data_type() {
        DataType::Utf8 => arr.as_string::<i32>().iter().flatten().for_each(f),
        DataType::LargeUtf8 => arr.as_string::<i64>().iter().flatten().for_each(f),
        DataType::Utf8View => arr.as_string_view().iter().flatten().for_each(f),
        DataType::Int64 => arr
            .as_primitive::<Int64Type>()
            .iter()
            .flatten()
            .for_each(|v| with_decimal(v, f)),
        DataType::Int32
        | DataType::Int16
        | DataType::Int8
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => {
            if let Ok(a) = datafusion::arrow::compute::cast(arr, &DataType::Int64) {
                a.as_primitive::<Int64Type>()
                    .iter()
                    .flatten()
                    .for_each(|v| with_decimal(v, f));
            }
        }
        DataType::Float64 | DataType::Float32 => {
            if let Ok(a) = datafusion::arrow::compute::cast(arr, &DataType::Float64) {
                for v in a.as_primitive::<Float64Type>().iter().flatten() {
                    if v.fract() == 0.0 && v.abs() >= 1e9 && v.abs() < 1e19 {
                        f(&format!("{v:.0}"));
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_match_to_string() {
        for v in [0, 7, -7, 10, 1_234_567_890_123, -42, i64::MAX, i64::MIN] {
            let mut seen = String::new();
            with_decimal(v, &mut |s| seen = s.to_owned());
            assert_eq!(seen, v.to_string());
        }
    }
}
