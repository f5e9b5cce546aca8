//! Offers scalar functions the host must refuse: `extract` is no function DataFusion
//! registers (it plans EXTRACT itself), but the guard classifies the name as a generalising
//! built-in, so a guest `extract` would pass for one; `sum` would shadow a registered
//! aggregate.
use cleanroom_guest::{Analytics, Contributions, Error, Function, RecordBatch, ScalarType};

struct BadFunctions;

impl Analytics for BadFunctions {
    fn contribute(_batch: RecordBatch) -> Result<RecordBatch, Error> {
        Contributions::new(&["district"], &["need"]).finish()
    }

    fn functions() -> Vec<Function> {
        vec![
            Function {
                name: "extract".into(),
                params: vec![ScalarType::Utf8, ScalarType::Utf8],
                returns: ScalarType::Utf8,
            },
            Function {
                name: "sum".into(),
                params: vec![ScalarType::Float64],
                returns: ScalarType::Float64,
            },
        ]
    }
}

cleanroom_guest::export!(BadFunctions);
