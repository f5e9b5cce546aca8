//! The WASM part of `cleanroom bench`: `contribute` of the elderly-need example over 1,000,000
//! input rows through the host (Arrow IPC both ways, fuel metering, the output decoded and
//! validated) versus the same logic as native Rust over the same Arrow batches, alternating in
//! one run; and instantiation from the compiled cache.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Builder, RecordBatch, StringBuilder, UInt32Array,
};
use datafusion::arrow::datatypes::{DataType, Date32Type, Field, Float64Type, Schema};
use datafusion::prelude::SessionContext;

use crate::bench::{median, ms};

/// The input the example's manifest reads.
const INPUT_SQL: &str = "SELECT r.district, r.birth_date, s.pension_status, s.monthly_wage FROM residents r LEFT JOIN social_insurance s ON r.citizen_id = s.citizen_id";
const ROWS: usize = 1_000_000;
const BATCH: usize = 8_192;

fn schema() -> Schema {
    Schema::new(vec![
        Field::new("row", DataType::UInt32, false),
        Field::new("district", DataType::Utf8, true),
        Field::new("need", DataType::Float64, true),
    ])
}

/// The example's `contribute` (sandbox/modules/elderly-need), written natively over the same
/// batches: the baseline the WASM host is measured against.
fn native(batch: &RecordBatch) -> anyhow::Result<RecordBatch> {
    const REFERENCE_DAY: i32 = 20_454;
    let district = batch.column(0).as_string::<i32>();
    let birth = batch.column(1).as_primitive::<Date32Type>();
    let pension = batch.column(2).as_string::<i32>();
    let wage = batch.column(3).as_primitive::<Float64Type>();
    let mut rows = Vec::new();
    let mut keys = StringBuilder::new();
    let mut needs = Float64Builder::new();
    for row in 0..batch.num_rows() {
        if district.is_null(row) || birth.is_null(row) {
            continue;
        }
        let age = f64::from(REFERENCE_DAY - birth.value(row)) / 365.25;
        if age < 60.0 {
            continue;
        }
        let mut need: f64 = if age >= 80.0 {
            0.5
        } else if age >= 70.0 {
            0.3
        } else {
            0.1
        };
        if pension.is_null(row) || pension.value(row) != "退休" {
            need += 0.3;
        }
        if wage.is_null(row) || wage.value(row) < 2_500.0 {
            need += 0.2;
        }
        rows.push(row as u32);
        keys.append_value(district.value(row));
        needs.append_value(need.min(1.0));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from(rows)),
        Arc::new(keys.finish()),
        Arc::new(needs.finish()),
    ];
    Ok(RecordBatch::try_new(Arc::new(schema()), columns)?)
}

/// Runs the comparison and returns the Markdown section.
pub(crate) fn run(
    rt: &tokio::runtime::Runtime,
    bare: &SessionContext,
    runs: usize,
) -> anyhow::Result<String> {
    // The input as the engine gives it to a component: plain Utf8, batches of 8,192 rows.
    let all = rt.block_on(async { bare.sql(INPUT_SQL).await?.collect().await })?;
    let all = datafusion::arrow::compute::concat_batches(&all[0].schema(), &all)?;
    let n = all.num_rows().min(ROWS);
    let mut batches = Vec::new();
    let mut start = 0;
    while start < n {
        let len = BATCH.min(n - start);
        let slice = all.slice(start, len);
        let columns = slice
            .columns()
            .iter()
            .map(|c| match c.data_type() {
                DataType::Utf8View | DataType::LargeUtf8 => {
                    datafusion::arrow::compute::cast(c, &DataType::Utf8)
                }
                _ => Ok(Arc::clone(c)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let fields: Vec<Field> = slice
            .schema()
            .fields()
            .iter()
            .zip(&columns)
            .map(|(f, c)| Field::new(f.name(), c.data_type().clone(), true))
            .collect();
        batches.push(RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns,
        )?);
        start += len;
    }
    let component = cleanroom_components::example("elderly-need")
        .ok_or_else(|| anyhow::anyhow!("the example component was not built"))?;
    let host = cleanroom_wasm::Host::new(cleanroom_wasm::Limits::default())?;
    let compile = Instant::now();
    let module = host.load(component)?;
    let compile = compile.elapsed();
    let expected = schema();
    let wasm_pass = || -> anyhow::Result<(Duration, usize)> {
        let t = Instant::now();
        let mut instance = host.instantiate(&module, 1)?;
        let mut out = 0;
        for b in &batches {
            out += instance.contribute(b, &expected)?.num_rows();
        }
        Ok((t.elapsed(), out))
    };
    let native_pass = || -> anyhow::Result<(Duration, usize)> {
        let t = Instant::now();
        let mut out = 0;
        for b in &batches {
            out += native(b)?.num_rows();
        }
        Ok((t.elapsed(), out))
    };
    // Warm-up, and the two must agree.
    let (_, wasm_rows) = wasm_pass()?;
    let (_, native_rows) = native_pass()?;
    anyhow::ensure!(
        wasm_rows == native_rows,
        "the component and the native code disagree: {wasm_rows} vs {native_rows} contributions"
    );
    let (mut w, mut nt) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        w.push(wasm_pass()?.0);
        nt.push(native_pass()?.0);
    }
    let (wm, nm) = (median(&mut w), median(&mut nt));
    let mut inst = Vec::new();
    for seed in 0..200 {
        let t = Instant::now();
        let i = host.instantiate(&module, seed)?;
        inst.push(t.elapsed());
        std::hint::black_box(i);
    }
    let im = median(&mut inst);
    let throughput = |d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    let ratio = throughput(wm) / throughput(nm);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## WASM: contribute through the host versus native Rust\n\n\
         `contribute` of `sandbox/modules/elderly-need` over the first {n} rows of its input \
         ({} batches of up to {BATCH} rows; {wasm_rows} contributions), through the host \
         (one instance; Arrow IPC both ways, fuel metering, the output decoded and validated) and \
         as the same logic in native Rust over the same Arrow batches, alternating; medians of \
         {runs} runs after a warm-up. Target: WASM at least 0.5x native throughput; instantiation \
         from the compiled cache under 1 ms.\n",
        batches.len()
    );
    let _ = writeln!(s, "| | time (ms) | rows/s |");
    let _ = writeln!(s, "|---|---:|---:|");
    let _ = writeln!(s, "| native Rust | {:.1} | {:.0} |", ms(nm), throughput(nm));
    let _ = writeln!(s, "| WASM host | {:.1} | {:.0} |", ms(wm), throughput(wm));
    let _ = writeln!(
        s,
        "\nThroughput ratio WASM/native: {ratio:.2}x ({}). Instantiation from the compiled cache: \
         {:.3} ms median of 200 ({}). First compilation of the component (Cranelift, once per \
         SHA-256): {:.0} ms.",
        if ratio >= 0.5 {
            "within target"
        } else {
            "below the 0.5x target"
        },
        ms(im),
        if im < Duration::from_millis(1) {
            "within target"
        } else {
            "over the 1 ms target"
        },
        ms(compile)
    );
    println!("{s}");
    Ok(s)
}
