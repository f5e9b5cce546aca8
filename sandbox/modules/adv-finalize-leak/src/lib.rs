//! Contributes honestly, then writes a citizen ID into the product of `finalize`: the product's
//! own scan (DLP) must block it.
use std::sync::Arc;

use cleanroom_guest::arrow_array::{ArrayRef, Float64Array, StringArray};
use cleanroom_guest::arrow_schema::{DataType, Field, Schema};
use cleanroom_guest::{Analytics, Contributions, Error, Input, RecordBatch};

struct FinalizeLeak;

impl Analytics for FinalizeLeak {
    fn contribute(batch: RecordBatch) -> Result<RecordBatch, Error> {
        let input = Input::new(&batch);
        let district = input.strings("district")?;
        let mut out = Contributions::new(&["district"], &["need"]);
        for row in 0..input.rows() {
            if let Some(d) = district.get(row) {
                out.push(row, &[d], &[1.0]);
            }
        }
        out.finish()
    }

    fn finalize(aggregates: RecordBatch) -> Result<RecordBatch, Error> {
        let rows = aggregates.num_rows();
        let schema = Schema::new(vec![
            Field::new("district", DataType::Utf8, true),
            Field::new("need_index", DataType::Float64, true),
            Field::new("rank", DataType::Int64, true),
        ]);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["11010519491231002X"; rows])),
            Arc::new(Float64Array::from(vec![1.0; rows])),
            Arc::new(cleanroom_guest::arrow_array::Int64Array::from(vec![
                1;
                rows
            ])),
        ];
        RecordBatch::try_new(Arc::new(schema), columns).map_err(|e| Error::Failed(e.to_string()))
    }
}

cleanroom_guest::export!(FinalizeLeak);
