//! The kiosk GUI: an eframe/egui shell over the core. `state` is the pure state machine,
//! `worker` the background thread that owns the pipeline and the audit store, `capture` the
//! frame sources on their own thread, `view` the drawing, `strings` the English/French text.
//! The UI thread only paints and exchanges messages; see `ARCHITECTURE-gui.md`.

pub mod admin;
pub mod admin_model;
pub mod admin_view;
pub mod capture;
pub mod central;
pub mod central_view;
pub mod challenge;
pub mod config_confirm;
pub mod countries;
pub mod evidence;
pub mod evidence_text;
pub mod fleet_panel;
pub mod messages;
pub mod meter;
pub mod picker;
pub mod receipt;
pub mod settings_file;
pub mod setup;
pub mod state;
pub mod strings;
pub mod system;
pub mod view;
pub mod worker;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui;

use kyc_core::audit::AuditConfig;
use kyc_core::config::Config;
use kyc_core::error::{Error, exit};

use capture::{CaptureEvent, CaptureHandle, SourceSpec};
use challenge::ChallengeHandle;
use kyc_core::liveness::challenge::{Challenge, Step};
use meter::{Hint, MeterEvent, MeterHandle, Side};
use settings_file::{KioskSettings, SettingsFile};
use state::AppState;
use strings::Lang;
use worker::{WorkerConfig, WorkerHandle};

/// Command-line options of `kyc-kiosk gui`.
#[derive(Debug, Clone, clap::Args)]
pub struct GuiArgs {
    /// Document image to pre-load in the import field.
    #[arg(long)]
    pub document: Option<PathBuf>,
    /// Selfie image to pre-load in the import field.
    #[arg(long)]
    pub selfie: Option<PathBuf>,
    /// Frame source: `camera[:<index>][@WIDTHxHEIGHT]`, `frames:<folder>[@fps]` or
    /// `image:<file>`. Default: the first camera, when the system lists one.
    #[arg(long)]
    pub source: Option<String>,
    /// Audit database (default: the platform data folder).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Kiosk mode: fullscreen, no decorations; leaving needs a supervisor.
    #[arg(long)]
    pub kiosk: bool,
    /// UI language: en or fr [default: the settings file's, else en].
    #[arg(long)]
    pub lang: Option<String>,
    /// Seconds without input after which the customer's data is cleared from the screen
    /// [default: the settings file's, else 120].
    #[arg(long)]
    pub idle_timeout: Option<u64>,
    /// The settings file the settings screen writes (default: $KYC_KIOSK_SETTINGS, else
    /// kiosk-settings.toml in the platform config folder). Its values apply unless given on
    /// this command line.
    #[arg(long)]
    pub settings: Option<PathBuf>,
    /// Liveness challenge steps on the selfie screen, comma-separated (turnLeft, turnRight,
    /// lookUp, comeCloser, smile, blink); default: 2–3 random steps per customer.
    #[arg(long)]
    pub challenge: Option<String>,
}

impl Default for GuiArgs {
    /// The same defaults as the command line (`kyc-kiosk` with no command).
    fn default() -> Self {
        GuiArgs {
            document: None,
            selfie: None,
            source: None,
            db: None,
            kiosk: false,
            lang: None,
            idle_timeout: None,
            settings: None,
            challenge: None,
        }
    }
}

/// Everything the app needs to start.
#[derive(Clone)]
pub struct AppOptions {
    /// Pipeline settings.
    pub config: Config,
    /// Audit store settings.
    pub audit: AuditConfig,
    /// Frame source, if any (without one: file import and a "no camera" banner).
    pub source: Option<SourceSpec>,
    /// Pre-filled document path.
    pub document: Option<PathBuf>,
    /// Pre-filled selfie path.
    pub selfie: Option<PathBuf>,
    /// Language.
    pub lang: Lang,
    /// Kiosk mode.
    pub kiosk: bool,
    /// Idle timeout.
    pub idle_timeout: Duration,
    /// Fixed challenge steps (`None`: a random challenge per customer).
    pub challenge: Option<Vec<Step>>,
    /// The kiosk's name/ID and branch and the theme, as saved (first-run set-up, settings).
    pub identity: Identity,
    /// The configuration file the configuration came from (`None`: the defaults), for the
    /// System tab.
    pub config_path: Option<PathBuf>,
}

/// The kiosk's saved name/ID and branch, and its theme.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The kiosk's name or ID (`None`: the host name).
    pub kiosk_id: Option<String>,
    /// The branch.
    pub branch: Option<String>,
    /// Light or dark.
    pub theme: settings_file::Theme,
}

impl AppOptions {
    /// The command line's defaults (no frame source, English, not in kiosk mode, a 120 s idle
    /// timeout, a random challenge per customer) over `config` and `audit`.
    #[must_use]
    pub fn new(config: Config, audit: AuditConfig) -> Self {
        AppOptions {
            config,
            audit,
            source: None,
            document: None,
            selfie: None,
            lang: Lang::En,
            kiosk: false,
            idle_timeout: Duration::from_secs(120),
            challenge: None,
            identity: Identity::default(),
            config_path: None,
        }
    }
}

/// Per-frame UI cost, for the frame-time figure.
#[derive(Default)]
pub struct FrameTimes {
    samples: VecDeque<f64>,
}

impl FrameTimes {
    const KEEP: usize = 10_000;

    /// Add one frame's milliseconds.
    pub fn push(&mut self, ms: f64) {
        if self.samples.len() == Self::KEEP {
            self.samples.pop_front();
        }
        self.samples.push_back(ms);
    }

    /// The `q` quantile (0–1) of the kept samples, nearest rank.
    #[must_use]
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.samples.is_empty() {
            return None;
        }
        let mut v: Vec<f64> = self.samples.iter().copied().collect();
        v.sort_by(f64::total_cmp);
        let rank = ((q.clamp(0.0, 1.0) * v.len() as f64).ceil() as usize).clamp(1, v.len());
        Some(v[rank - 1])
    }

    /// Samples kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// No samples yet.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

/// The kiosk application: state, worker, capture thread and textures.
pub struct KioskApp {
    /// The state machine (public so tests can assert on it).
    pub state: AppState,
    /// UI-side fields that are not part of the state machine.
    pub ui: view::UiState,
    /// Frame cost of each `frame` call.
    pub frame_times: FrameTimes,
    opts: AppOptions,
    worker: WorkerHandle,
    capture: Option<CaptureHandle>,
    challenge: Option<ChallengeHandle>,
    meter: Option<MeterHandle>,
    /// The run the challenge thread is working on, if any.
    challenge_run: Option<u64>,
    /// The theme the window shows (applied when the settings change it).
    theme_applied: Option<settings_file::Theme>,
    /// A receipt being written: the session's ticket and the writer's answer.
    receipt_job: Option<(u64, std::sync::mpsc::Receiver<Result<PathBuf, String>>)>,
    /// The settings in force were sent to the audit chain (first frame).
    start_recorded: bool,
    clock: Instant,
    /// The background sync of an enrolled kiosk (push, pull decisions and policy).
    fleet: Option<fleet_panel::FleetLink>,
    /// Pulls the worker was asked to take in.
    fleet_pulls_taken: u64,
}

impl KioskApp {
    /// Start the worker (store, then models) and the frame source.
    #[must_use]
    pub fn new(opts: AppOptions) -> Self {
        let worker = worker::spawn(WorkerConfig {
            config: opts.config.clone(),
            audit: opts.audit.clone(),
            settings_path: None,
        });
        let mut ui = view::UiState::default();
        ui.limits = opts.config.limits;
        if let Some(p) = &opts.document {
            ui.document_path = p.display().to_string();
        }
        if let Some(p) = &opts.selfie {
            ui.selfie_path = p.display().to_string();
        }
        let mut state = AppState::new(opts.lang);
        state.admin.system.inputs = Some(system::HealthInputs {
            config: opts.config.clone(),
            config_path: opts.config_path.clone(),
            audit: opts.audit.clone(),
        });
        state.admin.set_current(
            KioskSettings {
                kiosk_id: opts.identity.kiosk_id.clone(),
                branch: opts.identity.branch.clone(),
                theme: opts.identity.theme,
                ..KioskSettings::from_parts(
                    &opts.config,
                    opts.source.as_ref(),
                    opts.lang,
                    opts.idle_timeout.as_secs(),
                )
            },
            opts.config.clone(),
        );
        KioskApp {
            state,
            ui,
            frame_times: FrameTimes::default(),
            opts,
            worker,
            capture: None,
            challenge: None,
            meter: None,
            challenge_run: None,
            receipt_job: None,
            theme_applied: None,
            start_recorded: false,
            clock: Instant::now(),
            fleet: None,
            fleet_pulls_taken: 0,
        }
    }

    /// Run the fleet cycle (push the trail, pull central decisions and the fleet policy) every
    /// `every` on a background thread when the store is enrolled; a pulled policy is put in
    /// force without a restart and the status line shows the sync.
    #[must_use]
    pub fn with_fleet_sync(mut self, every: Duration) -> Self {
        self.fleet = fleet_panel::FleetLink::start(&self.opts.audit, every);
        self
    }

    /// Take what the background sync did: its status, and a pull to put in force.
    fn poll_fleet(&mut self) {
        if let Some(link) = &self.fleet {
            let status = link.status();
            if status.pulls > self.fleet_pulls_taken {
                self.fleet_pulls_taken = status.pulls;
                self.worker.send(messages::Job::FleetPulled);
            }
            self.state.fleet.status = Some(status);
        }
        if let Some(config) = self.state.fleet.config_in_force.take() {
            self.opts.config = (*config).clone();
            if let Some(inputs) = self.state.admin.system.inputs.as_mut() {
                inputs.config = *config;
            }
        }
    }

    /// Save changes made on the settings screen to `path` (`None`: they last until exit).
    #[must_use]
    pub fn with_settings_file(mut self, path: Option<PathBuf>) -> Self {
        self.state.admin.settings_file = path;
        self
    }

    /// Act on settings the worker applied: the idle timeout, the thresholds shown, and a new
    /// frame source (the capture thread is restarted on it).
    fn settings_applied(&mut self, applied: &KioskSettings) {
        self.opts.idle_timeout = Duration::from_secs(applied.idle_timeout_secs);
        self.opts.config = applied.apply_to(&self.opts.config);
        self.opts.lang = applied.lang;
        if applied.source != self.opts.source {
            self.opts.source = applied.source.clone();
            // Dropping the handle stops the thread; `ensure_capture` starts the new source.
            self.capture = None;
            self.ui.frame = None;
            self.ui.source_error = None;
            self.ui.source_retrying = false;
        }
    }

    /// The challenge for the next customer: the fixed steps, or a random one.
    fn issue_challenge(&self) -> Challenge {
        let cfg = &self.opts.config.liveness.challenge;
        match &self.opts.challenge {
            Some(steps) if !steps.is_empty() => Challenge::with_steps(steps.clone(), cfg),
            _ => Challenge::random(cfg),
        }
    }

    /// Milliseconds since the app started (the idle timer's clock).
    #[must_use]
    pub fn now_ms(&self) -> f64 {
        self.clock.elapsed().as_secs_f64() * 1000.0
    }

    fn ensure_capture(&mut self, ctx: &egui::Context) {
        if self.capture.is_some() {
            return;
        }
        if let Some(spec) = self.opts.source.clone() {
            let ctx2 = ctx.clone();
            self.capture = Some(capture::spawn(
                spec,
                self.opts.config.limits,
                Arc::new(move || ctx2.request_repaint()),
            ));
            // A live source gets the document meter (automatic capture) and the liveness
            // challenge on the selfie screen (each started once; a new source from the
            // settings screen keeps them).
            if self.meter.is_none() {
                let ctx = ctx.clone();
                self.meter = Some(meter::spawn(
                    self.opts.config.clone(),
                    Arc::new(move || ctx.request_repaint()),
                ));
            }
            if self.challenge.is_none() {
                let ctx = ctx.clone();
                self.state.liveness_models = state::ModelStatus::Loading;
                self.challenge = Some(challenge::spawn(
                    self.opts.config.clone(),
                    Arc::new(move || ctx.request_repaint()),
                ));
            }
        } else {
            self.state.liveness_models = state::ModelStatus::Failed("no live frame source".into());
        }
    }

    /// One UI frame: take worker events and frames, draw, send jobs. Used by eframe and tests.
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        let t = Instant::now();
        let ctx = ui.ctx().clone();
        self.worker.set_repaint_context(&ctx);
        let theme = self
            .state
            .admin
            .current
            .as_ref()
            .map(|c| c.theme)
            .unwrap_or_default();
        if self.theme_applied != Some(theme) {
            view::apply_theme(&ctx, theme);
            self.theme_applied = Some(theme);
        }
        self.ensure_capture(&ctx);
        if !std::mem::replace(&mut self.start_recorded, true)
            && let Some(settings) = self.state.admin.current.clone()
        {
            self.worker
                .send(messages::Job::Admin(messages::AdminJob::RecordStart {
                    settings: Box::new(settings),
                    file: self.state.admin.settings_file.clone(),
                }));
        }
        for ev in self.worker.poll() {
            for job in self.state.apply(ev) {
                self.worker.send(job);
            }
        }
        if let Some(ch) = &self.challenge {
            for ev in ch.poll() {
                if let Some(job) = self.state.apply_challenge(ev) {
                    self.worker.send(job);
                }
            }
        }
        self.poll_meter();
        self.poll_fleet();
        if let Some(cap) = &self.capture {
            match cap.latest() {
                Some(CaptureEvent::Frame(f)) => {
                    if self.state.challenge_running()
                        && let Some(ch) = &self.challenge
                    {
                        ch.offer(&f);
                    }
                    if self.wants_meter()
                        && let Some(m) = &self.meter
                    {
                        m.offer(&f);
                    }
                    self.ui.set_frame(&ctx, f);
                }
                Some(CaptureEvent::Failed(m)) => {
                    self.ui.source_error = Some(m);
                    self.ui.source_retrying = false;
                }
                Some(CaptureEvent::Retrying(m)) => {
                    self.ui.source_error = Some(m);
                    self.ui.source_retrying = true;
                }
                None => {}
            }
        }
        self.state.admin.system.camera = system::CameraSeen {
            source: self
                .opts
                .source
                .as_ref()
                .map(|s| settings_file::source_arg(Some(s))),
            frame: self
                .ui
                .frame
                .as_ref()
                .map(|f| (f.rgb.width(), f.rgb.height())),
            error: self.ui.source_error.clone(),
        };
        self.write_receipt();
        let now = self.now_ms();
        if ctx.input(|i| !i.events.is_empty() || i.pointer.any_down()) {
            self.state.touch(now);
        }
        let timeout = self.opts.idle_timeout.as_secs_f64() * 1000.0;
        for job in self.state.idle_check(now, timeout) {
            self.worker.send(job);
        }
        let has_source = self.opts.source.is_some();
        let jobs = view::draw(
            ui,
            &mut self.state,
            &mut self.ui,
            has_source,
            self.opts.kiosk,
            now,
        );
        for job in jobs.into_iter().chain(self.state.capture_jobs()) {
            self.worker.send(job);
        }
        if let Some(applied) = self.state.admin.take_applied() {
            self.settings_applied(&applied);
        }
        self.sync_challenge();
        // Keep polling while work is in flight, and wake for the idle timer.
        let busy = self.state.login.busy
            || self.state.review.busy
            || self
                .state
                .session
                .as_ref()
                .is_some_and(|s| s.stage.is_some() || s.decision.saving)
            || self.state.challenge_running()
            || self.state.admin.busy
            || self.state.admin.users.busy
            || matches!(self.state.models, state::ModelStatus::Loading);
        ctx.request_repaint_after(if busy {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(1)
        });
        self.frame_times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
}

impl KioskApp {
    /// Once a case is recorded (decided, or ended by a refused consent), write the customer's
    /// receipt on a short-lived thread into the data folder, and take its answer.
    fn write_receipt(&mut self) {
        if let Some((ticket, rx)) = &self.receipt_job
            && let Ok(result) = rx.try_recv()
        {
            let ticket = *ticket;
            self.receipt_job = None;
            if let Some(s) = self.state.session.as_mut().filter(|s| s.ticket == ticket) {
                s.receipt_pdf = Some(result);
            } else if let Some(r) = self.state.refusal.as_mut().filter(|r| r.ticket == ticket) {
                r.pdf = Some(result);
            }
        }
        if self.receipt_job.is_some() {
            return;
        }
        let Some(current) = &self.state.admin.current else {
            return;
        };
        let decided = self.state.session.as_ref().and_then(|s| {
            let receipt = s.receipt.as_ref().filter(|_| s.receipt_pdf.is_none())?;
            let word = view::audit_decision_word(self.state.lang.s(), receipt.current_decision);
            Some((
                s.ticket,
                receipt.id,
                receipt::Outcome::Decided(word.to_string()),
            ))
        });
        let refused = self.state.refusal.as_ref().and_then(|r| {
            let id = r.id.filter(|_| r.pdf.is_none())?;
            Some((r.ticket, id, receipt::Outcome::ConsentRefused))
        });
        let Some((ticket, id, outcome)) = decided.or(refused) else {
            return;
        };
        let kiosk = current
            .kiosk_id
            .clone()
            .unwrap_or_else(|| self.opts.audit.kiosk_id.clone());
        let info = receipt::ReceiptInfo {
            reference: receipt::reference(&kiosk, id),
            decided_ms: kyc_core::record::now_ms(),
            kiosk,
            branch: current.branch.clone(),
            outcome,
            lang: self.state.lang,
        };
        let dir = kyc_core::health::state_dir(&self.opts.audit);
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("kyc-receipt".into())
            .spawn(move || {
                let r = receipt::write(&dir, &info);
                if let Err(e) = &r {
                    tracing::warn!(error = %e, "the receipt could not be written");
                }
                kyc_core::logs::WarnOnErr::warn_on_err(tx.send(r), "handing the receipt's path");
            });
        match spawned {
            Ok(_) => self.receipt_job = Some((ticket, rx)),
            Err(e) => {
                if let Some(s) = self.state.session.as_mut().filter(|s| s.ticket == ticket) {
                    s.receipt_pdf = Some(Err(e.to_string()));
                } else if let Some(r) = self.state.refusal.as_mut().filter(|r| r.ticket == ticket) {
                    r.pdf = Some(Err(e.to_string()));
                }
            }
        }
    }

    /// The document screen is waiting for a side of the document: live frames go to the meter.
    fn wants_meter(&self) -> bool {
        self.state.meter_side().is_some()
    }

    /// Take the meter's assessments: update the meters, and capture the assessed frame once
    /// automatic capture says so.
    fn poll_meter(&mut self) {
        let Some(m) = &self.meter else {
            return;
        };
        let events = m.poll();
        let side = self.state.meter_side();
        if side != self.ui.meter.side {
            self.ui.meter.clear();
            self.ui.meter.side = side;
            // The frame on screen is assessed at once (a still `image:` source sends only one).
            if side.is_some()
                && let Some(f) = &self.ui.frame
            {
                m.offer(f);
            }
        }
        for ev in events {
            match ev {
                MeterEvent::Ready => self.ui.meter.ready = Some(Ok(())),
                MeterEvent::LoadFailed(e) => self.ui.meter.ready = Some(Err(e)),
                MeterEvent::Failed(e) => self.ui.meter.ready = Some(Err(e)),
                MeterEvent::Assessed { frame, assessment } => {
                    self.ui.meter.assessed += 1;
                    self.ui.meter.assess_ms += assessment.ms;
                    let Some(side) = side else {
                        continue;
                    };
                    let (w, h) = (frame.rgb.width(), frame.rgb.height());
                    let hint = self.ui.meter.auto.observe(&assessment, w, h);
                    self.ui.meter.latest = Some((assessment, w, h));
                    if hint == Hint::Capture && !self.ui.meter.manual_only {
                        match side {
                            Side::Front => {
                                view::keep(&mut self.state, view::Target::Document, &frame);
                            }
                            Side::Back => {
                                let (image, preview) = view::back_image(&frame);
                                self.state.set_document_back(image, preview);
                            }
                        }
                        self.ui.meter.auto_captured = true;
                        self.ui.meter.latest = None;
                    }
                }
            }
        }
    }

    /// Start a run the screen asked for; stop the thread's run when the screen dropped it
    /// (cancel, back, retake, idle timeout, logout).
    fn sync_challenge(&mut self) {
        let Some(ch) = &self.challenge else {
            return;
        };
        if std::mem::take(&mut self.ui.challenge_requested) {
            let challenge = self.issue_challenge();
            if let Some(run) = self.state.start_challenge(challenge.clone()) {
                ch.start(run, challenge);
                self.challenge_run = Some(run);
            }
        }
        let running = self
            .state
            .session
            .as_ref()
            .and_then(|s| s.challenge.as_ref())
            .filter(|c| c.running() && self.state.screen == state::Screen::Selfie)
            .map(|c| c.run);
        if self.challenge_run.is_some() && running != self.challenge_run {
            if running.is_none() {
                ch.stop();
            }
            self.challenge_run = running;
        }
    }
}

impl eframe::App for KioskApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        // Kiosk mode: closing the window needs a supervisor.
        if self.opts.kiosk
            && ui.ctx().input(|i| i.viewport().close_requested())
            && !self
                .state
                .user
                .as_ref()
                .is_some_and(state::User::is_supervisor)
        {
            ui.ctx()
                .send_viewport_cmd(egui::ViewportCommand::CancelClose);
        }
        // A thread that died (its panic is in the log) would leave a screen waiting forever.
        if let Some(message) = crate::logging::fatal_message() {
            fatal_screen(ui, &message);
            return;
        }
        self.frame(ui);
        if self.ui.exit_requested {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}

/// What the window shows once a thread of the kiosk has panicked: the kiosk cannot go on.
fn fatal_screen(ui: &mut egui::Ui, message: &str) {
    ui.vertical_centered(|ui| {
        ui.add_space(ui.available_height() * 0.3);
        ui.heading("The kiosk stopped working. Please call a member of staff.");
        ui.heading("Le kiosque ne fonctionne plus. Veuillez appeler un agent.");
        ui.add_space(16.0);
        ui.label(message);
        ui.label("The details are in the kiosk's log.");
    });
}

/// Build the options from the command line and configuration.
///
/// # Errors
/// An invalid `--source` or `--lang`.
pub fn options(args: &GuiArgs, config: Config) -> Result<AppOptions, String> {
    options_with_saved(args, config, None)
}

/// Build the options with the settings file's values laid over the configuration: its
/// thresholds always (validated), its source, language and idle timeout unless the command line
/// gives them.
///
/// # Errors
/// An invalid `--source` or `--lang`, or saved thresholds that fail validation.
pub fn options_with_saved(
    args: &GuiArgs,
    config: Config,
    saved: Option<&SettingsFile>,
) -> Result<AppOptions, String> {
    let config = match saved {
        Some(f) => f.overlay(&config).map_err(|e| e.to_string())?,
        None => config,
    };
    let source = match (&args.source, saved.and_then(settings_file::saved_source)) {
        (Some(s), _) => Some(s.parse::<SourceSpec>()?),
        (None, Some(saved)) => saved,
        (None, None) => capture::first_camera().map(|index| SourceSpec::Camera {
            index,
            resolution: None,
        }),
    };
    let lang = match &args.lang {
        Some(l) => Lang::parse(l).ok_or_else(|| format!("unknown language {l:?}"))?,
        None => saved
            .and_then(settings_file::saved_lang)
            .unwrap_or_default(),
    };
    // The configured idle timeout may be shortened on the command line, never lengthened
    // (command-line flags may only tighten the configured policy).
    let configured_idle = saved
        .and_then(SettingsFile::idle_timeout_secs)
        .unwrap_or(120);
    if let Some(asked) = args.idle_timeout
        && asked > configured_idle
    {
        return Err(format!(
            "--idle-timeout {asked} is longer than the configured kiosk.idleTimeoutSecs \
             ({configured_idle}): command-line flags may only tighten the configured policy"
        ));
    }
    let idle = args.idle_timeout.unwrap_or(configured_idle);
    let challenge = match &args.challenge {
        Some(text) => Some(crate::cli::liveness::parse_steps(text)?),
        None => None,
    };
    let mut audit = kyc_core::record::store_config(&config, args.db.as_deref());
    let identity = Identity {
        kiosk_id: saved.and_then(SettingsFile::kiosk_id).map(str::to_string),
        branch: saved.and_then(SettingsFile::branch).map(str::to_string),
        theme: saved
            .and_then(SettingsFile::theme)
            .and_then(settings_file::Theme::parse)
            .unwrap_or_default(),
    };
    if let Some(id) = &identity.kiosk_id {
        audit.kiosk_id.clone_from(id);
    }
    Ok(AppOptions {
        config,
        audit,
        source,
        document: args.document.clone(),
        selfie: args.selfie.clone(),
        lang,
        kiosk: args.kiosk,
        idle_timeout: Duration::from_secs(idle.max(5)),
        challenge,
        identity,
        config_path: None,
    })
}

/// Open the kiosk window and run until it is closed.
///
/// # Errors
/// When the window cannot be created (no display, no OpenGL).
pub fn run(args: &GuiArgs, config: Config) -> Result<i32, Error> {
    run_with(args, config, Config::source(None))
}

/// [`run`] with the configuration file the configuration was read from (`None`: the
/// defaults), shown on the System tab.
///
/// # Errors
/// When the window cannot be created (no display, no OpenGL).
pub fn run_with(
    args: &GuiArgs,
    config: Config,
    config_path: Option<PathBuf>,
) -> Result<i32, Error> {
    let settings_path = args.settings.clone().or_else(settings_file::default_path);
    let saved = match settings_path.as_deref().map(settings_file::load) {
        Some(Err(reason)) => {
            return Err(Error::Config {
                path: settings_path.unwrap_or_default(),
                reason,
            });
        }
        Some(Ok(saved)) => saved,
        None => None,
    };
    let opts = match options_with_saved(args, config, saved.as_ref()) {
        Ok(o) => AppOptions { config_path, ..o },
        Err(msg) => {
            eprintln!("kyc-kiosk gui: {msg}");
            return Ok(exit::USAGE);
        }
    };
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("KYC kiosk")
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size([800.0, 600.0]);
    if opts.kiosk {
        viewport = viewport.with_fullscreen(true).with_decorations(false);
    }
    let native = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    eframe::run_native(
        "kyc-kiosk",
        native,
        Box::new(move |cc| {
            view::apply_theme(&cc.egui_ctx, opts.identity.theme);
            // An enrolled kiosk runs the fleet cycle every minute while the window is open
            // (offline: retried, the kiosk keeps working on its last settings).
            Ok(Box::new(
                KioskApp::new(opts)
                    .with_settings_file(settings_path)
                    .with_fleet_sync(Duration::from_secs(60)),
            ))
        }),
    )
    .map_err(|e| Error::Io {
        context: "opening the kiosk window (is a display available?)".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_time_quantiles() {
        let mut ft = FrameTimes::default();
        assert!(ft.quantile(0.95).is_none());
        for i in 1..=100 {
            ft.push(f64::from(i));
        }
        assert_eq!(ft.quantile(0.95), Some(95.0));
        assert_eq!(ft.quantile(0.5), Some(50.0));
        assert_eq!(ft.quantile(1.0), Some(100.0));
        assert_eq!(ft.len(), 100);
    }

    #[test]
    fn saved_settings_apply_unless_the_command_line_gives_them() {
        let saved = SettingsFile::from_toml(
            "[kiosk]\nsource = \"none\"\nlang = \"fr\"\nidleTimeoutSecs = 60\n\
             [decision]\napproveAt = 80.0\n[matching]\nminimumLevel = 3\n",
        )
        .unwrap();
        let o = options_with_saved(&GuiArgs::default(), Config::default(), Some(&saved)).unwrap();
        assert_eq!(o.lang, Lang::Fr);
        assert_eq!(o.idle_timeout, Duration::from_secs(60));
        assert_eq!(o.source, None);
        assert_eq!(o.config.decision.approve_at, 80.0);
        assert_eq!(o.config.matching.minimum_level, 3);
        let args = GuiArgs {
            lang: Some("en".into()),
            idle_timeout: Some(30),
            source: Some("image:/tmp/a.png".into()),
            ..GuiArgs::default()
        };
        let o = options_with_saved(&args, Config::default(), Some(&saved)).unwrap();
        assert_eq!(o.lang, Lang::En);
        assert_eq!(o.idle_timeout, Duration::from_secs(30));
        assert_eq!(o.source, Some(SourceSpec::Image("/tmp/a.png".into())));
        // The thresholds come from the file whatever the command line says.
        assert_eq!(o.config.decision.approve_at, 80.0);
        // A longer idle timeout than the configured one loosens the policy: refused.
        let longer = GuiArgs {
            idle_timeout: Some(61),
            ..GuiArgs::default()
        };
        let e = options_with_saved(&longer, Config::default(), Some(&saved))
            .map(|_| ())
            .unwrap_err();
        assert!(e.contains("kiosk.idleTimeoutSecs (60)"), "{e}");
    }

    #[test]
    fn options_reject_bad_source_and_language() {
        let mut args = GuiArgs {
            source: Some("webcam".into()),
            ..GuiArgs::default()
        };
        assert!(options(&args, Config::default()).is_err());
        args.source = Some("frames:/tmp/x@5".into());
        args.lang = Some("xx".into());
        assert!(options(&args, Config::default()).is_err());
        args.lang = Some("fr".into());
        let o = options(&args, Config::default()).unwrap();
        assert_eq!(o.lang, Lang::Fr);
        assert!(
            matches!(o.source, Some(SourceSpec::Frames { fps, .. }) if (fps - 5.0).abs() < 1e-9)
        );
    }
}
