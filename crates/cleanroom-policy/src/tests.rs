//! Tests of loading, validation, rule combination and licence checks.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::NaiveDate;

use crate::decision::RuleId;
use crate::*;

fn real_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

fn real() -> Policies {
    match Policies::load(&real_dir()) {
        Ok(p) => p,
        Err(e) => panic!("the real policies must load:\n{e}"),
    }
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A copy of the real `policies/` in a fresh temporary directory, removed on drop.
struct TempPolicies(PathBuf);

impl TempPolicies {
    fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "cleanroom-policy-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["catalog", "licences"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
            for entry in std::fs::read_dir(real_dir().join(sub)).unwrap() {
                let entry = entry.unwrap();
                std::fs::copy(entry.path(), dir.join(sub).join(entry.file_name())).unwrap();
            }
        }
        std::fs::copy(
            real_dir().join("disclosure.toml"),
            dir.join("disclosure.toml"),
        )
        .unwrap();
        TempPolicies(dir)
    }

    fn write(&self, rel: &str, text: &str) -> &Self {
        std::fs::write(self.0.join(rel), text).unwrap();
        self
    }

    /// The load error's text; fails the test if loading succeeds.
    fn error(&self) -> String {
        match Policies::load(&self.0) {
            Ok(_) => panic!("loading was expected to fail"),
            Err(e) => e.to_string(),
        }
    }
}

impl Drop for TempPolicies {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Asserts that the error names the file, the 1-based line and the field.
#[track_caller]
fn assert_diag(err: &str, rel: &str, line: usize, field: &str) {
    let rel = Path::new(rel);
    let expected = format!("{}:{line}: field `{field}`", rel.display());
    assert!(
        err.lines().any(|l| l.contains(&expected)),
        "expected `{expected}` in:\n{err}"
    );
}

const LICENCE: &str = r#"id = "LIC-X"
operator = "acme-analytics"
mode = "scenario"
datasets = ["residents"]
scenarios = ["elderly-care-planning"]
valid_from = 2026-01-01
valid_until = 2027-12-31
job_kinds = ["sql"]
daily_job_limit = 10
epsilon_budget = 1.0
interactive = false
release_quorum = 1
"#;

const DATASET: &str = r#"name = "t"
summary = "s"
format = "parquet"
industry = "i"
time_coverage = "t"
region_coverage = "r"
update_frequency = "daily"
provider_name = "p"
provider_code = "P"
share_type = "conditional"
share_conditions = ""
open_type = "none"
open_conditions = ""
grade = "general"
privacy_unit = "pid"
unit_unique_per_row = true

[licensed_operation]
status = "licensable"
scenarios = ["elderly-care-planning"]

[[columns]]
name = "pid"
data_type = "utf8"
class = "identifier"

[[columns]]
name = "age"
data_type = "int32"
class = "quasi"
"#;

const DISCLOSURE: &str = r#"[global]
k = 10
dominance_n = 2
dominance_k = 0.9
p_ratio = 0.1
max_output_rows = 100
max_output_bytes = 1000
max_substr_prefix = 4
min_round_bucket = 5.0
dp = "off"
epsilon = 1.0
delta = 1e-6
max_rows_per_unit = 3

[grades.core]
k = 50
"#;

/// `text` with its 1-based line `n` replaced by `new` (which may span several lines).
fn with_line(text: &str, n: usize, new: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    assert!(n >= 1 && n <= lines.len(), "line {n} out of range");
    lines[n - 1] = new;
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

// ---------------------------------------------------------------------------------------------
// The real policies

#[test]
fn real_policies_load() {
    let p = real();
    assert_eq!(
        p.catalog.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "enterprises",
            "real_estate",
            "residents",
            "social_insurance"
        ]
    );
    assert_eq!(
        p.licences.keys().map(String::as_str).collect::<Vec<_>>(),
        ["LIC-BIZ-2026", "LIC-ELDER-2026", "LIC-OLD-2024"]
    );
    assert_eq!(p.version.len(), 16);
    assert!(p.version.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(Policies::load(&real_dir()).unwrap().version, p.version);

    let residents = p.dataset("residents").unwrap();
    assert_eq!(residents.grade, Grade::General);
    assert_eq!(residents.privacy_unit, "citizen_id");
    assert!(residents.unit_unique_per_row);
    assert!(residents.is_protected());
    assert_eq!(residents.columns.len(), 8);
    let id = residents.column("citizen_id").unwrap();
    assert_eq!(id.class, Some(ColumnClass::Identifier));
    assert_eq!(id.effective_uses(), Uses::of(&[Use::Join]));
    assert_eq!(
        residents.column("marital_status").unwrap().class,
        Some(ColumnClass::Sensitive)
    );
    assert_eq!(residents.column("birth_date").unwrap().data_type, "date32");

    let si = p.dataset("social_insurance").unwrap();
    assert_eq!(si.grade, Grade::Important);
    assert!(!si.unit_unique_per_row);
    assert_eq!(si.column("monthly_wage").unwrap().data_type, "float64");
    assert_eq!(si.column("contribution_months").unwrap().data_type, "int32");

    let ent = p.dataset("enterprises").unwrap();
    assert_eq!(ent.privacy_unit, "uscc");
    assert!(ent.unit_unique_per_row);
    let re = p.dataset("real_estate").unwrap();
    assert_eq!(re.privacy_unit, "owner_citizen_id");
    assert_eq!(re.grade, Grade::Important);
    assert!(!re.unit_unique_per_row);
    assert!(
        p.licences
            .values()
            .all(|l| !l.datasets.iter().any(|d| d == "real_estate"))
    );

    let elder = p.licence("LIC-ELDER-2026").unwrap();
    assert_eq!(elder.operator, "acme-analytics");
    assert_eq!(elder.datasets, ["residents", "social_insurance"]);
    assert!(elder.interactive);
    assert_eq!(elder.release_quorum, 1);
    assert_eq!(elder.job_kinds, [JobKind::Sql, JobKind::Wasm]);
    assert_eq!(elder.valid_until, date("2027-12-31"));
    let biz = p.licence("LIC-BIZ-2026").unwrap();
    assert_eq!(biz.operator, "northstar-data");
    assert!(!biz.interactive);
    assert_eq!(biz.release_quorum, 2);
    assert_eq!(biz.scenarios, ["enterprise-employment"]);
    let old = p.licence("LIC-OLD-2024").unwrap();
    assert_eq!(old.valid_until, date("2024-12-31"));

    assert_eq!(p.disclosure.global.k, 10);
    assert_eq!(p.disclosure.global.dominance_n, 2);
    assert_eq!(p.disclosure.global.max_output_bytes, 4_194_304);
    assert_eq!(p.disclosure.grades[&Grade::Core].k, Some(50));
}

#[test]
fn authz_directory_is_ignored() {
    let t = TempPolicies::new();
    std::fs::create_dir_all(t.0.join("authz")).unwrap();
    t.write("authz/users.toml", "this is not = [ valid toml");
    assert!(Policies::load(&t.0).is_ok());
}

#[test]
fn version_changes_with_any_byte() {
    let t = TempPolicies::new();
    let before = Policies::load(&t.0).unwrap().version;
    let text = std::fs::read_to_string(t.0.join("disclosure.toml")).unwrap();
    t.write("disclosure.toml", &format!("{text}\n# changed\n"));
    assert_ne!(Policies::load(&t.0).unwrap().version, before);
}

// ---------------------------------------------------------------------------------------------
// Column uses

#[test]
fn class_presets_and_explicit_uses() {
    assert_eq!(
        ColumnClass::Quasi.uses().iter().collect::<Vec<_>>(),
        [Use::GroupBy, Use::Aggregate, Use::Compare]
    );
    assert_eq!(
        ColumnClass::Sensitive.uses(),
        Uses::of(&[Use::Compare, Use::Aggregate])
    );
    assert_eq!(ColumnClass::Public.uses().iter().count(), 5);
    assert!(Uses::NONE.is_empty());
    assert!(!Uses::of(&[Use::Join]).contains(Use::Output));

    let mut c = Column {
        name: "x".into(),
        data_type: "utf8".into(),
        class: Some(ColumnClass::Public),
        uses: None,
        description: String::new(),
        bounds: None,
    };
    assert!(!c.is_protected());
    c.uses = Some(vec![Use::GroupBy]);
    assert_eq!(c.effective_uses(), Uses::of(&[Use::GroupBy]));
    assert!(
        c.is_protected(),
        "a public column that may not be output is protected"
    );
    c.class = None;
    c.uses = None;
    assert!(c.effective_uses().is_empty());
    assert!(c.is_protected());
}

// ---------------------------------------------------------------------------------------------
// Effective rules

#[test]
fn effective_rules_take_the_most_restrictive() {
    let p = real();
    let residents = p.dataset("residents").unwrap();
    let si = p.dataset("social_insurance").unwrap();
    let mut licence = p.licence("LIC-ELDER-2026").unwrap().clone();

    let base = p.effective_rules(&licence, &[residents, si]);
    assert_eq!(base.k, 10);
    assert_eq!(base.max_output_rows, 10_000);

    licence.min_group_size = Some(25);
    licence.max_output_rows = Some(500);
    let r = p.effective_rules(&licence, &[residents, si]);
    assert_eq!(r.k, 25);
    assert_eq!(r.max_output_rows, 500);

    let mut core = residents.clone();
    core.grade = Grade::Core;
    assert_eq!(p.effective_rules(&licence, &[&core, si]).k, 50);

    let mut strict = si.clone();
    strict.min_group_size = Some(40);
    assert_eq!(p.effective_rules(&licence, &[residents, &strict]).k, 40);
}

#[test]
fn effective_rules_combine_each_field_in_its_direction() {
    let mut p = real();
    p.disclosure.grades.insert(
        Grade::Important,
        PartialRules {
            dominance_n: Some(3),
            dominance_k: Some(0.8),
            p_ratio: Some(0.2),
            max_output_bytes: Some(1000),
            max_substr_prefix: Some(2),
            min_round_bucket: Some(100.0),
            dp: Some(DpMode::Required),
            epsilon: Some(0.5),
            max_rows_per_unit: Some(1),
            ..PartialRules::default()
        },
    );
    // A looser grade value never relaxes the global one.
    p.disclosure.grades.insert(
        Grade::General,
        PartialRules {
            k: Some(2),
            dominance_k: Some(1.0),
            max_output_rows: Some(1_000_000),
            ..PartialRules::default()
        },
    );
    let licence = p.licence("LIC-ELDER-2026").unwrap();
    let residents = p.dataset("residents").unwrap();
    let si = p.dataset("social_insurance").unwrap();
    let r = p.effective_rules(licence, &[residents, si]);
    assert_eq!(r.k, 10);
    assert_eq!(r.dominance_n, 3);
    assert_eq!(r.dominance_k, 0.8);
    assert_eq!(r.p_ratio, 0.2);
    assert_eq!(r.max_output_rows, 10_000);
    assert_eq!(r.max_output_bytes, 1000);
    assert_eq!(r.max_substr_prefix, 2);
    assert_eq!(r.min_round_bucket, 100.0);
    assert_eq!(r.dp, DpMode::Required);
    assert_eq!(r.epsilon, 0.5);
    assert_eq!(r.max_rows_per_unit, 1);

    let only_general = p.effective_rules(licence, &[residents]);
    assert_eq!(only_general.dominance_k, 0.9);
    assert_eq!(
        only_general.dp,
        DpMode::Required,
        "the demo policy requires DP everywhere"
    );
    assert_eq!(only_general.epsilon, 0.8);
}

// ---------------------------------------------------------------------------------------------
// Licence checks

fn rules_of(v: &[decision::Violation]) -> Vec<RuleId> {
    v.iter().map(|v| v.rule).collect()
}

#[test]
fn current_licence_in_scope_passes() {
    let p = real();
    let elder = p.licence("LIC-ELDER-2026").unwrap();
    let v = p.check_licence(
        elder,
        "elderly-care-planning",
        JobKind::Sql,
        date("2026-11-27"),
    );
    assert!(v.is_empty(), "{v:?}");
    let biz = p.licence("LIC-BIZ-2026").unwrap();
    let v = p.check_licence(
        biz,
        "enterprise-employment",
        JobKind::Wasm,
        date("2026-11-27"),
    );
    assert!(v.is_empty(), "{v:?}");
}

#[test]
fn expired_licence_is_reported() {
    let p = real();
    let old = p.licence("LIC-OLD-2024").unwrap();
    let v = p.check_licence(
        old,
        "elderly-care-planning",
        JobKind::Sql,
        date("2026-11-27"),
    );
    assert_eq!(rules_of(&v), [RuleId::LicenceExpired]);
    assert_eq!(v[0].target, "LIC-OLD-2024");
    assert!(
        v[0].reason.contains("expired on 2024-12-31"),
        "{}",
        v[0].reason
    );

    let elder = p.licence("LIC-ELDER-2026").unwrap();
    let v = p.check_licence(
        elder,
        "elderly-care-planning",
        JobKind::Sql,
        date("2025-12-31"),
    );
    assert_eq!(rules_of(&v), [RuleId::LicenceExpired]);
    assert!(v[0].reason.contains("not yet valid"), "{}", v[0].reason);
    // Both ends of the window are inside it.
    for d in ["2026-01-01", "2027-12-31"] {
        assert!(
            p.check_licence(elder, "elderly-care-planning", JobKind::Sql, date(d))
                .is_empty()
        );
    }
}

#[test]
fn wrong_scenario_is_reported_with_the_licensed_ones() {
    let p = real();
    let elder = p.licence("LIC-ELDER-2026").unwrap();
    let v = p.check_licence(
        elder,
        "enterprise-employment",
        JobKind::Sql,
        date("2026-11-27"),
    );
    assert_eq!(rules_of(&v), [RuleId::LicenceScenario]);
    let suggestion = v[0].suggestion.as_deref().unwrap();
    assert!(
        suggestion.contains("`elderly-care-planning`"),
        "{suggestion}"
    );
}

#[test]
fn every_licence_problem_is_reported_in_order() {
    let p = real();
    let mut licence = p.licence("LIC-OLD-2024").unwrap().clone();
    licence.suspended = true;
    licence.job_kinds = vec![JobKind::Sql];
    licence.datasets.push("real_estate".into());
    licence.datasets.push("gone".into());
    let mut p2 = p.clone();
    p2.catalog
        .get_mut("real_estate")
        .unwrap()
        .licensed_operation
        .status = OperationStatus::NotLicensable;
    let v = p2.check_licence(&licence, "x", JobKind::Wasm, date("2026-11-27"));
    assert_eq!(
        rules_of(&v),
        [
            RuleId::LicenceSuspended,
            RuleId::LicenceExpired,
            RuleId::LicenceScenario,
            RuleId::LicenceScope,
            RuleId::LicenceScope,
            RuleId::LicenceScope,
        ]
    );
    assert_eq!(v[3].target, "LIC-OLD-2024");
    assert_eq!(v[4].target, "real_estate");
    assert!(v[4].reason.contains("not licensable"), "{}", v[4].reason);
    assert_eq!(v[5].target, "gone");
}

#[test]
fn a_licensed_dataset_downgraded_to_core_or_unshared_is_out_of_scope() {
    let mut p = real();
    let licence = p.licence("LIC-ELDER-2026").unwrap().clone();
    p.catalog.get_mut("residents").unwrap().grade = Grade::Core;
    p.catalog.get_mut("social_insurance").unwrap().share_type = ShareType::None;
    let v = p.check_licence(
        &licence,
        "elderly-care-planning",
        JobKind::Sql,
        date("2026-11-27"),
    );
    assert_eq!(rules_of(&v), [RuleId::LicenceScope, RuleId::LicenceScope]);
    assert!(v[0].reason.contains("core"), "{}", v[0].reason);
    assert!(v[1].reason.contains("share type none"), "{}", v[1].reason);
}

// ---------------------------------------------------------------------------------------------
// Validation: one broken file each, asserting file, line and field

#[test]
fn unknown_dataset_in_licence() {
    let t = TempPolicies::new();
    t.write(
        "licences/LIC-X.toml",
        &with_line(LICENCE, 4, r#"datasets = ["residents", "foo"]"#),
    );
    let err = t.error();
    assert_diag(&err, "licences/LIC-X.toml", 4, "datasets");
    assert!(err.contains("unknown dataset `foo`"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn core_dataset_in_licence() {
    let t = TempPolicies::new();
    let vault = with_line(DATASET, 14, r#"grade = "core""#);
    t.write(
        "catalog/vault.toml",
        &with_line(&vault, 19, r#"status = "not_licensable""#),
    );
    t.write(
        "licences/LIC-X.toml",
        &with_line(
            LICENCE,
            4,
            "datasets = [\n  \"residents\",\n  \"vault\",\n]",
        ),
    );
    let err = t.error();
    assert_diag(&err, "licences/LIC-X.toml", 6, "datasets");
    assert!(err.contains("graded core"), "{err}");
}

#[test]
fn core_dataset_must_be_not_licensable() {
    let t = TempPolicies::new();
    t.write(
        "catalog/vault.toml",
        &with_line(DATASET, 14, r#"grade = "core""#),
    );
    let err = t.error();
    assert_diag(&err, "catalog/vault.toml", 19, "status");
}

#[test]
fn not_licensable_dataset_in_licence() {
    let t = TempPolicies::new();
    t.write(
        "catalog/closed.toml",
        &with_line(DATASET, 19, r#"status = "not_licensable""#),
    );
    t.write(
        "licences/LIC-X.toml",
        &with_line(LICENCE, 4, r#"datasets = ["closed"]"#),
    );
    let err = t.error();
    assert_diag(&err, "licences/LIC-X.toml", 4, "datasets");
    assert!(err.contains("not licensable"), "{err}");
}

#[test]
fn unshared_dataset_in_licence() {
    let t = TempPolicies::new();
    t.write(
        "catalog/closed.toml",
        &with_line(DATASET, 10, r#"share_type = "none""#),
    );
    t.write(
        "licences/LIC-X.toml",
        &with_line(LICENCE, 4, r#"datasets = ["closed"]"#),
    );
    let err = t.error();
    assert_diag(&err, "licences/LIC-X.toml", 4, "datasets");
    assert!(err.contains("share type none"), "{err}");
}

#[test]
fn valid_until_before_valid_from() {
    let t = TempPolicies::new();
    t.write(
        "licences/LIC-X.toml",
        &with_line(LICENCE, 7, "valid_until = 2025-12-31"),
    );
    let err = t.error();
    assert_diag(&err, "licences/LIC-X.toml", 7, "valid_until");
}

#[test]
fn licence_date_with_a_time_is_rejected() {
    let t = TempPolicies::new();
    t.write(
        "licences/LIC-X.toml",
        &with_line(LICENCE, 6, "valid_from = 2026-01-01T08:00:00"),
    );
    assert_diag(&t.error(), "licences/LIC-X.toml", 6, "valid_from");
}

#[test]
fn unknown_column_class() {
    let t = TempPolicies::new();
    t.write(
        "catalog/tiny.toml",
        &with_line(DATASET, 30, r#"class = "secret""#),
    );
    let err = t.error();
    assert_diag(&err, "catalog/tiny.toml", 30, "class");
    assert!(err.contains("`secret`"), "{err}");
}

#[test]
fn unknown_use() {
    let t = TempPolicies::new();
    t.write(
        "catalog/tiny.toml",
        &with_line(DATASET, 30, "uses = [\n  \"group_by\",\n  \"peek\",\n]"),
    );
    let err = t.error();
    assert_diag(&err, "catalog/tiny.toml", 32, "uses");
    assert!(err.contains("`peek`"), "{err}");
}

#[test]
fn unknown_data_type() {
    let t = TempPolicies::new();
    t.write(
        "catalog/tiny.toml",
        &with_line(DATASET, 29, r#"data_type = "int8""#),
    );
    assert_diag(&t.error(), "catalog/tiny.toml", 29, "data_type");
}

#[test]
fn privacy_unit_not_a_column() {
    let t = TempPolicies::new();
    t.write(
        "catalog/tiny.toml",
        &with_line(DATASET, 15, r#"privacy_unit = "person""#),
    );
    let err = t.error();
    assert_diag(&err, "catalog/tiny.toml", 15, "privacy_unit");
    assert!(err.contains("`person`"), "{err}");
}

#[test]
fn duplicate_column_name() {
    let t = TempPolicies::new();
    t.write(
        "catalog/tiny.toml",
        &with_line(DATASET, 28, r#"name = "pid""#),
    );
    let err = t.error();
    assert_diag(&err, "catalog/tiny.toml", 28, "name");
    assert!(err.contains("duplicate column `pid`"), "{err}");
}

#[test]
fn empty_column_list() {
    let t = TempPolicies::new();
    let text: String = DATASET
        .lines()
        .take(21)
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        .replacen(
            "unit_unique_per_row = true\n",
            "unit_unique_per_row = true\ncolumns = []\n",
            1,
        );
    t.write("catalog/tiny.toml", &text);
    assert_diag(&t.error(), "catalog/tiny.toml", 17, "columns");
}

#[test]
fn dataset_id_must_be_a_lowercase_identifier() {
    let t = TempPolicies::new();
    t.write("catalog/Tiny-Set.toml", DATASET);
    let err = t.error();
    assert_diag(&err, "catalog/Tiny-Set.toml", 1, "id");
    assert!(err.contains("`Tiny-Set`"), "{err}");
}

#[test]
fn disclosure_k_below_two() {
    let t = TempPolicies::new();
    t.write("disclosure.toml", &with_line(DISCLOSURE, 2, "k = 1"));
    let err = t.error();
    assert_diag(&err, "disclosure.toml", 2, "k");
}

#[test]
fn grade_k_below_two() {
    let t = TempPolicies::new();
    t.write("disclosure.toml", &with_line(DISCLOSURE, 16, "k = 0"));
    assert_diag(&t.error(), "disclosure.toml", 16, "k");
}

#[test]
fn licence_min_group_size_below_two() {
    let t = TempPolicies::new();
    t.write(
        "licences/LIC-X.toml",
        &with_line(LICENCE, 9, "daily_job_limit = 10\nmin_group_size = 1"),
    );
    assert_diag(&t.error(), "licences/LIC-X.toml", 10, "min_group_size");
}

#[test]
fn dataset_min_group_size_below_two() {
    let t = TempPolicies::new();
    t.write(
        "catalog/tiny.toml",
        &with_line(
            DATASET,
            16,
            "unit_unique_per_row = true\nmin_group_size = 1",
        ),
    );
    assert_diag(&t.error(), "catalog/tiny.toml", 17, "min_group_size");
}

#[test]
fn dominance_k_outside_zero_one() {
    for bad in [
        "dominance_k = 1.5",
        "dominance_k = 0.0",
        "dominance_k = -0.1",
    ] {
        let t = TempPolicies::new();
        t.write("disclosure.toml", &with_line(DISCLOSURE, 4, bad));
        assert_diag(&t.error(), "disclosure.toml", 4, "dominance_k");
    }
    let t = TempPolicies::new();
    t.write(
        "disclosure.toml",
        &with_line(DISCLOSURE, 4, "dominance_k = 1.0"),
    );
    assert!(Policies::load(&t.0).is_ok());
}

#[test]
fn dp_parameters_are_checked() {
    for (line, bad, field) in [
        (10, r#"dp = "sometimes""#, "dp"),
        (11, "epsilon = 0.0", "epsilon"),
        (11, "epsilon = 50.0", "epsilon"),
        (12, "delta = 0.5", "delta"),
        (13, "max_rows_per_unit = 0", "max_rows_per_unit"),
    ] {
        let t = TempPolicies::new();
        t.write("disclosure.toml", &with_line(DISCLOSURE, line, bad));
        let err = t.error();
        assert!(
            err.contains(&format!("disclosure.toml:{line}:")) && err.contains(field),
            "{bad}: {err}"
        );
    }
    let t = TempPolicies::new();
    t.write(
        "disclosure.toml",
        &with_line(DISCLOSURE, 10, "mechanism = \"gaussian\""),
    );
    assert_diag(&t.error(), "disclosure.toml", 1, "dp");
}

#[test]
fn column_bounds_are_checked() {
    for bad in [
        "bounds = [5.0, 1.0]",
        "bounds = [1.0]",
        "bounds = [0.0, inf]",
    ] {
        let t = TempPolicies::new();
        t.write(
            "catalog/tiny.toml",
            &with_line(DATASET, 30, &format!("class = \"quasi\"\n{bad}")),
        );
        assert_diag(&t.error(), "catalog/tiny.toml", 31, "bounds");
    }
    let t = TempPolicies::new();
    t.write(
        "catalog/tiny.toml",
        &with_line(DATASET, 25, "class = \"identifier\"\nbounds = [0.0, 1.0]"),
    );
    let err = t.error();
    assert_diag(&err, "catalog/tiny.toml", 26, "bounds");
    assert!(err.contains("only numeric columns"), "{err}");
    let t = TempPolicies::new();
    t.write(
        "catalog/tiny.toml",
        &with_line(DATASET, 30, "class = \"quasi\"\nbounds = [0.0, 120.0]"),
    );
    let p = Policies::load(&t.0).unwrap();
    let age = p.dataset("tiny").unwrap().column("age").unwrap();
    assert_eq!(age.bounds, Some((0.0, 120.0)));
}

#[test]
fn p_ratio_outside_zero_one() {
    for bad in ["p_ratio = 1.0", "p_ratio = -0.5"] {
        let t = TempPolicies::new();
        t.write("disclosure.toml", &with_line(DISCLOSURE, 5, bad));
        assert_diag(&t.error(), "disclosure.toml", 5, "p_ratio");
    }
    let t = TempPolicies::new();
    t.write(
        "disclosure.toml",
        &with_line(DISCLOSURE, 5, "p_ratio = 0.0"),
    );
    assert!(Policies::load(&t.0).is_ok());
}

#[test]
fn global_rules_must_be_complete() {
    let t = TempPolicies::new();
    t.write("disclosure.toml", &with_line(DISCLOSURE, 7, ""));
    let err = t.error();
    assert_diag(&err, "disclosure.toml", 1, "max_output_bytes");
}

#[test]
fn unknown_grade_section() {
    let t = TempPolicies::new();
    t.write(
        "disclosure.toml",
        &with_line(DISCLOSURE, 12, "[grades.secret]"),
    );
    assert_diag(&t.error(), "disclosure.toml", 12, "secret");
}

#[test]
fn empty_datasets() {
    let t = TempPolicies::new();
    t.write(
        "licences/LIC-X.toml",
        &with_line(LICENCE, 4, "datasets = []"),
    );
    assert_diag(&t.error(), "licences/LIC-X.toml", 4, "datasets");
}

#[test]
fn empty_scenarios() {
    let t = TempPolicies::new();
    t.write(
        "licences/LIC-X.toml",
        &with_line(LICENCE, 5, "scenarios = []"),
    );
    assert_diag(&t.error(), "licences/LIC-X.toml", 5, "scenarios");
}

#[test]
fn scenario_not_licensable_for_a_dataset() {
    let t = TempPolicies::new();
    t.write(
        "licences/LIC-X.toml",
        &with_line(
            LICENCE,
            5,
            r#"scenarios = ["elderly-care-planning", "enterprise-employment"]"#,
        ),
    );
    let err = t.error();
    assert_diag(&err, "licences/LIC-X.toml", 5, "scenarios");
    assert!(
        err.contains("`enterprise-employment`") && err.contains("`residents`"),
        "{err}"
    );
}

#[test]
fn licence_id_must_equal_file_stem() {
    let t = TempPolicies::new();
    t.write("licences/LIC-Y.toml", LICENCE);
    let err = t.error();
    assert_diag(&err, "licences/LIC-Y.toml", 1, "id");
    assert!(err.contains("`LIC-X`") && err.contains("`LIC-Y`"), "{err}");
}

#[test]
fn toml_syntax_error_has_a_line() {
    let t = TempPolicies::new();
    t.write(
        "licences/LIC-X.toml",
        &with_line(LICENCE, 8, r#"job_kinds = ["sql""#),
    );
    let err = t.error();
    assert!(
        err.contains("LIC-X.toml:8:") || err.contains("LIC-X.toml:9:"),
        "{err}"
    );
}

#[test]
fn unknown_field_names_field_and_line() {
    let t = TempPolicies::new();
    t.write(
        "licences/LIC-X.toml",
        &with_line(LICENCE, 11, "interactive = false\nmax_rows = 5"),
    );
    assert_diag(&t.error(), "licences/LIC-X.toml", 12, "max_rows");
}

#[test]
fn wrong_type_names_field_and_line() {
    let t = TempPolicies::new();
    t.write(
        "licences/LIC-X.toml",
        &with_line(LICENCE, 9, r#"daily_job_limit = "many""#),
    );
    assert_diag(&t.error(), "licences/LIC-X.toml", 9, "daily_job_limit");
}

#[test]
fn missing_field_is_named() {
    let t = TempPolicies::new();
    t.write("catalog/tiny.toml", &with_line(DATASET, 2, ""));
    let err = t.error();
    assert!(err.contains("catalog/tiny.toml:"), "{err}");
    assert!(err.contains("field `summary`"), "{err}");
}

#[test]
fn errors_are_collected_across_files() {
    let t = TempPolicies::new();
    t.write("disclosure.toml", &with_line(DISCLOSURE, 2, "k = 1"));
    t.write(
        "catalog/tiny.toml",
        &with_line(DATASET, 28, r#"name = "pid""#),
    );
    t.write(
        "licences/LIC-X.toml",
        &with_line(LICENCE, 7, "valid_until = 2025-12-31"),
    );
    let err = t.error();
    assert_eq!(err.lines().count(), 3, "{err}");
    assert_diag(&err, "catalog/tiny.toml", 28, "name");
    assert_diag(&err, "disclosure.toml", 2, "k");
    assert_diag(&err, "licences/LIC-X.toml", 7, "valid_until");
    match Policies::load(&t.0) {
        Err(Error::Invalid(diags)) => assert_eq!(diags.len(), 3),
        other => panic!("expected invalid policies, got {other:?}"),
    }
}

#[test]
fn a_broken_dataset_does_not_cascade_into_licences() {
    let t = TempPolicies::new();
    t.write(
        "catalog/tiny.toml",
        &with_line(DATASET, 30, r#"class = "secret""#),
    );
    t.write(
        "licences/LIC-X.toml",
        &with_line(LICENCE, 4, r#"datasets = ["tiny"]"#),
    );
    let err = t.error();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_diag(&err, "catalog/tiny.toml", 30, "class");
}

#[test]
fn missing_directory_is_an_io_error_naming_the_path() {
    let missing = std::env::temp_dir().join("cleanroom-policy-test-does-not-exist");
    match Policies::load(&missing) {
        Err(e @ Error::Io { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("cleanroom-policy-test-does-not-exist"),
                "{msg}"
            );
            assert!(msg.starts_with("cannot read"), "{msg}");
        }
        other => panic!("expected an io error, got {other:?}"),
    }
}
