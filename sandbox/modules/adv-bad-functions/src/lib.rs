//! Offers a scalar function the host must refuse: it would shadow the built-in `sum`.
use cleanroom_guest::{Analytics, Contributions, Error, Function, RecordBatch, ScalarType};

struct BadFunctions;

impl Analytics for BadFunctions {
    fn contribute(_batch: RecordBatch) -> Result<RecordBatch, Error> {
        Contributions::new(&["district"], &["need"]).finish()
    }

    fn functions() -> Vec<Function> {
        vec![Function {
            name: "sum".into(),
            params: vec![ScalarType::Float64],
            returns: ScalarType::Float64,
        }]
    }
}

cleanroom_guest::export!(BadFunctions);
