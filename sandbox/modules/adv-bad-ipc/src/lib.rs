//! Returns bytes that are not a valid Arrow IPC stream: a valid stream with bytes after its end
//! for the first call, plain garbage after. Its scalar functions break the contract too:
//! `short` returns one row fewer than it was given, `wrong_type` returns text for an Int64,
//! `garbage` returns bytes that are not Arrow.
use std::sync::Arc;

use cleanroom_guest::arrow_array::{Int64Array, StringArray};
use cleanroom_guest::bindings::Guest;
use cleanroom_guest::{Contributions, Error, Function, ScalarType};

struct BadIpc;

impl Guest for BadIpc {
    fn contribute(batch: Vec<u8>) -> Result<Vec<u8>, Error> {
        let mut out = Contributions::new(&["district"], &["need"]);
        out.push(0, &["尖山区"], &[1.0]);
        let mut bytes = cleanroom_guest::encode(&out.finish()?)?;
        if batch.len() % 2 == 0 {
            bytes.extend_from_slice(b"trailing");
        } else {
            bytes = vec![0xff; 64];
        }
        Ok(bytes)
    }

    fn finalize(_aggregates: Vec<u8>) -> Result<Vec<u8>, Error> {
        Ok(b"not arrow".to_vec())
    }

    fn functions() -> Vec<Function> {
        ["short", "wrong_type", "garbage"]
            .into_iter()
            .map(|name| Function {
                name: name.into(),
                params: vec![ScalarType::Int64],
                returns: ScalarType::Int64,
            })
            .collect()
    }

    fn call(name: String, args: Vec<u8>) -> Result<Vec<u8>, Error> {
        let rows = cleanroom_guest::decode(args)?.num_rows();
        let column: cleanroom_guest::arrow_array::ArrayRef = match name.as_str() {
            "short" => Arc::new(Int64Array::from(vec![1; rows.saturating_sub(1)])),
            "wrong_type" => Arc::new(StringArray::from(vec!["1"; rows])),
            _ => return Ok(vec![0xff; 64]),
        };
        cleanroom_guest::encode(&cleanroom_guest::__private::result(column)?)
    }
}

cleanroom_guest::bindings::export_raw!(BadIpc with_types_in cleanroom_guest::bindings);
