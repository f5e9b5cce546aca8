//! The job lifecycle: queued → running → succeeded | blocked | failed | cancelled |
//! interrupted, through a bounded queue and a bounded number of workers. Each step is a state
//! change in the store with its audit record; the intent (the job and its source hash) is
//! recorded before execution and the result's digest after. Results stay in the sandbox (the
//! store's result files); who may read them is decided elsewhere.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cleanroom_engine::{Engine, JobRequest, Report};
use cleanroom_policy::JobKind;
use cleanroom_store::{Audit, JobId, JobStatus, JobUpdate, NewJob, Store};
use sha2::{Digest as _, Sha256};
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

/// A queued job's request, held until a worker takes it (a restart interrupts it).
struct Pending {
    request: JobRequest,
    cancel: watch::Sender<bool>,
}

pub struct Jobs {
    platform: Arc<Platform>,
    engine: Arc<Engine>,
    store: Arc<dyn Store>,
    limits: QueueLimits,
    pending: Mutex<HashMap<JobId, Pending>>,
    queue: mpsc::Sender<JobId>,
    receiver: Mutex<Option<mpsc::Receiver<JobId>>>,
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Jobs {
    pub fn new(
        platform: Arc<Platform>,
        engine: Arc<Engine>,
        store: Arc<dyn Store>,
        limits: QueueLimits,
    ) -> Arc<Jobs> {
        let (queue, receiver) = mpsc::channel(limits.capacity.max(1));
        Arc::new(Jobs {
            platform,
            engine,
            store,
            limits,
            pending: Mutex::new(HashMap::new()),
            queue,
            receiver: Mutex::new(Some(receiver)),
        })
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
        if let Err(refusal) = self.platform.admit(who, licence, scenario, JobKind::Sql)? {
            return Ok(Submitted::Refused(refusal));
        }
        let now = self.platform.now();
        let hash = sha256_hex(sql.as_bytes());
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
                kind: JobKind::Sql,
                source_hash: hash.clone(),
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
                request: JobRequest {
                    licence: licence.into(),
                    scenario: scenario.into(),
                    sql: sql.into(),
                    today: now.date_naive(),
                },
                cancel,
            },
        );
        permit.send(id);
        Ok(Submitted::Queued(id))
    }

    /// Cancels a queued or running job of the caller's. Another operator's job reads as
    /// absent ([`Error::NoJob`]); a finished job stays as it is (`Ok(false)`).
    pub fn cancel(&self, who: &Principal, id: JobId) -> Result<bool> {
        let job = self
            .store
            .job(id)?
            .filter(|j| j.operator == who.id)
            .ok_or(Error::NoJob(id))?;
        if job.status.is_finished() {
            return Ok(false);
        }
        let signalled = match self.pending().get(&id) {
            Some(p) => {
                let _ = p.cancel.send(true);
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
        Ok(())
    }

    async fn run(&self, id: JobId) {
        let Some((request, mut cancelled)) = self
            .pending()
            .get(&id)
            .map(|p| (p.request.clone(), p.cancel.subscribe()))
        else {
            return; // cancelled while queued
        };
        // A store failure here leaves the job queued or running: the next start interrupts it.
        let _ = self.execute(id, &request, &mut cancelled).await;
        self.pending().remove(&id);
    }

    async fn execute(
        &self,
        id: JobId,
        request: &JobRequest,
        cancelled: &mut watch::Receiver<bool>,
    ) -> Result<()> {
        let (licence, scenario) = (request.licence.as_str(), request.scenario.as_str());
        let start = Audit::new(
            self.platform.now(),
            "cleanroom",
            "system",
            "job.start",
            &id.to_string(),
            "running",
        )
        .licence(licence, scenario)
        .hash(&sha256_hex(request.sql.as_bytes()));
        self.store
            .transition_job(id, JobStatus::Running, &JobUpdate::default(), &start)?;
        let outcome = tokio::select! {
            r = self.engine.run(request) => Some(r),
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
            Ok(report) => self.conclude(id, request, &report),
            Err(e) => self.finish(
                id,
                licence,
                scenario,
                JobStatus::Failed,
                JobUpdate {
                    decision: Some("failed".into()),
                    report: Some(serde_json_error(&e.to_string())),
                },
            ),
        }
    }

    /// An executed job: its report, and for an allowed one its result file, then the status.
    fn conclude(&self, id: JobId, request: &JobRequest, report: &Report) -> Result<()> {
        let (licence, scenario) = (request.licence.as_str(), request.scenario.as_str());
        let json = serde_json::to_string(report).map_err(|e| Error::Internal(e.to_string()))?;
        if report.is_allowed() {
            let bytes = report
                .result_ipc()
                .map_err(|e| Error::Internal(e.to_string()))?;
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
                    report: Some(json),
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
                    report: Some(json),
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

/// A failure as the report of a failed job. Engine errors are already scrubbed of data values.
fn serde_json_error(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}
