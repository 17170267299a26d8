//! Plain data types the store takes and returns.

use serde::{Deserialize, Serialize};

use super::error::AuditError;

/// Whether the customer is a person or a company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CustomerType {
    /// A natural person.
    Individual,
    /// A company or other legal entity.
    Business,
}

pub use crate::verdict::Decision;

/// Where a record stands in the supervisor review queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewStatus {
    /// Never needed review.
    None,
    /// Waiting in the supervisor queue.
    Pending,
    /// A supervisor has decided.
    Closed,
}

/// Which image a blob holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageKind {
    /// Front of the ID document.
    DocumentFront,
    /// Back of the ID document.
    DocumentBack,
    /// Holder's photo cropped from the document.
    Portrait,
    /// The customer's selfie.
    Selfie,
}

macro_rules! str_enum {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            /// The stable text form stored in the database.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
            /// Parse the stored text form.
            pub fn parse(s: &str) -> Result<Self, AuditError> {
                match s {
                    $($s => Ok(Self::$v),)*
                    other => Err(AuditError::InvalidInput(format!(
                        "unknown {} value {other:?}", stringify!($t)
                    ))),
                }
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl std::str::FromStr for $t {
            type Err = AuditError;
            fn from_str(s: &str) -> Result<Self, AuditError> {
                Self::parse(s)
            }
        }
    };
}

str_enum!(CustomerType { Individual => "individual", Business => "business" });
str_enum!(Decision {
    Approve => "approve",
    Refer => "refer",
    Reject => "reject",
    Abandoned => "abandoned",
});
str_enum!(ReviewStatus { None => "none", Pending => "pending", Closed => "closed" });
str_enum!(ImageKind {
    DocumentFront => "document_front",
    DocumentBack => "document_back",
    Portrait => "portrait",
    Selfie => "selfie",
});

/// The searchable columns extracted from a `VerificationResult` by the caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexedFields {
    /// Decision taken when the record is written (agent's final choice or the suggestion).
    pub decision: Decision,
    /// Human-readable reason(s) for the decision.
    pub decision_reason: String,
    /// Document number as read (and possibly corrected).
    pub document_number: Option<String>,
    /// Holder's full name as read.
    pub full_name: Option<String>,
    /// Issuing country (ISO 3166 alpha-2 or alpha-3).
    pub country: Option<String>,
    /// Overall confidence 0–100.
    pub overall_confidence: Option<f64>,
}

/// One operator correction of an extracted field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldCorrection {
    /// Field name as in the result JSON (e.g. `documentNumber`).
    pub field: String,
    /// Value before the correction.
    pub before: String,
    /// Value after the correction.
    pub after: String,
    /// Username of who corrected it.
    pub corrected_by: String,
    /// When, in ms since the Unix epoch.
    pub corrected_ms: i64,
}

/// Everything needed to write one verification record.
#[derive(Debug, Clone)]
pub struct NewVerification<'a> {
    /// Username of the operator (agent) who ran the verification.
    pub operator: &'a str,
    /// Individual or business customer.
    pub customer_type: CustomerType,
    /// ID type the customer claimed (e.g. `ghana_card`, `passport`).
    pub claimed_id_type: Option<&'a str>,
    /// ID number the customer claimed.
    pub claimed_id_number: Option<&'a str>,
    /// Session start, ms since epoch.
    pub started_ms: i64,
    /// Session end, ms since epoch.
    pub finished_ms: i64,
    /// Searchable columns.
    pub indexed: IndexedFields,
    /// The full `VerificationResult`, serialised to JSON.
    pub result: &'a serde_json::Value,
    /// Model ids, their sha256s and the thresholds in force.
    pub models: &'a serde_json::Value,
    /// Images to keep (encrypted at rest).
    pub images: &'a [(ImageKind, &'a [u8])],
    /// 128-d L2-normalised face template of the selfie, if a face was embedded.
    pub template: Option<&'a [f32]>,
    /// Corrections the operator made before saving.
    pub corrections: &'a [FieldCorrection],
}

/// One face that the 1:N search found similar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceMatch {
    /// Verification record that holds the matching template.
    pub verification_id: i64,
    /// Cosine similarity in [-1, 1].
    pub score: f32,
    /// Whether that record has the same normalised ID number.
    pub same_id_number: bool,
}

/// Result of the 1:N duplicate check.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateReport {
    /// Best matches above the threshold, best first.
    pub matches: Vec<FaceMatch>,
    /// Records with the same face but a different ID number.
    pub same_face_different_id: Vec<i64>,
    /// Records with the same ID number but a face below the threshold.
    pub same_id_different_face: Vec<i64>,
}

impl DuplicateReport {
    /// True when the case must go to supervisor review.
    pub fn flagged(&self) -> bool {
        !self.same_face_different_id.is_empty() || !self.same_id_different_face.is_empty()
    }
}

/// What the store answers after a record is durably written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordReceipt {
    /// The new verification record id.
    pub id: i64,
    /// Chain sequence number of its event.
    pub event_seq: i64,
    /// 1:N duplicate findings.
    pub duplicates: DuplicateReport,
    /// Decision after duplicate flags (an `approve` with flags becomes `refer`).
    pub current_decision: Decision,
    /// Review queue status.
    pub review_status: ReviewStatus,
}

/// Filter for supervisor queries, export and stats.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordFilter {
    /// Created at or after (ms since epoch).
    pub from_ms: Option<i64>,
    /// Created before (ms since epoch).
    pub to_ms: Option<i64>,
    /// Operator username.
    pub operator: Option<String>,
    /// Current decision.
    pub decision: Option<Decision>,
    /// Review status.
    pub review_status: Option<ReviewStatus>,
    /// Free text found (case-insensitively) in the full name, the document number read or the
    /// claimed ID number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A page request: newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return (capped at 1000).
    pub limit: u64,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            offset: 0,
            limit: 50,
        }
    }
}

/// One row of a supervisor list or export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordSummary {
    /// Record id.
    pub id: i64,
    /// Kiosk that wrote it.
    pub kiosk_id: String,
    /// Operator username.
    pub operator: String,
    /// Individual or business.
    pub customer_type: CustomerType,
    /// Claimed ID type.
    pub claimed_id_type: Option<String>,
    /// Claimed ID number.
    pub claimed_id_number: Option<String>,
    /// Session start.
    pub started_ms: i64,
    /// Session end.
    pub finished_ms: i64,
    /// Write time.
    pub created_ms: i64,
    /// Decision at write time.
    pub decision: Decision,
    /// Reason given.
    pub decision_reason: String,
    /// Decision now (after supervisor actions).
    pub current_decision: Decision,
    /// Review status.
    pub review_status: ReviewStatus,
    /// Document number.
    pub document_number: Option<String>,
    /// Full name.
    pub full_name: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Overall confidence 0–100.
    pub overall_confidence: Option<f64>,
    /// When images were purged, if they were.
    pub images_purged_ms: Option<i64>,
    /// When biometric data was erased, if it was.
    pub erased_ms: Option<i64>,
}

impl RecordSummary {
    /// Session duration in milliseconds.
    pub fn processing_ms(&self) -> i64 {
        self.finished_ms - self.started_ms
    }
}

/// A supervisor's action on a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupervisorAction {
    /// Row id.
    pub id: i64,
    /// Record concerned.
    pub verification_id: i64,
    /// Supervisor username.
    pub supervisor: String,
    /// Free-form action name (`approve`, `reject`, `note`, `request_recapture`, …).
    pub action: String,
    /// New decision, when the action decides.
    pub decision: Option<Decision>,
    /// Supervisor's note.
    pub note: String,
    /// When, ms since epoch.
    pub acted_ms: i64,
}

/// A full record for the review screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordDetail {
    /// The indexed columns.
    pub summary: RecordSummary,
    /// The full `VerificationResult` JSON.
    pub result: serde_json::Value,
    /// Models and thresholds in force.
    pub models: serde_json::Value,
    /// Duplicate findings stored at write time.
    pub duplicates: DuplicateReport,
    /// Field corrections, oldest first.
    pub corrections: Vec<FieldCorrection>,
    /// Supervisor actions, oldest first.
    pub supervisor_actions: Vec<SupervisorAction>,
    /// Image kinds still stored.
    pub images: Vec<ImageKind>,
    /// Whether a face template is still stored.
    pub has_template: bool,
}

/// Normalise an ID number for matching: upper-case ASCII letters and digits only.
pub fn normalize_id_number(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Current time in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The kind of a chained audit event. Serialised (and stored in `events.kind`) as the same
/// snake_case strings the chain has always used, so stored chains still verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A verification record was written (by the store).
    VerificationRecorded,
    /// An operator corrected a field (by the store).
    FieldCorrected,
    /// A supervisor acted on a record (by the store).
    SupervisorAction,
    /// Images older than a cutoff were purged (by the store).
    ImagesPurged,
    /// A customer's biometric data was erased (by the store).
    CustomerErased,
    /// Images of given records were deleted (by the store).
    ImagesDeleted,
    /// A user logged in (by the store).
    Login,
    /// A login was refused (by the store).
    LoginFailed,
    /// A user was locked out (by the store).
    LoginLocked,
    /// A user logged out (by the store).
    Logout,
    /// A user was created (by the store).
    UserCreated,
    /// The first administrator was created (by the store).
    FirstAdminCreated,
    /// A user's role changed (by the store).
    UserRoleChanged,
    /// A user was disabled (by the store).
    UserDisabled,
    /// A user was enabled (by the store).
    UserEnabled,
    /// A user's password was reset (by the store).
    UserPasswordReset,
    /// A locked user was unlocked (by the store).
    UserUnlocked,
    /// Records were exported (by the store).
    Export,
    /// The settings in force when the kiosk or a recording command started.
    SettingsInForce,
    /// An administrator changed the settings.
    SettingsChanged,
    /// A customer failed a liveness challenge.
    LivenessChallengeFailed,
    /// A verification session opened: a document was captured.
    VerificationOpened,
    /// The operator was logged out after the idle timeout.
    IdleLogout,
    /// A plaintext store of an earlier version was encrypted (by the store).
    StoreEncrypted,
}

str_enum!(EventKind {
    VerificationRecorded => "verification_recorded",
    FieldCorrected => "field_corrected",
    SupervisorAction => "supervisor_action",
    ImagesPurged => "images_purged",
    CustomerErased => "customer_erased",
    ImagesDeleted => "images_deleted",
    Login => "login",
    LoginFailed => "login_failed",
    LoginLocked => "login_locked",
    Logout => "logout",
    UserCreated => "user_created",
    FirstAdminCreated => "first_admin_created",
    UserRoleChanged => "user_role_changed",
    UserDisabled => "user_disabled",
    UserEnabled => "user_enabled",
    UserPasswordReset => "user_password_reset",
    UserUnlocked => "user_unlocked",
    Export => "export",
    SettingsInForce => "settings_in_force",
    SettingsChanged => "settings_changed",
    LivenessChallengeFailed => "liveness_challenge_failed",
    VerificationOpened => "verification_opened",
    IdleLogout => "idle_logout",
    StoreEncrypted => "store_encrypted",
});

impl EventKind {
    /// Every kind, for checks over the whole set.
    pub const ALL: [EventKind; 23] = [
        Self::VerificationRecorded,
        Self::FieldCorrected,
        Self::SupervisorAction,
        Self::ImagesPurged,
        Self::CustomerErased,
        Self::ImagesDeleted,
        Self::Login,
        Self::LoginFailed,
        Self::LoginLocked,
        Self::Logout,
        Self::UserCreated,
        Self::FirstAdminCreated,
        Self::UserRoleChanged,
        Self::UserDisabled,
        Self::UserEnabled,
        Self::UserPasswordReset,
        Self::UserUnlocked,
        Self::Export,
        Self::SettingsInForce,
        Self::SettingsChanged,
        Self::LivenessChallengeFailed,
        Self::VerificationOpened,
        Self::IdleLogout,
    ];
}

#[cfg(test)]
mod event_kind_tests {
    use super::EventKind;

    #[test]
    fn event_kinds_keep_their_stored_strings() {
        for k in EventKind::ALL {
            let json = serde_json::to_value(k).unwrap_or_default();
            assert_eq!(json, k.as_str(), "{k:?}");
            assert_eq!(EventKind::parse(k.as_str()).ok(), Some(k));
        }
        assert_eq!(EventKind::SettingsChanged.as_str(), "settings_changed");
        assert_eq!(
            EventKind::LivenessChallengeFailed.as_str(),
            "liveness_challenge_failed"
        );
        assert!(EventKind::parse("no_such_kind").is_err());
    }
}
