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
//!             if let (Some(d), Some(w)) = (district.get(row), wage.get(row)) {
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
//! A component may also offer scalar functions to SQL jobs: list them in
//! [`Analytics::functions`] and compute them in [`Analytics::call`] (see
//! `sandbox/modules/elderly-need`, which offers `need_score`). The guard treats them as opaque:
//! their results may only feed aggregates or `output` columns.
//!
//! Column readers ([`Input::strings`], [`Input::numbers`], [`Input::dates`]) read Arrow's
//! buffers in place and allocate nothing; the input batch itself is decoded in place (its
//! arrays point into the bytes the host passed) and without validating it again (the host
//! validated it). The readers and [`Contributions::push`] are `#[inline]`: a component's loop
//! over its rows compiles to one function, without a call per value.
//!
//! Build with `cargo build --release --target wasm32-wasip2`; test on mock data with
//! `cleanroom wasm test target/wasm32-wasip2/release/<name>.wasm --job job.toml`.

extern crate self as cleanroom_guest;

use std::collections::HashMap;
use std::sync::Arc;

pub use arrow_array::{self, RecordBatch};
pub use arrow_schema;

use arrow_array::builder::{Float64Builder, StringBuilder};
use arrow_array::types::ArrowPrimitiveType;
use arrow_array::{
    Array, ArrayRef, Date32Array, Float32Array, Float64Array, Int32Array, Int64Array,
    LargeStringArray, PrimitiveArray, StringArray, StringViewArray, UInt32Array,
};
use arrow_buffer::{ArrowNativeType, Buffer, NullBuffer};
use arrow_data::UnsafeFlag;
use arrow_ipc::reader::RecordBatchDecoder;
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

    /// The scalar functions offered to SQL jobs. Optional; none by default.
    fn functions() -> Vec<Function> {
        Vec::new()
    }

    /// Calls the scalar function `name` on `args` (its arguments as columns `arg0`, `arg1` ...)
    /// and returns one value per row, of the declared result type.
    fn call(name: &str, args: RecordBatch) -> Result<ArrayRef, Error> {
        let _ = (name, args);
        Err(Error::Unsupported)
    }
}

/// A scalar function a component offers to SQL jobs.
pub use bindings::cleanroom::sandbox::types::{Function, ScalarType};

/// Exports a type implementing [`Analytics`] as the component's `contribute`, `finalize`,
/// `functions` and `call`.
#[macro_export]
macro_rules! export {
    ($ty:ty) => {
        struct __CleanroomExport;
        impl $crate::bindings::Guest for __CleanroomExport {
            fn contribute(
                batch: ::std::vec::Vec<u8>,
            ) -> ::std::result::Result<::std::vec::Vec<u8>, $crate::Error> {
                $crate::__private::call(batch, <$ty as $crate::Analytics>::contribute)
            }
            fn finalize(
                aggregates: ::std::vec::Vec<u8>,
            ) -> ::std::result::Result<::std::vec::Vec<u8>, $crate::Error> {
                $crate::__private::call(aggregates, <$ty as $crate::Analytics>::finalize)
            }
            fn functions() -> ::std::vec::Vec<$crate::Function> {
                <$ty as $crate::Analytics>::functions()
            }
            fn call(
                name: ::std::string::String,
                args: ::std::vec::Vec<u8>,
            ) -> ::std::result::Result<::std::vec::Vec<u8>, $crate::Error> {
                $crate::__private::call(args, |batch| {
                    $crate::__private::result(<$ty as $crate::Analytics>::call(&name, batch)?)
                })
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
        bytes: Vec<u8>,
        f: impl FnOnce(RecordBatch) -> Result<RecordBatch, Error>,
    ) -> Result<Vec<u8>, Error> {
        encode(&f(decode(bytes)?)?)
    }

    /// A function's result as the one-column batch the host expects.
    pub fn result(column: ArrayRef) -> Result<RecordBatch, Error> {
        let field = Field::new("result", column.data_type().clone(), true);
        RecordBatch::try_new(Arc::new(Schema::new(vec![field])), vec![column])
            .map_err(|e| Error::Failed(e.to_string()))
    }
}

/// Decodes the one batch of an Arrow IPC stream, in place: the batch's arrays point into
/// `bytes` (a buffer is copied only if misaligned, and the host's encoder aligns them all).
pub fn decode(bytes: Vec<u8>) -> Result<RecordBatch, Error> {
    let buffer = Buffer::from_vec(bytes);
    let mut at = 0;
    let mut schema = None;
    loop {
        let metadata = message_at(&buffer, at)?;
        let next = metadata.end;
        let message = arrow_ipc::root_as_message(&buffer[metadata])
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        let body_len = usize::try_from(message.bodyLength())
            .ok()
            .filter(|n| next.checked_add(*n).is_some_and(|end| end <= buffer.len()))
            .ok_or_else(|| Error::InvalidInput("an IPC message body overruns the input".into()))?;
        if let Some(fb) = message.header_as_schema() {
            schema = Some(Arc::new(arrow_ipc::convert::fb_to_schema(fb)));
        } else if let Some(fb) = message.header_as_record_batch() {
            let schema = schema
                .ok_or_else(|| Error::InvalidInput("a record batch before the schema".into()))?;
            let body = buffer.slice_with_length(next, body_len);
            let dictionaries = HashMap::new();
            let version = message.version();
            let mut skip = UnsafeFlag::new();
            // SAFETY: the bytes come from the host, which encodes them from Arrow arrays it has
            // validated; validating them again here would cost most of a call's time.
            unsafe { skip.set(true) };
            return RecordBatchDecoder::try_new(&body, fb, schema, &dictionaries, &version)
                .and_then(|d| d.with_skip_validation(skip).read_record_batch())
                .map_err(|e| Error::InvalidInput(e.to_string()));
        }
        at = next + body_len;
    }
}

/// Where the flatbuffer of the IPC stream's message at `at` lies (its body follows it).
fn message_at(buffer: &[u8], at: usize) -> Result<std::ops::Range<usize>, Error> {
    let short = || Error::InvalidInput("the input ends inside an IPC message".into());
    let word = |i: usize| {
        buffer
            .get(i..i.checked_add(4)?)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    };
    let (start, len) = match word(at).ok_or_else(short)? {
        0xFFFF_FFFF => (at + 4, word(at + 4).ok_or_else(short)?),
        len => (at, len),
    };
    let start = start + 4;
    let len = len as usize;
    if len == 0 {
        return Err(Error::InvalidInput("no record batch".into()));
    }
    match start.checked_add(len) {
        Some(end) if end <= buffer.len() => Ok(start..end),
        _ => Err(short()),
    }
}

/// Encodes one batch as an Arrow IPC stream.
pub fn encode(batch: &RecordBatch) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(batch.get_array_memory_size() + 1024);
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

    #[inline]
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
            Ok(Strings(Text::Utf8(a)))
        } else if let Some(a) = any.downcast_ref::<StringViewArray>() {
            Ok(Strings(Text::View(a)))
        } else if let Some(a) = any.downcast_ref::<LargeStringArray>() {
            Ok(Strings(Text::Large(a)))
        } else {
            Err(Error::InvalidInput(format!(
                "input column `{name}` is not text"
            )))
        }
    }

    /// A numeric column (Int32, Int64, Float32 or Float64), read as `f64`s.
    pub fn numbers(&self, name: &str) -> Result<Numbers<'a>, Error> {
        let column = self.column(name)?;
        let any = column.as_any();
        if let Some(a) = any.downcast_ref::<Float64Array>() {
            Ok(Numbers::F64(Values::of(a)))
        } else if let Some(a) = any.downcast_ref::<Int64Array>() {
            Ok(Numbers::I64(Values::of(a)))
        } else if let Some(a) = any.downcast_ref::<Int32Array>() {
            Ok(Numbers::I32(Values::of(a)))
        } else if let Some(a) = any.downcast_ref::<Float32Array>() {
            Ok(Numbers::F32(Values::of(a)))
        } else {
            Err(Error::InvalidInput(format!(
                "input column `{name}` is not numeric"
            )))
        }
    }

    /// A Date32 column, read as days since 1970-01-01.
    pub fn dates(&self, name: &str) -> Result<Dates<'a>, Error> {
        let column = self.column(name)?;
        column
            .as_any()
            .downcast_ref::<Date32Array>()
            .map(|a| Dates(Values::of(a)))
            .ok_or_else(|| Error::InvalidInput(format!("input column `{name}` is not a date")))
    }
}

/// Whether `row` of `a` holds a value (out of range reads as null).
#[inline]
fn valid<A: Array>(a: &A, row: usize) -> bool {
    row < a.len() && a.is_valid(row)
}

/// A primitive column read straight from its buffers.
#[derive(Clone, Copy)]
pub struct Values<'a, T> {
    values: &'a [T],
    nulls: Option<&'a NullBuffer>,
}

impl<'a, T: ArrowNativeType> Values<'a, T> {
    #[inline]
    fn of<P: ArrowPrimitiveType<Native = T>>(array: &'a PrimitiveArray<P>) -> Self {
        Values {
            values: array.values().as_ref(),
            nulls: array.nulls(),
        }
    }

    /// The value of `row`; `None` for a null or a row out of range.
    #[inline]
    pub fn get(&self, row: usize) -> Option<T> {
        let value = *self.values.get(row)?;
        match self.nulls {
            Some(nulls) if nulls.is_null(row) => None,
            _ => Some(value),
        }
    }
}

/// A numeric column of any of Arrow's integer or float types. Reading it allocates nothing.
#[derive(Clone, Copy)]
pub enum Numbers<'a> {
    F64(Values<'a, f64>),
    F32(Values<'a, f32>),
    I64(Values<'a, i64>),
    I32(Values<'a, i32>),
}

impl Numbers<'_> {
    /// The value of `row` as `f64`; `None` for a null.
    #[inline]
    pub fn get(&self, row: usize) -> Option<f64> {
        match self {
            Numbers::F64(a) => a.get(row),
            Numbers::F32(a) => a.get(row).map(f64::from),
            Numbers::I64(a) => a.get(row).map(|v| v as f64),
            Numbers::I32(a) => a.get(row).map(f64::from),
        }
    }
}

/// A Date32 column. Reading it allocates nothing.
#[derive(Clone, Copy)]
pub struct Dates<'a>(Values<'a, i32>);

impl Dates<'_> {
    /// The value of `row` in days since 1970-01-01; `None` for a null.
    #[inline]
    pub fn get(&self, row: usize) -> Option<i32> {
        self.0.get(row)
    }
}

/// A text column of any of Arrow's string layouts. Reading it allocates nothing.
pub struct Strings<'a>(Text<'a>);

enum Text<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
}

impl<'a> Strings<'a> {
    /// The value of `row`; `None` for a null.
    #[inline]
    pub fn get(&self, row: usize) -> Option<&'a str> {
        match self.0 {
            Text::Utf8(a) => valid(a, row).then(|| a.value(row)),
            Text::Large(a) => valid(a, row).then(|| a.value(row)),
            Text::View(a) => valid(a, row).then(|| a.value(row)),
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
    #[inline]
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
