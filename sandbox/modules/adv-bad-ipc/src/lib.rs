//! Returns bytes that are not a valid Arrow IPC stream: a valid stream with bytes after its end
//! for the first call, plain garbage after.
use cleanroom_guest::bindings::Guest;
use cleanroom_guest::{Contributions, Error};

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
}

cleanroom_guest::bindings::export_raw!(BadIpc with_types_in cleanroom_guest::bindings);
