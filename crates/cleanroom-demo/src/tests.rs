use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Date32Type, Float64Type, Int32Type};
use chrono::{Datelike, NaiveDate};
use cleanroom_policy::ident::{is_citizen_id, is_mobile, is_uscc};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::*;
use crate::model::age_at;

const TEST_ROWS: u64 = 20_000;

/// A table read back column by column.
struct Columns {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl Columns {
    fn read(path: &Path) -> Self {
        let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
        let schema = builder.schema().clone();
        let batches = builder.build().unwrap().map(|b| b.unwrap()).collect();
        Self { schema, batches }
    }

    fn idx(&self, name: &str) -> usize {
        self.schema.index_of(name).unwrap()
    }

    fn strings(&self, name: &str) -> Vec<String> {
        let i = self.idx(name);
        self.batches
            .iter()
            .flat_map(|b| {
                let a = b.column(i).as_string::<i32>();
                assert_eq!(a.null_count(), 0);
                a.iter().map(|v| v.unwrap().to_string()).collect::<Vec<_>>()
            })
            .collect()
    }

    fn dates(&self, name: &str) -> Vec<NaiveDate> {
        let i = self.idx(name);
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        self.batches
            .iter()
            .flat_map(|b| {
                let a = b.column(i).as_primitive::<Date32Type>();
                a.values()
                    .iter()
                    .map(|d| epoch + chrono::Duration::days(i64::from(*d)))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn floats(&self, name: &str) -> Vec<f64> {
        let i = self.idx(name);
        self.batches
            .iter()
            .flat_map(|b| b.column(i).as_primitive::<Float64Type>().values().to_vec())
            .collect()
    }

    fn ints(&self, name: &str) -> Vec<i32> {
        let i = self.idx(name);
        self.batches
            .iter()
            .flat_map(|b| b.column(i).as_primitive::<Int32Type>().values().to_vec())
            .collect()
    }
}

fn options(dir: &Path, seed: u64) -> GenerateOptions {
    GenerateOptions {
        rows: TEST_ROWS,
        seed,
        out_dir: dir.to_path_buf(),
        progress: false,
    }
}

fn area_code(district: &str) -> &'static str {
    DISTRICTS.iter().find(|d| d.0 == district).unwrap().1
}

#[test]
fn same_seed_same_bytes_different_seed_different_bytes() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let sa = generate(&options(a.path(), 7)).unwrap();
    let sb = generate(&options(b.path(), 7)).unwrap();
    generate(&options(c.path(), 8)).unwrap();
    assert_eq!(sa.residents, sb.residents);
    assert_eq!(sa.social_insurance, sb.social_insurance);
    assert_eq!(sa.real_estate, sb.real_estate);
    for name in FILE_NAMES.iter().chain([&MANIFEST_NAME]) {
        let bytes = |d: &tempfile::TempDir| std::fs::read(d.path().join(name)).unwrap();
        assert_eq!(bytes(&a), bytes(&b), "{name} differs for the same seed");
        assert_ne!(bytes(&a), bytes(&c), "{name} is the same for another seed");
    }
    let leftovers: Vec<_> = std::fs::read_dir(a.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn datasets_are_consistent_and_realistic() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(&options(dir.path(), DEFAULT_SEED)).unwrap();
    assert_eq!(summary.residents, TEST_ROWS);
    assert_eq!(summary.enterprises, TEST_ROWS / 20);
    assert_eq!(summary.files.len(), 5);
    assert!(summary.files.iter().all(|f| f.is_file()));

    // --- residents
    let res = Columns::read(&dir.path().join("residents.parquet"));
    assert!(res.schema.fields().iter().all(|f| !f.is_nullable()));
    let ids = res.strings("citizen_id");
    let genders = res.strings("gender");
    let births = res.dates("birth_date");
    let districts = res.strings("district");
    let marital = res.strings("marital_status");
    let phones = res.strings("phone");
    let names = res.strings("name");
    let hukou = res.strings("hukou_type");
    assert_eq!(ids.len() as u64, TEST_ROWS);
    let mut by_id = HashMap::new();
    for (k, id) in ids.iter().enumerate() {
        assert!(is_citizen_id(id), "{id}");
        assert_eq!(&id[..6], area_code(&districts[k]), "{id}");
        assert_eq!(id[6..14], births[k].format("%Y%m%d").to_string(), "{id}");
        let seq: u32 = id[14..17].parse().unwrap();
        assert_eq!(genders[k], if seq % 2 == 1 { "男" } else { "女" }, "{id}");
        let age = age_at(births[k], REFERENCE_DATE);
        assert!(age <= 100 && births[k] <= REFERENCE_DATE, "{id}");
        if age < 20 {
            assert_eq!(marital[k], "未婚", "{id} aged {age}");
        }
        assert!(["未婚", "已婚", "离异", "丧偶"].contains(&marital[k].as_str()));
        assert!(["城镇", "农村"].contains(&hukou[k].as_str()));
        assert!(by_id.insert(id.clone(), k).is_none(), "duplicate {id}");
    }
    assert!(phones.iter().all(|p| is_mobile(p)));
    assert_eq!(phones.iter().collect::<HashSet<_>>().len(), phones.len());
    let mut name_counts: HashMap<&str, u32> = HashMap::new();
    for n in &names {
        let chars = n.chars().count();
        assert!((2..=3).contains(&chars), "{n}");
        *name_counts.entry(n).or_default() += 1;
    }
    assert!(name_counts.values().any(|c| *c >= 5), "common names repeat");
    let pop = |d: &str| districts.iter().filter(|x| *x == d).count();
    assert!(
        pop("尖山区") > 5 * pop("饶河县"),
        "{} vs {}",
        pop("尖山区"),
        pop("饶河县")
    );
    let ages: Vec<u32> = births.iter().map(|b| age_at(*b, REFERENCE_DATE)).collect();
    let count = |r: std::ops::Range<u32>| ages.iter().filter(|a| r.contains(a)).count();
    assert!(count(50..70) > 2 * count(0..20), "an ageing city");
    let widowed = |r: std::ops::Range<u32>| {
        let n = (0..ages.len())
            .filter(|&k| r.contains(&ages[k]) && marital[k] == "丧偶")
            .count();
        n as f64 / count(r) as f64
    };
    assert!(widowed(70..101) > 3.0 * widowed(40..50));
    let age_of = |id: &str| ages[by_id[id]];

    // --- enterprises
    let ent = Columns::read(&dir.path().join("enterprises.parquet"));
    let usccs = ent.strings("uscc");
    assert_eq!(usccs.len() as u64, summary.enterprises);
    assert!(usccs.iter().all(|u| is_uscc(u) && u.starts_with("91")));
    let uscc_set: HashSet<&String> = usccs.iter().collect();
    assert_eq!(uscc_set.len(), usccs.len());
    let ent_names = ent.strings("name");
    assert_eq!(
        ent_names.iter().collect::<HashSet<_>>().len(),
        ent_names.len()
    );
    assert!(ent_names.iter().all(|n| n.starts_with("双鸭山市")));
    let ent_districts = ent.strings("district");
    for (u, d) in usccs.iter().zip(&ent_districts) {
        assert_eq!(&u[2..8], area_code(d));
    }
    let industries = ent.strings("industry");
    let heavy = industries
        .iter()
        .filter(|i| *i == "采矿业" || *i == "制造业")
        .count();
    assert!(heavy * 4 > industries.len(), "a coal city: {heavy}");
    let capital = ent.floats("registered_capital");
    let dominated = DISTRICTS.iter().any(|(d, _, _)| {
        let mut caps: Vec<f64> = (0..capital.len())
            .filter(|&k| ent_districts[k] == *d)
            .map(|k| capital[k])
            .collect();
        caps.sort_by(|a, b| b.total_cmp(a));
        let total: f64 = caps.iter().sum();
        caps.iter().take(3).sum::<f64>() > 0.3 * total
    });
    assert!(dominated, "a few giants dominate a district");
    let employees = ent.ints("employee_count");
    assert!(employees.iter().all(|e| *e >= 1));
    let max_emp = *employees.iter().max().unwrap();
    let mut sorted_emp = employees.clone();
    sorted_emp.sort_unstable();
    assert!(
        max_emp > 50 * sorted_emp[sorted_emp.len() / 2],
        "skewed employee counts"
    );
    let founded = ent.dates("founded_on");
    assert!(
        founded
            .iter()
            .all(|d| d.year() >= 1950 && *d <= REFERENCE_DATE)
    );

    // --- social insurance
    let si = Columns::read(&dir.path().join("social_insurance.parquet"));
    let si_ids = si.strings("citizen_id");
    let employers = si.strings("employer_uscc");
    let wages = si.floats("monthly_wage");
    let months = si.ints("contribution_months");
    let status = si.strings("pension_status");
    let since = si.dates("insured_since");
    assert_eq!(si_ids.len() as u64, summary.social_insurance);
    let mut per_person: HashMap<&str, Vec<usize>> = HashMap::new();
    for (k, id) in si_ids.iter().enumerate() {
        assert!(uscc_set.contains(&employers[k]), "unknown employer");
        let r = *by_id.get(id).expect("insured person is a resident");
        let age = ages[r];
        assert!((18..=75).contains(&age), "{id} aged {age}");
        let eighteen = births[r]
            .with_year(births[r].year() + 18)
            .unwrap_or(births[r]);
        assert!(since[k] >= eighteen && since[k] <= REFERENCE_DATE, "{id}");
        assert!((1..=480).contains(&months[k]));
        assert!(
            months[k] as u32 <= (age - 17) * 12,
            "{id}: {} months",
            months[k]
        );
        assert!(["在职", "退休", "暂停"].contains(&status[k].as_str()));
        per_person.entry(id).or_default().push(k);
    }
    for (id, rows) in &per_person {
        assert!((1..=3).contains(&rows.len()), "{id}: {} rows", rows.len());
        let latest = *rows.iter().max_by_key(|&&k| since[k]).unwrap();
        let r = by_id[*id];
        let retired = if genders[r] == "男" {
            ages[r] >= 60
        } else {
            ages[r] >= 55
        };
        assert_eq!(status[latest] == "退休", retired, "{id}");
    }
    let adults = ages.iter().filter(|a| (18..=75).contains(*a)).count();
    let insured_share = per_person.len() as f64 / adults as f64;
    assert!((0.65..0.75).contains(&insured_share), "{insured_share}");
    let mut sorted_wages = wages.clone();
    sorted_wages.sort_by(f64::total_cmp);
    let median = sorted_wages[sorted_wages.len() / 2];
    assert!((3000.0..4500.0).contains(&median), "median wage {median}");
    let high = wages.iter().filter(|w| **w > 50_000.0).count();
    assert!(
        high >= 1 && high * 100 < wages.len(),
        "{high} very high earners"
    );
    let mut by_employer: HashMap<&str, usize> = HashMap::new();
    for e in &employers {
        *by_employer.entry(e).or_default() += 1;
    }
    let mut counts: Vec<usize> = by_employer.into_values().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let top3: usize = counts.iter().take(3).sum();
    assert!(
        top3 * 10 > employers.len(),
        "big employers dominate: {top3}"
    );

    // --- real estate
    let re = Columns::read(&dir.path().join("real_estate.parquet"));
    let owners = re.strings("owner_citizen_id");
    let re_districts = re.strings("district");
    let areas = re.floats("area_m2");
    let values = re.floats("assessed_value");
    assert_eq!(owners.len() as u64, summary.real_estate);
    let per_resident = owners.len() as f64 / TEST_ROWS as f64;
    assert!((0.5..0.7).contains(&per_resident), "{per_resident}");
    for k in 0..owners.len() {
        assert!(age_of(&owners[k]) >= 18);
        area_code(&re_districts[k]);
        assert!((40.0..=200.0).contains(&areas[k]));
        let price = values[k] / areas[k];
        assert!((1990.0..6010.0).contains(&price), "{price}");
    }
}

#[test]
fn ensure_generates_only_when_needed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    assert!(ensure(&d, 500, 1, false).unwrap(), "empty directory");
    assert!(!ensure(&d, 500, 1, false).unwrap(), "up to date");
    let manifest = std::fs::read_to_string(d.join(MANIFEST_NAME)).unwrap();
    assert_eq!(manifest_u64(&manifest, "rows"), Some(500));
    assert_eq!(manifest_u64(&manifest, "seed"), Some(1));
    assert_eq!(manifest_u64(&manifest, "residents"), Some(500));
    assert!(ensure(&d, 500, 2, false).unwrap(), "other seed");
    assert!(ensure(&d, 600, 2, false).unwrap(), "other rows");
    assert!(!ensure(&d, 600, 2, false).unwrap());
    std::fs::remove_file(d.join("real_estate.parquet")).unwrap();
    assert!(ensure(&d, 600, 2, false).unwrap(), "missing file");
    std::fs::remove_file(d.join(MANIFEST_NAME)).unwrap();
    assert!(ensure(&d, 600, 2, false).unwrap(), "missing manifest");
    let stale = manifest.replace("\"format_version\": 1", "\"format_version\": 0");
    std::fs::write(d.join(MANIFEST_NAME), stale).unwrap();
    assert!(ensure(&d, 500, 1, false).unwrap(), "older format");
    assert!(!ensure(&d, 500, 1, false).unwrap());
}

#[test]
fn rejects_out_of_range_rows() {
    let dir = tempfile::tempdir().unwrap();
    for rows in [0, MAX_ROWS + 1] {
        let opts = GenerateOptions {
            rows,
            ..options(dir.path(), 1)
        };
        assert!(matches!(generate(&opts), Err(Error::InvalidInput(_))));
    }
    assert!(!dir.path().join(MANIFEST_NAME).exists());
}

#[test]
fn residents_are_pure_functions_of_seed_and_index() {
    let pop = Population::new(1000, 5).unwrap();
    let again = Population::new(1000, 5).unwrap();
    for i in [0, 1, 499, 999] {
        let (a, b) = (pop.resident(i), again.resident(i));
        assert_eq!(a.person.citizen_id, b.person.citizen_id);
        assert_eq!(a.name, b.name);
        assert_eq!(a.phone, b.phone);
    }
    let other = Population::new(1000, 6).unwrap();
    assert!((0..1000).any(|i| pop.person(i).citizen_id != other.person(i).citizen_id));
}
