//! Never returns: the fuel or the deadline must stop it.
use cleanroom_guest::{Analytics, Error, RecordBatch};

struct Spin;

impl Analytics for Spin {
    fn contribute(_batch: RecordBatch) -> Result<RecordBatch, Error> {
        let mut x: u64 = 0;
        loop {
            x = x.wrapping_add(std::hint::black_box(1));
            if std::hint::black_box(x) == u64::MAX {
                x = 0;
            }
        }
    }
}

cleanroom_guest::export!(Spin);
