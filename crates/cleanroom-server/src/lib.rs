//! The platform over HTTP (DESIGN.md §1): JSON under `/v1`, bearer tokens, the roles operator
//! / reviewer / admin / auditor decided by the Cedar policies in `cleanroom-platform`.
//!
//! Every request gets an id (the `x-request-id` header, and in every error body); every
//! request passes a concurrency limit, a timeout and, once authenticated, a per-token rate
//! limit; bodies are bounded. One JSON log line per request goes to stderr: method, route,
//! status, duration, role, never a body or a data value.

pub mod client;
pub mod config;
pub mod formats;
pub mod load;

mod api;
pub mod console;
mod openapi;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cleanroom_engine::{Engine, EngineConfig, SessionLimits};
use cleanroom_platform::{Authz, Jobs, Platform, QueueLimits, SystemClock};
use cleanroom_store::{Recovery, SqliteStore, Store};
use cleanroom_wasm::Host;
use tokio::sync::Semaphore;

pub use config::{Config, Limits, LogConfig};

/// Everything a request handler reaches.
pub struct App {
    pub platform: Arc<Platform>,
    pub jobs: Arc<Jobs>,
    pub limits: Limits,
    metrics: Metrics,
    buckets: Mutex<HashMap<String, Bucket>>,
    in_flight: Arc<Semaphore>,
    /// The reviewer console's sessions.
    pub console: console::Console,
    /// The state directory (the console's "verify now" reads the log there, read-only).
    state: std::path::PathBuf,
}

/// A token bucket: `rate` tokens per second up to `burst`.
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Default)]
struct Metrics {
    requests: Mutex<HashMap<(String, u16), u64>>,
    duration_micros: AtomicU64,
    rate_limited: AtomicU64,
    overloaded: AtomicU64,
}

impl App {
    /// Opens the store (migrating it), recovers what a previous process left unfinished, loads
    /// the policies and the authorization rules, and starts the job workers. Call inside a
    /// Tokio runtime.
    pub fn open(config: &Config) -> anyhow::Result<(Arc<App>, Recovery)> {
        let policies = Arc::new(cleanroom_policy::Policies::load(&config.policies)?);
        let authz = Arc::new(Authz::load(&config.policies.join("authz"))?);
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_with(
            &config.state,
            &cleanroom_store::LogOptions {
                origin: config.log.origin.clone(),
                every: config.log.checkpoint_every,
            },
        )?);
        let recovery = store.recover(chrono::Utc::now())?;
        let platform = Arc::new(Platform::new(
            policies.clone(),
            authz,
            store.clone(),
            Arc::new(SystemClock),
        ));
        platform.first_start()?;
        platform.record_interrupted(&recovery.interrupted)?;
        let engine = Arc::new(Engine::new(
            (*policies).clone(),
            EngineConfig {
                data_dir: config.data.clone(),
                state_dir: config.state.clone(),
                limits: SessionLimits::default(),
            },
        ));
        let host = Arc::new(Host::new(cleanroom_wasm::Limits::default())?);
        let jobs = Jobs::new(
            platform.clone(),
            engine,
            host,
            store,
            QueueLimits {
                capacity: config.limits.queue_capacity,
                workers: config.limits.workers,
            },
        );
        jobs.set_battery(config.battery.profile());
        jobs.start();
        jobs.resume_batteries()?;
        checkpoints(&platform, config.log.checkpoint_seconds);
        let app = Arc::new(App {
            platform,
            jobs,
            limits: config.limits.clone(),
            metrics: Metrics::default(),
            buckets: Mutex::new(HashMap::new()),
            in_flight: Arc::new(Semaphore::new(config.limits.concurrency.max(1))),
            console: console::Console {
                secure_cookies: config.secure_cookies,
                ..console::Console::default()
            },
            state: config.state.clone(),
        });
        Ok((app, recovery))
    }

    /// Takes one request from the token's bucket; false when it is empty.
    fn take(&self, token_id: &str) -> bool {
        let (rate, burst) = (
            self.limits.rate_per_second.max(0.001),
            self.limits.rate_burst.max(1) as f64,
        );
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 100_000 {
            // Bounded: forget idle buckets (they refill to full anyway).
            buckets.retain(|_, b| now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let b = buckets.entry(token_id.to_owned()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            self.metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
            false
        }
    }

    /// The Prometheus text exposition of the counters. Counts only, never data.
    fn metrics_text(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP cleanroom_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE cleanroom_http_requests_total counter\n");
        let requests = self
            .metrics
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut rows: Vec<_> = requests.iter().collect();
        rows.sort();
        let mut total = 0;
        for ((route, status), n) in rows {
            total += n;
            out.push_str(&format!(
                "cleanroom_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}\n"
            ));
        }
        let seconds = self.metrics.duration_micros.load(Ordering::Relaxed) as f64 / 1e6;
        out.push_str(&format!(
            "# HELP cleanroom_http_request_duration_seconds Time spent answering requests.\n# TYPE cleanroom_http_request_duration_seconds summary\ncleanroom_http_request_duration_seconds_sum {seconds}\ncleanroom_http_request_duration_seconds_count {total}\n"
        ));
        for (name, help, v) in [
            (
                "cleanroom_http_rate_limited_total",
                "Requests refused by a token's rate limit.",
                self.metrics.rate_limited.load(Ordering::Relaxed),
            ),
            (
                "cleanroom_http_overloaded_total",
                "Requests refused by the concurrency limit.",
                self.metrics.overloaded.load(Ordering::Relaxed),
            ),
            (
                "cleanroom_jobs_in_flight",
                "Jobs queued or running in this process.",
                self.jobs.in_flight() as u64,
            ),
        ] {
            let kind = if name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            ));
        }
        out
    }
}

tokio::task_local! {
    /// The id of the request being answered, for error bodies.
    static REQUEST_ID: String;
}

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

fn new_request_id() -> String {
    let mut salt = [0u8; 4];
    let _ = getrandom::fill(&mut salt);
    let n = NEXT_REQUEST.fetch_add(1, Ordering::Relaxed);
    format!(
        "req-{}-{n}",
        salt.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// An error as the API answers it: `{"error":{"code":..,"message":..,"request_id":..}}`.
#[derive(Debug)]
pub struct ApiError(Box<ErrorBody>);

#[derive(Debug)]
struct ErrorBody {
    status: StatusCode,
    code: String,
    message: String,
    /// Extra fields of the error object (the licence rules of a refusal).
    detail: serde_json::Map<String, serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError(Box::new(ErrorBody {
            status,
            code: code.to_owned(),
            message: message.into(),
            detail: serde_json::Map::new(),
        }))
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.0.status
    }

    pub(crate) fn message(&self) -> &str {
        &self.0.message
    }

    /// Adds a field to the error object.
    pub fn with(mut self, key: &str, value: serde_json::Value) -> ApiError {
        self.0.detail.insert(key.to_owned(), value);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let ErrorBody {
            status,
            code,
            message,
            detail,
        } = *self.0;
        let request_id = REQUEST_ID.try_with(Clone::clone).ok();
        let mut error = serde_json::json!({
            "code": code,
            "message": message,
            "request_id": request_id,
        });
        if let Some(obj) = error.as_object_mut() {
            obj.extend(detail);
        }
        let mut response =
            (status, axum::Json(serde_json::json!({ "error": error }))).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<cleanroom_platform::Error> for ApiError {
    fn from(e: cleanroom_platform::Error) -> ApiError {
        use cleanroom_platform::Error as E;
        match e {
            E::NoJob(_) | E::NoProduct(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            E::UnknownLicence(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_licence", e.to_string())
            }
            E::Forbidden(_) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", e.to_string()),
            E::Invalid(_) => ApiError::new(StatusCode::BAD_REQUEST, "invalid", e.to_string()),
            E::Unavailable(_) => ApiError::new(StatusCode::CONFLICT, "unavailable", e.to_string()),
            E::Store(cleanroom_store::Error::State(m)) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", m)
            }
            E::Store(cleanroom_store::Error::NoJob(_) | cleanroom_store::Error::NoProduct(_)) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            E::Store(_) | E::Internal(_) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the server failed; the request id identifies it in the server's log",
            ),
        }
    }
}

/// The code and message of an error the framework produced (an unknown route, a body too
/// large ...), in the API's own shape. The framework's text is not repeated: it may quote
/// the request.
fn framework_error(status: StatusCode) -> ApiError {
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "method not allowed here"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("unsupported_media_type", "unsupported content type")
        }
        s if s.is_server_error() => ("internal", "the server failed"),
        _ => ("bad_request", "the request is malformed"),
    };
    ApiError::new(status, code, message)
}

/// The outermost layer: request id, concurrency limit, timeout, metrics, the log line, and
/// errors in the API's shape.
async fn envelope(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let id = new_request_id();
    let started = Instant::now();
    let method = req.method().clone();
    let in_console = req.uri().path().starts_with("/console");
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let timeout = Duration::from_millis(app.limits.request_timeout_ms.max(1));
    let response = REQUEST_ID
        .scope(id.clone(), async {
            let Ok(_permit) = app.in_flight.clone().try_acquire_owned() else {
                app.metrics.overloaded.fetch_add(1, Ordering::Relaxed);
                return ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    "too many requests in progress; retry shortly",
                )
                .into_response();
            };
            let response = match tokio::time::timeout(timeout, next.run(req)).await {
                Ok(r) => r,
                Err(_) => ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "timeout",
                    "the request took longer than the server allows",
                )
                .into_response(),
            };
            // JSON errors of the API and HTML pages of the console are answers in their own
            // shape; anything else (the framework's plain text) is replaced.
            let own_shape = response
                .headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| {
                    v.as_bytes().starts_with(b"application/json")
                        || v.as_bytes().starts_with(b"text/html")
                });
            if (response.status().is_client_error() || response.status().is_server_error())
                && !own_shape
            {
                framework_error(response.status()).into_response()
            } else {
                response
            }
        })
        .await;
    let mut response = response;
    if in_console {
        console::secure(&mut response);
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    let status = response.status().as_u16();
    let micros = started.elapsed().as_micros() as u64;
    app.metrics
        .duration_micros
        .fetch_add(micros, Ordering::Relaxed);
    *app.metrics
        .requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry((route.clone(), status))
        .or_default() += 1;
    if !app.limits.quiet {
        eprintln!(
            "{}",
            serde_json::json!({
                "at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "request_id": id,
                "method": method.as_str(),
                "route": route,
                "status": status,
                "micros": micros,
            })
        );
    }
    response
}

/// The router with every route and layer.
pub fn router(app: Arc<App>) -> Router {
    api::routes()
        .merge(console::routes())
        .layer(axum::middleware::from_fn_with_state(app.clone(), envelope))
        .layer(axum::extract::DefaultBodyLimit::max(app.limits.body_bytes))
        .with_state(app)
}

/// Signs a checkpoint every `seconds` when records came in, for as long as the platform lives.
fn checkpoints(platform: &Arc<Platform>, seconds: u64) {
    let platform = Arc::downgrade(platform);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(seconds.max(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(platform) = platform.upgrade() else {
                break;
            };
            let signed = tokio::task::spawn_blocking(move || platform.checkpoint_now()).await;
            if !matches!(signed, Ok(Ok(_))) {
                eprintln!("{}", serde_json::json!({ "event": "checkpoint_failed" }));
            }
        }
    });
}

/// The last checkpoint, once the requests in progress have finished.
async fn final_checkpoint(app: &Arc<App>) -> anyhow::Result<()> {
    let platform = app.platform.clone();
    tokio::task::spawn_blocking(move || platform.checkpoint_now()).await??;
    Ok(())
}

/// Serves until `shutdown` resolves, then stops accepting, finishes the requests in progress,
/// signs a last checkpoint and returns. Prints `listening on http://ADDR` on stdout once bound.
pub async fn serve(
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (app, recovery) = App::open(config)?;
    if !recovery.interrupted.is_empty() || recovery.orphans_removed > 0 {
        eprintln!(
            "{}",
            serde_json::json!({
                "event": "recovered",
                "interrupted": recovery.interrupted.len(),
                "orphans_removed": recovery.orphans_removed,
            })
        );
    }
    let listener = tokio::net::TcpListener::bind(config.address).await?;
    println!("listening on http://{}", listener.local_addr()?);
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    axum::serve(listener, router(app.clone()))
        .with_graceful_shutdown(shutdown)
        .await?;
    final_checkpoint(&app).await
}

/// A server running inside this process (for the load benchmark and tests).
pub struct Running {
    pub addr: std::net::SocketAddr,
    pub app: Arc<App>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Opens the app, binds `config.address` and serves in a task of the current runtime.
    pub async fn start(config: &Config) -> anyhow::Result<Running> {
        let (app, _) = App::open(config)?;
        let listener = tokio::net::TcpListener::bind(config.address).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let router = router(app.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Running {
            addr,
            app,
            stop: Some(stop),
            task,
        })
    }

    /// Stops accepting, lets the requests in progress finish, signs a last checkpoint, and
    /// returns.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        (&mut self.task).await??;
        final_checkpoint(&self.app).await
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
