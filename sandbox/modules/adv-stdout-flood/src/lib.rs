//! Prints without end: the stdio cap must stop it.
use std::io::Write as _;

use cleanroom_guest::{Analytics, Error, RecordBatch};

struct StdoutFlood;

impl Analytics for StdoutFlood {
    fn contribute(_batch: RecordBatch) -> Result<RecordBatch, Error> {
        let line = [b'x'; 1000];
        loop {
            if std::io::stdout().write_all(&line).is_err() {
                // A refused write is not the end: try stderr, then keep going.
                let _ = std::io::stderr().write_all(&line);
            }
        }
    }
}

cleanroom_guest::export!(StdoutFlood);
