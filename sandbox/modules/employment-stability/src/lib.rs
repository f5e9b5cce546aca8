//! An employment-stability score per industry.
//!
//! Input columns: `industry`, `contribution_months`, `pension_status` (one row per insurance
//! record joined to its employer). Each working insured person's record contributes a score in
//! [0, 1] under the employer's industry: ten years of contributions or more scores 1, and a
//! suspended insurance halves the score.

use cleanroom_guest::{Analytics, Contributions, Error, Input, RecordBatch};

/// Contribution months that count as fully stable.
const FULL_MONTHS: f64 = 120.0;

struct EmploymentStability;

impl Analytics for EmploymentStability {
    fn contribute(batch: RecordBatch) -> Result<RecordBatch, Error> {
        let input = Input::new(&batch);
        let industry = input.strings("industry")?;
        let months = input.numbers("contribution_months")?;
        let status = input.strings("pension_status")?;
        let mut out = Contributions::new(&["industry"], &["stability"]);
        for row in 0..input.rows() {
            let (Some(i), Some(m), Some(s)) = (industry.get(row), months.get(row), status.get(row))
            else {
                continue;
            };
            let score = (m / FULL_MONTHS).clamp(0.0, 1.0);
            match s {
                "在职" => out.push(row, &[i], &[score]),
                "暂停" => out.push(row, &[i], &[score / 2.0]),
                _ => {}
            }
        }
        out.finish()
    }
}

cleanroom_guest::export!(EmploymentStability);
