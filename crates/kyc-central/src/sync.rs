//! The central side of kiosk enrolment and sync: one-time enrolment tokens, request
//! authentication (signature, clock, single-use nonce), and the push, checked against the
//! chain already received (see [`kyc_core::fleet::verify`]).

use std::sync::Arc;

use kyc_core::audit::{VerificationCanon, now_ms};
use kyc_core::fleet::crypto::{SignedParts, record_aad, verify_request};
use kyc_core::fleet::verify::hash_from_hex;
use kyc_core::fleet::wire::*;
use kyc_core::fleet::{CentralSecret, ChainBreak, check_link, check_record, open_sealed};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;

use crate::server::ApiError;
use crate::{Central, CentralError, CentralUser};

/// Request nonces are pruned at most this often.
pub const NONCE_PRUNE_EVERY_MS: i64 = 60 * 1000;

/// How long an enrolment token stays valid.
pub const TOKEN_TTL_MS: i64 = 24 * 3600 * 1000;

const BLOB_KINDS: &[&str] = &[
    "document_front",
    "document_back",
    "portrait",
    "selfie",
    "template",
];

/// An alert raised on a kiosk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// Row id.
    pub id: i64,
    /// Kiosk.
    pub kiosk_id: String,
    /// `gap`, `bad_link`, `fork`, `rollback`, `record_mismatch`, `malformed`.
    pub kind: String,
    /// What was found.
    pub detail: String,
    /// When, ms since epoch.
    pub raised_ms: i64,
    /// When an administrator cleared it.
    pub cleared_ms: Option<i64>,
    /// Who cleared it.
    pub cleared_by: Option<String>,
}

/// One kiosk's sync state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KioskStatus {
    /// Kiosk.
    pub kiosk_id: String,
    /// Highest sequence stored.
    pub ack_seq: i64,
    /// Highest head it reported.
    pub reported_seq: i64,
    /// Records stored.
    pub records: i64,
    /// Whether quarantined.
    pub quarantined: bool,
    /// Why.
    pub quarantine_reason: Option<String>,
}

fn valid_kiosk_id(k: &str) -> Result<(), CentralError> {
    if k.is_empty()
        || k.len() > 64
        || !k
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(CentralError::InvalidInput(format!(
            "kiosk id {k:?}: 1 to 64 of a-z, A-Z, 0-9, '.', '_', '-'"
        )));
    }
    Ok(())
}

/// [`check_record`], with the row's digest taken over the exact bytes the kiosk sealed: the
/// kiosk chained the SHA-256 of those bytes, and a row parsed and serialised again can differ
/// from them in the last digit of a float (serde_json's default float parsing is not exact).
fn check_row(
    ev: &WireEvent,
    row: &VerificationCanon,
    plain_sha256: &str,
) -> Result<(), ChainBreak> {
    match check_record(ev, row) {
        Err(ChainBreak::RecordMismatch { why, .. }) if why.starts_with("row differs") => {
            let chained = serde_json::from_str::<serde_json::Value>(&ev.payload)
                .ok()
                .and_then(|p| {
                    p.get("row_sha256")
                        .and_then(|v| v.as_str())
                        .map(str::to_string)
                });
            if chained.as_deref() == Some(plain_sha256) {
                Ok(())
            } else {
                Err(ChainBreak::RecordMismatch { id: row.id, why })
            }
        }
        other => other,
    }
}

/// Events of a push, column by column, for one multi-row INSERT.
#[derive(Default)]
struct NewEvents<'a> {
    seq: Vec<i64>,
    ts_ms: Vec<i64>,
    kind: Vec<&'a str>,
    actor: Vec<&'a str>,
    verification_id: Vec<Option<i64>>,
    payload: Vec<&'a str>,
    prev_hash: Vec<Vec<u8>>,
    hash: Vec<Vec<u8>>,
}

impl<'a> NewEvents<'a> {
    fn push(&mut self, ev: &'a WireEvent, prev: Vec<u8>, hash: Vec<u8>) {
        self.seq.push(ev.seq);
        self.ts_ms.push(ev.ts_ms);
        self.kind.push(&ev.kind);
        self.actor.push(&ev.actor);
        self.verification_id.push(ev.verification_id);
        self.payload.push(&ev.payload);
        self.prev_hash.push(prev);
        self.hash.push(hash);
    }
}

/// Records of a push with the queue's clear columns, taken from the rows opened at arrival.
#[derive(Default)]
struct NewRecords<'a> {
    id: Vec<i64>,
    event_seq: Vec<i64>,
    created_ms: Vec<i64>,
    decision: Vec<String>,
    current_decision: Vec<&'a str>,
    review_status: Vec<&'a str>,
    sealed_row: Vec<&'a [u8]>,
    operator: Vec<String>,
    reason: Vec<String>,
    confidence: Vec<Option<f64>>,
}

impl<'a> NewRecords<'a> {
    fn push(&mut self, event_seq: i64, rec: &'a WireRecord, row: &VerificationCanon) {
        self.id.push(rec.id);
        self.event_seq.push(event_seq);
        self.created_ms.push(row.created_ms);
        self.decision.push(row.decision.clone());
        self.current_decision.push(&rec.current_decision);
        self.review_status.push(&rec.review_status);
        self.sealed_row.push(&rec.sealed_row);
        self.operator.push(row.operator.clone());
        self.reason.push(row.decision_reason.clone());
        self.confidence.push(row.overall_confidence);
    }
}

/// Sealed blobs of a push.
#[derive(Default)]
struct NewBlobs<'a> {
    record_id: Vec<i64>,
    kind: Vec<&'a str>,
    sealed: Vec<&'a [u8]>,
}

impl<'a> NewBlobs<'a> {
    fn push(&mut self, record_id: i64, kind: &'a str, sealed: &'a [u8]) {
        self.record_id.push(record_id);
        self.kind.push(kind);
        self.sealed.push(sealed);
    }
}

/// What an accepted event leads to once the push's rows are written.
enum After<'a> {
    Record {
        row: Box<VerificationCanon>,
        current_decision: &'a str,
        template: Option<zeroize::Zeroizing<Vec<u8>>>,
    },
    Flag(&'a WireEvent),
    Supervisor(&'a WireEvent, i64),
}

enum PushFail {
    Break(ChainBreak),
    Api(ApiError),
}

impl From<ChainBreak> for PushFail {
    fn from(b: ChainBreak) -> Self {
        PushFail::Break(b)
    }
}

impl From<tokio_postgres::Error> for PushFail {
    fn from(e: tokio_postgres::Error) -> Self {
        PushFail::Api(ApiError::from(CentralError::Db(e)))
    }
}

/// A new event of a push whose link checked out: its place in the push and its hashes.
struct Fresh {
    item: usize,
    prev: [u8; 32],
    hash: [u8; 32],
}

/// A record of a push opened and checked: its row, and its template in clear for the
/// duplicate check (images are dropped as soon as their seal opened: they rest sealed).
struct Opened {
    row: Box<VerificationCanon>,
    template: Option<zeroize::Zeroizing<Vec<u8>>>,
}

/// How a push is cut into chunks: a chunk closes at `items` new events or once its sealed
/// parts reach `bytes`, whichever comes first (always at least one event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushChunk {
    /// New events a chunk holds at most.
    pub items: usize,
    /// Sealed bytes (row and blobs) after which a chunk closes.
    pub bytes: usize,
}

impl Default for PushChunk {
    /// 64 events or 4 MiB: a push of 487 KiB records (up to 32 MiB) is 8 or 9 chunks, so the
    /// first chunk's opening, the only one nothing overlaps, is a small part of it.
    fn default() -> Self {
        PushChunk {
            items: 64,
            bytes: 4 << 20,
        }
    }
}

impl PushChunk {
    /// `fresh` cut into consecutive ranges.
    fn split(&self, req: &PushRequest, fresh: &[Fresh]) -> Vec<std::ops::Range<usize>> {
        let mut out = Vec::new();
        let (mut start, mut bytes) = (0usize, 0usize);
        for (i, f) in fresh.iter().enumerate() {
            bytes += req.items[f.item].record.as_ref().map_or(0, |r| {
                r.sealed_row.len() + r.blobs.iter().map(|b| b.sealed.len()).sum::<usize>()
            });
            if i + 1 - start >= self.items.max(1) || bytes >= self.bytes {
                out.push(start..i + 1);
                start = i + 1;
                bytes = 0;
            }
        }
        if start < fresh.len() {
            out.push(start..fresh.len());
        }
        out
    }
}

/// The statements a push's chunks are written with, prepared once a push.
struct ChunkWriter {
    events: tokio_postgres::Statement,
    records: tokio_postgres::Statement,
    blobs: tokio_postgres::Statement,
    upd_state: tokio_postgres::Statement,
}

impl ChunkWriter {
    async fn prepare(tx: &tokio_postgres::Transaction<'_>) -> Result<Self, tokio_postgres::Error> {
        Ok(ChunkWriter {
            events: tx
                .prepare(
                    "INSERT INTO kiosk_events (kiosk_id, seq, ts_ms, kind, actor, verification_id,
                         payload, prev_hash, hash, received_ms)
                     SELECT $1::text, *, $10::bigint FROM unnest($2::bigint[], $3::bigint[],
                         $4::text[], $5::text[], $6::bigint[], $7::text[], $8::bytea[],
                         $9::bytea[])",
                )
                .await?,
            records: tx
                .prepare(
                    "INSERT INTO records (kiosk_id, record_id, event_seq, created_ms, decision,
                         current_decision, review_status, sealed_row, operator, reason,
                         confidence, received_ms, branch, case_indexed)
                     SELECT $1::text, u.*, $12::bigint,
                         (SELECT branch FROM kiosks WHERE kiosk_id = $1::text), TRUE
                     FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[],
                         $6::text[], $7::text[], $8::bytea[], $9::text[], $10::text[],
                         $11::float8[]) AS u",
                )
                .await?,
            blobs: tx
                .prepare(
                    "COPY record_blobs (kiosk_id, record_id, kind, sealed) FROM STDIN
                     (FORMAT binary)",
                )
                .await?,
            upd_state: tx
                .prepare(
                    "UPDATE records SET current_decision = coalesce($3, current_decision),
                         review_status = coalesce($4, review_status)
                     WHERE kiosk_id = $1 AND record_id = $2",
                )
                .await?,
        })
    }
}

/// Open the records of a chunk of a push (the items at `items`) on a blocking thread: for
/// each, `None` when its event carries no record, else the record opened and checked.
fn open_chunk(
    secret: Arc<CentralSecret>,
    kiosk_id: String,
    req: Arc<PushRequest>,
    items: Vec<usize>,
) -> tokio::task::JoinHandle<Result<Vec<Option<Opened>>, ChainBreak>> {
    tokio::task::spawn_blocking(move || {
        items
            .iter()
            .filter_map(|&i| req.items.get(i))
            .map(|it| {
                it.record
                    .as_ref()
                    .map(|rec| open_record(&secret, &kiosk_id, &it.event, rec))
                    .transpose()
            })
            .collect()
    })
}

/// Open a pushed record with the central key: its row (bound to this kiosk and record, the
/// SHA-256 its creation event chained) and each image and the template under its own (kiosk,
/// record, kind) binding, each kind known and at most once. This proves every part is sealed
/// to the centre and belongs where it says.
fn open_record(
    secret: &CentralSecret,
    kiosk_id: &str,
    ev: &WireEvent,
    rec: &WireRecord,
) -> Result<Opened, ChainBreak> {
    let mismatch = |why: String| ChainBreak::RecordMismatch { id: rec.id, why };
    let plain = open_sealed(
        secret,
        &record_aad(kiosk_id, rec.id, "row"),
        &rec.sealed_row,
    )
    .map_err(|_| mismatch("sealed row does not open with the central key".into()))?;
    let row: VerificationCanon =
        serde_json::from_slice(&plain).map_err(|_| mismatch("row is not a record".into()))?;
    if row.id != rec.id {
        return Err(mismatch("row id differs from the record id".into()));
    }
    check_row(ev, &row, &hex::encode(Sha256::digest(&plain)))?;
    let mut kinds = std::collections::HashSet::new();
    let mut template = None;
    for b in &rec.blobs {
        if !BLOB_KINDS.contains(&b.kind.as_str()) || !kinds.insert(b.kind.as_str()) {
            return Err(mismatch(format!(
                "{} is an unknown or repeated kind",
                b.kind
            )));
        }
        // Authenticate (sealed to us, bound to this kiosk, record and kind); the plain bytes
        // are dropped at once, except the template's, kept for the duplicate check.
        let plain = open_sealed(secret, &record_aad(kiosk_id, rec.id, &b.kind), &b.sealed)
            .map_err(|_| mismatch(format!("{} does not open with the central key", b.kind)))?;
        if b.kind == "template" {
            template = Some(plain);
        }
    }
    Ok(Opened {
        row: Box::new(row),
        template,
    })
}

impl Central {
    /// An administrator makes a one-time enrolment token for `kiosk_id` (valid 24 h).
    ///
    /// # Errors
    /// `Forbidden`, `InvalidInput`, `Conflict` when the kiosk is enrolled already.
    pub async fn create_enrol_token(
        &self,
        by: &CentralUser,
        kiosk_id: &str,
    ) -> Result<String, CentralError> {
        by.require_admin()?;
        valid_kiosk_id(kiosk_id)?;
        self.issue_enrolment_token(
            crate::enrol::KIOSK_TOKENS,
            by,
            kiosk_id,
            "SELECT 1 FROM kiosks WHERE kiosk_id = $1 AND public_key IS NOT NULL",
        )
        .await
    }

    /// A kiosk presents its token and public key; answers the central public key.
    ///
    /// # Errors
    /// 401 for an unknown, used, expired or mismatched token; 400 for a bad key; 409 when
    /// enrolled already.
    pub async fn enroll(&self, req: &EnrollRequest) -> Result<EnrollResponse, ApiError> {
        valid_kiosk_id(&req.kiosk_id)?;
        let pk = hex::decode(&req.public_key)
            .ok()
            .filter(|v| v.len() == 32)
            .ok_or_else(|| ApiError::bad_request("bad_key", "publicKey is not 32 bytes of hex"))?;
        kyc_core::fleet::crypto::parse_public_key(&pk)
            .map_err(|e| ApiError::bad_request("bad_key", &e.to_string()))?;
        self.enrol_with_token(
            crate::enrol::KIOSK_TOKENS,
            &req.token,
            &req.kiosk_id,
            "INSERT INTO kiosks (kiosk_id, public_key, enrolled_ms) VALUES ($1, $2, $3)
             ON CONFLICT (kiosk_id) DO UPDATE SET public_key = EXCLUDED.public_key,
                 enrolled_ms = EXCLUDED.enrolled_ms
             WHERE kiosks.public_key IS NULL",
            &[&req.kiosk_id, &pk, &now_ms()],
        )
        .await?;
        tracing::info!(kiosk_id = %req.kiosk_id, "central: kiosk enrolled");
        Ok(EnrollResponse {
            kiosk_id: req.kiosk_id.clone(),
            central_public_key: hex::encode(self.public_key()),
        })
    }

    /// Authenticate a signed request: the four headers present, the timestamp within
    /// [`MAX_CLOCK_SKEW_MS`], the signature valid for the kiosk's enrolled key, and the nonce
    /// never seen before for that kiosk. Returns the kiosk id.
    ///
    /// # Errors
    /// 401 `unsigned`, `stale`, `unknown_kiosk`, `bad_signature`, `replayed`.
    pub async fn authenticate(
        &self,
        method: &str,
        path: &str,
        header: impl Fn(&str) -> Option<String>,
        body: &[u8],
    ) -> Result<String, ApiError> {
        let need = |h: &str| {
            header(h).ok_or_else(|| {
                ApiError::unauthorized(
                    "unsigned",
                    &format!("missing header {h}: requests must be signed"),
                )
            })
        };
        let kiosk = need(headers::KIOSK)?;
        let ts: i64 = need(headers::TIMESTAMP)?
            .parse()
            .map_err(|_| ApiError::unauthorized("unsigned", "timestamp is not a number"))?;
        let nonce = need(headers::NONCE)?;
        let sig = hex::decode(need(headers::SIGNATURE)?)
            .map_err(|_| ApiError::unauthorized("bad_signature", "signature is not hex"))?;
        if nonce.len() < 16 || nonce.len() > 64 || !nonce.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(ApiError::unauthorized(
                "unsigned",
                "nonce must be 16 to 64 hex digits",
            ));
        }
        let now = now_ms();
        if (now - ts).abs() > MAX_CLOCK_SKEW_MS {
            return Err(ApiError::unauthorized(
                "stale",
                "request timestamp is more than 5 minutes from the server's clock",
            ));
        }
        let c = self.pool.get().await?;
        let pk: Option<Vec<u8>> = c
            .query_opt(
                "SELECT public_key FROM kiosks WHERE kiosk_id = $1",
                &[&kiosk],
            )
            .await
            .map_err(CentralError::from)?
            .and_then(|r| r.get(0));
        let Some(pk) = pk else {
            return Err(ApiError::unauthorized(
                "unknown_kiosk",
                "kiosk is not enrolled",
            ));
        };
        let parts = SignedParts {
            method,
            path,
            kiosk_id: &kiosk,
            timestamp_ms: ts,
            nonce: &nonce,
            body,
        };
        verify_request(&pk, &parts, &sig).map_err(|_| {
            ApiError::unauthorized("bad_signature", "request signature does not verify")
        })?;
        let fresh = c
            .execute(
                "INSERT INTO request_nonces (kiosk_id, nonce, seen_ms) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&kiosk, &nonce, &now],
            )
            .await
            .map_err(CentralError::from)?;
        if fresh == 0 {
            tracing::warn!(kiosk_id = %kiosk, "central: replayed request refused");
            return Err(ApiError::unauthorized(
                "replayed",
                "this request was seen before",
            ));
        }
        Ok(kiosk)
    }

    /// Forget nonces older than twice the clock window (they would be refused as stale).
    ///
    /// # Errors
    /// Database errors.
    pub async fn prune_nonces(&self) -> Result<u64, CentralError> {
        let c = self.pool.get().await?;
        Ok(c.execute(
            "DELETE FROM request_nonces WHERE seen_ms < $1",
            &[&(now_ms() - 2 * MAX_CLOCK_SKEW_MS)],
        )
        .await?)
    }

    /// Prune request nonces at most once a minute (a head request is the kiosks' most frequent
    /// call; deleting on each one cost a write per request). Returns the rows removed.
    ///
    /// # Errors
    /// Database errors.
    pub async fn prune_nonces_if_due(&self) -> Result<u64, CentralError> {
        use std::sync::atomic::Ordering;
        let now = now_ms();
        let last = self.nonces_pruned_ms.load(Ordering::Relaxed);
        if now - last < NONCE_PRUNE_EVERY_MS
            || self
                .nonces_pruned_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return Ok(0);
        }
        self.prune_nonces().await
    }

    /// What is stored for `kiosk_id`.
    ///
    /// # Errors
    /// 404 for an unknown kiosk.
    pub async fn head(&self, kiosk_id: &str) -> Result<HeadResponse, ApiError> {
        let c = self.pool.get().await?;
        let row = c
            .query_opt(
                "SELECT ack_seq, ack_hash, quarantined, quarantine_reason FROM kiosks
                 WHERE kiosk_id = $1",
                &[&kiosk_id],
            )
            .await
            .map_err(CentralError::from)?
            .ok_or_else(|| ApiError::from(CentralError::NotFound(format!("kiosk {kiosk_id}"))))?;
        let hash: Vec<u8> = row.get(1);
        Ok(HeadResponse {
            kiosk_id: kiosk_id.to_string(),
            ack_seq: row.get(0),
            ack_hash: hex::encode(hash),
            quarantined: row.get(2),
            reason: row.get(3),
            duplicate_flags: self.duplicate_flags(kiosk_id, true).await?,
        })
    }

    /// Store a push from `kiosk_id` (already authenticated), all or nothing. Events already
    /// held with the same hash are skipped; a gap, a bad link, a fork, a rollback or a record
    /// that does not match its event quarantines the kiosk, raises an alert and refuses the
    /// push (409 `quarantined`).
    ///
    /// # Errors
    /// 409 `quarantined`; 400 for a malformed push; database errors.
    pub async fn push(
        &self,
        kiosk_id: &str,
        req: Arc<PushRequest>,
    ) -> Result<PushResponse, ApiError> {
        if req.kiosk_id != kiosk_id {
            return Err(ApiError::bad_request(
                "kiosk_mismatch",
                "the push names another kiosk than the one that signed it",
            ));
        }
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await.map_err(CentralError::from)?;
        let row = tx
            .query_one(
                "SELECT ack_seq, ack_hash, reported_seq, quarantined, quarantine_reason
                 FROM kiosks WHERE kiosk_id = $1 FOR UPDATE",
                &[&kiosk_id],
            )
            .await
            .map_err(CentralError::from)?;
        let (ack_seq, ack_hash, reported, quarantined, reason): (
            i64,
            Vec<u8>,
            i64,
            bool,
            Option<String>,
        ) = (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        if quarantined {
            return Err(ApiError::quarantined(&reason.unwrap_or_default()));
        }
        let ack_hash: [u8; 32] = ack_hash.try_into().unwrap_or([0u8; 32]);
        let applied = self
            .apply_push(&tx, kiosk_id, ack_seq, ack_hash, reported, &req)
            .await;
        let committed = match applied {
            Ok(resp) => tx.commit().await.map(|()| resp).map_err(PushFail::from),
            Err(e) => {
                drop(tx);
                Err(e)
            }
        };
        // The duplicate index keeps this push's templates only once they are stored.
        self.dedup.settle(kiosk_id, committed.is_ok());
        match committed {
            Ok(resp) => Ok(resp),
            Err(PushFail::Api(e)) => Err(e),
            Err(PushFail::Break(b)) => {
                drop(c);
                self.quarantine(kiosk_id, &b).await?;
                crate::readmit::keep_evidence(self, kiosk_id, &b, &req).await;
                Err(ApiError::quarantined(&b.to_string()))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn apply_push(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        kiosk_id: &str,
        ack_seq: i64,
        ack_hash: [u8; 32],
        reported: i64,
        req: &Arc<PushRequest>,
    ) -> Result<PushResponse, PushFail> {
        let head_hash = hash_from_hex(req.head.seq, &req.head.hash)?;
        let newest_known = ack_seq.max(reported);
        if req.head.seq < newest_known {
            return Err(ChainBreak::Rollback {
                reported: req.head.seq,
                acknowledged: newest_known,
            }
            .into());
        }
        if req.head.seq == ack_seq && ack_seq > 0 && head_hash != ack_hash {
            return Err(ChainBreak::Fork { seq: ack_seq }.into());
        }
        let known = tx
            .prepare("SELECT hash FROM kiosk_events WHERE kiosk_id = $1 AND seq = $2")
            .await?;
        let now = now_ms();
        let (mut cur_seq, mut cur_hash) = (ack_seq, ack_hash);
        let mut duplicates = 0u64;
        // Pass 1: every new event's link, in chain order; no record is opened and nothing is
        // written yet. The first break is kept, not returned: the records before it are still
        // opened below, since a record that does not open before the break is the fault the
        // push is refused for (as when every event was checked and opened in one pass).
        let mut fresh: Vec<Fresh> = Vec::new();
        let broken: Option<ChainBreak> = 'links: {
            for (item, it) in req.items.iter().enumerate() {
                let ev = &it.event;
                if ev.seq <= cur_seq {
                    let stored: Option<Vec<u8>> = tx
                        .query_opt(&known, &[&kiosk_id, &ev.seq])
                        .await?
                        .map(|r| r.get(0));
                    match hash_from_hex(ev.seq, &ev.hash) {
                        Ok(theirs) if stored.as_deref() == Some(theirs.as_slice()) => {
                            duplicates += 1;
                            continue;
                        }
                        Ok(_) => break 'links Some(ChainBreak::Fork { seq: ev.seq }),
                        Err(b) => break 'links Some(b),
                    }
                }
                let linked = check_link(cur_seq, &cur_hash, ev).and_then(|()| {
                    Ok((
                        hash_from_hex(ev.seq, &ev.prev_hash)?,
                        hash_from_hex(ev.seq, &ev.hash)?,
                    ))
                });
                match linked {
                    Ok((prev, hash)) => {
                        fresh.push(Fresh { item, prev, hash });
                        cur_seq = ev.seq;
                        cur_hash = hash;
                    }
                    Err(b) => break 'links Some(b),
                }
            }
            None
        };
        // Pass 2, chunk by chunk: the sealed parts of the next chunk are opened on a blocking
        // thread while this one is written (events, records, blobs) and what follows from its
        // events is done, in chain order. One transaction throughout: a part that does not
        // open in any chunk refuses the whole push.
        let chunks = self.push_chunk.split(req, &fresh);
        let spawn = |range: &std::ops::Range<usize>| {
            let items: Vec<usize> = fresh[range.clone()].iter().map(|f| f.item).collect();
            open_chunk(
                Arc::clone(&self.secret),
                kiosk_id.to_string(),
                Arc::clone(req),
                items,
            )
        };
        let write = if broken.is_none() {
            Some(ChunkWriter::prepare(tx).await?)
        } else {
            None
        };
        let mut next = chunks.first().map(spawn);
        for (k, range) in chunks.iter().enumerate() {
            let Some(job) = next.take() else { break };
            let opened = job.await.map_err(|e| {
                PushFail::Api(ApiError::from(CentralError::Setup(format!(
                    "opening the push's sealed parts stopped: {e}"
                ))))
            })??;
            next = chunks.get(k + 1).map(spawn);
            if let Some(w) = &write {
                self.write_chunk(w, tx, kiosk_id, req, &fresh[range.clone()], opened, now)
                    .await?;
            }
        }
        if let Some(b) = broken {
            return Err(b.into());
        }
        if req.head.seq < cur_seq {
            return Err(ChainBreak::Rollback {
                reported: req.head.seq,
                acknowledged: cur_seq,
            }
            .into());
        }
        if req.head.seq == cur_seq && cur_seq > 0 && head_hash != cur_hash {
            return Err(ChainBreak::Fork { seq: cur_seq }.into());
        }
        tx.execute(
            "UPDATE kiosks SET ack_seq = $2, ack_hash = $3, reported_seq = GREATEST(reported_seq, $4),
                 last_sync_ms = $5 WHERE kiosk_id = $1",
            &[&kiosk_id, &cur_seq, &cur_hash.as_slice(), &req.head.seq, &now],
        )
        .await?;
        let accepted = fresh.len() as u64;
        if accepted > 0 {
            tracing::info!(
                kiosk_id,
                accepted,
                duplicates,
                ack_seq = cur_seq,
                chunks = chunks.len(),
                "central: push stored"
            );
        }
        Ok(PushResponse {
            ack_seq: cur_seq,
            ack_hash: hex::encode(cur_hash),
            accepted,
            duplicates,
        })
    }

    /// Write one chunk of a push's new events: one multi-row INSERT for its events and one for
    /// its records (the queue's clear columns filled from the rows just opened: the queue
    /// never opens them again), its sealed blobs streamed with `COPY … (FORMAT binary)`; then
    /// what follows from each event, in chain order (duplicate search, hand-off and registry
    /// queues, flags chained back, supervisors' decisions).
    #[allow(clippy::too_many_arguments)]
    async fn write_chunk(
        &self,
        w: &ChunkWriter,
        tx: &tokio_postgres::Transaction<'_>,
        kiosk_id: &str,
        req: &PushRequest,
        fresh: &[Fresh],
        opened: Vec<Option<Opened>>,
        now: i64,
    ) -> Result<(), PushFail> {
        let mut events = NewEvents::default();
        let mut records = NewRecords::default();
        let mut blobs = NewBlobs::default();
        let mut after: Vec<After<'_>> = Vec::new();
        for (f, opened) in fresh.iter().zip(opened) {
            let item = &req.items[f.item];
            let ev = &item.event;
            events.push(ev, f.prev.to_vec(), f.hash.to_vec());
            if let (Some(rec), Some(o)) = (&item.record, opened) {
                for b in &rec.blobs {
                    blobs.push(rec.id, &b.kind, &b.sealed);
                }
                records.push(ev.seq, rec, &o.row);
                after.push(After::Record {
                    row: o.row,
                    current_decision: &rec.current_decision,
                    template: o.template,
                });
            } else if ev.kind == kyc_core::fleet::dedup::EV_CENTRAL_FLAG {
                after.push(After::Flag(ev));
            } else if ev.kind == "supervisor_action"
                && let Some(vid) = ev.verification_id
            {
                after.push(After::Supervisor(ev, vid));
            }
        }
        if !events.seq.is_empty() {
            tx.execute(
                &w.events,
                &[
                    &kiosk_id,
                    &events.seq,
                    &events.ts_ms,
                    &events.kind,
                    &events.actor,
                    &events.verification_id,
                    &events.payload,
                    &events.prev_hash,
                    &events.hash,
                    &now,
                ],
            )
            .await?;
        }
        if !records.id.is_empty() {
            tx.execute(
                &w.records,
                &[
                    &kiosk_id,
                    &records.id,
                    &records.event_seq,
                    &records.created_ms,
                    &records.decision,
                    &records.current_decision,
                    &records.review_status,
                    &records.sealed_row,
                    &records.operator,
                    &records.reason,
                    &records.confidence,
                    &now,
                ],
            )
            .await?;
        }
        if !blobs.record_id.is_empty() {
            let sink = tx.copy_in(&w.blobs).await?;
            let copy =
                BinaryCopyInWriter::new(sink, &[Type::TEXT, Type::INT8, Type::TEXT, Type::BYTEA]);
            let mut copy = std::pin::pin!(copy);
            for ((id, kind), sealed) in blobs.record_id.iter().zip(&blobs.kind).zip(&blobs.sealed) {
                copy.as_mut().write(&[&kiosk_id, id, kind, sealed]).await?;
            }
            copy.as_mut().finish().await?;
        }
        for a in after {
            match a {
                After::Record {
                    row,
                    current_decision,
                    template,
                } => {
                    if let Some(t) = &template {
                        self.dedup_on_push(tx, kiosk_id, &row, t).await?;
                    }
                    crate::hooks::record_arrived(
                        tx,
                        &self.secret,
                        kiosk_id,
                        &row,
                        current_decision,
                    )
                    .await
                    .map_err(|e| PushFail::Api(e.into()))?;
                }
                After::Flag(ev) => self.dedup_flag_chained(tx, kiosk_id, ev).await?,
                After::Supervisor(ev, vid) => {
                    let p: serde_json::Value =
                        serde_json::from_str(&ev.payload).unwrap_or(serde_json::Value::Null);
                    let cur = p.get("current_decision").and_then(|v| v.as_str());
                    let rev = p.get("review_status").and_then(|v| v.as_str());
                    tx.execute(&w.upd_state, &[&kiosk_id, &vid, &cur, &rev])
                        .await?;
                    if let Some(cur) = cur {
                        crate::hooks::supervisor_decided(
                            tx,
                            &self.secret,
                            kiosk_id,
                            vid,
                            cur,
                            ev.ts_ms,
                        )
                        .await
                        .map_err(|e| PushFail::Api(e.into()))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Quarantine a kiosk and raise an alert (in its own transaction, so it stands although
    /// the push is refused).
    ///
    /// # Errors
    /// Database errors.
    pub async fn quarantine(&self, kiosk_id: &str, why: &ChainBreak) -> Result<(), CentralError> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "UPDATE kiosks SET quarantined = TRUE, quarantine_reason = $2 WHERE kiosk_id = $1",
            &[&kiosk_id, &why.to_string()],
        )
        .await?;
        tx.execute(
            "INSERT INTO alerts (kiosk_id, kind, detail, raised_ms) VALUES ($1, $2, $3, $4)",
            &[&kiosk_id, &why.kind(), &why.to_string(), &now_ms()],
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(kiosk_id, kind = why.kind(), "central: kiosk quarantined");
        Ok(())
    }

    /// An administrator clears a kiosk's quarantine and its open alerts. The chain received so
    /// far stays as it is: the kiosk's next push must still link to it.
    ///
    /// # Errors
    /// `Forbidden`, `NotFound`, database errors.
    pub async fn clear_quarantine(
        &self,
        by: &CentralUser,
        kiosk_id: &str,
    ) -> Result<u64, CentralError> {
        by.require_admin()?;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let n = tx
            .execute(
                "UPDATE kiosks SET quarantined = FALSE, quarantine_reason = NULL WHERE kiosk_id = $1",
                &[&kiosk_id],
            )
            .await?;
        if n == 0 {
            return Err(CentralError::NotFound(format!("kiosk {kiosk_id}")));
        }
        let cleared = tx
            .execute(
                "UPDATE alerts SET cleared_ms = $2, cleared_by = $3
                 WHERE kiosk_id = $1 AND cleared_ms IS NULL",
                &[&kiosk_id, &now_ms(), &by.username],
            )
            .await?;
        tx.commit().await?;
        tracing::info!(kiosk_id, cleared, "central: quarantine cleared");
        Ok(cleared)
    }

    /// Alerts, newest first (`open_only`: not cleared).
    ///
    /// # Errors
    /// Database errors.
    pub async fn alerts(&self, open_only: bool) -> Result<Vec<Alert>, CentralError> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT id, kiosk_id, kind, detail, raised_ms, cleared_ms, cleared_by FROM alerts
                 WHERE NOT $1 OR cleared_ms IS NULL ORDER BY id DESC",
                &[&open_only],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Alert {
                id: r.get(0),
                kiosk_id: r.get(1),
                kind: r.get(2),
                detail: r.get(3),
                raised_ms: r.get(4),
                cleared_ms: r.get(5),
                cleared_by: r.get(6),
            })
            .collect())
    }

    /// Every kiosk's sync state.
    ///
    /// # Errors
    /// Database errors.
    pub async fn kiosks(&self) -> Result<Vec<KioskStatus>, CentralError> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT k.kiosk_id, k.ack_seq, k.reported_seq, k.quarantined, k.quarantine_reason,
                        (SELECT count(*) FROM records r WHERE r.kiosk_id = k.kiosk_id)
                 FROM kiosks k ORDER BY k.kiosk_id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| KioskStatus {
                kiosk_id: r.get(0),
                ack_seq: r.get(1),
                reported_seq: r.get(2),
                quarantined: r.get(3),
                quarantine_reason: r.get(4),
                records: r.get(5),
            })
            .collect())
    }

    /// Re-check every stored chain: each kiosk's events from 1 to its acknowledged sequence,
    /// without gaps, each linking to the previous, and each stored record matching its event.
    /// Returns the problems found (empty = intact).
    ///
    /// # Errors
    /// Database errors.
    pub async fn verify_stored(&self) -> Result<Vec<String>, CentralError> {
        let c = self.pool.get().await?;
        let mut problems = Vec::new();
        for k in c
            .query(
                "SELECT kiosk_id, ack_seq, ack_hash FROM kiosks ORDER BY kiosk_id",
                &[],
            )
            .await?
        {
            let (kiosk, ack, ack_hash): (String, i64, Vec<u8>) = (k.get(0), k.get(1), k.get(2));
            let events = c
                .query(
                    "SELECT seq, ts_ms, kind, actor, verification_id, payload, prev_hash, hash
                     FROM kiosk_events WHERE kiosk_id = $1 ORDER BY seq",
                    &[&kiosk],
                )
                .await?;
            let mut seq = 0i64;
            let mut hash = [0u8; 32];
            let mut by_seq = std::collections::HashMap::new();
            for e in &events {
                let prev: Vec<u8> = e.get(6);
                let h: Vec<u8> = e.get(7);
                let ev = WireEvent {
                    seq: e.get(0),
                    ts_ms: e.get(1),
                    kind: e.get(2),
                    actor: e.get(3),
                    verification_id: e.get(4),
                    payload: e.get(5),
                    prev_hash: hex::encode(&prev),
                    hash: hex::encode(&h),
                };
                if let Err(b) = check_link(seq, &hash, &ev) {
                    problems.push(format!("{kiosk}: {b}"));
                }
                seq = ev.seq;
                hash = h.as_slice().try_into().unwrap_or([0u8; 32]);
                by_seq.insert(ev.seq, ev);
            }
            if seq != ack || hash.as_slice() != ack_hash.as_slice() {
                problems.push(format!(
                    "{kiosk}: stored head {seq} differs from acknowledged {ack}"
                ));
            }
            for r in c
                .query(
                    "SELECT record_id, event_seq, sealed_row FROM records WHERE kiosk_id = $1",
                    &[&kiosk],
                )
                .await?
            {
                let (id, ev_seq, sealed): (i64, i64, Vec<u8>) = (r.get(0), r.get(1), r.get(2));
                let ok = open_sealed(&self.secret, &record_aad(&kiosk, id, "row"), &sealed)
                    .ok()
                    .and_then(|p| {
                        serde_json::from_slice::<VerificationCanon>(&p)
                            .ok()
                            .map(|row| (row, hex::encode(Sha256::digest(&p))))
                    })
                    .zip(by_seq.get(&ev_seq))
                    .is_some_and(|((row, d), ev)| check_row(ev, &row, &d).is_ok());
                if !ok {
                    problems.push(format!(
                        "{kiosk}: record {id} does not match event {ev_seq}"
                    ));
                }
            }
        }
        Ok(problems)
    }

    /// Records stored per kiosk: `(kiosk, record ids)`, for counting lost and duplicated.
    ///
    /// # Errors
    /// Database errors.
    pub async fn record_ids(&self) -> Result<Vec<(String, Vec<i64>)>, CentralError> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT kiosk_id, array_agg(record_id ORDER BY record_id) FROM records
                 GROUP BY kiosk_id ORDER BY kiosk_id",
                &[],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}
