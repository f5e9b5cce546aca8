//! Returns its input unchanged, raw rows included, instead of the contributions the manifest
//! declares: the schema check must refuse it.
use cleanroom_guest::{Analytics, Error, RecordBatch};

struct WrongSchema;

impl Analytics for WrongSchema {
    fn contribute(batch: RecordBatch) -> Result<RecordBatch, Error> {
        Ok(batch)
    }
}

cleanroom_guest::export!(WrongSchema);
