//! `cleanroom lineage`: the OpenLineage run events as NDJSON, and traces: every job and product
//! that used a column, or everything a registered product came from.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use clap::Subcommand;
use cleanroom_store::Store;

use crate::{EXIT_OK, Home, InvalidInput};

#[derive(Subcommand, Debug)]
pub(crate) enum LineageCommand {
    /// Every job's run events, one JSON object per line, in the order they were recorded (for
    /// Marquez and other OpenLineage consumers).
    Export {
        #[arg(long, default_value = "ndjson")]
        format: String,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// `DATASET.COLUMN` (e.g. `residents.birth_date`): every job and product whose output
    /// depended on the column, and how; or a registration number (`CR-2026-000001`): the
    /// job, licence, source, reviews, datasets and columns the product came from.
    Trace {
        target: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(home: &Home, command: LineageCommand) -> anyhow::Result<u8> {
    let platform = crate::platform(home)?;
    match command {
        LineageCommand::Export { format, out } => {
            if format != "ndjson" {
                return Err(InvalidInput("--format must be ndjson".into()).into());
            }
            export(platform.store().as_ref(), out.as_deref())
        }
        LineageCommand::Trace { target, json } => {
            if let Some((dataset, column)) = target
                .split_once('.')
                .filter(|_| !target.starts_with("CR-"))
            {
                if platform
                    .policies()
                    .dataset(dataset)
                    .and_then(|d| d.column(column))
                    .is_none()
                {
                    return Err(
                        InvalidInput(format!("the catalog has no column `{target}`")).into(),
                    );
                }
                let uses = platform.trace_column(dataset, column)?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&uses)?);
                } else if uses.is_empty() {
                    println!("no completed job used {target}");
                } else {
                    println!(
                        "{:<10} {:<16} {:<16} {:<20} {:<26} product",
                        "job", "licence", "operator", "output", "how"
                    );
                    for u in &uses {
                        println!(
                            "{:<10} {:<16} {:<16} {:<20} {:<26} {}",
                            u.job,
                            u.licence,
                            u.operator,
                            u.output,
                            u.how,
                            match (&u.product, &u.registration) {
                                (Some(p), Some(r)) => format!("{p} ({r})"),
                                (Some(p), None) => p.clone(),
                                _ => "-".into(),
                            }
                        );
                    }
                }
            } else {
                let origin = match platform.trace_product(&target) {
                    Err(cleanroom_platform::Error::Invalid(m)) => {
                        return Err(InvalidInput(m).into());
                    }
                    other => other?,
                };
                if json {
                    println!("{}", serde_json::to_string_pretty(&origin)?);
                } else {
                    for key in [
                        "registration",
                        "product",
                        "name",
                        "status",
                        "job",
                        "kind",
                        "licence",
                        "scenario",
                        "operator",
                        "source_sha256",
                    ] {
                        println!("{key:<14} {}", origin[key].as_str().unwrap_or(""));
                    }
                    let list = |key: &str| -> String {
                        origin[key]
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(|v| v.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            })
                            .unwrap_or_default()
                    };
                    println!("{:<14} {}", "holds", list("holds"));
                    println!("{:<14} {}", "datasets", list("datasets"));
                    println!("{:<14} {}", "columns", list("columns"));
                    for r in origin["reviews"].as_array().into_iter().flatten() {
                        println!(
                            "{:<14} {} {} at {}",
                            "review",
                            r["reviewer"].as_str().unwrap_or(""),
                            if r["approve"] == true {
                                "approved"
                            } else {
                                "rejected"
                            },
                            r["at"].as_str().unwrap_or("")
                        );
                    }
                }
            }
            Ok(EXIT_OK)
        }
    }
}

fn export(store: &dyn Store, out: Option<&Path>) -> anyhow::Result<u8> {
    let mut sink: Box<dyn Write> = match out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create `{}`", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut after = 0;
    loop {
        let page = store.lineage_after(after, 1000)?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        for (_, event) in &page {
            writeln!(sink, "{event}")?;
        }
    }
    sink.flush()?;
    Ok(EXIT_OK)
}
