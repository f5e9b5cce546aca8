//! cleanroom-cli: the `cleanroom` binary.
//!
//! It owns argument parsing, output formats and exit codes, which are a contract:
//! 0 allowed (or a result), 3 blocked, 2 invalid input or policy, 1 internal error, 4 a
//! component failed, 5 a verification of the records failed.
//! It must not own policy logic, planning or checks: those live in the library crates.

mod attack;
mod audit;
mod audit_bench;
mod bench;
mod bench_wasm;
mod demo;
mod lineage;
mod load;
mod output;
mod product;
mod sections;
mod wasm;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};
use cleanroom_engine::{Engine, EngineConfig, GuestFunctions, JobRequest, SessionLimits};
use cleanroom_policy::Policies;
use cleanroom_wasm::{Host, Limits};

/// Exit codes.
pub const EXIT_OK: u8 = 0;
pub const EXIT_INTERNAL: u8 = 1;
pub const EXIT_INVALID: u8 = 2;
pub const EXIT_BLOCKED: u8 = 3;
/// A WASM job's component failed (fuel, deadline, a limit, a trap, a broken contract).
pub const EXIT_COMPONENT: u8 = 4;
/// A check of the records found a problem (`audit verify`, `product verify`), or a witness
/// refused a checkpoint.
pub const EXIT_CHECK_FAILED: u8 = 5;

#[derive(Parser, Debug)]
#[command(
    name = "cleanroom",
    version,
    about = "A privacy-preserving sandbox for the licensed operation of public data"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Debug, Clone)]
struct Home {
    /// Policy directory (catalog/, licences/, disclosure.toml).
    #[arg(long, default_value = "policies", global = true)]
    policies: PathBuf,
    /// Data zone: one Parquet file per dataset.
    #[arg(long, default_value = "sandbox/data", global = true)]
    data: PathBuf,
    /// Runtime state (echo filters, spill files).
    #[arg(long, default_value = "sandbox/state", global = true)]
    state: PathBuf,
}

#[derive(clap::Args, Debug, Clone)]
struct JobArgs {
    /// Licence under which the job runs, e.g. LIC-ELDER-2026.
    #[arg(long)]
    licence: String,
    /// Scenario of the licence, e.g. elderly-care-planning.
    #[arg(long)]
    scenario: String,
    /// Evaluate the licence window on this date (YYYY-MM-DD) instead of today: for reproducible
    /// tests only; a server always uses its own clock.
    #[arg(long)]
    today: Option<NaiveDate>,
    /// Offer the scalar functions of this WebAssembly component to the query (opaque to the
    /// guard: allowed inside aggregates and on `output` columns only).
    #[arg(long, value_name = "COMPONENT.wasm")]
    functions: Option<PathBuf>,
    /// Ask for differential privacy where the policy makes it optional (where it is required
    /// it always applies).
    #[arg(long)]
    dp: bool,
    /// The SQL query.
    sql: String,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate the policy directory.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
        #[command(flatten)]
        home: Home,
    },
    /// The static decision for a query, without touching data.
    Check {
        #[command(flatten)]
        home: Home,
        #[command(flatten)]
        job: JobArgs,
        /// Print the decision as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a query in the sandbox and print the checked result and the report.
    Query {
        #[command(flatten)]
        home: Home,
        #[command(flatten)]
        job: JobArgs,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// For benchmarks: run the query N times (1-1000) in this process on one warm engine,
        /// each run with fresh noise (a new in-memory noise key), and print one JSON line per
        /// run with its time in milliseconds (`--format json` only).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
        repeat: Option<u32>,
    },
    /// Generate the demo data if absent and walk through the demo scenarios.
    Demo {
        #[command(subcommand)]
        command: Option<DemoCommand>,
        #[command(flatten)]
        home: Home,
        /// Residents to generate when the data is absent.
        #[arg(long, default_value_t = cleanroom_demo::DEFAULT_ROWS)]
        rows: u64,
        /// After the walkthrough, keep the server running (until Ctrl-C) with a product waiting
        /// for review, and print the console's address and a token for each role.
        #[arg(long)]
        serve: bool,
    },
    /// Write and test WebAssembly components locally, on mock data.
    Wasm {
        #[command(subcommand)]
        command: WasmCommand,
        #[command(flatten)]
        home: Home,
    },
    /// Bearer tokens for the platform's API.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
        #[command(flatten)]
        home: Home,
    },
    /// The audit log: public key, verification, export, witness, checkpoint, purge.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
        #[command(flatten)]
        home: Home,
    },
    /// Lineage: OpenLineage events as NDJSON; trace a column or a product.
    Lineage {
        #[command(subcommand)]
        command: lineage::LineageCommand,
        #[command(flatten)]
        home: Home,
    },
    /// Run the attack battery against a running sandbox, as an operator: differencing,
    /// trackers, averaging, reconstruction, margins; scored against the data files.
    Attack(attack::AttackArgs),
    /// Statutory reports.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
        #[command(flatten)]
        home: Home,
    },
    /// Approved products.
    Product {
        #[command(subcommand)]
        command: ProductCommand,
    },
    /// Serve the platform's HTTP API (JSON under /v1) until Ctrl-C or SIGTERM.
    Serve {
        /// Configuration file (address, state, data, policies, limits); default
        /// `sandbox/cleanroom.toml` when it exists.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Listen here instead (`127.0.0.1:0` picks a free port; the address is printed).
        #[arg(long)]
        address: Option<std::net::SocketAddr>,
        /// State directory instead of the configuration's.
        #[arg(long)]
        state: Option<PathBuf>,
        /// Data zone instead of the configuration's.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Policy directory instead of the configuration's.
        #[arg(long)]
        policies: Option<PathBuf>,
        /// The attack battery on each product awaiting review, instead of the configuration's.
        #[arg(long, value_enum)]
        battery: Option<Battery>,
    },
    /// A bounded load over HTTP on loopback: many clients submit small jobs to a server in
    /// this process; prints submit latency, jobs per second, errors and lost jobs.
    Load {
        #[command(flatten)]
        home: Home,
        /// Residents in the data (generated in the data zone if absent).
        #[arg(long, default_value_t = cleanroom_demo::DEFAULT_ROWS)]
        rows: u64,
        /// Concurrent clients.
        #[arg(long, default_value_t = 200)]
        clients: usize,
        /// Jobs in all.
        #[arg(long, default_value_t = 2_000)]
        jobs: usize,
        /// Write the results into this Markdown file (its load section, at the end).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Mock datasets made from the catalog alone.
    Mock {
        #[command(subcommand)]
        command: MockCommand,
        #[command(flatten)]
        home: Home,
    },
    /// Time realistic analyses through the guard and through a bare DataFusion session.
    Bench {
        #[command(flatten)]
        home: Home,
        /// Residents in the benchmark data (generated under <state>/bench-<rows> if absent).
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Timed runs per query and side (the median is reported).
        #[arg(long, default_value_t = 7)]
        runs: usize,
        /// Write the results to this Markdown file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum ReportCommand {
    /// The yearly disclosure of licensed operation (art. 50), from the licences and the audit
    /// log alone: licences, operators, datasets, scenarios, registered products, job counts and
    /// refusals. Writes `annual-<year>.md` and `annual-<year>.json` and prints the Markdown.
    Annual {
        #[arg(long)]
        year: i32,
        /// Directory to write the two files into.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum ProductCommand {
    /// Check a product file (the Arrow IPC stream a download gives) and its passport offline:
    /// the key, the signature, the content's SHA-256, the signed checkpoint and the approval
    /// record's inclusion proof. Exits 5 when any check fails, naming it.
    Verify {
        /// The product file.
        product: PathBuf,
        /// Its passport (JSON).
        passport: PathBuf,
        /// The platform's public key, held apart (`cleanroom audit pubkey`).
        #[arg(long, value_name = "FILE")]
        pubkey: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum PolicyCommand {
    /// Load and validate every policy file; print every problem with file, line and field.
    Validate,
}

#[derive(Subcommand, Debug)]
enum DemoCommand {
    /// Write the four demo datasets as Parquet.
    Generate {
        #[arg(long, default_value_t = cleanroom_demo::DEFAULT_ROWS)]
        rows: u64,
        #[arg(long, default_value_t = cleanroom_demo::DEFAULT_SEED)]
        seed: u64,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum WasmCommand {
    /// Run a component through the whole pipeline on mock data and print the verdict, each
    /// rule, the fuel and memory used and the checked output.
    Test {
        /// The component (`.wasm`, built for wasm32-wasip2).
        component: PathBuf,
        /// The job manifest (TOML).
        #[arg(long)]
        job: PathBuf,
        /// Mock data directory (made from the catalog if absent).
        #[arg(long)]
        mock: Option<PathBuf>,
        /// Evaluate the licence window on this date instead of today.
        #[arg(long)]
        today: Option<NaiveDate>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Scaffold a guest crate that builds and passes `wasm test` as it is.
    New {
        /// Crate name (lowercase letters, digits and `-`).
        name: String,
        /// Directory to create (default: the name).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Issue a bearer token for a principal in a role; print it once (only its SHA-256 is kept
    /// in the store under --state).
    Issue {
        /// operator, reviewer, admin or auditor.
        #[arg(long)]
        role: String,
        /// The operator company or staff member, e.g. acme-analytics (lowercase).
        #[arg(long)]
        principal: String,
    },
}

#[derive(Subcommand, Debug)]
enum MockCommand {
    /// Write one Parquet file of mock data per catalog dataset.
    Generate {
        #[arg(long, default_value = wasm::DEFAULT_MOCK_DIR)]
        out: PathBuf,
        /// Rows per dataset (datasets with several rows per person get half as many more).
        #[arg(long, default_value_t = cleanroom_demo::DEFAULT_MOCK_ROWS)]
        rows: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Table,
    Json,
    Csv,
}

/// The attack battery a server runs on each product awaiting review.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Battery {
    /// 60 people, 20 rewrites.
    Fast,
    /// 200 people, 1,000 rewrites.
    Full,
    /// None: reviews do not wait.
    Off,
}

impl From<Battery> for cleanroom_platform::BatteryProfile {
    fn from(b: Battery) -> Self {
        match b {
            Battery::Fast => cleanroom_platform::BatteryProfile::Fast,
            Battery::Full => cleanroom_platform::BatteryProfile::Full,
            Battery::Off => cleanroom_platform::BatteryProfile::Off,
        }
    }
}

/// Runs the CLI and returns its exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let code = match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            let code = classify(&e);
            eprintln!("error: {e}");
            code
        }
    };
    ExitCode::from(code)
}

/// Errors that are the caller's fault exit with 2; everything else with 1.
fn classify(e: &anyhow::Error) -> u8 {
    if let Some(pe) = e.downcast_ref::<cleanroom_policy::Error>() {
        return match pe {
            cleanroom_policy::Error::Invalid(_) => EXIT_INVALID,
            cleanroom_policy::Error::Io { .. } => EXIT_INVALID,
        };
    }
    if let Some(ee) = e.downcast_ref::<cleanroom_engine::Error>() {
        return match ee {
            cleanroom_engine::Error::InvalidInput(_) | cleanroom_engine::Error::Data(_) => {
                EXIT_INVALID
            }
            cleanroom_engine::Error::ResourcesExhausted(_)
            | cleanroom_engine::Error::Internal(_) => EXIT_INTERNAL,
            cleanroom_engine::Error::Component(_) => EXIT_COMPONENT,
        };
    }
    if e.downcast_ref::<InvalidInput>().is_some() {
        return EXIT_INVALID;
    }
    EXIT_INTERNAL
}

/// An invalid-input error of the CLI itself.
#[derive(Debug)]
pub(crate) struct InvalidInput(pub String);

impl std::fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidInput {}

/// The platform over the state directory, as the bureau's command-line tools use it.
pub(crate) fn platform(home: &Home) -> anyhow::Result<cleanroom_platform::Platform> {
    let policies = Arc::new(load_policies(&home.policies)?);
    let store = Arc::new(cleanroom_store::SqliteStore::open(&home.state)?);
    let authz = Arc::new(cleanroom_platform::Authz::load(
        &home.policies.join("authz"),
    )?);
    Ok(cleanroom_platform::Platform::new(
        policies,
        authz,
        store,
        Arc::new(cleanroom_platform::SystemClock),
    ))
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub(crate) fn load_policies(dir: &Path) -> anyhow::Result<Policies> {
    Ok(Policies::load(dir)?)
}

pub(crate) fn engine(home: &Home) -> anyhow::Result<Engine> {
    let policies = load_policies(&home.policies)?;
    Ok(Engine::new(
        policies,
        EngineConfig {
            data_dir: home.data.clone(),
            state_dir: home.state.clone(),
            limits: SessionLimits::default(),
        },
    ))
}

pub(crate) fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

fn request(job: &JobArgs) -> JobRequest {
    JobRequest {
        licence: job.licence.clone(),
        scenario: job.scenario.clone(),
        sql: job.sql.clone(),
        today: job.today.unwrap_or_else(today),
        dp: job.dp,
    }
}

/// The component named by `--functions`, compiled, or `None`.
fn guest_functions(job: &JobArgs) -> anyhow::Result<Option<GuestFunctions>> {
    let Some(path) = &job.functions else {
        return Ok(None);
    };
    let bytes = std::fs::read(path).map_err(|e| {
        InvalidInput(format!(
            "cannot read the component `{}`: {}",
            path.display(),
            e.kind()
        ))
    })?;
    let host = Arc::new(Host::new(Limits::default())?);
    let module = host
        .load(&bytes)
        .map_err(|f| InvalidInput(format!("`{}`: {f}", path.display())))?;
    Ok(Some(GuestFunctions {
        host,
        module,
        seed: 0,
    }))
}

fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Policy {
            command: PolicyCommand::Validate,
            home,
        } => {
            let p = load_policies(&home.policies)?;
            println!(
                "policies in `{}` are valid: {} datasets, {} licences, version {}",
                home.policies.display(),
                p.catalog.len(),
                p.licences.len(),
                p.version
            );
            Ok(EXIT_OK)
        }
        Command::Check { home, job, json } => {
            let engine = engine(&home)?;
            let functions = guest_functions(&job)?;
            let report =
                runtime()?.block_on(engine.check_with(&request(&job), functions.as_ref()))?;
            if json {
                println!("{}", output::check_json(&report)?);
            } else {
                print!("{}", output::report_text(&report));
            }
            Ok(if report.is_allowed() {
                EXIT_OK
            } else {
                EXIT_BLOCKED
            })
        }
        Command::Wasm {
            command:
                WasmCommand::Test {
                    component,
                    job,
                    mock,
                    today,
                    format,
                },
            home,
        } => wasm::test(&home, &component, &job, mock, today, format),
        Command::Wasm {
            command: WasmCommand::New { name, dir },
            ..
        } => wasm::new(&name, dir),
        Command::Mock {
            command: MockCommand::Generate { out, rows, seed },
            home,
        } => wasm::mock_generate(&home, &out, rows, seed),
        Command::Query {
            home,
            job,
            format,
            repeat,
        } => {
            let engine = engine(&home)?;
            let functions = guest_functions(&job)?;
            let runtime = runtime()?;
            let report = match repeat {
                None => {
                    let report =
                        runtime.block_on(engine.run_with(&request(&job), functions.as_ref()))?;
                    output::print_query(&report, format)?;
                    report
                }
                Some(_) if format != Format::Json => {
                    return Err(InvalidInput(
                        "--repeat prints one JSON line per run: add --format json".into(),
                    )
                    .into());
                }
                Some(n) => {
                    let mut last = None;
                    for run in 1..=n {
                        engine.renew_noise_key()?;
                        let started = std::time::Instant::now();
                        let report = runtime
                            .block_on(engine.run_with(&request(&job), functions.as_ref()))?;
                        let elapsed = started.elapsed();
                        output::print_query_line(&report, run, elapsed)?;
                        last = Some(report);
                    }
                    last.ok_or_else(|| anyhow::anyhow!("--repeat needs at least one run"))?
                }
            };
            Ok(if report.is_allowed() {
                EXIT_OK
            } else {
                EXIT_BLOCKED
            })
        }
        Command::Demo {
            command: Some(DemoCommand::Generate { rows, seed, out }),
            home,
            ..
        } => {
            let out = out.unwrap_or(home.data);
            let summary = cleanroom_demo::generate(&cleanroom_demo::GenerateOptions {
                rows,
                seed,
                out_dir: out.clone(),
                progress: true,
            })?;
            println!(
                "wrote {} residents, {} social insurance rows, {} enterprises, {} real estate rows to `{}`",
                summary.residents,
                summary.social_insurance,
                summary.enterprises,
                summary.real_estate,
                out.display()
            );
            Ok(EXIT_OK)
        }
        Command::Demo {
            command: None,
            home,
            rows,
            serve,
        } => demo::tour(&home, rows, serve),
        Command::Load {
            home,
            rows,
            clients,
            jobs,
            out,
        } => load::run(&home, rows, clients, jobs, out.as_deref()),
        Command::Serve {
            config,
            address,
            state,
            data,
            policies,
            battery,
        } => {
            let default = PathBuf::from("sandbox/cleanroom.toml");
            let path = config.or_else(|| default.exists().then_some(default));
            let mut config = cleanroom_server::Config::load(path.as_deref())?;
            if let Some(a) = address {
                config.address = a;
            }
            if let Some(v) = state {
                config.state = v;
            }
            if let Some(v) = data {
                config.data = v;
            }
            if let Some(v) = policies {
                config.policies = v;
            }
            if let Some(b) = battery {
                config.battery = b.into();
            }
            if !config.data.is_dir() {
                return Err(InvalidInput(format!(
                    "no data zone at `{}`: run `cleanroom demo generate` first",
                    config.data.display()
                ))
                .into());
            }
            runtime()?.block_on(cleanroom_server::serve(
                &config,
                cleanroom_server::shutdown_signal(),
            ))?;
            Ok(EXIT_OK)
        }
        Command::Token {
            command: TokenCommand::Issue { role, principal },
            home,
        } => {
            let role = cleanroom_platform::Role::parse(&role).ok_or_else(|| {
                InvalidInput("--role must be one of operator, reviewer, admin, auditor".to_string())
            })?;
            let platform = platform(&home)?;
            let token = match platform.issue_token("cli", role, &principal) {
                Err(cleanroom_platform::Error::Invalid(m)) => return Err(InvalidInput(m).into()),
                other => other?,
            };
            eprintln!(
                "token for {principal} ({}); it is shown once and only its SHA-256 is kept:",
                role.as_str()
            );
            println!("{token}");
            Ok(EXIT_OK)
        }
        Command::Bench {
            home,
            rows,
            runs,
            out,
        } => bench::run(&home, rows, runs, out.as_deref()),
        Command::Audit { command, home } => audit::run(&home.state, command),
        Command::Lineage { command, home } => lineage::run(&home, command),
        Command::Attack(args) => attack::run(args),
        Command::Report {
            command: ReportCommand::Annual { year, out },
            home,
        } => {
            if !(2000..=9999).contains(&year) {
                return Err(InvalidInput("--year must be a year such as 2026".into()).into());
            }
            let report = platform(&home)?.annual_report(year)?;
            std::fs::create_dir_all(&out)?;
            let md = report.markdown();
            std::fs::write(out.join(format!("annual-{year}.md")), &md)?;
            std::fs::write(
                out.join(format!("annual-{year}.json")),
                serde_json::to_string_pretty(&report)? + "\n",
            )?;
            print!("{md}");
            eprintln!(
                "wrote `{}` and `{}`",
                out.join(format!("annual-{year}.md")).display(),
                out.join(format!("annual-{year}.json")).display()
            );
            Ok(EXIT_OK)
        }
        Command::Product {
            command:
                ProductCommand::Verify {
                    product,
                    passport,
                    pubkey,
                },
        } => product::verify(&product, &passport, pubkey.as_deref()),
    }
}
