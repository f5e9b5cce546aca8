//! The yearly disclosure of licensed operation (art. 50): from the licences and the audit log
//! alone, the licences, operators, datasets, scenarios, registered products, job counts and
//! refusals of one year, anchored to the latest signed checkpoint of the log.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::Datelike;
use serde::Serialize;

use crate::{Platform, Result};

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    /// Jobs accepted into the queue.
    pub jobs: u64,
    pub succeeded: u64,
    pub blocked: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// Submissions refused by the licence gate (scope, window, suspension, daily limit).
    pub refused: u64,
    pub products: u64,
    pub withdrawn: u64,
    pub recalls: u64,
    pub suspensions: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct LicenceLine {
    pub id: String,
    pub operator: String,
    pub datasets: Vec<String>,
    pub scenarios: Vec<String>,
    pub valid_from: String,
    pub valid_until: String,
    pub counts: Counts,
    pub registrations: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProductLine {
    pub registration: String,
    pub product: String,
    pub licence: String,
    pub scenario: String,
    pub operator: String,
    pub approved_at: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct AnnualReport {
    pub year: i32,
    /// The log the figures come from: its size and the latest signed checkpoint.
    pub log_records: u64,
    pub checkpoint: Option<String>,
    pub licences: Vec<LicenceLine>,
    /// Per operator, per dataset and per scenario: the licences, and the counts summed.
    pub operators: BTreeMap<String, Counts>,
    pub datasets: BTreeMap<String, Vec<String>>,
    pub scenarios: BTreeMap<String, Counts>,
    pub products: Vec<ProductLine>,
    pub totals: Counts,
}

fn add(into: &mut Counts, c: &Counts) {
    into.jobs += c.jobs;
    into.succeeded += c.succeeded;
    into.blocked += c.blocked;
    into.failed += c.failed;
    into.cancelled += c.cancelled;
    into.refused += c.refused;
    into.products += c.products;
    into.withdrawn += c.withdrawn;
    into.recalls += c.recalls;
    into.suspensions += c.suspensions;
}

impl Platform {
    /// The report of `year`. The bureau's own tool: no caller, reads the whole log.
    pub fn annual_report(&self, year: i32) -> Result<AnnualReport> {
        let mut per_licence: BTreeMap<String, Counts> = BTreeMap::new();
        let mut per_scenario: BTreeMap<String, Counts> = BTreeMap::new();
        let mut registrations: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut products = Vec::new();
        let mut after = 0;
        loop {
            let page = self.store.audit_after(after, 1000)?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for r in page.iter().filter(|r| r.audit.at.year() == year) {
                let a = &r.audit;
                let Some(licence) = a
                    .licence
                    .clone()
                    .or_else(|| a.action.starts_with("licence.").then(|| a.object.clone()))
                else {
                    continue;
                };
                let mut c = Counts::default();
                match (a.action.as_str(), a.outcome.as_str()) {
                    ("job.submit", "queued") => c.jobs = 1,
                    ("job.submit", o) if o.starts_with("refused") => c.refused = 1,
                    ("job.finish", "succeeded") => c.succeeded = 1,
                    ("job.finish", "blocked") => c.blocked = 1,
                    ("job.finish", "failed") => c.failed = 1,
                    ("job.finish", "cancelled") => c.cancelled = 1,
                    ("product.approved", registration) => {
                        c.products = 1;
                        registrations
                            .entry(licence.clone())
                            .or_default()
                            .push(registration.to_owned());
                        products.push(ProductLine {
                            registration: registration.to_owned(),
                            product: a.object.clone(),
                            licence: licence.clone(),
                            scenario: a.scenario.clone().unwrap_or_default(),
                            operator: self
                                .policies
                                .licence(&licence)
                                .map(|l| l.operator.clone())
                                .unwrap_or_default(),
                            approved_at: a.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        });
                    }
                    ("product.withdraw", _) => c.withdrawn = 1,
                    ("product.recall", _) => c.recalls = 1,
                    ("licence.suspend", _) => c.suspensions = 1,
                    _ => continue,
                }
                add(per_licence.entry(licence).or_default(), &c);
                if let Some(s) = &a.scenario {
                    add(per_scenario.entry(s.clone()).or_default(), &c);
                }
            }
        }
        let mut licences = Vec::new();
        let mut operators: BTreeMap<String, Counts> = BTreeMap::new();
        let mut datasets: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut totals = Counts::default();
        for l in self.policies.licences.values() {
            let counts = per_licence.remove(&l.id).unwrap_or_default();
            add(operators.entry(l.operator.clone()).or_default(), &counts);
            add(&mut totals, &counts);
            for d in &l.datasets {
                datasets.entry(d.clone()).or_default().push(l.id.clone());
            }
            for s in &l.scenarios {
                per_scenario.entry(s.clone()).or_default();
            }
            licences.push(LicenceLine {
                id: l.id.clone(),
                operator: l.operator.clone(),
                datasets: l.datasets.clone(),
                scenarios: l.scenarios.clone(),
                valid_from: l.valid_from.to_string(),
                valid_until: l.valid_until.to_string(),
                counts,
                registrations: registrations.remove(&l.id).unwrap_or_default(),
            });
        }
        licences.sort_by(|a, b| a.id.cmp(&b.id));
        // Records of licences no longer in the policies still count in the totals.
        for c in per_licence.values() {
            add(&mut totals, c);
        }
        let checkpoint = self.store.latest_checkpoint()?;
        Ok(AnnualReport {
            year,
            log_records: self.store.log_size()?,
            checkpoint: checkpoint.map(|c| format!("{} records, root {}", c.size, c.root)),
            licences,
            operators,
            datasets,
            scenarios: per_scenario,
            products,
            totals,
        })
    }
}

impl AnnualReport {
    /// The report as Markdown, for publication.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Licensed operation of public data: {} annual disclosure\n",
            self.year
        );
        let _ = writeln!(
            s,
            "From the licences in force and the audit log ({} records; latest signed checkpoint: {}). Every figure can be recomputed from `cleanroom audit export` and checked with `cleanroom audit verify`.\n",
            self.log_records,
            self.checkpoint.as_deref().unwrap_or("none")
        );
        let t = &self.totals;
        let _ = writeln!(
            s,
            "Totals: {} jobs ({} succeeded, {} blocked, {} failed, {} cancelled), {} submissions refused, {} products registered, {} withdrawn, {} recalls, {} licence suspensions.\n",
            t.jobs,
            t.succeeded,
            t.blocked,
            t.failed,
            t.cancelled,
            t.refused,
            t.products,
            t.withdrawn,
            t.recalls,
            t.suspensions
        );
        let _ = writeln!(s, "## Licences\n");
        let _ = writeln!(
            s,
            "| licence | operator | datasets | scenarios | valid | jobs | succeeded | blocked | refused | products |\n|---|---|---|---|---|---:|---:|---:|---:|---|"
        );
        for l in &self.licences {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} to {} | {} | {} | {} | {} | {} |",
                l.id,
                l.operator,
                l.datasets.join(", "),
                l.scenarios.join(", "),
                l.valid_from,
                l.valid_until,
                l.counts.jobs,
                l.counts.succeeded,
                l.counts.blocked,
                l.counts.refused,
                if l.registrations.is_empty() {
                    "-".to_owned()
                } else {
                    l.registrations.join(", ")
                }
            );
        }
        let _ = writeln!(s, "\n## Operators\n");
        let _ = writeln!(
            s,
            "| operator | jobs | succeeded | blocked | refused | products |\n|---|---:|---:|---:|---:|---:|"
        );
        for (o, c) in &self.operators {
            let _ = writeln!(
                s,
                "| {o} | {} | {} | {} | {} | {} |",
                c.jobs, c.succeeded, c.blocked, c.refused, c.products
            );
        }
        let _ = writeln!(s, "\n## Datasets\n\n| dataset | licences |\n|---|---|");
        for (d, ls) in &self.datasets {
            let _ = writeln!(s, "| {d} | {} |", ls.join(", "));
        }
        let _ = writeln!(
            s,
            "\n## Scenarios\n\n| scenario | jobs | refused | products |\n|---|---:|---:|---:|"
        );
        for (sc, c) in &self.scenarios {
            let _ = writeln!(s, "| {sc} | {} | {} | {} |", c.jobs, c.refused, c.products);
        }
        let _ = writeln!(
            s,
            "\n## Registered products\n\n| registration | product | licence | scenario | operator | approved |\n|---|---|---|---|---|---|"
        );
        for p in &self.products {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                p.registration, p.product, p.licence, p.scenario, p.operator, p.approved_at
            );
        }
        s
    }
}
