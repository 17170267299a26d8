//! Tamper-evident audit store: every verification, correction, decision, login and
//! maintenance action, in SQLite, chained by keyed hashes, the whole file encrypted at rest
//! (SQLCipher) and biometric blobs sealed again on their own, role-based access, retention,
//! erasure, 1:N duplicate search and exports.
//!
//! Start with [`AuditStore::open`], write with [`AuditStore::record_verification`], check with
//! [`AuditStore::verify`]; the `kyc-kiosk audit …` commands are in the kiosk crate's `cli::audit`.
//!
//! ```no_run
//! use kyc_core::audit::*;
//!
//! # fn main() -> Result<(), AuditError> {
//! let mut store = AuditStore::open(AuditConfig::default())?;
//! let agent = store.login("ama", "her password")?;
//! // `result` is the pipeline's VerificationResult, serialised with serde_json::to_value.
//! let result = serde_json::json!({ "documentNumber": "GHA-123456789-0", "verified": true });
//! let models = serde_json::json!({ "face": { "id": "arcface", "sha256": "…" }, "threshold": 0.363 });
//! let (doc, portrait, selfie) = (vec![0u8; 10], vec![0u8; 10], vec![0u8; 10]);
//! let template = vec![0.1f32; TEMPLATE_DIM];
//! let images = [
//!     (ImageKind::DocumentFront, doc.as_slice()),
//!     (ImageKind::Portrait, portrait.as_slice()),
//!     (ImageKind::Selfie, selfie.as_slice()),
//! ];
//! let receipt = store.record_verification(&NewVerification {
//!     operator: agent.username(),
//!     customer_type: CustomerType::Individual,
//!     claimed_id_type: Some("ghana_card"),
//!     claimed_id_number: Some("GHA-123456789-0"),
//!     started_ms: now_ms() - 40_000,
//!     finished_ms: now_ms(),
//!     indexed: IndexedFields {
//!         decision: Decision::Approve,
//!         decision_reason: "all checks passed".into(),
//!         document_number: Some("GHA-123456789-0".into()),
//!         full_name: Some("AMA MENSAH".into()),
//!         country: Some("GH".into()),
//!         overall_confidence: Some(91.0),
//!     },
//!     result: &result,
//!     models: &models,
//!     images: &images,
//!     template: Some(&template),
//!     corrections: &[],
//! })?;
//! if receipt.duplicates.flagged() {
//!     // The case went to the supervisor queue (`receipt.current_decision == Decision::Refer`).
//! }
//! store.logout(agent)?;
//! # Ok(()) }
//! ```

mod anchor;
mod central;
mod chain;
mod cipher;
mod confirm;
mod crypto;
mod error;
mod export;
mod outbox;
mod schema;
mod search;
mod store;
mod types;
mod users;

pub use anchor::{Anchor, AnchorRead, read as read_anchor};
pub use central::{AppliedPolicy, CentralDecisionIn, CentralOutcome};
pub use chain::{Problem, VerificationCanon, VerifyReport};
pub use confirm::ConfigConfirmation;
pub use crypto::{AuditKeys, KeyState};
pub use error::AuditError;
pub use export::{ExportFormat, Stats, TIME_BUCKETS_MS, TimeBucket, TimeSummary};
pub use outbox::{ChainEvent, MAX_EVENTS_PER_READ, OutboxRecord};
pub use schema::SCHEMA_VERSION;
pub use search::{DEFAULT_DUPLICATE_THRESHOLD, FaceIndex, TEMPLATE_DIM};
pub use store::{AuditConfig, AuditStore, ErasureReport, PurgeReport, STORE_KEY_CREDENTIAL};
pub use types::*;
pub use users::{
    MIN_PASSWORD_CHARS, Permission, Role, UserInfo, UserSession, check_password_policy, role_allows,
};
