//! `cleanroom audit`: the platform's public key, offline verification of a state directory, the
//! NDJSON export, a witness that accepts only consistent checkpoints, a checkpoint on demand,
//! and the retention-bound purge.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use clap::Subcommand;
use cleanroom_server::client::{Client, Response};
use cleanroom_store::log::{PUBKEY_FILE, read_verifier, record_bytes};
use cleanroom_store::verify::verify_state;
use cleanroom_store::{Audit, SqliteStore, Store};
use cleanroom_tlog::{Verifier, hashes_from_b64, verify_consistency};

use crate::{EXIT_CHECK_FAILED, EXIT_OK, InvalidInput};

#[derive(Subcommand, Debug)]
pub(crate) enum AuditCommand {
    /// Print the platform's public key (`name+hash+key`, the signed-note verifier format);
    /// the key pair is made on first start.
    Pubkey,
    /// Recompute the tree from the records, check every checkpoint's signature, root and
    /// consistency with the one before, and name the first bad record. Exits 5 on a problem.
    Verify {
        /// The public key to check against, held apart from the state (default: the state's
        /// own platform.pub, which proves only that the state agrees with itself).
        #[arg(long, value_name = "FILE")]
        pubkey: Option<PathBuf>,
        /// A checkpoint a witness holds: the log must extend it.
        #[arg(long, value_name = "FILE")]
        witness: Option<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write every record as one line of JSON: the exact bytes of its leaf, so that anyone can
    /// recompute the tree. Purged records appear as their sequence number and leaf hash.
    Export {
        #[arg(long, default_value = "ndjson")]
        format: String,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Sign a checkpoint of the whole log now and print its note.
    Checkpoint,
    /// Accept a new checkpoint only if its signature holds and the log proves it extends the
    /// checkpoint this witness holds; then hold the new one. Exits 5 when it refuses. The
    /// checkpoint and the proof come from `--checkpoint` and the state directory, or from a
    /// running platform (`--addr` with an auditor's `--token`).
    Witness {
        /// The new signed checkpoint (a note, as `audit checkpoint` prints it); with `--addr`,
        /// the platform's latest by default.
        #[arg(long, value_name = "FILE", required_unless_present = "addr")]
        checkpoint: Option<PathBuf>,
        /// A running platform, e.g. 127.0.0.1:8080: the checkpoint and the consistency proof
        /// are fetched from its API (`/v1/audit/checkpoint`, `/v1/audit/proof/consistency`).
        #[arg(long, requires = "token")]
        addr: Option<SocketAddr>,
        /// An auditor's bearer token for `--addr`.
        #[arg(long, requires = "addr")]
        token: Option<String>,
        /// Where this witness keeps the checkpoint it holds.
        #[arg(long, value_name = "FILE", default_value = "witness.checkpoint")]
        held: PathBuf,
        /// The platform's public key, held apart from the state.
        #[arg(long, value_name = "FILE")]
        pubkey: PathBuf,
    },
    /// Time durable appends (one per transaction and grouped) and inclusion and consistency
    /// proofs at `--records`, on a scratch store beside the state; write the audit section of
    /// BENCHMARKS.md with `--out`.
    Bench {
        #[arg(long, default_value_t = 5_000)]
        appends: usize,
        #[arg(long, default_value_t = 1_000_000)]
        records: usize,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Purge the contents of records written before a date at least three years ago; their
    /// leaf hashes stay, so the log still verifies, and the purge is itself recorded.
    Purge {
        /// Purge records written before this day (YYYY-MM-DD, UTC).
        #[arg(long)]
        before: NaiveDate,
    },
}

pub(crate) fn run(state: &Path, command: AuditCommand) -> anyhow::Result<u8> {
    match command {
        AuditCommand::Pubkey => {
            let store = SqliteStore::open(state)?;
            println!("{}", store.verifier()?.encode());
            Ok(EXIT_OK)
        }
        AuditCommand::Verify {
            pubkey,
            witness,
            json,
        } => verify(state, pubkey.as_deref(), witness.as_deref(), json),
        AuditCommand::Export { format, out } => {
            if format != "ndjson" {
                return Err(InvalidInput("--format must be ndjson".into()).into());
            }
            export(state, out.as_deref())
        }
        AuditCommand::Checkpoint => {
            let store = SqliteStore::open(state)?;
            match store.checkpoint()? {
                Some(c) => print!("{}", c.note),
                None => eprintln!("the log is empty: nothing to sign"),
            }
            Ok(EXIT_OK)
        }
        AuditCommand::Witness {
            checkpoint,
            addr,
            token,
            held,
            pubkey,
        } => {
            let log = match (addr, token) {
                (Some(addr), Some(token)) => {
                    LogSource::Platform(Client::new(addr).with_token(&token))
                }
                _ => LogSource::State(state),
            };
            witness(&log, checkpoint.as_deref(), &held, &pubkey)
        }
        AuditCommand::Bench {
            appends,
            records,
            out,
        } => crate::audit_bench::run(state, appends, records, out.as_deref()),
        AuditCommand::Purge { before } => {
            let store = SqliteStore::open(state)?;
            let now = Utc::now();
            let before = before.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
            let audit = Audit::new(now, "cli", "admin", "audit.purge", "audit", "purged");
            match store.purge_audit(before, &audit) {
                Ok(n) => {
                    store.checkpoint()?;
                    println!("purged the contents of {n} records; their leaf hashes stay");
                    Ok(EXIT_OK)
                }
                Err(cleanroom_store::Error::State(m)) => Err(InvalidInput(m).into()),
                Err(e) => Err(e.into()),
            }
        }
    }
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))
}

fn verify(
    state: &Path,
    pubkey: Option<&Path>,
    witness: Option<&Path>,
    json: bool,
) -> anyhow::Result<u8> {
    let (key_path, apart) = match pubkey {
        Some(p) => (p.to_path_buf(), true),
        None => (state.join(PUBKEY_FILE), false),
    };
    let verifier = read_verifier(&key_path).map_err(|e| InvalidInput(e.to_string()))?;
    let witness = witness.map(read_text).transpose()?;
    let v = verify_state(state, &verifier, witness.as_deref())
        .map_err(|e| InvalidInput(e.to_string()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "audit log of {} against {} ({})",
            state.display(),
            verifier.encode(),
            if apart {
                "a key held apart"
            } else {
                "the state's own platform.pub: pass --pubkey for an independent check"
            }
        );
        println!(
            "records: {} ({} purged); checkpoints: {}; not yet signed: {}",
            v.records, v.purged, v.checkpoints, v.uncovered
        );
        if let Some((size, root)) = &v.latest {
            println!("latest good checkpoint: {size} records, root {root}");
        }
        if let Some(size) = v.witness {
            println!("witness checkpoint: {size} records");
        }
        match v.problems.first() {
            None => println!(
                "OK: every record matches its leaf, every checkpoint is signed by this key and \
                 matches the tree, and each extends the one before"
            ),
            Some(first) => {
                println!("FAILED: {first}");
                for p in &v.problems[1..] {
                    println!("  also: {p}");
                }
            }
        }
    }
    Ok(if v.ok() { EXIT_OK } else { EXIT_CHECK_FAILED })
}

fn export(state: &Path, out: Option<&Path>) -> anyhow::Result<u8> {
    let store = SqliteStore::open(state)?;
    let mut sink: Box<dyn Write> = match out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create `{}`", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let size = store.log_size()?;
    let mut next: i64 = 1;
    let mut after = 0;
    loop {
        let page = store.audit_after(after, 1000)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in &page {
            // Purged records before the first kept one: their hashes only.
            while next < r.seq {
                let p = store.inclusion_proof(next, size)?;
                writeln!(
                    sink,
                    "{}",
                    serde_json::json!({ "seq": next, "purged": true, "leaf_hash": p.leaf_hash })
                )?;
                next += 1;
            }
            sink.write_all(&record_bytes(r.seq, &r.audit))?;
            sink.write_all(b"\n")?;
            next = r.seq + 1;
        }
    }
    sink.flush()?;
    Ok(EXIT_OK)
}

/// Where a witness reads the log: a state directory, or a running platform's API.
enum LogSource<'a> {
    State(&'a Path),
    Platform(Client),
}

impl LogSource<'_> {
    /// A successful response of the platform, or the reason it gave.
    fn get(client: &Client, path: &str) -> anyhow::Result<Response> {
        let r = client
            .get(path)
            .with_context(|| format!("cannot reach the platform at {}", client.addr))?;
        if r.status != 200 {
            let why = r.json()["error"]["message"]
                .as_str()
                .map_or_else(|| r.text().chars().take(200).collect(), str::to_owned);
            anyhow::bail!("GET {path}: HTTP {}: {why}", r.status);
        }
        Ok(r)
    }

    /// The platform's latest checkpoint.
    fn checkpoint(&self) -> anyhow::Result<String> {
        match self {
            LogSource::State(_) => {
                Err(InvalidInput("give the new checkpoint with --checkpoint".into()).into())
            }
            LogSource::Platform(c) => Ok(Self::get(c, "/v1/audit/checkpoint")?.text()),
        }
    }

    /// The proof that the tree of `from` records is a prefix of the tree of `to` records.
    fn consistency(&self, from: u64, to: u64) -> anyhow::Result<Result<Vec<String>, String>> {
        match self {
            LogSource::State(state) => {
                let store = SqliteStore::open(state)?;
                Ok(store
                    .consistency_proof(from, to)
                    .map(|p| p.proof)
                    .map_err(|e| e.to_string()))
            }
            LogSource::Platform(c) => {
                let r = c
                    .get(&format!("/v1/audit/proof/consistency?from={from}&to={to}"))
                    .with_context(|| format!("cannot reach the platform at {}", c.addr))?;
                let body = r.json();
                if r.status != 200 {
                    let why = body["error"]["message"]
                        .as_str()
                        .unwrap_or("no reason given");
                    return Ok(Err(format!("HTTP {}: {why}", r.status)));
                }
                let proof = body["proof"]
                    .as_array()
                    .ok_or_else(|| {
                        anyhow::anyhow!("the platform's consistency proof has no `proof`")
                    })?
                    .iter()
                    .map(|h| h.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        anyhow::anyhow!("the platform's consistency proof is not a list of hashes")
                    })?;
                Ok(Ok(proof))
            }
        }
    }
}

fn witness(
    log: &LogSource<'_>,
    checkpoint: Option<&Path>,
    held: &Path,
    pubkey: &Path,
) -> anyhow::Result<u8> {
    let verifier: Verifier = read_verifier(pubkey).map_err(|e| InvalidInput(e.to_string()))?;
    let note = match checkpoint {
        Some(path) => read_text(path)?,
        None => log.checkpoint()?,
    };
    let refuse = |why: String| -> anyhow::Result<u8> {
        println!("REFUSED: {why}");
        Ok(EXIT_CHECK_FAILED)
    };
    let new = match verifier.open_checkpoint(&note) {
        Ok(c) => c,
        Err(e) => return refuse(format!("the new checkpoint: {e}")),
    };
    let old = match std::fs::read_to_string(held) {
        Ok(text) => Some(
            verifier
                .open_checkpoint(&text)
                .map_err(|e| InvalidInput(format!("the held checkpoint: {e}")))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", held.display())),
    };
    if let Some(old) = &old {
        if new.size < old.size {
            return refuse(format!(
                "rolled back: this witness holds a checkpoint of {} records, the new one has {}",
                old.size, new.size
            ));
        }
        if new.size == old.size {
            if new.root != old.root {
                return refuse(format!(
                    "forked: two different signed trees of {} records",
                    new.size
                ));
            }
        } else {
            let proof = match log.consistency(old.size, new.size)? {
                Ok(p) => p,
                Err(e) => return refuse(format!("the log cannot prove consistency: {e}")),
            };
            let hashes = hashes_from_b64(&proof)?;
            if let Err(e) = verify_consistency(old.size, new.size, &old.root, &new.root, &hashes) {
                return refuse(format!(
                    "forked: the checkpoint of {} records does not extend the held one of {}: {e}",
                    new.size, old.size
                ));
            }
        }
    }
    cleanroom_store::write_atomic(
        held.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
        &held
            .file_name()
            .ok_or_else(|| InvalidInput("--held must name a file".into()))?
            .to_string_lossy(),
        note.as_bytes(),
    )?;
    match old {
        Some(old) => println!(
            "ACCEPTED: {} records, consistent with the {} held before",
            new.size, old.size
        ),
        None => println!(
            "ACCEPTED: {} records (the first checkpoint this witness holds)",
            new.size
        ),
    }
    Ok(EXIT_OK)
}
