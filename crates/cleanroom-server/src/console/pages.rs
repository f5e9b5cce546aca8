//! The console's pages. Each one calls the platform function the matching `/v1` route calls,
//! with the signed-in principal, so the same authorization decides.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use cleanroom_platform::{ProductView, Role};
use cleanroom_store::{JobStatus, ProductId, ProductStatus};
use maud::html;
use serde::Deserialize;
use serde_json::Value;

use super::{
    Failure, Lang, PageResult, Posted, Shared, Signed, csrf_field, lineage, page, render, see_other,
};
use crate::api::{blocking, parse_id};

/// Audit records per page.
const AUDIT_PAGE: usize = 100;

fn fail(lang: Lang) -> impl Fn(crate::ApiError) -> Failure {
    move |e| Failure::api(e, lang)
}

pub(crate) async fn home(s: Signed) -> Response {
    let l = s.lang;
    let body = html! {
        h1 { (l.t("控制台", "Console")) }
        p { (l.t("已登录：", "Signed in as ")) strong { (s.who.id) } " (" (s.who.role.as_str()) ")" }
        ul {
            @if s.who.role == Role::Reviewer { li { a href="/console/review" { (l.t("待审核的数据产品", "Products waiting for review")) } } }
            @if matches!(s.who.role, Role::Admin | Role::Auditor) { li { a href="/console/licences" { (l.t("许可及其状态", "Licences and their state")) } } }
            @if s.who.role == Role::Auditor { li { a href="/console/audit" { (l.t("审计日志与校验", "The audit log and its verification")) } } }
        }
    };
    page(l, Some(&s), l.t("控制台", "Console"), body)
}

/// The highest grade of the datasets the product's licence covers: the grade the release
/// quorum is set by.
fn grade(app: &crate::App, view: &ProductView) -> &'static str {
    let policies = app.platform.policies();
    policies
        .licence(&view.licence)
        .into_iter()
        .flat_map(|l| l.datasets.iter())
        .filter_map(|d| policies.dataset(d).map(|d| d.grade))
        .max()
        .unwrap_or(cleanroom_policy::Grade::General)
        .as_str()
}

/// Grades from the least to the most protected.
fn rank(grade: &str) -> u8 {
    match grade {
        "core" => 2,
        "important" => 1,
        _ => 0,
    }
}

fn report_of(view: &ProductView) -> Value {
    view.report
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or(Value::Null)
}

fn age(app: &crate::App, at: chrono::DateTime<chrono::Utc>, l: Lang) -> String {
    let minutes = (app.platform.now() - at).num_minutes().max(0);
    match (minutes, l) {
        (m, Lang::Zh) if m < 120 => format!("{m} 分钟"),
        (m, Lang::Zh) if m < 48 * 60 => format!("{} 小时", m / 60),
        (m, Lang::Zh) => format!("{} 天", m / 1440),
        (m, Lang::En) if m < 120 => format!("{m} min"),
        (m, Lang::En) if m < 48 * 60 => format!("{} h", m / 60),
        (m, Lang::En) => format!("{} d", m / 1440),
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct QueueQuery {
    licence: Option<String>,
    grade: Option<String>,
    /// `age` (oldest first, the default), `newest`, `licence`, `grade`.
    sort: Option<String>,
}

pub(crate) async fn queue(
    State(app): State<Shared>,
    s: Signed,
    Query(q): Query<QueueQuery>,
) -> PageResult {
    let l = s.lang;
    let platform = app.platform.clone();
    let who = s.who.clone();
    let views = blocking(move || platform.review_queue(&who))
        .await
        .map_err(fail(l))?;
    let mut rows: Vec<(ProductView, &'static str)> = views
        .into_iter()
        .map(|v| {
            let g = grade(&app, &v);
            (v, g)
        })
        .filter(|(v, g)| {
            q.licence
                .as_deref()
                .is_none_or(|x| x.is_empty() || v.licence == x)
                && q.grade.as_deref().is_none_or(|x| x.is_empty() || *g == x)
        })
        .collect();
    match q.sort.as_deref() {
        Some("newest") => rows.sort_by_key(|r| std::cmp::Reverse(r.0.product.requested_at)),
        Some("licence") => rows.sort_by(|a, b| a.0.licence.cmp(&b.0.licence)),
        Some("grade") => rows.sort_by(|a, b| {
            rank(b.1)
                .cmp(&rank(a.1))
                .then(a.0.product.requested_at.cmp(&b.0.product.requested_at))
        }),
        _ => rows.sort_by_key(|r| r.0.product.requested_at),
    }
    let licences: Vec<String> = app.platform.policies().licences.keys().cloned().collect();
    let title = l.t("审核队列", "Review queue");
    let body = html! {
        h1 { (title) }
        form.filters method="get" action="/console/review" {
            label for="f-licence" { (l.t("许可", "Licence")) }
            select id="f-licence" name="licence" {
                option value="" { (l.t("全部", "all")) }
                @for id in &licences { option value=(id) selected[q.licence.as_deref() == Some(id.as_str())] { (id) } }
            }
            label for="f-grade" { (l.t("数据级别", "Grade")) }
            select id="f-grade" name="grade" {
                option value="" { (l.t("全部", "all")) }
                @for g in ["general", "important", "core"] { option value=(g) selected[q.grade.as_deref() == Some(g)] { (g) } }
            }
            label for="f-sort" { (l.t("排序", "Sort")) }
            select id="f-sort" name="sort" {
                @for (v, zh, en) in [("age", "等待最久", "oldest first"), ("newest", "最新", "newest first"), ("licence", "许可", "licence"), ("grade", "数据级别", "grade")] {
                    option value=(v) selected[q.sort.as_deref() == Some(v)] { (l.t(zh, en)) }
                }
            }
            button type="submit" { (l.t("筛选", "Filter")) }
        }
        @if rows.is_empty() {
            p.empty { (l.t("没有等待您审核的数据产品。", "No product is waiting for your review.")) }
        } @else {
            table.queue {
                (render::thead(l, &[
                    ("数据产品", "Product"), ("运营方", "Operator"), ("许可", "Licence"), ("场景", "Scenario"),
                    ("数据级别", "Grade"), ("等待时长", "Waiting"), ("批准进度", "Approvals"),
                ]))
                tbody {
                    @for (v, g) in &rows {
                        tr {
                            th scope="row" { a href=(format!("/console/products/{}", v.product.id.0)) { (v.product.id.to_string()) " " (v.product.name) } }
                            td { (v.operator) }
                            td { (v.licence) }
                            td { (v.scenario) }
                            td { span class=(format!("grade g-{g}")) { (g) } }
                            td { (age(&app, v.product.requested_at, l)) }
                            td { (v.approvals) " / " (v.product.quorum) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(l, Some(&s), title, body))
}

#[derive(Deserialize, Default)]
pub(crate) struct PageQuery {
    page: Option<usize>,
}

pub(crate) async fn product(
    State(app): State<Shared>,
    s: Signed,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> PageResult {
    let l = s.lang;
    let id = ProductId(parse_id(&id, "product").map_err(fail(l))?);
    let platform = app.platform.clone();
    let who = s.who.clone();
    let view = blocking(move || platform.product(&who, id))
        .await
        .map_err(fail(l))?;
    let report = report_of(&view);
    // The checked result, for whoever the policies let read it (reviewers while in review);
    // others see why not.
    let platform = app.platform.clone();
    let who = s.who.clone();
    let job = view.product.job;
    let (kind, result) = blocking(move || {
        // The job's kind, where the policies let the caller read the job.
        let kind = platform.job(&who, job).ok().map(|j| j.kind);
        Ok((kind, platform.job_result(&who, job)))
    })
    .await
    .map_err(fail(l))?;
    let result = result.map_err(crate::ApiError::from);
    let result: Result<Vec<arrow::array::RecordBatch>, String> = match result {
        Ok(ipc) => crate::formats::batches(&ipc),
        Err(e) => Err(e.message().to_owned()),
    };
    let page_no = q.page.unwrap_or(1).max(1);
    let policies = app.platform.policies();
    let class_of = |ds: &str, col: &str| -> Option<&'static str> {
        policies.dataset(ds)?.column(col)?.class.map(|c| c.as_str())
    };
    let svg = lineage::svg(report.get("lineage"), &class_of, l);
    let battery = view
        .battery
        .as_ref()
        .and_then(|b| serde_json::to_value(b).ok());
    let title = format!("{} {}", view.product.id, view.product.name);
    let p = &view.product;
    let violations = report["violations"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let body = html! {
        h1 { (view.product.id.to_string()) " " (p.name) }
        p.description { (p.description) }
        dl.facts {
            dt { (l.t("状态", "Status")) } dd { span class=(format!("status s-{}", p.status.as_str())) { (p.status.as_str()) } }
            dt { (l.t("运营方", "Operator")) } dd { (view.operator) }
            dt { (l.t("许可 / 场景", "Licence / scenario")) } dd { (view.licence) " / " (view.scenario) }
            dt { (l.t("数据级别", "Grade")) } dd { (grade(&app, &view)) }
            dt { (l.t("批准进度", "Approvals")) } dd { (view.approvals) " / " (p.quorum) }
            dt { (l.t("作业", "Job")) } dd { (p.job.to_string()) }
            dt { (l.t("来源哈希", "Source hash")) } dd { code { (view.source_hash) } }
            @if let Some(reg) = &p.registration {
                dt { (l.t("登记号", "Registration")) } dd { strong.registration { (reg) } }
            }
        }
        @if p.status == ProductStatus::Approved {
            p { (l.t("数据产品护照（签名的 JSON）：", "The product passport (signed JSON): "))
                code { "GET /v1/products/" (p.id.0) "/passport" } }
        }
        section aria-labelledby="h-source" {
            h2 id="h-source" { (l.t("作业源码", "Job source")) }
            @match view.source.as_deref() {
                Some(src) if kind == Some(cleanroom_policy::JobKind::Sql) => (render::sql(src)),
                Some(src) => {
                    p { (l.t("WASM 作业清单；组件哈希：", "WASM job manifest; component hash: ")) code { (view.source_hash) } }
                    pre.manifest { code { (src) } }
                }
                None => p { (l.t("无源码记录", "No source recorded")) },
            }
        }
        section aria-labelledby="h-report" {
            h2 id="h-report" { (l.t("策略检查报告", "Policy report")) }
            dl.facts {
                dt { (l.t("决定", "Decision")) } dd { (report["decision"].as_str().unwrap_or("—")) }
                dt { (l.t("阈值 k", "Threshold k")) } dd { (report["k"].to_string()) }
                dt { (l.t("被抑制的组", "Suppressed groups")) } dd.suppressed { (report["suppressed_groups"].as_u64().unwrap_or(0))
                    " (" (l.t("阈值 ", "threshold ")) (report["suppression"]["threshold"].as_u64().unwrap_or(0))
                    ", n-k " (report["suppression"]["dominance_nk"].as_u64().unwrap_or(0))
                    ", p% " (report["suppression"]["dominance_p_ratio"].as_u64().unwrap_or(0)) ")" }
                dt { "ε" } dd.epsilon { (report["epsilon"].as_f64().map_or_else(|| l.t("未使用差分隐私", "no differential privacy").to_owned(), |e| format!("{e}"))) }
                dt { (l.t("策略版本", "Policy version")) } dd { (report["policy_version"].as_str().unwrap_or("")) }
            }
            @if violations.is_empty() {
                p { (l.t("没有违反的规则。", "No rule was violated.")) }
            } @else {
                table.violations {
                    (render::thead(l, &[("规则", "Rule"), ("对象", "Target"), ("原因", "Reason"), ("建议", "Suggestion")]))
                    tbody { @for v in violations { tr {
                        td { code { (v["rule"].as_str().unwrap_or("")) } }
                        td { (v["target"].as_str().unwrap_or("")) }
                        td { (v["reason"].as_str().unwrap_or("")) }
                        td { (v["suggestion"].as_str().unwrap_or("")) }
                    } } }
                }
            }
        }
        section aria-labelledby="h-lineage" {
            h2 id="h-lineage" { (l.t("数据血缘", "Lineage")) }
            @match svg { Some(svg) => figure { (svg) }, None => p { (l.t("报告中没有血缘信息。", "The report carries no lineage.")) } }
        }
        section aria-labelledby="h-result" {
            h2 id="h-result" { (l.t("已检查的结果", "Checked result")) }
            @match &result {
                Ok(batches) => {
                    @let (table, pages) = render::result_page(batches, page_no - 1, l);
                    (table)
                    @if pages > 1 {
                        nav.pager aria-label=(l.t("结果分页", "Result pages")) {
                            @if page_no > 1 { a rel="prev" href=(format!("?page={}", page_no - 1)) { (l.t("上一页", "Previous")) } }
                            " " (page_no.min(pages)) " / " (pages) " "
                            @if page_no < pages { a rel="next" href=(format!("?page={}", page_no + 1)) { (l.t("下一页", "Next")) } }
                        }
                    }
                }
                Err(why) => p.note { (l.t("结果不可见：", "The result is not shown: ")) (why) },
            }
        }
        section aria-labelledby="h-battery" {
            h2 id="h-battery" { (l.t("攻击测试", "Attack battery")) }
            (render::battery(battery.as_ref(), l))
        }
        section aria-labelledby="h-reviews" {
            h2 id="h-reviews" { (l.t("审核记录", "Reviews")) }
            @if view.reviews.is_empty() { p { (l.t("尚无审核。", "No review yet.")) } }
            @else { ul.reviews { @for r in &view.reviews {
                li { strong { (r.reviewer) } " · " (if r.approve { l.t("批准", "approved") } else { l.t("驳回", "rejected") })
                     " · " (r.at.format("%Y-%m-%d %H:%M UTC").to_string()) " — " (r.reason) }
            } } }
        }
        @if p.status == ProductStatus::Pending && s.who.role == Role::Reviewer {
            section aria-labelledby="h-decide" {
                h2 id="h-decide" { (l.t("审核决定", "Decision")) }
                form.review method="post" action=(format!("/console/products/{}/review", p.id.0)) {
                    (csrf_field(&s.csrf))
                    fieldset {
                        legend { (l.t("批准还是驳回", "Approve or reject")) }
                        p { input type="radio" id="d-approve" name="decision" value="approve" required;
                            label for="d-approve" { (l.t("批准", "Approve")) } }
                        p { input type="radio" id="d-reject" name="decision" value="reject";
                            label for="d-reject" { (l.t("驳回", "Reject")) } }
                    }
                    p { label for="reason" { (l.t("理由（必填）", "Reason (required)")) }
                        textarea id="reason" name="reason" required maxlength=(cleanroom_platform::MAX_REASON_CHARS) rows="3" {} }
                    p { button type="submit" id="submit-review" { (l.t("提交审核", "Submit review")) } }
                }
            }
        }
    };
    Ok(page(l, Some(&s), &title, body))
}

pub(crate) async fn review(
    State(app): State<Shared>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let l = posted.signed.lang;
    let id = ProductId(parse_id(&id, "product").map_err(fail(l))?);
    let approve = match posted.field("decision") {
        Some("approve") => true,
        Some("reject") => false,
        _ => {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                l.t("请选择批准或驳回", "choose approve or reject"),
                l,
            ));
        }
    };
    let reason = posted.field("reason").unwrap_or("").trim().to_owned();
    let platform = app.platform.clone();
    let who = posted.signed.who.clone();
    blocking(move || platform.review(&who, id, approve, &reason))
        .await
        .map_err(fail(l))?;
    Ok(see_other(&format!("/console/products/{}", id.0)))
}

pub(crate) async fn licences(State(app): State<Shared>, s: Signed) -> PageResult {
    let l = s.lang;
    let platform = app.platform.clone();
    let who = s.who.clone();
    let (views, jobs, budgets) = blocking(move || {
        let views = platform.licences(&who)?;
        let jobs = platform.jobs(&who, cleanroom_platform::MAX_LIST)?;
        let budgets = views
            .iter()
            .map(|v| Ok((v.licence.id.clone(), platform.budget(&v.licence.id)?)))
            .collect::<cleanroom_platform::Result<BTreeMap<_, _>>>()?;
        Ok((views, jobs, budgets))
    })
    .await
    .map_err(fail(l))?;
    let now = app.platform.now();
    let manage = s.who.role == Role::Admin;
    let title = l.t("许可", "Licences");
    let body = html! {
        h1 { (title) }
        p.note { (l.t("作业与拒绝计数取自最近的作业（至多 ", "Job and refusal counts are over the latest jobs (at most "))
            (cleanroom_platform::MAX_LIST) (l.t(" 个）。", ").")) }
        @for v in &views {
            @let lic = &v.licence;
            @let mine: Vec<_> = jobs.iter().filter(|j| j.licence == lic.id).collect();
            @let blocked = mine.iter().filter(|j| j.status == JobStatus::Blocked).count();
            @let blocked_recent = mine.iter().filter(|j| j.status == JobStatus::Blocked
                && now - j.submitted_at < chrono::Duration::hours(cleanroom_platform::VIOLATION_WINDOW_HOURS)).count();
            @let idle_days = mine.iter().map(|j| j.submitted_at).max().map(|t| (now - t).num_days());
            @let suspended = v.state.as_ref().is_some_and(|s| s.suspended) || lic.suspended;
            @let today = now.date_naive();
            @let (status_class, status) = if suspended {
                ("status s-suspended", l.t("已暂停", "suspended"))
            } else if today > lic.valid_until {
                ("status s-suspended", l.t("已过期", "expired"))
            } else if today < lic.valid_from {
                ("status s-suspended", l.t("尚未生效", "not yet valid"))
            } else {
                ("status s-active", l.t("有效", "in force"))
            };
            section.licence aria-labelledby=(format!("l-{}", lic.id)) {
                h2 id=(format!("l-{}", lic.id)) { (lic.id) " " span class=(status_class) { (status) } }
                dl.facts {
                    dt { (l.t("运营方", "Operator")) } dd { (lic.operator) }
                    dt { (l.t("有效期", "Valid")) } dd { (lic.valid_from.to_string()) " – " (lic.valid_until.to_string()) }
                    @if let Some(reason) = v.state.as_ref().and_then(|s| s.reason.as_deref()) {
                        dt { (l.t("状态原因", "Reason of the state")) } dd { (reason) }
                    }
                    dt { (l.t("作业（24 小时内 / 全部）", "Jobs (24 h / all)")) } dd { (v.jobs_last_24h) " / " (mine.len()) }
                    dt { (l.t("被拦截（24 小时内 / 全部）", "Blocked (24 h / all)")) } dd { (blocked_recent) " / " (blocked)
                        " (" (l.t("达到 ", "suspended at ")) (cleanroom_platform::VIOLATIONS_TO_SUSPEND) (l.t(" 次即暂停", "")) ")" }
                    dt { (l.t("闲置天数", "Days idle")) } dd { (idle_days.map_or_else(|| "—".to_owned(), |d| d.to_string()))
                        " / " (cleanroom_platform::DORMANT_AFTER_DAYS) }
                    dt { (l.t("隐私预算 ε（已用 / 剩余）", "Budget ε (used / left)")) }
                    dd { @for b in budgets.get(&lic.id).into_iter().flatten() {
                        span.budget { (b.dataset) ": " (format!("{:.3}", b.spent)) " / " (format!("{:.3}", b.left)) } " "
                    } }
                }
                @if manage {
                    @let verb = if suspended { "resume" } else { "suspend" };
                    form method="post" action=(format!("/console/licences/{}/{verb}", lic.id)) {
                        (csrf_field(&s.csrf))
                        label for=(format!("r-{}", lic.id)) { (l.t("理由", "Reason")) }
                        input id=(format!("r-{}", lic.id)) name="reason" required maxlength=(cleanroom_platform::MAX_REASON_CHARS);
                        button type="submit" { (if suspended { l.t("恢复", "Resume") } else { l.t("暂停", "Suspend") }) }
                    }
                }
            }
        }
    };
    Ok(page(l, Some(&s), title, body))
}

pub(crate) async fn licence_state(
    State(app): State<Shared>,
    Path((id, verb)): Path<(String, String)>,
    posted: Posted,
) -> PageResult {
    let l = posted.signed.lang;
    let suspend = match verb.as_str() {
        "suspend" => true,
        "resume" => false,
        _ => {
            return Err(Failure::new(
                StatusCode::NOT_FOUND,
                l.t("没有这个操作", "no such action"),
                l,
            ));
        }
    };
    let reason = posted.field("reason").unwrap_or("").trim().to_owned();
    let platform = app.platform.clone();
    let who = posted.signed.who.clone();
    blocking(move || platform.set_suspended(&who, &id, suspend, &reason))
        .await
        .map_err(fail(l))?;
    Ok(see_other("/console/licences"))
}

#[derive(Deserialize, Default)]
pub(crate) struct AuditQuery {
    after: Option<i64>,
    action: Option<String>,
    actor: Option<String>,
    licence: Option<String>,
}

pub(crate) async fn audit(
    State(app): State<Shared>,
    s: Signed,
    Query(q): Query<AuditQuery>,
) -> PageResult {
    let l = s.lang;
    let platform = app.platform.clone();
    let who = s.who.clone();
    let after = q.after.unwrap_or(0).max(0);
    let (records, checkpoint) = blocking(move || {
        let records = platform.audit(&who, after, cleanroom_platform::MAX_LIST)?;
        let checkpoint = platform.latest_checkpoint(&who)?;
        Ok((records, checkpoint))
    })
    .await
    .map_err(fail(l))?;
    let keep = |want: &Option<String>, have: &str| {
        want.as_deref()
            .is_none_or(|w| w.is_empty() || have.contains(w))
    };
    let scanned_to = records.last().map(|r| r.seq);
    let shown: Vec<_> = records
        .iter()
        .filter(|r| {
            keep(&q.action, &r.audit.action)
                && keep(&q.actor, &r.audit.actor)
                && keep(&q.licence, r.audit.licence.as_deref().unwrap_or(""))
        })
        .take(AUDIT_PAGE)
        .collect();
    let next = if shown.len() == AUDIT_PAGE {
        shown.last().map(|r| r.seq)
    } else {
        scanned_to.filter(|_| records.len() == cleanroom_platform::MAX_LIST)
    };
    let query = |after: i64| {
        let mut s = format!("?after={after}");
        for (k, v) in [
            ("action", &q.action),
            ("actor", &q.actor),
            ("licence", &q.licence),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                s.push_str(&format!("&{k}={}", render::percent_encode(v)));
            }
        }
        s
    };
    let title = l.t("审计日志", "Audit log");
    let body = html! {
        h1 { (title) }
        section aria-labelledby="h-checkpoint" {
            h2 id="h-checkpoint" { (l.t("最新签名检查点", "Latest signed checkpoint")) }
            pre.checkpoint { (checkpoint.note) }
            form method="post" action="/console/audit/verify" {
                (csrf_field(&s.csrf))
                button type="submit" id="verify-now" { (l.t("立即完整校验", "Verify now")) }
            }
        }
        form.filters method="get" action="/console/audit" {
            @for (name, zh, en, value) in [("action", "操作", "Action", &q.action), ("actor", "操作者", "Actor", &q.actor), ("licence", "许可", "Licence", &q.licence)] {
                label for=(format!("f-{name}")) { (l.t(zh, en)) }
                input id=(format!("f-{name}")) name=(name) value=(value.as_deref().unwrap_or("")) maxlength="100";
            }
            button type="submit" { (l.t("筛选", "Filter")) }
        }
        table.audit {
            (render::thead(l, &[
                ("序号", "#"), ("时间", "Time"), ("操作者", "Actor"), ("角色", "Role"),
                ("操作", "Action"), ("对象", "Object"), ("许可", "Licence"), ("结果", "Outcome"),
            ]))
            tbody { @for r in &shown { tr {
                td { (r.seq) } td { (r.audit.at.format("%Y-%m-%d %H:%M:%S").to_string()) } td { (r.audit.actor) }
                td { (r.audit.role) } td { code { (r.audit.action) } } td { (r.audit.object) }
                td { (r.audit.licence.as_deref().unwrap_or("")) } td { (r.audit.outcome) }
            } } }
        }
        nav.pager aria-label=(l.t("日志分页", "Log pages")) {
            @if after > 0 { a href=(query(0)) { (l.t("从头开始", "From the start")) } " " }
            @if let Some(n) = next { a rel="next" href=(query(n)) { (l.t("更多记录", "More records")) } }
        }
    };
    Ok(page(l, Some(&s), title, body))
}

/// Runs the full verification `cleanroom audit verify` runs, on the server's own state, for
/// those the policies let read the log.
pub(crate) async fn verify(State(app): State<Shared>, posted: Posted) -> PageResult {
    let s = &posted.signed;
    let l = s.lang;
    let platform = app.platform.clone();
    let who = s.who.clone();
    let state = app.state.clone();
    let v = blocking(move || {
        // The same authorization as reading the log.
        platform.latest_checkpoint(&who)?;
        let internal =
            |e: cleanroom_store::Error| cleanroom_platform::Error::Internal(e.to_string());
        let verifier =
            cleanroom_store::log::read_verifier(&state.join(cleanroom_store::log::PUBKEY_FILE))
                .map_err(internal)?;
        cleanroom_store::verify::verify_state(&state, &verifier, None).map_err(internal)
    })
    .await
    .map_err(fail(l))?;
    let title = l.t("审计日志校验", "Audit log verification");
    let body = html! {
        h1 { (title) }
        @if v.ok() {
            p.ok role="status" { (l.t("校验通过：每条记录与其叶子一致，每个检查点签名有效并与树一致，且逐个延续。",
                "OK: every record matches its leaf, every checkpoint is signed by this key and matches the tree, and each extends the one before.")) }
        } @else {
            p.error role="alert" { (l.t("校验失败：", "FAILED: ")) (v.problems.first().map(String::as_str).unwrap_or("")) }
            ul { @for p in v.problems.iter().skip(1).take(50) { li { (p) } } }
        }
        dl.facts {
            dt { (l.t("记录", "Records")) } dd { (v.records) " (" (v.purged) (l.t(" 条已清除", " purged")) ")" }
            dt { (l.t("检查点", "Checkpoints")) } dd { (v.checkpoints) }
            @if let Some((size, root)) = &v.latest { dt { (l.t("最新有效检查点", "Latest good checkpoint")) } dd { (size) " · " code { (root) } } }
            dt { (l.t("尚未签名的记录", "Records not yet signed")) } dd { (v.uncovered) }
        }
        p { a href="/console/audit" { (l.t("返回审计日志", "Back to the audit log")) } }
    };
    Ok(page(l, Some(s), title, body))
}
