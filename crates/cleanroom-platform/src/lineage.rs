//! Lineage (DESIGN.md §6): one OpenLineage run per job, a START event when it starts and one
//! COMPLETE, FAIL or ABORT when it ends, with the column-lineage facet the guard computed, the
//! job's SQL (values masked) or WASM manifest, and facets for the licence and the policy
//! decision; kept in the store, served per job, exported as NDJSON, and searched: which jobs and
//! products used a column, what a product came from. A suspended dataset or licence recalls
//! every approved product whose lineage reads it.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use cleanroom_engine::{LINEAGE_NAMESPACE, LINEAGE_PRODUCER, mask_values};
use cleanroom_store::{Audit, JobId, JobKind, JobRow, JobStatus, ProductRow, ProductStatus};
use serde::Serialize;
use serde_json::{Value, json};

use crate::jobs::sha256_hex;
use crate::{Error, Platform, Principal, Result};

const RUN_EVENT_SCHEMA: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
const SQL_FACET_SCHEMA: &str =
    "https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet";
const SOURCE_FACET_SCHEMA: &str =
    "https://openlineage.io/spec/facets/1-0-1/SourceCodeJobFacet.json#/$defs/SourceCodeJobFacet";
const JOB_TYPE_SCHEMA: &str =
    "https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet";
const LICENCE_FACET_SCHEMA: &str =
    "https://cleanroom.invalid/spec/facets/1-0-0/LicenceRunFacet.json#/$defs/LicenceRunFacet";
const DECISION_FACET_SCHEMA: &str =
    "https://cleanroom.invalid/spec/facets/1-0-0/DecisionRunFacet.json#/$defs/DecisionRunFacet";

/// The event type that ends a run in `status`.
fn terminal(status: JobStatus) -> Option<&'static str> {
    match status {
        JobStatus::Succeeded => Some("COMPLETE"),
        JobStatus::Blocked | JobStatus::Failed => Some("FAIL"),
        JobStatus::Cancelled | JobStatus::Interrupted => Some("ABORT"),
        JobStatus::Queued | JobStatus::Running => None,
    }
}

/// A stable run id for a job of this platform: a UUID (version 8, name-based) made from the
/// log's origin and the job's number.
fn run_id(origin: &str, job: JobId) -> String {
    let digest = sha256_hex(format!("{origin}/{job}").as_bytes());
    let mut b: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&digest[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect();
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn facet(schema: &str, body: Value) -> Value {
    let mut f = json!({ "_producer": LINEAGE_PRODUCER, "_schemaURL": schema });
    if let (Some(f), Value::Object(body)) = (f.as_object_mut(), body) {
        f.extend(body);
    }
    f
}

/// The datasets a report's column lineage reads.
fn inputs_of(lineage: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut add = |fields: &Value| {
        for f in fields.as_array().into_iter().flatten() {
            if let Some(n) = f["name"].as_str() {
                names.insert(n.to_owned());
            }
        }
    };
    for field in lineage["fields"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        add(&field["inputFields"]);
    }
    add(&lineage["dataset"]);
    names
}

/// One use of a column by a job, as `lineage trace` lists it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ColumnUse {
    pub job: String,
    pub licence: String,
    pub operator: String,
    /// The output column it flowed into, or `*` for a dataset-wide influence.
    pub output: String,
    /// `DIRECT/AGGREGATION`, `INDIRECT/FILTER` ...
    pub how: String,
    pub product: Option<String>,
    pub registration: Option<String>,
}

impl Platform {
    /// The OpenLineage event of `kind` for a job as it stands.
    fn lineage_event(&self, job: &JobRow, kind: &str, at: DateTime<Utc>) -> Result<Value> {
        let origin = self.store.verifier()?.name().to_owned();
        let report: Value = job
            .report
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or(Value::Null);
        let source = job.source.as_deref().unwrap_or("");
        let code = match job.kind {
            JobKind::Sql => (
                "sql",
                facet(SQL_FACET_SCHEMA, json!({ "query": mask_values(source) })),
            ),
            JobKind::Wasm => (
                "sourceCode",
                facet(
                    SOURCE_FACET_SCHEMA,
                    json!({ "language": "WebAssembly component (manifest; component by SHA-256)", "sourceCode": mask_values(source) }),
                ),
            ),
        };
        let mut job_facets = serde_json::Map::new();
        job_facets.insert(code.0.into(), code.1);
        job_facets.insert(
            "jobType".into(),
            facet(
                JOB_TYPE_SCHEMA,
                json!({ "processingType": "BATCH", "integration": "CLEANROOM", "jobType": job.kind.as_str().to_uppercase() }),
            ),
        );
        let mut run_facets = serde_json::Map::new();
        run_facets.insert(
            "cleanroom_licence".into(),
            facet(
                LICENCE_FACET_SCHEMA,
                json!({ "licence": job.licence, "scenario": job.scenario, "operator": job.operator, "sourceSha256": job.source_hash }),
            ),
        );
        if kind != "START" {
            run_facets.insert(
                "cleanroom_decision".into(),
                facet(
                    DECISION_FACET_SCHEMA,
                    json!({
                        "status": job.status.as_str(),
                        "decision": job.decision,
                        "rules": report["violations"].as_array().map(|v| v.iter().map(|x| x["rule"].clone()).collect::<Vec<_>>()).unwrap_or_default(),
                        "policyVersion": report["policy_version"],
                        "k": report["k"],
                        "suppressedGroups": report["suppressed_groups"],
                        "resultSha256": job.result_sha256,
                    }),
                ),
            );
        }
        let lineage = &report["lineage"];
        let inputs: Vec<Value> = inputs_of(lineage)
            .into_iter()
            .map(|name| json!({ "namespace": LINEAGE_NAMESPACE, "name": name }))
            .collect();
        let outputs: Vec<Value> = if kind == "COMPLETE" && lineage.is_object() {
            vec![json!({
                "namespace": LINEAGE_NAMESPACE,
                "name": format!("{}/result", job.id),
                "facets": { "columnLineage": lineage },
            })]
        } else {
            Vec::new()
        };
        Ok(json!({
            "eventType": kind,
            "eventTime": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "producer": LINEAGE_PRODUCER,
            "schemaURL": RUN_EVENT_SCHEMA,
            "run": { "runId": run_id(&origin, job.id), "facets": run_facets },
            "job": { "namespace": LINEAGE_NAMESPACE, "name": job.id.to_string(), "facets": job_facets },
            "inputs": inputs,
            "outputs": outputs,
        }))
    }

    /// Records the run event that the job's current status calls for: START while running,
    /// the terminal one after.
    pub(crate) fn record_lineage(&self, id: JobId) -> Result<()> {
        let job = self.store.job(id)?.ok_or(Error::NoJob(id))?;
        let kind = match job.status {
            JobStatus::Running => "START",
            s => match terminal(s) {
                // A job that never started (cancelled or interrupted while queued) had no run.
                Some(k) if !self.store.lineage(id)?.is_empty() => k,
                _ => return Ok(()),
            },
        };
        let event = self.lineage_event(&job, kind, job.updated_at)?;
        self.store.add_lineage(id, kind, &event.to_string())?;
        Ok(())
    }

    /// ABORT events for jobs a restart found interrupted.
    pub fn record_interrupted(&self, ids: &[JobId]) -> Result<()> {
        ids.iter().try_for_each(|id| self.record_lineage(*id))
    }

    /// A job's run events, for whoever may read the job.
    pub fn job_lineage(&self, who: &Principal, id: JobId) -> Result<Vec<Value>> {
        let job = self.store.job(id)?.ok_or(Error::NoJob(id))?;
        self.check_job(who, "job.read", &job)?;
        Ok(self
            .store
            .lineage(id)?
            .iter()
            .filter_map(|e| serde_json::from_str(e).ok())
            .collect())
    }

    /// The completed run event of a job, if it completed.
    fn completed(&self, id: JobId) -> Result<Option<Value>> {
        Ok(self
            .store
            .lineage(id)?
            .iter()
            .filter_map(|e| serde_json::from_str::<Value>(e).ok())
            .find(|e| e["eventType"] == "COMPLETE"))
    }

    /// Every job (and its product) whose output depended on `dataset.column`, found in the
    /// completed runs' column lineage. The bureau's own tool: no caller, reads the whole store.
    pub fn trace_column(&self, dataset: &str, column: &str) -> Result<Vec<ColumnUse>> {
        let mut uses = Vec::new();
        let mut after = 0;
        loop {
            let page = self.store.lineage_after(after, 500)?;
            let Some((last, _)) = page.last() else { break };
            after = *last;
            for (_, text) in &page {
                let Ok(e) = serde_json::from_str::<Value>(text) else {
                    continue;
                };
                if e["eventType"] != "COMPLETE" {
                    continue;
                }
                let lineage = &e["outputs"][0]["facets"]["columnLineage"];
                let mut found: Vec<(String, String)> = Vec::new();
                let mut scan = |output: &str, fields: &Value| {
                    for f in fields.as_array().into_iter().flatten() {
                        if f["name"] == dataset && f["field"] == column {
                            for t in f["transformations"].as_array().into_iter().flatten() {
                                found.push((
                                    output.to_owned(),
                                    format!(
                                        "{}/{}",
                                        t["type"].as_str().unwrap_or("?"),
                                        t["subtype"].as_str().unwrap_or("?")
                                    ),
                                ));
                            }
                        }
                    }
                };
                for (output, field) in lineage["fields"].as_object().into_iter().flatten() {
                    scan(output, &field["inputFields"]);
                }
                scan("*", &lineage["dataset"]);
                if found.is_empty() {
                    continue;
                }
                let job = e["job"]["name"].as_str().unwrap_or("").to_owned();
                let product = JobId::parse(&job)
                    .map(|id| self.store.product_of_job(id))
                    .transpose()?
                    .flatten();
                let licence = &e["run"]["facets"]["cleanroom_licence"];
                for (output, how) in found {
                    uses.push(ColumnUse {
                        job: job.clone(),
                        licence: licence["licence"].as_str().unwrap_or("").to_owned(),
                        operator: licence["operator"].as_str().unwrap_or("").to_owned(),
                        output,
                        how,
                        product: product.as_ref().map(|p| p.id.to_string()),
                        registration: product.as_ref().and_then(|p| p.registration.clone()),
                    });
                }
            }
        }
        Ok(uses)
    }

    /// Everything a registered product came from: its job, licence, source hash, reviews and
    /// the datasets and columns of its lineage.
    pub fn trace_product(&self, registration: &str) -> Result<Value> {
        let product = self
            .store
            .products(None)?
            .into_iter()
            .find(|p| p.registration.as_deref() == Some(registration))
            .ok_or_else(|| {
                Error::Invalid(format!("no product is registered as `{registration}`"))
            })?;
        let job = self
            .store
            .job(product.job)?
            .ok_or(Error::NoJob(product.job))?;
        let event = self.completed(job.id)?.unwrap_or(Value::Null);
        let lineage = &event["outputs"][0]["facets"]["columnLineage"];
        let mut columns: BTreeSet<String> = BTreeSet::new();
        for field in lineage["fields"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
        {
            for f in field["inputFields"].as_array().into_iter().flatten() {
                columns.insert(format!(
                    "{}.{}",
                    f["name"].as_str().unwrap_or("?"),
                    f["field"].as_str().unwrap_or("?")
                ));
            }
        }
        for f in lineage["dataset"].as_array().into_iter().flatten() {
            columns.insert(format!(
                "{}.{}",
                f["name"].as_str().unwrap_or("?"),
                f["field"].as_str().unwrap_or("?")
            ));
        }
        Ok(json!({
            "registration": registration,
            "product": product.id.to_string(),
            "name": product.name,
            "status": product.status.as_str(),
            "holds": self.store.holds(product.id)?,
            "job": job.id.to_string(),
            "kind": job.kind.as_str(),
            "licence": job.licence,
            "scenario": job.scenario,
            "operator": job.operator,
            "source_sha256": job.source_hash,
            "datasets": inputs_of(lineage),
            "columns": columns,
            "reviews": self.store.reviews(product.id)?,
        }))
    }

    /// Recalls (`on`) or reinstates every approved product whose completed run read `dataset`
    /// or ran under `licence` (one of them given), each with its record.
    pub(crate) fn recall(
        &self,
        who: &Principal,
        dataset: Option<&str>,
        licence: Option<&str>,
        on: bool,
        reason: &str,
    ) -> Result<Vec<ProductRow>> {
        let cause = match (dataset, licence) {
            (Some(d), _) => format!("dataset:{d}"),
            (None, Some(l)) => format!("licence:{l}"),
            (None, None) => return Ok(Vec::new()),
        };
        let mut changed = Vec::new();
        for product in self.store.products(Some(ProductStatus::Approved))? {
            let Some(event) = self.completed(product.job)? else {
                continue;
            };
            let derived = match (dataset, licence) {
                (Some(d), _) => {
                    inputs_of(&event["outputs"][0]["facets"]["columnLineage"]).contains(d)
                }
                (None, Some(l)) => event["run"]["facets"]["cleanroom_licence"]["licence"] == l,
                (None, None) => false,
            };
            if !derived {
                continue;
            }
            let job = self
                .store
                .job(product.job)?
                .ok_or(Error::NoJob(product.job))?;
            let audit = Audit::new(
                self.now(),
                &who.id,
                who.role.as_str(),
                if on {
                    "product.recall"
                } else {
                    "product.reinstate"
                },
                &product.id.to_string(),
                &format!("{cause}: {reason}"),
            )
            .licence(&job.licence, &job.scenario);
            if self.store.set_hold(product.id, &cause, on, &audit)? {
                changed.push(product);
            }
        }
        Ok(changed)
    }
}
