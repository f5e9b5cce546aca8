//! Returns two million contributions from any input: the output limit must refuse them.
use cleanroom_guest::{Analytics, Contributions, Error, RecordBatch};

struct HugeOutput;

impl Analytics for HugeOutput {
    fn contribute(_batch: RecordBatch) -> Result<RecordBatch, Error> {
        let mut out = Contributions::new(&["district"], &["need"]);
        for i in 0..2_000_000 {
            out.push(0, &["尖山区"], &[f64::from(i)]);
        }
        out.finish()
    }
}

cleanroom_guest::export!(HugeOutput);
