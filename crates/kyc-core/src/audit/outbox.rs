//! Reading the chain as an outbox: the events after a sequence number and, for a recorded
//! verification, its row with the images and template decrypted, so a sync client can seal
//! them for another party. Read-only: nothing here writes to the store or changes its schema.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::chain::VerificationCanon;
use super::error::AuditError;
use super::store::{AuditStore, blob_aad, verification_canon};
use super::types::ImageKind;

/// Most events [`AuditStore::events_after`] returns in one call.
pub const MAX_EVENTS_PER_READ: usize = 10_000;

/// One chained event exactly as stored (the hash is the kiosk's keyed HMAC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainEvent {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When it was written, ms since epoch.
    pub ts_ms: i64,
    /// Event kind (`verification_recorded`, `login`, …).
    pub kind: String,
    /// Who caused it.
    pub actor: String,
    /// Verification record concerned, if any.
    pub verification_id: Option<i64>,
    /// JSON payload text, as hashed.
    pub payload: String,
    /// Hash of the previous event (32 zero bytes for the first).
    pub prev_hash: Vec<u8>,
    /// This event's hash.
    pub hash: Vec<u8>,
}

/// A recorded verification read back for sync: its canonical row, its state now and its
/// biometric data in clear (wiped from memory when dropped).
pub struct OutboxRecord {
    /// The chained columns.
    pub row: VerificationCanon,
    /// Decision now.
    pub current_decision: String,
    /// Review status now.
    pub review_status: String,
    /// Images still stored, decrypted.
    pub images: Vec<(ImageKind, Zeroizing<Vec<u8>>)>,
    /// The face template (little-endian f32 bytes), decrypted, if still stored.
    pub template: Option<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for OutboxRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print personal or biometric data.
        f.debug_struct("OutboxRecord")
            .field("id", &self.row.id)
            .field("images", &self.images.len())
            .field("template", &self.template.is_some())
            .finish()
    }
}

impl AuditStore {
    /// The newest event's sequence number and hash; `(0, 32 zero bytes)` for an empty chain.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn head(&self) -> Result<(i64, Vec<u8>), AuditError> {
        self.chain_head()
    }

    /// Up to `limit` events (capped at [`MAX_EVENTS_PER_READ`]) with `seq > after`, in order.
    ///
    /// # Errors
    /// SQLite errors; `Corrupt` for a row whose columns do not have their types.
    pub fn events_after(&self, after: i64, limit: usize) -> Result<Vec<ChainEvent>, AuditError> {
        if self.schema_missing {
            return Ok(Vec::new());
        }
        let limit = limit.min(MAX_EVENTS_PER_READ) as i64;
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, ts_ms, kind, actor, verification_id, payload, prev_hash, hash
             FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit], |r| {
            Ok(ChainEvent {
                seq: r.get(0)?,
                ts_ms: r.get(1)?,
                kind: r.get(2)?,
                actor: r.get(3)?,
                verification_id: r.get(4)?,
                payload: r.get(5)?,
                prev_hash: r.get(6)?,
                hash: r.get(7)?,
            })
        })?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r.map_err(|e| AuditError::Corrupt(format!("event row unreadable: {e}")))?);
        }
        Ok(out)
    }

    /// Verification `id` for sync: row, current state, images and template decrypted with the
    /// kiosk's key. Used by the kiosk's own sync client (no user session: the kiosk process
    /// holds the key file already).
    ///
    /// # Errors
    /// `NotFound`, key errors, `BlobAuthFailed` for a blob that does not decrypt.
    pub fn outbox_record(&self, id: i64) -> Result<OutboxRecord, AuditError> {
        let row = verification_canon(&self.conn, id).map_err(|e| match e {
            AuditError::Sqlite(rusqlite::Error::QueryReturnedNoRows) => {
                AuditError::NotFound(format!("verification {id}"))
            }
            other => other,
        })?;
        let (current_decision, review_status): (String, String) = self.conn.query_row(
            "SELECT current_decision, review_status FROM verifications WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let keys = self.keys()?;
        let mut images = Vec::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT kind, sealed FROM blobs WHERE verification_id = ?1 ORDER BY kind",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        for r in rows {
            let (kind, sealed) = r?;
            let k = ImageKind::parse(&kind)?;
            let plain = keys.open(&blob_aad(id, &kind), &sealed).ok_or_else(|| {
                AuditError::BlobAuthFailed {
                    record_id: id,
                    kind: kind.clone(),
                }
            })?;
            images.push((k, Zeroizing::new(plain)));
        }
        let sealed: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT sealed FROM templates WHERE verification_id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        let template = match sealed {
            Some(s) => Some(Zeroizing::new(
                keys.open(&blob_aad(id, "template"), &s).ok_or_else(|| {
                    AuditError::BlobAuthFailed {
                        record_id: id,
                        kind: "template".into(),
                    }
                })?,
            )),
            None => None,
        };
        Ok(OutboxRecord {
            row,
            current_decision,
            review_status,
            images,
            template,
        })
    }
}
