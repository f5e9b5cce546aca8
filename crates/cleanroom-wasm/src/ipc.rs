//! Arrow IPC across the boundary: one batch per call, decoded defensively.

use std::io::Cursor;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Schema};
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;

use crate::Failure;

/// Encodes one batch as an IPC stream (schema, batch, end-of-stream), uncompressed.
pub fn encode(batch: &RecordBatch) -> Result<Vec<u8>, Failure> {
    // Sized by the rows the batch holds: a slice of a larger batch reports the whole of its
    // buffers in `get_array_memory_size`, megabytes for a few thousand rows.
    let body: usize = batch
        .columns()
        .iter()
        .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0))
        .sum();
    let mut out = Vec::with_capacity(body + 1024);
    let mut writer = StreamWriter::try_new(&mut out, &batch.schema())
        .map_err(|_| Failure::Host("cannot encode the input schema as Arrow IPC"))?;
    writer
        .write(batch)
        .map_err(|_| Failure::Host("cannot encode the input batch as Arrow IPC"))?;
    writer
        .finish()
        .map_err(|_| Failure::Host("cannot finish the Arrow IPC stream"))?;
    drop(writer);
    Ok(out)
}

/// Decodes what a guest returned: at most `max_bytes`, exactly one record batch of at most
/// `max_rows` rows, no dictionaries, nothing after the stream, and the schema `expected`
/// (same names and types in the same order; nullability is the guest's choice). Reasons are
/// fixed texts or names from the manifest, never bytes of the guest's output.
pub fn decode(
    bytes: &[u8],
    expected: &Schema,
    max_bytes: usize,
    max_rows: usize,
) -> Result<RecordBatch, Failure> {
    if bytes.len() > max_bytes {
        return Err(Failure::OutputLimit(format!(
            "the output is {} bytes, over the limit of {max_bytes}",
            bytes.len()
        )));
    }
    let mut cursor = Cursor::new(bytes);
    let mut reader = StreamReader::try_new(&mut cursor, None)
        .map_err(|_| bad("the output is not an Arrow IPC stream"))?;
    check_schema(&reader.schema(), expected)?;
    let batch = match reader.next() {
        Some(Ok(batch)) => batch,
        Some(Err(_)) => return Err(bad("the output's record batch does not decode")),
        None => return Err(bad("the output stream holds no record batch")),
    };
    if reader.next().is_some() {
        return Err(bad("the output stream holds more than one record batch"));
    }
    drop(reader);
    if usize::try_from(cursor.position()).ok() != Some(bytes.len()) {
        return Err(bad(
            "the output has bytes after the end of the Arrow IPC stream",
        ));
    }
    if batch.num_rows() > max_rows {
        return Err(Failure::OutputLimit(format!(
            "the output has {} rows, over the limit of {max_rows}",
            batch.num_rows()
        )));
    }
    // A guest controls offsets and lengths: the reader has already validated every array in
    // full (offsets, UTF-8, nulls; the checked schema has no nested types), so nothing more
    // to do here.
    Ok(batch)
}

fn check_schema(actual: &Arc<Schema>, expected: &Schema) -> Result<(), Failure> {
    if actual
        .fields()
        .iter()
        .any(|f| matches!(f.data_type(), DataType::Dictionary(..)))
    {
        return Err(bad("the output uses dictionary encoding"));
    }
    // The guest's column names are guest-controlled text (a name could spell out a value it
    // read), so the reason names only the manifest's side of the mismatch.
    let position = expected
        .fields()
        .iter()
        .enumerate()
        .find(|(i, e)| {
            actual
                .fields()
                .get(*i)
                .is_none_or(|a| a.name() != e.name() || a.data_type() != e.data_type())
        })
        .map(|(i, e)| {
            format!(
                "column {} should be `{}` {}",
                i + 1,
                e.name(),
                e.data_type()
            )
        });
    match position {
        Some(reason) => Err(Failure::Contract(format!(
            "the output does not have the manifest's schema: {reason}"
        ))),
        None if actual.fields().len() != expected.fields().len() => {
            Err(Failure::Contract(format!(
                "the output does not have the manifest's schema: it has {} columns, not {}",
                actual.fields().len(),
                expected.fields().len()
            )))
        }
        None => Ok(()),
    }
}

fn bad(reason: &str) -> Failure {
    Failure::BadOutput(reason.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::Field;

    fn batch() -> RecordBatch {
        RecordBatch::try_from_iter([
            ("k", Arc::new(StringArray::from(vec!["a", "b"])) as _),
            ("v", Arc::new(Int64Array::from(vec![1, 2])) as _),
        ])
        .unwrap()
    }

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("v", DataType::Int64, true),
        ])
    }

    #[test]
    fn a_batch_round_trips() {
        let bytes = encode(&batch()).unwrap();
        let back = decode(&bytes, &schema(), 1 << 20, 10).unwrap();
        assert_eq!(back, batch());
    }

    #[test]
    fn trailing_bytes_two_batches_and_truncation_are_refused() {
        let mut bytes = encode(&batch()).unwrap();
        bytes.push(0);
        let err = decode(&bytes, &schema(), 1 << 20, 10).unwrap_err();
        assert!(
            matches!(err, Failure::BadOutput(ref r) if r.contains("after the end")),
            "{err}"
        );

        let mut two = Vec::new();
        let mut w = StreamWriter::try_new(&mut two, &batch().schema()).unwrap();
        w.write(&batch()).unwrap();
        w.write(&batch()).unwrap();
        w.finish().unwrap();
        drop(w);
        let err = decode(&two, &schema(), 1 << 20, 10).unwrap_err();
        assert!(
            matches!(err, Failure::BadOutput(ref r) if r.contains("more than one")),
            "{err}"
        );

        let whole = encode(&batch()).unwrap();
        let err = decode(&whole[..whole.len() / 2], &schema(), 1 << 20, 10).unwrap_err();
        assert!(matches!(err, Failure::BadOutput(_)), "{err}");
    }

    #[test]
    fn invalid_utf8_and_bad_offsets_are_refused() {
        let good = RecordBatch::try_from_iter([
            ("k", Arc::new(StringArray::from(vec!["qqqq", "b"])) as _),
            ("v", Arc::new(Int64Array::from(vec![1, 2])) as _),
        ])
        .unwrap();
        let bytes = encode(&good).unwrap();
        assert!(decode(&bytes, &schema(), 1 << 20, 10).is_ok());
        let at = bytes.windows(4).position(|w| w == b"qqqq").unwrap();
        let mut utf8 = bytes.clone();
        utf8[at..at + 2].copy_from_slice(&[0xff, 0xfe]);
        let err = decode(&utf8, &schema(), 1 << 20, 10).unwrap_err();
        assert!(matches!(err, Failure::BadOutput(_)), "{err}");
        // The offsets buffer [0, 4, 5] sits just before the values: point past the end.
        let offsets = bytes[..at]
            .windows(12)
            .rposition(|w| w == [0, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0])
            .unwrap();
        let mut past = bytes.clone();
        past[offsets + 8] = 200;
        let err = decode(&past, &schema(), 1 << 20, 10).unwrap_err();
        assert!(matches!(err, Failure::BadOutput(_)), "{err}");
    }

    #[test]
    fn limits_and_schema_are_enforced() {
        let bytes = encode(&batch()).unwrap();
        assert!(matches!(
            decode(&bytes, &schema(), 16, 10),
            Err(Failure::OutputLimit(_))
        ));
        assert!(matches!(
            decode(&bytes, &schema(), 1 << 20, 1),
            Err(Failure::OutputLimit(_))
        ));
        let wrong = Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("v", DataType::Float64, true),
        ]);
        let err = decode(&bytes, &wrong, 1 << 20, 10).unwrap_err();
        assert!(
            matches!(err, Failure::Contract(ref r) if r.ends_with("column 2 should be `v` Float64")),
            "{err}"
        );
        let other = Schema::new(vec![Field::new("k", DataType::Utf8, true)]);
        let err = decode(&bytes, &other, 1 << 20, 10).unwrap_err();
        assert!(
            matches!(err, Failure::Contract(ref r) if r.ends_with("it has 2 columns, not 1")),
            "{err}"
        );
    }
}
