//! The kiosk's state machine: screens, forms, validation and the transitions driven by the
//! worker's events. Pure data — no egui, no threads — so every rule is unit-tested without a
//! window. Methods that need work done return the [`Job`] for the caller to send.

use eframe::egui;
use kyc_core::audit::{self, CustomerType, RecordReceipt, RecordSummary, Role, Stats};
use kyc_core::document::idnumber::{self, IdType};
use kyc_core::liveness::LivenessResult;
use kyc_core::liveness::challenge::{Challenge, ChallengeState, StepOutcome};
use kyc_core::result::Decision;
use kyc_core::service::{FieldEdit, OperatorDecision};

use super::admin_model::{NewUserForm, SettingsNotice};
use super::challenge::ChallengeEvent;
use super::messages::{AdminEvent, Captured, Claim, Event, Job, RecordView, ResultView, Stage};
use super::strings::Lang;

/// Liveness challenges one customer may attempt (the service's limit); after that the agent
/// imports a still selfie (which is referred) or cancels.
pub use kyc_core::service::MAX_CHALLENGE_ATTEMPTS;

/// Which screen is showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// First-run set-up (the store has no administrator yet).
    Setup,
    /// Sign in.
    Login,
    /// Customer type, country, claimed ID.
    Start,
    /// Document capture or import.
    Document,
    /// Selfie capture or import.
    Selfie,
    /// Waiting for the worker.
    Processing,
    /// Result and the agent's decision.
    Result,
    /// Supervisor review queue, case detail and statistics.
    Review,
    /// Settings and user management (`admin.rs`).
    Settings,
}

/// The audit store's state as the UI knows it.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreStatus {
    /// Still opening.
    Opening,
    /// Open.
    Ready {
        /// Whether an administrator exists.
        has_admin: bool,
        /// Database path.
        db_path: String,
    },
    /// Could not be opened.
    Failed(String),
}

/// The models' state.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelStatus {
    /// Loading.
    Loading,
    /// Loaded.
    Ready {
        /// Load time in ms.
        load_ms: f64,
    },
    /// Failed to load.
    Failed(String),
}

/// The signed-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Username.
    pub username: String,
    /// Role.
    pub role: Role,
}

impl User {
    /// Supervisors and admins review cases and may leave kiosk mode.
    #[must_use]
    pub fn is_supervisor(&self) -> bool {
        matches!(self.role, Role::Supervisor | Role::Admin)
    }
}

/// Login form.
#[derive(Debug, Clone, Default)]
pub struct LoginForm {
    /// Username typed.
    pub username: String,
    /// Password typed (cleared after sending).
    pub password: String,
    /// Message to show.
    pub error: Option<String>,
    /// Waiting for the worker.
    pub busy: bool,
}

/// Start-of-verification form.
#[derive(Debug, Clone, PartialEq)]
pub struct StartForm {
    /// Individual or business.
    pub customer_type: CustomerType,
    /// ISO 3166 alpha-2 country.
    pub country: String,
    /// Claimed ID type.
    pub id_type: Option<IdType>,
    /// Claimed ID number.
    pub id_number: String,
}

impl Default for StartForm {
    fn default() -> Self {
        StartForm {
            customer_type: CustomerType::Individual,
            country: String::new(),
            id_type: None,
            id_number: String::new(),
        }
    }
}

/// A start-form problem, shown next to its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    /// Country is not two letters.
    Country,
    /// A number without a type.
    IdTypeMissing,
    /// The ID type belongs to another country than the one chosen.
    IdTypeCountry,
    /// The number fails the type's format (the checker's reason).
    IdFormat(String),
}

impl StartForm {
    /// Check the form; on success, the claim to send with the verification.
    ///
    /// # Errors
    /// Every problem found.
    pub fn validate(&self, started_ms: i64) -> Result<Claim, Vec<FormError>> {
        let mut errors = Vec::new();
        let country = self.country.trim().to_ascii_uppercase();
        if super::countries::by_code(&country).is_none() {
            errors.push(FormError::Country);
        }
        if let Some(t) = self.id_type
            && t.country().is_some_and(|c| c != country)
        {
            errors.push(FormError::IdTypeCountry);
        }
        let number = self.id_number.trim();
        let mut normalized = None;
        if !number.is_empty() {
            match self.id_type {
                None => errors.push(FormError::IdTypeMissing),
                Some(t) => {
                    let check_country = t.country().unwrap_or(country.as_str());
                    let check = idnumber::validate(check_country, t, number);
                    if check.is_valid() {
                        normalized = Some(check.normalized);
                    } else {
                        errors.push(FormError::IdFormat(check.reason));
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Claim {
            customer_type: self.customer_type,
            country: Some(country),
            id_type: self.id_type.map(|t| t.name().to_string()),
            id_number: normalized,
            started_ms,
        })
    }
}

/// A document field on the result screen: the value read and the agent's (editable) value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldForm {
    /// Field name as in the result JSON.
    pub name: String,
    /// The value read.
    pub read: String,
    /// The value in the edit box (starts as the value read).
    pub value: String,
}

impl FieldForm {
    /// The agent changed it.
    #[must_use]
    pub fn corrected(&self) -> bool {
        self.value.trim() != self.read
    }
}

/// The agent's decision form on the result screen.
#[derive(Debug, Clone, Default)]
pub struct DecisionForm {
    /// Reason typed.
    pub reason: String,
    /// The document fields read, each correctable.
    pub fields: Vec<FieldForm>,
    /// Problem to show.
    pub error: Option<DecisionError>,
    /// Sent, waiting for the store.
    pub saving: bool,
}

/// Why a decision was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionError {
    /// A reason is required.
    ReasonMissing,
    /// Approve is not allowed when the suggestion is not approve.
    NeedsSupervisor,
    /// A corrected field was left empty (its name).
    EmptyField(String),
    /// The store refused.
    Store(String),
}

/// A liveness challenge on the selfie screen, as the UI shows it.
pub struct ChallengeView {
    /// Run id (events of older runs are ignored).
    pub run: u64,
    /// The challenge issued.
    pub challenge: Challenge,
    /// State after the last analysed frame.
    pub state: ChallengeState,
    /// Each step's outcome so far.
    pub steps: Vec<StepOutcome>,
    /// Last analysed frame's time (source clock, ms).
    pub t_ms: f64,
    /// First analysed frame's time.
    pub first_ms: Option<f64>,
    /// Frames analysed.
    pub frames: usize,
    /// The outcome, once finished.
    pub result: Option<Box<LivenessResult>>,
    /// Inference failed.
    pub error: Option<String>,
}

impl ChallengeView {
    fn new(run: u64, challenge: Challenge) -> Self {
        ChallengeView {
            run,
            challenge,
            state: ChallengeState::WaitingForFace,
            steps: Vec::new(),
            t_ms: 0.0,
            first_ms: None,
            frames: 0,
            result: None,
            error: None,
        }
    }

    /// Still analysing frames.
    #[must_use]
    pub fn running(&self) -> bool {
        self.result.is_none() && self.error.is_none()
    }

    /// The step being performed (0-based), while in progress.
    #[must_use]
    pub fn current_step(&self) -> Option<usize> {
        match self.state {
            ChallengeState::InProgress { step } => Some(step),
            _ => None,
        }
    }

    /// Milliseconds left for the current step (countdown), while in progress.
    #[must_use]
    pub fn step_remaining_ms(&self) -> Option<f64> {
        let step = self.current_step()?;
        let started = self.steps.get(step)?.started_ms?;
        Some((self.challenge.step_timeout_ms - (self.t_ms - started)).max(0.0))
    }

    /// Milliseconds left for the whole challenge, once the first frame arrived.
    #[must_use]
    pub fn total_remaining_ms(&self) -> Option<f64> {
        let first = self.first_ms?;
        Some((self.challenge.deadline_ms - (self.t_ms - first)).max(0.0))
    }
}

/// One customer's verification in progress. Dropping it clears their data from the screen.
pub struct Session {
    /// Ticket for the worker.
    pub ticket: u64,
    /// What the customer claimed.
    pub claim: Claim,
    /// Document image.
    pub document: Option<Captured>,
    /// Document preview for the screen.
    pub document_preview: Option<egui::ColorImage>,
    /// The document's back side, when captured.
    pub document_back: Option<Captured>,
    /// Back side preview.
    pub document_back_preview: Option<egui::ColorImage>,
    /// The back-side capture step is open (always when the claimed type needs a back; else
    /// after the agent chose "Add back side").
    pub back_step: bool,
    /// Selfie image.
    pub selfie: Option<Captured>,
    /// Selfie preview.
    pub selfie_preview: Option<egui::ColorImage>,
    /// The liveness challenge that produced the selfie (absent for an imported still, which
    /// gets the passive check alone).
    pub liveness: Option<Box<LivenessResult>>,
    /// The challenge on screen (running or finished).
    pub challenge: Option<ChallengeView>,
    /// Challenges failed so far (each recorded as an audit event; at
    /// [`MAX_CHALLENGE_ATTEMPTS`] no further one is started).
    pub failed_challenges: u32,
    /// The stage running, while processing.
    pub stage: Option<Stage>,
    /// The finished result.
    pub result: Option<Box<ResultView>>,
    /// The agent's decision.
    pub decision: DecisionForm,
    /// The store's receipt once recorded.
    pub receipt: Option<RecordReceipt>,
    /// Error from the worker (bad image, inference).
    pub error: Option<String>,
    /// The document sides as now kept were sent to the worker (the verification is open in
    /// the service, and ends in the store whatever happens).
    pub captures_sent: bool,
    /// The customer's answer to the consent screen (asked before the selfie).
    pub consent: Option<bool>,
    /// The receipt written after the decision: its file, or why it could not be written.
    pub receipt_pdf: Option<Result<std::path::PathBuf, String>>,
}

pub use kyc_core::service::{BackSide, back_side_rule};

/// The session may leave the document screen as far as the back side goes: a required back is
/// captured.
fn back_side_ready(s: &Session) -> bool {
    let claimed = s.claim.id_type.as_deref().and_then(IdType::from_name);
    back_side_rule(claimed) == BackSide::Optional || s.document_back.is_some()
}

/// The review screen's filters, as typed.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueFilterForm {
    /// Only cases waiting for review (the queue); off: every record.
    pub pending_only: bool,
    /// Current decision.
    pub decision: Option<audit::Decision>,
    /// From this day (`YYYY-MM-DD`, UTC), inclusive.
    pub from: String,
    /// To this day (`YYYY-MM-DD`, UTC), inclusive.
    pub to: String,
    /// The agent (operator username).
    pub agent: String,
    /// Part of the name, the document number read or the claimed ID number.
    pub text: String,
}

impl Default for QueueFilterForm {
    fn default() -> Self {
        QueueFilterForm {
            pending_only: true,
            decision: None,
            from: String::new(),
            to: String::new(),
            agent: String::new(),
            text: String::new(),
        }
    }
}

impl QueueFilterForm {
    /// The store's filter.
    ///
    /// # Errors
    /// A date that is not `YYYY-MM-DD`, or a range that ends before it starts.
    pub fn to_filter(&self) -> Result<audit::RecordFilter, String> {
        let day = |text: &str| -> Result<Option<i64>, String> {
            let t = text.trim();
            if t.is_empty() {
                return Ok(None);
            }
            if t.len() != 10 || !t.contains('-') {
                return Err(format!("{t:?}: YYYY-MM-DD"));
            }
            crate::cli::audit::parse_time(t)
                .map(Some)
                .map_err(|e| e.to_string())
        };
        let from_ms = day(&self.from)?;
        // The "to" day is included: up to the next midnight.
        let to_ms = day(&self.to)?.map(|ms| ms + 86_400_000);
        if let (Some(a), Some(b)) = (from_ms, to_ms)
            && b <= a
        {
            return Err(format!("{} > {}", self.from.trim(), self.to.trim()));
        }
        let text = |t: &str| Some(t.trim().to_string()).filter(|t| !t.is_empty());
        Ok(audit::RecordFilter {
            from_ms,
            to_ms,
            operator: text(&self.agent),
            decision: self.decision,
            review_status: self.pending_only.then_some(audit::ReviewStatus::Pending),
            text: text(&self.text),
        })
    }
}

/// Supervisor review screen state.
#[derive(Default)]
pub struct ReviewState {
    /// The filters.
    pub filter: QueueFilterForm,
    /// A filter that could not be applied.
    pub filter_error: Option<String>,
    /// Cases matching the filters (pending ones oldest first, else newest first).
    pub queue: Vec<RecordSummary>,
    /// Statistics.
    pub stats: Option<Stats>,
    /// The case open.
    pub selected: Option<Box<RecordView>>,
    /// Note for the override.
    pub note: String,
    /// Message (saved or failed).
    pub message: Option<String>,
    /// Problem with the form.
    pub note_missing: bool,
    /// Waiting for the worker.
    pub busy: bool,
}

/// A customer refused consent: the verification ended on record as abandoned (consent
/// refused), and the customer gets a receipt for it too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalReceipt {
    /// The ended session's ticket.
    pub ticket: u64,
    /// The abandoned record, once the store wrote it.
    pub id: Option<i64>,
    /// The receipt written, or why it could not be (no record, no receipt).
    pub pdf: Option<Result<std::path::PathBuf, String>>,
}

/// Everything the kiosk shows.
pub struct AppState {
    /// Screen showing.
    pub screen: Screen,
    /// UI language.
    pub lang: Lang,
    /// Store state.
    pub store: StoreStatus,
    /// Model state.
    pub models: ModelStatus,
    /// Signed-in user.
    pub user: Option<User>,
    /// Login form.
    pub login: LoginForm,
    /// Start form.
    pub start: StartForm,
    /// Start form problems.
    pub start_errors: Vec<FormError>,
    /// The customer's session.
    pub session: Option<Session>,
    /// Review screen.
    pub review: ReviewState,
    /// A one-line notice (idle clear, saved record).
    pub notice: Option<String>,
    /// Last user input, ms on the app's clock.
    pub last_activity_ms: f64,
    /// The liveness models' state (the challenge thread).
    pub liveness_models: ModelStatus,
    /// The settings screen and user management.
    pub admin: super::admin_model::AdminState,
    /// The first-run set-up form.
    pub setup: super::setup::SetupForm,
    /// The receipt of the customer who last refused consent (shown on the start screen until
    /// the next verification begins or the agent signs out).
    pub refusal: Option<RefusalReceipt>,
    /// The fleet: sync status, central findings of the records shown.
    pub fleet: super::fleet_panel::FleetState,
    next_ticket: u64,
    next_run: u64,
}

impl Default for AppState {
    fn default() -> Self {
        Self::new(Lang::En)
    }
}

impl AppState {
    /// A fresh state on the login screen.
    #[must_use]
    pub fn new(lang: Lang) -> Self {
        AppState {
            screen: Screen::Login,
            lang,
            store: StoreStatus::Opening,
            models: ModelStatus::Loading,
            user: None,
            login: LoginForm::default(),
            start: StartForm::default(),
            start_errors: Vec::new(),
            session: None,
            review: ReviewState::default(),
            notice: None,
            last_activity_ms: 0.0,
            liveness_models: ModelStatus::Loading,
            admin: super::admin_model::AdminState::default(),
            setup: super::setup::SetupForm::default(),
            refusal: None,
            fleet: super::fleet_panel::FleetState::default(),
            next_ticket: 1,
            next_run: 1,
        }
    }

    /// Send the login form.
    pub fn submit_login(&mut self) -> Option<Job> {
        if self.login.busy {
            return None;
        }
        if self.login.username.trim().is_empty() || self.login.password.is_empty() {
            self.login.error = Some(self.lang.s().login_empty.to_string());
            return None;
        }
        self.login.error = None;
        self.login.busy = true;
        Some(Job::Login {
            username: self.login.username.trim().to_string(),
            password: std::mem::take(&mut self.login.password),
        })
    }

    /// Log out: the customer's data and the review screen are cleared.
    pub fn logout(&mut self) -> Vec<Job> {
        // The worker's logout ends an open verification (as abandoned, by log-out).
        self.session = None;
        self.refusal = None;
        let mut jobs = self.clear_session();
        self.review = ReviewState::default();
        self.admin.clear_user_data();
        self.user = None;
        self.screen = Screen::Login;
        jobs.push(Job::Logout);
        jobs
    }

    /// Validate the start form and open a session on the document screen.
    pub fn begin_verification(&mut self, now_ms: i64) -> bool {
        match self.start.validate(now_ms) {
            Ok(claim) => {
                self.start_errors.clear();
                let ticket = self.next_ticket;
                self.next_ticket += 1;
                self.session = Some(Session {
                    ticket,
                    claim,
                    document: None,
                    document_preview: None,
                    document_back: None,
                    document_back_preview: None,
                    back_step: back_side_rule(self.start.id_type) == BackSide::Required,
                    selfie: None,
                    selfie_preview: None,
                    liveness: None,
                    challenge: None,
                    failed_challenges: 0,
                    stage: None,
                    result: None,
                    decision: DecisionForm::default(),
                    receipt: None,
                    error: None,
                    captures_sent: false,
                    consent: None,
                    receipt_pdf: None,
                });
                self.notice = None;
                self.refusal = None;
                self.screen = Screen::Document;
                true
            }
            Err(errors) => {
                self.start_errors = errors;
                false
            }
        }
    }

    /// Keep the document image.
    pub fn set_document(&mut self, image: Captured, preview: egui::ColorImage) {
        if let Some(s) = self.session.as_mut() {
            s.document = Some(image);
            s.document_preview = Some(preview);
            s.error = None;
            s.captures_sent = false;
        }
    }

    /// The back-side rule for the open session's claim (`None` without a session).
    #[must_use]
    pub fn back_side(&self) -> Option<BackSide> {
        let s = self.session.as_ref()?;
        Some(back_side_rule(
            s.claim.id_type.as_deref().and_then(IdType::from_name),
        ))
    }

    /// Whether the document screen may move on to the selfie: a front is kept and a required
    /// back side too.
    #[must_use]
    pub fn document_ready(&self) -> bool {
        self.session
            .as_ref()
            .is_some_and(|s| s.document.is_some() && back_side_ready(s))
    }

    /// Open the back-side capture step ("Add back side": always allowed once a session is
    /// open).
    pub fn add_back_side(&mut self) {
        if let Some(s) = self.session.as_mut() {
            s.back_step = true;
        }
    }

    /// Keep the back side's image.
    pub fn set_document_back(&mut self, image: Captured, preview: egui::ColorImage) {
        if let Some(s) = self.session.as_mut() {
            s.document_back = Some(image);
            s.document_back_preview = Some(preview);
            s.back_step = true;
            s.error = None;
            s.captures_sent = false;
        }
    }

    /// Drop the back side's image (retake); the step stays open.
    pub fn clear_document_back(&mut self) {
        if let Some(s) = self.session.as_mut() {
            s.document_back = None;
            s.document_back_preview = None;
            s.captures_sent = false;
        }
    }

    /// Skip the back side: refused (false) when the claimed type requires one; else the image
    /// is dropped and the step closed.
    pub fn skip_back_side(&mut self) -> bool {
        if self.back_side() != Some(BackSide::Optional) {
            return false;
        }
        if let Some(s) = self.session.as_mut() {
            s.document_back = None;
            s.document_back_preview = None;
            s.back_step = false;
            s.captures_sent = false;
        }
        true
    }

    /// Keep a selfie image that did not come from a challenge (an imported still): it gets the
    /// passive check alone.
    pub fn set_selfie(&mut self, image: Captured, preview: egui::ColorImage) {
        if let Some(s) = self.session.as_mut() {
            s.selfie = Some(image);
            s.selfie_preview = Some(preview);
            s.liveness = None;
            s.challenge = None;
            s.error = None;
        }
    }

    /// Drop the selfie (and the challenge that produced it).
    pub fn clear_selfie(&mut self) {
        if let Some(s) = self.session.as_mut() {
            s.selfie = None;
            s.selfie_preview = None;
            s.liveness = None;
            s.challenge = None;
        }
    }

    /// Start a liveness challenge on the selfie screen; returns the run id to send with it.
    /// Needs the liveness models, a document, and no challenge already running.
    pub fn start_challenge(&mut self, challenge: Challenge) -> Option<u64> {
        if self.screen != Screen::Selfie
            || !matches!(self.liveness_models, ModelStatus::Ready { .. })
        {
            return None;
        }
        let run = self.next_run;
        let s = self.session.as_mut()?;
        if s.document.is_none()
            || s.consent != Some(true)
            || s.challenge.as_ref().is_some_and(ChallengeView::running)
            || s.failed_challenges >= MAX_CHALLENGE_ATTEMPTS
        {
            return None;
        }
        self.next_run += 1;
        s.selfie = None;
        s.selfie_preview = None;
        s.liveness = None;
        s.error = None;
        s.challenge = Some(ChallengeView::new(run, challenge));
        Some(run)
    }

    /// Whether a challenge is analysing frames (the UI then offers it each new frame).
    #[must_use]
    pub fn challenge_running(&self) -> bool {
        self.screen == Screen::Selfie
            && self
                .session
                .as_ref()
                .and_then(|s| s.challenge.as_ref())
                .is_some_and(ChallengeView::running)
    }

    /// Apply an event from the challenge thread. A passed, live challenge's chosen frame becomes
    /// the selfie and its result goes with the verification; a failed one is counted and
    /// returned as the job that records it.
    pub fn apply_challenge(&mut self, ev: ChallengeEvent) -> Option<Job> {
        let run_of = |s: &Session, run: u64| s.challenge.as_ref().is_some_and(|c| c.run == run);
        match ev {
            ChallengeEvent::Ready => self.liveness_models = ModelStatus::Ready { load_ms: 0.0 },
            ChallengeEvent::LoadFailed(m) => self.liveness_models = ModelStatus::Failed(m),
            ChallengeEvent::Progress {
                run,
                state,
                steps,
                t_ms,
                first_ms,
                frames,
            } => {
                if let Some(s) = self.session.as_mut().filter(|s| run_of(s, run))
                    && let Some(c) = s.challenge.as_mut()
                {
                    c.state = state;
                    c.steps = steps;
                    c.t_ms = t_ms;
                    c.first_ms = Some(first_ms);
                    c.frames = frames;
                }
            }
            ChallengeEvent::Finished { run, outcome } => {
                if let Some(s) = self.session.as_mut().filter(|s| run_of(s, run))
                    && let Some(c) = s.challenge.as_mut()
                {
                    let outcome = *outcome;
                    c.state = outcome.result.active.state;
                    c.steps.clone_from(&outcome.result.active.steps);
                    if !outcome.result.is_live {
                        s.failed_challenges += 1;
                        let job = Job::ChallengeFailed {
                            ticket: s.ticket,
                            attempt: s.failed_challenges,
                            claim: s.claim.clone(),
                            result: Box::new(outcome.result.clone()),
                        };
                        c.result = Some(Box::new(outcome.result));
                        return Some(job);
                    }
                    if outcome.result.is_live
                        && let (Some(selfie), Some(preview)) = (outcome.selfie, outcome.preview)
                    {
                        s.selfie = Some(selfie);
                        s.selfie_preview = Some(preview);
                        s.liveness = Some(Box::new(outcome.result.clone()));
                    }
                    c.result = Some(Box::new(outcome.result));
                }
            }
            ChallengeEvent::Failed { run, message } => {
                if let Some(s) = self.session.as_mut().filter(|s| run_of(s, run))
                    && let Some(c) = s.challenge.as_mut()
                {
                    c.error = Some(message);
                }
            }
        }
        None
    }

    /// The side the document screen is waiting for, if any: the front until it is kept, then
    /// the back while the back-side step is open and empty. Live frames go to the meter then.
    #[must_use]
    pub fn meter_side(&self) -> Option<super::meter::Side> {
        use super::meter::Side;
        let s = self.session.as_ref()?;
        if self.screen != Screen::Document {
            None
        } else if s.document.is_none() {
            Some(Side::Front)
        } else if s.back_step && s.document_back.is_none() {
            Some(Side::Back)
        } else {
            None
        }
    }

    /// The customer answers the consent screen (`text` is the wording shown). Agreeing opens
    /// the selfie step; refusing ends the verification (the worker records it as abandoned,
    /// consent refused) and clears the customer's data. Returns the job that records the answer.
    pub fn answer_consent(&mut self, given: bool, text: &str) -> Option<Job> {
        let lang = super::settings_file::lang_code(self.lang);
        let s = self.session.as_mut()?;
        if s.consent.is_some() || s.document.is_none() {
            return None;
        }
        s.consent = Some(given);
        let job = Job::Consent {
            ticket: s.ticket,
            claim: s.claim.clone(),
            consent: kyc_core::result::Consent::now(given, lang, text),
        };
        if !given {
            self.refusal = Some(RefusalReceipt {
                ticket: s.ticket,
                id: None,
                pdf: None,
            });
            self.session = None;
            self.start = StartForm::default();
            self.start_errors.clear();
            self.screen = Screen::Start;
            self.notice = Some(self.lang.s().consent_refused_notice.to_string());
        }
        Some(job)
    }

    /// Move between capture screens (only forward when the current image is there).
    pub fn go(&mut self, screen: Screen) {
        let ok = match (screen, self.session.as_ref()) {
            (Screen::Start, _) => true,
            (Screen::Document, Some(_)) => true,
            (Screen::Selfie, Some(s)) => s.document.is_some() && back_side_ready(s),
            _ => false,
        };
        if ok {
            self.screen = screen;
        }
    }

    /// Send both images to the worker and show progress.
    pub fn process(&mut self) -> Option<Job> {
        let models_ready = matches!(self.models, ModelStatus::Ready { .. });
        let s = self.session.as_mut()?;
        let (Some(document), Some(selfie)) = (s.document.clone(), s.selfie.clone()) else {
            return None;
        };
        if s.consent != Some(true) {
            return None;
        }
        s.stage = Some(if models_ready {
            Stage::Decoding
        } else {
            Stage::WaitingForModels
        });
        s.error = None;
        s.result = None;
        self.screen = Screen::Processing;
        Some(Job::Verify {
            ticket: s.ticket,
            claim: s.claim.clone(),
            document,
            document_back: s.document_back.clone(),
            selfie,
            liveness: s.liveness.clone(),
        })
    }

    /// The agent decides. Approve needs every check passed; reject and refer need a reason.
    pub fn decide(&mut self, decision: Decision) -> Option<Job> {
        let s = self.session.as_mut()?;
        if s.decision.saving || s.receipt.is_some() {
            return None;
        }
        let suggested = s.result.as_ref()?.result.decision;
        if decision == Decision::Approve && suggested != Decision::Approve {
            s.decision.error = Some(DecisionError::NeedsSupervisor);
            return None;
        }
        if let Some(f) = s.decision.fields.iter().find(|f| f.value.trim().is_empty()) {
            s.decision.error = Some(DecisionError::EmptyField(f.name.clone()));
            return None;
        }
        let corrections: Vec<FieldEdit> = s
            .decision
            .fields
            .iter()
            .filter(|f| f.corrected())
            .map(|f| FieldEdit {
                field: f.name.clone(),
                before: f.read.clone(),
                after: f.value.trim().to_string(),
            })
            .collect();
        let reason = s.decision.reason.trim().to_string();
        if reason.is_empty() && !(decision == Decision::Approve && suggested == Decision::Approve) {
            s.decision.error = Some(DecisionError::ReasonMissing);
            return None;
        }
        s.decision.error = None;
        s.decision.saving = true;
        Some(Job::Decide {
            ticket: s.ticket,
            decision: OperatorDecision {
                decision,
                reason: if reason.is_empty() {
                    "checks passed".to_string()
                } else {
                    reason
                },
                corrections,
            },
        })
    }

    /// Drop the customer's data (cancel, next customer, idle timeout, logout).
    pub fn clear_session(&mut self) -> Vec<Job> {
        let mut jobs = Vec::new();
        if let Some(s) = self.session.take()
            && s.receipt.is_none()
        {
            jobs.push(Job::Discard { ticket: s.ticket });
        }
        self.start = StartForm::default();
        self.start_errors.clear();
        if self.user.is_some() {
            self.screen = Screen::Start;
        }
        jobs
    }

    /// Note user input at `now_ms`.
    pub fn touch(&mut self, now_ms: f64) {
        self.last_activity_ms = now_ms;
    }

    /// The document sides kept since the last call, for the worker: from the first document
    /// capture on, the verification is open in the service and ends in the audit store.
    pub fn capture_jobs(&mut self) -> Vec<Job> {
        let Some(s) = self.session.as_mut() else {
            return Vec::new();
        };
        if s.captures_sent || s.receipt.is_some() {
            return Vec::new();
        }
        let Some(document) = s.document.clone() else {
            return Vec::new();
        };
        s.captures_sent = true;
        vec![Job::DocumentCaptured {
            ticket: s.ticket,
            claim: s.claim.clone(),
            document,
            document_back: s.document_back.clone(),
        }]
    }

    /// After `timeout_ms` without input the operator is logged out (the worker ends an open
    /// verification as abandoned and chains the idle log-out) and the customer's data is
    /// cleared from the screen. Returns the jobs to send.
    pub fn idle_check(&mut self, now_ms: f64, timeout_ms: f64) -> Vec<Job> {
        let busy = self
            .session
            .as_ref()
            .is_some_and(|s| s.stage.is_some() || s.decision.saving);
        if self.user.is_none() || busy || now_ms - self.last_activity_ms < timeout_ms {
            return Vec::new();
        }
        self.session = None;
        let mut jobs = self.clear_session();
        self.review = ReviewState::default();
        self.admin.clear_user_data();
        self.user = None;
        self.screen = Screen::Login;
        self.notice = Some(self.lang.s().idle_cleared.to_string());
        self.last_activity_ms = now_ms;
        jobs.push(Job::IdleTimeout);
        jobs
    }

    /// Open the review screen (supervisors) and ask for the queue.
    pub fn open_review(&mut self) -> Option<Job> {
        if !self.user.as_ref().is_some_and(User::is_supervisor) {
            return None;
        }
        self.screen = Screen::Review;
        self.load_queue()
    }

    /// Ask for the cases matching the filters (a bad filter is shown, nothing is sent).
    pub fn load_queue(&mut self) -> Option<Job> {
        match self.review.filter.to_filter() {
            Ok(filter) => {
                self.review.filter_error = None;
                self.review.busy = true;
                Some(Job::LoadQueue {
                    filter: Box::new(filter),
                })
            }
            Err(e) => {
                self.review.filter_error = Some(e);
                None
            }
        }
    }

    /// A supervisor decides the open case; a note is required.
    pub fn override_case(&mut self, decision: audit::Decision) -> Option<Job> {
        let id = self.review.selected.as_ref()?.detail.summary.id;
        if self.review.note.trim().is_empty() {
            self.review.note_missing = true;
            return None;
        }
        self.review.note_missing = false;
        self.review.busy = true;
        Some(Job::Override {
            id,
            decision,
            note: self.review.note.trim().to_string(),
        })
    }

    /// Apply a worker event; returns follow-up jobs.
    pub fn apply(&mut self, ev: Event) -> Vec<Job> {
        let mut jobs = Vec::new();
        match ev {
            Event::StoreReady { has_admin, db_path } => {
                self.store = StoreStatus::Ready {
                    has_admin,
                    db_path: db_path.display().to_string(),
                };
                if !has_admin && self.screen == Screen::Login {
                    self.screen = Screen::Setup;
                }
            }
            Event::StoreFailed(m) => self.store = StoreStatus::Failed(m),
            Event::ConfigReview(review) => self.admin.system.confirm.review = Some(review),
            Event::ConfigConfirmed(answer) => self.admin.system.confirm.answered(answer),
            Event::CentralFindings { id, findings } => {
                self.fleet.findings.insert(id, *findings);
            }
            Event::FleetPolicy(answer) => match answer {
                Ok((_, config)) => {
                    self.fleet.policy_error = None;
                    self.fleet.config_in_force = Some(config);
                }
                Err(why) => self.fleet.policy_error = Some(why),
            },
            Event::PipelineReady { load_ms } => {
                self.models = ModelStatus::Ready { load_ms };
                if let Some(s) = self.session.as_mut()
                    && s.stage == Some(Stage::WaitingForModels)
                {
                    s.stage = Some(Stage::Decoding);
                }
            }
            Event::PipelineFailed(m) => self.models = ModelStatus::Failed(m),
            Event::LoggedIn { username, role } => {
                self.login = LoginForm::default();
                self.user = Some(User { username, role });
                self.screen = Screen::Start;
            }
            Event::LoginFailed(m) => {
                self.login.busy = false;
                self.login.error = Some(m);
            }
            Event::LoggedOut => {}
            Event::Abandoned { ticket, id } => {
                if let Some(r) = self
                    .refusal
                    .as_mut()
                    .filter(|r| ticket == Some(r.ticket) && r.id.is_none())
                {
                    r.id = Some(id);
                }
            }
            Event::ServiceFailed(m) => {
                // A refusal the store could not record leaves no case to give a receipt for.
                if let Some(r) = self
                    .refusal
                    .as_mut()
                    .filter(|r| r.id.is_none() && r.pdf.is_none())
                {
                    r.pdf = Some(Err(m.clone()));
                }
                self.notice = Some(m);
            }
            Event::Progress { ticket, stage } => {
                if let Some(s) = self.session_for(ticket) {
                    s.stage = Some(stage);
                }
            }
            Event::Verified { ticket, view } => {
                if let Some(s) = self.session_for(ticket) {
                    s.stage = None;
                    s.decision.fields = view
                        .result
                        .document
                        .reading
                        .as_ref()
                        .filter(|r| r.found)
                        .map(|r| {
                            r.assembled
                                .fields
                                .present()
                                .into_iter()
                                .map(|(name, f)| FieldForm {
                                    name: name.to_string(),
                                    read: f.value.clone(),
                                    value: f.value.clone(),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    s.result = Some(view);
                    self.screen = Screen::Result;
                }
            }
            Event::VerifyFailed { ticket, message } => {
                if let Some(s) = self.session_for(ticket) {
                    s.stage = None;
                    s.error = Some(message);
                    self.screen = Screen::Selfie;
                }
            }
            Event::ChallengeLogFailed { ticket, message } => {
                if let Some(s) = self.session_for(ticket) {
                    s.error = Some(message);
                }
            }
            Event::Recorded { ticket, receipt } => {
                if let Some(s) = self.session_for(ticket) {
                    s.decision.saving = false;
                    s.receipt = Some(receipt);
                }
            }
            Event::RecordFailed { ticket, message } => {
                if let Some(s) = self.session_for(ticket) {
                    s.decision.saving = false;
                    s.decision.error = Some(DecisionError::Store(message));
                }
            }
            Event::Queue { queue, stats } => {
                self.review.busy = false;
                self.review.queue = queue;
                self.review.stats = stats;
            }
            Event::Record(view) => {
                self.review.busy = false;
                self.review.note.clear();
                self.review.note_missing = false;
                self.review.message = None;
                self.review.selected = Some(view);
            }
            Event::Overridden { id, action_id } => {
                self.review.busy = false;
                self.review.selected = None;
                self.review.note.clear();
                self.review.message = Some(format!(
                    "{} #{id} ({action_id})",
                    self.lang.s().override_saved
                ));
                jobs.extend(self.load_queue());
            }
            Event::ReviewFailed(m) => {
                self.review.busy = false;
                self.review.message = Some(m);
            }
            Event::Admin(ev) => self.apply_admin(ev),
        }
        jobs
    }

    /// Apply a settings-screen answer from the worker.
    pub fn apply_admin(&mut self, ev: AdminEvent) {
        let st = self;
        let a = &mut st.admin;
        match ev {
            AdminEvent::SettingsApplied {
                settings,
                config,
                notice,
            } => {
                a.busy = false;
                st.lang = settings.lang;
                a.set_current((*settings).clone(), *config);
                a.applied = Some(*settings);
                a.reset_form();
                a.notice = Some(notice);
            }
            AdminEvent::SettingsFailed(m) => {
                a.busy = false;
                a.notice = Some(SettingsNotice::Failed(m));
            }
            AdminEvent::Users { list, done } => {
                let u = &mut a.users;
                u.busy = false;
                if let Some(sel) = &u.selected
                    && let Some(info) = list.iter().find(|x| &x.username == sel)
                {
                    u.role = Some(info.role);
                }
                if done.as_deref().is_some_and(|d| d.starts_with("created ")) {
                    u.new_user = NewUserForm::default();
                }
                u.list = list;
                if let Some(d) = done {
                    u.message = Some(Ok(d));
                }
            }
            AdminEvent::UsersFailed(m) => {
                a.users.busy = false;
                a.users.message = Some(Err(m));
            }
            AdminEvent::StartRecorded(Ok(())) => {}
            AdminEvent::StartRecorded(Err(m)) => st.notice = Some(m),
            AdminEvent::FirstRunDone {
                username,
                settings,
                notice,
            } => super::setup::done(st, username, *settings, notice),
            AdminEvent::FirstRunFailed { field, message } => {
                super::setup::failed(st, field, message);
            }
        }
    }

    fn session_for(&mut self, ticket: u64) -> Option<&mut Session> {
        self.session.as_mut().filter(|s| s.ticket == ticket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn logged_in(role: Role) -> AppState {
        let mut st = AppState::new(Lang::En);
        st.login.username = "ama".into();
        st.login.password = "pw".into();
        assert!(matches!(st.submit_login(), Some(Job::Login { .. })));
        assert!(st.login.password.is_empty(), "password is not kept");
        st.apply(Event::LoggedIn {
            username: "ama".into(),
            role,
        });
        assert_eq!(st.screen, Screen::Start);
        st
    }

    fn img(name: &str) -> Captured {
        Captured::encoded(name, Arc::new(vec![1, 2, 3]))
    }

    #[test]
    fn a_refused_consent_ends_the_session_and_records_the_refusal() {
        let mut st = logged_in(Role::Agent);
        st.start.country = "GH".into();
        assert!(st.begin_verification(0));
        assert!(st.answer_consent(false, "t").is_none(), "no document yet");
        st.set_document(img("doc.jpg"), egui::ColorImage::example());
        st.go(Screen::Selfie);
        let ticket = st.session.as_ref().unwrap().ticket;
        match st.answer_consent(false, "the text") {
            Some(Job::Consent {
                ticket: t, consent, ..
            }) => {
                assert_eq!(t, ticket);
                assert!(!consent.given);
                assert_eq!(
                    consent.text_sha256,
                    kyc_core::models::sha256_hex(b"the text")
                );
            }
            _ => panic!("expected a consent job"),
        }
        assert!(st.session.is_none());
        assert_eq!(st.screen, Screen::Start);
        assert_eq!(
            st.notice.as_deref(),
            Some(Lang::En.s().consent_refused_notice)
        );
        // The refusal waits for its record; another ticket's abandoned record is not it.
        assert_eq!(
            st.refusal,
            Some(RefusalReceipt {
                ticket,
                id: None,
                pdf: None
            })
        );
        assert!(
            st.apply(Event::Abandoned {
                ticket: Some(ticket + 7),
                id: 3
            })
            .is_empty()
        );
        assert!(
            st.apply(Event::Abandoned {
                ticket: None,
                id: 4
            })
            .is_empty()
        );
        assert_eq!(st.refusal.as_ref().and_then(|r| r.id), None);
        assert!(
            st.apply(Event::Abandoned {
                ticket: Some(ticket),
                id: 9
            })
            .is_empty()
        );
        assert_eq!(st.refusal.as_ref().and_then(|r| r.id), Some(9));
        // The next customer's verification clears it (the refusal reset the start form).
        st.start.country = "GH".into();
        assert!(st.begin_verification(0));
        assert!(st.refusal.is_none());
    }

    #[test]
    fn a_refusal_the_store_could_not_record_gets_no_receipt() {
        let mut st = logged_in(Role::Agent);
        st.start.country = "GH".into();
        assert!(st.begin_verification(0));
        st.set_document(img("doc.jpg"), egui::ColorImage::example());
        st.go(Screen::Selfie);
        assert!(st.answer_consent(false, "the text").is_some());
        assert!(
            st.apply(Event::ServiceFailed("disk full".into()))
                .is_empty()
        );
        let r = st.refusal.as_ref().unwrap();
        assert_eq!(r.id, None);
        assert_eq!(r.pdf, Some(Err("disk full".to_string())));
        st.logout();
        assert!(st.refusal.is_none());
    }

    #[test]
    fn login_needs_both_fields() {
        let mut st = AppState::new(Lang::En);
        st.login.username = "ama".into();
        assert!(st.submit_login().is_none());
        assert_eq!(st.login.error.as_deref(), Some(Lang::En.s().login_empty));
        st.login.password = "x".into();
        assert!(st.submit_login().is_some());
        assert!(st.submit_login().is_none(), "no second login while busy");
        st.apply(Event::LoginFailed("invalid credentials".into()));
        assert!(!st.login.busy);
        assert_eq!(st.screen, Screen::Login);
    }

    #[test]
    fn start_form_validates_country_and_id_number() {
        let mut st = logged_in(Role::Agent);
        st.start.country = "Ghana".into();
        st.start.id_number = "12".into();
        assert!(!st.begin_verification(0));
        assert_eq!(
            st.start_errors,
            vec![FormError::Country, FormError::IdTypeMissing]
        );
        // A country the kiosk does not support, and another country's ID type, are refused.
        st.start.country = "FR".into();
        st.start.id_number.clear();
        assert!(!st.begin_verification(0));
        assert_eq!(st.start_errors, vec![FormError::Country]);
        st.start.country = "KE".into();
        st.start.id_type = Some(IdType::GhanaCardPin);
        assert!(!st.begin_verification(0));
        assert_eq!(st.start_errors, vec![FormError::IdTypeCountry]);
        st.start.id_number = "12".into();
        st.start.country = "gh".into();
        st.start.id_type = Some(IdType::GhanaCardPin);
        assert!(!st.begin_verification(0));
        assert!(matches!(st.start_errors[0], FormError::IdFormat(_)));
        st.start.id_number = "GHA-123456789-0".into();
        assert!(st.begin_verification(42));
        let s = st.session.as_ref().unwrap();
        assert_eq!(s.claim.country.as_deref(), Some("GH"));
        assert_eq!(s.claim.id_type.as_deref(), Some("ghanaCardPin"));
        assert_eq!(s.claim.id_number.as_deref(), Some("GHA-123456789-0"));
        assert_eq!(s.claim.started_ms, 42);
        assert_eq!(st.screen, Screen::Document);
    }

    #[test]
    fn selfie_screen_needs_a_document_and_processing_needs_both() {
        let mut st = logged_in(Role::Agent);
        st.start.country = "NG".into();
        assert!(st.begin_verification(0));
        st.go(Screen::Selfie);
        assert_eq!(st.screen, Screen::Document);
        assert!(st.process().is_none());
        st.set_document(img("doc.jpg"), egui::ColorImage::example());
        st.go(Screen::Selfie);
        assert_eq!(st.screen, Screen::Selfie);
        assert!(st.process().is_none());
        st.set_selfie(img("me.jpg"), egui::ColorImage::example());
        // No verification without the customer's consent.
        assert!(st.process().is_none());
        assert!(matches!(
            st.answer_consent(true, "text"),
            Some(Job::Consent { consent, .. }) if consent.given && consent.lang == "en"
        ));
        assert!(st.answer_consent(false, "text").is_none(), "answered once");
        match st.process() {
            Some(Job::Verify {
                document, selfie, ..
            }) => {
                assert_eq!(document.name, "doc.jpg");
                assert_eq!(selfie.name, "me.jpg");
            }
            _ => panic!("expected a verify job"),
        }
        assert_eq!(st.screen, Screen::Processing);
        let ticket = st.session.as_ref().unwrap().ticket;
        st.apply(Event::VerifyFailed {
            ticket,
            message: "selfie: not an image".into(),
        });
        assert_eq!(st.screen, Screen::Selfie);
        assert_eq!(
            st.session.as_ref().unwrap().error.as_deref(),
            Some("selfie: not an image")
        );
    }

    #[test]
    fn stale_tickets_are_ignored_and_idle_timeout_logs_the_operator_out() {
        let mut st = logged_in(Role::Agent);
        st.start.country = "KE".into();
        st.touch(1000.0);
        assert!(st.begin_verification(0));
        let ticket = st.session.as_ref().unwrap().ticket;
        st.apply(Event::VerifyFailed {
            ticket: ticket + 7,
            message: "old".into(),
        });
        assert!(st.session.as_ref().unwrap().error.is_none());
        assert!(st.idle_check(2000.0, 60_000.0).is_empty());
        // A document kept: the worker hears of it once (the verification is open from then on).
        st.set_document(img("doc.png"), egui::ColorImage::example());
        let sent = st.capture_jobs();
        assert!(
            matches!(sent.as_slice(), [Job::DocumentCaptured { ticket: t, document_back: None, .. }] if *t == ticket)
        );
        assert!(st.capture_jobs().is_empty());
        // The idle timeout: the worker ends the verification and logs the operator out (one
        // job; no separate discard, so the record says "idle timeout", not "next customer").
        let jobs = st.idle_check(1000.0 + 60_000.0, 60_000.0);
        assert!(
            matches!(jobs.as_slice(), [Job::IdleTimeout]),
            "{}",
            jobs.len()
        );
        assert!(st.session.is_none() && st.user.is_none());
        assert_eq!(st.start, StartForm::default());
        assert_eq!(st.screen, Screen::Login);
        assert_eq!(st.notice.as_deref(), Some(Lang::En.s().idle_cleared));
        // Nothing left to clear: no repeated notices or jobs.
        assert!(st.idle_check(1_000_000.0, 60_000.0).is_empty());
    }

    #[test]
    fn review_is_for_supervisors_and_needs_a_note() {
        let mut agent = logged_in(Role::Agent);
        assert!(agent.open_review().is_none());
        assert_eq!(agent.screen, Screen::Start);
        let mut sup = logged_in(Role::Supervisor);
        assert!(matches!(sup.open_review(), Some(Job::LoadQueue { .. })));
        assert_eq!(sup.screen, Screen::Review);
        assert!(sup.override_case(audit::Decision::Approve).is_none());
    }

    #[test]
    fn logout_clears_everything() {
        let mut st = logged_in(Role::Supervisor);
        st.start.country = "GH".into();
        assert!(st.begin_verification(0));
        let jobs = st.logout();
        assert!(matches!(jobs.last(), Some(Job::Logout)));
        assert!(st.session.is_none() && st.user.is_none());
        assert_eq!(st.screen, Screen::Login);
    }

    fn finished(run: u64, live: bool) -> ChallengeEvent {
        use kyc_core::liveness::challenge::ChallengeConfig;
        use kyc_core::liveness::passive::{PassiveConfig, aggregate};
        use kyc_core::liveness::{ActiveSummary, LivenessDecision};
        let challenge = Challenge::with_steps(
            vec![kyc_core::liveness::challenge::Step::TurnLeft],
            &ChallengeConfig::default(),
        );
        let result = LivenessResult {
            challenge,
            active: ActiveSummary {
                passed: live,
                state: if live {
                    ChallengeState::Passed
                } else {
                    ChallengeState::Failed {
                        reason: kyc_core::liveness::challenge::FailReason::StepTimeout,
                        step: Some(0),
                    }
                },
                steps: Vec::new(),
                baseline: None,
            },
            passive: aggregate(&[99.0, 99.0, 99.0], &PassiveConfig::default()),
            selfie: None,
            decision: if live {
                LivenessDecision::Live
            } else {
                LivenessDecision::NotLive
            },
            is_live: live,
            reasons: Vec::new(),
            checks: Vec::new(),
            frame_count: 3,
            frames: Vec::new(),
            models: Vec::new(),
            timings_ms: std::collections::BTreeMap::new(),
        };
        ChallengeEvent::Finished {
            run,
            outcome: Box::new(super::super::challenge::Finished {
                result,
                selfie: live.then(|| img("frame-7.png")),
                preview: live.then(egui::ColorImage::example),
            }),
        }
    }

    #[test]
    fn a_live_challenge_gives_the_selfie_and_its_result_goes_with_the_verification() {
        use kyc_core::liveness::challenge::ChallengeConfig;
        let mut st = logged_in(Role::Agent);
        st.start.country = "GH".into();
        assert!(st.begin_verification(0));
        st.set_document(img("doc.jpg"), egui::ColorImage::example());
        st.go(Screen::Selfie);
        let ch = || {
            Challenge::with_steps(
                vec![kyc_core::liveness::challenge::Step::TurnLeft],
                &ChallengeConfig::default(),
            )
        };
        assert!(st.start_challenge(ch()).is_none(), "models not loaded yet");
        st.apply_challenge(ChallengeEvent::Ready);
        assert!(st.start_challenge(ch()).is_none(), "no consent yet");
        assert!(st.answer_consent(true, "text").is_some());
        let run = st.start_challenge(ch()).unwrap();
        assert!(st.challenge_running());
        assert!(st.start_challenge(ch()).is_none(), "one run at a time");
        // Progress: step 1 of 1 started at 1000 ms; at 3000 ms 5 s are left of its 7 s.
        st.apply_challenge(ChallengeEvent::Progress {
            run,
            state: ChallengeState::InProgress { step: 0 },
            steps: vec![StepOutcome {
                step: kyc_core::liveness::challenge::Step::TurnLeft,
                status: kyc_core::liveness::challenge::StepStatus::InProgress,
                started_ms: Some(1000.0),
                performed_ms: None,
                completed_ms: None,
                peak: None,
            }],
            t_ms: 3000.0,
            first_ms: 0.0,
            frames: 30,
        });
        {
            let c = st.session.as_ref().unwrap().challenge.as_ref().unwrap();
            assert_eq!(c.current_step(), Some(0));
            assert_eq!(c.step_remaining_ms(), Some(5000.0));
            assert_eq!(c.total_remaining_ms(), Some(17_000.0));
        }
        // A failed run leaves no selfie; events of another run are ignored.
        st.apply_challenge(finished(run + 5, true));
        assert!(st.session.as_ref().unwrap().selfie.is_none());
        st.apply_challenge(finished(run, false));
        assert!(!st.challenge_running());
        assert!(st.session.as_ref().unwrap().selfie.is_none());
        assert!(st.process().is_none());
        // Again, and it passes: the chosen frame is the selfie and the result goes along.
        let run = st.start_challenge(ch()).unwrap();
        st.apply_challenge(finished(run, true));
        match st.process() {
            Some(Job::Verify {
                selfie, liveness, ..
            }) => {
                assert_eq!(selfie.name, "frame-7.png");
                assert!(liveness.is_some_and(|l| l.is_live));
            }
            _ => panic!("expected a verify job"),
        }
        // An imported still replaces it and gets the passive check alone.
        let ticket = st.session.as_ref().unwrap().ticket;
        st.apply(Event::VerifyFailed {
            ticket,
            message: "x".into(),
        });
        st.set_selfie(img("still.jpg"), egui::ColorImage::example());
        match st.process() {
            Some(Job::Verify { liveness, .. }) => assert!(liveness.is_none()),
            _ => panic!("expected a verify job"),
        }
    }

    #[test]
    fn back_side_rule_requires_it_for_cards_with_the_mrz_on_the_back() {
        assert_eq!(
            back_side_rule(Some(IdType::GhanaCardPin)),
            BackSide::Required
        );
        assert_eq!(
            back_side_rule(Some(IdType::KenyaNationalId)),
            BackSide::Required
        );
        assert_eq!(back_side_rule(Some(IdType::UgandaNin)), BackSide::Required);
        assert_eq!(back_side_rule(Some(IdType::Passport)), BackSide::Optional);
        assert_eq!(back_side_rule(Some(IdType::NigeriaBvn)), BackSide::Optional);
        assert_eq!(back_side_rule(None), BackSide::Optional);

        // A Ghana Card claimed: the step is open, skipping is refused, the selfie waits for it.
        let mut st = logged_in(Role::Agent);
        st.start.country = "GH".into();
        st.start.id_type = Some(IdType::GhanaCardPin);
        assert!(st.begin_verification(0));
        assert_eq!(st.back_side(), Some(BackSide::Required));
        assert!(st.session.as_ref().unwrap().back_step);
        st.set_document(img("front.jpg"), egui::ColorImage::example());
        assert!(!st.document_ready());
        st.go(Screen::Selfie);
        assert_eq!(st.screen, Screen::Document, "a required back is missing");
        assert!(!st.skip_back_side());
        assert!(st.session.as_ref().unwrap().back_step);
        st.set_document_back(img("back.jpg"), egui::ColorImage::example());
        assert!(st.document_ready());
        st.go(Screen::Selfie);
        assert_eq!(st.screen, Screen::Selfie);
        st.set_selfie(img("me.jpg"), egui::ColorImage::example());
        assert!(st.answer_consent(true, "text").is_some());
        match st.process() {
            Some(Job::Verify { document_back, .. }) => {
                assert_eq!(document_back.unwrap().name, "back.jpg");
            }
            _ => panic!("expected a verify job"),
        }
        // Retaking the back clears it and blocks the selfie screen again.
        st.screen = Screen::Document;
        st.clear_document_back();
        assert!(!st.document_ready());

        // Nothing claimed: no step until the agent adds one; skip drops it again.
        let mut st = logged_in(Role::Agent);
        st.start.country = "NG".into();
        assert!(st.begin_verification(0));
        assert_eq!(st.back_side(), Some(BackSide::Optional));
        assert!(!st.session.as_ref().unwrap().back_step);
        st.set_document(img("front.jpg"), egui::ColorImage::example());
        assert!(st.document_ready());
        st.add_back_side();
        assert!(st.session.as_ref().unwrap().back_step);
        st.set_document_back(img("back.png"), egui::ColorImage::example());
        assert!(st.skip_back_side());
        let s = st.session.as_ref().unwrap();
        assert!(s.document_back.is_none() && s.document_back_preview.is_none() && !s.back_step);
        st.go(Screen::Selfie);
        st.set_selfie(img("me.jpg"), egui::ColorImage::example());
        assert!(st.answer_consent(true, "text").is_some());
        match st.process() {
            Some(Job::Verify { document_back, .. }) => assert!(document_back.is_none()),
            _ => panic!("expected a verify job"),
        }
    }

    #[test]
    fn queue_filters_become_the_store_filter() {
        let f = QueueFilterForm::default().to_filter().unwrap();
        assert_eq!(f.review_status, Some(audit::ReviewStatus::Pending));
        assert!(f.text.is_none() && f.operator.is_none() && f.from_ms.is_none());
        let form = QueueFilterForm {
            pending_only: false,
            decision: Some(audit::Decision::Reject),
            from: "2026-01-01".into(),
            to: " 2026-01-01 ".into(),
            agent: " ama ".into(),
            text: " Ndiaye ".into(),
        };
        let f = form.to_filter().unwrap();
        assert_eq!(f.review_status, None);
        assert_eq!(f.decision, Some(audit::Decision::Reject));
        // 2026-01-01 00:00 UTC, and the whole day up to the next midnight.
        assert_eq!(f.from_ms, Some(1_767_225_600_000));
        assert_eq!(f.to_ms, Some(1_767_225_600_000 + 86_400_000));
        assert_eq!(f.operator.as_deref(), Some("ama"));
        assert_eq!(f.text.as_deref(), Some("Ndiaye"));
        for bad in ["2026-13-01", "yesterday", "1767225600000"] {
            let form = QueueFilterForm {
                from: bad.into(),
                ..QueueFilterForm::default()
            };
            assert!(form.to_filter().is_err(), "{bad}");
        }
        let backwards = QueueFilterForm {
            from: "2026-02-01".into(),
            to: "2026-01-01".into(),
            ..QueueFilterForm::default()
        };
        assert!(backwards.to_filter().is_err());
        // A bad filter is shown and nothing is sent.
        let mut sup = logged_in(Role::Supervisor);
        sup.review.filter = backwards;
        assert!(sup.open_review().is_none());
        assert!(sup.review.filter_error.is_some() && !sup.review.busy);
    }
}
