//! The messages between the window and its worker thread: the jobs the UI sends, the events
//! the worker answers with, and what they carry. A leaf module: the UI state, the settings
//! screen, the challenge runner and the worker all use it, and it uses none of them.

use std::path::PathBuf;

use eframe::egui;
use kyc_core::audit::{
    self, DuplicateReport, RecordDetail, RecordFilter, RecordReceipt, RecordSummary, Role, Stats,
    UserInfo,
};
use kyc_core::config::Config;
use kyc_core::liveness::LivenessResult;
use kyc_core::result::VerificationResult;
pub use kyc_core::service::{Capture as Captured, Claim, OperatorDecision};

use super::settings_file::KioskSettings;

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
    /// The document was captured (or its back side changed): the verification is open in the
    /// service from now on and ends in the audit store whatever happens.
    DocumentCaptured {
        /// Ticket that ties the session to the UI's.
        ticket: u64,
        /// What the customer claimed.
        claim: Claim,
        /// Document image (the front when there are two sides).
        document: Captured,
        /// The document's back side, when the agent captured one.
        document_back: Option<Captured>,
    },
    /// The idle timeout: the open verification ends as abandoned and the operator is logged
    /// out (chained).
    IdleTimeout,
    /// End the verification held for a ticket without a decision (cancel, next customer): once
    /// a document was captured it is recorded as abandoned.
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
    /// The customer answered the consent screen (a refusal ends the verification, recorded
    /// as abandoned).
    Consent {
        /// The session's ticket.
        ticket: u64,
        /// Its claim (the verification is opened if the worker has not yet).
        claim: Claim,
        /// The answer.
        consent: kyc_core::result::Consent,
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
    Admin(AdminJob),
    /// An administrator confirms the configuration in force (outside the safe range), as
    /// `kyc-kiosk audit confirm-config` does: sign in, chain `config_override_confirmed` with
    /// its hash, sign out; then the kiosk opens its service.
    ConfirmConfig {
        /// The administrator's username.
        username: String,
        /// Their password (dropped after hashing).
        password: String,
        /// The hash the administrator reviewed (refused if the configuration differs).
        hash: String,
    },
    /// The background sync pulled something (central decisions, a fleet policy): put a newer
    /// policy in force.
    FleetPulled,
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
    /// The whole evidence, as the case screen shows it.
    pub case: super::evidence::CaseView,
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
    /// A verification ended without a decision and is on record as abandoned.
    Abandoned {
        /// Its ticket, when the UI's session ended it.
        ticket: Option<u64>,
        /// The record written.
        id: i64,
    },
    /// The service could not do something the UI did not wait for (an abandoned verification
    /// not recorded, a logout not chained): shown as a notice.
    ServiceFailed(String),
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
    Admin(AdminEvent),
    /// The configuration in force: its hash, what is outside the safe range, who confirmed it
    /// (sent once the store is open, or when it waits for a confirmation).
    ConfigReview(super::config_confirm::ConfigReview),
    /// The answer to [`Job::ConfirmConfig`]: the configuration now confirmed, or the refusal.
    ConfigConfirmed(Result<super::config_confirm::ConfigReview, String>),
    /// What the central service said about a record (duplicate flags, the online check).
    CentralFindings {
        /// Record id.
        id: i64,
        /// The findings.
        findings: Box<super::fleet_panel::Findings>,
    },
    /// A pulled fleet policy is in force (or could not be put in force: why).
    FleetPolicy(Result<(Option<i64>, Box<Config>), String>),
}

/// A line under the form: saved, saved for this session only, refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsNotice {
    /// Applied and written to the file.
    Saved(PathBuf),
    /// Applied, but there is no settings file to write.
    NoFile,
    /// Applied, but writing the file failed (the message); in force until the kiosk restarts.
    NotSaved(String),
    /// Nothing differed from the settings in force.
    Unchanged,
    /// Refused by the worker (permission, audit store); nothing changed.
    Failed(String),
}

/// Work for the worker from the settings screen.
#[derive(Debug)]
pub enum AdminJob {
    /// Apply and save new settings (recorded as `settings_changed` first).
    ApplySettings {
        /// The settings in force.
        before: Box<KioskSettings>,
        /// The settings asked for.
        after: Box<KioskSettings>,
        /// The settings file to write.
        file: Option<PathBuf>,
    },
    /// List users.
    ListUsers,
    /// Create a user.
    CreateUser {
        /// Username.
        username: String,
        /// Role.
        role: Role,
        /// Password (dropped after hashing).
        password: String,
    },
    /// Change a user's role.
    SetRole {
        /// Username.
        username: String,
        /// New role.
        role: Role,
    },
    /// Disable or enable a user.
    SetDisabled {
        /// Username.
        username: String,
        /// Disable (`true`) or enable.
        disabled: bool,
    },
    /// Give a user a new password.
    ResetPassword {
        /// Username.
        username: String,
        /// New password.
        password: String,
    },
    /// Clear a user's lockout.
    Unlock {
        /// Username.
        username: String,
    },
    /// First run: create the first administrator (the store's one-time step, as `kyc-kiosk
    /// audit create-admin`), then, signed in as them, chain the kiosk's name/ID and branch as a
    /// settings change, and sign out.
    FirstRun {
        /// The first administrator's username.
        username: String,
        /// Their password.
        password: String,
        /// The settings in force before.
        before: Box<KioskSettings>,
        /// The same with the kiosk's name/ID and branch.
        after: Box<KioskSettings>,
        /// The settings file to write.
        file: Option<PathBuf>,
    },
    /// At start: chain the settings in force (`settings_in_force`, by `system:kiosk-start`), so
    /// a settings file edited outside the kiosk shows up in the chain as a difference from the
    /// last `settings_changed`.
    RecordStart {
        /// The settings in force at start.
        settings: Box<KioskSettings>,
        /// The settings file they were read from, if any.
        file: Option<PathBuf>,
    },
}

/// A field of the first-run form, for placing a message next to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstRunField {
    /// The kiosk's name or ID.
    KioskId,
    /// The branch.
    Branch,
    /// The administrator's username.
    Username,
    /// The password (policy) or its repetition.
    Password,
    /// Not one field (the store refused).
    Other,
}

/// The worker's answers to [`AdminJob`]s.
#[derive(Debug)]
pub enum AdminEvent {
    /// The settings are recorded in the audit chain and in force.
    SettingsApplied {
        /// The settings now in force.
        settings: Box<KioskSettings>,
        /// The configuration now in force.
        config: Box<Config>,
        /// How saving went.
        notice: SettingsNotice,
    },
    /// The settings were refused (nothing changed).
    SettingsFailed(String),
    /// The users, after a listing or a change.
    Users {
        /// Every user.
        list: Vec<UserInfo>,
        /// What was done, if anything.
        done: Option<String>,
    },
    /// A user operation was refused.
    UsersFailed(String),
    /// The start was chained (or why not).
    StartRecorded(Result<(), String>),
    /// The first administrator exists and the kiosk's identity is chained and in force.
    FirstRunDone {
        /// The administrator created.
        username: String,
        /// The settings now in force.
        settings: Box<KioskSettings>,
        /// Where they were saved, or why not.
        notice: SettingsNotice,
    },
    /// The first-run step was refused (the field it concerns, the store's message).
    FirstRunFailed {
        /// Which form field the message belongs next to.
        field: FirstRunField,
        /// What is wrong.
        message: String,
    },
}
