#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "a test harness: a failed assumption is a failed run"
)]

//! The golden decision corpus: every `tests/golden/**/<case>.sql` has its expected decision in
//! `<case>.expected` beside it. Each case runs twice, through the library (`Engine::check`) and
//! through the `cleanroom check --json` binary, and both must match the file.
//! `CLEANROOM_BLESS=1` rewrites the expectations; an `.expected` without its `.sql` fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use cleanroom_engine::{Engine, EngineConfig, JobRequest, SessionLimits};
use cleanroom_policy::Policies;
use libtest_mimic::{Arguments, Failed, Trial};

/// The date every golden case is decided on: inside the 2026-2027 licences, after LIC-OLD-2024.
const TODAY: &str = "2026-06-30";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Case {
    name: String,
    sql_path: PathBuf,
    expected_path: PathBuf,
    licence: String,
    scenario: String,
    sql: String,
}

fn parse_case(path: &Path, golden: &Path) -> Result<Case, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut licence = None;
    let mut scenario = None;
    let mut sql = String::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("-- licence:") {
            licence = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("-- scenario:") {
            scenario = Some(v.trim().to_string());
        } else if line.starts_with("--") {
            continue;
        } else {
            sql.push_str(line);
            sql.push('\n');
        }
    }
    let name = path
        .strip_prefix(golden)
        .unwrap_or(path)
        .with_extension("")
        .display()
        .to_string();
    Ok(Case {
        name,
        sql_path: path.to_path_buf(),
        expected_path: path.with_extension("expected"),
        licence: licence
            .ok_or_else(|| format!("{}: missing `-- licence:` header", path.display()))?,
        scenario: scenario
            .ok_or_else(|| format!("{}: missing `-- scenario:` header", path.display()))?,
        sql: sql.trim().to_string(),
    })
}

fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, ext, out);
        } else if p.extension().is_some_and(|e| e == ext) {
            out.push(p);
        }
    }
}

/// The decision as the expectation files spell it: the verdict, then one `rule<TAB>target` line
/// per violation, sorted. Reasons are prose and may be reworded; rule ids and targets may not.
fn render(decision: &str, violations: &[(String, String)]) -> String {
    let mut lines: Vec<String> = violations
        .iter()
        .map(|(r, t)| format!("{r}\t{t}"))
        .collect();
    lines.sort();
    lines.dedup();
    let mut s = format!("decision: {decision}\n");
    for l in lines {
        s.push_str(&l);
        s.push('\n');
    }
    s
}

fn compare(case: &Case, actual: &str, via: &str) -> Result<(), Failed> {
    let bless = std::env::var_os("CLEANROOM_BLESS").is_some();
    if bless && via == "library" {
        std::fs::write(&case.expected_path, actual).map_err(|e| Failed::from(e.to_string()))?;
        return Ok(());
    }
    let expected = std::fs::read_to_string(&case.expected_path).map_err(|_| {
        Failed::from(format!(
            "{} has no expectation; run with CLEANROOM_BLESS=1",
            case.sql_path.display()
        ))
    })?;
    if expected != actual {
        return Err(format!(
            "{via} decision differs for {}\n--- expected\n{expected}--- actual\n{actual}",
            case.sql_path.display()
        )
        .into());
    }
    Ok(())
}

fn library_trial(case: &Case, engine: &Engine, rt: &tokio::runtime::Runtime) -> Result<(), Failed> {
    let today =
        NaiveDate::parse_from_str(TODAY, "%Y-%m-%d").map_err(|e| Failed::from(e.to_string()))?;
    let req = JobRequest {
        licence: case.licence.clone(),
        scenario: case.scenario.clone(),
        sql: case.sql.clone(),
        today,
        dp: false,
    };
    let actual = match rt.block_on(engine.check(&req)) {
        Ok(r) => {
            let v: Vec<(String, String)> = r
                .violations
                .iter()
                .map(|v| (v.rule.as_str().to_string(), v.target.clone()))
                .collect();
            render(if r.is_allowed() { "allowed" } else { "blocked" }, &v)
        }
        Err(e) => format!("error: {e}\n"),
    };
    compare(case, &actual, "library")
}

fn cli_trial(case: &Case) -> Result<(), Failed> {
    let out = Command::new(env!("CARGO_BIN_EXE_cleanroom"))
        .current_dir(root())
        .args([
            "check",
            "--json",
            "--today",
            TODAY,
            "--licence",
            &case.licence,
            "--scenario",
            &case.scenario,
            &case.sql,
        ])
        .output()
        .map_err(|e| Failed::from(e.to_string()))?;
    let code = out.status.code().unwrap_or(-1);
    let actual = if code == 0 || code == 3 {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| Failed::from(format!("bad JSON from the CLI: {e}")))?;
        let decision = v["decision"].as_str().unwrap_or("?").to_string();
        let violations: Vec<(String, String)> = v["violations"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| {
                        (
                            x["rule"].as_str().unwrap_or("?").to_string(),
                            x["target"].as_str().unwrap_or("?").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let want_code = if decision == "allowed" { 0 } else { 3 };
        if code != want_code {
            return Err(format!("exit code {code} for decision {decision}").into());
        }
        render(&decision, &violations)
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        format!("error: {}\n", err.trim().trim_start_matches("error: "))
    };
    compare(case, &actual, "cli")
}

fn main() {
    let args = Arguments::from_args();
    let golden = root().join("tests/golden");
    let mut sqls = Vec::new();
    walk(&golden, "sql", &mut sqls);
    let mut expecteds = Vec::new();
    walk(&golden, "expected", &mut expecteds);

    let policies = Policies::load(&root().join("policies")).expect("the demo policies load");
    let state = std::env::temp_dir().join("cleanroom-golden-state");
    let engine = std::sync::Arc::new(Engine::new(
        policies,
        EngineConfig {
            data_dir: root().join("sandbox/data"),
            state_dir: state,
            limits: SessionLimits::default(),
        },
    ));
    let rt = std::sync::Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime"),
    );

    let mut trials = Vec::new();
    for p in &sqls {
        let case = match parse_case(p, &golden) {
            Ok(c) => std::sync::Arc::new(c),
            Err(e) => {
                let name = p.display().to_string();
                trials.push(Trial::test(name, move || Err(e.into())));
                continue;
            }
        };
        let (c1, e1, r1) = (case.clone(), engine.clone(), rt.clone());
        trials.push(Trial::test(format!("library::{}", case.name), move || {
            library_trial(&c1, &e1, &r1)
        }));
        let c2 = case.clone();
        // While blessing, the library writes the expectations; the CLI checks them next run.
        let bless = std::env::var_os("CLEANROOM_BLESS").is_some();
        trials.push(
            Trial::test(format!("cli::{}", case.name), move || cli_trial(&c2))
                .with_ignored_flag(bless),
        );
    }
    for e in expecteds {
        if !e.with_extension("sql").exists() {
            let name = format!("orphan::{}", e.display());
            trials.push(Trial::test(name, move || {
                Err(format!("{} has no .sql beside it: remove it", e.display()).into())
            }));
        }
    }
    let minimum = 60;
    let count = sqls.len();
    trials.push(Trial::test("corpus_size", move || {
        if count >= minimum {
            Ok(())
        } else {
            Err(
                format!("the golden corpus has {count} cases; at least {minimum} are required")
                    .into(),
            )
        }
    }));
    libtest_mimic::run(&args, trials).exit();
}
