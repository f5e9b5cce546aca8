//! `cleanroom attack`: the attack battery (crate `cleanroom-attack`) against a running sandbox,
//! as an operator with a token: every query is a job under the licence, so the licence gate,
//! the daily limit, suspension after repeated refusals and the ε ledger all stand in the way,
//! as they would for a real attacker. The truth the attacks are scored against is read from the
//! data files the server serves (`--data`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::{Args, ValueEnum};
use cleanroom_attack::{Answer, Oracle, Profile, Truth};
use cleanroom_server::client::Client;
use serde_json::json;

use crate::EXIT_OK;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Which {
    /// 60 people, 20 rewrites: a minute or two.
    Fast,
    /// 200 people, 1,000 rewrites.
    Full,
}

#[derive(Args, Debug)]
pub(crate) struct AttackArgs {
    /// The sandbox's address, e.g. 127.0.0.1:8080 (loopback in tests).
    #[arg(long)]
    addr: SocketAddr,
    /// An operator's bearer token.
    #[arg(long)]
    token: String,
    /// The licence the queries run under; it must cover `residents`.
    #[arg(long)]
    licence: String,
    #[arg(long)]
    scenario: String,
    /// The data the server serves, to score the attacks against the truth.
    #[arg(long, default_value = "sandbox/data")]
    data: PathBuf,
    #[arg(long, value_enum, default_value_t = Which::Fast)]
    profile: Which,
    /// Print the outcomes as JSON.
    #[arg(long)]
    json: bool,
}

/// Queries as jobs over HTTP; a job that is not released is a refusal.
struct HttpOracle {
    client: Client,
    licence: String,
    scenario: String,
}

const FINISHED: &[&str] = &["succeeded", "blocked", "failed", "cancelled", "interrupted"];

impl Oracle for HttpOracle {
    fn ask(&mut self, sql: &str) -> Result<Answer> {
        let r = self.client.post_json(
            "/v1/jobs",
            &json!({ "licence": self.licence, "scenario": self.scenario, "sql": sql }),
        )?;
        let body = r.json();
        if r.status != 202 {
            let code = body["error"]["code"].as_str().unwrap_or("refused");
            return Ok(Answer::Refused(format!("{} {code}", r.status)));
        }
        let id = body["id"].as_str().context("no job id")?.to_owned();
        let started = Instant::now();
        let job = loop {
            let j = self.client.get(&format!("/v1/jobs/{id}"))?.json();
            if j["status"].as_str().is_some_and(|s| FINISHED.contains(&s)) {
                break j;
            }
            if started.elapsed() > Duration::from_secs(120) {
                bail!("job {id} did not finish within two minutes");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        if job["status"] != "succeeded" {
            let rules: Vec<&str> = job["report"]["violations"]
                .as_array()
                .map(|v| v.iter().filter_map(|x| x["rule"].as_str()).collect())
                .unwrap_or_default();
            return Ok(Answer::Refused(rules.join(",")));
        }
        let csv = self
            .client
            .get_as(&format!("/v1/jobs/{id}/result"), "text/csv")?;
        if csv.status != 200 {
            return Ok(Answer::Refused(format!("result {}", csv.status)));
        }
        let text = csv.text();
        Ok(Answer::Rows(
            text.lines()
                .skip(1)
                .map(|l| l.split(',').map(str::to_owned).collect())
                .collect(),
        ))
    }
}

pub(crate) fn run(args: AttackArgs) -> Result<u8> {
    let truth = Truth::open(&args.data)
        .with_context(|| format!("cannot read the data in {}", args.data.display()))?;
    let profile = match args.profile {
        Which::Fast => Profile::FAST,
        Which::Full => Profile::FULL,
    };
    eprintln!(
        "attacking {} as an operator: {} targets ({:?} profile); each query is a job",
        args.addr, profile.targets, args.profile
    );
    // One server: every attack spends the same licence's budget, in turn.
    let client = Client::new(args.addr).with_token(&args.token);
    let mut make = || -> Result<Box<dyn Oracle>> {
        Ok(Box::new(HttpOracle {
            client: client.clone(),
            licence: args.licence.clone(),
            scenario: args.scenario.clone(),
        }))
    };
    let outcomes = cleanroom_attack::battery(&mut make, &truth, profile)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcomes)?);
    } else {
        print!("{}", cleanroom_attack::table(&outcomes));
    }
    Ok(EXIT_OK)
}
