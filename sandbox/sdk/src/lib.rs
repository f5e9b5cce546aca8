//! Write cleanroom analytics components in ordinary Rust over Arrow record batches.
//!
//! A component implements [`Analytics`] and exports it with [`export!`]. The host calls
//! `contribute` once per batch of raw input rows (the columns of the job's input SQL, never an
//! identifier, never the privacy unit) and aggregates what it returns per key under the
//! disclosure rules; `finalize`, if the job's manifest asks for it, sees only the checked
//! aggregate table.
//!
//! ```ignore
//! use cleanroom_guest::{Analytics, Contributions, Error, Input, RecordBatch};
//!
//! struct WagePerDistrict;
//!
//! impl Analytics for WagePerDistrict {
//!     fn contribute(batch: RecordBatch) -> Result<RecordBatch, Error> {
//!         let input = Input::new(&batch);
//!         let district = input.strings("district")?;
//!         let wage = input.numbers("monthly_wage")?;
//!         let mut out = Contributions::new(&["district"], &["wage"]);
//!         for row in 0..input.rows() {
//!             if let (Some(d), Some(w)) = (district.get(row), wage[row]) {
//!                 out.push(row, &[d], &[w]);
//!             }
//!         }
//!         out.finish()
//!     }
//! }
//!
//! cleanroom_guest::export!(WagePerDistrict);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2`; test on mock data with
//! `cleanroom wasm test target/wasm32-wasip2/release/<name>.wasm --job job.toml`.

extern crate self as cleanroom_guest;

use std::io::Cursor;
use std::sync::Arc;

pub use arrow_array::{self, RecordBatch};
pub use arrow_schema;

use arrow_array::builder::{Float64Builder, StringBuilder};
use arrow_array::{
    Array, ArrayRef, Date32Array, Float32Array, Float64Array, Int32Array, Int64Array,
    LargeStringArray, StringArray, StringViewArray, UInt32Array,
};
use arrow_schema::{DataType, Field, Schema};

/// The generated bindings of `sandbox/wit/cleanroom.wit`.
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "analytics",
        pub_export_macro: true,
        export_macro_name: "export_raw",
        default_bindings_module: "cleanroom_guest::bindings",
        runtime_path: "cleanroom_guest::__private::wit_bindgen::rt",
    });
}

/// The error a component returns. Its text reaches a person only when the component runs on
/// mock data; on real data the host reports the variant alone.
pub use bindings::cleanroom::sandbox::types::GuestError as Error;

/// An analytics component.
pub trait Analytics {
    /// One batch of raw input rows in, contributions out: a `row` column (UInt32) naming the
    /// input row, then the manifest's keys (Utf8) and values (Float64). Build it with
    /// [`Contributions`].
    fn contribute(batch: RecordBatch) -> Result<RecordBatch, Error>;

    /// The checked aggregate table in, the product out. Optional.
    fn finalize(aggregates: RecordBatch) -> Result<RecordBatch, Error> {
        let _ = aggregates;
        Err(Error::Unsupported)
    }
}

/// Exports a type implementing [`Analytics`] as the component's `contribute` and `finalize`.
#[macro_export]
macro_rules! export {
    ($ty:ty) => {
        struct __CleanroomExport;
        impl $crate::bindings::Guest for __CleanroomExport {
            fn contribute(
                batch: ::std::vec::Vec<u8>,
            ) -> ::std::result::Result<::std::vec::Vec<u8>, $crate::Error> {
                $crate::__private::call(&batch, <$ty as $crate::Analytics>::contribute)
            }
            fn finalize(
                aggregates: ::std::vec::Vec<u8>,
            ) -> ::std::result::Result<::std::vec::Vec<u8>, $crate::Error> {
                $crate::__private::call(&aggregates, <$ty as $crate::Analytics>::finalize)
            }
        }
        $crate::bindings::export_raw!(__CleanroomExport with_types_in $crate::bindings);
    };
}

#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;

    use super::*;

    pub fn call(
        bytes: &[u8],
        f: impl FnOnce(RecordBatch) -> Result<RecordBatch, Error>,
    ) -> Result<Vec<u8>, Error> {
        encode(&f(decode(bytes)?)?)
    }
}

/// Decodes the one batch of an Arrow IPC stream.
pub fn decode(bytes: &[u8]) -> Result<RecordBatch, Error> {
    let reader = arrow_ipc::reader::StreamReader::try_new(Cursor::new(bytes), None)
        .map_err(|e| Error::InvalidInput(e.to_string()))?;
    let mut batches = reader;
    match batches.next() {
        Some(Ok(batch)) => Ok(batch),
        Some(Err(e)) => Err(Error::InvalidInput(e.to_string())),
        None => Err(Error::InvalidInput("no record batch".into())),
    }
}

/// Encodes one batch as an Arrow IPC stream.
pub fn encode(batch: &RecordBatch) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    let mut writer = arrow_ipc::writer::StreamWriter::try_new(&mut out, &batch.schema())
        .map_err(|e| Error::Failed(e.to_string()))?;
    writer
        .write(batch)
        .map_err(|e| Error::Failed(e.to_string()))?;
    writer.finish().map_err(|e| Error::Failed(e.to_string()))?;
    drop(writer);
    Ok(out)
}

/// Typed access to the input batch's columns by name.
pub struct Input<'a> {
    batch: &'a RecordBatch,
}

impl<'a> Input<'a> {
    pub fn new(batch: &'a RecordBatch) -> Self {
        Input { batch }
    }

    pub fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    fn column(&self, name: &str) -> Result<&'a ArrayRef, Error> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| Error::InvalidInput(format!("no input column `{name}`")))
    }

    /// A text column (Utf8, LargeUtf8 or Utf8View).
    pub fn strings(&self, name: &str) -> Result<Strings<'a>, Error> {
        let column = self.column(name)?;
        let any = column.as_any();
        if let Some(a) = any.downcast_ref::<StringArray>() {
            Ok(Strings::Utf8(a))
        } else if let Some(a) = any.downcast_ref::<StringViewArray>() {
            Ok(Strings::View(a))
        } else if let Some(a) = any.downcast_ref::<LargeStringArray>() {
            Ok(Strings::Large(a))
        } else {
            Err(Error::InvalidInput(format!(
                "input column `{name}` is not text"
            )))
        }
    }

    /// A numeric column (Int32, Int64, Float32 or Float64) as `f64`s; nulls are `None`.
    pub fn numbers(&self, name: &str) -> Result<Vec<Option<f64>>, Error> {
        let column = self.column(name)?;
        let any = column.as_any();
        let values: Vec<Option<f64>> = if let Some(a) = any.downcast_ref::<Float64Array>() {
            a.iter().collect()
        } else if let Some(a) = any.downcast_ref::<Int64Array>() {
            a.iter().map(|v| v.map(|v| v as f64)).collect()
        } else if let Some(a) = any.downcast_ref::<Int32Array>() {
            a.iter().map(|v| v.map(f64::from)).collect()
        } else if let Some(a) = any.downcast_ref::<Float32Array>() {
            a.iter().map(|v| v.map(f64::from)).collect()
        } else {
            return Err(Error::InvalidInput(format!(
                "input column `{name}` is not numeric"
            )));
        };
        Ok(values)
    }

    /// A Date32 column as days since 1970-01-01.
    pub fn dates(&self, name: &str) -> Result<Vec<Option<i32>>, Error> {
        let column = self.column(name)?;
        column
            .as_any()
            .downcast_ref::<Date32Array>()
            .map(|a| a.iter().collect())
            .ok_or_else(|| Error::InvalidInput(format!("input column `{name}` is not a date")))
    }
}

/// A text column of any of Arrow's string layouts.
pub enum Strings<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
}

impl<'a> Strings<'a> {
    pub fn get(&self, row: usize) -> Option<&'a str> {
        fn at<A: Array>(a: &A, row: usize) -> bool {
            row < a.len() && a.is_valid(row)
        }
        match self {
            Strings::Utf8(a) => at(*a, row).then(|| a.value(row)),
            Strings::Large(a) => at(*a, row).then(|| a.value(row)),
            Strings::View(a) => at(*a, row).then(|| a.value(row)),
        }
    }
}

/// Builds the contributions batch: `row`, then Utf8 keys, then Float64 values, appending
/// straight into Arrow builders (no allocation per contribution).
pub struct Contributions {
    keys: Vec<String>,
    values: Vec<String>,
    rows: Vec<u32>,
    key_data: Vec<StringBuilder>,
    value_data: Vec<Float64Builder>,
}

impl Contributions {
    pub fn new(keys: &[&str], values: &[&str]) -> Self {
        Contributions {
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            rows: Vec::new(),
            key_data: keys.iter().map(|_| StringBuilder::new()).collect(),
            value_data: values.iter().map(|_| Float64Builder::new()).collect(),
        }
    }

    /// One contribution of input row `row`. Missing keys or values are nulls.
    pub fn push(&mut self, row: usize, keys: &[&str], values: &[f64]) {
        self.rows.push(u32::try_from(row).unwrap_or(u32::MAX));
        for (i, column) in self.key_data.iter_mut().enumerate() {
            column.append_option(keys.get(i));
        }
        for (i, column) in self.value_data.iter_mut().enumerate() {
            column.append_option(values.get(i).copied());
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn finish(mut self) -> Result<RecordBatch, Error> {
        let mut fields = vec![Field::new("row", DataType::UInt32, false)];
        let mut columns: Vec<ArrayRef> = vec![Arc::new(UInt32Array::from(self.rows))];
        for (name, data) in self.keys.iter().zip(&mut self.key_data) {
            fields.push(Field::new(name, DataType::Utf8, true));
            columns.push(Arc::new(data.finish()));
        }
        for (name, data) in self.values.iter().zip(&mut self.value_data) {
            fields.push(Field::new(name, DataType::Float64, true));
            columns.push(Arc::new(data.finish()));
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            .map_err(|e| Error::Failed(e.to_string()))
    }
}
