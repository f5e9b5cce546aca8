//! Mock datasets made from the catalog alone, for testing components on a laptop.
//!
//! Every dataset of the catalog gets a Parquet file with its declared columns and types. Values
//! are drawn from the column's name and class only, never from real data: identifiers that look
//! valid (citizen IDs and USCCs with correct check characters, mobile numbers, names), shared
//! between datasets so that joins on them match; categories from the demo vocabulary where the
//! column name is a known one (district, gender, industry ...), else generic labels with a
//! skewed distribution; dates, amounts and counts with plausible spreads.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, Float64Array, Int32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use cleanroom_policy::{Column, ColumnClass, Dataset, Policies};
use parquet::arrow::ArrowWriter;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::vocab::{INDUSTRIES, SURNAMES};
use crate::{DISTRICTS, Error, Result, io_err};

/// Default persons (or companies) per dataset of mock data.
pub const DEFAULT_MOCK_ROWS: u64 = 20_000;
const BATCH: usize = 8_192;

/// What `mock` wrote: dataset id and rows.
pub type MockSummary = Vec<(String, u64)>;

/// Writes one Parquet file per catalog dataset into `out`.
pub fn mock(policies: &Policies, out: &Path, rows: u64, seed: u64) -> Result<MockSummary> {
    if rows == 0 || rows > crate::MAX_ROWS {
        return Err(Error::InvalidInput(format!(
            "rows must be between 1 and {}",
            crate::MAX_ROWS
        )));
    }
    std::fs::create_dir_all(out).map_err(io_err("create", out))?;
    let mut summary = Vec::new();
    for (i, ds) in policies.catalog.values().enumerate() {
        // Datasets with several rows per unit (employment histories) get more rows.
        let n = if ds.unit_unique_per_row {
            rows
        } else {
            rows + rows / 2
        };
        let path = out.join(format!("{}.parquet", ds.id));
        write_dataset(ds, &path, n, rows, seed.wrapping_add(i as u64))?;
        summary.push((ds.id.clone(), n));
    }
    Ok(summary)
}

fn arrow_type(t: &str) -> DataType {
    match t {
        "date32" => DataType::Date32,
        "float64" => DataType::Float64,
        "int32" => DataType::Int32,
        "int64" => DataType::Int64,
        _ => DataType::Utf8,
    }
}

fn write_dataset(ds: &Dataset, path: &PathBuf, n: u64, pool: u64, seed: u64) -> Result<()> {
    let schema: SchemaRef = Arc::new(Schema::new(
        ds.columns
            .iter()
            .map(|c| Field::new(&c.name, arrow_type(&c.data_type), true))
            .collect::<Vec<_>>(),
    ));
    let tmp = path.with_extension("parquet.tmp");
    let file = File::create(&tmp).map_err(io_err("create", &tmp))?;
    let mut writer = ArrowWriter::try_new(file, Arc::clone(&schema), None)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut start = 0u64;
    while start < n {
        let len = (n - start).min(BATCH as u64) as usize;
        let columns: Vec<ArrayRef> = ds
            .columns
            .iter()
            .map(|c| column(ds, c, start, len, pool, &mut rng))
            .collect();
        writer.write(&RecordBatch::try_new(Arc::clone(&schema), columns)?)?;
        start += len as u64;
    }
    writer.close()?;
    std::fs::rename(&tmp, path).map_err(io_err("rename", path))
}

/// What kind of value a column holds, from its name and class.
fn column(
    ds: &Dataset,
    c: &Column,
    start: u64,
    len: usize,
    pool: u64,
    rng: &mut ChaCha8Rng,
) -> ArrayRef {
    let name = c.name.as_str();
    match arrow_type(&c.data_type) {
        DataType::Date32 => {
            // 1926-01-01 to 2025-12-31.
            Arc::new(Date32Array::from_iter_values(
                (0..len).map(|_| rng.random_range(-16_071..=20_453)),
            ))
        }
        DataType::Float64 => Arc::new(Float64Array::from_iter_values((0..len).map(|_| {
            // Log-normal around 3,000 with a long upper tail.
            let u1: f64 = rng.random_range(f64::EPSILON..1.0);
            let u2: f64 = rng.random();
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            ((8.0 + 0.7 * z).exp() * 100.0).round() / 100.0
        }))),
        DataType::Int32 => Arc::new(Int32Array::from_iter_values(
            (0..len).map(|_| rng.random_range(0..=240)),
        )),
        DataType::Int64 => Arc::new(Int64Array::from_iter_values(
            (0..len).map(|_| rng.random_range(0..=240)),
        )),
        _ => {
            let own_unit = name == ds.privacy_unit && ds.unit_unique_per_row;
            let values: Vec<String> = (0..len as u64)
                .map(|i| {
                    // The dataset's own unit is the pool in order; references draw from it.
                    let index = if own_unit {
                        start + i
                    } else {
                        rng.random_range(0..pool)
                    };
                    text(c, index, pool, rng)
                })
                .collect();
            Arc::new(StringArray::from(values))
        }
    }
}

fn text(c: &Column, index: u64, pool: u64, rng: &mut ChaCha8Rng) -> String {
    let name = c.name.as_str();
    if name.contains("citizen_id") {
        return citizen_id(index);
    }
    if name.contains("uscc") {
        // Fewer companies than persons.
        return uscc(index % (pool / 20).max(50));
    }
    if name == "phone" || name.contains("mobile") {
        return format!(
            "1{}{:09}",
            3 + index % 7,
            crate::perm::splitmix64(index) % 1_000_000_000
        );
    }
    if name == "name" {
        let s = SURNAMES[(index % SURNAMES.len() as u64) as usize].0;
        const GIVEN: [&str; 12] = [
            "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳",
        ];
        return format!(
            "{s}{}",
            GIVEN[(crate::perm::splitmix64(index) % 12) as usize]
        );
    }
    if c.class == Some(ColumnClass::Identifier) {
        return format!(
            "ID{:012X}",
            crate::perm::splitmix64(index) & 0xFFFF_FFFF_FFFF
        );
    }
    let skewed = |n: usize, rng: &mut ChaCha8Rng| {
        // Roughly Zipf: the first categories are the most common.
        let u: f64 = rng.random();
        ((u * u * n as f64) as usize).min(n - 1)
    };
    match name {
        "district" => DISTRICTS[skewed(DISTRICTS.len(), rng)].0.to_string(),
        "gender" => ["男", "女"][rng.random_range(0..2)].to_string(),
        "hukou_type" => ["城镇", "农村"][skewed(2, rng)].to_string(),
        "marital_status" => ["已婚", "未婚", "丧偶", "离异"][skewed(4, rng)].to_string(),
        "pension_status" => ["在职", "退休", "暂停"][skewed(3, rng)].to_string(),
        "industry" => INDUSTRIES[skewed(INDUSTRIES.len(), rng)]
            .section
            .to_string(),
        _ => format!("类别{}", (b'A' + skewed(8, rng) as u8) as char),
    }
}

/// A valid-looking GB 11643 citizen ID for pool index `i`.
fn citizen_id(i: u64) -> String {
    let h = crate::perm::splitmix64(i ^ 0x6d6f_636b);
    let code = DISTRICTS[(i % DISTRICTS.len() as u64) as usize].1;
    let days = (h % 36_500) as i64;
    let birth = chrono::NaiveDate::from_ymd_opt(1926, 1, 1)
        .and_then(|d| d.checked_add_signed(chrono::TimeDelta::days(days)))
        .unwrap_or_default();
    let body = format!("{code}{}{:03}", birth.format("%Y%m%d"), 1 + (h >> 20) % 998);
    let check = cleanroom_policy::ident::citizen_id_check_char(body.as_bytes()).unwrap_or(b'0');
    format!("{body}{}", check as char)
}

/// A valid-looking GB 32100 USCC for company index `i`.
fn uscc(i: u64) -> String {
    const CHARSET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let h = crate::perm::splitmix64(i ^ 0x7573_6363);
    let code = DISTRICTS[(i % DISTRICTS.len() as u64) as usize].1;
    let org: String = (0..9)
        .map(|k| CHARSET[((h >> (k * 5)) % 31) as usize] as char)
        .collect();
    let body = format!("91{code}{org}");
    let check = cleanroom_policy::ident::uscc_check_char(body.as_bytes()).unwrap_or(b'0');
    format!("{body}{}", check as char)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]
    use super::*;

    #[test]
    fn mock_identifiers_are_valid_looking() {
        for i in 0..2_000 {
            assert!(
                cleanroom_policy::ident::is_citizen_id(&citizen_id(i)),
                "{}",
                citizen_id(i)
            );
            assert!(cleanroom_policy::ident::is_uscc(&uscc(i)), "{}", uscc(i));
        }
    }
}
