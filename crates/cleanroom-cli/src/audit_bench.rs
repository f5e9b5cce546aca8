//! `cleanroom audit bench`: how fast the audit log appends while durable, and how fast it
//! proves, on a real store in the state directory's file system. Results go to the audit
//! section of BENCHMARKS.md.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use cleanroom_store::{Audit, LogOptions, SqliteStore, Store};
use cleanroom_tlog::{hash_from_b64, hashes_from_b64, verify_consistency, verify_inclusion};

use crate::bench::{median, ms};
use crate::{EXIT_OK, InvalidInput};

/// Where the audit section of BENCHMARKS.md begins.
const MARKER: &str = "<!-- audit -->";
const BATCH: usize = 64;
/// Appenders at once in the concurrent run.
const WRITERS: usize = 8;
const BULK: usize = 2_000;
const PROOFS: usize = 1_000;

fn record(i: usize) -> Audit {
    Audit::new(
        Utc::now(),
        "acme-analytics",
        "operator",
        "job.submit",
        &format!("job-{i}"),
        "queued",
    )
    .licence("LIC-ELDER-2026", "elderly-care-planning")
    .hash(&format!("{i:064x}"))
}

/// A small deterministic generator for the indexes proved (no dependency for it).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) % n.max(1)
    }
}

fn p99(v: &mut [Duration]) -> Duration {
    v.sort();
    v.get(v.len() * 99 / 100).copied().unwrap_or_default()
}

struct Rate {
    records: usize,
    elapsed: Duration,
}

impl Rate {
    fn per_second(&self) -> f64 {
        self.records as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

fn appends(store: &SqliteStore, n: usize, batch: usize, from: usize) -> anyhow::Result<Rate> {
    let start = Instant::now();
    let mut i = from;
    while i < from + n {
        let end = (i + batch).min(from + n);
        if batch == 1 {
            store.append_audit(&record(i))?;
        } else {
            let records: Vec<Audit> = (i..end).map(record).collect();
            store.append_audits(&records)?;
        }
        i = end;
    }
    Ok(Rate {
        records: n,
        elapsed: start.elapsed(),
    })
}

pub(crate) fn run(
    state: &Path,
    appended: usize,
    size: usize,
    out: Option<&Path>,
) -> anyhow::Result<u8> {
    if appended < 100 || size < appended {
        return Err(
            InvalidInput("--appends must be at least 100 and at most --records".into()).into(),
        );
    }
    let work = state.join(format!("audit-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let result = measure(&work, appended, size);
    let _ = std::fs::remove_dir_all(&work);
    let text = result?;
    print!("{text}");
    if let Some(out) = out {
        crate::sections::write_section(out, MARKER, &text)?;
        println!("wrote `{}`", out.display());
    }
    Ok(EXIT_OK)
}

fn measure(work: &Path, appended: usize, size: usize) -> anyhow::Result<String> {
    let options = LogOptions::default();
    let store = SqliteStore::open_with(work, &options)?;
    // Durable appends at the default checkpoint interval: one record per transaction (as a
    // state change writes it), and records committed in groups.
    let single = appends(&store, appended, 1, 0)?;
    let grouped = appends(&store, appended, BATCH, appended)?;
    // Many callers, each appending one record at a time and returning once it is durable: the
    // store's group commit shares each fsync among the records waiting for it.
    let concurrent = {
        let start = Instant::now();
        let per = appended / WRITERS;
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let handles: Vec<_> = (0..WRITERS)
                .map(|w| {
                    let store = &store;
                    scope.spawn(move || -> anyhow::Result<()> {
                        for i in 0..per {
                            store.append_audit(&record(2 * appended + w * per + i))?;
                        }
                        Ok(())
                    })
                })
                .collect();
            for h in handles {
                h.join()
                    .map_err(|_| anyhow::anyhow!("an appender panicked"))??;
            }
            Ok(())
        })?;
        Rate {
            records: per * WRITERS,
            elapsed: start.elapsed(),
        }
    };
    eprintln!(
        "appends: {:.0}/s one per transaction, {:.0}/s from {WRITERS} callers, {:.0}/s in groups of {BATCH}",
        single.per_second(),
        concurrent.per_second(),
        grouped.per_second()
    );
    // Fill the log up to `size` records, then prove.
    let mut filled = 2 * appended + concurrent.records;
    let fill_start = Instant::now();
    while filled < size {
        let n = BULK.min(size - filled);
        let records: Vec<Audit> = (filled..filled + n).map(record).collect();
        store.append_audits(&records)?;
        filled += n;
        if filled % 100_000 < BULK {
            eprintln!("filled {filled} of {size} records");
        }
    }
    let bulk = Rate {
        records: filled - 2 * appended - concurrent.records,
        elapsed: fill_start.elapsed(),
    };
    let checkpoint = store
        .checkpoint()?
        .ok_or_else(|| anyhow::anyhow!("nothing signed"))?;
    let n = checkpoint.size;
    let verifier = store.verifier()?;
    let signed = verifier.open_checkpoint(&checkpoint.note)?;
    let mut rng = Lcg(0x5eed);
    let (mut inc_make, mut inc_check) = (Vec::new(), Vec::new());
    for _ in 0..PROOFS {
        let seq = rng.below(n) as i64 + 1;
        let t = Instant::now();
        let p = store.inclusion_proof(seq, n)?;
        inc_make.push(t.elapsed());
        let hashes = hashes_from_b64(&p.proof)?;
        let leaf = hash_from_b64(&p.leaf_hash)?;
        let t = Instant::now();
        verify_inclusion(p.index, n, &leaf, &hashes, &signed.root)?;
        inc_check.push(t.elapsed());
    }
    let (mut con_make, mut con_check) = (Vec::new(), Vec::new());
    for _ in 0..PROOFS {
        let from = rng.below(n - 1) + 1;
        let t = Instant::now();
        let p = store.consistency_proof(from, n)?;
        con_make.push(t.elapsed());
        let hashes = hashes_from_b64(&p.proof)?;
        let root1 = hash_from_b64(&p.root1)?;
        let t = Instant::now();
        verify_consistency(from, n, &root1, &signed.root, &hashes)?;
        con_check.push(t.elapsed());
    }
    let reopen = {
        drop(store);
        let t = Instant::now();
        let store = SqliteStore::open_with(work, &options)?;
        let e = t.elapsed();
        drop(store);
        e
    };

    let (cores, profile) = crate::bench::machine();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mut s = String::new();
    let _ = writeln!(s, "## Audit log: durable appends and proofs\n");
    let _ = writeln!(
        s,
        "Produced by `cargo run --release -- audit bench --appends {appended} --records {size} --out BENCHMARKS.md` ({profile} build) on {cores} cores, {}. \
         A fresh SQLite store under the state directory (WAL, synchronous FULL: every commit is fsynced), checkpoints signed every {} records (the default). \
         Each record is hashed into its leaf, written with it, added to the in-memory tree after the commit; proofs are served by the store as the API serves them. \
         Targets: at least 5,000 records/s while durable; proofs at 1,000,000 records under 1 ms.\n",
        Utc::now().format("%Y-%m-%d"),
        options.every
    );
    let _ = writeln!(s, "| appends | records | records/s |\n|---|---:|---:|");
    let _ = writeln!(
        s,
        "| one per transaction (one fsync each) | {} | {:.0} |",
        single.records,
        single.per_second()
    );
    let _ = writeln!(
        s,
        "| {WRITERS} callers at once, one record per call (group commit) | {} | {:.0} |",
        concurrent.records,
        concurrent.per_second()
    );
    let _ = writeln!(
        s,
        "| in groups of {BATCH} per transaction | {} | {:.0} |",
        grouped.records,
        grouped.per_second()
    );
    let _ = writeln!(
        s,
        "| in groups of {BULK} (filling the log) | {} | {:.0} |\n",
        bulk.records,
        bulk.per_second()
    );
    let _ = writeln!(
        s,
        "Grouped/single throughput ratio: {:.1}x. A state change and its record share one transaction, so a single writer is bound by one fsync per change; the log's own work (leaf hash, tree, a signature every {} records) is the difference between these rows and a bare commit.\n",
        grouped.per_second() / single.per_second(),
        options.every
    );
    let _ = writeln!(
        s,
        "| at {n} records, {PROOFS} random proofs | make median (µs) | make p99 (µs) | verify median (µs) | proof length |\n|---|---:|---:|---:|---:|"
    );
    let inc_len = store_len_hint(n, true);
    let con_len = store_len_hint(n, false);
    let _ = writeln!(
        s,
        "| inclusion | {:.1} | {:.1} | {:.1} | ≤ {inc_len} |",
        us(median(&mut inc_make)),
        us(p99(&mut inc_make)),
        us(median(&mut inc_check))
    );
    let _ = writeln!(
        s,
        "| consistency | {:.1} | {:.1} | {:.1} | ≤ {con_len} |\n",
        us(median(&mut con_make)),
        us(p99(&mut con_make)),
        us(median(&mut con_check))
    );
    let worst = p99(&mut inc_make).max(p99(&mut con_make));
    let _ = writeln!(
        s,
        "Proofs {} the 1 ms target (worst p99 {:.3} ms). Reopening the store of {n} records (loading every leaf hash and checking the latest checkpoint): {:.0} ms.",
        if worst < Duration::from_millis(1) {
            "meet"
        } else {
            "miss"
        },
        ms(worst),
        ms(reopen)
    );
    let verdict = |r: &Rate| {
        if r.per_second() >= 5_000.0 {
            "meets"
        } else {
            "misses"
        }
    };
    let _ = writeln!(
        s,
        "Against the 5,000 records/s durable target: a single caller appending one record at a time {} it ({:.0}/s, bound by the fsync of each commit); {WRITERS} callers at once {} it ({:.0}/s, sharing commits); records grouped {BATCH} per transaction {} it ({:.0}/s).",
        verdict(&single),
        single.per_second(),
        verdict(&concurrent),
        concurrent.per_second(),
        verdict(&grouped),
        grouped.per_second()
    );
    Ok(s)
}

/// The most hashes a proof in a tree of `n` can have: the tree's height (inclusion), one more
/// (consistency).
fn store_len_hint(n: u64, inclusion: bool) -> u32 {
    let height = 64 - (n.saturating_sub(1)).leading_zeros();
    if inclusion { height } else { height + 1 }
}
