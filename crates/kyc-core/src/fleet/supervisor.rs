//! The central supervisor queue's shared parts and clients: authenticated sealing between two
//! X25519 keys ([`box_seal`]), the wire types of supervisor workstations and of a kiosk's
//! inbox (central decisions and the fleet policy), the fleet policy's rules (which keys it may
//! set, what counts as laxer than shipped), the workstation client and the kiosk's pull.
//!
//! A supervisor workstation is enrolled like a kiosk (a one-time token from a central
//! administrator, its own ed25519 signing key) and also gives the centre an X25519 key: every
//! answer carrying personal data is sealed to it. Its requests are signed like a kiosk's, under
//! the name `workstation:<id>`; the supervisor's password travels sealed to the central key.
//! The kiosk's inbox answer is sealed to a one-time X25519 key the kiosk puts in its signed
//! request; since the sealing key comes from the central secret, only the centre can have made
//! it, so a network attacker can neither read nor forge a decision or a policy.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use rand_core::{OsRng, RngCore};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::FleetError;
use super::client::{FleetConfig, signed_headers_at};
use super::crypto::{CentralSecret, KioskIdentity, SignedParts, new_nonce, seal_to};
use super::http::{self, ServerUrl};
use super::private::{Existing, read_private, write_private};
use super::wire::{ErrorBody, headers};
use crate::audit::{AppliedPolicy, AuditConfig, AuditStore, CentralDecisionIn, now_ms};
use crate::config::Config;
use crate::config_guard::{self, UnsafeValue};

const BOX_INFO: &[u8] = b"kyc-fleet-box-v1";

/// Paths of the supervisor and inbox API.
pub mod paths {
    /// Enrol a supervisor workstation with a one-time token (unsigned: the token authenticates).
    pub const WS_ENROLL: &str = "/v1/supervisor/enroll";
    /// Sign a supervisor in (password sealed to the central key); answers a session.
    pub const LOGIN: &str = "/v1/supervisor/login";
    /// A page of the central queue.
    pub const QUEUE: &str = "/v1/supervisor/queue";
    /// One case with its whole record and images.
    pub const CASE: &str = "/v1/supervisor/case";
    /// Decide a case.
    pub const DECIDE: &str = "/v1/supervisor/decide";
    /// A kiosk pulls its pending central decisions and the fleet policy.
    pub const INBOX: &str = "/v1/sync/inbox";
    /// A kiosk acknowledges what it applied.
    pub const INBOX_ACK: &str = "/v1/sync/inbox/ack";
}

/// Header naming the signing workstation (instead of `x-kyc-kiosk`).
pub const WORKSTATION_HEADER: &str = "x-kyc-workstation";

/// The name a workstation signs under (kept apart from kiosk ids).
pub fn workstation_signer(id: &str) -> String {
    format!("workstation:{id}")
}

/// The associated data of a sealed answer to the request carrying `nonce`.
pub fn reply_aad(signer: &str, nonce: &str) -> Vec<u8> {
    format!("kyc-fleet-reply:{signer}:{nonce}").into_bytes()
}

/// The associated data of a supervisor's sealed credentials.
pub fn login_aad(workstation: &str) -> Vec<u8> {
    format!("kyc-fleet-login:{workstation}").into_bytes()
}

fn box_key(
    shared: &[u8; 32],
    sender: &[u8; 32],
    recipient: &[u8; 32],
) -> Result<Zeroizing<[u8; 32]>, FleetError> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(sender);
    salt[32..].copy_from_slice(recipient);
    let mut okm = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(&salt), shared)
        .expand(BOX_INFO, okm.as_mut())
        .map_err(|_| FleetError::Crypto("key derivation failed".into()))?;
    Ok(okm)
}

/// Seal `plain` from `me` to `peer` (both X25519), bound to `aad`: the key comes from the two
/// keys' shared secret, so opening it proves it was sealed by the holder of `me`'s secret (or
/// `peer`'s). Output: nonce (12) ‖ ciphertext+tag.
///
/// # Errors
/// `Crypto` for a low-order peer key.
pub fn box_seal(
    me: &CentralSecret,
    peer: &[u8; 32],
    aad: &[u8],
    plain: &[u8],
) -> Result<Vec<u8>, FleetError> {
    let shared = me
        .shared_with(peer)
        .ok_or_else(|| FleetError::Crypto("the peer key is a low-order point".into()))?;
    let key = box_key(&shared, &me.public_key(), peer)?;
    let mut nonce = [0u8; 12];
    OsRng.fill_bytes(&mut nonce);
    let ct = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()))
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
        .map_err(|_| FleetError::Crypto("message too large to seal".into()))?;
    let mut out = Vec::with_capacity(12 + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Open what `peer` sealed to `me` with [`box_seal`] under `aad`.
///
/// # Errors
/// `Crypto` when it was sealed by another key, to another key, bound to other data, or altered.
pub fn box_open(
    me: &CentralSecret,
    peer: &[u8; 32],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, FleetError> {
    if sealed.len() < 12 + 16 {
        return Err(FleetError::Crypto("sealed answer too short".into()));
    }
    let shared = me
        .shared_with(peer)
        .ok_or_else(|| FleetError::Crypto("the peer key is a low-order point".into()))?;
    let key = box_key(&shared, peer, &me.public_key())?;
    let (nonce, ct) = sealed.split_at(12);
    ChaCha20Poly1305::new(Key::from_slice(key.as_ref()))
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| FleetError::Crypto("sealed answer does not authenticate".into()))
}

// ---------------------------------------------------------------------------------------------
// Wire types.

/// `POST /v1/supervisor/enroll`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkstationEnrollRequest {
    /// The workstation id the token was made for.
    pub workstation_id: String,
    /// The one-time token.
    pub token: String,
    /// The workstation's ed25519 public key (hex).
    pub public_key: String,
    /// The workstation's X25519 public key (hex): answers are sealed to it.
    pub box_key: String,
}

/// Answer to a workstation's enrolment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkstationEnrollResponse {
    /// The enrolled id.
    pub workstation_id: String,
    /// The central X25519 public key (hex).
    pub central_public_key: String,
}

/// A sealed answer (standard base64 of [`box_seal`]'s output).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealedReply {
    /// The sealed JSON.
    pub sealed: String,
}

/// `POST /v1/supervisor/login`: user name and password sealed to the central key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    /// [`Credentials`] as JSON, sealed with [`seal_to`] under [`login_aad`], base64.
    pub sealed_credentials: String,
}

/// What a login request seals.
#[derive(Serialize, Deserialize)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A supervisor's session (sealed answer to a login).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupervisorSession {
    /// Session token, valid on this workstation only.
    pub session: String,
    /// Who signed in.
    pub username: String,
    /// `supervisor` or `administrator`.
    pub role: String,
    /// When it ends, ms since epoch.
    pub expires_ms: i64,
}

/// Which cases a queue page shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueFilter {
    /// One kiosk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kiosk: Option<String>,
    /// One branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// `pending` (default: referred and undecided), `closed`, `none` or `all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Recorded at or after, ms since epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_ms: Option<i64>,
    /// Recorded before, ms since epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_ms: Option<i64>,
    /// Text the decision reason contains (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `POST /v1/supervisor/queue`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueRequest {
    /// Session token.
    pub session: String,
    /// Filters.
    #[serde(default)]
    pub filter: QueueFilter,
    /// Cases to skip (newest first).
    #[serde(default)]
    pub offset: i64,
    /// Page size (1–200).
    pub limit: i64,
}

/// One line of the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseSummary {
    /// Kiosk that recorded it.
    pub kiosk_id: String,
    /// Record id in that kiosk's store.
    pub record_id: i64,
    /// The kiosk's branch (as an administrator set it centrally).
    pub branch: Option<String>,
    /// Operator who recorded it.
    pub operator: Option<String>,
    /// Recorded at, ms since epoch.
    pub created_ms: i64,
    /// Decision at recording.
    pub decision: String,
    /// Decision now.
    pub current_decision: String,
    /// `pending`, `closed` or `none`.
    pub review_status: String,
    /// The recorded decision reason.
    pub reason: Option<String>,
    /// Overall confidence 0–100.
    pub confidence: Option<f64>,
}

/// A queue page (sealed answer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuePage {
    /// Cases, newest first.
    pub cases: Vec<CaseSummary>,
    /// Offset asked.
    pub offset: i64,
    /// Whether more follow.
    pub more: bool,
}

/// `POST /v1/supervisor/case` and the case part of a decision.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseRequest {
    /// Session token.
    pub session: String,
    /// Kiosk.
    pub kiosk_id: String,
    /// Record id.
    pub record_id: i64,
}

/// One image of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseImage {
    /// `document_front`, `document_back`, `portrait` or `selfie`.
    pub kind: String,
    /// The image bytes, base64.
    pub data: String,
}

/// A decision in the central decision log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionEntry {
    /// Log id (increasing).
    pub id: i64,
    /// Kiosk.
    pub kiosk_id: String,
    /// Record id.
    pub record_id: i64,
    /// `approve` or `reject`.
    pub decision: String,
    /// Why.
    pub reason: String,
    /// Central supervisor.
    pub supervisor: String,
    /// When, ms since epoch.
    pub decided_ms: i64,
    /// Previous entry's hash (hex).
    pub prev_hash: String,
    /// This entry's hash (hex).
    pub hash: String,
    /// When the kiosk acknowledged it.
    pub delivered_ms: Option<i64>,
    /// `applied` or `declined` (with why), as the kiosk reported.
    pub outcome: Option<String>,
}

/// A whole case (sealed answer): the kiosk's record as it keeps it, its images, the events the
/// kiosk chained about it, and the central decision if one was taken.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseDetail {
    /// The queue line.
    pub summary: CaseSummary,
    /// The kiosk's record row ([`crate::audit::VerificationCanon`]).
    pub record: crate::audit::VerificationCanon,
    /// The `VerificationResult` (fields with sources, MRZ checks, match level, liveness
    /// steps, attempts).
    pub result: serde_json::Value,
    /// Duplicate findings.
    pub duplicates: serde_json::Value,
    /// Images still held.
    pub images: Vec<CaseImage>,
    /// Events about this record (corrections, supervisor actions), oldest first.
    pub events: Vec<super::wire::WireEvent>,
    /// The central decision, if taken.
    pub central_decision: Option<DecisionEntry>,
}

/// `POST /v1/supervisor/decide`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecideRequest {
    /// Session token.
    pub session: String,
    /// Kiosk.
    pub kiosk_id: String,
    /// Record id.
    pub record_id: i64,
    /// `approve` or `reject`.
    pub decision: String,
    /// Why (required).
    pub reason: String,
}

/// `POST /v1/sync/inbox`: the one-time key the answer is sealed to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboxRequest {
    /// X25519 public key (hex), fresh per request.
    pub reply_key: String,
}

/// The inbox (sealed answer): decisions not yet acknowledged, oldest first, and the newest
/// fleet policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inbox {
    /// Pending decisions for this kiosk.
    pub decisions: Vec<CentralDecisionIn>,
    /// The fleet policy in force centrally.
    pub policy: Option<AppliedPolicy>,
}

/// One acknowledged decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AckItem {
    /// Decision id.
    pub id: i64,
    /// `applied` or `declined: why`.
    pub outcome: String,
}

/// `POST /v1/sync/inbox/ack`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboxAck {
    /// Decisions applied or declined.
    pub decisions: Vec<AckItem>,
    /// The fleet policy version now in force on the kiosk.
    pub policy_version: Option<i64>,
}

// ---------------------------------------------------------------------------------------------
// The fleet policy.

/// The configuration sections a fleet policy may set: thresholds, liveness rules, duplicate
/// search.
pub const POLICY_SECTIONS: [&str; 4] = ["decision", "matching", "liveness", "duplicates"];

fn merge(base: &mut serde_json::Value, over: &serde_json::Value, path: &str) -> Result<(), String> {
    let (Some(b), Some(o)) = (base.as_object_mut(), over.as_object()) else {
        return Err(format!("{path}: expected an object"));
    };
    for (k, v) in o {
        let here = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        let Some(slot) = b.get_mut(k) else {
            return Err(format!("{here}: no such configuration key"));
        };
        if slot.is_object() && v.is_object() {
            merge(slot, v, &here)?;
        } else if slot.is_object() != v.is_object() {
            return Err(format!("{here}: wrong kind of value"));
        } else {
            *slot = v.clone();
        }
    }
    Ok(())
}

/// `config` with `policy` laid over it, validated. A policy is a JSON object whose keys are
/// among [`POLICY_SECTIONS`] and, inside, the configuration's own keys (camelCase).
///
/// # Errors
/// What is wrong, naming the key.
pub fn apply_policy(policy: &serde_json::Value, config: &Config) -> Result<Config, String> {
    let Some(obj) = policy.as_object() else {
        return Err("a fleet policy is a JSON object".into());
    };
    if obj.is_empty() {
        return Err("the fleet policy sets nothing".into());
    }
    if let Some(k) = obj.keys().find(|k| !POLICY_SECTIONS.contains(&k.as_str())) {
        return Err(format!(
            "{k}: a fleet policy sets only {}",
            POLICY_SECTIONS.join(", ")
        ));
    }
    let mut base = serde_json::to_value(config).map_err(|e| e.to_string())?;
    merge(&mut base, policy, "")?;
    let c: Config = serde_json::from_value(base).map_err(|e| format!("fleet policy: {e}"))?;
    c.validate()?;
    Ok(c)
}

/// SHA-256 (hex) of the policy's canonical JSON (keys sorted, no whitespace).
pub fn policy_hash(policy: &serde_json::Value) -> String {
    let text = serde_json::to_string(policy).unwrap_or_default();
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// What in `policy` is laxer than the shipped values (empty: inside the safe range).
///
/// # Errors
/// The policy is not valid.
pub fn policy_unsafe(policy: &serde_json::Value) -> Result<Vec<UnsafeValue>, String> {
    let c = apply_policy(policy, &Config::default())?;
    let mut out = config_guard::unsafe_values(&c);
    if c.decision.synthetic_document_warns {
        out.push(UnsafeValue {
            key: "decision.syntheticDocumentWarns".into(),
            value: "true".into(),
            safe: "false, the shipped value".into(),
        });
    }
    Ok(out)
}

/// The configuration a kiosk decides with: `config` (the configuration file with the kiosk
/// administrator's settings over it) with the fleet policy in force in `store` over that.
/// Returns the policy too (`None`: the kiosk never received one).
///
/// # Errors
/// A stored policy that no longer applies (refused rather than ignored).
pub fn govern(
    store: &AuditStore,
    config: &Config,
) -> Result<(Config, Option<AppliedPolicy>), FleetError> {
    let Some(p) = store.fleet_policy()? else {
        return Ok((config.clone(), None));
    };
    let c = apply_policy(&p.policy, config).map_err(|e| {
        FleetError::InvalidInput(format!("fleet policy version {}: {e}", p.version))
    })?;
    Ok((c, Some(p)))
}

/// Whether `config`'s values outside the safe range are all set by `p` and `p` was confirmed
/// by a central administrator (its laxer values then need no kiosk confirmation).
pub fn centrally_confirmed(p: &AppliedPolicy, config: &Config) -> bool {
    if p.confirmed_by.is_none() {
        return false;
    }
    let Ok(allowed) = policy_unsafe(&p.policy) else {
        return false;
    };
    config_guard::unsafe_values(config)
        .iter()
        .all(|u| allowed.iter().any(|a| a.key == u.key && a.value == u.value))
}

// ---------------------------------------------------------------------------------------------
// Clients.

fn refused(resp: &http::Response) -> FleetError {
    match serde_json::from_slice::<ErrorBody>(&resp.body) {
        Ok(b) if b.error == "quarantined" => FleetError::Quarantined(b.message),
        Ok(b) => FleetError::Refused {
            status: resp.status,
            code: b.error,
            message: b.message,
        },
        Err(_) => FleetError::Refused {
            status: resp.status,
            code: "http".into(),
            message: String::from_utf8_lossy(&resp.body)
                .chars()
                .take(200)
                .collect(),
        },
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>, FleetError> {
    serde_json::to_vec(v).map_err(|e| FleetError::Protocol(e.to_string()))
}

fn open_reply<T: DeserializeOwned>(
    me: &CentralSecret,
    central: &[u8; 32],
    aad: &[u8],
    body: &[u8],
) -> Result<T, FleetError> {
    let reply: SealedReply =
        serde_json::from_slice(body).map_err(|e| FleetError::Protocol(e.to_string()))?;
    let sealed = B64
        .decode(reply.sealed)
        .map_err(|_| FleetError::Protocol("sealed answer is not base64".into()))?;
    let plain = box_open(me, central, aad, &sealed)?;
    serde_json::from_slice(&plain).map_err(|e| FleetError::Protocol(e.to_string()))
}

/// What a kiosk's pull did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PullReport {
    /// Central decisions applied now.
    pub applied: u64,
    /// Applied before (acknowledged again).
    pub repeated: u64,
    /// Declined (not pending here, or the four-eyes rule).
    pub declined: u64,
    /// The fleet policy version in force after the pull.
    pub policy_version: Option<i64>,
    /// Whether a new policy was chained by this pull.
    pub policy_applied: bool,
}

/// Check a policy received from the centre before chaining it: valid, its hash as stated, and
/// confirmed when laxer than shipped.
fn check_received(p: &AppliedPolicy) -> Result<(), FleetError> {
    let bad = |m: String| FleetError::Protocol(format!("fleet policy {}: {m}", p.version));
    if policy_hash(&p.policy) != p.policy_hash {
        return Err(bad("its hash does not match its content".into()));
    }
    let lax = policy_unsafe(&p.policy).map_err(bad)?;
    if !lax.is_empty() && p.confirmed_by.is_none() {
        return Err(bad(
            "laxer than shipped without an administrator's confirmation".into(),
        ));
    }
    Ok(())
}

/// Pull this kiosk's inbox: apply each pending central decision in order (each once, chained
/// as `central_decision`), chain a newer fleet policy as `fleet_settings_applied`, then
/// acknowledge. Cut anywhere, the next pull repeats what was not acknowledged and applying is
/// idempotent.
///
/// # Errors
/// Network and refusal errors; a sealed answer that does not authenticate; the store's.
pub fn pull_inbox(
    store: &mut AuditStore,
    cfg: &FleetConfig,
    timeout: Duration,
) -> Result<PullReport, FleetError> {
    let reply_secret = CentralSecret::generate();
    let body = to_json(&InboxRequest {
        reply_key: hex::encode(reply_secret.public_key()),
    })?;
    let nonce = new_nonce();
    let hdrs = signed_headers_at(cfg, "POST", paths::INBOX, &body, now_ms(), &nonce);
    let resp = http::request(&cfg.server, "POST", paths::INBOX, &hdrs, &body, timeout)?;
    if resp.status != 200 {
        return Err(refused(&resp));
    }
    let inbox: Inbox = open_reply(
        &reply_secret,
        &cfg.central_public_key,
        &reply_aad(&cfg.kiosk_id, &nonce),
        &resp.body,
    )?;
    let mut report = PullReport::default();
    let mut acks = Vec::with_capacity(inbox.decisions.len());
    let mut ordered = inbox.decisions.clone();
    ordered.sort_by_key(|d| d.id);
    for d in &ordered {
        let outcome = store.apply_central_decision(d)?;
        match &outcome {
            crate::audit::CentralOutcome::Applied { .. } => report.applied += 1,
            crate::audit::CentralOutcome::AlreadyApplied => report.repeated += 1,
            crate::audit::CentralOutcome::Declined { .. } => report.declined += 1,
        }
        acks.push(AckItem {
            id: d.id,
            outcome: match outcome {
                crate::audit::CentralOutcome::Declined { why } => format!("declined: {why}"),
                o => o.word().to_string(),
            },
        });
    }
    if let Some(p) = &inbox.policy {
        check_received(p)?;
        report.policy_applied = store.apply_fleet_policy(p)?.is_some();
    }
    report.policy_version = store.fleet_policy()?.map(|p| p.version);
    let body = to_json(&InboxAck {
        decisions: acks,
        policy_version: report.policy_version,
    })?;
    let hdrs = signed_headers_at(cfg, "POST", paths::INBOX_ACK, &body, now_ms(), &new_nonce());
    let resp = http::request(&cfg.server, "POST", paths::INBOX_ACK, &hdrs, &body, timeout)?;
    if resp.status != 200 {
        return Err(refused(&resp));
    }
    Ok(report)
}

/// Open the store at `audit` for writing and run [`pull_inbox`] with the fleet file at
/// `fleet_path`.
///
/// # Errors
/// As [`pull_inbox`]; `Io` when the kiosk is not enrolled.
pub fn pull_store(
    audit: &AuditConfig,
    fleet_path: &Path,
    server: Option<&str>,
    timeout: Duration,
) -> Result<PullReport, FleetError> {
    let mut cfg = FleetConfig::load(fleet_path)?;
    if let Some(s) = server {
        cfg.server = ServerUrl::parse(s)?;
    }
    let mut audit = audit.clone();
    audit.load_index_at_open = false;
    let mut store = AuditStore::open(audit)?;
    pull_inbox(&mut store, &cfg, timeout)
}

/// A supervisor workstation's enrolment, kept in a file (mode 0600): the central URL, its id,
/// its signing seed, its X25519 secret and the central public key.
pub struct Workstation {
    /// Central service URL.
    pub server: ServerUrl,
    /// Workstation id as enrolled.
    pub id: String,
    identity: KioskIdentity,
    box_secret: CentralSecret,
    /// The central X25519 public key.
    pub central_public_key: [u8; 32],
    /// Network time-out per request.
    pub timeout: Duration,
}

impl std::fmt::Debug for Workstation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workstation")
            .field("server", &self.server.to_url())
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct WorkstationFile {
    format: String,
    server: String,
    workstation_id: String,
    signing_seed: String,
    box_secret: String,
    central_public_key: String,
}

const WS_FORMAT: &str = "kyc-kiosk-workstation v1";

fn key32(hexed: &str, what: &str) -> Result<Zeroizing<[u8; 32]>, FleetError> {
    let v = Zeroizing::new(
        hex::decode(hexed).map_err(|_| FleetError::InvalidInput(format!("{what}: not hex")))?,
    );
    let mut out = Zeroizing::new([0u8; 32]);
    if v.len() != 32 {
        return Err(FleetError::InvalidInput(format!("{what}: not 32 bytes")));
    }
    out.copy_from_slice(&v);
    Ok(out)
}

impl Workstation {
    /// Read a workstation file; refuses one readable by group or others.
    ///
    /// # Errors
    /// `Io` (missing: not enrolled), `InvalidInput` for a malformed file or loose permissions.
    pub fn load(path: &Path) -> Result<Self, FleetError> {
        let text = read_private(path, "the workstation's keys")?;
        let bad = |why: &str| FleetError::InvalidInput(format!("{}: {why}", path.display()));
        let f: WorkstationFile = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
        if f.format != WS_FORMAT {
            return Err(bad("not a supervisor workstation file"));
        }
        let seed = key32(&f.signing_seed, "signing key")?;
        let boxed = key32(&f.box_secret, "sealing key")?;
        let central = key32(&f.central_public_key, "central public key")?;
        Ok(Workstation {
            server: ServerUrl::parse(&f.server)?,
            id: f.workstation_id,
            identity: KioskIdentity::from_seed(seed.as_ref())?,
            box_secret: CentralSecret::from_bytes(boxed.as_ref())?,
            central_public_key: *central,
            timeout: Duration::from_secs(30),
        })
    }

    fn save(&self, path: &Path) -> Result<(), FleetError> {
        let f = WorkstationFile {
            format: WS_FORMAT.into(),
            server: self.server.to_url(),
            workstation_id: self.id.clone(),
            signing_seed: hex::encode(self.identity.seed().as_ref()),
            box_secret: hex::encode(self.box_secret.to_bytes().as_ref()),
            central_public_key: hex::encode(self.central_public_key),
        };
        let text = Zeroizing::new(
            serde_json::to_string_pretty(&f).map_err(|e| FleetError::Protocol(e.to_string()))?,
        );
        write_private(path, &text, Existing::Refuse)
    }

    /// Enrol this workstation: make its two key pairs, present the one-time token, keep the
    /// answer in a new file at `path` (an existing enrolment is never replaced).
    ///
    /// # Errors
    /// `InvalidInput` when `path` exists; network and refusal errors.
    pub fn enroll(server: &str, id: &str, token: &str, path: &Path) -> Result<Self, FleetError> {
        if path.exists() {
            return Err(FleetError::InvalidInput(format!(
                "{} exists: this workstation is already enrolled",
                path.display()
            )));
        }
        if id.trim().is_empty() || token.trim().is_empty() {
            return Err(FleetError::InvalidInput(
                "workstation id and token are required".into(),
            ));
        }
        let server = ServerUrl::parse(server)?;
        let identity = KioskIdentity::generate();
        let box_secret = CentralSecret::generate();
        let body = to_json(&WorkstationEnrollRequest {
            workstation_id: id.to_string(),
            token: token.trim().to_string(),
            public_key: hex::encode(identity.public_key()),
            box_key: hex::encode(box_secret.public_key()),
        })?;
        let resp = http::request(
            &server,
            "POST",
            paths::WS_ENROLL,
            &[],
            &body,
            Duration::from_secs(30),
        )?;
        if resp.status != 200 {
            return Err(refused(&resp));
        }
        let ans: WorkstationEnrollResponse =
            serde_json::from_slice(&resp.body).map_err(|e| FleetError::Protocol(e.to_string()))?;
        let central = key32(&ans.central_public_key, "central public key")
            .map_err(|e| FleetError::Protocol(e.to_string()))?;
        let ws = Workstation {
            server,
            id: ans.workstation_id,
            identity,
            box_secret,
            central_public_key: *central,
            timeout: Duration::from_secs(30),
        };
        ws.save(path)?;
        Ok(ws)
    }

    /// The four signature headers of a request (signed as `workstation:<id>`).
    pub fn signed_headers(
        &self,
        path: &str,
        body: &[u8],
        ts: i64,
        nonce: &str,
    ) -> Vec<(&'static str, String)> {
        let signer = workstation_signer(&self.id);
        let sig = self.identity.sign_request(&SignedParts {
            method: "POST",
            path,
            kiosk_id: &signer,
            timestamp_ms: ts,
            nonce,
            body,
        });
        vec![
            (WORKSTATION_HEADER, self.id.clone()),
            (headers::TIMESTAMP, ts.to_string()),
            (headers::NONCE, nonce.to_string()),
            (headers::SIGNATURE, hex::encode(sig)),
        ]
    }

    /// The raw answer to a signed POST of `body` (for tests of what travels).
    ///
    /// # Errors
    /// Network errors.
    pub fn post_raw(
        &self,
        path: &str,
        body: &[u8],
        nonce: &str,
    ) -> Result<http::Response, FleetError> {
        let hdrs = self.signed_headers(path, body, now_ms(), nonce);
        http::request(&self.server, "POST", path, &hdrs, body, self.timeout)
    }

    /// Open a sealed answer to the request that carried `nonce`.
    ///
    /// # Errors
    /// `Protocol` or `Crypto` when it is not a sealed answer from the centre.
    pub fn open<T: DeserializeOwned>(&self, nonce: &str, body: &[u8]) -> Result<T, FleetError> {
        open_reply(
            &self.box_secret,
            &self.central_public_key,
            &reply_aad(&workstation_signer(&self.id), nonce),
            body,
        )
    }

    fn call<T: DeserializeOwned>(&self, path: &str, req: &impl Serialize) -> Result<T, FleetError> {
        let body = Zeroizing::new(to_json(req)?);
        let nonce = new_nonce();
        let resp = self.post_raw(path, &body, &nonce)?;
        if resp.status != 200 {
            return Err(refused(&resp));
        }
        self.open(&nonce, &resp.body)
    }

    /// The login request body: user name and password sealed to the central key.
    ///
    /// # Errors
    /// `Crypto` for a bad central key.
    pub fn login_body(&self, username: &str, password: &str) -> Result<Vec<u8>, FleetError> {
        let creds = Zeroizing::new(to_json(&Credentials {
            username: username.to_string(),
            password: password.to_string(),
        })?);
        let sealed = seal_to(&self.central_public_key, &login_aad(&self.id), &creds)?;
        to_json(&LoginRequest {
            sealed_credentials: B64.encode(sealed),
        })
    }

    /// Sign a supervisor in.
    ///
    /// # Errors
    /// `Refused` (401 for a wrong name or password, 403 for a role that may not review).
    pub fn login(&self, username: &str, password: &str) -> Result<SupervisorSession, FleetError> {
        let body = Zeroizing::new(self.login_body(username, password)?);
        let nonce = new_nonce();
        let resp = self.post_raw(paths::LOGIN, &body, &nonce)?;
        if resp.status != 200 {
            return Err(refused(&resp));
        }
        self.open(&nonce, &resp.body)
    }

    /// A page of the central queue.
    ///
    /// # Errors
    /// Network, refusal and protocol errors.
    pub fn queue(
        &self,
        s: &SupervisorSession,
        filter: &QueueFilter,
        offset: i64,
        limit: i64,
    ) -> Result<QueuePage, FleetError> {
        self.call(
            paths::QUEUE,
            &QueueRequest {
                session: s.session.clone(),
                filter: filter.clone(),
                offset,
                limit,
            },
        )
    }

    /// One case in full.
    ///
    /// # Errors
    /// Network, refusal (404 for an unknown case) and protocol errors.
    pub fn case(
        &self,
        s: &SupervisorSession,
        kiosk_id: &str,
        record_id: i64,
    ) -> Result<CaseDetail, FleetError> {
        self.call(
            paths::CASE,
            &CaseRequest {
                session: s.session.clone(),
                kiosk_id: kiosk_id.to_string(),
                record_id,
            },
        )
    }

    /// Decide a case; answers its entry in the central decision log.
    ///
    /// # Errors
    /// Refusals: 403 `own_case` (the four-eyes rule), 409 when decided or closed already.
    pub fn decide(
        &self,
        s: &SupervisorSession,
        kiosk_id: &str,
        record_id: i64,
        decision: &str,
        reason: &str,
    ) -> Result<DecisionEntry, FleetError> {
        self.call(
            paths::DECIDE,
            &DecideRequest {
                session: s.session.clone(),
                kiosk_id: kiosk_id.to_string(),
                record_id,
                decision: decision.to_string(),
                reason: reason.to_string(),
            },
        )
    }
}

/// A case named `KIOSK:RECORD` (the kiosk id may itself hold colons; the record id follows the
/// last one).
///
/// # Errors
/// `InvalidInput` naming the expected form.
pub fn parse_case(case: &str) -> Result<(String, i64), FleetError> {
    let bad = || FleetError::InvalidInput(format!("case {case:?}: give it as KIOSK:RECORD"));
    let (k, r) = case.rsplit_once(':').ok_or_else(bad)?;
    let r: i64 = r.parse().map_err(|_| bad())?;
    if k.is_empty() || r < 1 {
        return Err(bad());
    }
    Ok((k.to_string(), r))
}

/// Why the centre (or the way to it) refused a supervisor's request, in the terms a screen
/// explains; [`Refusal::of`] sorts a [`FleetError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No workstation file: this workstation was never enrolled.
    NotEnrolled,
    /// The central service does not know this workstation (removed or never enrolled there).
    UnknownWorkstation,
    /// The workstation's requests are refused as quarantined.
    Quarantined(String),
    /// Wrong user name or password.
    WrongPassword,
    /// The account is disabled centrally.
    Disabled,
    /// The user may not review cases.
    NotSupervisor,
    /// The central service could not be reached.
    Unreachable(String),
    /// The session ended (expired, or the user was disabled): sign in again.
    SessionEnded,
    /// The supervisor recorded this case at the kiosk (four-eyes rule).
    OwnCase,
    /// The case was decided centrally already.
    Decided,
    /// The case is not waiting for review.
    NotPending,
    /// No such case centrally.
    NotFound,
    /// A reason is required (at most 500 characters).
    BadReason,
    /// Anything else, with the centre's or the client's words.
    Other(String),
}

impl Refusal {
    /// Sort an error of the workstation client.
    #[must_use]
    pub fn of(e: &FleetError) -> Self {
        match e {
            FleetError::Unreachable(m) => Refusal::Unreachable(m.clone()),
            FleetError::Quarantined(m) => Refusal::Quarantined(m.clone()),
            FleetError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Refusal::NotEnrolled
            }
            FleetError::Refused {
                status,
                code,
                message,
            } => match (status, code.as_str()) {
                (_, "unknown_workstation") => Refusal::UnknownWorkstation,
                (_, "own_case") => Refusal::OwnCase,
                (_, "decided") => Refusal::Decided,
                (_, "not_pending") => Refusal::NotPending,
                (_, "no_session") => Refusal::SessionEnded,
                (_, "bad_reason") => Refusal::BadReason,
                (401, "unauthorized") if message.ends_with("is disabled") => Refusal::Disabled,
                (401, "unauthorized") => Refusal::WrongPassword,
                (403, "forbidden") => Refusal::NotSupervisor,
                (404, _) => Refusal::NotFound,
                _ => Refusal::Other(e.to_string()),
            },
            other => Refusal::Other(other.to_string()),
        }
    }
}

impl CaseDetail {
    /// The case as the kiosk's own store would give it ([`crate::audit::RecordDetail`]), so
    /// the same evidence views draw it, under the kiosk's fleet id. Corrections travel only as digests in the chain, so
    /// none are listed, and the events about the record are in [`CaseDetail::events`].
    ///
    /// # Errors
    /// `Protocol` for a record whose stored columns do not parse.
    pub fn record_detail(&self) -> Result<crate::audit::RecordDetail, FleetError> {
        use crate::audit::{CustomerType, Decision, ImageKind, RecordSummary, ReviewStatus};
        let bad = |what: &str| FleetError::Protocol(format!("case record: {what}"));
        let r = &self.record;
        let decision = Decision::parse(&r.decision).map_err(|_| bad("decision"))?;
        let summary = RecordSummary {
            id: r.id,
            // The name the kiosk is enrolled under in the fleet, which the queue shows too.
            kiosk_id: self.summary.kiosk_id.clone(),
            operator: r.operator.clone(),
            customer_type: CustomerType::parse(&r.customer_type)
                .map_err(|_| bad("customer type"))?,
            claimed_id_type: r.claimed_id_type.clone(),
            claimed_id_number: r.claimed_id_number.clone(),
            started_ms: r.started_ms,
            finished_ms: r.finished_ms,
            created_ms: r.created_ms,
            decision,
            decision_reason: r.decision_reason.clone(),
            current_decision: Decision::parse(&self.summary.current_decision).unwrap_or(decision),
            review_status: ReviewStatus::parse(&self.summary.review_status)
                .unwrap_or(ReviewStatus::None),
            document_number: r.document_number.clone(),
            full_name: r.full_name.clone(),
            country: r.country.clone(),
            overall_confidence: r.overall_confidence,
            images_purged_ms: None,
            erased_ms: None,
        };
        Ok(crate::audit::RecordDetail {
            summary,
            result: self.result.clone(),
            models: serde_json::from_str(&r.models_json).unwrap_or(serde_json::Value::Null),
            duplicates: serde_json::from_value(self.duplicates.clone()).unwrap_or_default(),
            corrections: Vec::new(),
            supervisor_actions: Vec::new(),
            images: self
                .images
                .iter()
                .filter_map(|i| ImageKind::parse(&i.kind).ok())
                .collect(),
            has_template: false,
        })
    }

    /// The bytes of the image of `kind` (`document_front`, `document_back`, `portrait`,
    /// `selfie`), if the case carries it.
    ///
    /// # Errors
    /// `Protocol` when it is not base64.
    pub fn image_bytes(&self, kind: &str) -> Result<Option<Zeroizing<Vec<u8>>>, FleetError> {
        let Some(img) = self.images.iter().find(|i| i.kind == kind) else {
            return Ok(None);
        };
        B64.decode(&img.data)
            .map(|b| Some(Zeroizing::new(b)))
            .map_err(|_| FleetError::Protocol(format!("image {kind} is not base64")))
    }
}

/// Where a supervisor workstation's file is by default (`<config dir>/kyc-kiosk/workstation`).
pub fn default_workstation_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("kyc-kiosk").join("workstation"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_open_only_between_the_two_keys_and_their_binding() {
        let a = CentralSecret::generate();
        let b = CentralSecret::generate();
        let c = CentralSecret::generate();
        let sealed = box_seal(&a, &b.public_key(), b"x", b"AMA MENSAH").unwrap();
        assert!(!sealed.windows(4).any(|w| w == b"MENS"));
        assert_eq!(
            box_open(&b, &a.public_key(), b"x", &sealed)
                .unwrap()
                .as_slice(),
            b"AMA MENSAH"
        );
        // Another sender, another recipient, other binding, altered bytes: refused.
        assert!(box_open(&b, &c.public_key(), b"x", &sealed).is_err());
        assert!(box_open(&c, &a.public_key(), b"x", &sealed).is_err());
        assert!(box_open(&b, &a.public_key(), b"y", &sealed).is_err());
        let mut bent = sealed.clone();
        bent[20] ^= 1;
        assert!(box_open(&b, &a.public_key(), b"x", &bent).is_err());
        // A forger without `a`'s secret seals with its own key: it does not open as from `a`.
        let forged = box_seal(&c, &b.public_key(), b"x", b"approve").unwrap();
        assert!(box_open(&b, &a.public_key(), b"x", &forged).is_err());
    }

    #[test]
    fn a_policy_sets_known_keys_only_and_laxer_values_are_named() {
        let strict = serde_json::json!({"decision": {"approveAt": 90.0}});
        let c = apply_policy(&strict, &Config::default()).unwrap();
        assert_eq!(c.decision.approve_at, 90.0);
        assert!(policy_unsafe(&strict).unwrap().is_empty());
        let lax =
            serde_json::json!({"decision": {"approveAt": 50.0}, "duplicates": {"search": false}});
        let keys: Vec<String> = policy_unsafe(&lax)
            .unwrap()
            .into_iter()
            .map(|u| u.key)
            .collect();
        assert!(keys.contains(&"decision.approveAt".to_string()), "{keys:?}");
        assert!(keys.contains(&"duplicates.search".to_string()), "{keys:?}");
        for bad in [
            serde_json::json!({"limits": {"maxBytes": 1}}),
            serde_json::json!({"decision": {"approveAtt": 80.0}}),
            serde_json::json!({"decision": 5}),
            serde_json::json!({}),
            serde_json::json!({"decision": {"approveAt": "high"}}),
        ] {
            assert!(apply_policy(&bad, &Config::default()).is_err(), "{bad}");
        }
        let warns = serde_json::json!({"decision": {"syntheticDocumentWarns": true}});
        assert_eq!(policy_unsafe(&warns).unwrap().len(), 1);
        // The same policy in any key order has one hash.
        let a: serde_json::Value =
            serde_json::from_str(r#"{"decision":{"approveAt":90,"minSharpness":30}}"#).unwrap();
        let b: serde_json::Value =
            serde_json::from_str(r#"{"decision":{"minSharpness":30,"approveAt":90}}"#).unwrap();
        assert_eq!(policy_hash(&a), policy_hash(&b));
    }

    #[test]
    fn cases_parse_as_kiosk_and_record() {
        assert_eq!(parse_case("k1:12").unwrap(), ("k1".to_string(), 12));
        assert_eq!(parse_case("a:b:3").unwrap(), ("a:b".to_string(), 3));
        for bad in ["k1", ":3", "k1:0", "k1:-2", "k1:x", ""] {
            let e = parse_case(bad).unwrap_err();
            assert!(e.to_string().contains("KIOSK:RECORD"), "{bad}: {e}");
        }
    }

    #[test]
    fn refusals_are_sorted_by_the_centres_code() {
        let r = |status: u16, code: &str, message: &str| {
            Refusal::of(&FleetError::Refused {
                status,
                code: code.into(),
                message: message.into(),
            })
        };
        assert_eq!(
            r(401, "unauthorized", "wrong user name or password"),
            Refusal::WrongPassword
        );
        assert_eq!(r(401, "unauthorized", "sue is disabled"), Refusal::Disabled);
        assert_eq!(r(403, "forbidden", "x"), Refusal::NotSupervisor);
        assert_eq!(r(403, "own_case", "x"), Refusal::OwnCase);
        assert_eq!(r(409, "decided", "x"), Refusal::Decided);
        assert_eq!(r(409, "not_pending", "x"), Refusal::NotPending);
        assert_eq!(r(401, "no_session", "x"), Refusal::SessionEnded);
        assert_eq!(
            r(401, "unknown_workstation", "x"),
            Refusal::UnknownWorkstation
        );
        assert_eq!(r(404, "not_found", "x"), Refusal::NotFound);
        assert_eq!(r(400, "bad_reason", "x"), Refusal::BadReason);
        assert!(matches!(r(500, "internal", "x"), Refusal::Other(m) if m.contains("internal")));
        assert!(matches!(
            Refusal::of(&FleetError::Unreachable("refused".into())),
            Refusal::Unreachable(_)
        ));
        assert_eq!(
            Refusal::of(&FleetError::Io {
                path: "ws".into(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            }),
            Refusal::NotEnrolled
        );
    }
}
