//! Rebuilds citizen IDs from what it sees (district code, birth date, a sequence number, a
//! valid check character) and emits them as keys: the host's checks must release none. Offers
//! the same as the scalar function `rebuild_id(district, birth_date)` to SQL jobs, whose
//! result the guard must never release row by row.
use std::sync::Arc;

use cleanroom_guest::arrow_array::{ArrayRef, StringArray};
use cleanroom_guest::{Analytics, Contributions, Error, Function, Input, RecordBatch, ScalarType};

struct RawKeys;

const CODES: [(&str, &str); 8] = [
    ("尖山区", "230502"),
    ("岭东区", "230503"),
    ("四方台区", "230505"),
    ("宝山区", "230506"),
    ("集贤县", "230521"),
    ("友谊县", "230522"),
    ("宝清县", "230523"),
    ("饶河县", "230524"),
];

fn ymd(days: i32) -> (i32, u32, u32) {
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i32::from(m <= 2);
    (y, m, d)
}

fn rebuild(district: &str, birth: i32, row: usize) -> String {
    let code = CODES
        .iter()
        .find(|(n, _)| *n == district)
        .map_or("230502", |(_, c)| c);
    let (y, m, day) = ymd(birth);
    with_check(&format!("{code}{y:04}{m:02}{day:02}{:03}", row % 1000))
}

fn with_check(body: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let s: u32 = body
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    let check = "10X98765432".chars().nth((s % 11) as usize).unwrap_or('0');
    format!("{body}{check}")
}

impl Analytics for RawKeys {
    fn contribute(batch: RecordBatch) -> Result<RecordBatch, Error> {
        let input = Input::new(&batch);
        let district = input.strings("district")?;
        let birth = input.dates("birth_date")?;
        let mut out = Contributions::new(&["district"], &["need"]);
        for row in 0..input.rows() {
            let (Some(d), Some(b)) = (district.get(row), birth.get(row)) else {
                continue;
            };
            out.push(row, &[&rebuild(d, b, row)], &[1.0]);
        }
        out.finish()
    }

    fn functions() -> Vec<Function> {
        vec![Function {
            name: "rebuild_id".into(),
            params: vec![ScalarType::Utf8, ScalarType::Date32],
            returns: ScalarType::Utf8,
        }]
    }

    fn call(_name: &str, args: RecordBatch) -> Result<ArrayRef, Error> {
        let input = Input::new(&args);
        let district = input.strings("arg0")?;
        let birth = input.dates("arg1")?;
        let ids: StringArray = (0..input.rows())
            .map(|row| Some(rebuild(district.get(row)?, birth.get(row)?, row)))
            .collect();
        Ok(Arc::new(ids))
    }
}

cleanroom_guest::export!(RawKeys);
