//! JSON bodies exchanged between a kiosk and the central service (camelCase; binary as hex or
//! standard base64).

use serde::{Deserialize, Serialize};

use crate::audit::ChainEvent;

/// Request headers carrying a kiosk's signature.
pub mod headers {
    /// The kiosk id.
    pub const KIOSK: &str = "x-kyc-kiosk";
    /// Client time, ms since epoch.
    pub const TIMESTAMP: &str = "x-kyc-timestamp";
    /// Single-use random value.
    pub const NONCE: &str = "x-kyc-nonce";
    /// ed25519 signature (hex) over [`crate::fleet::crypto::request_message`].
    pub const SIGNATURE: &str = "x-kyc-signature";
}

/// Paths of the central API.
pub mod paths {
    /// Enrol a kiosk with a one-time token (unsigned: the token authenticates).
    pub const ENROLL: &str = "/v1/enroll";
    /// What the central service has acknowledged for the signing kiosk.
    pub const HEAD: &str = "/v1/sync/head";
    /// Push chained events and records.
    pub const PUSH: &str = "/v1/sync/push";
}

/// How far a signed request's timestamp may be from the server's clock.
pub const MAX_CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

/// `POST /v1/enroll`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollRequest {
    /// The kiosk id the token was made for.
    pub kiosk_id: String,
    /// The one-time token an administrator made centrally.
    pub token: String,
    /// The kiosk's ed25519 public key (hex).
    pub public_key: String,
}

/// Answer to an enrolment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollResponse {
    /// The enrolled kiosk id.
    pub kiosk_id: String,
    /// The central service's X25519 public key (hex): what records are sealed to.
    pub central_public_key: String,
}

/// Answer to `GET /v1/sync/head`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeadResponse {
    /// Kiosk id.
    pub kiosk_id: String,
    /// Highest sequence stored centrally (0 = none).
    pub ack_seq: i64,
    /// Its hash (hex; 64 zeros for none).
    pub ack_hash: String,
    /// Whether pushes are refused until an administrator clears the kiosk.
    pub quarantined: bool,
    /// Why, when quarantined.
    pub reason: Option<String>,
    /// Duplicate flags raised centrally on this kiosk's records and not yet chained by it.
    #[serde(default)]
    pub duplicate_flags: Vec<crate::fleet::dedup::DuplicateFlag>,
}

/// The kiosk's own chain head, sent with every push so a rollback is seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireHead {
    /// Sequence of the newest local event.
    pub seq: i64,
    /// Its hash (hex).
    pub hash: String,
}

/// One event on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireEvent {
    /// Sequence.
    pub seq: i64,
    /// Time, ms since epoch.
    pub ts_ms: i64,
    /// Kind.
    pub kind: String,
    /// Actor.
    pub actor: String,
    /// Record concerned.
    pub verification_id: Option<i64>,
    /// Payload JSON text as chained.
    pub payload: String,
    /// Previous hash (hex).
    pub prev_hash: String,
    /// Hash (hex).
    pub hash: String,
}

impl From<&ChainEvent> for WireEvent {
    fn from(e: &ChainEvent) -> Self {
        WireEvent {
            seq: e.seq,
            ts_ms: e.ts_ms,
            kind: e.kind.clone(),
            actor: e.actor.clone(),
            verification_id: e.verification_id,
            payload: e.payload.clone(),
            prev_hash: hex::encode(&e.prev_hash),
            hash: hex::encode(&e.hash),
        }
    }
}

/// One sealed image or template (standard base64 of [`crate::fleet::seal_to`]'s output).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireBlob {
    /// `document_front`, `document_back`, `portrait`, `selfie` or `template`.
    pub kind: String,
    /// Sealed bytes, base64.
    pub sealed: String,
}

/// A recorded verification travelling with its creation event. Every part holding personal
/// or biometric data is sealed to the central key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireRecord {
    /// Record id in the kiosk store.
    pub id: i64,
    /// The canonical row ([`crate::audit::VerificationCanon`] as JSON), sealed, base64.
    pub sealed_row: String,
    /// Decision now.
    pub current_decision: String,
    /// Review status now.
    pub review_status: String,
    /// Images and the template, sealed.
    pub blobs: Vec<WireBlob>,
}

/// One pushed item: an event and, for a `verification_recorded` event, its record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushItem {
    /// The chained event.
    pub event: WireEvent,
    /// The record it created (absent when the record's row no longer matches its creation
    /// event on the kiosk, e.g. erased before it was synced).
    pub record: Option<WireRecord>,
}

/// `POST /v1/sync/push`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushRequest {
    /// Kiosk id (must equal the signing kiosk).
    pub kiosk_id: String,
    /// The kiosk's chain head now.
    pub head: WireHead,
    /// Events in sequence order, each the next after the previous.
    pub items: Vec<PushItem>,
}

/// Answer to a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushResponse {
    /// Highest sequence now stored centrally.
    pub ack_seq: i64,
    /// Its hash (hex).
    pub ack_hash: String,
    /// Events newly stored.
    pub accepted: u64,
    /// Events already stored (same hash): skipped.
    pub duplicates: u64,
}

/// The body of any error answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable code (`unsigned`, `bad_signature`, `stale`, `replayed`, `quarantined`, …).
    pub error: String,
    /// Explanation.
    pub message: String,
}
