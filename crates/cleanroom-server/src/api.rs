//! The routes. Each handler authenticates the caller, reads and checks its input, and calls
//! the platform on a blocking thread (the store commits with `synchronous = FULL`); the
//! platform decides who may do what.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Multipart, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use cleanroom_platform::{Principal, Role, Submitted};
use cleanroom_store::{JobId, JobRow, ProductId, ProductStatus};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::formats::Format;
use crate::{ApiError, App};

type Shared = Arc<App>;
type ApiResult = Result<Response, ApiError>;

/// One route: what the OpenAPI document says of it, and its handler.
pub(crate) struct Route {
    pub method: &'static str,
    pub path: &'static str,
    /// Who may call it (the Cedar policies decide; this is their summary).
    pub who: &'static str,
    pub summary: &'static str,
    pub handler: MethodRouter<Shared>,
}

fn route(
    method: &'static str,
    path: &'static str,
    who: &'static str,
    summary: &'static str,
    handler: MethodRouter<Shared>,
) -> Route {
    Route {
        method,
        path,
        who,
        summary,
        handler,
    }
}

/// Every route of the API: the router and `/openapi.json` are both made from this table.
pub(crate) fn table() -> Vec<Route> {
    const ANY: &str = "anyone, without a token";
    const ALL: &str = "every role";
    vec![
        route("get", "/healthz", ANY, "Liveness.", get(healthz)),
        route(
            "get",
            "/metrics",
            ANY,
            "Prometheus counters (counts only).",
            get(metrics),
        ),
        route("get", "/openapi.json", ANY, "This document.", get(openapi)),
        route(
            "get",
            "/v1/catalog",
            ALL,
            "Metadata of the datasets and licences the caller may see; never data.",
            get(catalog),
        ),
        route(
            "post",
            "/v1/jobs",
            "operator holding the licence",
            "Submit a SQL job (JSON `{licence, scenario, sql}`) or a WASM job (multipart `manifest`, `component`).",
            post(submit),
        ),
        route(
            "get",
            "/v1/jobs",
            ALL,
            "Jobs, newest first (an operator's own).",
            get(list_jobs),
        ),
        route(
            "get",
            "/v1/jobs/{id}",
            "its operator, reviewers while in review, admins, auditors",
            "Status, decision and report.",
            get(job),
        ),
        route(
            "get",
            "/v1/jobs/{id}/result",
            "its operator under an interactive licence or once released; reviewers while in review",
            "The checked result, as JSON, CSV, Arrow IPC or Parquet by `Accept`.",
            get(job_result),
        ),
        route(
            "get",
            "/v1/jobs/{id}/lineage",
            "its operator, reviewers while in review, admins, auditors",
            "The job's OpenLineage run events (START, then COMPLETE, FAIL or ABORT) with the column-lineage, SQL or source-code, licence and decision facets.",
            get(job_lineage),
        ),
        route(
            "post",
            "/v1/jobs/{id}/cancel",
            "its operator",
            "Cancel a queued or running job.",
            post(cancel),
        ),
        route(
            "post",
            "/v1/products",
            "the job's operator",
            "Ask to release a succeeded job as a product (`{job, name, description}`); the server's attack battery starts on it.",
            post(request_product),
        ),
        route(
            "get",
            "/v1/products",
            ALL,
            "Products (an operator's own), `?status=`.",
            get(list_products),
        ),
        route(
            "get",
            "/v1/products/{id}",
            "its operator, reviewers, admins, auditors",
            "A product with its reviews and its attack battery (`battery`: status, then each attack's success against its baseline); reviews wait until the battery has finished.",
            get(product),
        ),
        route(
            "post",
            "/v1/products/{id}/reviews",
            "reviewers other than its submitter",
            "Approve or reject with a reason (`{approve, reason}`).",
            post(review),
        ),
        route(
            "get",
            "/v1/products/{id}/download",
            "its operator",
            "An approved product's content, by `Accept`; `application/vnd.apache.arrow.stream` gives the bytes its passport signs.",
            get(download),
        ),
        route(
            "get",
            "/v1/products/{id}/passport",
            "its operator, reviewers, admins, auditors",
            "An approved product's signed passport (JSON): sources, source hash, policy version, k, reviews, content SHA-256, the approval record's inclusion proof; check it offline with `cleanroom product verify`.",
            get(passport),
        ),
        route(
            "get",
            "/v1/review/queue",
            "reviewers",
            "Products this reviewer may still review.",
            get(review_queue),
        ),
        route(
            "get",
            "/v1/admin/licences",
            "admins, auditors",
            "Licences with their runtime state.",
            get(licences),
        ),
        route(
            "post",
            "/v1/admin/licences/{id}/{verb}",
            "admins",
            "`suspend` or `resume` a licence (`{reason}`).",
            post(licence_state),
        ),
        route(
            "post",
            "/v1/admin/datasets/{id}/{verb}",
            "admins",
            "`suspend` or `resume` a dataset (`{reason}`); downloads of products derived from it stop at once.",
            post(dataset_state),
        ),
        route(
            "post",
            "/v1/admin/products/{id}/withdraw",
            "admins",
            "Withdraw a product (`{reason}`).",
            post(withdraw),
        ),
        route(
            "post",
            "/v1/admin/tokens",
            "admins",
            "Issue a token (`{role, principal}`); shown once.",
            post(issue_token),
        ),
        route(
            "post",
            "/v1/admin/tokens/{id}/revoke",
            "admins",
            "Revoke a token by its id.",
            post(revoke_token),
        ),
        route(
            "get",
            "/v1/audit",
            "auditors",
            "Audit records after `?after=` (at most `?limit=`).",
            get(audit),
        ),
        route(
            "get",
            "/v1/audit/checkpoint",
            "auditors",
            "The latest signed checkpoint of the audit log (C2SP tlog-checkpoint note, text/plain).",
            get(audit_checkpoint),
        ),
        route(
            "get",
            "/v1/audit/proof/inclusion",
            "auditors",
            "Inclusion proof of record `?seq=` in the signed tree of `?size=` (default: the latest checkpoint), with the record's leaf text and the checkpoint.",
            get(inclusion_proof),
        ),
        route(
            "get",
            "/v1/audit/proof/consistency",
            "auditors",
            "Consistency proof from the tree of `?from=` records to the signed tree of `?to=` (default: the latest checkpoint), with the checkpoint.",
            get(consistency_proof),
        ),
    ]
}

pub(crate) fn routes() -> Router<Shared> {
    let mut by_path: Vec<(&'static str, MethodRouter<Shared>)> = Vec::new();
    for r in table() {
        match by_path.iter_mut().find(|(p, _)| *p == r.path) {
            Some((_, m)) => *m = std::mem::take(m).merge(r.handler),
            None => by_path.push((r.path, r.handler)),
        }
    }
    by_path
        .into_iter()
        .fold(Router::new(), |router, (path, handler)| {
            router.route(path, handler)
        })
}

/// The authenticated caller, within its token's rate limit.
pub(crate) struct Caller(Principal);

impl FromRequestParts<Shared> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Shared) -> Result<Self, ApiError> {
        let unauthorized = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid bearer token is required",
            )
        };
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(unauthorized)?
            .to_owned();
        let platform = app.platform.clone();
        let token_for_lookup = token.clone();
        let who = blocking(move || platform.authenticate(&token_for_lookup))
            .await?
            .ok_or_else(unauthorized)?;
        if !app.take(&cleanroom_platform::token_id(&token)) {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "this token's request rate is exceeded; retry shortly",
            ));
        }
        Ok(Caller(who))
    }
}

/// Runs platform work off the async threads.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> cleanroom_platform::Result<T> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(_) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed",
        )),
    }
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
}

/// Parses a JSON body strictly. serde's message names a field or a type, never a value.
fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send application/json",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "the body is not well-formed JSON".to_owned()
            }
            _ => {
                // "unknown field `x`, expected ..." / "invalid type: ..., expected ...": the
                // message, without serde's quotation of the value.
                let text = e.to_string();
                let text = text.split(" at line ").next().unwrap_or("").to_owned();
                if text.starts_with("invalid type") || text.starts_with("invalid value") {
                    format!(
                        "a field has the wrong type ({})",
                        text.rsplit("expected ").next().unwrap_or("")
                    )
                } else {
                    text
                }
            }
        };
        bad_request(what)
    })
}

fn json_response(status: StatusCode, value: Value) -> Response {
    (status, axum::Json(value)).into_response()
}

fn ok(value: Value) -> ApiResult {
    Ok(json_response(StatusCode::OK, value))
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, ApiError> {
    serde_json::to_value(v)
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "failed"))
}

/// `job-12` or `12`.
pub(crate) fn parse_id(text: &str, prefix: &str) -> Result<i64, ApiError> {
    let digits = text
        .strip_prefix(prefix)
        .and_then(|t| t.strip_prefix('-'))
        .unwrap_or(text);
    digits
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("not a {prefix} id"),
            )
        })
}

/// A job as the API shows it: the report as JSON, the result file's name left out.
fn job_view(row: &JobRow) -> Result<Value, ApiError> {
    let mut v = to_value(row)?;
    if let Some(obj) = v.as_object_mut() {
        obj.remove("result_file");
        obj.insert("id".into(), json!(row.id.to_string()));
        let report = row
            .report
            .as_deref()
            .and_then(|r| serde_json::from_str::<Value>(r).ok())
            .unwrap_or(Value::Null);
        obj.insert("report".into(), report);
    }
    Ok(v)
}

async fn healthz() -> ApiResult {
    ok(json!({ "status": "ok" }))
}

async fn metrics(State(app): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics_text(),
    )
        .into_response()
}

async fn openapi() -> ApiResult {
    ok(crate::openapi::document())
}

async fn catalog(State(app): State<Shared>, Caller(who): Caller) -> ApiResult {
    let platform = app.platform.clone();
    let v = blocking(move || {
        let c = platform.catalog(&who)?;
        serde_json::to_value(&c).map_err(|e| cleanroom_platform::Error::Internal(e.to_string()))
    })
    .await?;
    ok(v)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlJob {
    licence: String,
    scenario: String,
    sql: String,
}

/// Bytes of SQL text a job may have.
const MAX_SQL_BYTES: usize = 64 << 10;

async fn submit(
    State(app): State<Shared>,
    Caller(who): Caller,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> ApiResult {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let jobs = app.jobs.clone();
    let submitted = if content_type.starts_with("multipart/form-data") {
        let mut form = Multipart::from_request(request, &app)
            .await
            .map_err(|_| bad_request("the multipart form is malformed"))?;
        let (mut manifest, mut component) = (None, None);
        loop {
            let field = match form.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    return Err(crate::framework_error(StatusCode::PAYLOAD_TOO_LARGE));
                }
                Err(_) => return Err(bad_request("the multipart form is malformed")),
            };
            let name = field.name().unwrap_or("").to_owned();
            let bytes = field
                .bytes()
                .await
                .map_err(|_| bad_request("the multipart form is malformed"))?;
            match name.as_str() {
                "manifest" => {
                    manifest = Some(
                        String::from_utf8(bytes.to_vec())
                            .map_err(|_| bad_request("the manifest is not UTF-8 text"))?,
                    )
                }
                "component" => component = Some(bytes.to_vec()),
                _ => {
                    return Err(bad_request(
                        "unknown form field: send `manifest` and `component`",
                    ));
                }
            }
        }
        let (Some(manifest), Some(component)) = (manifest, component) else {
            return Err(bad_request(
                "a WASM job needs the form fields `manifest` and `component`",
            ));
        };
        blocking(move || jobs.submit_wasm(&who, &manifest, component)).await?
    } else {
        let body = Bytes::from_request(request, &app)
            .await
            .map_err(|e| crate::framework_error(e.status()))?;
        let job: SqlJob = parse_json(&headers, &body)?;
        if job.sql.len() > MAX_SQL_BYTES {
            return Err(bad_request(format!(
                "the SQL is {} bytes; at most {MAX_SQL_BYTES} are accepted",
                job.sql.len()
            )));
        }
        blocking(move || jobs.submit_sql(&who, &job.licence, &job.scenario, &job.sql)).await?
    };
    match submitted {
        Submitted::Queued(id) => Ok(json_response(
            StatusCode::ACCEPTED,
            json!({ "id": id.to_string(), "status": "queued" }),
        )),
        Submitted::Refused(refusal) => {
            let first = refusal
                .violations
                .first()
                .map(|v| v.rule.as_str())
                .unwrap_or("licence.scope");
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                first,
                "the licence does not allow this job",
            )
            .with("violations", to_value(&refusal.violations)?))
        }
        Submitted::QueueFull => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "queue_full",
            "the job queue is full; retry later",
        )),
    }
}

use axum::extract::FromRequest as _;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<usize>,
    status: Option<String>,
    after: Option<i64>,
}

async fn list_jobs(
    State(app): State<Shared>,
    Caller(who): Caller,
    Query(q): Query<ListQuery>,
) -> ApiResult {
    let platform = app.platform.clone();
    let rows = blocking(move || platform.jobs(&who, q.limit.unwrap_or(100))).await?;
    let jobs: Result<Vec<Value>, ApiError> = rows.iter().map(job_view).collect();
    ok(json!({ "jobs": jobs? }))
}

async fn job(State(app): State<Shared>, Caller(who): Caller, Path(id): Path<String>) -> ApiResult {
    let id = JobId(parse_id(&id, "job")?);
    let platform = app.platform.clone();
    let row = blocking(move || platform.job(&who, id)).await?;
    ok(job_view(&row)?)
}

/// Bytes in the format `Accept` asks for.
fn formatted(headers: &HeaderMap, ipc: &[u8], name: &str) -> ApiResult {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            "results are served as application/json, text/csv, application/vnd.apache.arrow.stream or application/vnd.apache.parquet",
        )
    })?;
    let bytes = crate::formats::convert(ipc, format)
        .map_err(|m| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", m))?;
    let ext = match format {
        Format::Json => "json",
        Format::Csv => "csv",
        Format::Arrow => "arrows",
        Format::Parquet => "parquet",
    };
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.{ext}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn job_result(
    State(app): State<Shared>,
    Caller(who): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let id = JobId(parse_id(&id, "job")?);
    let platform = app.platform.clone();
    let ipc = blocking(move || platform.job_result(&who, id)).await?;
    formatted(&headers, &ipc, &id.to_string())
}

async fn job_lineage(
    State(app): State<Shared>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let id = JobId(parse_id(&id, "job")?);
    let platform = app.platform.clone();
    let events = blocking(move || platform.job_lineage(&who, id)).await?;
    ok(json!({ "events": events }))
}

async fn cancel(
    State(app): State<Shared>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let id = JobId(parse_id(&id, "job")?);
    let jobs = app.jobs.clone();
    let cancelled = blocking(move || jobs.cancel(&who, id)).await?;
    ok(json!({ "id": id.to_string(), "cancelled": cancelled }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductRequest {
    job: String,
    name: String,
    description: String,
}

async fn request_product(
    State(app): State<Shared>,
    Caller(who): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req: ProductRequest = parse_json(&headers, &body)?;
    let job = JobId(parse_id(&req.job, "job")?);
    let jobs = app.jobs.clone();
    let id = blocking(move || jobs.request_product(&who, job, &req.name, &req.description)).await?;
    Ok(json_response(
        StatusCode::CREATED,
        json!({ "id": id.to_string(), "status": "pending" }),
    ))
}

fn product_view(view: &cleanroom_platform::ProductView) -> Result<Value, ApiError> {
    let mut v = to_value(view)?;
    if let Some(obj) = v.as_object_mut() {
        obj.insert("id".into(), json!(view.product.id.to_string()));
        obj.insert("job".into(), json!(view.product.job.to_string()));
        let report = view
            .report
            .as_deref()
            .and_then(|r| serde_json::from_str::<Value>(r).ok())
            .unwrap_or(Value::Null);
        obj.insert("report".into(), report);
    }
    Ok(v)
}

async fn list_products(
    State(app): State<Shared>,
    Caller(who): Caller,
    Query(q): Query<ListQuery>,
) -> ApiResult {
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(ProductStatus::parse(s).ok_or_else(|| {
            bad_request("status is one of pending, approved, rejected, withdrawn")
        })?),
    };
    let platform = app.platform.clone();
    let views = blocking(move || platform.products(&who, status)).await?;
    let products: Result<Vec<Value>, ApiError> = views.iter().map(product_view).collect();
    ok(json!({ "products": products? }))
}

async fn product(
    State(app): State<Shared>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let id = ProductId(parse_id(&id, "product")?);
    let platform = app.platform.clone();
    let view = blocking(move || platform.product(&who, id)).await?;
    ok(product_view(&view)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    approve: bool,
    reason: String,
}

async fn review(
    State(app): State<Shared>,
    Caller(who): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let id = ProductId(parse_id(&id, "product")?);
    let r: ReviewBody = parse_json(&headers, &body)?;
    let platform = app.platform.clone();
    let row = blocking(move || platform.review(&who, id, r.approve, &r.reason)).await?;
    ok(json!({
        "id": row.id.to_string(),
        "status": row.status.as_str(),
        "registration": row.registration,
    }))
}

async fn download(
    State(app): State<Shared>,
    Caller(who): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let id = ProductId(parse_id(&id, "product")?);
    let platform = app.platform.clone();
    let ipc = blocking(move || platform.download(&who, id)).await?;
    formatted(&headers, &ipc, &id.to_string())
}

async fn passport(
    State(app): State<Shared>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let id = ProductId(parse_id(&id, "product")?);
    let platform = app.platform.clone();
    let text = blocking(move || platform.passport(&who, id)).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], text).into_response())
}

async fn review_queue(State(app): State<Shared>, Caller(who): Caller) -> ApiResult {
    let platform = app.platform.clone();
    let views = blocking(move || platform.review_queue(&who)).await?;
    let products: Result<Vec<Value>, ApiError> = views.iter().map(product_view).collect();
    ok(json!({ "products": products? }))
}

async fn licences(State(app): State<Shared>, Caller(who): Caller) -> ApiResult {
    let platform = app.platform.clone();
    let views = blocking(move || platform.licences(&who)).await?;
    ok(json!({ "licences": to_value(&views)? }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    reason: String,
}

fn verb(verb: &str) -> Result<bool, ApiError> {
    match verb {
        "suspend" => Ok(true),
        "resume" => Ok(false),
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such route",
        )),
    }
}

async fn licence_state(
    State(app): State<Shared>,
    Caller(who): Caller,
    Path((id, v)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let suspend = verb(&v)?;
    let r: Reason = parse_json(&headers, &body)?;
    let platform = app.platform.clone();
    let lid = id.clone();
    blocking(move || platform.set_suspended(&who, &lid, suspend, &r.reason)).await?;
    ok(json!({ "licence": id, "suspended": suspend }))
}

async fn dataset_state(
    State(app): State<Shared>,
    Caller(who): Caller,
    Path((id, v)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let suspend = verb(&v)?;
    let r: Reason = parse_json(&headers, &body)?;
    let platform = app.platform.clone();
    let did = id.clone();
    blocking(move || platform.set_dataset_suspended(&who, &did, suspend, &r.reason)).await?;
    ok(json!({ "dataset": id, "suspended": suspend }))
}

async fn withdraw(
    State(app): State<Shared>,
    Caller(who): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let id = ProductId(parse_id(&id, "product")?);
    let r: Reason = parse_json(&headers, &body)?;
    let platform = app.platform.clone();
    blocking(move || platform.withdraw_product(&who, id, &r.reason)).await?;
    ok(json!({ "id": id.to_string(), "status": "withdrawn" }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    role: String,
    principal: String,
}

async fn issue_token(
    State(app): State<Shared>,
    Caller(who): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let t: TokenBody = parse_json(&headers, &body)?;
    let role = Role::parse(&t.role)
        .ok_or_else(|| bad_request("role is one of operator, reviewer, admin, auditor"))?;
    let platform = app.platform.clone();
    let token = blocking(move || platform.issue_token_as(&who, role, &t.principal)).await?;
    Ok(json_response(
        StatusCode::CREATED,
        json!({ "id": cleanroom_platform::token_id(&token), "token": token }),
    ))
}

async fn revoke_token(
    State(app): State<Shared>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let platform = app.platform.clone();
    let tid = id.clone();
    let revoked = blocking(move || platform.revoke_token(&who, &tid)).await?;
    if !revoked {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such token in force",
        ));
    }
    ok(json!({ "id": id, "revoked": true }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionQuery {
    seq: i64,
    size: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

async fn audit_checkpoint(State(app): State<Shared>, Caller(who): Caller) -> ApiResult {
    let platform = app.platform.clone();
    let checkpoint = blocking(move || platform.latest_checkpoint(&who)).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        checkpoint.note,
    )
        .into_response())
}

async fn inclusion_proof(
    State(app): State<Shared>,
    Caller(who): Caller,
    Query(q): Query<InclusionQuery>,
) -> ApiResult {
    let platform = app.platform.clone();
    let (proof, checkpoint, record) =
        blocking(move || platform.inclusion_proof(&who, q.seq, q.size)).await?;
    let mut body = to_value(&proof)?;
    body["record"] = json!(record);
    body["checkpoint"] = json!(checkpoint.note);
    ok(body)
}

async fn consistency_proof(
    State(app): State<Shared>,
    Caller(who): Caller,
    Query(q): Query<ConsistencyQuery>,
) -> ApiResult {
    let platform = app.platform.clone();
    let (proof, checkpoint) =
        blocking(move || platform.consistency_proof(&who, q.from, q.to)).await?;
    let mut body = to_value(&proof)?;
    body["checkpoint"] = json!(checkpoint.note);
    ok(body)
}

async fn audit(
    State(app): State<Shared>,
    Caller(who): Caller,
    Query(q): Query<ListQuery>,
) -> ApiResult {
    let platform = app.platform.clone();
    let records =
        blocking(move || platform.audit(&who, q.after.unwrap_or(0), q.limit.unwrap_or(100)))
            .await?;
    ok(json!({ "records": to_value(&records)? }))
}
