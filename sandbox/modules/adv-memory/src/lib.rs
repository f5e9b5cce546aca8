//! Allocates without end: the memory limit must stop it.
use cleanroom_guest::{Analytics, Error, RecordBatch};

struct Memory;

impl Analytics for Memory {
    fn contribute(_batch: RecordBatch) -> Result<RecordBatch, Error> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(std::hint::black_box(vec![1u8; 1 << 20]));
            if std::hint::black_box(hoard.len()) == usize::MAX {
                return Err(Error::Failed("unreachable".into()));
            }
        }
    }
}

cleanroom_guest::export!(Memory);
