//! The reviewer console (issue 7): server-rendered HTML under `/console` for the bureau's
//! staff. Reviewers work through the queue and approve or reject products; admins watch and
//! suspend licences; auditors read and verify the log. Chinese by default, English on request.
//!
//! Every action goes through the same [`Platform`](cleanroom_platform::Platform) functions as
//! the `/v1` API, so the same Cedar policies decide who may do what: an operator signed in
//! here is refused the review, licence and audit pages exactly as its token is refused the
//! API routes. No page shows raw rows: a reviewer sees the checked result the API would serve.
//!
//! Security: a session is a random 256-bit id in an `HttpOnly; SameSite=Strict` cookie scoped
//! to `/console`, held server-side (bounded, expiring); every form carries the session's CSRF
//! token and every POST is refused (403) without it; the sign-in form is protected by a
//! double-submit token of its own. Every response carries a strict Content-Security-Policy
//! (no script at all, styles from the one stylesheet served here), `nosniff`, `no-referrer`,
//! `DENY` framing and, for pages, `no-store`. maud escapes everything shown.

mod lineage;
mod pages;
mod render;
mod session;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cleanroom_platform::{Principal, Role};
use maud::{DOCTYPE, Markup, html};

pub use render::percent_encode;
pub use session::Sessions;

use crate::{ApiError, App};

type Shared = Arc<App>;

/// Bytes a console form may send: a reason and a few fields.
pub const MAX_FORM_BYTES: usize = 16 << 10;

const SESSION_COOKIE: &str = "cr_session";
/// The sign-in form's double-submit token.
const PRESESSION_COOKIE: &str = "cr_signin";
const LANG_COOKIE: &str = "cr_lang";
const CSS: &str = include_str!("console.css");
const CSS_PATH: &str = "/console/static/console-1.css";

/// The Content-Security-Policy of every console response: nothing runs, nothing is framed,
/// styles and images come from here only, forms post here only.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's state: its sessions, and whether cookies are marked `Secure`.
#[derive(Default)]
pub struct Console {
    pub sessions: Sessions,
    /// True when the server is reached over TLS (a terminating proxy in front); this server
    /// speaks plain HTTP on its own, so by default false.
    pub secure_cookies: bool,
}

/// The language of a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// The text in this language.
    pub fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    fn of(headers: &HeaderMap) -> Lang {
        match cookie(headers, LANG_COOKIE).as_deref() {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }
}

/// The routes under `/console`.
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/console", get(pages::home))
        .route("/console/signin", get(signin_form).post(signin))
        .route("/console/signout", post(signout))
        .route("/console/lang/{code}", get(set_lang))
        .route(CSS_PATH, get(stylesheet))
        .route("/console/review", get(pages::queue))
        .route("/console/products/{id}", get(pages::product))
        .route("/console/products/{id}/review", post(pages::review))
        .route("/console/licences", get(pages::licences))
        .route("/console/licences/{id}/{verb}", post(pages::licence_state))
        .route("/console/audit", get(pages::audit))
        .route("/console/audit/verify", post(pages::verify))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM_BYTES))
}

/// Adds the security headers to a console response (called by the envelope for every
/// response under `/console`, errors of the framework included).
pub(crate) fn secure(response: &mut Response) {
    let h = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", CSP),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn set_cookie(app: &App, name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
    let mut c = format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/console");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if app.console.secure_cookies {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A page that could not be shown: a redirect to sign in, or an error page.
pub(crate) enum Failure {
    SignIn,
    Status {
        status: StatusCode,
        message: String,
        lang: Lang,
    },
}

impl Failure {
    fn new(status: StatusCode, message: impl Into<String>, lang: Lang) -> Failure {
        Failure::Status {
            status,
            message: message.into(),
            lang,
        }
    }

    fn api(e: ApiError, lang: Lang) -> Failure {
        Failure::new(e.status(), e.message(), lang)
    }

    fn forbidden(lang: Lang) -> Failure {
        Failure::new(
            StatusCode::FORBIDDEN,
            lang.t(
                "表单缺少有效的防伪令牌，请重新打开页面后再提交",
                "the form lacks a valid anti-forgery token; open the page again and resubmit",
            ),
            lang,
        )
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            Failure::SignIn => see_other("/console/signin"),
            Failure::Status {
                status,
                message,
                lang,
            } => {
                let title = match status {
                    StatusCode::FORBIDDEN => lang.t("无权访问", "Forbidden"),
                    StatusCode::NOT_FOUND => lang.t("未找到", "Not found"),
                    s if s.is_server_error() => lang.t("服务器错误", "Server error"),
                    _ => lang.t("请求有误", "Request refused"),
                };
                let body = html! {
                    h1 { (title) }
                    p.error { (message) }
                    p { a href="/console" { (lang.t("返回控制台首页", "Back to the console")) } }
                };
                let mut r = page(lang, None, title, body);
                *r.status_mut() = status;
                r
            }
        }
    }
}

pub(crate) type PageResult = Result<Response, Failure>;

fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The signed-in caller of a console request.
pub(crate) struct Signed {
    pub who: Principal,
    pub csrf: String,
    pub lang: Lang,
    sid: String,
}

impl FromRequestParts<Shared> for Signed {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, app: &Shared) -> Result<Self, Failure> {
        let lang = Lang::of(&parts.headers);
        let sid = cookie(&parts.headers, SESSION_COOKIE).ok_or(Failure::SignIn)?;
        let session = app.console.sessions.get(&sid).ok_or(Failure::SignIn)?;
        let platform = app.platform.clone();
        let token = session.token.clone();
        let who = crate::api::blocking(move || platform.authenticate(&token))
            .await
            .map_err(|e| Failure::api(e, lang))?;
        let Some(who) = who else {
            // The token was revoked: the session ends with it.
            app.console.sessions.end(&sid);
            return Err(Failure::SignIn);
        };
        if !app.take(&cleanroom_platform::token_id(&session.token)) {
            return Err(Failure::new(
                StatusCode::TOO_MANY_REQUESTS,
                lang.t(
                    "请求过于频繁，请稍后再试",
                    "too many requests; retry shortly",
                ),
                lang,
            ));
        }
        Ok(Signed {
            who,
            csrf: session.csrf,
            lang,
            sid,
        })
    }
}

/// A form POST of a signed-in caller whose CSRF token matched: the only way a console
/// handler receives a form.
pub(crate) struct Posted {
    pub signed: Signed,
    pub fields: Vec<(String, String)>,
}

impl Posted {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a form body; a malformed one is a refusal in the console's own shape.
async fn form_fields(
    req: Request,
    app: &Shared,
    lang: Lang,
) -> Result<Vec<(String, String)>, Failure> {
    match axum::Form::<Vec<(String, String)>>::from_request(req, app).await {
        Ok(axum::Form(fields)) => Ok(fields),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            lang.t("表单内容过长", "the form is too large"),
            lang,
        )),
        Err(_) => Err(Failure::new(
            StatusCode::BAD_REQUEST,
            lang.t("表单格式有误", "the form is malformed"),
            lang,
        )),
    }
}

impl FromRequest<Shared> for Posted {
    type Rejection = Failure;

    async fn from_request(req: Request, app: &Shared) -> Result<Self, Failure> {
        let (mut parts, body) = req.into_parts();
        let lang = Lang::of(&parts.headers);
        let signed = match Signed::from_request_parts(&mut parts, app).await {
            Ok(s) => s,
            // A POST without a session is refused, not redirected: nothing is done.
            Err(Failure::SignIn) => return Err(Failure::forbidden(lang)),
            Err(e) => return Err(e),
        };
        let fields = form_fields(Request::from_parts(parts, body), app, lang).await?;
        let sent = fields
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        if !session::same(sent, &signed.csrf) {
            return Err(Failure::forbidden(lang));
        }
        Ok(Posted { signed, fields })
    }
}

/// The hidden field every form of a session carries.
pub(crate) fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A whole page: the layout, the navigation for the caller's role, and `main`.
pub(crate) fn page(lang: Lang, signed: Option<&Signed>, title: &str, main: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (lang.t("洁净室审核控制台", "Cleanroom console")) }
                link rel="stylesheet" href=(CSS_PATH);
            }
            body {
                a.skip href="#main" { (lang.t("跳到正文", "Skip to content")) }
                header {
                    nav aria-label=(lang.t("主导航", "Main")) {
                        a.brand href="/console" { (lang.t("洁净室控制台", "Cleanroom console")) }
                        @if let Some(s) = signed {
                            @if s.who.role == Role::Reviewer {
                                a href="/console/review" { (lang.t("审核队列", "Review queue")) }
                            }
                            @if matches!(s.who.role, Role::Admin | Role::Auditor) {
                                a href="/console/licences" { (lang.t("许可", "Licences")) }
                            }
                            @if s.who.role == Role::Auditor {
                                a href="/console/audit" { (lang.t("审计日志", "Audit log")) }
                            }
                        }
                        @match lang {
                            Lang::Zh => a href="/console/lang/en" lang="en" { "English" },
                            Lang::En => a href="/console/lang/zh" lang="zh-CN" { "中文" },
                        }
                        @if let Some(s) = signed {
                            span.who { (s.who.id) " (" (s.who.role.as_str()) ")" }
                            form.inline method="post" action="/console/signout" {
                                (csrf_field(&s.csrf))
                                button type="submit" { (lang.t("退出", "Sign out")) }
                            }
                        }
                    }
                }
                main id="main" { (main) }
            }
        }
    };
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            // The path carries the version: a new stylesheet gets a new path.
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        CSS,
    )
        .into_response()
}

async fn set_lang(
    State(app): State<Shared>,
    axum::extract::Path(code): axum::extract::Path<String>,
) -> Response {
    let value = if code == "en" { "en" } else { "zh" };
    let mut r = see_other("/console");
    r.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&app, LANG_COOKIE, value, Some(365 * 24 * 3600)),
    );
    r
}

async fn signin_form(State(app): State<Shared>, headers: HeaderMap) -> PageResult {
    let lang = Lang::of(&headers);
    let Some(pre) = session::random_hex() else {
        return Err(Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no random source",
            lang,
        ));
    };
    Ok(signin_page(&app, lang, &pre, None))
}

fn signin_page(app: &App, lang: Lang, pre: &str, error: Option<&str>) -> Response {
    let title = lang.t("登录", "Sign in");
    let body = html! {
        h1 { (title) }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        form method="post" action="/console/signin" {
            input type="hidden" name="csrf" value=(pre);
            p {
                label for="token" { (lang.t("访问令牌", "Access token")) }
                input id="token" name="token" type="password" autocomplete="off" required maxlength="200";
            }
            p { button type="submit" { (lang.t("登录", "Sign in")) } }
        }
    };
    let mut r = page(lang, None, title, body);
    r.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(app, PRESESSION_COOKIE, pre, Some(3600)),
    );
    r
}

async fn signin(State(app): State<Shared>, req: Request) -> PageResult {
    let lang = Lang::of(req.headers());
    let pre = cookie(req.headers(), PRESESSION_COOKIE).unwrap_or_default();
    let fields = form_fields(req, &app, lang).await?;
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    if pre.is_empty() || !session::same(&get("csrf"), &pre) {
        return Err(Failure::forbidden(lang));
    }
    let token = get("token");
    let platform = app.platform.clone();
    let lookup = token.clone();
    let who = crate::api::blocking(move || platform.authenticate(&lookup))
        .await
        .map_err(|e| Failure::api(e, lang))?;
    if who.is_none() || !app.take(&cleanroom_platform::token_id(&token)) {
        let Some(fresh) = session::random_hex() else {
            return Err(Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "no random source",
                lang,
            ));
        };
        let mut r = signin_page(
            &app,
            lang,
            &fresh,
            Some(lang.t("令牌无效或已吊销", "the token is not valid or was revoked")),
        );
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        return Ok(r);
    }
    let Some(sid) = app.console.sessions.start(&token) else {
        return Err(Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no random source",
            lang,
        ));
    };
    let mut r = see_other("/console");
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(&app, SESSION_COOKIE, &sid, None),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(&app, PRESESSION_COOKIE, "", Some(0)),
    );
    Ok(r)
}

async fn signout(State(app): State<Shared>, posted: Posted) -> Response {
    app.console.sessions.end(&posted.signed.sid);
    let mut r = see_other("/console/signin");
    r.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&app, SESSION_COOKIE, "", Some(0)),
    );
    r
}
