//! Chain rules the central service applies to what a kiosk pushes. The kiosk's event hashes are
//! keyed with a secret that never leaves it, so the central service cannot recompute them; it
//! checks instead that the chain it receives links (each event names the previous hash), has no
//! gap, never changes a sequence it already holds, never goes back, and that each record is the
//! very row its creation event's digest names.

use serde::Deserialize;

use super::wire::WireEvent;
use crate::audit::VerificationCanon;

/// Why a pushed chain is not acceptable. Each one quarantines the kiosk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// An event skips sequence numbers.
    #[error("gap: expected event {expected}, got {got}")]
    Gap {
        /// The sequence expected.
        expected: i64,
        /// The sequence received.
        got: i64,
    },
    /// An event does not name the previous event's hash.
    #[error("event {seq} does not link to the previous event")]
    BadLink {
        /// The event.
        seq: i64,
    },
    /// A sequence already stored arrives with another hash.
    #[error("fork: event {seq} differs from the one received before")]
    Fork {
        /// The sequence.
        seq: i64,
    },
    /// The kiosk reports a head older than one it already sent.
    #[error("rollback: head {reported} is older than {acknowledged} already received")]
    Rollback {
        /// Head the kiosk reports now.
        reported: i64,
        /// Highest sequence received before.
        acknowledged: i64,
    },
    /// A record does not match its creation event.
    #[error("record {id}: {why}")]
    RecordMismatch {
        /// Record id.
        id: i64,
        /// What differs.
        why: String,
    },
    /// An event is malformed (hash length, hex).
    #[error("event {seq} is malformed: {why}")]
    Malformed {
        /// The event.
        seq: i64,
        /// What is wrong.
        why: String,
    },
}

impl ChainBreak {
    /// Stable alert kind.
    pub fn kind(&self) -> &'static str {
        match self {
            ChainBreak::Gap { .. } => "gap",
            ChainBreak::BadLink { .. } => "bad_link",
            ChainBreak::Fork { .. } => "fork",
            ChainBreak::Rollback { .. } => "rollback",
            ChainBreak::RecordMismatch { .. } => "record_mismatch",
            ChainBreak::Malformed { .. } => "malformed",
        }
    }
}

/// Decode a 32-byte hash from hex.
pub fn hash_from_hex(seq: i64, h: &str) -> Result<[u8; 32], ChainBreak> {
    let v = hex::decode(h).map_err(|_| ChainBreak::Malformed {
        seq,
        why: "hash is not hex".into(),
    })?;
    v.try_into().map_err(|_| ChainBreak::Malformed {
        seq,
        why: "hash is not 32 bytes".into(),
    })
}

/// Check that `ev` is the event right after `(prev_seq, prev_hash)`.
///
/// # Errors
/// `Gap`, `BadLink` or `Malformed`.
pub fn check_link(prev_seq: i64, prev_hash: &[u8; 32], ev: &WireEvent) -> Result<(), ChainBreak> {
    if ev.seq != prev_seq + 1 {
        return Err(ChainBreak::Gap {
            expected: prev_seq + 1,
            got: ev.seq,
        });
    }
    hash_from_hex(ev.seq, &ev.hash)?;
    if &hash_from_hex(ev.seq, &ev.prev_hash)? != prev_hash {
        return Err(ChainBreak::BadLink { seq: ev.seq });
    }
    if serde_json::from_str::<serde_json::Value>(&ev.payload).is_err() {
        return Err(ChainBreak::Malformed {
            seq: ev.seq,
            why: "payload is not JSON".into(),
        });
    }
    Ok(())
}

#[derive(Deserialize)]
struct CreationPayload {
    id: i64,
    row_sha256: String,
}

/// Check that `row` is the record `ev` created: a `verification_recorded` event for the same
/// id whose payload's `row_sha256` is the row's digest (the rule the kiosk's own
/// `audit verify` applies).
///
/// # Errors
/// `RecordMismatch`.
pub fn check_record(ev: &WireEvent, row: &VerificationCanon) -> Result<(), ChainBreak> {
    let bad = |why: &str| ChainBreak::RecordMismatch {
        id: row.id,
        why: why.to_string(),
    };
    if ev.kind != "verification_recorded" {
        return Err(bad("a record travels only with its creation event"));
    }
    if ev.verification_id != Some(row.id) {
        return Err(bad("the event is about another record"));
    }
    let p: CreationPayload =
        serde_json::from_str(&ev.payload).map_err(|_| bad("creation payload unreadable"))?;
    if p.id != row.id {
        return Err(bad("the event payload names another record"));
    }
    let d = row.digest().map_err(|_| bad("row cannot be digested"))?;
    if d != p.row_sha256 {
        return Err(bad("row differs from the one its event chained"));
    }
    Ok(())
}
