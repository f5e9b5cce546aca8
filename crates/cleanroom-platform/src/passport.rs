//! Product passports (art. 41, 50; DESIGN.md §6): made when a product is approved, signed with
//! the platform key, and verifiable offline with the product file and the public key alone.
//!
//! A passport is one JSON object. Its signature is an Ed25519 signature of the compact JSON of
//! the object without its `signature` member (serde_json's key order); it names the sources and
//! their versions, the job source's SHA-256, the policy version, k and ε, the reviews, the
//! SHA-256 of the product's content (the Arrow IPC stream a download with
//! `Accept: application/vnd.apache.arrow.stream` returns), and the approval record with its
//! inclusion proof against a signed checkpoint of the audit log.

use cleanroom_store::{Audit, JobRow, ProductId, ProductRow};
use cleanroom_tlog::{Verifier, b64, from_b64, hash_from_b64, leaf_hash, verify_inclusion};
use serde_json::{Value, json};

use crate::jobs::sha256_hex;
use crate::{Error, Platform, Principal, Result};

/// The `format` member of every passport.
pub const PASSPORT_FORMAT: &str = "cleanroom-passport/1";
/// The media type of the content a passport's hash covers.
pub const CONTENT_TYPE: &str = "application/vnd.apache.arrow.stream";

impl Platform {
    /// Makes, signs and keeps the passport of a product just approved (the system's).
    pub(crate) fn issue_passport(&self, product: &ProductRow, job: &JobRow) -> Result<String> {
        let approval = product
            .approval_seq
            .ok_or_else(|| Error::Internal(format!("{} has no approval record", product.id)))?;
        // The approval record must be under a signed checkpoint: sign one now.
        let checkpoint = self
            .store
            .checkpoint()?
            .ok_or_else(|| Error::Internal("the audit log is empty".into()))?;
        let proof = self.store.inclusion_proof(approval, checkpoint.size)?;
        let record = self
            .record_text(approval)?
            .ok_or_else(|| Error::Internal("the approval record is missing".into()))?;
        let report: Value = job
            .report
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or(Value::Null);
        let content = self
            .store
            .result(job.id)?
            .ok_or_else(|| Error::Internal(format!("{} has no stored content", product.id)))?;
        let sources: Vec<Value> = report["sources"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|s| {
                let id = s["dataset"].as_str().unwrap_or_default();
                let ds = self.policies.dataset(id);
                json!({
                    "dataset": id,
                    "name": ds.map(|d| d.name.clone()),
                    "provider": ds.map(|d| d.provider_name.clone()),
                    "acquired": s["acquired"],
                    "bytes": s["bytes"],
                })
            })
            .collect();
        let reviews: Vec<Value> = self
            .store
            .reviews(product.id)?
            .into_iter()
            .map(|r| json!({ "reviewer": r.reviewer, "approve": r.approve, "at": rfc3339(r.at) }))
            .collect();
        let verifier = self.store.verifier()?;
        let battery = self.store.product_check(product.id)?.map(|c| {
            let report: Value = c
                .report
                .as_deref()
                .and_then(|r| serde_json::from_str(r).ok())
                .unwrap_or(Value::Null);
            let outcomes: Vec<Value> = report["outcomes"]
                .as_array()
                .map(|o| {
                    o.iter()
                        .map(|x| json!({ "attack": x["attack"], "metric": x["metric"], "success": x["success"], "baseline": x["baseline"] }))
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "status": c.status.as_str(),
                "report_sha256": c.report.as_deref().map(|r| sha256_hex(r.as_bytes())),
                "outcomes": outcomes,
            })
        });
        let mut passport = json!({
            "format": PASSPORT_FORMAT,
            "registration": product.registration,
            "product": { "id": product.id.to_string(), "name": product.name, "description": product.description },
            "operator": job.operator,
            "licence": job.licence,
            "scenario": job.scenario,
            "sources": sources,
            "job": {
                "id": job.id.to_string(),
                "kind": job.kind.as_str(),
                "source_sha256": job.source_hash,
                "component_sha256": report["component"],
            },
            "policy_version": report["policy_version"],
            "k": report["k"],
            "epsilon": report["epsilon"],
            "requested_by": product.requested_by,
            "requested_at": rfc3339(product.requested_at),
            "approved_at": product.decided_at.map(rfc3339),
            "reviews": reviews,
            "battery": battery,
            "content": { "media_type": CONTENT_TYPE, "sha256": sha256_hex(&content), "bytes": content.len() },
            "approval": {
                "seq": approval,
                "record": record,
                "tree_size": proof.size,
                "proof": proof.proof,
                "checkpoint": checkpoint.note,
            },
            "key": verifier.encode(),
        });
        let signature = self.store.sign(&signed_bytes(&passport))?;
        passport["signature"] = json!(b64(&signature));
        let text =
            serde_json::to_string_pretty(&passport).map_err(|e| Error::Internal(e.to_string()))?;
        self.store.set_passport(
            product.id,
            &text,
            &Audit::new(
                self.now(),
                "cleanroom",
                "system",
                "product.passport",
                &product.id.to_string(),
                "signed",
            )
            .licence(&job.licence, &job.scenario)
            .hash(&sha256_hex(text.as_bytes())),
        )?;
        Ok(text)
    }

    /// The passport of an approved product, for whoever may read the product. One that could
    /// not be made at approval is made now.
    pub fn passport(&self, who: &Principal, id: ProductId) -> Result<String> {
        let (product, job) = self.product_and_job(id)?;
        self.check_product(who, "product.read", &product, &job)?;
        if let Some(p) = self.store.passport(id)? {
            return Ok(p);
        }
        if product.status != cleanroom_store::ProductStatus::Approved {
            return Err(Error::Unavailable(format!(
                "{id} has no passport: it is {}",
                product.status.as_str()
            )));
        }
        self.issue_passport(&product, &job)
    }
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The bytes a passport's signature covers: its compact JSON without `signature`.
fn signed_bytes(passport: &Value) -> Vec<u8> {
    let mut unsigned = passport.clone();
    if let Some(o) = unsigned.as_object_mut() {
        o.remove("signature");
    }
    serde_json::to_vec(&unsigned).unwrap_or_default()
}

/// One check of a passport and what it found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub what: &'static str,
    /// `Ok` or the reason it failed.
    pub outcome: std::result::Result<String, String>,
}

/// Checks a product file and its passport offline against `verifier` (the platform's public
/// key, held apart): every check runs, and each says what it found.
pub fn verify_passport(product: &[u8], passport: &str, verifier: &Verifier) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut check = |what: &'static str, outcome: std::result::Result<String, String>| {
        checks.push(Check { what, outcome });
    };
    let p: Value = match serde_json::from_str(passport) {
        Ok(v) => v,
        Err(_) => {
            check(
                "passport",
                Err("the passport is not valid JSON: it was changed or cut".into()),
            );
            return checks;
        }
    };
    if p["format"] != PASSPORT_FORMAT {
        check(
            "passport",
            Err(format!("not a passport of format {PASSPORT_FORMAT}")),
        );
        return checks;
    }
    check(
        "key",
        if p["key"].as_str() == Some(verifier.encode().as_str()) {
            Ok(format!("the passport names the key {}", verifier.encode()))
        } else {
            Err("the passport names another key than the one given".into())
        },
    );
    let signature = p["signature"]
        .as_str()
        .and_then(from_b64)
        .unwrap_or_default();
    check(
        "signature",
        match verifier.verify(&signed_bytes(&p), &signature) {
            Ok(()) => Ok("signed by the platform key".into()),
            Err(_) => Err(
                "the signature does not verify: the passport was changed after signing, or another key signed it"
                    .into(),
            ),
        },
    );
    let digest = sha256_hex(product);
    check(
        "content",
        if p["content"]["sha256"].as_str() == Some(digest.as_str()) {
            Ok(format!("SHA-256 {digest} as the passport states"))
        } else {
            Err(format!(
                "the product file's SHA-256 is {digest}, the passport states {}: the file was changed or is another file",
                p["content"]["sha256"].as_str().unwrap_or("nothing")
            ))
        },
    );
    let approval = &p["approval"];
    let checkpoint = match verifier.open_checkpoint(approval["checkpoint"].as_str().unwrap_or("")) {
        Ok(c) => {
            check(
                "checkpoint",
                Ok(format!(
                    "a checkpoint of {} records signed by the platform",
                    c.size
                )),
            );
            Some(c)
        }
        Err(e) => {
            check("checkpoint", Err(format!("the checkpoint: {e}")));
            None
        }
    };
    let record = approval["record"].as_str().unwrap_or("");
    let record_json: Value = serde_json::from_str(record).unwrap_or(Value::Null);
    let names_product = record_json["action"] == "product.approved"
        && record_json["object"] == p["product"]["id"]
        && record_json["outcome"] == p["registration"]
        && record_json["seq"] == approval["seq"];
    check(
        "approval record",
        if names_product {
            Ok(format!(
                "record {} approves {}",
                approval["seq"],
                p["product"]["id"].as_str().unwrap_or("")
            ))
        } else {
            Err("the approval record does not approve this product under this registration".into())
        },
    );
    if let Some(c) = checkpoint {
        let proof: std::result::Result<Vec<_>, _> = approval["proof"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|h| hash_from_b64(h.as_str().unwrap_or("")))
                    .collect()
            })
            .unwrap_or(Ok(Vec::new()));
        let index = approval["seq"].as_u64().unwrap_or(0).saturating_sub(1);
        let outcome = match proof {
            Ok(proof) if approval["tree_size"].as_u64() == Some(c.size) => verify_inclusion(
                index,
                c.size,
                &leaf_hash(record.as_bytes()),
                &proof,
                &c.root,
            )
            .map(|()| {
                format!(
                    "the approval record is in the signed tree of {} records",
                    c.size
                )
            })
            .map_err(|e| format!("the inclusion proof does not match the signed checkpoint: {e}")),
            Ok(_) => Err("the proof is for another tree size than the checkpoint's".into()),
            Err(_) => Err("the inclusion proof is malformed".into()),
        };
        check("inclusion", outcome);
    }
    checks
}
