//! A bounded load on loopback: `clients` threads submit `jobs` small SQL jobs in all, each
//! submission timed; then every acknowledged job is followed until it has finished. Counts
//! errors (any submission not answered 202) and lost jobs (acknowledged, then not found or not
//! finished within the wait).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::client::Client;

#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub clients: usize,
    pub jobs: usize,
    pub licence: String,
    pub scenario: String,
    pub sql: String,
    /// How long to wait for the last job to finish.
    pub wait: Duration,
}

#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    pub clients: usize,
    pub submitted: usize,
    pub errors: usize,
    pub lost: usize,
    pub finished: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Acknowledged submissions per second while submitting.
    pub submits_per_s: f64,
    /// Jobs finished per second, from the first submission to the last job's end.
    pub jobs_per_s: f64,
    pub seconds: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs the load against `addr` with an operator's `token`; `progress` is told of finished
/// jobs as they are counted.
pub fn run(
    addr: SocketAddr,
    token: &str,
    opts: &LoadOptions,
    progress: &dyn Fn(usize, usize),
) -> LoadReport {
    let client = Client::new(addr).with_token(token);
    let next = Arc::new(AtomicUsize::new(0));
    let ids = Arc::new(Mutex::new(Vec::with_capacity(opts.jobs)));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(opts.jobs)));
    let errors = Arc::new(AtomicUsize::new(0));
    let body = serde_json::json!({
        "licence": opts.licence,
        "scenario": opts.scenario,
        "sql": opts.sql,
    });
    let start = Instant::now();
    let threads: Vec<_> = (0..opts.clients.max(1))
        .map(|_| {
            let (client, next, ids, latencies, errors, body) = (
                client.clone(),
                next.clone(),
                ids.clone(),
                latencies.clone(),
                errors.clone(),
                body.clone(),
            );
            let jobs = opts.jobs;
            std::thread::spawn(move || {
                while next.fetch_add(1, Ordering::Relaxed) < jobs {
                    let t = Instant::now();
                    let r = client.post_json("/v1/jobs", &body);
                    let ms = t.elapsed().as_secs_f64() * 1e3;
                    match r {
                        Ok(r) if r.status == 202 => {
                            if let Some(id) = r.json()["id"].as_str() {
                                ids.lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .push(id.to_owned());
                            }
                            latencies.lock().unwrap_or_else(|e| e.into_inner()).push(ms);
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    let submitting = start.elapsed().as_secs_f64();
    let ids = std::mem::take(&mut *ids.lock().unwrap_or_else(|e| e.into_inner()));
    let mut latencies = std::mem::take(&mut *latencies.lock().unwrap_or_else(|e| e.into_inner()));
    latencies.sort_by(f64::total_cmp);

    // Follow every acknowledged job until it has finished (or the wait is over).
    let deadline = Instant::now() + opts.wait;
    let mut open: Vec<String> = ids.clone();
    let mut lost = 0;
    while !open.is_empty() && Instant::now() < deadline {
        let mut still = Vec::new();
        for id in open {
            match client.get(&format!("/v1/jobs/{id}")) {
                Ok(r) if r.status == 200 => {
                    let status = r.json()["status"].as_str().unwrap_or("").to_owned();
                    if status == "queued" || status == "running" {
                        still.push(id);
                    }
                }
                Ok(r) if r.status == 404 => lost += 1,
                _ => still.push(id),
            }
        }
        progress(ids.len() - still.len(), ids.len());
        open = still;
        if !open.is_empty() {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let finished = ids.len() - open.len() - lost;
    LoadReport {
        clients: opts.clients,
        submitted: ids.len(),
        errors: errors.load(Ordering::Relaxed),
        lost: lost + open.len(),
        finished,
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
        max_ms: latencies.last().copied().unwrap_or(0.0),
        submits_per_s: ids.len() as f64 / submitting.max(1e-9),
        jobs_per_s: finished as f64 / seconds.max(1e-9),
        seconds,
    }
}

/// The process's peak resident set (VmHWM) in KiB, where the system tells it.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
