//! Fleet-wide duplicate enrolment, kiosk side: the wire types of the central 1:N search, the
//! online check a kiosk runs right after recording a verification, and the duplicate flags the
//! central service raises on synced records, chained into the kiosk's own trail.
//!
//! Two paths reach the same central index:
//! - **online**: right after a verification is recorded, [`check_record`] sends the record's
//!   template sealed to the central key in a signed `POST /v1/dedup/search` and chains the
//!   answer as a `central_duplicate_check` event on the record. With the centre unreachable the
//!   event says "not checked centrally" and the verification stands: never an error.
//! - **on sync**: the centre checks every record it receives; a match with a record of another
//!   kiosk (or the same face under another claimed ID number) becomes a flag on the case. The
//!   centre offers undelivered flags in its head answer; [`deliver_flags`] chains each once as a
//!   `central_duplicate_flag` event, which travels back with the next push and tells the centre
//!   the flag arrived.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rusqlite::params;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::FleetError;
use super::client::{FleetConfig, signed_headers};
use super::crypto::seal_to;
use super::http;
use super::wire::ErrorBody;
use crate::audit::{AuditError, AuditStore, TEMPLATE_DIM};

/// The signed online search.
pub const SEARCH_PATH: &str = "/v1/dedup/search";
/// Chained on a record when the centre's flag for it arrives.
pub const EV_CENTRAL_FLAG: &str = "central_duplicate_flag";
/// Chained on a record after the online central search (checked or not).
pub const EV_CENTRAL_CHECK: &str = "central_duplicate_check";
/// Actor of the events above.
pub const CENTRAL_ACTOR: &str = "system:central";
/// How long the kiosk waits for the online search before going on without it.
pub const ONLINE_TIMEOUT: Duration = Duration::from_secs(3);

/// A record elsewhere in the fleet whose face matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateCandidate {
    /// Kiosk that recorded it.
    pub kiosk_id: String,
    /// Its record id in that kiosk's store.
    pub record_id: i64,
    /// Cosine similarity of the two templates (exact, float).
    pub score: f32,
    /// Whether both records claim the same (normalised) ID number.
    pub same_id_number: bool,
}

// Scores are finite by construction (unit vectors); equality is what tests compare.
impl Eq for DuplicateCandidate {}

/// A duplicate flag the centre raised on one of this kiosk's records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateFlag {
    /// The flag's central id (what the kiosk's chained event names).
    pub flag_id: i64,
    /// This kiosk's record it is about.
    pub record_id: i64,
    /// When it was raised, ms since epoch.
    pub raised_ms: i64,
    /// The matching records, best first.
    pub candidates: Vec<DuplicateCandidate>,
}

/// What travels sealed inside a search request.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchQuery {
    /// The template, 128 little-endian f32, base64.
    pub template: String,
    /// The normalised claimed ID number, if any.
    pub id_key: Option<String>,
    /// The asking kiosk's record (excluded from the answer once synced).
    pub record_id: Option<i64>,
}

/// `POST /v1/dedup/search`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    /// Kiosk id (must equal the signing kiosk).
    pub kiosk_id: String,
    /// [`SearchQuery`] JSON sealed to the central key with [`search_aad`], base64.
    pub sealed: String,
}

/// Answer to a search: candidate cases, no images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResponse {
    /// Templates searched.
    pub indexed: u64,
    /// Cosine threshold applied.
    pub threshold: f32,
    /// Matches at or above it, best first.
    pub candidates: Vec<DuplicateCandidate>,
}

/// The outcome of the online check, as chained and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum CentralCheck {
    /// The centre answered.
    Checked {
        /// Templates it searched.
        indexed: u64,
        /// Matches found (empty: none in the fleet).
        candidates: Vec<DuplicateCandidate>,
    },
    /// Not checked centrally (offline, not enrolled, no template, refused); why.
    NotChecked {
        /// Why.
        reason: String,
    },
}

/// Associated data of a sealed search query: bound to the kiosk, distinct from any record part.
pub fn search_aad(kiosk_id: &str) -> Vec<u8> {
    format!("kyc-fleet:{kiosk_id}:dedup-search").into_bytes()
}

/// Templates as stored: 128 little-endian f32.
///
/// # Errors
/// `InvalidInput` for another length.
pub fn template_from_bytes(b: &[u8]) -> Result<Vec<f32>, FleetError> {
    if b.len() != TEMPLATE_DIM * 4 {
        return Err(FleetError::InvalidInput(format!(
            "template has {} bytes, expected {}",
            b.len(),
            TEMPLATE_DIM * 4
        )));
    }
    Ok(b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Search the fleet for `template` (signed, sealed to the central key).
///
/// # Errors
/// `Unreachable` (offline, time-out), `Refused`, `Protocol`.
pub fn search(
    cfg: &FleetConfig,
    template: &[f32],
    id_key: Option<&str>,
    record_id: Option<i64>,
    timeout: Duration,
) -> Result<SearchResponse, FleetError> {
    if template.len() != TEMPLATE_DIM {
        return Err(FleetError::InvalidInput(format!(
            "template has {} values, expected {TEMPLATE_DIM}",
            template.len()
        )));
    }
    let bytes: Vec<u8> = template.iter().flat_map(|v| v.to_le_bytes()).collect();
    let query = Zeroizing::new(
        serde_json::to_vec(&SearchQuery {
            template: B64.encode(&bytes),
            id_key: id_key.map(str::to_string),
            record_id,
        })
        .map_err(|e| FleetError::Protocol(e.to_string()))?,
    );
    let sealed = seal_to(&cfg.central_public_key, &search_aad(&cfg.kiosk_id), &query)?;
    let body = serde_json::to_vec(&SearchRequest {
        kiosk_id: cfg.kiosk_id.clone(),
        sealed: B64.encode(sealed),
    })
    .map_err(|e| FleetError::Protocol(e.to_string()))?;
    let headers = signed_headers(cfg, "POST", SEARCH_PATH, &body);
    let resp = http::request(&cfg.server, "POST", SEARCH_PATH, &headers, &body, timeout)?;
    if resp.status != 200 {
        let b: Option<ErrorBody> = serde_json::from_slice(&resp.body).ok();
        return Err(match b {
            Some(b) if b.error == "quarantined" => FleetError::Quarantined(b.message),
            Some(b) => FleetError::Refused {
                status: resp.status,
                code: b.error,
                message: b.message,
            },
            None => FleetError::Refused {
                status: resp.status,
                code: "http".into(),
                message: String::from_utf8_lossy(&resp.body)
                    .chars()
                    .take(200)
                    .collect(),
            },
        });
    }
    serde_json::from_slice(&resp.body).map_err(|e| FleetError::Protocol(e.to_string()))
}

type TemplateAndKey = (Vec<f32>, Option<String>);

/// Record `record_id`'s template and ID key, decrypted (`None` when no template is stored).
fn record_template(
    store: &AuditStore,
    record_id: i64,
) -> Result<Option<TemplateAndKey>, FleetError> {
    let rec = store.outbox_record(record_id)?;
    let Some(t) = rec.template.as_ref() else {
        return Ok(None);
    };
    Ok(Some((template_from_bytes(t)?, rec.row.id_key.clone())))
}

/// The online check right after a verification was recorded: search the fleet for the
/// record's face and chain the outcome on the record (`central_duplicate_check`). Never fails
/// for the network: offline, refused or quarantined all come back as
/// [`CentralCheck::NotChecked`] with the reason, so the verification goes on without it.
///
/// # Errors
/// Only the local store's errors (reading the record, chaining the event).
pub fn check_record(
    store: &mut AuditStore,
    cfg: &FleetConfig,
    record_id: i64,
    timeout: Duration,
) -> Result<CentralCheck, AuditError> {
    let outcome = match record_template(store, record_id) {
        Err(FleetError::Audit(e)) => return Err(e),
        Err(e) => CentralCheck::NotChecked {
            reason: e.to_string(),
        },
        Ok(None) => CentralCheck::NotChecked {
            reason: "the record holds no face template".into(),
        },
        Ok(Some((t, key))) => match search(cfg, &t, key.as_deref(), Some(record_id), timeout) {
            Ok(ans) => CentralCheck::Checked {
                indexed: ans.indexed,
                candidates: ans.candidates,
            },
            Err(e) => {
                tracing::info!(code = e.code(), "fleet: central duplicate search not done");
                CentralCheck::NotChecked {
                    reason: format!("not checked centrally: {e}"),
                }
            }
        },
    };
    let payload = serde_json::to_value(&outcome)?;
    store.append(EV_CENTRAL_CHECK, CENTRAL_ACTOR, Some(record_id), payload)?;
    Ok(outcome)
}

/// Flag ids already chained in this store.
fn chained_flag_ids(store: &AuditStore) -> Result<std::collections::HashSet<i64>, AuditError> {
    let mut stmt = store
        .conn
        .prepare_cached("SELECT payload FROM events WHERE kind = ?1")?;
    let rows = stmt.query_map(params![EV_CENTRAL_FLAG], |r| r.get::<_, String>(0))?;
    let mut out = std::collections::HashSet::new();
    for p in rows {
        let v: serde_json::Value = serde_json::from_str(&p?)?;
        if let Some(id) = v.get("flagId").and_then(|x| x.as_i64()) {
            out.insert(id);
        }
    }
    Ok(out)
}

/// Chain each flag not chained yet as a `central_duplicate_flag` event on its record (on no
/// record when this store does not hold it). Returns how many were chained now.
///
/// # Errors
/// Store errors (a read-only store, one that disagrees with its anchor).
pub fn deliver_flags(store: &mut AuditStore, flags: &[DuplicateFlag]) -> Result<u64, AuditError> {
    if flags.is_empty() {
        return Ok(0);
    }
    let known = chained_flag_ids(store)?;
    let mut chained = 0;
    for f in flags.iter().filter(|f| !known.contains(&f.flag_id)) {
        let exists: i64 = store.conn.query_row(
            "SELECT count(*) FROM verifications WHERE id = ?1",
            [f.record_id],
            |r| r.get(0),
        )?;
        let payload = serde_json::to_value(f)?;
        let vid = (exists > 0).then_some(f.record_id);
        store.append(EV_CENTRAL_FLAG, CENTRAL_ACTOR, vid, payload)?;
        chained += 1;
    }
    if chained > 0 {
        tracing::warn!(
            chained,
            "fleet: duplicate flags from the central service chained"
        );
    }
    Ok(chained)
}

/// A record's central flags and online checks.
pub type CentralFindings = (Vec<DuplicateFlag>, Vec<CentralCheck>);

/// What the centre said about record `record_id`: its flags and online checks, oldest first,
/// as chained (for the result and review screens).
///
/// # Errors
/// Store errors.
pub fn central_findings(store: &AuditStore, record_id: i64) -> Result<CentralFindings, AuditError> {
    let mut stmt = store.conn.prepare_cached(
        "SELECT kind, payload FROM events WHERE verification_id = ?1 AND kind IN (?2, ?3)
         ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![record_id, EV_CENTRAL_FLAG, EV_CENTRAL_CHECK], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let (mut flags, mut checks) = (Vec::new(), Vec::new());
    for row in rows {
        let (kind, payload) = row?;
        if kind == EV_CENTRAL_FLAG {
            flags.push(serde_json::from_str(&payload)?);
        } else {
            checks.push(serde_json::from_str(&payload)?);
        }
    }
    Ok((flags, checks))
}
