//! The background worker: one thread that owns the `Pipeline`, the audit store and the logged-in
//! user's session. The UI sends it [`Job`]s and reads [`Event`]s back; nothing here runs on the
//! UI thread, so model loading, inference, argon2 and SQLite never freeze a frame.

use eframe::egui;
use kyc_core::logs::{WarnOnErr, join_or_warn};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use kyc_core::audit::{
    self, AuditConfig, AuditError, AuditStore, CustomerType, DuplicateReport, ImageKind, Page,
    RecordDetail, RecordFilter, RecordReceipt, RecordSummary, Role, Stats, UserSession,
};
use kyc_core::config::Config;
use kyc_core::imaging;
use kyc_core::liveness::LivenessResult;
use kyc_core::pipeline::{Input, Pipeline, Verification};
use kyc_core::record::{self, OperatorDecision, RecordContext};
use kyc_core::result::{Decision, VerificationResult};

use super::capture::preview_of;

/// An image the agent captured or imported: its encoded bytes (a file, a JPEG camera frame) or,
/// for a raw camera frame, its pixels (the worker encodes them as PNG for the record).
#[derive(Debug, Clone)]
pub struct Captured {
    /// File or frame name.
    pub name: String,
    /// The encoded file (PNG/JPEG) as read, when there is one.
    pub bytes: Option<Arc<Vec<u8>>>,
    /// Decoded pixels, when there are no encoded bytes.
    pub pixels: Option<Arc<image::RgbImage>>,
}

impl Captured {
    /// An encoded file.
    #[must_use]
    pub fn encoded(name: impl Into<String>, bytes: Arc<Vec<u8>>) -> Self {
        Captured {
            name: name.into(),
            bytes: Some(bytes),
            pixels: None,
        }
    }

    /// Decode (with the configured limits) or take the pixels; returns them with the bytes to
    /// keep in the record.
    ///
    /// # Errors
    /// An image that does not decode, or nothing to decode.
    pub fn materialise(
        &self,
        limits: &imaging::ImageLimits,
    ) -> Result<(imaging::Decoded, Arc<Vec<u8>>), String> {
        if let Some(bytes) = &self.bytes {
            let d = imaging::decode_bytes(bytes, std::path::Path::new(&self.name), limits)
                .map_err(|e| e.to_string())?;
            return Ok((d, Arc::clone(bytes)));
        }
        let Some(rgb) = &self.pixels else {
            return Err(format!("{}: no image", self.name));
        };
        let png = record::png(rgb).ok_or_else(|| format!("{}: cannot encode", self.name))?;
        let file_bytes = png.len() as u64;
        Ok((
            imaging::Decoded {
                rgb: (**rgb).clone(),
                format: "png",
                file_bytes,
            },
            Arc::new(png),
        ))
    }
}

/// What the customer claimed at the start.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// Individual or business.
    pub customer_type: CustomerType,
    /// ISO alpha-2 country.
    pub country: String,
    /// Claimed ID type (JSON name), if given.
    pub id_type: Option<String>,
    /// Claimed ID number, if given.
    pub id_number: Option<String>,
    /// Session start, ms since the epoch.
    pub started_ms: i64,
}

/// Work for the worker.
pub enum Job {
    /// Check a password.
    Login {
        /// Username.
        username: String,
        /// Password (dropped after hashing).
        password: String,
    },
    /// End the user's session.
    Logout,
    /// Run the pipeline on a document and a selfie.
    Verify {
        /// Ticket that ties the answer to the session that asked.
        ticket: u64,
        /// The claim (for the duplicate check's ID number).
        claim: Claim,
        /// Document image (the front when there are two sides).
        document: Captured,
        /// The document's back side, when the agent captured one.
        document_back: Option<Captured>,
        /// Selfie image.
        selfie: Captured,
        /// The liveness challenge that chose the selfie (`None`: passive check on the image).
        liveness: Option<Box<LivenessResult>>,
    },
    /// Record the verification held for `ticket` with the operator's decision.
    Decide {
        /// The verification's ticket.
        ticket: u64,
        /// The operator's decision and reason.
        decision: OperatorDecision,
    },
    /// Forget the verification held for a ticket (cancel, idle timeout).
    Discard {
        /// The ticket.
        ticket: u64,
    },
    /// Record a failed liveness challenge as an audit event at once (a customer who fails and
    /// walks away still leaves a trace), and count it for the session's verification.
    ChallengeFailed {
        /// The session's ticket.
        ticket: u64,
        /// Failed attempts so far in the session, this one included.
        attempt: u32,
        /// What the customer claimed.
        claim: Claim,
        /// The failed challenge's result.
        result: Box<LivenessResult>,
    },
    /// Load the records matching a filter (the review queue) and statistics.
    LoadQueue {
        /// Which records.
        filter: Box<RecordFilter>,
    },
    /// Load one record with its images.
    LoadRecord {
        /// Record id.
        id: i64,
    },
    /// A supervisor decides a case.
    Override {
        /// Record id.
        id: i64,
        /// New decision.
        decision: audit::Decision,
        /// Supervisor's note.
        note: String,
    },
    /// Settings and user management (`admin.rs`).
    Admin(super::admin::AdminJob),
}

/// Where a verification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for the models to finish loading.
    WaitingForModels,
    /// Decoding the images.
    Decoding,
    /// Face detection, embedding, match.
    Analysing,
    /// 1:N duplicate search.
    Duplicates,
}

/// A finished verification, ready for the result screen.
pub struct ResultView {
    /// The result (the same type the CLI prints).
    pub result: VerificationResult,
    /// 1:N findings (not yet folded into the decision; recording does that).
    pub duplicates: DuplicateReport,
    /// Document portrait crop.
    pub portrait: Option<egui::ColorImage>,
    /// Selfie, downscaled.
    pub selfie: egui::ColorImage,
    /// Document, downscaled.
    pub document: egui::ColorImage,
    /// The document's back side, downscaled, when there is one.
    pub document_back: Option<egui::ColorImage>,
    /// Milliseconds from the job arriving to the result (pipeline time after the last capture).
    pub pipeline_ms: f64,
}

/// A record for the supervisor's detail view.
pub struct RecordView {
    /// The stored record.
    pub detail: RecordDetail,
    /// Stored portrait, if any.
    pub portrait: Option<egui::ColorImage>,
    /// Stored selfie, if any.
    pub selfie: Option<egui::ColorImage>,
    /// Stored back side of the document, if the record has one.
    pub document_back: Option<egui::ColorImage>,
}

/// What the worker reports.
pub enum Event {
    /// The store is open.
    StoreReady {
        /// Whether any administrator exists (else: show how to create one).
        has_admin: bool,
        /// Where the database is.
        db_path: PathBuf,
    },
    /// The store could not be opened.
    StoreFailed(String),
    /// The models are loaded.
    PipelineReady {
        /// Load time.
        load_ms: f64,
    },
    /// The models could not be loaded.
    PipelineFailed(String),
    /// Logged in.
    LoggedIn {
        /// Username.
        username: String,
        /// Role.
        role: Role,
    },
    /// Login refused.
    LoginFailed(String),
    /// Logged out.
    LoggedOut,
    /// A verification moved on.
    Progress {
        /// Its ticket.
        ticket: u64,
        /// The stage now running.
        stage: Stage,
    },
    /// A verification finished.
    Verified {
        /// Its ticket.
        ticket: u64,
        /// What to show.
        view: Box<ResultView>,
    },
    /// A verification failed (bad image, inference error).
    VerifyFailed {
        /// Its ticket.
        ticket: u64,
        /// Why.
        message: String,
    },
    /// A failed challenge could not be written to the audit store.
    ChallengeLogFailed {
        /// The session's ticket.
        ticket: u64,
        /// Why.
        message: String,
    },
    /// The decision is durably recorded.
    Recorded {
        /// Its ticket.
        ticket: u64,
        /// The store's receipt.
        receipt: RecordReceipt,
    },
    /// The store refused the record (nothing was written).
    RecordFailed {
        /// Its ticket.
        ticket: u64,
        /// Why.
        message: String,
    },
    /// The review queue and statistics.
    Queue {
        /// Pending cases, oldest first.
        queue: Vec<RecordSummary>,
        /// Statistics over every record (absent without the export permission).
        stats: Option<Stats>,
    },
    /// One record.
    Record(Box<RecordView>),
    /// A supervisor decision is recorded.
    Overridden {
        /// Record id.
        id: i64,
        /// Action row id.
        action_id: i64,
    },
    /// A supervisor operation failed.
    ReviewFailed(String),
    /// Settings and user management answers (`admin.rs`).
    Admin(super::admin::AdminEvent),
}

/// The UI's end of the worker.
pub struct WorkerHandle {
    jobs: Sender<Job>,
    events: Receiver<Event>,
    repaint: Arc<Mutex<Option<egui::Context>>>,
    thread: Option<JoinHandle<()>>,
}

impl WorkerHandle {
    /// Queue a job. A dead worker is reported by the next `poll` as no events; the UI shows
    /// the job's screen as still busy rather than crashing.
    pub fn send(&self, job: Job) {
        self.jobs
            .send(job)
            .warn_on_err("queueing a job for the worker");
    }

    /// Every event waiting.
    pub fn poll(&self) -> Vec<Event> {
        self.events.try_iter().collect()
    }

    /// Give the worker the context to wake the UI when an event is sent.
    pub fn set_repaint_context(&self, ctx: &egui::Context) {
        if let Ok(mut slot) = self.repaint.lock()
            && slot.is_none()
        {
            *slot = Some(ctx.clone());
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        // Closing the job channel ends the worker loop.
        let (tx, _) = channel();
        self.jobs = tx;
        if let Some(t) = self.thread.take() {
            join_or_warn(t, "closing the worker");
        }
    }
}

/// How the worker finds its models and store.
#[derive(Clone)]
pub struct WorkerConfig {
    /// Pipeline settings.
    pub config: Config,
    /// Audit store settings.
    pub audit: AuditConfig,
}

/// Start the worker thread: it opens the store, then loads the models, then serves jobs.
#[must_use]
pub fn spawn(cfg: WorkerConfig) -> WorkerHandle {
    let (jobs_tx, jobs_rx) = channel();
    let (events_tx, events_rx) = channel();
    let repaint: Arc<Mutex<Option<egui::Context>>> = Arc::new(Mutex::new(None));
    let repaint2 = Arc::clone(&repaint);
    let thread = std::thread::Builder::new()
        .name("kyc-worker".into())
        .spawn(move || {
            let out = Out {
                tx: events_tx,
                repaint: repaint2,
            };
            Worker::start(cfg, &out).serve(&jobs_rx, &out);
        })
        .inspect_err(|e| tracing::error!(error = %e, "cannot start the worker thread"))
        .ok();
    WorkerHandle {
        jobs: jobs_tx,
        events: events_rx,
        repaint,
        thread,
    }
}

#[derive(Clone)]
struct Out {
    tx: Sender<Event>,
    repaint: Arc<Mutex<Option<egui::Context>>>,
}

impl Out {
    fn send(&self, ev: Event) {
        self.tx
            .send(ev)
            .warn_on_err("sending a worker event to the window");
        if let Ok(slot) = self.repaint.lock()
            && let Some(ctx) = slot.as_ref()
        {
            ctx.request_repaint();
        }
    }
}

struct Pending {
    ticket: u64,
    claim: Claim,
    verification: Verification,
    document: Arc<Vec<u8>>,
    document_back: Option<Arc<Vec<u8>>>,
    selfie: Arc<Vec<u8>>,
}

/// The images of one verification job.
struct Images {
    document: Captured,
    document_back: Option<Captured>,
    selfie: Captured,
}

struct Worker {
    config: Config,
    store: Option<AuditStore>,
    pipeline: Option<Pipeline>,
    session: Option<UserSession>,
    pending: Option<Pending>,
    /// Failed liveness challenges per ticket (the session in progress).
    failed_challenges: HashMap<u64, u32>,
}

fn audit_msg(e: &AuditError) -> String {
    e.to_string()
}

impl Worker {
    fn start(cfg: WorkerConfig, out: &Out) -> Worker {
        let store = match AuditStore::open(cfg.audit.clone()) {
            Ok(store) => {
                let has_admin = store.has_admin().unwrap_or(false);
                out.send(Event::StoreReady {
                    has_admin,
                    db_path: store.db_path().to_path_buf(),
                });
                Some(store)
            }
            Err(e) => {
                out.send(Event::StoreFailed(format!(
                    "{}: {}",
                    cfg.audit.db_path.display(),
                    audit_msg(&e)
                )));
                None
            }
        };
        Worker {
            config: cfg.config,
            store,
            pipeline: None,
            session: None,
            pending: None,
            failed_challenges: HashMap::new(),
        }
    }

    fn serve(mut self, jobs: &Receiver<Job>, out: &Out) {
        // The models load on a helper thread so that logins and review work are answered
        // while they load; a verification that arrives first waits for them.
        let (models_tx, models_rx) = channel();
        let loader_out = out.clone();
        let config = self.config.clone();
        let loader = std::thread::Builder::new()
            .name("kyc-model-load".into())
            .spawn(move || {
                let t = Instant::now();
                let loaded = Pipeline::load(config);
                loader_out.send(match &loaded {
                    Ok(_) => Event::PipelineReady {
                        load_ms: t.elapsed().as_secs_f64() * 1000.0,
                    },
                    Err(e) => Event::PipelineFailed(e.to_string()),
                });
                models_tx
                    .send(loaded.ok())
                    .warn_on_err("handing the loaded models to the worker");
            });
        if let Err(e) = &loader {
            out.send(Event::PipelineFailed(format!(
                "cannot start the model loader: {e}"
            )));
        }
        let mut models_pending = true;
        while let Ok(job) = jobs.recv() {
            if models_pending {
                let wait = matches!(job, Job::Verify { .. });
                let got = if wait {
                    models_rx.recv().ok()
                } else {
                    models_rx.try_recv().ok()
                };
                if let Some(p) = got {
                    self.pipeline = p;
                    // Thresholds changed while the models loaded apply to them too.
                    if let Some(p) = self.pipeline.as_mut() {
                        p.set_thresholds(self.config.matching.clone(), self.config.decision)
                            .warn_on_err("applying the thresholds to the loaded models");
                    }
                    models_pending = false;
                } else if wait {
                    models_pending = false;
                }
            }
            self.handle(job, out);
        }
        if let (Some(store), Some(session)) = (self.store.as_mut(), self.session.take()) {
            store.logout(session).warn_on_err("logging out at close");
        }
        // A kiosk closed while its models load waits for the loader: ONNX Runtime must not be
        // torn down at process exit under a thread still creating sessions (it crashed so).
        if let Ok(handle) = loader {
            join_or_warn(handle, "waiting for the model loader");
        }
    }

    fn handle(&mut self, job: Job, out: &Out) {
        match job {
            Job::Login { username, password } => out.send(self.login(&username, &password)),
            Job::Logout => {
                self.pending = None;
                if let (Some(store), Some(session)) = (self.store.as_mut(), self.session.take()) {
                    store.logout(session).warn_on_err("logging out");
                }
                out.send(Event::LoggedOut);
            }
            Job::Verify {
                ticket,
                claim,
                document,
                document_back,
                selfie,
                liveness,
            } => {
                let images = Images {
                    document,
                    document_back,
                    selfie,
                };
                let ev = match self.verify(ticket, claim, images, liveness, out) {
                    Ok(view) => Event::Verified {
                        ticket,
                        view: Box::new(view),
                    },
                    Err(message) => Event::VerifyFailed { ticket, message },
                };
                out.send(ev);
            }
            Job::Decide { ticket, decision } => {
                let ev = match self.decide(ticket, &decision) {
                    Ok(receipt) => Event::Recorded { ticket, receipt },
                    Err(message) => Event::RecordFailed { ticket, message },
                };
                out.send(ev);
            }
            Job::Discard { ticket } => {
                if self.pending.as_ref().is_some_and(|p| p.ticket == ticket) {
                    self.pending = None;
                }
                self.failed_challenges.remove(&ticket);
            }
            Job::ChallengeFailed {
                ticket,
                attempt,
                claim,
                result,
            } => {
                self.failed_challenges.insert(ticket, attempt);
                if let Err(message) = self.log_failed_challenge(ticket, attempt, &claim, &result) {
                    out.send(Event::ChallengeLogFailed { ticket, message });
                }
            }
            Job::LoadQueue { filter } => {
                out.send(self.queue(&filter).unwrap_or_else(Event::ReviewFailed));
            }
            Job::LoadRecord { id } => out.send(match self.load_record(id) {
                Ok(v) => Event::Record(Box::new(v)),
                Err(e) => Event::ReviewFailed(e),
            }),
            Job::Override { id, decision, note } => {
                out.send(match self.override_case(id, decision, &note) {
                    Ok(action_id) => Event::Overridden { id, action_id },
                    Err(e) => Event::ReviewFailed(e),
                });
            }
            Job::Admin(job) => {
                let parts = super::admin::WorkerParts {
                    store: self.store.as_mut(),
                    session: self.session.as_ref(),
                    config: &mut self.config,
                    pipeline: self.pipeline.as_mut(),
                };
                out.send(Event::Admin(super::admin::serve(parts, job)));
            }
        }
    }

    fn login(&mut self, username: &str, password: &str) -> Event {
        let Some(store) = self.store.as_mut() else {
            return Event::LoginFailed("the audit store is not open".into());
        };
        if let Some(old) = self.session.take() {
            store.logout(old).warn_on_err("ending the previous session");
        }
        match store.login(username, password) {
            Ok(session) => {
                let ev = Event::LoggedIn {
                    username: session.username().to_string(),
                    role: session.role(),
                };
                self.session = Some(session);
                ev
            }
            Err(e) => Event::LoginFailed(audit_msg(&e)),
        }
    }

    fn verify(
        &mut self,
        ticket: u64,
        claim: Claim,
        images: Images,
        liveness: Option<Box<LivenessResult>>,
        out: &Out,
    ) -> Result<ResultView, String> {
        let Images {
            document,
            document_back,
            selfie,
        } = images;
        self.pending = None;
        if self.session.is_none() {
            return Err("not logged in".into());
        }
        let started = Instant::now();
        let limits = self.config.limits;
        out.send(Event::Progress {
            ticket,
            stage: Stage::Decoding,
        });
        let (doc, document_bytes) = document.materialise(&limits)?;
        let back = match &document_back {
            Some(c) => Some(c.materialise(&limits)?),
            None => None,
        };
        let (sel, selfie_bytes) = selfie.materialise(&limits)?;
        let document_preview = preview_of(&doc.rgb);
        let back_preview = back.as_ref().map(|(d, _)| preview_of(&d.rgb));
        let (back_input, back_bytes) = match (back, &document_back) {
            (Some((d, bytes)), Some(c)) => (Some(Input::Image(d, c.name.clone())), Some(bytes)),
            _ => (None, None),
        };
        let selfie_preview = preview_of(&sel.rgb);
        let Some(pipeline) = self.pipeline.as_mut() else {
            return Err("the models are not loaded".into());
        };
        out.send(Event::Progress {
            ticket,
            stage: Stage::Analysing,
        });
        let mut verification = pipeline
            .verify_sides(
                Input::Image(doc, document.name.clone()),
                back_input,
                Input::Image(sel, selfie.name.clone()),
                liveness.as_deref(),
            )
            .map_err(|e| e.to_string())?;
        kyc_core::decision::check_claimed_id(
            &mut verification.result,
            claim.id_type.as_deref(),
            claim.id_number.as_deref(),
        );
        let failed = self.failed_challenges.get(&ticket).copied().unwrap_or(0);
        kyc_core::decision::apply_failed_attempts(&mut verification.result, failed);
        out.send(Event::Progress {
            ticket,
            stage: Stage::Duplicates,
        });
        let duplicates = match (self.store.as_ref(), verification.selfie_template.as_deref()) {
            (Some(store), Some(t)) => store
                .check_duplicates(t, claim.id_number.as_deref())
                .map_err(|e| audit_msg(&e))?,
            _ => DuplicateReport::default(),
        };
        let view = ResultView {
            result: verification.result.clone(),
            duplicates,
            portrait: verification.portrait.as_ref().map(preview_of),
            selfie: selfie_preview,
            document: document_preview,
            document_back: back_preview,
            pipeline_ms: started.elapsed().as_secs_f64() * 1000.0,
        };
        self.pending = Some(Pending {
            ticket,
            claim,
            verification,
            document: document_bytes,
            document_back: back_bytes,
            selfie: selfie_bytes,
        });
        Ok(view)
    }

    /// One failed challenge as a chained `liveness_challenge_failed` event: the challenge issued
    /// (nonce, steps), how each step went, the passive score and why it failed.
    fn log_failed_challenge(
        &mut self,
        ticket: u64,
        attempt: u32,
        claim: &Claim,
        result: &LivenessResult,
    ) -> Result<i64, String> {
        let (Some(store), Some(session)) = (self.store.as_mut(), self.session.as_ref()) else {
            return Err("not logged in".into());
        };
        let payload = serde_json::json!({
            "ticket": ticket,
            "attempt": attempt,
            "sessionStartedMs": claim.started_ms,
            "customerType": claim.customer_type.as_str(),
            "country": claim.country,
            "claimedIdType": claim.id_type,
            "claimedIdNumber": claim.id_number,
            "challenge": result.challenge,
            "active": result.active,
            "passive": result.passive,
            "reasons": result.reasons,
            "frameCount": result.frame_count,
        });
        store
            .log_event(session, "liveness_challenge_failed", payload)
            .map_err(|e| audit_msg(&e))
    }

    fn decide(
        &mut self,
        ticket: u64,
        decision: &OperatorDecision,
    ) -> Result<RecordReceipt, String> {
        let (Some(store), Some(session)) = (self.store.as_mut(), self.session.as_ref()) else {
            return Err("not logged in".into());
        };
        let Some(p) = self.pending.as_ref().filter(|p| p.ticket == ticket) else {
            return Err("this verification is no longer held; run it again".into());
        };
        let ctx = RecordContext {
            operator: session.username(),
            customer_type: p.claim.customer_type,
            claimed_id_type: p.claim.id_type.as_deref(),
            claimed_id_number: p.claim.id_number.as_deref(),
            started_ms: p.claim.started_ms,
            document_bytes: Some(p.document.as_slice()),
            selfie_bytes: Some(p.selfie.as_slice()),
            document_back_bytes: p.document_back.as_ref().map(|b| b.as_slice()),
        };
        let result = record::record_decided(
            store,
            &self.config,
            &p.verification,
            &ctx,
            Some(p.claim.country.as_str()),
            Some(decision),
        )
        .map_err(|e| audit_msg(&e))?;
        self.pending = None;
        result
            .record
            .ok_or_else(|| "the store returned no receipt".to_string())
    }

    fn parts(&self) -> Result<(&AuditStore, &UserSession), String> {
        match (self.store.as_ref(), self.session.as_ref()) {
            (Some(store), Some(session)) => Ok((store, session)),
            _ => Err("not logged in".into()),
        }
    }

    fn queue(&self, filter: &RecordFilter) -> Result<Event, String> {
        let (store, session) = self.parts()?;
        let page = Page {
            offset: 0,
            limit: 200,
        };
        let only_pending = RecordFilter {
            review_status: Some(audit::ReviewStatus::Pending),
            ..RecordFilter::default()
        };
        let queue = if *filter == only_pending {
            // The plain queue: oldest case first.
            store.review_queue(session, page)
        } else {
            store.query(session, filter, page).map(|mut rows| {
                if filter.review_status == Some(audit::ReviewStatus::Pending) {
                    rows.reverse();
                }
                rows
            })
        }
        .map_err(|e| audit_msg(&e))?;
        // Statistics over the same records, whatever their review status.
        let stats = store
            .stats(
                session,
                &RecordFilter {
                    review_status: None,
                    ..filter.clone()
                },
            )
            .inspect_err(|e| tracing::warn!(error = %e, "review statistics not computed"))
            .ok();
        Ok(Event::Queue { queue, stats })
    }

    fn load_record(&self, id: i64) -> Result<RecordView, String> {
        let (store, session) = self.parts()?;
        let detail = store.get_record(session, id).map_err(|e| audit_msg(&e))?;
        let limits = self.config.limits;
        let image = |kind: ImageKind| -> Option<egui::ColorImage> {
            if !detail.images.contains(&kind) {
                return None;
            }
            let bytes = store.load_image(session, id, kind).ok()?;
            let decoded =
                imaging::decode_bytes(&bytes, std::path::Path::new(kind.as_str()), &limits).ok()?;
            Some(preview_of(&decoded.rgb))
        };
        let portrait = image(ImageKind::Portrait);
        let selfie = image(ImageKind::Selfie);
        let document_back = image(ImageKind::DocumentBack);
        Ok(RecordView {
            detail,
            portrait,
            selfie,
            document_back,
        })
    }

    fn override_case(
        &mut self,
        id: i64,
        decision: audit::Decision,
        note: &str,
    ) -> Result<i64, String> {
        let (Some(store), Some(session)) = (self.store.as_mut(), self.session.as_ref()) else {
            return Err("not logged in".into());
        };
        store
            .record_supervisor_action(session, id, "override", Some(decision), note.trim())
            .map_err(|e| audit_msg(&e))
    }
}

/// The result type's decision as the audit store's.
#[must_use]
pub fn to_audit(d: Decision) -> audit::Decision {
    match d {
        Decision::Approve => audit::Decision::Approve,
        Decision::Refer => audit::Decision::Refer,
        Decision::Reject => audit::Decision::Reject,
    }
}
