//! The verification service: the one owner of a verification's life, for the command line and
//! the kiosk window alike — claim → captures (document front and back, selfie or challenge
//! frames) → result → the agent's decision → record — with the settings in force (the
//! configuration file with the kiosk settings file laid over it, chained at start and on
//! change).
//!
//! Every verification ends in the store once a document is captured: decided, referred, or
//! `abandoned` (log-out, idle timeout, next customer, the service closed, or a crash found at the
//! next start through the sealed open-session marker kept beside the database). Repeated attempts
//! for the same ID number are linked in the result's `previousAttempts`. A supervisor cannot
//! decide a case they ran.

use crate::logs::WarnOnErr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::audit::ConfigConfirmation;
use crate::audit::{
    AuditConfig, AuditError, AuditStore, CustomerType, DuplicateReport, EventKind, ImageKind,
    IndexedFields, NewVerification, Permission, PurgeReport, RecordReceipt, UserSession,
    normalize_id_number,
};
use crate::config::Config;
use crate::config_guard;
use crate::imaging::{self, Decoded, ImageLimits};
use crate::liveness::LivenessResult;
use crate::pipeline::{Input, Pipeline, Verification};
use crate::record::{self, RecordContext};
use crate::result::{Consent, VerificationResult};
use crate::settings::{self, SettingsError, SettingsFile, SettingsInForce};
use crate::verdict::{Decision, Reason, ReasonCode};

pub use crate::record::{FieldEdit, OperatorDecision};

/// Liveness challenges a customer may try in one verification; after the last failure no
/// further challenge is started (a still selfie may still be taken, and is referred).
pub const MAX_CHALLENGE_ATTEMPTS: u32 = 3;

/// What a service operation could not do.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The audit store refused (nothing was half-written).
    #[error("audit store: {0}")]
    Audit(#[from] AuditError),
    /// A core error: an image that does not decode, a model that does not load, inference.
    #[error(transparent)]
    Core(#[from] crate::Error),
    /// The settings file cannot be read, is invalid, or the change is refused.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// An operation that needs a signed-in user, without one.
    #[error("not logged in")]
    NotLoggedIn,
    /// No verification is open.
    #[error("no verification is open: start one with the customer's claim")]
    NoSession,
    /// Verify was asked before a document was captured.
    #[error("no document has been captured")]
    NoDocument,
    /// Verify was asked before a selfie was captured.
    #[error("no selfie has been captured")]
    NoSelfie,
    /// A decision was asked before the checks ran.
    #[error("the checks have not run: there is no result to decide on")]
    NotVerified,
    /// The models are not loaded (yet, or they failed to load).
    #[error("the models are not loaded")]
    ModelsNotLoaded,
    /// A capture that holds no image or cannot be encoded.
    #[error("{0}: no image to keep")]
    EmptyCapture(String),
    /// A supervisor tried to decide a case they ran themselves.
    #[error("record {id} was run by {operator}: a supervisor cannot decide a case they ran")]
    OwnCase {
        /// The record.
        id: i64,
        /// Who ran it (the supervisor).
        operator: String,
    },
    /// Another liveness challenge after the last allowed one.
    #[error("the customer has failed {limit} liveness challenges: no further one is started")]
    AttemptLimit {
        /// The limit.
        limit: u32,
    },
    /// The configuration holds values outside the safe range and no administrator confirmed it
    /// (the message names each key and its range, and the configuration's hash).
    #[error("configuration refused: {0}")]
    UnsafeConfig(String),
    /// A command-line flag asked for a looser value than the configured one.
    #[error("command-line flags may only tighten the configured policy: {0}")]
    FlagLoosens(String),
    /// An open-session marker that cannot be written, read or removed.
    #[error("open-session marker {path}: {message}")]
    Marker {
        /// The marker file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

impl From<ServiceError> for crate::Error {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Audit(a) => crate::Error::Audit(a),
            ServiceError::Core(c) => c,
            ServiceError::Settings(s) => s.into(),
            ServiceError::UnsafeConfig(reason) => crate::Error::UnsafeConfig { reason },
            ServiceError::EmptyCapture(_) => crate::Error::Input(crate::InputError::NotAnImage {
                path: PathBuf::from(e.to_string()),
            }),
            other => crate::Error::Audit(AuditError::InvalidInput(other.to_string())),
        }
    }
}

/// What the customer claimed when the verification started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claim {
    /// Individual or business.
    pub customer_type: CustomerType,
    /// The country chosen for the case (ISO alpha-2), if any.
    pub country: Option<String>,
    /// Claimed ID type (JSON name, e.g. `ghana_card`), if given.
    pub id_type: Option<String>,
    /// Claimed ID number, if given.
    pub id_number: Option<String>,
    /// When the verification started, ms since the epoch.
    pub started_ms: i64,
}

impl Claim {
    /// An individual's claim started now, with no ID given.
    #[must_use]
    pub fn individual_now() -> Self {
        Claim {
            customer_type: CustomerType::Individual,
            country: None,
            id_type: None,
            id_number: None,
            started_ms: record::now_ms(),
        }
    }
}

/// An image the agent captured or imported: its encoded bytes (a file, a JPEG camera frame) or,
/// for a raw camera frame, its pixels (encoded as JPEG for the record).
#[derive(Debug, Clone)]
pub struct Capture {
    /// File or frame name.
    pub name: String,
    /// The encoded file (PNG/JPEG) as read, when there is one.
    pub bytes: Option<Arc<Vec<u8>>>,
    /// Decoded pixels, when there are no encoded bytes.
    pub pixels: Option<Arc<RgbImage>>,
}

impl Capture {
    /// An encoded file.
    #[must_use]
    pub fn encoded(name: impl Into<String>, bytes: Arc<Vec<u8>>) -> Self {
        Capture {
            name: name.into(),
            bytes: Some(bytes),
            pixels: None,
        }
    }

    /// Raw pixels (a camera frame, a frame chosen from a sequence).
    #[must_use]
    pub fn pixels(name: impl Into<String>, rgb: RgbImage) -> Self {
        Capture {
            name: name.into(),
            bytes: None,
            pixels: Some(Arc::new(rgb)),
        }
    }

    /// The file at `path`, read whole.
    ///
    /// # Errors
    /// A file that cannot be read.
    pub fn file(path: &Path) -> Result<Self, ServiceError> {
        let bytes = std::fs::read(path).map_err(|source| {
            crate::Error::Input(match source.kind() {
                std::io::ErrorKind::NotFound => crate::InputError::NotFound {
                    path: path.to_path_buf(),
                },
                _ => crate::InputError::Unreadable {
                    path: path.to_path_buf(),
                    source,
                },
            })
        })?;
        Ok(Self::encoded(path.display().to_string(), Arc::new(bytes)))
    }

    /// Decode (with the configured limits) or take the pixels; returns them with the bytes to
    /// keep in the record.
    ///
    /// # Errors
    /// An image that does not decode, or nothing to decode.
    pub fn materialise(
        &self,
        limits: &ImageLimits,
    ) -> Result<(Decoded, Arc<Vec<u8>>), ServiceError> {
        if let Some(bytes) = &self.bytes {
            let d = imaging::decode_bytes(bytes, Path::new(&self.name), limits)
                .map_err(crate::Error::from)?;
            return Ok((d, Arc::clone(bytes)));
        }
        let Some(rgb) = &self.pixels else {
            return Err(ServiceError::EmptyCapture(self.name.clone()));
        };
        let jpeg = self.kept_bytes()?;
        let file_bytes = jpeg.len() as u64;
        Ok((
            Decoded {
                rgb: (**rgb).clone(),
                format: "jpeg",
                file_bytes,
            },
            jpeg,
        ))
    }

    /// The bytes kept in the record: the encoded file as [`record::evidence_bytes`] keeps it
    /// (a JPEG within bounds as it is, anything else as JPEG), or the pixels as JPEG.
    ///
    /// # Errors
    /// A capture with neither, or pixels that cannot be encoded.
    pub fn kept_bytes(&self) -> Result<Arc<Vec<u8>>, ServiceError> {
        if let Some(b) = &self.bytes {
            return Ok(match record::evidence_bytes(b) {
                std::borrow::Cow::Borrowed(_) => Arc::clone(b),
                std::borrow::Cow::Owned(jpeg) => Arc::new(jpeg),
            });
        }
        self.pixels
            .as_deref()
            .and_then(record::evidence_jpeg)
            .map(Arc::new)
            .ok_or_else(|| ServiceError::EmptyCapture(self.name.clone()))
    }
}

/// Why a verification ended without a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbandonReason {
    /// The operator logged out.
    Logout,
    /// Nobody touched the kiosk for the idle timeout.
    IdleTimeout,
    /// The operator started the next customer (or cancelled).
    NextCustomer,
    /// The kiosk or the command closed with the verification open.
    Closed,
    /// The kiosk stopped without closing it (found at the next start).
    Crash,
    /// The customer refused consent to biometric processing.
    ConsentRefused,
}

impl AbandonReason {
    /// Words for the record's reason.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Logout => "the operator logged out",
            Self::IdleTimeout => "the kiosk was idle past its timeout",
            Self::NextCustomer => "the operator went on to the next customer",
            Self::Closed => "the kiosk closed",
            Self::Crash => "the kiosk stopped unexpectedly (found at the next start)",
            Self::ConsentRefused => "the customer refused consent to biometric processing",
        }
    }
}

/// Where the models are in a verification's checks (for a progress display).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Decoding the images.
    Decoding,
    /// Face detection, embedding, match, document reading.
    Analysing,
    /// 1:N duplicate search.
    Duplicates,
}

/// A finished check, ready for the result screen.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The suggested result (the same type the command line prints).
    pub result: VerificationResult,
    /// 1:N findings (folded into the decision when recorded).
    pub duplicates: DuplicateReport,
    /// The document as decoded (the front).
    pub document: RgbImage,
    /// The back side as decoded, when there is one.
    pub document_back: Option<RgbImage>,
    /// The selfie as decoded.
    pub selfie: RgbImage,
    /// The document portrait crop, when one was found.
    pub portrait: Option<RgbImage>,
    /// Milliseconds from the request to the result.
    pub pipeline_ms: f64,
}

/// One verification in progress.
#[derive(Debug)]
pub struct Session {
    id: String,
    operator: String,
    claim: Claim,
    document: Option<Capture>,
    document_back: Option<Capture>,
    selfie: Option<Capture>,
    liveness: Option<LivenessResult>,
    failed_challenges: u32,
    verification: Option<Verification>,
    consent: Option<Consent>,
}

impl Session {
    /// The session's id (also its open-session marker's name).
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Who runs it.
    #[must_use]
    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// What the customer claimed.
    #[must_use]
    pub fn claim(&self) -> &Claim {
        &self.claim
    }

    /// Liveness challenges failed so far.
    #[must_use]
    pub fn failed_challenges(&self) -> u32 {
        self.failed_challenges
    }

    /// Whether a document has been captured (from then on the verification ends in the store).
    #[must_use]
    pub fn has_document(&self) -> bool {
        self.document.is_some()
    }

    /// The result of the checks, once run.
    #[must_use]
    pub fn result(&self) -> Option<&VerificationResult> {
        self.verification.as_ref().map(|v| &v.result)
    }
}

/// Whether the document's back side is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackSide {
    /// The claimed ID type is a card whose back carries the MRZ or fields the reading needs:
    /// the back must be captured before the selfie.
    Required,
    /// Nothing claimed, or a type without a useful back (passports, number-only claims): the
    /// agent may add one or skip it.
    Optional,
}

/// The back-side rule: the national ID cards in scope that carry their MRZ on the back (Ghana
/// Card, Kenya ID, Uganda ID, the Ivorian and Senegalese cards; TD1 cards) require it; every other claim, or none, leaves it to
/// the agent.
#[must_use]
pub fn back_side_rule(id_type: Option<crate::document::idnumber::IdType>) -> BackSide {
    use crate::document::idnumber::IdType;
    match id_type {
        Some(
            IdType::GhanaCardPin
            | IdType::KenyaNationalId
            | IdType::UgandaNin
            | IdType::CoteDivoireNni
            | IdType::SenegalNin,
        ) => BackSide::Required,
        _ => BackSide::Optional,
    }
}

/// The owner of verifications: the audit store, the models, the settings in force, the signed-in
/// user and the verification in progress.
pub struct VerificationService {
    settings: SettingsInForce,
    store: AuditStore,
    pipeline: Option<Pipeline>,
    user: Option<UserSession>,
    acting_as: Option<String>,
    session: Option<Session>,
    markers: PathBuf,
    recovered: Vec<i64>,
    next_id: u64,
    /// When the retention purge last ran (`None`: not yet).
    last_retention: Option<Instant>,
    /// The configured policy's hash and its administrator's confirmation (when it needed one).
    configured: ConfiguredPolicy,
    /// The configuration before the fleet policy is laid over it (file and administrator's
    /// settings), so that a newer policy replaces the older one rather than piling on it.
    ungoverned: Config,
    /// The fleet policy version in force (`None`: none received).
    fleet_version: Option<i64>,
}

/// The policy the service was opened with, before any command-line tightening.
#[derive(Debug, Clone)]
struct ConfiguredPolicy {
    hash: String,
    confirmation: Option<ConfigConfirmation>,
}

/// How often the kiosk runs the retention purge ([`VerificationService::retention_if_due`]).
pub const RETENTION_EVERY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

impl std::fmt::Debug for VerificationService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationService")
            .field("db", &self.store.db_path())
            .field("user", &self.user.as_ref().map(UserSession::username))
            .field("session", &self.session.as_ref().map(Session::id))
            .finish_non_exhaustive()
    }
}

/// `Ok(None)` for a configuration inside the safe range, the chained confirmation of an unsafe
/// one, else [`ServiceError::UnsafeConfig`] naming each unsafe key and its range.
fn confirmed_or_refused(
    store: &AuditStore,
    config: &Config,
) -> Result<Option<ConfigConfirmation>, ServiceError> {
    let problems = config_guard::unsafe_values(config);
    if problems.is_empty() {
        return Ok(None);
    }
    match store.config_confirmation(&config_guard::config_hash(config))? {
        Some(c) => {
            tracing::warn!(
                seq = c.seq,
                unsafe_keys = problems.len(),
                "configuration outside the safe range, confirmed by an administrator"
            );
            Ok(Some(c))
        }
        None => {
            tracing::error!(
                unsafe_keys = problems.len(),
                "configuration outside the safe range refused"
            );
            Err(ServiceError::UnsafeConfig(config_guard::refusal(
                config, &problems,
            )))
        }
    }
}

/// Lay the fleet policy in force in `store` (if the kiosk has one) over `config`.
fn fleet_governed(
    store: &AuditStore,
    config: &mut Config,
) -> Result<Option<crate::audit::AppliedPolicy>, ServiceError> {
    let (governed, policy) = crate::fleet::supervisor::govern(store, config)
        .map_err(|e| SettingsError::Invalid(e.to_string()))?;
    if let Some(p) = &policy {
        tracing::info!(version = p.version, "fleet policy in force");
    }
    *config = governed;
    Ok(policy)
}

/// The open-session markers' folder beside the database `db`.
fn markers_dir(db: &Path) -> PathBuf {
    let name = db
        .file_name()
        .map_or_else(|| "audit".into(), |n| n.to_string_lossy().into_owned());
    db.with_file_name(format!("{name}.open-sessions"))
}

/// What an open-session marker keeps (sealed with the store's key).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Marker {
    id: String,
    operator: String,
    claim: Claim,
}

fn marker_aad(id: &str, part: &str) -> Vec<u8> {
    format!("kyc-kiosk-session:{id}:{part}").into_bytes()
}

impl VerificationService {
    /// Open the store with `audit`'s settings and recover verifications a crash left open
    /// (each recorded as `abandoned`; see [`Self::recovered`]). Models are loaded separately
    /// ([`Self::load_pipeline`] or [`Self::set_pipeline`]).
    ///
    /// # Errors
    /// The store cannot be opened, or a recovered verification cannot be recorded.
    pub fn open(settings: SettingsInForce, audit: AuditConfig) -> Result<Self, ServiceError> {
        let store = AuditStore::open(audit)?;
        let markers = markers_dir(store.db_path());
        // The fleet policy the kiosk last received governs over the administrator's settings
        // and the configuration file.
        let mut settings = settings;
        let ungoverned = settings.config.clone();
        let fleet = fleet_governed(&store, &mut settings.config)?;
        let fleet_version = fleet.as_ref().map(|p| p.version);
        // An unsafe configuration stops here, before anything is recorded with it (a laxer
        // fleet policy confirmed centrally covers the values it sets).
        let confirmation = match &fleet {
            Some(p) if crate::fleet::supervisor::centrally_confirmed(p, &settings.config) => None,
            _ => confirmed_or_refused(&store, &settings.config)?,
        };
        let configured = ConfiguredPolicy {
            hash: config_guard::config_hash(&settings.config),
            confirmation,
        };
        let mut svc = VerificationService {
            settings,
            store,
            pipeline: None,
            user: None,
            acting_as: None,
            session: None,
            markers,
            recovered: Vec::new(),
            next_id: 0,
            last_retention: None,
            configured,
            ungoverned,
            fleet_version,
        };
        svc.recover_crashed()?;
        // Retention runs by itself at start; a failure (e.g. a trail that disagrees with its
        // anchor refuses writes) must not keep the kiosk from showing what is wrong.
        svc.retention_if_due()
            .map(|_| ())
            .warn_on_err("running the retention purge at start");
        Ok(svc)
    }

    /// Purge images past the configured retention (`[retention] imageDays`) as of `now_ms`,
    /// when any are due: one `images_purged` event by `system:retention`, as the CLI's purge.
    /// Nothing is written when retention is off (0 days) or no image is past it.
    ///
    /// # Errors
    /// The purge failed (the store refuses writes, disk full, …).
    pub fn run_retention_at(&mut self, now_ms: i64) -> Result<Option<PurgeReport>, ServiceError> {
        self.last_retention = Some(Instant::now());
        let days = self.settings.config.retention.image_days;
        if days == 0 {
            return Ok(None);
        }
        let cutoff = now_ms.saturating_sub(i64::from(days) * 86_400_000);
        let due = self.store.records_with_images_before(cutoff)?;
        if due == 0 {
            return Ok(None);
        }
        let by = self.store.system_session("retention");
        let report = self.store.purge_images_before(&by, cutoff)?;
        tracing::info!(
            records = report.records,
            blobs = report.blobs,
            days,
            "retention: images past retention purged"
        );
        Ok(Some(report))
    }

    /// Run the retention purge ([`Self::run_retention_at`], now) unless it ran less than
    /// [`RETENTION_EVERY`] ago: at open, and from the kiosk's worker while it runs.
    ///
    /// # Errors
    /// As [`Self::run_retention_at`].
    pub fn retention_if_due(&mut self) -> Result<Option<PurgeReport>, ServiceError> {
        if self
            .last_retention
            .is_some_and(|t| t.elapsed() < RETENTION_EVERY)
        {
            return Ok(None);
        }
        self.run_retention_at(crate::audit::now_ms())
    }

    /// The store settings for `settings`'s configuration and `db` (the default place when `None`).
    #[must_use]
    pub fn store_config(settings: &SettingsInForce, db: Option<&Path>) -> AuditConfig {
        record::store_config(&settings.config, db)
    }

    /// Records written at open for verifications a crash had left open.
    #[must_use]
    pub fn recovered(&self) -> &[i64] {
        &self.recovered
    }

    /// The audit store.
    #[must_use]
    pub fn store(&self) -> &AuditStore {
        &self.store
    }

    /// The audit store, for changes the service does not own (users, purges).
    pub fn store_mut(&mut self) -> &mut AuditStore {
        &mut self.store
    }

    /// The configuration in force.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.settings.config
    }

    /// The settings in force.
    #[must_use]
    pub fn settings(&self) -> &SettingsInForce {
        &self.settings
    }

    /// The signed-in user, if any.
    #[must_use]
    pub fn user(&self) -> Option<&UserSession> {
        self.user.as_ref()
    }

    /// The store and the signed-in user together.
    ///
    /// # Errors
    /// [`ServiceError::NotLoggedIn`].
    pub fn store_and_user(&mut self) -> Result<(&mut AuditStore, &UserSession), ServiceError> {
        match self.user.as_ref() {
            Some(u) => Ok((&mut self.store, u)),
            None => Err(ServiceError::NotLoggedIn),
        }
    }

    /// The verification in progress, if any.
    #[must_use]
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// Whether models are loaded.
    #[must_use]
    pub fn has_pipeline(&self) -> bool {
        self.pipeline.is_some()
    }

    /// Load the models with the configuration in force.
    ///
    /// # Errors
    /// A model or the runtime that does not load.
    pub fn load_pipeline(&mut self) -> Result<(), ServiceError> {
        self.pipeline = Some(Pipeline::load(self.settings.config.clone())?);
        Ok(())
    }

    /// Use models loaded elsewhere (the kiosk loads them on a helper thread); the thresholds
    /// in force are applied to them.
    ///
    /// # Errors
    /// Thresholds the pipeline refuses (they were validated, so only a changed pipeline).
    pub fn set_pipeline(&mut self, mut pipeline: Pipeline) -> Result<(), ServiceError> {
        let c = &self.settings.config;
        pipeline
            .set_thresholds(c.matching.clone(), c.decision)
            .map_err(SettingsError::Invalid)?;
        self.pipeline = Some(pipeline);
        Ok(())
    }

    /// Apply command-line flags to the configuration in force: `asked` may only be stricter
    /// than it, key by key (a higher minimum match level, a higher approval threshold, …).
    ///
    /// # Errors
    /// [`ServiceError::FlagLoosens`] naming each looser key and the configured value.
    pub fn tighten(&mut self, asked: Config) -> Result<(), ServiceError> {
        let looser = config_guard::loosened_by_flags(&self.settings.config, &asked);
        if !looser.is_empty() {
            return Err(ServiceError::FlagLoosens(
                looser
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            ));
        }
        asked.validate().map_err(SettingsError::Invalid)?;
        if let Some(p) = self.pipeline.as_mut() {
            p.set_thresholds(asked.matching.clone(), asked.decision)
                .map_err(SettingsError::Invalid)?;
        }
        self.settings.config = asked;
        Ok(())
    }

    /// The administrator's confirmation the configured policy runs under (`None`: it is inside
    /// the safe range and needed none).
    #[must_use]
    pub fn config_confirmation(&self) -> Option<&ConfigConfirmation> {
        self.configured.confirmation.as_ref()
    }

    /// Where changed settings are saved (`None`: they last until the service closes).
    pub fn set_settings_path(&mut self, path: Option<PathBuf>) {
        self.settings.path = path;
    }

    /// Record verifications under `operator` without a login (the command line, until it
    /// asks for credentials). A signed-in user takes precedence.
    pub fn act_as(&mut self, operator: impl Into<String>) {
        self.acting_as = Some(operator.into());
    }

    /// Chain the settings in force as a `settings_in_force` event by `system:<purpose>`:
    /// `shown` (the window's own view) or the effective values, with the settings file's path.
    ///
    /// # Errors
    /// The store refuses the event.
    pub fn record_settings_in_force(
        &mut self,
        purpose: &str,
        shown: Option<&SettingsFile>,
    ) -> Result<i64, ServiceError> {
        let settings = shown.cloned().unwrap_or_else(|| self.settings.effective());
        let mut payload = config_guard::describe(&self.settings.config);
        payload["settings"] = serde_json::json!(settings);
        payload["file"] =
            serde_json::json!(self.settings.path.as_ref().map(|f| f.display().to_string()));
        payload["configuredHash"] = serde_json::json!(self.configured.hash);
        payload["confirmedBy"] = serde_json::json!(self.configured.confirmation);
        let actor = format!("system:{purpose}");
        Ok(self
            .store
            .append(EventKind::SettingsInForce.as_str(), &actor, None, payload)?)
    }

    /// The fleet policy version in force (`None`: the kiosk never received one).
    #[must_use]
    pub fn fleet_policy_version(&self) -> Option<i64> {
        self.fleet_version
    }

    /// Lay the newest fleet policy the store holds over the configuration file and the
    /// administrator's settings (fleet policy > administrator's settings > file) when it is not
    /// the version in force yet: a policy a background sync pulled applies without a restart,
    /// to the models too, and the configuration now in force is chained as `settings_in_force`
    /// by `system:fleet-policy`. Returns whether anything changed.
    ///
    /// # Errors
    /// A stored policy that no longer applies, or one that takes the configuration outside
    /// the safe range without a confirmation (central or local): the configuration in force
    /// stays as it was.
    pub fn refresh_fleet_policy(&mut self) -> Result<bool, ServiceError> {
        let mut next = self.ungoverned.clone();
        let fleet = fleet_governed(&self.store, &mut next)?;
        let version = fleet.as_ref().map(|p| p.version);
        if version == self.fleet_version {
            return Ok(false);
        }
        let confirmation = match &fleet {
            Some(p) if crate::fleet::supervisor::centrally_confirmed(p, &next) => None,
            _ => confirmed_or_refused(&self.store, &next)?,
        };
        if let Some(p) = self.pipeline.as_mut() {
            p.set_policy(&next).map_err(SettingsError::Invalid)?;
        }
        self.configured = ConfiguredPolicy {
            hash: config_guard::config_hash(&next),
            confirmation,
        };
        self.settings.config = next;
        self.fleet_version = version;
        self.record_settings_in_force("fleet-policy", None)?;
        tracing::info!(version, "fleet policy applied to the running kiosk");
        Ok(true)
    }

    /// Change the settings as the signed-in user: `before` → `after` is chained as
    /// `settings_changed` (a change the chain did not take is not applied), applied to the
    /// configuration and the models, then saved to the settings file (if there is one). Returns
    /// where it was saved, or why not (the change is then in force but not kept).
    ///
    /// # Errors
    /// Not signed in, a threshold change without the settings permission, invalid values, or
    /// the store's refusal.
    pub fn change_settings(
        &mut self,
        before: &SettingsFile,
        after: &SettingsFile,
    ) -> Result<Result<Option<PathBuf>, SettingsError>, ServiceError> {
        let user = self.user.as_ref().ok_or(ServiceError::NotLoggedIn)?;
        if after.admin_part_differs(before) {
            user.require(Permission::Settings)?;
        }
        let mut next = after.overlay(&self.settings.config)?;
        let ungoverned = after.overlay(&self.ungoverned)?;
        // The fleet policy stays over whatever the administrator changes.
        let fleet = fleet_governed(&self.store, &mut next)?;
        // A change into the unsafe range needs the administrator's confirmation of exactly the
        // configuration it makes.
        let confirmation = match &fleet {
            Some(p) if crate::fleet::supervisor::centrally_confirmed(p, &next) => None,
            _ => confirmed_or_refused(&self.store, &next)?,
        };
        let path = self.settings.path.clone();
        let payload = serde_json::json!({
            "before": before,
            "after": after,
            "changed": after.changed_keys(before),
            "file": path.as_ref().map(|f| f.display().to_string()),
            "configHashBefore": config_guard::config_hash(&self.settings.config),
            "configHash": config_guard::config_hash(&next),
            "unsafe": config_guard::unsafe_values(&next),
            "confirmedBy": confirmation,
        });
        self.store.append(
            EventKind::SettingsChanged.as_str(),
            user.username(),
            None,
            payload,
        )?;
        if let Some(p) = self.pipeline.as_mut() {
            p.set_thresholds(next.matching.clone(), next.decision)
                .map_err(SettingsError::Invalid)?;
        }
        self.settings.config = next;
        self.ungoverned = ungoverned;
        self.fleet_version = fleet.as_ref().map(|p| p.version);
        self.settings.file = Some(after.clone());
        Ok(match path {
            None => Ok(None),
            Some(p) => settings::save(&p, after).map(|()| Some(p)),
        })
    }

    /// Take a user the caller has already authenticated against this service's store (the
    /// command line's password prompt or environment variable); a user already signed in is
    /// signed out first.
    pub fn sign_in(&mut self, session: UserSession) {
        if self.user.is_some() {
            self.logout()
                .warn_on_err("signing the previous user out failed");
        }
        self.user = Some(session);
    }

    /// Sign a user in (a user already signed in is signed out first, ending their open
    /// verification as abandoned).
    ///
    /// # Errors
    /// The store's refusal (wrong password, locked, disabled).
    pub fn login(&mut self, username: &str, password: &str) -> Result<&UserSession, ServiceError> {
        if self.user.is_some() {
            self.logout()?;
        }
        let session = self.store.login(username, password)?;
        Ok(self.user.insert(session))
    }

    /// Sign the user out; an open verification ends as abandoned first.
    ///
    /// # Errors
    /// The store refuses the record or the logout event (the user is signed out anyway).
    pub fn logout(&mut self) -> Result<Option<RecordReceipt>, ServiceError> {
        let abandoned = self.abandon(AbandonReason::Logout);
        if let Some(user) = self.user.take() {
            self.store.logout(user)?;
        }
        abandoned
    }

    /// The idle timeout: the open verification ends as abandoned, an `idle_logout` event is
    /// chained, and the user is signed out.
    ///
    /// # Errors
    /// As [`Self::logout`].
    pub fn idle_timeout(&mut self) -> Result<Option<RecordReceipt>, ServiceError> {
        let abandoned = self.abandon(AbandonReason::IdleTimeout);
        if let Some(user) = self.user.take() {
            let payload = serde_json::json!({
                "idleTimeoutSecs": self.settings.file.as_ref().and_then(SettingsFile::idle_timeout_secs),
                "sinceMs": user.login_ms(),
            });
            self.store.append(
                EventKind::IdleLogout.as_str(),
                user.username(),
                None,
                payload,
            )?;
            self.store.logout(user)?;
        }
        abandoned
    }

    fn operator(&self) -> Result<String, ServiceError> {
        self.user
            .as_ref()
            .map(|u| u.username().to_string())
            .or_else(|| self.acting_as.clone())
            .ok_or(ServiceError::NotLoggedIn)
    }

    /// Start a verification for `claim`. One still open ends as abandoned ("next customer").
    ///
    /// # Errors
    /// Nobody to run it, or the open one cannot be recorded.
    pub fn begin(&mut self, claim: Claim) -> Result<&Session, ServiceError> {
        let operator = self.operator()?;
        if self.session.is_some() {
            self.abandon(AbandonReason::NextCustomer)?;
        }
        self.next_id += 1;
        let id = format!(
            "{}-{}-{}",
            claim.started_ms,
            std::process::id(),
            self.next_id
        );
        Ok(self.session.insert(Session {
            id,
            operator,
            claim,
            document: None,
            document_back: None,
            selfie: None,
            liveness: None,
            failed_challenges: 0,
            consent: None,
            verification: None,
        }))
    }

    fn session_mut(&mut self) -> Result<&mut Session, ServiceError> {
        self.session.as_mut().ok_or(ServiceError::NoSession)
    }

    /// The document (its front): from now on the verification ends in the store, whatever
    /// happens. A sealed open-session marker with the capture is written beside the database so
    /// that a crash is found, and recorded, at the next start.
    ///
    /// # Errors
    /// No open verification, or the marker cannot be written.
    pub fn capture_document(&mut self, front: Capture) -> Result<(), ServiceError> {
        let s = self.session_mut()?;
        s.document = Some(front);
        s.verification = None;
        self.write_marker()
    }

    /// The document's back side (`None`: one-sided, or the back was removed).
    ///
    /// # Errors
    /// No open verification, or the marker cannot be written.
    pub fn capture_document_back(&mut self, back: Option<Capture>) -> Result<(), ServiceError> {
        let s = self.session_mut()?;
        s.document_back = back;
        s.verification = None;
        if s.document.is_some() {
            self.write_marker()?;
        }
        Ok(())
    }

    /// The selfie, and the challenge sequence that chose it (`None`: a still image, checked by
    /// the passive anti-spoofing model alone).
    ///
    /// # Errors
    /// No open verification.
    pub fn capture_selfie(
        &mut self,
        selfie: Capture,
        liveness: Option<LivenessResult>,
    ) -> Result<(), ServiceError> {
        let s = self.session_mut()?;
        s.selfie = Some(selfie);
        s.liveness = liveness;
        s.verification = None;
        Ok(())
    }

    /// Keep the customer's answer to the consent screen with the open verification (it is
    /// written into the record's result). A refusal ends the verification at once, recorded as
    /// abandoned (consent refused) once a document was captured; its receipt is returned.
    ///
    /// # Errors
    /// No verification open, or the store refuses the abandoned record.
    pub fn record_consent(
        &mut self,
        consent: Consent,
    ) -> Result<Option<RecordReceipt>, ServiceError> {
        let s = self.session.as_mut().ok_or(ServiceError::NoSession)?;
        let given = consent.given;
        s.consent = Some(consent);
        tracing::info!(given, "customer consent recorded");
        if given {
            Ok(None)
        } else {
            self.abandon(AbandonReason::ConsentRefused)
        }
    }

    /// Whether another liveness challenge may be started.
    #[must_use]
    pub fn may_try_challenge(&self) -> bool {
        self.session
            .as_ref()
            .is_some_and(|s| s.failed_challenges < MAX_CHALLENGE_ATTEMPTS)
    }

    /// A failed liveness challenge: chained at once as `liveness_challenge_failed` (a customer
    /// who fails and walks away still leaves a trace) and counted for the verification's result.
    /// Returns the failures so far.
    ///
    /// # Errors
    /// No open verification, the limit already reached, or the store's refusal.
    pub fn challenge_failed(&mut self, result: &LivenessResult) -> Result<u32, ServiceError> {
        let s = self.session.as_mut().ok_or(ServiceError::NoSession)?;
        if s.failed_challenges >= MAX_CHALLENGE_ATTEMPTS {
            return Err(ServiceError::AttemptLimit {
                limit: MAX_CHALLENGE_ATTEMPTS,
            });
        }
        s.failed_challenges += 1;
        let payload = serde_json::json!({
            "session": s.id,
            "attempt": s.failed_challenges,
            "sessionStartedMs": s.claim.started_ms,
            "customerType": s.claim.customer_type.as_str(),
            "country": s.claim.country,
            "claimedIdType": s.claim.id_type,
            "claimedIdNumber": s.claim.id_number,
            "challenge": result.challenge,
            "active": result.active,
            "passive": result.passive,
            "reasons": result.reasons,
            "frameCount": result.frame_count,
        });
        let (attempt, operator) = (s.failed_challenges, s.operator.clone());
        self.store.append(
            EventKind::LivenessChallengeFailed.as_str(),
            &operator,
            None,
            payload,
        )?;
        Ok(attempt)
    }

    /// Run the checks on the captures: decode (with the configured limits), the models, the
    /// claimed ID number, failed challenges folded in, the 1:N duplicate search. The result is
    /// kept for [`Self::decide`]. `progress` hears each stage as it starts.
    ///
    /// # Errors
    /// Missing captures, no models, an image that does not decode, inference or the store.
    pub fn verify(&mut self, mut progress: impl FnMut(Stage)) -> Result<Checked, ServiceError> {
        let started = Instant::now();
        let limits = self.settings.config.limits;
        let s = self.session.as_mut().ok_or(ServiceError::NoSession)?;
        s.verification = None;
        let document = s.document.clone().ok_or(ServiceError::NoDocument)?;
        let selfie = s.selfie.clone().ok_or(ServiceError::NoSelfie)?;
        let back = s.document_back.clone();
        progress(Stage::Decoding);
        let (doc, _) = document.materialise(&limits)?;
        let back = back
            .map(|b| b.materialise(&limits).map(|(d, _)| (d, b.name)))
            .transpose()?;
        let (sel, _) = selfie.materialise(&limits)?;
        let (document_rgb, selfie_rgb) = (doc.rgb.clone(), sel.rgb.clone());
        let back_rgb = back.as_ref().map(|(d, _)| d.rgb.clone());
        let pipeline = self
            .pipeline
            .as_mut()
            .ok_or(ServiceError::ModelsNotLoaded)?;
        progress(Stage::Analysing);
        let mut verification = pipeline.verify_sides(
            Input::Image(doc, document.name.clone()),
            back.map(|(d, name)| Input::Image(d, name)),
            Input::Image(sel, selfie.name.clone()),
            s.liveness.as_ref(),
        )?;
        crate::decision::check_claimed_id(
            &mut verification.result,
            s.claim.id_type.as_deref(),
            s.claim.id_number.as_deref(),
        );
        crate::decision::apply_failed_attempts(&mut verification.result, s.failed_challenges);
        progress(Stage::Duplicates);
        let search = self.settings.config.duplicates.search;
        let duplicates = match verification.selfie_template.as_deref().filter(|_| search) {
            Some(t) => self
                .store
                .check_duplicates(t, s.claim.id_number.as_deref())?,
            None => DuplicateReport::default(),
        };
        let checked = Checked {
            result: verification.result.clone(),
            duplicates,
            document: document_rgb,
            document_back: back_rgb,
            selfie: selfie_rgb,
            portrait: verification.portrait.clone(),
            pipeline_ms: started.elapsed().as_secs_f64() * 1000.0,
        };
        s.verification = Some(verification);
        Ok(checked)
    }

    /// Record the verification with the operator's decision (`None`: the suggestion stands, as
    /// the command line records it). The verification ends; the record's receipt is in the
    /// returned result.
    ///
    /// # Errors
    /// Nothing verified, or the store's refusal (the verification then stays open).
    pub fn decide(
        &mut self,
        decision: Option<&OperatorDecision>,
    ) -> Result<VerificationResult, ServiceError> {
        let previous = self.previous_attempts()?;
        let s = self.session.as_mut().ok_or(ServiceError::NoSession)?;
        let Some(v) = s.verification.as_mut() else {
            return Err(ServiceError::NotVerified);
        };
        v.result.previous_attempts = previous;
        v.result.consent.clone_from(&s.consent);
        let kept = |c: &Option<Capture>| c.as_ref().map(Capture::kept_bytes).transpose();
        let (doc, back, selfie) = (
            kept(&s.document)?,
            kept(&s.document_back)?,
            kept(&s.selfie)?,
        );
        let ctx = RecordContext {
            operator: &s.operator,
            customer_type: s.claim.customer_type,
            claimed_id_type: s.claim.id_type.as_deref(),
            claimed_id_number: s.claim.id_number.as_deref(),
            started_ms: s.claim.started_ms,
            document_bytes: doc.as_deref().map(Vec::as_slice),
            selfie_bytes: selfie.as_deref().map(Vec::as_slice),
            document_back_bytes: back.as_deref().map(Vec::as_slice),
        };
        let result = record::record_decided(
            &mut self.store,
            &self.settings.config,
            v,
            &ctx,
            s.claim.country.as_deref(),
            decision,
        )?;
        self.end_session();
        Ok(result)
    }

    /// End the open verification without a decision. Once a document was captured it is
    /// recorded as `abandoned` with its captures, its result if the checks ran, and `why`;
    /// before that there is nothing to keep and nothing is written.
    ///
    /// # Errors
    /// The store's refusal (the marker is then kept, so the next start records it).
    pub fn abandon(&mut self, why: AbandonReason) -> Result<Option<RecordReceipt>, ServiceError> {
        let Some(s) = self.session.as_ref() else {
            return Ok(None);
        };
        if s.document.is_none() {
            self.session = None;
            return Ok(None);
        }
        let previous = self.previous_attempts()?;
        let Some(s) = self.session.take() else {
            return Ok(None);
        };
        let receipt = self.record_abandoned(&s, why, previous);
        match receipt {
            Ok(r) => {
                self.remove_marker(&s.id);
                Ok(Some(r))
            }
            Err(e) => Err(e),
        }
    }

    /// A supervisor's decision on a record: refused for a case they ran themselves.
    ///
    /// # Errors
    /// Not signed in, [`ServiceError::OwnCase`], or the store's refusal (permissions, no
    /// such record).
    pub fn review(&mut self, id: i64, decision: Decision, note: &str) -> Result<i64, ServiceError> {
        let user = self.user.as_ref().ok_or(ServiceError::NotLoggedIn)?;
        let operator: Option<String> = self
            .store
            .conn
            .query_row(
                "SELECT operator FROM verifications WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .map_err(AuditError::from)
            .map(Some)
            .or_else(|e| match e {
                AuditError::Sqlite(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
                other => Err(other),
            })?;
        if operator.as_deref() == Some(user.username()) {
            return Err(ServiceError::OwnCase {
                id,
                operator: user.username().to_string(),
            });
        }
        Ok(self.store.record_supervisor_action(
            user,
            id,
            "override",
            Some(decision),
            note.trim(),
        )?)
    }

    fn end_session(&mut self) {
        if let Some(s) = self.session.take() {
            self.remove_marker(&s.id);
        }
    }

    /// Earlier records of the open verification's claim: the same normalised ID number (the
    /// one claimed, else the one read), oldest first.
    fn previous_attempts(&self) -> Result<Vec<i64>, ServiceError> {
        let Some(s) = self.session.as_ref() else {
            return Ok(Vec::new());
        };
        let read = s
            .verification
            .as_ref()
            .and_then(|v| v.result.document.reading.as_ref())
            .and_then(|r| r.assembled.fields.document_number.as_ref())
            .map(|f| f.value.clone());
        let Some(key) = s
            .claim
            .id_number
            .clone()
            .or(read)
            .map(|n| normalize_id_number(&n))
            .filter(|k| !k.is_empty())
        else {
            return Ok(Vec::new());
        };
        let mut stmt = self
            .store
            .conn
            .prepare_cached("SELECT id FROM verifications WHERE id_key = ?1 ORDER BY id")
            .map_err(AuditError::from)?;
        let ids = stmt
            .query_map([key], |r| r.get::<_, i64>(0))
            .map_err(AuditError::from)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(AuditError::from)?;
        Ok(ids)
    }

    fn record_abandoned(
        &mut self,
        s: &Session,
        why: AbandonReason,
        previous: Vec<i64>,
    ) -> Result<RecordReceipt, ServiceError> {
        let reason = Reason::new(
            ReasonCode::Abandoned,
            format!("abandoned: {}", why.describe()),
        );
        let abandoned = serde_json::json!({ "reason": why, "atMs": record::now_ms() });
        let mut result_json = match s.verification.as_ref() {
            Some(v) => {
                let mut r = v.result.clone();
                r.previous_attempts = previous.clone();
                serde_json::to_value(&r).map_err(|e| AuditError::InvalidInput(e.to_string()))?
            }
            None => serde_json::json!({
                "schemaVersion": crate::result::SCHEMA_VERSION,
                "verified": false,
                "decision": Decision::Abandoned,
                "reasons": [reason],
                "previousAttempts": previous,
            }),
        };
        if let Some(obj) = result_json.as_object_mut() {
            obj.insert("abandoned".into(), abandoned);
            if let Some(c) = &s.consent {
                obj.insert(
                    "consent".into(),
                    serde_json::to_value(c).map_err(|e| AuditError::InvalidInput(e.to_string()))?,
                );
            }
        }
        let c = &self.settings.config;
        let models = serde_json::json!({
            "models": s.verification.as_ref().map(|v| &v.result.models),
            "matching": c.matching,
            "weights": c.weights,
            "decision": c.decision,
            "face": c.face,
        });
        let kept = |c: &Option<Capture>| c.as_ref().map(Capture::kept_bytes).transpose();
        let (doc, back, selfie) = (
            kept(&s.document)?,
            kept(&s.document_back)?,
            kept(&s.selfie)?,
        );
        let portrait = s
            .verification
            .as_ref()
            .and_then(|v| v.portrait.as_ref())
            .and_then(record::evidence_jpeg);
        let mut images: Vec<(ImageKind, &[u8])> = Vec::new();
        for (kind, bytes) in [
            (ImageKind::DocumentFront, doc.as_deref()),
            (ImageKind::DocumentBack, back.as_deref()),
            (ImageKind::Portrait, portrait.as_ref()),
            (ImageKind::Selfie, selfie.as_deref()),
        ] {
            if let Some(b) = bytes {
                images.push((kind, b.as_slice()));
            }
        }
        let result = s.verification.as_ref().map(|v| &v.result);
        let field = |pick: fn(&crate::document::fields::DocumentFields) -> Option<&String>| {
            result
                .and_then(|r| r.document.reading.as_ref())
                .and_then(|r| pick(&r.assembled.fields))
                .cloned()
        };
        let receipt = self.store.record_verification(&NewVerification {
            operator: &s.operator,
            customer_type: s.claim.customer_type,
            claimed_id_type: s.claim.id_type.as_deref(),
            claimed_id_number: s.claim.id_number.as_deref(),
            started_ms: s.claim.started_ms,
            finished_ms: record::now_ms(),
            indexed: IndexedFields {
                decision: Decision::Abandoned,
                decision_reason: reason.message.clone(),
                document_number: s
                    .claim
                    .id_number
                    .clone()
                    .or_else(|| field(|f| f.document_number.as_ref().map(|v| &v.value))),
                full_name: field(|f| f.full_name.as_ref().map(|v| &v.value)),
                country: s
                    .claim
                    .country
                    .clone()
                    .or_else(|| field(|f| f.issuing_country.as_ref().map(|v| &v.value))),
                overall_confidence: result.map(|r| f64::from(r.overall_confidence)),
            },
            result: &result_json,
            models: &models,
            images: &images,
            // An abandoned attempt is not an enrolled customer: no template joins the 1:N index.
            template: None,
            corrections: &[],
        })?;
        Ok(receipt)
    }

    fn marker_path(&self, id: &str, part: &str) -> PathBuf {
        self.markers.join(format!("{id}.{part}"))
    }

    /// Write (or rewrite) the sealed marker of the open verification and its document images.
    fn write_marker(&mut self) -> Result<(), ServiceError> {
        let Some(s) = self.session.as_ref() else {
            return Err(ServiceError::NoSession);
        };
        let keys = self.store.keys()?.clone();
        let marker = Marker {
            id: s.id.clone(),
            operator: s.operator.clone(),
            claim: s.claim.clone(),
        };
        let json =
            serde_json::to_vec(&marker).map_err(|e| AuditError::InvalidInput(e.to_string()))?;
        let mut parts: Vec<(&str, Option<Arc<Vec<u8>>>)> = vec![("marker", Some(Arc::new(json)))];
        for (part, capture) in [
            (ImageKind::DocumentFront.as_str(), &s.document),
            (ImageKind::DocumentBack.as_str(), &s.document_back),
        ] {
            parts.push((part, capture.as_ref().map(Capture::kept_bytes).transpose()?));
        }
        let fail = |path: &Path, e: &dyn std::fmt::Display| ServiceError::Marker {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(&self.markers).map_err(|e| fail(&self.markers, &e))?;
        // The marker last: a marker without its images is still recorded (without them).
        parts.rotate_left(1);
        for (part, bytes) in parts {
            let path = self.marker_path(&s.id, part);
            match bytes {
                Some(b) => {
                    let sealed = keys.seal(&marker_aad(&s.id, part), &b)?;
                    write_private(&path, &sealed).map_err(|e| fail(&path, &e))?;
                }
                None => remove_if_present(&path),
            }
        }
        Ok(())
    }

    fn remove_marker(&self, id: &str) {
        for part in [
            ImageKind::DocumentFront.as_str(),
            ImageKind::DocumentBack.as_str(),
            "marker",
        ] {
            remove_if_present(&self.marker_path(id, part));
        }
    }

    /// Record each verification a crash left open (its marker is still there) as abandoned,
    /// with the document images the marker kept.
    fn recover_crashed(&mut self) -> Result<(), ServiceError> {
        let Ok(dir) = std::fs::read_dir(&self.markers) else {
            return Ok(());
        };
        let mut ids: Vec<String> = dir
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".marker").map(str::to_string)
            })
            .collect();
        ids.sort();
        let keys = self.store.keys()?.clone();
        for id in ids {
            let path = self.marker_path(&id, "marker");
            let fail = |m: &str| ServiceError::Marker {
                path: path.clone(),
                message: m.to_string(),
            };
            let sealed = std::fs::read(&path).map_err(|e| fail(&e.to_string()))?;
            let plain = keys
                .open(&marker_aad(&id, "marker"), &sealed)
                .ok_or_else(|| fail("cannot be opened with the store's key"))?;
            let marker: Marker =
                serde_json::from_slice(&plain).map_err(|e| fail(&e.to_string()))?;
            let image = |part: &str| -> Option<Capture> {
                let sealed = std::fs::read(self.marker_path(&id, part)).ok()?;
                let bytes = keys.open(&marker_aad(&id, part), &sealed)?;
                Some(Capture::encoded(part, Arc::new(bytes)))
            };
            let session = Session {
                id: marker.id,
                operator: marker.operator,
                claim: marker.claim,
                document: image(ImageKind::DocumentFront.as_str()),
                document_back: image(ImageKind::DocumentBack.as_str()),
                selfie: None,
                liveness: None,
                failed_challenges: 0,
                consent: None,
                verification: None,
            };
            self.session = Some(session);
            let previous = self.previous_attempts()?;
            let Some(s) = self.session.take() else {
                continue;
            };
            let receipt = self.record_abandoned(&s, AbandonReason::Crash, previous)?;
            self.recovered.push(receipt.id);
            self.remove_marker(&id);
        }
        Ok(())
    }
}

impl Drop for VerificationService {
    /// A verification still open when the service closes ends as abandoned (`closed`); the
    /// user is signed out. Failures keep the marker, so the next start records it.
    fn drop(&mut self) {
        self.abandon(AbandonReason::Closed)
            .warn_on_err("recording the open verification as abandoned at close");
        if let Some(user) = self.user.take() {
            self.store.logout(user).warn_on_err("logging out at close");
        }
    }
}

/// Write `bytes` to `path` readable by the owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Remove a marker file; one already gone is fine, any other failure is logged.
fn remove_if_present(path: &Path) {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        other => other.warn_on_err("removing an open-verification marker"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Role;

    fn fetched(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data/fetched")
            .join(name)
    }

    /// A store in `dir` with an administrator and the users given; the service's settings.
    fn store(dir: &Path, users: &[(&str, Role)]) -> AuditConfig {
        let cfg = AuditConfig::at(dir.join("audit.sqlite3")).with_fast_hashing();
        let mut store = AuditStore::open(cfg.clone()).unwrap();
        store
            .create_first_admin("admin", "admin-passphrase-1")
            .unwrap();
        let admin = store.login("admin", "admin-passphrase-1").unwrap();
        for (name, role) in users {
            store
                .create_user(&admin, name, &format!("{name}-passphrase-1"), *role)
                .unwrap();
        }
        store.logout(admin).unwrap();
        cfg
    }

    fn open(cfg: &AuditConfig, config: Config) -> VerificationService {
        let settings = SettingsInForce::with_file(config, None, None).unwrap();
        VerificationService::open(settings, cfg.clone()).unwrap()
    }

    fn claim(id_number: Option<&str>) -> Claim {
        Claim {
            customer_type: CustomerType::Individual,
            country: Some("GH".into()),
            id_type: id_number.map(|_| "ghanaCardPin".to_string()),
            id_number: id_number.map(str::to_string),
            started_ms: record::now_ms(),
        }
    }

    /// (operator, decision, reason, result JSON, image kinds) of record `id`.
    fn row(
        svc: &VerificationService,
        id: i64,
    ) -> (String, String, String, serde_json::Value, Vec<String>) {
        let conn = &svc.store().conn;
        let (op, d, r, j): (String, String, String, String) = conn
            .query_row(
                "SELECT operator, decision, decision_reason, result_json FROM verifications WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        let mut stmt = conn
            .prepare("SELECT kind FROM blobs WHERE verification_id = ?1 ORDER BY kind")
            .unwrap();
        let kinds = stmt
            .query_map([id], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        (op, d, r, serde_json::from_str(&j).unwrap(), kinds)
    }

    fn count(svc: &VerificationService, sql: &str) -> i64 {
        svc.store().conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn markers(dir: &Path) -> usize {
        std::fs::read_dir(dir.join("audit.sqlite3.open-sessions"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    #[test]
    fn the_service_decides_and_records_with_the_settings_in_force() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = store(dir.path(), &[("ama", Role::Agent)]);
        // The administrator's threshold: nothing approves below 99.5.
        let file = SettingsFile {
            decision: Some(crate::config::DecisionPolicy {
                approve_at: 99.5,
                ..crate::config::DecisionPolicy::default()
            }),
            ..SettingsFile::default()
        };
        let path = dir.path().join(settings::FILE_NAME);
        settings::save(&path, &file).unwrap();
        let in_force = SettingsInForce::load(Config::default(), Some(&path)).unwrap();
        let mut svc = VerificationService::open(in_force, cfg).unwrap();
        svc.record_settings_in_force("test", None).unwrap();
        svc.login("ama", "ama-passphrase-1").unwrap();
        svc.begin(claim(None)).unwrap();
        assert!(matches!(svc.verify(|_| {}), Err(ServiceError::NoDocument)));
        svc.capture_document(Capture::file(&fetched("obama.jpg")).unwrap())
            .unwrap();
        assert_eq!(markers(dir.path()), 2, "marker and the document front");
        svc.capture_selfie(Capture::file(&fetched("obama2.jpg")).unwrap(), None)
            .unwrap();
        assert!(matches!(svc.decide(None), Err(ServiceError::NotVerified)));
        assert!(matches!(
            svc.verify(|_| {}),
            Err(ServiceError::ModelsNotLoaded)
        ));
        svc.load_pipeline().unwrap();
        let mut stages = Vec::new();
        let checked = svc.verify(|s| stages.push(s)).unwrap();
        assert_eq!(
            stages,
            [Stage::Decoding, Stage::Analysing, Stage::Duplicates]
        );
        assert!(checked.result.face_match.outcome.is_match);
        assert!(checked.result.overall_confidence < 99.5);
        assert_eq!(checked.result.decision, Decision::Refer);
        assert!(
            checked
                .result
                .reasons
                .iter()
                .any(|r| r.code == ReasonCode::LowOverallConfidence || r.code == "no_document"),
            "{:?}",
            checked.result.reasons
        );
        let result = svc.decide(None).unwrap();
        let receipt = result.record.clone().unwrap();
        assert!(svc.session().is_none());
        assert_eq!(markers(dir.path()), 0);
        let (op, decision, _, json, kinds) = row(&svc, receipt.id);
        assert_eq!(op, "ama");
        assert_eq!(decision, "refer");
        assert_eq!(json["decision"], "refer");
        assert_eq!(kinds, ["document_front", "portrait", "selfie"]);
        let approve_at: f64 = svc
            .store()
            .conn
            .query_row(
                "SELECT json_extract(models_json, '$.decision.approveAt') FROM verifications WHERE id = ?1",
                [receipt.id],
                |r| r.get(0),
            )
            .unwrap();
        assert!((approve_at - 99.5).abs() < 1e-6);
        let in_force: String = svc
            .store()
            .conn
            .query_row(
                "SELECT payload FROM events WHERE kind = 'settings_in_force'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let in_force: serde_json::Value = serde_json::from_str(&in_force).unwrap();
        assert_eq!(in_force["settings"]["decision"]["approveAt"], 99.5);
        assert!(svc.store().verify().unwrap().problems.is_empty());
    }

    #[test]
    fn an_undecided_verification_is_recorded_abandoned_on_logout_next_customer_and_close() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = store(dir.path(), &[("ama", Role::Agent)]);
        let doc = || Capture::file(&fetched("obama.jpg")).unwrap();
        let mut svc = open(&cfg, Config::default());
        svc.login("ama", "ama-passphrase-1").unwrap();
        // No document yet: nothing to keep, nothing written.
        svc.begin(claim(None)).unwrap();
        assert_eq!(svc.abandon(AbandonReason::NextCustomer).unwrap(), None);
        assert_eq!(count(&svc, "SELECT COUNT(*) FROM verifications"), 0);
        // Log-out with a document captured.
        svc.begin(claim(None)).unwrap();
        svc.capture_document(doc()).unwrap();
        let first = svc.logout().unwrap().unwrap();
        assert!(svc.user().is_none() && svc.session().is_none());
        let (op, decision, reason, json, kinds) = row(&svc, first.id);
        assert_eq!((op.as_str(), decision.as_str()), ("ama", "abandoned"));
        assert!(reason.contains("logged out"), "{reason}");
        assert_eq!(json["abandoned"]["reason"], "logout");
        assert_eq!(json["reasons"][0]["code"], "abandoned");
        assert_eq!(kinds, ["document_front"]);
        // The next customer started over an open one.
        svc.login("ama", "ama-passphrase-1").unwrap();
        svc.begin(claim(None)).unwrap();
        svc.capture_document(doc()).unwrap();
        svc.capture_document_back(Some(doc())).unwrap();
        svc.begin(claim(None)).unwrap();
        let id: i64 = count(&svc, "SELECT MAX(id) FROM verifications");
        let (_, decision, reason, _, kinds) = row(&svc, id);
        assert_eq!(decision, "abandoned");
        assert!(reason.contains("next customer"), "{reason}");
        assert_eq!(kinds, ["document_back", "document_front"]);
        // The service closed (dropped) with one open.
        svc.capture_document(doc()).unwrap();
        drop(svc);
        let svc = open(&cfg, Config::default());
        assert!(svc.recovered().is_empty());
        let id: i64 = count(&svc, "SELECT MAX(id) FROM verifications");
        let (_, decision, reason, json, _) = row(&svc, id);
        assert_eq!(decision, "abandoned");
        assert!(reason.contains("closed"), "{reason}");
        assert_eq!(json["abandoned"]["reason"], "closed");
        assert_eq!(count(&svc, "SELECT COUNT(*) FROM verifications"), 3);
        assert_eq!(
            count(&svc, "SELECT COUNT(*) FROM events WHERE kind = 'logout'"),
            3
        );
        assert_eq!(markers(dir.path()), 0);
        assert!(svc.store().verify().unwrap().problems.is_empty());
    }

    #[test]
    fn a_crash_with_a_verification_open_is_recorded_abandoned_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = store(dir.path(), &[("ama", Role::Agent)]);
        let mut svc = open(&cfg, Config::default());
        svc.login("ama", "ama-passphrase-1").unwrap();
        svc.begin(claim(Some("GHA-123456789-0"))).unwrap();
        svc.capture_document(Capture::file(&fetched("obama.jpg")).unwrap())
            .unwrap();
        // A crash: nothing runs after this point (no drop, no logout).
        std::mem::forget(svc);
        assert_eq!(markers(dir.path()), 2);
        // The marker is sealed: the claimed number is not readable in it.
        let sealed: Vec<u8> = std::fs::read_dir(dir.path().join("audit.sqlite3.open-sessions"))
            .unwrap()
            .flat_map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect();
        assert!(!sealed.windows(15).any(|w| w == b"GHA-123456789-0"));
        let svc = open(&cfg, Config::default());
        assert_eq!(svc.recovered().len(), 1);
        let (op, decision, reason, json, kinds) = row(&svc, svc.recovered()[0]);
        assert_eq!((op.as_str(), decision.as_str()), ("ama", "abandoned"));
        assert!(reason.contains("unexpectedly"), "{reason}");
        assert_eq!(json["abandoned"]["reason"], "crash");
        assert_eq!(kinds, ["document_front"]);
        assert_eq!(markers(dir.path()), 0);
        // Found once only.
        drop(svc);
        let svc = open(&cfg, Config::default());
        assert!(svc.recovered().is_empty());
        assert_eq!(count(&svc, "SELECT COUNT(*) FROM verifications"), 1);
    }

    #[test]
    fn repeated_attempts_for_one_claim_are_linked() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = store(dir.path(), &[("ama", Role::Agent)]);
        let mut svc = open(&cfg, Config::default());
        svc.login("ama", "ama-passphrase-1").unwrap();
        let doc = || Capture::file(&fetched("obama.jpg")).unwrap();
        let mut ids = Vec::new();
        for number in ["GHA-123456789-0", "GHA-987654321-0", "gha 123456789 0"] {
            svc.begin(claim(Some(number))).unwrap();
            svc.capture_document(doc()).unwrap();
            ids.push(
                svc.abandon(AbandonReason::NextCustomer)
                    .unwrap()
                    .unwrap()
                    .id,
            );
        }
        let (_, _, _, first, _) = row(&svc, ids[0]);
        assert!(
            first
                .get("previousAttempts")
                .is_none_or(|p| p == &serde_json::json!([]))
        );
        let (_, _, _, other, _) = row(&svc, ids[1]);
        assert_eq!(other["previousAttempts"], serde_json::json!([]));
        // The third is the first one's number written differently: linked to it alone.
        let (_, _, _, third, _) = row(&svc, ids[2]);
        assert_eq!(third["previousAttempts"], serde_json::json!([ids[0]]));
    }

    #[test]
    fn a_supervisor_cannot_decide_a_case_they_ran() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = store(
            dir.path(),
            &[("kofi", Role::Supervisor), ("efua", Role::Supervisor)],
        );
        let mut svc = open(&cfg, Config::default());
        svc.login("kofi", "kofi-passphrase-1").unwrap();
        svc.begin(claim(None)).unwrap();
        svc.capture_document(Capture::file(&fetched("obama.jpg")).unwrap())
            .unwrap();
        let id = svc
            .abandon(AbandonReason::NextCustomer)
            .unwrap()
            .unwrap()
            .id;
        let err = svc.review(id, Decision::Reject, "looks wrong").unwrap_err();
        assert!(
            matches!(&err, ServiceError::OwnCase { id: i, operator } if *i == id && operator == "kofi"),
            "{err}"
        );
        assert!(err.to_string().contains("cannot decide a case they ran"));
        assert_eq!(count(&svc, "SELECT COUNT(*) FROM supervisor_actions"), 0);
        // Another supervisor may.
        svc.login("efua", "efua-passphrase-1").unwrap();
        let action = svc.review(id, Decision::Reject, "looks wrong").unwrap();
        assert!(action > 0);
        assert_eq!(count(&svc, "SELECT COUNT(*) FROM supervisor_actions"), 1);
        // Signed out: refused before the store is asked.
        svc.logout().unwrap();
        assert!(matches!(
            svc.review(id, Decision::Approve, "x"),
            Err(ServiceError::NotLoggedIn)
        ));
    }

    #[test]
    fn the_idle_timeout_abandons_and_logs_the_operator_out_in_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = store(dir.path(), &[("ama", Role::Agent)]);
        let mut svc = open(&cfg, Config::default());
        svc.login("ama", "ama-passphrase-1").unwrap();
        svc.begin(claim(None)).unwrap();
        svc.capture_document(Capture::file(&fetched("obama.jpg")).unwrap())
            .unwrap();
        let receipt = svc.idle_timeout().unwrap().unwrap();
        assert!(svc.user().is_none());
        let (_, decision, reason, _, _) = row(&svc, receipt.id);
        assert_eq!(decision, "abandoned");
        assert!(reason.contains("idle"), "{reason}");
        let (actor, next): (String, String) = svc
            .store()
            .conn
            .query_row(
                "SELECT actor, (SELECT kind FROM events e2 WHERE e2.seq = events.seq + 1)
                 FROM events WHERE kind = 'idle_logout'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((actor.as_str(), next.as_str()), ("ama", "logout"));
        // Nobody signed in: nothing to record a verification under.
        assert!(matches!(
            svc.begin(claim(None)),
            Err(ServiceError::NotLoggedIn)
        ));
        assert!(svc.store().verify().unwrap().problems.is_empty());
    }

    #[test]
    fn retention_purges_images_past_the_configured_days_by_itself_chained() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = store(dir.path(), &[]);
        {
            let mut st = AuditStore::open(cfg.clone()).unwrap();
            let result = serde_json::json!({ "fullName": "AMA MENSAH" });
            let models = serde_json::json!({});
            let img = vec![7u8; 500];
            let template: Vec<f32> = (0..crate::audit::TEMPLATE_DIM)
                .map(|i| (i as f32 * 0.37).sin())
                .collect();
            st.record_verification(&NewVerification {
                operator: "admin",
                customer_type: CustomerType::Individual,
                claimed_id_type: None,
                claimed_id_number: Some("GHA-1"),
                started_ms: record::now_ms() - 1000,
                finished_ms: record::now_ms(),
                indexed: IndexedFields {
                    decision: Decision::Approve,
                    decision_reason: "test".into(),
                    document_number: Some("GHA-1".into()),
                    full_name: Some("AMA MENSAH".into()),
                    country: None,
                    overall_confidence: Some(90.0),
                },
                result: &result,
                models: &models,
                images: &[
                    (ImageKind::DocumentFront, img.as_slice()),
                    (ImageKind::Selfie, img.as_slice()),
                ],
                template: Some(&template),
                corrections: &[],
            })
            .unwrap();
        }
        let purges = "SELECT count(*) FROM events WHERE kind = 'images_purged'";
        let mut config = Config::default();
        config.retention.image_days = 30;
        let mut svc = open(&cfg, config);
        // The run at start found nothing 30 days old: nothing purged, nothing chained …
        assert_eq!(count(&svc, purges), 0);
        assert_eq!(count(&svc, "SELECT count(*) FROM blobs"), 2);
        // … and it did run: the next is due a day later.
        assert!(svc.retention_if_due().unwrap().is_none());
        // 31 days on, the images go; the record and its template stay.
        let later = record::now_ms() + 31 * 86_400_000;
        let report = svc.run_retention_at(later).unwrap().unwrap();
        assert_eq!((report.records, report.blobs), (1, 2));
        assert_eq!(count(&svc, "SELECT count(*) FROM blobs"), 0);
        assert_eq!(count(&svc, "SELECT count(*) FROM verifications"), 1);
        assert_eq!(count(&svc, "SELECT count(*) FROM templates"), 1);
        assert_eq!(count(&svc, purges), 1);
        let actor: String = svc
            .store()
            .conn
            .query_row(
                "SELECT actor FROM events WHERE kind = 'images_purged'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(actor, "system:retention");
        assert!(svc.store().verify().unwrap().is_intact());
        // Nothing left past retention: the next run writes nothing.
        assert!(svc.run_retention_at(later).unwrap().is_none());
        assert_eq!(count(&svc, purges), 1);
        drop(svc);

        // Retention off (0 days): nothing is ever purged.
        let dir = tempfile::tempdir().unwrap();
        let cfg = store(dir.path(), &[]);
        let mut config = Config::default();
        config.retention.image_days = 0;
        let mut svc = open(&cfg, config);
        assert!(
            svc.run_retention_at(record::now_ms() + 10_000 * 86_400_000)
                .unwrap()
                .is_none()
        );
        assert_eq!(count(&svc, purges), 0);
    }
}
