//! The job lifecycle: queued → running → succeeded | blocked | failed | cancelled |
//! interrupted, through a bounded queue and a bounded number of workers. Each step is a state
//! change in the store with its audit record; the intent (the job and its source hash) is
//! recorded before execution and the result's digest after. Results stay in the sandbox (the
//! store's result files); who may read them is decided elsewhere.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cleanroom_engine::{Engine, JobRequest, Manifest, Report, WasmJob};
use cleanroom_policy::JobKind;
use cleanroom_store::{Audit, JobId, JobStatus, JobUpdate, NewJob, Store};
use cleanroom_wasm::Host;
use tokio::sync::{mpsc, watch};

use crate::{Error, Platform, Principal, Refusal, Result};

/// How many jobs may wait and how many run at once.
#[derive(Clone, Copy, Debug)]
pub struct QueueLimits {
    pub capacity: usize,
    pub workers: usize,
}

impl Default for QueueLimits {
    fn default() -> Self {
        QueueLimits {
            capacity: 1_000,
            workers: 2,
        }
    }
}

/// What became of a submission.
#[derive(Debug)]
pub enum Submitted {
    Queued(JobId),
    Refused(Refusal),
    /// The queue is full: nothing was recorded as a job; try again later.
    QueueFull,
}

/// What a job runs.
#[derive(Clone)]
enum Request {
    Sql(JobRequest),
    Wasm(Arc<WasmJob>),
}

impl Request {
    fn licence(&self) -> (&str, &str) {
        match self {
            Request::Sql(r) => (&r.licence, &r.scenario),
            Request::Wasm(j) => (&j.manifest.job.licence, &j.manifest.job.scenario),
        }
    }
}

/// A queued job's request, held until a worker takes it (a restart interrupts it).
struct Pending {
    request: Request,
    source_hash: String,
    cancel: watch::Sender<bool>,
}

/// Bytes a submitted component may have; the host's own limit applies when it compiles.
pub const MAX_COMPONENT_BYTES: usize = 32 << 20;
/// Bytes a submitted manifest may have.
pub const MAX_MANIFEST_BYTES: usize = 64 << 10;

pub struct Jobs {
    platform: Arc<Platform>,
    engine: Arc<Engine>,
    host: Arc<Host>,
    store: Arc<dyn Store>,
    limits: QueueLimits,
    pending: Mutex<HashMap<JobId, Pending>>,
    queue: mpsc::Sender<JobId>,
    receiver: Mutex<Option<mpsc::Receiver<JobId>>>,
    /// The attack battery each product gets, if any; one runs at a time.
    battery: Mutex<Option<cleanroom_attack::Profile>>,
    battery_gate: Arc<tokio::sync::Semaphore>,
}

pub(crate) use cleanroom_engine::sha256_hex;

impl Jobs {
    pub fn new(
        platform: Arc<Platform>,
        engine: Arc<Engine>,
        host: Arc<Host>,
        store: Arc<dyn Store>,
        limits: QueueLimits,
    ) -> Arc<Jobs> {
        let (queue, receiver) = mpsc::channel(limits.capacity.max(1));
        Arc::new(Jobs {
            platform,
            engine,
            host,
            store,
            limits,
            pending: Mutex::new(HashMap::new()),
            queue,
            receiver: Mutex::new(Some(receiver)),
            battery: Mutex::new(None),
            battery_gate: Arc::new(tokio::sync::Semaphore::new(1)),
        })
    }

    /// Runs the attack battery of `profile` on every product requested from now on (none when
    /// `None`, the default).
    pub fn set_battery(&self, profile: Option<cleanroom_attack::Profile>) {
        *self.battery.lock().unwrap_or_else(|e| e.into_inner()) = profile;
    }

    pub(crate) fn battery(&self) -> Option<cleanroom_attack::Profile> {
        *self.battery.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn battery_gate(&self) -> Arc<tokio::sync::Semaphore> {
        Arc::clone(&self.battery_gate)
    }

    pub(crate) fn platform(&self) -> &Arc<Platform> {
        &self.platform
    }

    pub(crate) fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    pub(crate) fn host(&self) -> &Arc<Host> {
        &self.host
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Runs every queued job here and now, in order: for a platform without workers (the
    /// battery's shadow platforms).
    pub(crate) async fn drain(&self) {
        loop {
            let next = self
                .receiver
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_mut()
                .and_then(|r| r.try_recv().ok());
            match next {
                Some(id) => self.run(id).await,
                None => break,
            }
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, Pending>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Submits a SQL job: the licence gate, then a queued job (recorded with the SHA-256 of
    /// the SQL), or a refusal.
    pub fn submit_sql(
        &self,
        who: &Principal,
        licence: &str,
        scenario: &str,
        sql: &str,
    ) -> Result<Submitted> {
        if let Some(why) = cleanroom_engine::parse_problem(sql) {
            return Err(Error::Invalid(format!("the SQL does not parse: {why}")));
        }
        let request = Request::Sql(JobRequest {
            licence: licence.into(),
            scenario: scenario.into(),
            sql: sql.into(),
            today: self.platform.now().date_naive(),
            dp: false,
        });
        self.submit(
            who,
            request,
            JobKind::Sql,
            sha256_hex(sql.as_bytes()),
            sql.to_owned(),
        )
    }

    /// Submits a WASM job: a manifest (TOML, naming the licence and scenario) and a component.
    /// Malformed input is [`Error::Invalid`] before anything is recorded as a job; the source
    /// hash is the component's SHA-256, its name in the lineage.
    pub fn submit_wasm(
        &self,
        who: &Principal,
        manifest: &str,
        component: Vec<u8>,
    ) -> Result<Submitted> {
        if manifest.len() > MAX_MANIFEST_BYTES {
            return Err(Error::Invalid(format!(
                "the manifest is {} bytes; at most {MAX_MANIFEST_BYTES} are accepted",
                manifest.len()
            )));
        }
        if component.len() > MAX_COMPONENT_BYTES {
            return Err(Error::Invalid(format!(
                "the component is {} bytes; at most {MAX_COMPONENT_BYTES} are accepted",
                component.len()
            )));
        }
        if !component.starts_with(b"\0asm") {
            return Err(Error::Invalid(
                "the component is not a WebAssembly binary".into(),
            ));
        }
        let source = manifest.to_owned();
        let manifest = Manifest::parse(manifest).map_err(|e| Error::Invalid(e.to_string()))?;
        let hash = sha256_hex(&component);
        let job = WasmJob {
            manifest,
            component,
            today: self.platform.now().date_naive(),
            seed: 0,
        };
        self.submit(
            who,
            Request::Wasm(Arc::new(job)),
            JobKind::Wasm,
            hash,
            source,
        )
    }

    fn submit(
        &self,
        who: &Principal,
        request: Request,
        kind: JobKind,
        hash: String,
        source: String,
    ) -> Result<Submitted> {
        let (licence, scenario) = request.licence();
        if let Err(refusal) = self.platform.admit(who, licence, scenario, kind)? {
            return Ok(Submitted::Refused(refusal));
        }
        let now = self.platform.now();
        let permit = match self.queue.try_reserve() {
            Ok(p) => p,
            Err(_) => {
                self.platform.refuse_submission(
                    who,
                    licence,
                    scenario,
                    "queue full",
                    Some(&hash),
                )?;
                return Ok(Submitted::QueueFull);
            }
        };
        let id = self.store.create_job(
            &NewJob {
                licence: licence.into(),
                scenario: scenario.into(),
                operator: who.id.clone(),
                kind,
                source_hash: hash.clone(),
                source: Some(source),
                at: now,
            },
            &Audit::new(
                now,
                &who.id,
                who.role.as_str(),
                "job.submit",
                "job",
                "queued",
            )
            .licence(licence, scenario)
            .hash(&hash),
        )?;
        let (cancel, _) = watch::channel(false);
        self.pending().insert(
            id,
            Pending {
                request,
                source_hash: hash,
                cancel,
            },
        );
        permit.send(id);
        Ok(Submitted::Queued(id))
    }

    /// Cancels a queued or running job of the caller's. Another operator's job reads as
    /// absent ([`Error::NoJob`]); a finished job stays as it is (`Ok(false)`).
    pub fn cancel(&self, who: &Principal, id: JobId) -> Result<bool> {
        let job = self.store.job(id)?.ok_or(Error::NoJob(id))?;
        self.platform.check_job(who, "job.cancel", &job)?;
        if job.status.is_finished() {
            return Ok(false);
        }
        self.store.append_audit(
            &Audit::new(
                self.platform.now(),
                &who.id,
                who.role.as_str(),
                "job.cancel",
                &id.to_string(),
                "requested",
            )
            .licence(&job.licence, &job.scenario),
        )?;
        let signalled = match self.pending().get(&id) {
            Some(p) => {
                // Kept even while no worker listens yet: the worker that takes it sees it.
                p.cancel.send_replace(true);
                true
            }
            None => false,
        };
        if job.status == JobStatus::Queued {
            // Not started: cancelled here; the worker that takes it skips it.
            self.finish(
                id,
                &job.licence,
                &job.scenario,
                JobStatus::Cancelled,
                JobUpdate::default(),
            )?;
            self.pending().remove(&id);
        }
        Ok(signalled || job.status == JobStatus::Queued)
    }

    /// Starts the workers (at most [`QueueLimits::workers`] jobs run at once). Call once, from
    /// inside a Tokio runtime.
    pub fn start(self: &Arc<Self>) {
        let Some(receiver) = self
            .receiver
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            return;
        };
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        for _ in 0..self.limits.workers.max(1) {
            let jobs = Arc::clone(self);
            let receiver = Arc::clone(&receiver);
            tokio::spawn(async move {
                loop {
                    let next = receiver.lock().await.recv().await;
                    let Some(id) = next else { break };
                    jobs.run(id).await;
                }
            });
        }
    }

    /// Records a final status with its record (the system's).
    fn finish(
        &self,
        id: JobId,
        licence: &str,
        scenario: &str,
        status: JobStatus,
        update: JobUpdate,
    ) -> Result<()> {
        let audit = Audit::new(
            self.platform.now(),
            "cleanroom",
            "system",
            "job.finish",
            &id.to_string(),
            status.as_str(),
        )
        .licence(licence, scenario);
        self.store.transition_job(id, status, &update, &audit)?;
        self.platform.record_lineage(id)?;
        Ok(())
    }

    async fn run(&self, id: JobId) {
        let Some((request, hash, mut cancelled)) = self.pending().get(&id).map(|p| {
            (
                p.request.clone(),
                p.source_hash.clone(),
                p.cancel.subscribe(),
            )
        }) else {
            return; // cancelled while queued
        };
        if self
            .execute(id, &request, &hash, &mut cancelled)
            .await
            .is_err()
        {
            // Not left running: failed, if the store still answers (otherwise the next start
            // interrupts it). A job already finished or cancelled stays so.
            let (licence, scenario) = request.licence();
            let _ = self.fail(
                id,
                licence,
                scenario,
                serde_json::json!({ "error": "internal error" }),
            );
        }
        self.pending().remove(&id);
    }

    async fn execute(
        &self,
        id: JobId,
        request: &Request,
        hash: &str,
        cancelled: &mut watch::Receiver<bool>,
    ) -> Result<()> {
        let (licence, scenario) = request.licence();
        let start = Audit::new(
            self.platform.now(),
            "cleanroom",
            "system",
            "job.start",
            &id.to_string(),
            "running",
        )
        .licence(licence, scenario)
        .hash(hash);
        self.store
            .transition_job(id, JobStatus::Running, &JobUpdate::default(), &start)?;
        self.platform.record_lineage(id)?;
        // Intent before execution: the plan's hash and the static decision, recorded before
        // any data is read; a record that cannot be written stops the job. The plan hash also
        // keys the ε ledger's reuse of an identical answer.
        let plan_hash: Mutex<Option<String>> = Mutex::new(None);
        let intent = |i: &cleanroom_engine::Intent| -> std::result::Result<(), String> {
            if let Ok(mut p) = plan_hash.lock() {
                *p = Some(i.plan_hash.clone());
            }
            let outcome = match i.decision {
                cleanroom_policy::decision::Verdict::Allowed => "allowed".to_string(),
                cleanroom_policy::decision::Verdict::Blocked => {
                    format!("blocked: {}", i.rules.join(", "))
                }
            };
            let audit = Audit::new(
                self.platform.now(),
                "cleanroom",
                "system",
                "job.intent",
                &id.to_string(),
                &outcome,
            )
            .licence(licence, scenario)
            .hash(&i.plan_hash);
            self.store
                .append_audit(&audit)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let run = async {
            match request {
                Request::Sql(r) => {
                    self.engine
                        .run_hooked(r, None, Some(&intent))
                        .await
                        .map(|report| {
                            let json = serde_json::to_value(&report);
                            (report, json)
                        })
                }
                Request::Wasm(j) => self
                    .engine
                    .run_wasm_hooked(&self.host, j, Some(&intent))
                    .await
                    .map(|w| {
                        let json = serde_json::to_value(&w);
                        (w.report, json)
                    }),
            }
        };
        let outcome = tokio::select! {
            r = run => Some(r),
            _ = cancelled.wait_for(|c| *c) => None,
        };
        let Some(outcome) = outcome else {
            return self.finish(
                id,
                licence,
                scenario,
                JobStatus::Cancelled,
                JobUpdate::default(),
            );
        };
        match outcome {
            Ok((report, json)) => {
                let json = json.map_err(|e| Error::Internal(e.to_string()))?;
                let plan_hash = plan_hash
                    .lock()
                    .ok()
                    .and_then(|p| p.clone())
                    .unwrap_or_else(|| hash.to_owned());
                self.conclude(id, licence, scenario, report, json, &plan_hash)
            }
            Err(e) => {
                let class = match &e {
                    cleanroom_engine::Error::Component(f) => Some(f.failure.class()),
                    _ => None,
                };
                self.fail(
                    id,
                    licence,
                    scenario,
                    serde_json::json!({ "error": e.to_string(), "class": class }),
                )
            }
        }
    }

    /// Records a failed job with `report`.
    fn fail(
        &self,
        id: JobId,
        licence: &str,
        scenario: &str,
        report: serde_json::Value,
    ) -> Result<()> {
        self.finish(
            id,
            licence,
            scenario,
            JobStatus::Failed,
            JobUpdate {
                decision: Some("failed".into()),
                report: Some(report.to_string()),
            },
        )
    }

    /// An executed job: its report, its ε charged (refused when the budget is spent), and for
    /// an allowed one its result file, then the status.
    fn conclude(
        &self,
        id: JobId,
        licence: &str,
        scenario: &str,
        mut report: Report,
        mut json: serde_json::Value,
        plan_hash: &str,
    ) -> Result<()> {
        let mut earlier = None;
        if report.is_allowed()
            && let Some(epsilon) = report.epsilon
        {
            let budget = self
                .platform
                .charge_budget(id, licence, scenario, epsilon, &report, plan_hash)?;
            earlier = budget.earlier;
            if let Some(v) = budget.refusal.clone() {
                report.decision = cleanroom_policy::decision::Verdict::Blocked;
                report.violations.push(v);
                report.batches.clear();
            }
            let internal = |e: serde_json::Error| Error::Internal(e.to_string());
            if let Some(obj) = json.as_object_mut() {
                obj.insert(
                    "budget".into(),
                    serde_json::to_value(&budget).map_err(internal)?,
                );
                obj.insert(
                    "decision".into(),
                    serde_json::to_value(&report.decision).map_err(internal)?,
                );
                obj.insert(
                    "violations".into(),
                    serde_json::to_value(&report.violations).map_err(internal)?,
                );
            }
        }
        let report = &report;
        if report.is_allowed() {
            // An identical re-run returns the stored answer itself.
            let stored = match earlier {
                Some(e) => self.store.result(e)?,
                None => None,
            };
            let bytes = match stored {
                Some(b) => b,
                None => report
                    .result_ipc()
                    .map_err(|e| Error::Internal(e.to_string()))?,
            };
            let digest = sha256_hex(&bytes);
            let audit = Audit::new(
                self.platform.now(),
                "cleanroom",
                "system",
                "job.result",
                &id.to_string(),
                "stored",
            )
            .licence(licence, scenario)
            .hash(&digest);
            self.store.attach_result(id, &bytes, &digest, &audit)?;
            self.finish(
                id,
                licence,
                scenario,
                JobStatus::Succeeded,
                JobUpdate {
                    decision: Some("allowed".into()),
                    report: Some(json.to_string()),
                },
            )
        } else {
            self.finish(
                id,
                licence,
                scenario,
                JobStatus::Blocked,
                JobUpdate {
                    decision: Some("blocked".into()),
                    report: Some(json.to_string()),
                },
            )?;
            self.platform.after_blocked(licence)?;
            Ok(())
        }
    }

    /// Jobs waiting or running in this process.
    pub fn in_flight(&self) -> usize {
        self.pending().len()
    }
}
