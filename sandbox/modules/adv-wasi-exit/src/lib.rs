//! Exits the process with status 3.
use cleanroom_guest::{Analytics, Error, RecordBatch};

struct WasiExit;

impl Analytics for WasiExit {
    fn contribute(_batch: RecordBatch) -> Result<RecordBatch, Error> {
        std::process::exit(3)
    }
}

cleanroom_guest::export!(WasiExit);
