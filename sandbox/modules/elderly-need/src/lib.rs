//! An elderly-care need index per district.
//!
//! Input columns: `district`, `birth_date`, `pension_status`, `monthly_wage` (one row per
//! resident and insurance record; residents without insurance have nulls). Each resident aged
//! 60 or more on 2026-01-01 contributes a need score in [0, 1] under their district: more for
//! the oldest, more without a pension, more on a low or missing wage. `finalize` turns the
//! host's checked averages into an index from 0 to 100 and ranks the districts by it.
//!
//! The same score is offered to SQL jobs as the scalar function
//! `need_score(birth_date, pension_status, monthly_wage)` (null under 60), for queries such as
//! `SELECT district, AVG(need_score(...)) ... GROUP BY district`.

use std::sync::Arc;

use cleanroom_guest::arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
use cleanroom_guest::arrow_schema::{DataType, Field, Schema};
use cleanroom_guest::{Analytics, Contributions, Error, Input, RecordBatch};
use cleanroom_guest::{Function, ScalarType};

/// 2026-01-01 in days since 1970-01-01: ages are counted at this date.
const REFERENCE_DAY: i32 = 20_454;

/// A monthly wage under this counts as low.
const LOW_WAGE: f64 = 2_500.0;

struct ElderlyNeed;

/// Age in years on 2026-01-01 of someone born on `birth` (days since 1970-01-01).
fn age(birth: i32) -> f64 {
    f64::from(REFERENCE_DAY - birth) / 365.25
}

fn need(age: f64, retired: bool, wage: Option<f64>) -> f64 {
    let mut need: f64 = if age >= 80.0 {
        0.5
    } else if age >= 70.0 {
        0.3
    } else {
        0.1
    };
    if !retired {
        need += 0.3;
    }
    if wage.is_none_or(|w| w < LOW_WAGE) {
        need += 0.2;
    }
    need.min(1.0)
}

impl Analytics for ElderlyNeed {
    fn contribute(batch: RecordBatch) -> Result<RecordBatch, Error> {
        let input = Input::new(&batch);
        let district = input.strings("district")?;
        let birth = input.dates("birth_date")?;
        let pension = input.strings("pension_status")?;
        let wage = input.numbers("monthly_wage")?;
        let mut out = Contributions::new(&["district"], &["need"]);
        for row in 0..input.rows() {
            let (Some(d), Some(b)) = (district.get(row), birth.get(row)) else {
                continue;
            };
            let age = age(b);
            if age >= 60.0 {
                let retired = pension.get(row) == Some("退休");
                out.push(row, &[d], &[need(age, retired, wage.get(row))]);
            }
        }
        out.finish()
    }

    fn finalize(aggregates: RecordBatch) -> Result<RecordBatch, Error> {
        let input = Input::new(&aggregates);
        let district = input.strings("district")?;
        let avg = input.numbers("need_avg")?;
        let mut rows: Vec<(String, f64)> = (0..input.rows())
            .filter_map(|r| Some((district.get(r)?.to_owned(), avg.get(r)?)))
            .collect();
        rows.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let index: Vec<f64> = rows
            .iter()
            .map(|(_, a)| (a * 1000.0).round() / 10.0)
            .collect();
        let rank: Vec<i64> = (1..=rows.len() as i64).collect();
        let names: Vec<&str> = rows.iter().map(|(d, _)| d.as_str()).collect();
        let schema = Schema::new(vec![
            Field::new("district", DataType::Utf8, false),
            Field::new("need_index", DataType::Float64, false),
            Field::new("rank", DataType::Int64, false),
        ]);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(names)),
            Arc::new(Float64Array::from(index)),
            Arc::new(Int64Array::from(rank)),
        ];
        RecordBatch::try_new(Arc::new(schema), columns).map_err(|e| Error::Failed(e.to_string()))
    }

    fn functions() -> Vec<Function> {
        vec![Function {
            name: "need_score".into(),
            params: vec![ScalarType::Date32, ScalarType::Utf8, ScalarType::Float64],
            returns: ScalarType::Float64,
        }]
    }

    fn call(name: &str, args: RecordBatch) -> Result<ArrayRef, Error> {
        if name != "need_score" {
            return Err(Error::Unsupported);
        }
        let input = Input::new(&args);
        let birth = input.dates("arg0")?;
        let pension = input.strings("arg1")?;
        let wage = input.numbers("arg2")?;
        let scores: Float64Array = (0..input.rows())
            .map(|row| {
                let age = age(birth.get(row)?);
                (age >= 60.0).then(|| need(age, pension.get(row) == Some("退休"), wage.get(row)))
            })
            .collect();
        Ok(Arc::new(scores))
    }
}

cleanroom_guest::export!(ElderlyNeed);
