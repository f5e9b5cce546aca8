//! What callers may read: jobs, results, products and their reviews, the review queue, the
//! licences' state, the audit record and the catalog, each decided by the authorization
//! policies. An operator asking for another operator's job or product is told it does not
//! exist: the two read the same (404, not 403).

use cleanroom_policy::{Dataset, Licence};
use cleanroom_store::{
    AuditRecord, JobId, JobRow, LicenceState, ProductId, ProductRow, ProductStatus, Review,
};
use serde::Serialize;

use crate::{Denied, Error, Platform, Principal, Resource, Result, Role, forbidden};

/// Jobs and products a list returns at most.
pub const MAX_LIST: usize = 500;

/// A product with its reviews and the approvals it has; with its job's source (the SQL text
/// or the WASM manifest) and report (decision, suppression, lineage), what a reviewer reads.
#[derive(Clone, Debug, Serialize)]
pub struct ProductView {
    #[serde(flatten)]
    pub product: ProductRow,
    pub licence: String,
    pub scenario: String,
    pub operator: String,
    pub reviews: Vec<Review>,
    pub approvals: u32,
    pub source: Option<String>,
    pub source_hash: String,
    /// The job's report, JSON.
    pub report: Option<String>,
    /// The attack battery's state and report (none where the server runs no battery).
    pub battery: Option<crate::BatteryView>,
}

/// A licence's terms and its runtime state, for admins and auditors.
#[derive(Clone, Debug, Serialize)]
pub struct LicenceView {
    #[serde(flatten)]
    pub licence: Licence,
    pub state: Option<LicenceState>,
    pub jobs_last_24h: u64,
}

/// The catalog's metadata a caller may see: an operator the datasets of the licences it
/// holds, the staff all of them. Never data.
#[derive(Clone, Debug, Serialize)]
pub struct CatalogView<'a> {
    pub datasets: Vec<&'a Dataset>,
    pub licences: Vec<&'a Licence>,
    /// The ε ledger of each licence shown: spent and left per dataset.
    pub budgets: std::collections::BTreeMap<String, Vec<crate::BudgetLine>>,
}

impl Platform {
    /// Whether a denial is told as absence: an operator and an object not theirs.
    fn hide(who: &Principal, owner: &str, action: &str, denied: &Denied, absent: Error) -> Error {
        if who.role == Role::Operator && who.id != owner {
            absent
        } else {
            forbidden(action, denied)
        }
    }

    pub(crate) fn check_job(&self, who: &Principal, action: &str, row: &JobRow) -> Result<()> {
        let licence = self.licence(&row.licence)?;
        let product = self.store.product_of_job(row.id)?;
        let resource = Resource::Job {
            id: row.id.0,
            operator: &row.operator,
            licence,
            in_review: product.is_some(),
            released: product.is_some_and(|p| p.status == ProductStatus::Approved),
        };
        self.decide(who, action, &resource)?
            .map_err(|d| Self::hide(who, &row.operator, action, &d, Error::NoJob(row.id)))
    }

    pub(crate) fn check_product(
        &self,
        who: &Principal,
        action: &str,
        product: &ProductRow,
        job: &JobRow,
    ) -> Result<()> {
        let resource = Resource::Product {
            id: product.id.0,
            operator: &job.operator,
            requested_by: &product.requested_by,
            licence: self.licence(&job.licence)?,
        };
        self.decide(who, action, &resource)?
            .map_err(|d| Self::hide(who, &job.operator, action, &d, Error::NoProduct(product.id)))
    }

    pub(crate) fn product_and_job(&self, id: ProductId) -> Result<(ProductRow, JobRow)> {
        let product = self.store.product(id)?.ok_or(Error::NoProduct(id))?;
        let job = self
            .store
            .job(product.job)?
            .ok_or(Error::NoJob(product.job))?;
        Ok((product, job))
    }

    /// A job's status, decision and report.
    pub fn job(&self, who: &Principal, id: JobId) -> Result<JobRow> {
        let row = self.store.job(id)?.ok_or(Error::NoJob(id))?;
        self.check_job(who, "job.read", &row)?;
        Ok(row)
    }

    /// A job's checked result (Arrow IPC stream bytes): for its operator under an interactive
    /// licence or once released, for reviewers while it is under review. Each read is a record.
    pub fn job_result(&self, who: &Principal, id: JobId) -> Result<Vec<u8>> {
        let row = self.store.job(id)?.ok_or(Error::NoJob(id))?;
        self.check_job(who, "job.result", &row)?;
        let bytes = self
            .store
            .result(id)?
            .ok_or_else(|| Error::Unavailable(format!("{id} has no result ({})", row.status)))?;
        self.store.append_audit(
            &cleanroom_store::Audit::new(
                self.now(),
                &who.id,
                who.role.as_str(),
                "job.result.read",
                &id.to_string(),
                "served",
            )
            .licence(&row.licence, &row.scenario),
        )?;
        Ok(bytes)
    }

    /// The caller's jobs (an operator's own; all for the staff), newest first.
    pub fn jobs(&self, who: &Principal, limit: usize) -> Result<Vec<JobRow>> {
        self.authorize(who, "job.list", &Resource::Platform)?;
        let own = (who.role == Role::Operator).then_some(who.id.as_str());
        Ok(self.store.jobs(own, limit.min(MAX_LIST))?)
    }

    fn view(&self, product: ProductRow, job: &JobRow) -> Result<ProductView> {
        let reviews = self.store.reviews(product.id)?;
        let approvals = reviews.iter().filter(|r| r.approve).count() as u32;
        let battery = self
            .store
            .product_check(product.id)?
            .map(crate::BatteryView::of);
        Ok(ProductView {
            product,
            licence: job.licence.clone(),
            scenario: job.scenario.clone(),
            operator: job.operator.clone(),
            reviews,
            approvals,
            source: job.source.clone(),
            source_hash: job.source_hash.clone(),
            report: job.report.clone(),
            battery,
        })
    }

    /// A product with its reviews.
    pub fn product(&self, who: &Principal, id: ProductId) -> Result<ProductView> {
        let (product, job) = self.product_and_job(id)?;
        self.check_product(who, "product.read", &product, &job)?;
        self.view(product, &job)
    }

    /// Products the caller may see, oldest first, optionally of one status.
    pub fn products(
        &self,
        who: &Principal,
        status: Option<ProductStatus>,
    ) -> Result<Vec<ProductView>> {
        self.authorize(who, "product.list", &Resource::Platform)?;
        let mut out = Vec::new();
        for p in self.store.products(status)? {
            let Some(job) = self.store.job(p.job)? else {
                continue;
            };
            if who.role == Role::Operator && job.operator != who.id {
                continue;
            }
            out.push(self.view(p, &job)?);
            if out.len() >= MAX_LIST {
                break;
            }
        }
        Ok(out)
    }

    /// Products waiting for review that this reviewer may still review: not their own and not
    /// yet reviewed by them.
    pub fn review_queue(&self, who: &Principal) -> Result<Vec<ProductView>> {
        self.authorize(who, "review.queue", &Resource::Platform)?;
        let mut out = Vec::new();
        for view in self.products(who, Some(ProductStatus::Pending))? {
            let (product, job) = self.product_and_job(view.product.id)?;
            let reviewed = view.reviews.iter().any(|r| r.reviewer == who.id);
            if !reviewed
                && self
                    .check_product(who, "product.review", &product, &job)
                    .is_ok()
            {
                out.push(view);
            }
        }
        Ok(out)
    }

    /// Every licence with its runtime state.
    pub fn licences(&self, who: &Principal) -> Result<Vec<LicenceView>> {
        self.authorize(who, "licence.list", &Resource::Platform)?;
        let since = self.now() - chrono::Duration::hours(crate::RATE_WINDOW_HOURS);
        let mut out = Vec::new();
        for licence in self.policies.licences.values() {
            out.push(LicenceView {
                licence: licence.clone(),
                state: self.store.licence_state(&licence.id)?,
                jobs_last_24h: self.store.jobs_since(&licence.id, since)?,
            });
        }
        Ok(out)
    }

    /// Up to `limit` audit records after `after`.
    pub fn audit(&self, who: &Principal, after: i64, limit: usize) -> Result<Vec<AuditRecord>> {
        self.authorize(who, "audit.read", &Resource::Platform)?;
        Ok(self.store.audit_after(after, limit.min(MAX_LIST))?)
    }

    /// The catalog the caller may see.
    pub fn catalog(&self, who: &Principal) -> Result<CatalogView<'_>> {
        self.authorize(who, "catalog.read", &Resource::Platform)?;
        let licences: Vec<&Licence> = self
            .policies
            .licences
            .values()
            .filter(|l| who.role != Role::Operator || l.operator == who.id)
            .collect();
        let datasets = self
            .policies
            .catalog
            .iter()
            .filter(|(id, _)| {
                who.role != Role::Operator || licences.iter().any(|l| l.datasets.contains(id))
            })
            .map(|(_, d)| d)
            .collect();
        let budgets = licences
            .iter()
            .map(|l| Ok((l.id.clone(), self.budget(&l.id)?)))
            .collect::<Result<_>>()?;
        Ok(CatalogView {
            datasets,
            licences,
            budgets,
        })
    }
}
