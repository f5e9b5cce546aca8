//! Hidden aggregates the rewrite adds for the dominance rules: the two largest contributions to a
//! cell. A contribution is one privacy unit's total: where each row is its own unit, a row's
//! value (`__cr_top2`); otherwise the sum of a unit's rows (`__cr_top2_by_unit`).
//! Both return `{top1, top2}` as a struct.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Fields, Float64Type};
use datafusion::common::utils::SingleRowListArrayBuilder;
use datafusion::common::{Result, ScalarValue, exec_datafusion_err};
use datafusion::logical_expr::{Accumulator, AggregateUDF, Volatility, create_udaf};

pub const TOP2: &str = "__cr_top2";
pub const TOP2_BY_UNIT: &str = "__cr_top2_by_unit";

/// The struct both functions return.
pub fn top2_type() -> DataType {
    DataType::Struct(Fields::from(vec![
        Field::new("top1", DataType::Float64, true),
        Field::new("top2", DataType::Float64, true),
    ]))
}

fn top2_scalar(top1: f64, top2: f64) -> Result<ScalarValue> {
    let DataType::Struct(fields) = top2_type() else {
        return Err(exec_datafusion_err!("internal: top2 type"));
    };
    datafusion::common::scalar::ScalarStructBuilder::new()
        .with_scalar(fields[0].clone(), ScalarValue::Float64(Some(top1)))
        .with_scalar(fields[1].clone(), ScalarValue::Float64(Some(top2)))
        .build()
}

#[derive(Debug, Default)]
struct Top2 {
    a: f64,
    b: f64,
}

impl Top2 {
    fn push(&mut self, v: f64) {
        if v > self.a {
            self.b = self.a;
            self.a = v;
        } else if v > self.b {
            self.b = v;
        }
    }
}

impl Accumulator for Top2 {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let arr = values
            .first()
            .ok_or_else(|| exec_datafusion_err!("top2 needs one argument"))?;
        for v in arr.as_primitive::<Float64Type>().iter().flatten() {
            self.push(v);
        }
        Ok(())
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        top2_scalar(self.a, self.b)
    }
    fn size(&self) -> usize {
        size_of::<Self>()
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Float64(Some(self.a)),
            ScalarValue::Float64(Some(self.b)),
        ])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for s in states {
            for v in s.as_primitive::<Float64Type>().iter().flatten() {
                self.push(v);
            }
        }
        Ok(())
    }
}

/// A fast, non-cryptographic hasher for the per-unit map (the FxHash mix). The keys are privacy
/// units from the data zone, never attacker-chosen, so a keyed hasher buys nothing here and
/// SipHash would dominate the cost of the aggregate.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(K);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FxBuild = std::hash::BuildHasherDefault<FxHasher>;

#[derive(Debug, Default)]
struct Top2ByUnit {
    sums: HashMap<Box<str>, f64, FxBuild>,
    key_bytes: usize,
}

impl Top2ByUnit {
    fn add(&mut self, unit: &str, v: f64) {
        if let Some(s) = self.sums.get_mut(unit) {
            *s += v;
        } else {
            self.key_bytes += unit.len();
            self.sums.insert(unit.into(), v);
        }
    }

    fn add_arrays(&mut self, units: &dyn Array, values: &Float64Array) -> Result<()> {
        let mut each = |unit: Option<&str>, i: usize| {
            if let Some(u) = unit
                && values.is_valid(i)
            {
                self.add(u, values.value(i));
            }
        };
        match units.data_type() {
            DataType::Utf8View => units
                .as_string_view()
                .iter()
                .enumerate()
                .for_each(|(i, u)| each(u, i)),
            DataType::Utf8 => units
                .as_string::<i32>()
                .iter()
                .enumerate()
                .for_each(|(i, u)| each(u, i)),
            DataType::LargeUtf8 => units
                .as_string::<i64>()
                .iter()
                .enumerate()
                .for_each(|(i, u)| each(u, i)),
            other => {
                return Err(exec_datafusion_err!(
                    "unit column of type {other} is not supported"
                ));
            }
        }
        Ok(())
    }
}

impl Accumulator for Top2ByUnit {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let [units, vals] = values else {
            return Err(exec_datafusion_err!("top2_by_unit needs two arguments"));
        };
        self.add_arrays(units.as_ref(), vals.as_primitive::<Float64Type>())
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        let mut t = Top2::default();
        self.sums.values().for_each(|v| t.push(*v));
        top2_scalar(t.a, t.b)
    }
    fn size(&self) -> usize {
        size_of::<Self>()
            + self.sums.capacity() * (size_of::<Box<str>>() + size_of::<f64>() + 8)
            + self.key_bytes
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let units: StringArray = self.sums.keys().map(|k| Some(&**k)).collect();
        let sums: Float64Array = self.sums.values().map(|v| Some(*v)).collect();
        Ok(vec![
            SingleRowListArrayBuilder::new(Arc::new(units)).build_list_scalar(),
            SingleRowListArrayBuilder::new(Arc::new(sums)).build_list_scalar(),
        ])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let [units, sums] = states else {
            return Err(exec_datafusion_err!("top2_by_unit state has two fields"));
        };
        let units = units.as_list::<i32>();
        let sums = sums.as_list::<i32>();
        for i in 0..units.len() {
            if units.is_null(i) || sums.is_null(i) {
                continue;
            }
            let u = units.value(i);
            let s = sums.value(i);
            self.add_arrays(u.as_ref(), s.as_primitive::<Float64Type>())?;
        }
        Ok(())
    }
}

/// `__cr_top2(value Float64)`.
pub fn top2_udaf() -> AggregateUDF {
    create_udaf(
        TOP2,
        vec![DataType::Float64],
        Arc::new(top2_type()),
        Volatility::Immutable,
        Arc::new(|_| Ok(Box::<Top2>::default())),
        Arc::new(vec![DataType::Float64, DataType::Float64]),
    )
}

/// `__cr_top2_by_unit(unit Utf8View, value Float64)`.
pub fn top2_by_unit_udaf() -> AggregateUDF {
    create_udaf(
        TOP2_BY_UNIT,
        vec![DataType::Utf8View, DataType::Float64],
        Arc::new(top2_type()),
        Volatility::Immutable,
        Arc::new(|_| Ok(Box::<Top2ByUnit>::default())),
        Arc::new(vec![
            DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
            DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true))),
        ]),
    )
}
