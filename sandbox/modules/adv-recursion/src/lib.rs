//! Recurses without end: the stack limit must stop it.
use cleanroom_guest::{Analytics, Error, RecordBatch};

struct Recursion;

fn deep(n: u64) -> u64 {
    let frame = std::hint::black_box([n; 32]);
    if std::hint::black_box(n) == u64::MAX {
        return frame[0];
    }
    deep(n + 1).wrapping_add(frame[31])
}

impl Analytics for Recursion {
    fn contribute(_batch: RecordBatch) -> Result<RecordBatch, Error> {
        let depth = deep(0);
        Err(Error::Failed(format!("returned from depth {depth}")))
    }
}

cleanroom_guest::export!(Recursion);
