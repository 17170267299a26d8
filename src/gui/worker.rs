//! The background worker: one thread that owns the verification service (the audit store, the
//! models, the signed-in user and the verification in progress). The UI sends it [`Job`]s and
//! reads [`Event`]s back; this is a thin message loop — every rule of a verification's life is
//! the service's (`kyc_core::service`) — and nothing here runs on the UI thread, so model
//! loading, inference, argon2 and SQLite never freeze a frame.

use eframe::egui;
use kyc_core::logs::{WarnOnErr, join_or_warn};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use kyc_core::audit::{self, AuditConfig, Page, RecordFilter};
use kyc_core::config::Config;
use kyc_core::config_guard;
use kyc_core::pipeline::Pipeline;
use kyc_core::service::{self, AbandonReason, ServiceError, VerificationService};
use kyc_core::settings::SettingsInForce;

use super::capture::preview_of;
use super::config_confirm::ConfigReview;
use super::messages::{
    AdminEvent, AdminJob, Captured, Claim, Event, FirstRunField, Job, RecordView, ResultView,
    SettingsNotice, Stage,
};
use super::settings_file::KioskSettings;

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
    /// Pipeline settings (the settings in force: the settings file already laid over).
    pub config: Config,
    /// Audit store settings.
    pub audit: AuditConfig,
    /// The settings file the settings screen writes, if any.
    pub settings_path: Option<PathBuf>,
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

/// How long the worker waits for a job before checking whether the retention purge is due.
const RETENTION_POLL: std::time::Duration = std::time::Duration::from_secs(3600);

struct Worker {
    service: Option<VerificationService>,
    config: Config,
    /// The UI's ticket of the verification open in the service.
    ticket: Option<u64>,
    /// A configuration outside the safe range waiting for an administrator's confirmation: the
    /// service stays closed until then.
    pending: Option<PendingConfig>,
    /// Models loaded while the service was closed, for when it opens.
    spare_pipeline: Option<Pipeline>,
}

/// What opening the service again needs, once the configuration is confirmed.
struct PendingConfig {
    settings: SettingsInForce,
    audit: AuditConfig,
}

/// The configuration in force as the System tab and the confirmation form show it.
fn review_of(config: &Config, confirmed: Option<audit::ConfigConfirmation>) -> ConfigReview {
    ConfigReview {
        hash: config_guard::config_hash(config),
        problems: config_guard::unsafe_values(config),
        confirmed,
    }
}

fn msg(e: &ServiceError) -> String {
    e.to_string()
}

impl Worker {
    fn start(cfg: WorkerConfig, out: &Out) -> Worker {
        let settings = SettingsInForce {
            config: cfg.config.clone(),
            file: None,
            path: cfg.settings_path.clone(),
        };
        let mut worker = Worker {
            service: None,
            config: cfg.config,
            ticket: None,
            pending: None,
            spare_pipeline: None,
        };
        match VerificationService::open(settings.clone(), cfg.audit.clone()) {
            Ok(svc) => worker.opened(svc, out),
            Err(e) => {
                if matches!(e, ServiceError::UnsafeConfig(_)) {
                    // The window shows what is unsafe and takes an administrator's confirmation.
                    out.send(Event::ConfigReview(review_of(&worker.config, None)));
                    worker.pending = Some(PendingConfig {
                        settings,
                        audit: cfg.audit.clone(),
                    });
                }
                out.send(Event::StoreFailed(format!(
                    "{}: {}",
                    cfg.audit.db_path.display(),
                    msg(&e)
                )));
            }
        }
        worker
    }

    /// The service is open: tell the window, with the configuration it runs under.
    fn opened(&mut self, mut svc: VerificationService, out: &Out) {
        let has_admin = svc.store().has_admin().unwrap_or(false);
        out.send(Event::ConfigReview(review_of(
            svc.config(),
            svc.config_confirmation().cloned(),
        )));
        out.send(Event::StoreReady {
            has_admin,
            db_path: svc.store().db_path().to_path_buf(),
        });
        for id in svc.recovered() {
            out.send(Event::Abandoned {
                ticket: None,
                id: *id,
            });
        }
        if let Some(p) = self.spare_pipeline.take()
            && let Err(e) = svc.set_pipeline(p)
        {
            out.send(Event::PipelineFailed(msg(&e)));
        }
        self.service = Some(svc);
    }

    /// An administrator's confirmation of the configuration waiting for one: the calls of
    /// `kyc-kiosk audit confirm-config` (sign in on the store, chain the confirmation of exactly
    /// this hash, sign out), then the service opens with it.
    fn confirm_config(
        &mut self,
        username: &str,
        password: &str,
        hash: &str,
        out: &Out,
    ) -> Result<ConfigReview, String> {
        let pending = self
            .pending
            .as_ref()
            .ok_or("the configuration in force needs no confirmation")?;
        let in_force = config_guard::config_hash(&pending.settings.config);
        if !hash.eq_ignore_ascii_case(&in_force) {
            return Err(format!(
                "{hash} is not the configuration in force (sha256 {in_force}): it changed since \
                 it was shown"
            ));
        }
        let seq = {
            let mut store =
                audit::AuditStore::open(pending.audit.clone()).map_err(|e| e.to_string())?;
            let by = store.login(username, password).map_err(|e| e.to_string())?;
            let confirmed = store.confirm_config(
                &by,
                &in_force,
                config_guard::describe(&pending.settings.config),
            );
            store
                .logout(by)
                .warn_on_err("signing the confirming administrator out");
            confirmed.map_err(|e| e.to_string())?
        };
        tracing::info!(seq, "configuration confirmed from the window");
        let Some(pending) = self.pending.take() else {
            return Err("the configuration in force needs no confirmation".into());
        };
        match VerificationService::open(pending.settings.clone(), pending.audit.clone()) {
            Ok(svc) => {
                let review = review_of(svc.config(), svc.config_confirmation().cloned());
                self.opened(svc, out);
                Ok(review)
            }
            Err(e) => {
                let why = format!(
                    "confirmed (event {seq}), but the kiosk did not open: {}",
                    msg(&e)
                );
                self.pending = Some(pending);
                Err(why)
            }
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
        loop {
            // Wake at least hourly so the daily retention purge runs on an idle kiosk too.
            let job = match jobs.recv_timeout(RETENTION_POLL) {
                Ok(job) => Some(job),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            if let Some(svc) = self.service.as_mut() {
                svc.retention_if_due()
                    .map(|_| ())
                    .warn_on_err("running the daily retention purge");
            }
            let Some(job) = job else { continue };
            if models_pending {
                let wait = matches!(job, Job::Verify { .. });
                let got = if wait {
                    models_rx.recv().ok()
                } else {
                    models_rx.try_recv().ok()
                };
                if let Some(p) = got {
                    // Thresholds changed while the models loaded apply to them too.
                    match (p, self.service.as_mut()) {
                        (Some(p), Some(svc)) => {
                            if let Err(e) = svc.set_pipeline(p) {
                                out.send(Event::PipelineFailed(msg(&e)));
                            }
                        }
                        // Kept for the service a confirmation opens later.
                        (Some(p), None) => self.spare_pipeline = Some(p),
                        (None, _) => {}
                    }
                    models_pending = false;
                } else if wait {
                    models_pending = false;
                }
            }
            self.handle(job, out);
        }
        // Dropping the service ends an open verification as abandoned and logs the user out.
        drop(self.service.take());
        // A kiosk closed while its models load waits for the loader: ONNX Runtime must not be
        // torn down at process exit under a thread still creating sessions (it crashed so).
        if let Ok(handle) = loader {
            join_or_warn(handle, "waiting for the model loader");
        }
    }

    fn service(&mut self) -> Result<&mut VerificationService, String> {
        self.service
            .as_mut()
            .ok_or_else(|| "the audit store is not open".to_string())
    }

    /// Report how ending a verification without a decision went.
    fn report_abandoned(
        out: &Out,
        ticket: Option<u64>,
        r: Result<Option<audit::RecordReceipt>, ServiceError>,
    ) {
        match r {
            Ok(Some(receipt)) => out.send(Event::Abandoned {
                ticket,
                id: receipt.id,
            }),
            Ok(None) => {}
            Err(e) => out.send(Event::ServiceFailed(msg(&e))),
        }
    }

    fn handle(&mut self, job: Job, out: &Out) {
        match job {
            Job::Login { username, password } => out.send(self.login(&username, &password)),
            Job::Logout | Job::IdleTimeout => {
                let idle = matches!(job, Job::IdleTimeout);
                let ticket = self.ticket.take();
                if let Some(svc) = self.service.as_mut() {
                    let r = if idle {
                        svc.idle_timeout()
                    } else {
                        svc.logout()
                    };
                    Self::report_abandoned(out, ticket, r);
                }
                out.send(Event::LoggedOut);
            }
            Job::DocumentCaptured {
                ticket,
                claim,
                document,
                document_back,
            } => {
                if let Err(message) = self.open_session(ticket, claim, document, document_back) {
                    out.send(Event::VerifyFailed { ticket, message });
                }
            }
            Job::Verify {
                ticket,
                claim,
                document,
                document_back,
                selfie,
                liveness,
            } => {
                let ev = match self
                    .open_session(ticket, claim, document, document_back)
                    .and_then(|()| self.verify(ticket, selfie, liveness.map(|l| *l), out))
                {
                    Ok(view) => Event::Verified {
                        ticket,
                        view: Box::new(view),
                    },
                    Err(message) => Event::VerifyFailed { ticket, message },
                };
                out.send(ev);
            }
            Job::Decide { ticket, decision } => match self.decide(ticket, &decision) {
                Ok(receipt) => {
                    let id = receipt.id;
                    out.send(Event::Recorded { ticket, receipt });
                    // The fleet-wide duplicate search, online, once the record is safe.
                    self.check_centrally(id, out);
                }
                Err(message) => out.send(Event::RecordFailed { ticket, message }),
            },
            Job::Discard { ticket } => {
                if self.ticket == Some(ticket) {
                    self.ticket = None;
                    if let Some(svc) = self.service.as_mut() {
                        let r = svc.abandon(AbandonReason::NextCustomer);
                        Self::report_abandoned(out, Some(ticket), r);
                    }
                }
            }
            Job::Consent {
                ticket,
                claim,
                consent,
            } => {
                let given = consent.given;
                let r = self
                    .ensure_session(ticket, claim)
                    .and_then(|()| self.service()?.record_consent(consent).map_err(|e| msg(&e)));
                match r {
                    Ok(receipt) => {
                        if !given {
                            self.ticket = None;
                            Self::report_abandoned(out, Some(ticket), Ok(receipt));
                        }
                    }
                    Err(message) => out.send(Event::ServiceFailed(message)),
                }
            }
            Job::ChallengeFailed {
                ticket,
                attempt: _,
                claim,
                result,
            } => {
                let r = self.ensure_session(ticket, claim).and_then(|()| {
                    self.service()?
                        .challenge_failed(&result)
                        .map_err(|e| msg(&e))
                });
                if let Err(message) = r {
                    out.send(Event::ChallengeLogFailed { ticket, message });
                }
            }
            Job::LoadQueue { filter } => {
                out.send(self.queue(&filter).unwrap_or_else(Event::ReviewFailed));
            }
            Job::LoadRecord { id } => {
                out.send(match self.load_record(id) {
                    Ok(v) => Event::Record(Box::new(v)),
                    Err(e) => Event::ReviewFailed(e),
                });
                self.send_findings(id, out);
            }
            Job::FleetPulled => {
                if let Some(svc) = self.service.as_mut() {
                    match svc.refresh_fleet_policy() {
                        Ok(false) => {}
                        Ok(true) => {
                            let version = svc.fleet_policy_version();
                            out.send(Event::ConfigReview(review_of(
                                svc.config(),
                                svc.config_confirmation().cloned(),
                            )));
                            out.send(Event::FleetPolicy(Ok((
                                version,
                                Box::new(svc.config().clone()),
                            ))));
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "fleet: the pulled policy is not in force");
                            out.send(Event::FleetPolicy(Err(msg(&e))));
                        }
                    }
                }
            }
            Job::Override { id, decision, note } => {
                let r = self
                    .service()
                    .and_then(|svc| svc.review(id, decision, &note).map_err(|e| msg(&e)));
                out.send(match r {
                    Ok(action_id) => Event::Overridden { id, action_id },
                    Err(e) => Event::ReviewFailed(e),
                });
            }
            Job::Admin(job) => out.send(Event::Admin(serve_admin(self.service.as_mut(), job))),
            Job::ConfirmConfig {
                username,
                password,
                hash,
            } => {
                let answer = self.confirm_config(&username, &password, &hash, out);
                out.send(Event::ConfigConfirmed(answer));
            }
        }
    }

    fn login(&mut self, username: &str, password: &str) -> Event {
        self.ticket = None;
        let Some(svc) = self.service.as_mut() else {
            return Event::LoginFailed("the audit store is not open".into());
        };
        match svc.login(username, password) {
            Ok(session) => Event::LoggedIn {
                username: session.username().to_string(),
                role: session.role(),
            },
            Err(e) => Event::LoginFailed(msg(&e)),
        }
    }

    /// The service's verification for `ticket`: begun with `claim` when it is a new one.
    fn ensure_session(&mut self, ticket: u64, claim: Claim) -> Result<(), String> {
        if self.ticket == Some(ticket) && self.service()?.session().is_some() {
            return Ok(());
        }
        self.service()?.begin(claim).map_err(|e| msg(&e))?;
        self.ticket = Some(ticket);
        Ok(())
    }

    /// Open (or update) the verification for `ticket` with its document sides.
    fn open_session(
        &mut self,
        ticket: u64,
        claim: Claim,
        document: Captured,
        document_back: Option<Captured>,
    ) -> Result<(), String> {
        self.ensure_session(ticket, claim)?;
        let svc = self.service()?;
        svc.capture_document(document).map_err(|e| msg(&e))?;
        svc.capture_document_back(document_back)
            .map_err(|e| msg(&e))
    }

    fn verify(
        &mut self,
        ticket: u64,
        selfie: Captured,
        liveness: Option<kyc_core::liveness::LivenessResult>,
        out: &Out,
    ) -> Result<ResultView, String> {
        let svc = self.service()?;
        if svc.user().is_none() {
            return Err("not logged in".into());
        }
        if !svc.has_pipeline() {
            return Err("the models are not loaded".into());
        }
        svc.capture_selfie(selfie, liveness).map_err(|e| msg(&e))?;
        let checked = svc
            .verify(|stage| {
                out.send(Event::Progress {
                    ticket,
                    stage: match stage {
                        service::Stage::Decoding => Stage::Decoding,
                        service::Stage::Analysing => Stage::Analysing,
                        service::Stage::Duplicates => Stage::Duplicates,
                    },
                });
            })
            .map_err(|e| msg(&e))?;
        Ok(ResultView {
            portrait: checked.portrait.as_ref().map(preview_of),
            selfie: preview_of(&checked.selfie),
            document: preview_of(&checked.document),
            document_back: checked.document_back.as_ref().map(preview_of),
            result: checked.result,
            duplicates: checked.duplicates,
            pipeline_ms: checked.pipeline_ms,
        })
    }

    fn decide(
        &mut self,
        ticket: u64,
        decision: &service::OperatorDecision,
    ) -> Result<audit::RecordReceipt, String> {
        if self.ticket != Some(ticket) {
            return Err("this verification is no longer held; run it again".into());
        }
        let svc = self.service()?;
        if svc.user().is_none() {
            return Err("not logged in".into());
        }
        let result = svc.decide(Some(decision)).map_err(|e| msg(&e))?;
        self.ticket = None;
        result
            .record
            .ok_or_else(|| "the store returned no receipt".to_string())
    }

    fn queue(&mut self, filter: &RecordFilter) -> Result<Event, String> {
        let svc = self.service()?;
        let (store, session) = svc.store_and_user().map_err(|e| msg(&e))?;
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
        .map_err(|e| e.to_string())?;
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

    /// The online central duplicate search of record `id` when the store is enrolled (its
    /// outcome chained on the record; offline is "not checked", never an error), then the
    /// record's central findings to the window.
    fn check_centrally(&mut self, id: i64, out: &Out) {
        let Some(svc) = self.service.as_mut() else {
            return;
        };
        let Some(path) = super::fleet_panel::fleet_file(svc.store().db_path()) else {
            return;
        };
        match kyc_core::fleet::FleetConfig::load(&path) {
            Ok(cfg) => {
                kyc_core::fleet::dedup::check_record(
                    svc.store_mut(),
                    &cfg,
                    id,
                    kyc_core::fleet::dedup::ONLINE_TIMEOUT,
                )
                .map(|_| ())
                .warn_on_err("chaining the central duplicate check");
            }
            Err(e) => tracing::warn!(error = %e, "fleet: the fleet file cannot be read"),
        }
        self.send_findings(id, out);
    }

    /// Record `id`'s central findings (flags, online check), as chained, to the window.
    fn send_findings(&mut self, id: i64, out: &Out) {
        let Some(svc) = self.service.as_ref() else {
            return;
        };
        match super::fleet_panel::findings(svc.store(), id) {
            Ok(findings) => out.send(Event::CentralFindings {
                id,
                findings: Box::new(findings),
            }),
            Err(e) => tracing::warn!(error = %e, "central findings not read"),
        }
    }

    fn load_record(&mut self, id: i64) -> Result<RecordView, String> {
        let svc = self.service()?;
        let limits = svc.config().limits;
        let (store, session) = svc.store_and_user().map_err(|e| msg(&e))?;
        let (detail, case) =
            super::evidence::load_case(store, session, id, &limits).map_err(|e| e.to_string())?;
        let plain = |img: &Option<super::evidence::CaseImage>| img.as_deref().cloned();
        Ok(RecordView {
            portrait: plain(&case.images.portrait),
            selfie: plain(&case.images.selfie),
            document_back: plain(&case.images.back),
            detail,
            case,
        })
    }
}

/// The first run: the store's one-time first-administrator step (the same call as `kyc-kiosk
/// audit create-admin`, chained as `first_admin_created`), then the kiosk's name/ID and branch
/// chained as `settings_changed` by that administrator, in force for the records that follow
/// and saved to the settings file; the administrator is signed out again (they sign in next).
fn first_run(
    svc: &mut VerificationService,
    username: &str,
    password: &str,
    before: &KioskSettings,
    after: KioskSettings,
    file: Option<PathBuf>,
) -> AdminEvent {
    let failed = |field, message: String| AdminEvent::FirstRunFailed { field, message };
    if let Err(e) = svc.store_mut().create_first_admin(username, password) {
        let field = match &e {
            audit::AuditError::WeakPassword(_) => FirstRunField::Password,
            audit::AuditError::InvalidInput(_) | audit::AuditError::UserExists(_) => {
                FirstRunField::Username
            }
            _ => FirstRunField::Other,
        };
        return failed(field, e.to_string());
    }
    tracing::info!("first administrator created from the window");
    if let Err(e) = svc.login(username, password) {
        return failed(
            FirstRunField::Other,
            format!("administrator created, but signing in failed: {e}"),
        );
    }
    svc.set_settings_path(file);
    let saved = svc.change_settings(&before.to_file(), &after.to_file());
    let out = match saved {
        Err(e) => failed(
            FirstRunField::Other,
            format!("administrator created, but the kiosk's name was not recorded: {e}"),
        ),
        Ok(saved) => {
            if let Some(id) = &after.kiosk_id {
                svc.store_mut().set_kiosk_id(id);
            }
            AdminEvent::FirstRunDone {
                username: username.to_string(),
                settings: Box::new(after),
                notice: match saved {
                    Ok(None) => SettingsNotice::NoFile,
                    Ok(Some(path)) => SettingsNotice::Saved(path),
                    Err(e) => SettingsNotice::NotSaved(e.to_string()),
                },
            }
        }
    };
    svc.logout()
        .warn_on_err("signing the first administrator out after set-up");
    out
}

/// Serve one settings-screen job with the service (on the worker thread).
pub fn serve_admin(service: Option<&mut VerificationService>, job: AdminJob) -> AdminEvent {
    let Some(svc) = service else {
        return match job {
            AdminJob::RecordStart { .. } => {
                AdminEvent::StartRecorded(Err("the audit store is not open".into()))
            }
            AdminJob::ApplySettings { .. } => {
                AdminEvent::SettingsFailed("the audit store is not open".into())
            }
            AdminJob::FirstRun { .. } => AdminEvent::FirstRunFailed {
                field: FirstRunField::Other,
                message: "the audit store is not open".into(),
            },
            _ => AdminEvent::UsersFailed("the audit store is not open".into()),
        };
    };
    match job {
        AdminJob::RecordStart { settings, file } => {
            svc.set_settings_path(file);
            AdminEvent::StartRecorded(
                svc.record_settings_in_force("kiosk-start", Some(&settings.to_file()))
                    .map(|_| ())
                    .map_err(|e| format!("settings in force not recorded: {e}")),
            )
        }
        AdminJob::FirstRun {
            username,
            password,
            before,
            after,
            file,
        } => first_run(svc, &username, &password, &before, *after, file),
        AdminJob::ApplySettings {
            before,
            after,
            file,
        } => {
            svc.set_settings_path(file);
            match svc.change_settings(&before.to_file(), &after.to_file()) {
                Err(ServiceError::Audit(e @ audit::AuditError::PermissionDenied { .. })) => {
                    AdminEvent::SettingsFailed(e.to_string())
                }
                Err(e @ ServiceError::Audit(_)) => {
                    AdminEvent::SettingsFailed(format!("not applied: the audit store refused: {e}"))
                }
                Err(e) => AdminEvent::SettingsFailed(msg(&e)),
                Ok(saved) => AdminEvent::SettingsApplied {
                    settings: after,
                    config: Box::new(svc.config().clone()),
                    notice: match saved {
                        Ok(None) => SettingsNotice::NoFile,
                        Ok(Some(path)) => SettingsNotice::Saved(path),
                        Err(e) => SettingsNotice::NotSaved(e.to_string()),
                    },
                },
            }
        }
        other => {
            let Ok((store, session)) = svc.store_and_user() else {
                return AdminEvent::UsersFailed("not logged in".into());
            };
            let (done, result) = match &other {
                AdminJob::CreateUser {
                    username,
                    role,
                    password,
                } => (
                    Some(format!("created {username} ({})", role.as_str())),
                    store
                        .create_user(session, username, password, *role)
                        .map(|_| ()),
                ),
                AdminJob::SetRole { username, role } => (
                    Some(format!("{username} is now {}", role.as_str())),
                    store.set_user_role(session, username, *role),
                ),
                AdminJob::SetDisabled { username, disabled } => (
                    Some(format!(
                        "{username} {}",
                        if *disabled { "disabled" } else { "enabled" }
                    )),
                    store.set_user_disabled(session, username, *disabled),
                ),
                AdminJob::ResetPassword { username, password } => (
                    Some(format!("new password set for {username}")),
                    store.reset_password(session, username, password),
                ),
                AdminJob::Unlock { username } => (
                    Some(format!("{username} unlocked")),
                    store.unlock_user(session, username),
                ),
                AdminJob::ListUsers
                | AdminJob::ApplySettings { .. }
                | AdminJob::FirstRun { .. }
                | AdminJob::RecordStart { .. } => (None, Ok(())),
            };
            if let Err(e) = result {
                return AdminEvent::UsersFailed(e.to_string());
            }
            match store.list_users(session) {
                Ok(list) => AdminEvent::Users { list, done },
                Err(e) => AdminEvent::UsersFailed(e.to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::capture::SourceSpec;
    use crate::gui::settings_file::{self, KioskSettings};
    use crate::gui::strings::Lang;
    use kyc_core::audit::Role;

    fn current() -> KioskSettings {
        KioskSettings::from_parts(
            &Config::default(),
            Some(&SourceSpec::Frames {
                dir: "/tmp/clip".into(),
                fps: 5.0,
            }),
            Lang::En,
            120,
        )
    }

    #[test]
    fn the_worker_refuses_thresholds_from_non_admins_and_records_an_admin_change() {
        use kyc_core::audit::{AuditConfig, AuditStore};
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("audit.sqlite3");
        let audit_cfg = AuditConfig::at(&db).with_fast_hashing();
        {
            let mut store = AuditStore::open(audit_cfg.clone()).unwrap();
            store.create_first_admin("root", "root-password").unwrap();
            let root = store.login("root", "root-password").unwrap();
            store
                .create_user(&root, "ama", "ama-password", Role::Agent)
                .unwrap();
            store.logout(root).unwrap();
        }
        let settings = SettingsInForce {
            config: Config::default(),
            file: None,
            path: None,
        };
        let mut svc = VerificationService::open(settings, audit_cfg).unwrap();
        svc.login("ama", "ama-password").unwrap();
        let file = dir.path().join("kiosk-settings.toml");
        let before = current();
        let mut after = before.clone();
        after.decision.approve_at = 95.0;
        let events = || -> Vec<(String, String)> {
            let conn =
                kyc_core::audit::AuditStore::raw_connection(&kyc_core::audit::AuditConfig::at(&db))
                    .unwrap();
            let mut q = conn
                .prepare("SELECT actor, payload FROM events WHERE kind = 'settings_changed'")
                .unwrap();
            q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        let job = || AdminJob::ApplySettings {
            before: Box::new(before.clone()),
            after: Box::new(after.clone()),
            file: Some(file.clone()),
        };
        // An agent's job asking for a threshold change (a forged form) is refused.
        let ev = serve_admin(Some(&mut svc), job());
        assert!(
            matches!(&ev, AdminEvent::SettingsFailed(m) if m.contains("permission denied")),
            "{ev:?}"
        );
        assert_eq!(svc.config(), &Config::default());
        assert!(events().is_empty() && !file.exists());
        // The admin's goes to the chain first, then the configuration and the file.
        svc.login("root", "root-password").unwrap();
        let ev = serve_admin(Some(&mut svc), job());
        assert!(
            matches!(&ev, AdminEvent::SettingsApplied { notice: SettingsNotice::Saved(p), .. } if *p == file),
            "{ev:?}"
        );
        assert_eq!(svc.config().decision.approve_at, 95.0);
        let ev = events();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].0, "root");
        let p: serde_json::Value = serde_json::from_str(&ev[0].1).unwrap();
        assert_eq!(p["changed"], serde_json::json!(["decision.approveAt"]));
        assert_eq!(p["after"]["decision"]["approveAt"], 95.0);
        let saved = settings_file::load(&file).unwrap().unwrap();
        assert_eq!(saved.decision.unwrap().approve_at, 95.0);
        assert!(svc.store().verify().unwrap().problems.is_empty());
        // Without a session nothing is done.
        svc.logout().unwrap();
        let ev = serve_admin(Some(&mut svc), AdminJob::ListUsers);
        assert!(matches!(ev, AdminEvent::UsersFailed(_)));
    }
}
