//! `cleanroom load`: a bounded load on loopback against a server in this process, over a copy
//! of the policies whose daily job limits are raised for the run (the real ones would refuse
//! the 201st job of the day) and a fresh state; per-token rate limits are lifted the same way.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use cleanroom_platform::Role;
use cleanroom_server::load::{LoadOptions, LoadReport, peak_rss_kib};

use crate::{EXIT_OK, Home, runtime};

/// Where the load section of BENCHMARKS.md begins.
pub(crate) const MARKER: &str = "<!-- load -->";

/// Copies `from` (policies) to `to`, raising every licence's `daily_job_limit` to `limit`.
fn policies_for_load(from: &Path, to: &Path, limit: usize) -> anyhow::Result<()> {
    for entry in walk(from)? {
        let rel = entry.strip_prefix(from)?;
        let target = to.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let is_licence =
            rel.starts_with("licences") && entry.extension().is_some_and(|e| e == "toml");
        if is_licence {
            let text = std::fs::read_to_string(&entry)?;
            let text: String = text
                .lines()
                .map(|l| {
                    if l.trim_start().starts_with("daily_job_limit") {
                        format!("daily_job_limit = {limit}")
                    } else {
                        l.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            std::fs::write(&target, text + "\n")?;
        } else {
            std::fs::copy(&entry, &target)?;
        }
    }
    Ok(())
}

fn walk(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            out.extend(walk(&p)?);
        } else {
            out.push(p);
        }
    }
    Ok(out)
}

pub(crate) fn run(
    home: &Home,
    rows: u64,
    clients: usize,
    jobs: usize,
    out: Option<&Path>,
) -> anyhow::Result<u8> {
    if clients == 0 || jobs == 0 || clients > 1_000 || jobs > 100_000 {
        return Err(
            crate::InvalidInput("--clients is 1 to 1000 and --jobs 1 to 100000".into()).into(),
        );
    }
    cleanroom_demo::ensure(&home.data, rows, cleanroom_demo::DEFAULT_SEED, true)?;
    std::fs::create_dir_all(&home.state)?;
    let work = home.state.join(format!("load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let policies = work.join("policies");
    policies_for_load(&home.policies, &policies, jobs + 100)?;
    let config = cleanroom_server::Config {
        address: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        state: work.join("state"),
        data: home.data.clone(),
        policies,
        limits: cleanroom_server::Limits {
            concurrency: clients * 2 + 16,
            rate_per_second: 1e9,
            rate_burst: u32::MAX,
            queue_capacity: jobs + 16,
            quiet: true,
            ..cleanroom_server::Limits::default()
        },
        log: cleanroom_server::LogConfig::default(),
        battery: cleanroom_platform::BatteryProfile::Off,
        secure_cookies: false,
    };
    let rt = runtime()?;
    let server = rt.block_on(cleanroom_server::Running::start(&config))?;
    let token = server
        .app
        .platform
        .issue_token("load", Role::Operator, "acme-analytics")?;
    let opts = LoadOptions {
        clients,
        jobs,
        licence: "LIC-ELDER-2026".into(),
        scenario: "elderly-care-planning".into(),
        sql: "SELECT district, count(*) AS residents FROM residents GROUP BY district".into(),
        wait: Duration::from_secs(600),
    };
    println!(
        "load: {clients} clients submit {jobs} SQL jobs to http://{} ({} workers)",
        server.addr, config.limits.workers
    );
    let addr = server.addr;
    let report = rt.block_on(async move {
        tokio::task::spawn_blocking(move || {
            cleanroom_server::load::run(addr, &token, &opts, &|done, all| {
                eprint!("\r  finished {done}/{all}   ");
            })
        })
        .await
    })?;
    eprintln!();
    rt.block_on(server.stop())?;
    let rss = peak_rss_kib();
    let text = section(&report, rss, rows);
    println!("{text}");
    let _ = std::fs::remove_dir_all(&work);
    if let Some(out) = out {
        crate::sections::write_section(out, MARKER, &text)?;
        println!("wrote `{}`", out.display());
    }
    if report.errors > 0 || report.lost > 0 {
        return Err(anyhow::anyhow!(
            "{} errors and {} lost jobs under load",
            report.errors,
            report.lost
        ));
    }
    Ok(EXIT_OK)
}

fn section(r: &LoadReport, rss: Option<u64>, rows: u64) -> String {
    let (cores, profile) = crate::bench::machine();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## HTTP load: submissions and jobs through the whole platform\n"
    );
    let _ = writeln!(
        s,
        "Produced by `cargo run {}-- load --clients {} --jobs {} --out BENCHMARKS.md` ({profile} build) on {cores} cores, over {rows} residents. \
         A server in the same process on 127.0.0.1 (fresh SQLite state, synchronous FULL), {} client threads each opening one \
         connection per request; every job is `SELECT district, count(*) … GROUP BY district` under LIC-ELDER-2026, \
         run by 2 workers through the guard. Submit latency is the time to the 202 (the job is queued and recorded).\n",
        if profile == "release" {
            "--release "
        } else {
            ""
        },
        r.clients,
        r.submitted + r.errors,
        r.clients
    );
    let _ = writeln!(
        s,
        "| clients | jobs | errors | lost | submit p50 | submit p99 | submit max | submits/s | jobs/s (to the last finish) | peak RSS |"
    );
    let _ = writeln!(s, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        s,
        "| {} | {} | {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.0} | {:.1} | {} |",
        r.clients,
        r.submitted,
        r.errors,
        r.lost,
        r.p50_ms,
        r.p99_ms,
        r.max_ms,
        r.submits_per_s,
        r.jobs_per_s,
        rss.map_or("n/a".to_owned(), |k| format!(
            "{:.0} MiB",
            k as f64 / 1024.0
        )),
    );
    s
}
