//! Gives one input row (the first of the job) a value a million times the others', so that its
//! district's sum or average gives that one person away: the dominance rule must suppress it.
use std::sync::atomic::{AtomicBool, Ordering};

use cleanroom_guest::{Analytics, Contributions, Error, Input, RecordBatch};

struct SingleOut;

impl Analytics for SingleOut {
    fn contribute(batch: RecordBatch) -> Result<RecordBatch, Error> {
        let input = Input::new(&batch);
        let district = input.strings("district")?;
        let wage = input.numbers("monthly_wage")?;
        static SINGLED_OUT: AtomicBool = AtomicBool::new(false);
        let mut out = Contributions::new(&["district"], &["need"]);
        for row in 0..input.rows() {
            if let Some(d) = district.get(row) {
                let value = if !SINGLED_OUT.swap(true, Ordering::Relaxed) {
                    wage.get(row).unwrap_or(1.0) * 1e6
                } else {
                    1.0
                };
                out.push(row, &[d], &[value]);
            }
        }
        out.finish()
    }
}

cleanroom_guest::export!(SingleOut);
