//! Products: an operator asks to release a succeeded job; reviewers approve or reject with a
//! reason, up to the quorum (the licence's, and at least two distinct reviewers when the
//! licence covers important-grade data); no reviewer reviews what they submitted; an approved
//! product gets its registration number and only its operator downloads it, until an admin
//! withdraws it or suspends one of its datasets (art. 40), which stops downloads at once.

use cleanroom_policy::Grade;
use cleanroom_store::{Audit, JobId, NewProduct, ProductId, ProductRow, ProductStatus, Review};

use crate::{Error, Platform, Principal, Resource, Result};

/// Bounds on what an operator writes about a product.
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 4_000;
pub const MAX_REASON_CHARS: usize = 2_000;

pub(crate) fn text(what: &str, value: &str, max: usize) -> Result<()> {
    let n = value.trim().chars().count();
    if n == 0 {
        return Err(Error::Invalid(format!("the {what} is empty")));
    }
    if n > max {
        return Err(Error::Invalid(format!(
            "the {what} has {n} characters; at most {max} are accepted"
        )));
    }
    Ok(())
}

impl Platform {
    /// Approvals a product of this licence needs.
    pub fn quorum(&self, licence_id: &str) -> Result<u32> {
        let licence = self.licence(licence_id)?;
        let important = licence.datasets.iter().any(|d| {
            self.policies
                .dataset(d)
                .is_some_and(|d| d.grade >= Grade::Important)
        });
        let floor = if important { 2 } else { 1 };
        Ok(licence.release_quorum.max(floor))
    }

    /// An operator asks to release one of their succeeded jobs as a product.
    pub fn request_product(
        &self,
        who: &Principal,
        job: JobId,
        name: &str,
        description: &str,
    ) -> Result<ProductId> {
        let row = self.store.job(job)?.ok_or(Error::NoJob(job))?;
        self.check_job(who, "product.request", &row)?;
        text("name", name, MAX_NAME_CHARS)?;
        text("description", description, MAX_DESCRIPTION_CHARS)?;
        let now = self.now();
        let id = self.store.create_product(
            &NewProduct {
                job,
                name: name.trim().into(),
                description: description.trim().into(),
                quorum: self.quorum(&row.licence)?,
                requested_by: who.id.clone(),
                at: now,
            },
            &Audit::new(
                now,
                &who.id,
                who.role.as_str(),
                "product.request",
                &job.to_string(),
                "pending",
            )
            .licence(&row.licence, &row.scenario),
        )?;
        Ok(id)
    }

    /// A reviewer approves or rejects a pending product, with a reason.
    pub fn review(
        &self,
        who: &Principal,
        id: ProductId,
        approve: bool,
        reason: &str,
    ) -> Result<ProductRow> {
        let (product, job) = self.product_and_job(id)?;
        self.check_product(who, "product.review", &product, &job)?;
        text("reason", reason, MAX_REASON_CHARS)?;
        self.battery_finished(id)?;
        let now = self.now();
        let verdict = if approve { "approve" } else { "reject" };
        let row = self.store.add_review(
            id,
            &Review {
                reviewer: who.id.clone(),
                approve,
                reason: reason.trim().into(),
                at: now,
            },
            &Audit::new(
                now,
                &who.id,
                who.role.as_str(),
                &format!("product.review.{verdict}"),
                &id.to_string(),
                reason.trim(),
            )
            .licence(&job.licence, &job.scenario),
        )?;
        if row.status == ProductStatus::Approved {
            self.issue_passport(&row, &job)?;
        }
        Ok(row)
    }

    /// The product's content, for its operator, while it is approved and none of its licence's
    /// datasets is suspended. Another operator's product reads as absent. Each download is a
    /// record.
    pub fn download(&self, who: &Principal, id: ProductId) -> Result<Vec<u8>> {
        let (product, job) = self.product_and_job(id)?;
        self.check_product(who, "product.download", &product, &job)?;
        if product.status != ProductStatus::Approved {
            return Err(Error::Unavailable(format!(
                "{id} is {}",
                product.status.as_str()
            )));
        }
        let holds = self.store.holds(id)?;
        if !holds.is_empty() {
            return Err(Error::Unavailable(format!(
                "{id} is recalled ({})",
                holds.join(", ")
            )));
        }
        for dataset in &self.licence(&job.licence)?.datasets {
            if self.store.dataset_suspended(dataset)? {
                return Err(Error::Unavailable(format!(
                    "dataset `{dataset}` that {id} derives from is suspended"
                )));
            }
        }
        let bytes = self
            .store
            .result(product.job)?
            .ok_or_else(|| Error::Internal(format!("{id} has no stored content")))?;
        self.store.append_audit(
            &Audit::new(
                self.now(),
                &who.id,
                who.role.as_str(),
                "product.download",
                &id.to_string(),
                "served",
            )
            .licence(&job.licence, &job.scenario),
        )?;
        Ok(bytes)
    }

    /// An admin withdraws an approved product.
    pub fn withdraw_product(&self, who: &Principal, id: ProductId, reason: &str) -> Result<()> {
        let (product, job) = self.product_and_job(id)?;
        self.check_product(who, "product.withdraw", &product, &job)?;
        text("reason", reason, MAX_REASON_CHARS)?;
        self.store.withdraw_product(
            id,
            &Audit::new(
                self.now(),
                &who.id,
                who.role.as_str(),
                "product.withdraw",
                &id.to_string(),
                reason.trim(),
            ),
        )?;
        Ok(())
    }

    /// An admin suspends or restores a dataset.
    pub fn set_dataset_suspended(
        &self,
        who: &Principal,
        dataset: &str,
        suspend: bool,
        reason: &str,
    ) -> Result<()> {
        if self.policies.dataset(dataset).is_none() {
            return Err(Error::Invalid(format!("unknown dataset `{dataset}`")));
        }
        self.authorize(who, "dataset.manage", &Resource::Dataset(dataset))?;
        text("reason", reason, MAX_REASON_CHARS)?;
        let action = if suspend {
            "dataset.suspend"
        } else {
            "dataset.resume"
        };
        self.store.set_dataset_suspended(
            dataset,
            suspend,
            Some(reason.trim()),
            &Audit::new(
                self.now(),
                &who.id,
                who.role.as_str(),
                action,
                dataset,
                reason.trim(),
            ),
        )?;
        // Every approved product whose lineage reads the dataset is recalled (or reinstated).
        self.recall(who, Some(dataset), None, suspend, reason.trim())?;
        Ok(())
    }
}
