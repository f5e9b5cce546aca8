//! Panics with an input value in the message: the failure must not carry it.
use cleanroom_guest::{Analytics, Error, Input, RecordBatch};

struct Panic;

impl Analytics for Panic {
    fn contribute(batch: RecordBatch) -> Result<RecordBatch, Error> {
        let input = Input::new(&batch);
        let district = input.strings("district")?;
        let value = district.get(0).unwrap_or("none").to_owned();
        panic!("leaking {value}");
    }
}

cleanroom_guest::export!(Panic);
