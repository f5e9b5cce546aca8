//! `cleanroom wasm test`, `cleanroom wasm new` and `cleanroom mock generate`: writing and
//! testing components locally, on mock data, with the platform's own checks.

use std::path::{Path, PathBuf};

use cleanroom_engine::{Engine, EngineConfig, Error, Manifest, SessionLimits, WasmJob, WasmReport};
use cleanroom_wasm::{Failure, Host, Limits};

use crate::{EXIT_BLOCKED, EXIT_OK, Format, Home, InvalidInput, load_policies, output, runtime};

/// Where `wasm test` looks for mock data, and makes it when absent.
pub(crate) const DEFAULT_MOCK_DIR: &str = "sandbox/mock";
const MOCK_SEED: u64 = 1;

/// The guest SDK this binary was built with, for scaffolded crates.
const SDK_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../sandbox/sdk");
/// The guest workspace's lock file: scaffolds start from the versions the tests use.
const GUEST_LOCK: &str = include_str!("../../../sandbox/Cargo.lock");

/// Writes mock datasets for every dataset of the catalog.
pub(crate) fn mock_generate(home: &Home, out: &Path, rows: u64, seed: u64) -> anyhow::Result<u8> {
    let policies = load_policies(&home.policies)?;
    let summary = cleanroom_demo::mock(&policies, out, rows, seed)?;
    for (id, n) in &summary {
        println!("wrote {n} mock rows of `{id}`");
    }
    println!(
        "mock data for {} datasets in `{}` (made from the catalog alone; no real value is in it)",
        summary.len(),
        out.display()
    );
    Ok(EXIT_OK)
}

/// Runs a component through the whole pipeline on mock data and prints everything a developer
/// needs: the verdict, each rule, the resources used and the checked output.
pub(crate) fn test(
    home: &Home,
    component: &Path,
    job: &Path,
    mock: Option<PathBuf>,
    today: Option<chrono::NaiveDate>,
    format: Format,
) -> anyhow::Result<u8> {
    let bytes = std::fs::read(component).map_err(|e| {
        InvalidInput(format!(
            "cannot read the component `{}`: {e}",
            component.display()
        ))
    })?;
    let text = std::fs::read_to_string(job)
        .map_err(|e| InvalidInput(format!("cannot read the job `{}`: {e}", job.display())))?;
    let manifest = Manifest::parse(&text)?;
    let mock = mock.unwrap_or_else(|| PathBuf::from(DEFAULT_MOCK_DIR));
    let policies = load_policies(&home.policies)?;
    let missing = policies
        .catalog
        .keys()
        .any(|id| !mock.join(format!("{id}.parquet")).is_file());
    if missing {
        eprintln!(
            "making mock data in `{}` from the catalog ...",
            mock.display()
        );
        cleanroom_demo::mock(
            &policies,
            &mock,
            cleanroom_demo::DEFAULT_MOCK_ROWS,
            MOCK_SEED,
        )?;
    }
    let engine = Engine::new(
        policies,
        EngineConfig {
            data_dir: mock,
            state_dir: home.state.join("mock"),
            limits: SessionLimits::default(),
        },
    );
    let host = Host::new(Limits::default())?;
    let job = WasmJob {
        manifest,
        component: bytes,
        today: today.unwrap_or_else(crate::today),
        seed: MOCK_SEED,
    };
    match runtime()?.block_on(engine.run_wasm(&host, &job)) {
        Ok(report) => {
            print_report(&report, format)?;
            Ok(if report.report.is_allowed() {
                EXIT_OK
            } else {
                EXIT_BLOCKED
            })
        }
        Err(Error::Component(f)) => {
            eprintln!("component failed ({}): {}", f.failure.class(), f.failure);
            // Mock data only: the guest's own words may be shown.
            if let Failure::Guest {
                message: Some(m), ..
            } = &f.failure
            {
                eprintln!("  the component said: {m}");
            }
            eprintln!(
                "  fuel used: {}; peak memory: {} bytes; calls: {}",
                f.usage.fuel, f.usage.peak_memory_bytes, f.usage.calls
            );
            Ok(crate::EXIT_COMPONENT)
        }
        Err(e) => Err(e.into()),
    }
}

fn print_report(r: &WasmReport, format: Format) -> anyhow::Result<()> {
    let usage = format!(
        "component sha256:{}\ninput rows: {}; contributions: {} ({} clamped to the manifest's bounds)\nfuel used: {}; peak memory: {:.1} MiB; calls: {}",
        r.component,
        r.input_rows,
        r.contributions,
        r.clamped,
        r.fuel,
        r.peak_memory_bytes as f64 / f64::from(1 << 20),
        r.calls
    );
    // Mock data: the checked output is shown whatever the licence says about review.
    let mut shown = r.report.clone();
    shown.interactive = true;
    match format {
        Format::Json => {
            let mut v = serde_json::to_value(r)?;
            v["rows"] = serde_json::to_value(cleanroom_engine::rows_json(&r.report.batches)?)?;
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        Format::Csv => {
            output::print_query(&shown, format)?;
            eprintln!("{usage}");
        }
        Format::Table => {
            println!("{usage}");
            output::print_query(&shown, format)?;
        }
    }
    Ok(())
}

/// Scaffolds a guest crate that builds and passes `wasm test` as it is.
pub(crate) fn new(name: &str, dir: Option<PathBuf>) -> anyhow::Result<u8> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.len() <= 64;
    if !valid {
        return Err(InvalidInput(format!(
            "`{name}` is not a crate name: use lowercase letters, digits and `-`, starting with a letter"
        ))
        .into());
    }
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    if dir.exists() {
        return Err(InvalidInput(format!("`{}` already exists", dir.display())).into());
    }
    let sdk = std::fs::canonicalize(SDK_DIR).map_err(|_| {
        InvalidInput(format!(
            "the guest SDK is not at `{SDK_DIR}` (this binary was built from another checkout)"
        ))
    })?;
    std::fs::create_dir_all(dir.join("src"))?;
    let files = [
        ("Cargo.toml", cargo_toml(name, &sdk)),
        ("Cargo.lock", GUEST_LOCK.to_string()),
        ("src/lib.rs", LIB_RS.replace("{name}", name)),
        ("job.toml", JOB_TOML.to_string()),
        (".gitignore", "/target\n".to_string()),
    ];
    for (file, text) in files {
        std::fs::write(dir.join(file), text)?;
    }
    let wasm = format!(
        "target/wasm32-wasip2/release/{}.wasm",
        name.replace('-', "_")
    );
    println!("created `{}`. Next:", dir.display());
    println!("  cd {}", dir.display());
    println!("  cargo build --release --target wasm32-wasip2");
    println!("  cleanroom wasm test {wasm} --job job.toml --policies <cleanroom>/policies");
    Ok(EXIT_OK)
}

fn cargo_toml(name: &str, sdk: &Path) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

# A WebAssembly component: build with `cargo build --release --target wasm32-wasip2`.
[lib]
crate-type = ["cdylib"]

[dependencies]
cleanroom-guest = {{ path = "{}" }}

# The same release profile as the SDK's own components.
[profile.release]
opt-level = 3
debug = false
strip = true
codegen-units = 16

# A workspace of its own.
[workspace]
"#,
        sdk.display().to_string().replace('\\', "/")
    )
}

const LIB_RS: &str = r#"//! {name}: the share of residents aged 65 or more, per district.
//!
//! `contribute` sees the columns of the job's input SQL (`district`, `birth_date`), never an
//! identifier, and returns one contribution per input row: the row it comes from, the key
//! (`district`) and the value (`aged_65_plus`, 1 or 0). The sandbox aggregates them per
//! district itself, and releases only districts with enough distinct residents.

use cleanroom_guest::{Analytics, Contributions, Error, Input, RecordBatch};

/// 2026-01-01 in days since 1970-01-01: ages are counted at this date.
const REFERENCE_DAY: i32 = 20_454;

struct Component;

impl Analytics for Component {
    fn contribute(batch: RecordBatch) -> Result<RecordBatch, Error> {
        let input = Input::new(&batch);
        let district = input.strings("district")?;
        let birth = input.dates("birth_date")?;
        let mut out = Contributions::new(&["district"], &["aged_65_plus"]);
        for row in 0..input.rows() {
            if let (Some(d), Some(b)) = (district.get(row), birth.get(row)) {
                let age = f64::from(REFERENCE_DAY - b) / 365.25;
                out.push(row, &[d], &[if age >= 65.0 { 1.0 } else { 0.0 }]);
            }
        }
        out.finish()
    }
}

cleanroom_guest::export!(Component);
"#;

const JOB_TOML: &str = r#"# The job: which licence and scenario, what the component reads, what it returns.
[job]
licence = "LIC-ELDER-2026"
scenario = "elderly-care-planning"

[input]
# One SELECT; only columns the catalog allows to be aggregated, grouped by or output.
sql = "SELECT district, birth_date FROM residents"
# Each input row belongs to one resident: the sandbox counts distinct residents per key.
unit = "residents"

[output]
keys = ["district"]

[[output.values]]
name = "aged_65_plus"
min = 0.0
max = 1.0
aggregates = ["avg"]
"#;
