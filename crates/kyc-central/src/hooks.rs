//! Hand-off to core banking: signed webhooks when a case is decided.
//!
//! When the centre learns that a case is decided (a synced record whose current decision is
//! approve or reject, a kiosk supervisor's decision arriving as an event, or a central
//! supervisor's decision through [`enqueue_case_decided`]), it writes one delivery per
//! configured endpoint into an outbox table (`webhook_deliveries`) in the same PostgreSQL
//! transaction as what taught it. A worker started by [`crate::serve`] sends due deliveries:
//! `POST` of the JSON body with a timestamp and an HMAC-SHA256 over `timestamp.body`
//! ([`sign`], [`verify_signature`]), the same idempotency key on every attempt, exponential
//! back-off with jitter between attempts, and after [`HookSettings::max_attempts`] failures
//! the delivery becomes a dead letter an administrator can replay.
//!
//! Transport: `https://` with rustls ([`crate::tls`]): the endpoint's certificate must chain
//! to the CA bundle configured with it (a bank's private CA) or, without one, to the system
//! roots, and name the endpoint's host; a refused certificate fails the attempt like any other
//! (retried, then a dead letter) with the cause in the delivery's last error. Plain `http://`
//! stays accepted for a receiver on a trusted network; production endpoints should be https.
//! The HMAC authenticates the body whatever the transport.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use kyc_core::audit::{VerificationCanon, now_ms};
use kyc_core::fleet::crypto::record_aad;
use kyc_core::fleet::http::{self, ServerUrl};
use kyc_core::fleet::{CentralSecret, open_sealed, seal_to};
use rand_core::{OsRng, RngCore};
use serde::Serialize;
use sha2::Sha256;
use tokio_postgres::GenericClient;
use zeroize::Zeroizing;

use crate::{Central, CentralError, CentralUser, adminlog, tls};

/// Header with the signing time, whole seconds since the Unix epoch.
pub const HEADER_TIMESTAMP: &str = "X-Kyc-Timestamp";
/// Header with `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub const HEADER_SIGNATURE: &str = "X-Kyc-Signature";
/// Header with the delivery's idempotency key (the same on every attempt and replay).
pub const HEADER_IDEMPOTENCY: &str = "Idempotency-Key";
/// Header with the attempt number, from 1.
pub const HEADER_ATTEMPT: &str = "X-Kyc-Attempt";
/// The event name in the body.
pub const EVENT_CASE_DECIDED: &str = "case.decided";
/// How far a receiver should accept a timestamp from its own clock (documented advice; the
/// receiver decides).
pub const RECOMMENDED_TOLERANCE_S: i64 = 300;
/// Smallest secret accepted for an endpoint.
pub const MIN_SECRET_BYTES: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// Timing of the delivery worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookSettings {
    /// Delay after the first failed attempt; doubled after each further one.
    pub backoff_base_ms: i64,
    /// Longest delay between attempts.
    pub backoff_max_ms: i64,
    /// Attempts before a delivery becomes a dead letter.
    pub max_attempts: i32,
    /// How often the worker looks for due deliveries and registry checks.
    pub poll_ms: u64,
    /// Time-out of one request to an endpoint (connect, and each read or write).
    pub request_timeout_ms: u64,
    /// How long a claimed delivery is held by the worker that claimed it (a worker that dies
    /// mid-send leaves it to be retried after this).
    pub lease_ms: i64,
}

impl Default for HookSettings {
    fn default() -> Self {
        HookSettings {
            backoff_base_ms: 10_000,
            backoff_max_ms: 3_600_000,
            max_attempts: 12,
            poll_ms: 2_000,
            request_timeout_ms: 10_000,
            lease_ms: 120_000,
        }
    }
}

impl HookSettings {
    /// The delay after attempt `attempt` (from 1) failed: `base · 2^(attempt−1)` capped at the
    /// maximum, then "equal jitter": a uniform draw in [delay/2, delay], so many deliveries
    /// failing together do not retry together.
    pub fn backoff_ms(&self, attempt: i32, random: u64) -> i64 {
        let exp = attempt.clamp(1, 40) - 1;
        let full = self
            .backoff_base_ms
            .max(1)
            .saturating_mul(1i64 << exp.min(40))
            .min(self.backoff_max_ms.max(1));
        let half = full / 2;
        half + (random % (full - half + 1) as u64) as i64
    }
}

/// A configured endpoint (its secret is never shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpoint {
    /// Id.
    pub id: i64,
    /// `https://host[:port]/path` (or `http://`).
    pub url: String,
    /// How the server is authenticated: `ca-bundle` (its own CA bundle), `system-roots`, or
    /// `none` (plain http).
    pub tls: String,
    /// Whether bodies carry personal fields (name, numbers, date of birth).
    pub include_personal: bool,
    /// Who added it.
    pub created_by: String,
    /// When.
    pub created_ms: i64,
    /// Deliveries waiting to be sent.
    pub pending: i64,
    /// Deliveries the endpoint accepted.
    pub delivered: i64,
    /// Dead letters.
    pub dead: i64,
}

/// A delivery as listed (dead letters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// Id.
    pub id: i64,
    /// Endpoint.
    pub endpoint_id: i64,
    /// Its URL.
    pub url: String,
    /// Idempotency key.
    pub idempotency_key: String,
    /// Case: kiosk.
    pub kiosk_id: String,
    /// Case: record id at the kiosk.
    pub record_id: i64,
    /// `approve` or `reject`.
    pub decision: String,
    /// `pending`, `delivered`, `dead`.
    pub state: String,
    /// Attempts made.
    pub attempts: i32,
    /// HTTP status of the last attempt, when one answered.
    pub last_status: Option<i32>,
    /// What went wrong last.
    pub last_error: Option<String>,
    /// Queued, ms.
    pub created_ms: i64,
    /// Became a dead letter, ms.
    pub dead_ms: Option<i64>,
    /// Times replayed.
    pub replays: i32,
}

/// A case decision the centre learnt of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseDecided {
    /// Kiosk of the case.
    pub kiosk_id: String,
    /// Record id at that kiosk.
    pub record_id: i64,
    /// The decision (`approve` / `reject` are handed off; anything else is ignored).
    pub decision: String,
    /// When it was decided, ms since epoch.
    pub decided_ms: i64,
    /// `kiosk` (the pipeline at the kiosk), `kiosk_supervisor` or `central_supervisor`.
    pub decided_by: String,
}

/// Whether `decision` is final and handed off.
pub fn is_final(decision: &str) -> bool {
    matches!(decision, "approve" | "reject")
}

/// How an endpoint's server is authenticated, as listed.
fn tls_kind(https: bool, own_ca: bool) -> &'static str {
    match (https, own_ca) {
        (false, _) => "none",
        (true, true) => "ca-bundle",
        (true, false) => "system-roots",
    }
}

fn secret_aad(id: i64) -> Vec<u8> {
    format!("kyc-central:webhook-secret:{id}").into_bytes()
}

fn body_aad(key: &str) -> Vec<u8> {
    format!("kyc-central:webhook-body:{key}").into_bytes()
}

fn crypto(e: kyc_core::fleet::FleetError) -> CentralError {
    CentralError::Setup(format!("sealing: {e}"))
}

/// The signature header value for `body` signed at `timestamp_s`.
pub fn sign(secret: &[u8], timestamp_s: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp_s.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Why a receiver refuses a webhook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The timestamp header is missing or not a number.
    #[error("timestamp header missing or not a number")]
    BadTimestamp,
    /// The timestamp is further from the receiver's clock than it accepts.
    #[error("timestamp is {0} s from the receiver's clock")]
    Stale(i64),
    /// The signature header is missing or not `v1=<64 hex>`.
    #[error("signature header missing or malformed")]
    Malformed,
    /// The HMAC does not match this body and timestamp.
    #[error("signature does not match")]
    Mismatch,
}

/// What a receiver does with a webhook: parse the timestamp, refuse it when further than
/// `tolerance_s` from `now_s`, recompute the HMAC over `timestamp.body` and compare in
/// constant time.
///
/// # Errors
/// The [`SignatureError`] that refuses it.
pub fn verify_signature(
    secret: &[u8],
    timestamp_header: Option<&str>,
    body: &[u8],
    signature_header: Option<&str>,
    now_s: i64,
    tolerance_s: i64,
) -> Result<(), SignatureError> {
    let ts: i64 = timestamp_header
        .and_then(|t| t.trim().parse().ok())
        .ok_or(SignatureError::BadTimestamp)?;
    if (now_s - ts).abs() > tolerance_s {
        return Err(SignatureError::Stale(now_s - ts));
    }
    let given = signature_header
        .and_then(|s| s.trim().strip_prefix("v1="))
        .and_then(|h| hex::decode(h).ok())
        .filter(|b| b.len() == 32)
        .ok_or(SignatureError::Malformed)?;
    let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| SignatureError::Mismatch)?;
    mac.update(ts.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given)
        .map_err(|_| SignatureError::Mismatch)
}

/// Split `http://host[:port]/path?query` into the server and the request target (the
/// registry adapters' client, which speaks plain http only).
///
/// # Errors
/// `InvalidInput` naming what is wrong (https is refused here).
pub fn parse_http_url(url: &str) -> Result<(ServerUrl, String), CentralError> {
    if url.starts_with("https://") {
        return Err(CentralError::InvalidInput(format!(
            "URL {url:?}: https is not supported by this client; give an http:// URL on a \
             trusted network or a local TLS-terminating proxy"
        )));
    }
    let e = parse_endpoint_url(url)?;
    Ok((e.server, e.path))
}

/// A webhook endpoint's URL, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl {
    /// `https://`.
    pub tls: bool,
    /// Host and port (443 or 80 when absent).
    pub server: ServerUrl,
    /// The request target (`/path?query`).
    pub path: String,
}

/// Split `https://host[:port]/path?query` (or `http://…`) into scheme, server and request
/// target.
///
/// # Errors
/// `InvalidInput` naming what is wrong.
pub fn parse_endpoint_url(url: &str) -> Result<EndpointUrl, CentralError> {
    let bad = |why: &str| CentralError::InvalidInput(format!("URL {url:?}: {why}"));
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(bad("must start with https:// (or http://)"));
    };
    if url.len() > 2000 || url.chars().any(|c| c.is_control() || c == ' ') {
        return Err(bad(
            "longer than 2000 characters or holds spaces or control characters",
        ));
    }
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_string()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_string()),
    };
    if authority.contains('@') {
        return Err(bad(
            "credentials in the URL are refused; use the secret or credential file",
        ));
    }
    let mut server = ServerUrl::parse(&format!("http://{authority}"))
        .map_err(|e| CentralError::InvalidInput(e.to_string()))?;
    let explicit_port = if authority.starts_with('[') {
        authority.contains("]:")
    } else {
        authority.contains(':')
    };
    if tls && !explicit_port {
        server.port = 443;
    }
    Ok(EndpointUrl { tls, server, path })
}

/// Read a secret file: refused when other users may read it, or when shorter than
/// `min_bytes` once a trailing line break is removed.
///
/// # Errors
/// `InvalidInput` naming the problem.
pub fn read_secret_file(
    path: &std::path::Path,
    min_bytes: usize,
) -> Result<Zeroizing<Vec<u8>>, CentralError> {
    let bad = |why: String| CentralError::InvalidInput(format!("{}: {why}", path.display()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| bad(e.to_string()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(bad(format!(
                "mode {:o} lets other users read the secret; chmod 600 it",
                mode & 0o777
            )));
        }
    }
    let mut bytes = Zeroizing::new(std::fs::read(path).map_err(|e| bad(e.to_string()))?);
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    if bytes.len() < min_bytes {
        return Err(bad(format!(
            "the secret is {} bytes; at least {min_bytes} are needed",
            bytes.len()
        )));
    }
    Ok(bytes)
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

fn str_at<'a>(v: &'a serde_json::Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(|x| x.as_str())
}

/// The hand-off body of a case (no images; personal fields only when `personal`).
pub fn case_body(
    case: &CaseDecided,
    row: &VerificationCanon,
    registry_check: &str,
    idempotency_key: &str,
    personal: bool,
) -> serde_json::Value {
    let result: serde_json::Value =
        serde_json::from_str(&row.result_json).unwrap_or(serde_json::Value::Null);
    let document_type = str_at(&result, "/document/reading/fields/documentType/value")
        .map(str::to_string)
        .or_else(|| row.claimed_id_type.clone());
    let match_level = result
        .pointer("/faceMatch/matchLevel")
        .and_then(|v| v.as_u64());
    let match_computed = result
        .pointer("/faceMatch/computed")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let mut body = serde_json::json!({
        "event": EVENT_CASE_DECIDED,
        "idempotencyKey": idempotency_key,
        "caseReference": format!("{}/{}", case.kiosk_id, case.record_id),
        "kioskId": case.kiosk_id,
        "recordId": case.record_id,
        "decision": case.decision,
        "decidedBy": case.decided_by,
        "decidedAtMs": case.decided_ms,
        "recordedAtMs": row.created_ms,
        "documentType": document_type,
        "country": row.country,
        "matchLevel": if match_computed { match_level } else { None },
        "registryCheck": registry_check,
    });
    if personal && let Some(o) = body.as_object_mut() {
        o.insert(
            "personal".into(),
            serde_json::json!({
                "fullName": row.full_name,
                "documentNumber": row.document_number,
                "claimedIdType": row.claimed_id_type,
                "claimedIdNumber": row.claimed_id_number,
                "dateOfBirth": str_at(&result, "/document/reading/fields/dateOfBirth/value"),
            }),
        );
    }
    body
}

/// Open the sealed row of a stored record.
///
/// # Errors
/// `NotFound` when the centre does not hold the record; `Setup` when it does not open.
pub async fn load_row<C: GenericClient>(
    c: &C,
    secret: &CentralSecret,
    kiosk_id: &str,
    record_id: i64,
) -> Result<VerificationCanon, CentralError> {
    let sealed: Vec<u8> = c
        .query_opt(
            "SELECT sealed_row FROM records WHERE kiosk_id = $1 AND record_id = $2",
            &[&kiosk_id, &record_id],
        )
        .await?
        .ok_or_else(|| CentralError::NotFound(format!("record {kiosk_id}/{record_id}")))?
        .get(0);
    let plain = open_sealed(secret, &record_aad(kiosk_id, record_id, "row"), &sealed)
        .map_err(|e| CentralError::Setup(format!("record {kiosk_id}/{record_id}: {e}")))?;
    serde_json::from_slice(&plain)
        .map_err(|e| CentralError::Setup(format!("record {kiosk_id}/{record_id}: {e}")))
}

/// Queue the hand-off of a decided case to every configured endpoint, inside the caller's
/// transaction `c` (so the delivery exists exactly when what caused it commits). A decision
/// that is not final, or no endpoint, queues nothing; the same (endpoint, case, decision) is
/// queued once however often it is learnt. Returns the deliveries queued.
///
/// The central supervisor decision calls this after its own update, in its transaction.
///
/// # Errors
/// `NotFound` when the record is not held; database errors.
pub async fn enqueue_case_decided<C: GenericClient>(
    c: &C,
    secret: &CentralSecret,
    case: &CaseDecided,
) -> Result<u64, CentralError> {
    if !is_final(&case.decision) {
        return Ok(0);
    }
    let endpoints = c
        .query(
            "SELECT id, include_personal FROM webhook_endpoints WHERE removed_ms IS NULL
             ORDER BY id",
            &[],
        )
        .await?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let row = load_row(c, secret, &case.kiosk_id, case.record_id).await?;
    let registry = crate::registry::check_state(c, &case.kiosk_id, case.record_id).await?;
    let now = now_ms();
    let mut queued = 0;
    for e in endpoints {
        let (endpoint_id, personal): (i64, bool) = (e.get(0), e.get(1));
        let key = format!("kyc-{}", random_hex(16));
        let body = case_body(case, &row, &registry, &key, personal);
        let plain = Zeroizing::new(body.to_string().into_bytes());
        let sealed = seal_to(&secret.public_key(), &body_aad(&key), &plain).map_err(crypto)?;
        queued += c
            .execute(
                "INSERT INTO webhook_deliveries (endpoint_id, idempotency_key, kiosk_id,
                     record_id, decision, sealed_body, state, next_attempt_ms, created_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7)
                 ON CONFLICT (endpoint_id, kiosk_id, record_id, decision) DO NOTHING",
                &[
                    &endpoint_id,
                    &key,
                    &case.kiosk_id,
                    &case.record_id,
                    &case.decision,
                    &sealed,
                    &now,
                ],
            )
            .await?;
    }
    if queued > 0 {
        tracing::info!(
            kiosk_id = %case.kiosk_id,
            record_id = case.record_id,
            decision = %case.decision,
            queued,
            "central: case hand-off queued"
        );
    }
    Ok(queued)
}

/// A record arrived in a push (its row opened and checked): queue its registry check, and its
/// hand-off when the kiosk's pipeline decided it finally and nothing changed that since (a
/// later supervisor decision arrives as its own event and is handed off then).
///
/// # Errors
/// Database errors.
pub(crate) async fn record_arrived<C: GenericClient>(
    c: &C,
    secret: &CentralSecret,
    kiosk_id: &str,
    row: &VerificationCanon,
    current_decision: &str,
) -> Result<(), CentralError> {
    crate::registry::enqueue_check(c, kiosk_id, row).await?;
    if is_final(&row.decision) && current_decision == row.decision {
        enqueue_case_decided(
            c,
            secret,
            &CaseDecided {
                kiosk_id: kiosk_id.to_string(),
                record_id: row.id,
                decision: row.decision.clone(),
                decided_ms: row.created_ms,
                decided_by: "kiosk".into(),
            },
        )
        .await?;
    }
    Ok(())
}

/// A kiosk supervisor's decision arrived as an event: hand the case off when it is final.
/// A record the centre does not hold (erased at the kiosk before its first sync) is skipped.
///
/// # Errors
/// Database errors.
pub(crate) async fn supervisor_decided<C: GenericClient>(
    c: &C,
    secret: &CentralSecret,
    kiosk_id: &str,
    record_id: i64,
    decision: &str,
    at_ms: i64,
) -> Result<(), CentralError> {
    let case = CaseDecided {
        kiosk_id: kiosk_id.to_string(),
        record_id,
        decision: decision.to_string(),
        decided_ms: at_ms,
        decided_by: "kiosk_supervisor".into(),
    };
    match enqueue_case_decided(c, secret, &case).await {
        Err(CentralError::NotFound(what)) => {
            tracing::warn!(%what, "central: decided case not held; no hand-off");
            Ok(())
        }
        other => other.map(|_| ()),
    }
}

/// What one round of the worker did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeliveryRound {
    /// Deliveries the endpoint accepted (2xx).
    pub delivered: u32,
    /// Attempts that failed and will be retried.
    pub retrying: u32,
    /// Deliveries that became dead letters.
    pub dead: u32,
}

struct Claimed {
    id: i64,
    key: String,
    attempt: i32,
    url: String,
    endpoint_id: i64,
    sealed_secret: Vec<u8>,
    sealed_body: Vec<u8>,
    ca_pem: Option<String>,
}

/// Send one attempt; `Ok(status)` for any HTTP answer, `Err` when none came (unreachable, a
/// TLS failure with its cause, an answer that is not HTTP).
fn send(
    url: &str,
    ca_pem: Option<&str>,
    secret: &[u8],
    key: &str,
    attempt: i32,
    body: &[u8],
    timeout: Duration,
) -> Result<u16, String> {
    let endpoint = parse_endpoint_url(url).map_err(|e| e.to_string())?;
    let ts = now_ms() / 1000;
    let headers = [
        (HEADER_TIMESTAMP, ts.to_string()),
        (HEADER_SIGNATURE, sign(secret, ts, body)),
        (HEADER_IDEMPOTENCY, key.to_string()),
        (HEADER_ATTEMPT, attempt.to_string()),
        ("User-Agent", "kyc-central-webhook/1".to_string()),
    ];
    if endpoint.tls {
        let trust = ca_pem.map_or(tls::Trust::System, |p| tls::Trust::Bundle(p.to_string()));
        tls::request(
            &endpoint.server,
            &trust,
            "POST",
            &endpoint.path,
            &headers,
            body,
            timeout,
        )
        .map(|r| r.status)
    } else {
        http::request(
            &endpoint.server,
            "POST",
            &endpoint.path,
            &headers,
            body,
            timeout,
        )
        .map(|r| r.status)
        .map_err(|e| e.to_string())
    }
}

impl Central {
    /// Timing of the delivery worker.
    pub fn hook_settings(&self) -> &HookSettings {
        &self.hooks
    }

    /// Use other worker timings (tests use short back-offs).
    pub fn with_hook_settings(mut self, s: HookSettings) -> Self {
        self.hooks = Arc::new(s);
        self
    }

    /// An administrator adds an endpoint; returns its id. Logged in the administrators' log.
    /// An `https://` endpoint's certificate is checked against the system roots; see
    /// [`Central::add_webhook_with_ca`] for a private CA.
    ///
    /// # Errors
    /// `Forbidden`, `InvalidInput` (URL, secret shorter than [`MIN_SECRET_BYTES`]).
    pub async fn add_webhook(
        &self,
        by: &CentralUser,
        url: &str,
        secret: &[u8],
        include_personal: bool,
    ) -> Result<i64, CentralError> {
        self.add_webhook_with_ca(by, url, secret, include_personal, None)
            .await
    }

    /// [`Central::add_webhook`] with the CA bundle (PEM) the `https://` endpoint's certificate
    /// must chain to (the bank's private CA); `None`: the system roots.
    ///
    /// # Errors
    /// `Forbidden`; `InvalidInput` (URL, secret, a CA bundle that holds no usable certificate
    /// or holds a private key, a CA bundle given for an `http://` URL).
    pub async fn add_webhook_with_ca(
        &self,
        by: &CentralUser,
        url: &str,
        secret: &[u8],
        include_personal: bool,
        ca_pem: Option<&str>,
    ) -> Result<i64, CentralError> {
        by.require_admin()?;
        let endpoint = parse_endpoint_url(url)?;
        if let Some(pem) = ca_pem {
            if !endpoint.tls {
                return Err(CentralError::InvalidInput(format!(
                    "URL {url:?}: a CA bundle is given but the URL is http://; use https://"
                )));
            }
            tls::parse_bundle(pem)?;
        }
        if secret.len() < MIN_SECRET_BYTES {
            return Err(CentralError::InvalidInput(format!(
                "the endpoint's secret is {} bytes; at least {MIN_SECRET_BYTES} are needed",
                secret.len()
            )));
        }
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let id: i64 = tx
            .query_one("SELECT nextval('webhook_endpoints_id')", &[])
            .await?
            .get(0);
        let sealed = seal_to(&self.public_key(), &secret_aad(id), secret).map_err(crypto)?;
        tx.execute(
            "INSERT INTO webhook_endpoints (id, url, sealed_secret, include_personal, created_by,
                 created_ms, ca_pem) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &id,
                &url,
                &sealed,
                &include_personal,
                &by.username,
                &now_ms(),
                &ca_pem,
            ],
        )
        .await?;
        adminlog::append(
            &tx,
            by,
            "webhook_add",
            &format!("webhook {id}"),
            "",
            &serde_json::json!({
                "url": url,
                "includePersonal": include_personal,
                "tls": tls_kind(endpoint.tls, ca_pem.is_some()),
                "caSha256": ca_pem.map(|p| hex::encode(<Sha256 as sha2::Digest>::digest(p.as_bytes()))),
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Endpoints in use, with their delivery counts.
    ///
    /// # Errors
    /// `Forbidden`; database errors.
    pub async fn webhooks(&self, by: &CentralUser) -> Result<Vec<WebhookEndpoint>, CentralError> {
        by.require_admin()?;
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT e.id, e.url, e.include_personal, e.created_by, e.created_ms,
                     count(*) FILTER (WHERE d.state = 'pending'),
                     count(*) FILTER (WHERE d.state = 'delivered'),
                     count(*) FILTER (WHERE d.state = 'dead'),
                     e.ca_pem IS NOT NULL
                 FROM webhook_endpoints e LEFT JOIN webhook_deliveries d ON d.endpoint_id = e.id
                 WHERE e.removed_ms IS NULL GROUP BY e.id ORDER BY e.id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| WebhookEndpoint {
                id: r.get(0),
                tls: tls_kind(r.get::<_, String>(1).starts_with("https://"), r.get(8)).into(),
                url: r.get(1),
                include_personal: r.get(2),
                created_by: r.get(3),
                created_ms: r.get(4),
                pending: r.get(5),
                delivered: r.get(6),
                dead: r.get(7),
            })
            .collect())
    }

    /// An administrator removes an endpoint: nothing more is queued for it, and its pending
    /// deliveries become dead letters (`endpoint removed`). Returns those.
    ///
    /// # Errors
    /// `Forbidden`, `NotFound`.
    pub async fn remove_webhook(
        &self,
        by: &CentralUser,
        id: i64,
        reason: &str,
    ) -> Result<u64, CentralError> {
        by.require_admin()?;
        let reason = adminlog::require_reason(reason)?;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let now = now_ms();
        let n = tx
            .execute(
                "UPDATE webhook_endpoints SET removed_ms = $2, removed_by = $3
                 WHERE id = $1 AND removed_ms IS NULL",
                &[&id, &now, &by.username],
            )
            .await?;
        if n == 0 {
            return Err(CentralError::NotFound(format!("webhook endpoint {id}")));
        }
        let dead = tx
            .execute(
                "UPDATE webhook_deliveries SET state = 'dead', dead_ms = $2,
                     last_error = 'endpoint removed'
                 WHERE endpoint_id = $1 AND state = 'pending'",
                &[&id, &now],
            )
            .await?;
        adminlog::append(
            &tx,
            by,
            "webhook_remove",
            &format!("webhook {id}"),
            reason,
            &serde_json::json!({ "pendingMadeDead": dead }),
        )
        .await?;
        tx.commit().await?;
        Ok(dead)
    }

    /// Deliveries in `state` (`pending`, `delivered`, `dead`), oldest first.
    ///
    /// # Errors
    /// `Forbidden`, `InvalidInput` for another state.
    pub async fn deliveries(
        &self,
        by: &CentralUser,
        state: &str,
    ) -> Result<Vec<Delivery>, CentralError> {
        by.require_admin()?;
        if !matches!(state, "pending" | "delivered" | "dead") {
            return Err(CentralError::InvalidInput(format!(
                "delivery state {state:?}: pending, delivered or dead"
            )));
        }
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT d.id, d.endpoint_id, e.url, d.idempotency_key, d.kiosk_id, d.record_id,
                     d.decision, d.state, d.attempts, d.last_status, d.last_error, d.created_ms,
                     d.dead_ms, d.replays
                 FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
                 WHERE d.state = $1 ORDER BY d.id",
                &[&state],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Delivery {
                id: r.get(0),
                endpoint_id: r.get(1),
                url: r.get(2),
                idempotency_key: r.get(3),
                kiosk_id: r.get(4),
                record_id: r.get(5),
                decision: r.get(6),
                state: r.get(7),
                attempts: r.get(8),
                last_status: r.get(9),
                last_error: r.get(10),
                created_ms: r.get(11),
                dead_ms: r.get(12),
                replays: r.get(13),
            })
            .collect())
    }

    /// An administrator re-queues dead letters (`id`, or all when `None`) for delivery now,
    /// with their attempts reset and the same idempotency key. Logged. Returns how many.
    ///
    /// # Errors
    /// `Forbidden`; `NotFound` for an id that is not a dead letter; `Conflict` when its
    /// endpoint was removed.
    pub async fn replay_dead_letters(
        &self,
        by: &CentralUser,
        id: Option<i64>,
        reason: &str,
    ) -> Result<u64, CentralError> {
        by.require_admin()?;
        let reason = adminlog::require_reason(reason)?;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        if let Some(id) = id {
            let row = tx
                .query_opt(
                    "SELECT e.removed_ms FROM webhook_deliveries d
                     JOIN webhook_endpoints e ON e.id = d.endpoint_id
                     WHERE d.id = $1 AND d.state = 'dead'",
                    &[&id],
                )
                .await?
                .ok_or_else(|| CentralError::NotFound(format!("dead letter {id}")))?;
            if row.get::<_, Option<i64>>(0).is_some() {
                return Err(CentralError::Conflict(format!(
                    "dead letter {id}: its endpoint was removed; add the endpoint again"
                )));
            }
        }
        let ids: Vec<i64> = tx
            .query(
                "UPDATE webhook_deliveries d SET state = 'pending', attempts = 0,
                     next_attempt_ms = $2, dead_ms = NULL, replays = replays + 1
                 FROM webhook_endpoints e
                 WHERE e.id = d.endpoint_id AND e.removed_ms IS NULL AND d.state = 'dead'
                     AND ($1::BIGINT IS NULL OR d.id = $1)
                 RETURNING d.id",
                &[&id, &now_ms()],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        adminlog::append(
            &tx,
            by,
            "webhook_replay",
            &id.map_or_else(
                || "all dead letters".to_string(),
                |i| format!("delivery {i}"),
            ),
            reason,
            &serde_json::json!({ "deliveries": ids }),
        )
        .await?;
        tx.commit().await?;
        Ok(ids.len() as u64)
    }

    /// One round of the delivery worker: claim the due deliveries (at most 16; each held for
    /// [`HookSettings::lease_ms`] so another worker leaves it), send each, and record the
    /// outcome: delivered on 2xx, else retried after [`HookSettings::backoff_ms`] or, at the
    /// last attempt, made a dead letter.
    ///
    /// # Errors
    /// Database errors.
    pub async fn deliver_due(&self) -> Result<DeliveryRound, CentralError> {
        let now = now_ms();
        let claimed: Vec<Claimed> = {
            let mut c = self.pool.get().await?;
            let tx = c.transaction().await?;
            let rows = tx
                .query(
                    "SELECT d.id, d.idempotency_key, d.attempts + 1, e.url, e.id, e.sealed_secret,
                         d.sealed_body, e.ca_pem
                     FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
                     WHERE d.state = 'pending' AND d.next_attempt_ms <= $1
                         AND e.removed_ms IS NULL
                     ORDER BY d.next_attempt_ms, d.id LIMIT 16
                     FOR UPDATE OF d SKIP LOCKED",
                    &[&now],
                )
                .await?;
            for r in &rows {
                tx.execute(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_ms = $2
                     WHERE id = $1",
                    &[&r.get::<_, i64>(0), &(now + self.hooks.lease_ms)],
                )
                .await?;
            }
            tx.commit().await?;
            rows.iter()
                .map(|r| Claimed {
                    id: r.get(0),
                    key: r.get(1),
                    attempt: r.get(2),
                    url: r.get(3),
                    endpoint_id: r.get(4),
                    sealed_secret: r.get(5),
                    sealed_body: r.get(6),
                    ca_pem: r.get(7),
                })
                .collect()
        };
        let mut round = DeliveryRound::default();
        for d in claimed {
            let outcome = match (
                open_sealed(&self.secret, &secret_aad(d.endpoint_id), &d.sealed_secret),
                open_sealed(&self.secret, &body_aad(&d.key), &d.sealed_body),
            ) {
                (Ok(secret), Ok(body)) => {
                    let url = d.url.clone();
                    let key = d.key.clone();
                    let attempt = d.attempt;
                    let ca_pem = d.ca_pem.clone();
                    let timeout = Duration::from_millis(self.hooks.request_timeout_ms);
                    tokio::task::spawn_blocking(move || {
                        send(
                            &url,
                            ca_pem.as_deref(),
                            &secret,
                            &key,
                            attempt,
                            &body,
                            timeout,
                        )
                    })
                    .await
                    .unwrap_or_else(|e| Err(format!("sending task failed: {e}")))
                }
                _ => Err("the sealed secret or body does not open with the central key".into()),
            };
            let c = self.pool.get().await?;
            let done = now_ms();
            match outcome {
                Ok(status) if (200..300).contains(&status) => {
                    c.execute(
                        "UPDATE webhook_deliveries SET state = 'delivered', delivered_ms = $2,
                             last_status = $3, last_error = NULL WHERE id = $1",
                        &[&d.id, &done, &i32::from(status)],
                    )
                    .await?;
                    round.delivered += 1;
                    tracing::info!(
                        delivery = d.id,
                        attempt = d.attempt,
                        "central: webhook delivered"
                    );
                }
                other => {
                    let (status, error) = match other {
                        Ok(s) => (Some(i32::from(s)), format!("endpoint answered {s}")),
                        Err(e) => (None, e),
                    };
                    if d.attempt >= self.hooks.max_attempts {
                        c.execute(
                            "UPDATE webhook_deliveries SET state = 'dead', dead_ms = $2,
                                 last_status = $3, last_error = $4 WHERE id = $1",
                            &[&d.id, &done, &status, &error],
                        )
                        .await?;
                        round.dead += 1;
                        tracing::warn!(delivery = d.id, attempts = d.attempt, %error, "central: webhook dead-lettered");
                    } else {
                        let wait = self.hooks.backoff_ms(d.attempt, OsRng.next_u64());
                        c.execute(
                            "UPDATE webhook_deliveries SET next_attempt_ms = $2, last_status = $3,
                                 last_error = $4 WHERE id = $1",
                            &[&d.id, &(done + wait), &status, &error],
                        )
                        .await?;
                        round.retrying += 1;
                        tracing::warn!(delivery = d.id, attempt = d.attempt, wait_ms = wait, %error, "central: webhook attempt failed");
                    }
                }
            }
        }
        Ok(round)
    }
}

/// The worker [`crate::serve`] runs: webhook deliveries and registry checks every
/// [`HookSettings::poll_ms`], until `stop` turns true.
pub async fn run_worker(central: Arc<Central>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let poll = Duration::from_millis(central.hooks.poll_ms.max(10));
    loop {
        if let Err(e) = central.run_registry_checks().await {
            tracing::warn!(error = %e, "central: registry checks failed");
        }
        loop {
            match central.deliver_due().await {
                // A full batch: there may be more due at once.
                Ok(r) if r.delivered + r.retrying + r.dead >= 16 => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "central: webhook round failed");
                    break;
                }
            }
        }
        tokio::select! {
            _ = stop.changed() => break,
            _ = tokio::time::sleep(poll) => {}
        }
        if *stop.borrow() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_refuse_what_was_changed_or_is_stale() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let body = br#"{"decision":"approve"}"#;
        let sig = sign(secret, 1_700_000_000, body);
        assert!(sig.starts_with("v1=") && sig.len() == 67, "{sig}");
        let ok = |ts: &str, b: &[u8], s: &str, now: i64| {
            verify_signature(secret, Some(ts), b, Some(s), now, 300)
        };
        assert_eq!(ok("1700000000", body, &sig, 1_700_000_100), Ok(()));
        // The body changed (decision flipped), the timestamp moved, another secret.
        assert_eq!(
            ok(
                "1700000000",
                br#"{"decision":"reject"}"#,
                &sig,
                1_700_000_100
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            ok("1700000001", body, &sig, 1_700_000_100),
            Err(SignatureError::Mismatch)
        );
        let other = sign(b"another-secret-another-secret-xx", 1_700_000_000, body);
        assert_eq!(
            ok("1700000000", body, &other, 1_700_000_100),
            Err(SignatureError::Mismatch)
        );
        // Replayed later than the receiver's tolerance.
        assert_eq!(
            ok("1700000000", body, &sig, 1_700_000_301),
            Err(SignatureError::Stale(301))
        );
        assert_eq!(
            ok("x", body, &sig, 1_700_000_000),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(
            ok("1700000000", body, "v1=abcd", 1_700_000_000),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_signature(secret, Some("1700000000"), body, None, 1_700_000_000, 300),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered_within_half() {
        let s = HookSettings {
            backoff_base_ms: 1000,
            backoff_max_ms: 8000,
            ..HookSettings::default()
        };
        assert_eq!(s.backoff_ms(1, 0), 500);
        assert_eq!(s.backoff_ms(1, 500), 1000);
        assert_eq!(s.backoff_ms(3, 0), 2000);
        assert_eq!(s.backoff_ms(3, 2000), 4000);
        assert_eq!(s.backoff_ms(9, 4000), 8000);
        assert_eq!(s.backoff_ms(60, 0), 4000);
        for r in 0..2000u64 {
            let d = s.backoff_ms(2, r.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            assert!((1000..=2000).contains(&d), "{d}");
        }
    }

    #[test]
    fn urls_split_into_server_and_path_or_say_why_not() {
        let (s, p) = parse_http_url("http://127.0.0.1:9000/hooks/kyc?x=1").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, p.as_str()),
            ("127.0.0.1", 9000, "/hooks/kyc?x=1")
        );
        assert_eq!(parse_http_url("http://bank").unwrap().1, "/");
        assert_eq!(parse_http_url("http://bank:81?a=b").unwrap().1, "/?a=b");
        for bad in [
            "https://bank/hook",
            "ftp://bank",
            "http://user:pw@bank/x",
            "http://bank/a b",
            "http://:80/x",
            "bank/x",
        ] {
            assert!(parse_http_url(bad).is_err(), "{bad}");
        }
        // The registry client speaks plain http; webhooks take https too.
        let e = parse_http_url("https://bank/hook").unwrap_err().to_string();
        assert!(e.contains("https is not supported"), "{e}");
        let at = |u: &str| {
            let e = parse_endpoint_url(u).unwrap();
            (e.tls, e.server.host, e.server.port, e.path)
        };
        assert_eq!(
            at("https://core.bank.example/kyc"),
            (true, "core.bank.example".into(), 443, "/kyc".into())
        );
        assert_eq!(
            at("https://core.bank.example:8443"),
            (true, "core.bank.example".into(), 8443, "/".into())
        );
        assert_eq!(
            at("https://[::1]:9/h"),
            (true, "::1".into(), 9, "/h".into())
        );
        assert_eq!(at("http://bank/h"), (false, "bank".into(), 80, "/h".into()));
        for bad in [
            "https://user:pw@bank/x",
            "https://bank:0/x",
            "https://",
            "ftp://bank",
        ] {
            assert!(parse_endpoint_url(bad).is_err(), "{bad}");
        }
    }
}
