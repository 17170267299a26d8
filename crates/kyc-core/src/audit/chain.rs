//! The keyed hash chain over audit events, checkpoints, and the `verify` walk.
//!
//! Every change to the store appends one row to `events` with
//! `hash = HMAC-SHA256(chain key, "kyc-audit-event-v1" || prev_hash || canonical(row))`,
//! where the canonical bytes are the length-prefixed fields (time, kind, actor, record id,
//! payload text). Side-table rows (verifications, corrections, supervisor actions, blobs,
//! templates) are bound to the chain by digests inside the payload of the event that created
//! them, so an edit to any of them is caught as well.

use std::collections::{BTreeMap, HashMap, HashSet};

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::anchor::AnchorRead;
use super::crypto::{AuditKeys, hex, sha256_hex};
use super::error::AuditError;
use super::store::{AuditStore, supervisor_action_from_row};
use super::types::{FieldCorrection, now_ms};

/// A verification record was written.
pub(crate) const EV_VERIFICATION: &str = "verification_recorded";
/// A field correction was written.
pub(crate) const EV_CORRECTION: &str = "field_corrected";
/// A supervisor acted on a record.
pub(crate) const EV_SUPERVISOR: &str = "supervisor_action";
/// A supervisor's decision made at the central service, applied to the record.
pub(crate) const EV_CENTRAL_DECISION: &str = "central_decision";
/// A fleet policy pulled from the central service was put in force.
pub(crate) const EV_FLEET_SETTINGS: &str = "fleet_settings_applied";
/// Images older than a cutoff were purged.
pub(crate) const EV_PURGE: &str = "images_purged";
/// A customer's biometric data was erased (tombstone).
pub(crate) const EV_ERASE: &str = "customer_erased";
/// Images of given records were deleted on request (templates kept).
pub(crate) const EV_IMAGES_DELETED: &str = "images_deleted";
/// A plaintext store of an earlier version was encrypted (SQLCipher).
pub(crate) const EV_STORE_ENCRYPTED: &str = "store_encrypted";

const RESERVED: &[&str] = &[
    EV_VERIFICATION,
    EV_CORRECTION,
    EV_SUPERVISOR,
    EV_CENTRAL_DECISION,
    EV_FLEET_SETTINGS,
    super::central::EV_CENTRAL_DECLINED,
    EV_PURGE,
    EV_ERASE,
    EV_IMAGES_DELETED,
    EV_STORE_ENCRYPTED,
    "login",
    "login_failed",
    "login_locked",
    "logout",
    "user_created",
    "first_admin_created",
    EV_USER_ROLE,
    EV_USER_DISABLED,
    EV_USER_ENABLED,
    EV_USER_PASSWORD,
    EV_USER_UNLOCKED,
    super::confirm::EV_CONFIG_CONFIRMED,
    // Written by the fleet sync from the central service's answers (`fleet::dedup`).
    "central_duplicate_flag",
    "central_duplicate_check",
];

/// An administrator changed a user's role.
pub(crate) const EV_USER_ROLE: &str = "user_role_changed";
/// An administrator disabled a user (login refused from then on).
pub(crate) const EV_USER_DISABLED: &str = "user_disabled";
/// An administrator enabled a disabled user again.
pub(crate) const EV_USER_ENABLED: &str = "user_enabled";
/// An administrator reset a user's password.
pub(crate) const EV_USER_PASSWORD: &str = "user_password_reset";
/// An administrator unlocked a user locked out by failed logins.
pub(crate) const EV_USER_UNLOCKED: &str = "user_unlocked";

/// Events that set a user row's chained state (`row_sha256`, `disabled`): the newest one for a
/// user is what the row must match.
pub(crate) const USER_STATE_KINDS: &[&str] = &[
    "user_created",
    "first_admin_created",
    EV_USER_ROLE,
    EV_USER_DISABLED,
    EV_USER_ENABLED,
    EV_USER_PASSWORD,
    EV_USER_UNLOCKED,
];

const GENESIS: [u8; 32] = [0u8; 32];

/// Whether `kind` is written only by the store itself.
pub(crate) fn is_reserved_kind(kind: &str) -> bool {
    RESERVED.contains(&kind)
}

/// An event about to be appended.
pub(crate) struct EventIn<'a> {
    pub kind: &'a str,
    pub actor: &'a str,
    pub verification_id: Option<i64>,
    pub payload: serde_json::Value,
}

/// The immutable columns of a verification row, hashed into its creation event
/// (`row_sha256` in the `verification_recorded` payload). Public so a second party (the
/// central service) recomputes the same digest over a row it received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationCanon {
    /// Record id in the kiosk's store.
    pub id: i64,
    /// Kiosk that wrote the record.
    pub kiosk_id: String,
    /// Operator username.
    pub operator: String,
    /// `individual` or `business`.
    pub customer_type: String,
    /// Claimed ID type.
    pub claimed_id_type: Option<String>,
    /// Claimed ID number.
    pub claimed_id_number: Option<String>,
    /// Session start, ms since epoch.
    pub started_ms: i64,
    /// Session end, ms since epoch.
    pub finished_ms: i64,
    /// Write time, ms since epoch.
    pub created_ms: i64,
    /// Decision at write time.
    pub decision: String,
    /// Reason given.
    pub decision_reason: String,
    /// Document number read.
    pub document_number: Option<String>,
    /// Normalised ID number used for duplicate matching.
    pub id_key: Option<String>,
    /// Holder's full name.
    pub full_name: Option<String>,
    /// Issuing country.
    pub country: Option<String>,
    /// Overall confidence 0–100.
    pub overall_confidence: Option<f64>,
    /// The full `VerificationResult` JSON text.
    pub result_json: String,
    /// Models and thresholds JSON text.
    pub models_json: String,
    /// Duplicate findings JSON text.
    pub duplicates_json: String,
}

impl VerificationCanon {
    /// SHA-256 (hex) of the row's canonical JSON: what the creation event's `row_sha256` holds.
    ///
    /// # Errors
    /// `Json` when the row cannot be serialised (a non-finite confidence).
    pub fn digest(&self) -> Result<String, AuditError> {
        digest(self)
    }
}

/// SHA-256 (hex) of the JSON serialisation of a value (field order is the struct's).
pub(crate) fn digest<T: Serialize>(v: &T) -> Result<String, AuditError> {
    Ok(sha256_hex(&serde_json::to_vec(v)?))
}

pub(crate) fn correction_digest(
    id: i64,
    verification_id: i64,
    c: &FieldCorrection,
) -> Result<String, AuditError> {
    digest(&(id, verification_id, c))
}

/// Digest binding a user row (id, name, role, password hash) to its creation event.
pub(crate) fn user_digest(
    id: i64,
    username: &str,
    role: &str,
    password_hash: &str,
) -> Result<String, AuditError> {
    digest(&(id, username, role, password_hash))
}

/// The chained state of a user row carried by a user event's payload.
#[derive(Deserialize)]
struct UserStatePayload {
    user_id: i64,
    row_sha256: String,
    /// Absent in creation events: a new user is active.
    #[serde(default)]
    disabled: bool,
}

/// Whether the user row matches the newest user event for it (creation, role change, disable,
/// enable, password reset, unlock), and that event is authentic. Used at login and before an
/// administrator changes a row, so a role, password hash or disabled flag changed behind the
/// store's back is refused (and an older state cannot be restored by editing the file).
pub(crate) fn user_row_is_chained(
    conn: &Connection,
    keys: &AuditKeys,
    id: i64,
    username: &str,
    role: &str,
    password_hash: &str,
    disabled: bool,
) -> Result<bool, AuditError> {
    let want = user_digest(id, username, role, password_hash)?;
    let kinds = USER_STATE_KINDS
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT ts_ms, kind, actor, verification_id, payload, prev_hash, hash FROM events
         WHERE kind IN ({kinds})
           AND json_valid(payload) AND json_extract(payload, '$.user_id') = ?1
         ORDER BY seq DESC LIMIT 1"
    ))?;
    let mut rows = stmt.query([id])?;
    let Some(r) = rows.next()? else {
        return Ok(false);
    };
    let (ts, kind, actor, vid, payload): (i64, String, String, Option<i64>, String) =
        match (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)) {
            (Ok(a), Ok(b), Ok(c), Ok(d), Ok(e)) => (a, b, c, d, e),
            _ => return Ok(false),
        };
    let prev = as_bytes(r.get(5)?);
    let hash = as_bytes(r.get(6)?);
    let authentic = event_hash(keys, &prev, ts, &kind, &actor, vid, &payload).as_slice() == hash;
    let state = serde_json::from_str::<UserStatePayload>(&payload).ok();
    Ok(authentic
        && state.is_some_and(|p| p.user_id == id && p.row_sha256 == want && p.disabled == disabled))
}

/// Event kinds that carry a name's lockout state (`lock_user`, `failed_attempts`,
/// `locked_until_ms`).
pub(crate) const LOCK_STATE_KINDS: &str =
    "'login', 'login_failed', 'user_unlocked', 'user_password_reset'";

/// The lockout state of a login name as the chain records it: failed logins in a row and the
/// lock's end, from the newest authentic event carrying it; (0, None) when none does. The
/// users table's copy is never trusted (an edited row unlocks no one).
pub(crate) fn chained_lockout(
    conn: &Connection,
    keys: &AuditKeys,
    username: &str,
) -> Result<(u32, Option<i64>), AuditError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT ts_ms, kind, actor, verification_id, payload, prev_hash, hash FROM events
         WHERE kind IN ({LOCK_STATE_KINDS})
           AND (CASE WHEN json_valid(payload) THEN json_extract(payload, '$.lock_user') END) = ?1
         ORDER BY seq DESC LIMIT 1"
    ))?;
    let mut rows = stmt.query([username])?;
    let Some(r) = rows.next()? else {
        return Ok((0, None));
    };
    let (ts, kind, actor, vid, payload): (i64, String, String, Option<i64>, String) =
        match (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)) {
            (Ok(a), Ok(b), Ok(c), Ok(d), Ok(e)) => (a, b, c, d, e),
            _ => return Err(AuditError::Corrupt("a login event was edited".into())),
        };
    let prev = as_bytes(r.get(5)?);
    let hash = as_bytes(r.get(6)?);
    if event_hash(keys, &prev, ts, &kind, &actor, vid, &payload).as_slice() != hash {
        return Err(AuditError::Corrupt(format!(
            "the login state of {username} was edited outside the kiosk"
        )));
    }
    let v: serde_json::Value = serde_json::from_str(&payload)?;
    let failed = v
        .get("failed_attempts")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    let until = v.get("locked_until_ms").and_then(serde_json::Value::as_i64);
    Ok((u32::try_from(failed).unwrap_or(u32::MAX), until))
}

fn lp(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The canonical bytes of an event row (everything but seq, prev_hash and hash).
fn canonical(ts_ms: i64, kind: &str, actor: &str, vid: Option<i64>, payload: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + payload.len());
    out.extend_from_slice(&ts_ms.to_be_bytes());
    lp(&mut out, kind.as_bytes());
    lp(&mut out, actor.as_bytes());
    match vid {
        Some(v) => {
            out.push(1);
            out.extend_from_slice(&v.to_be_bytes());
        }
        None => out.push(0),
    }
    lp(&mut out, payload.as_bytes());
    out
}

pub(crate) fn event_hash(
    keys: &AuditKeys,
    prev: &[u8],
    ts_ms: i64,
    kind: &str,
    actor: &str,
    vid: Option<i64>,
    payload: &str,
) -> [u8; 32] {
    keys.mac(&[
        b"kyc-audit-event-v1",
        prev,
        &canonical(ts_ms, kind, actor, vid, payload),
    ])
}

fn checkpoint_mac(
    keys: &AuditKeys,
    created_ms: i64,
    head_seq: i64,
    head_hash: &[u8],
    count: i64,
) -> [u8; 32] {
    keys.mac(&[
        b"kyc-audit-checkpoint-v1",
        &created_ms.to_be_bytes(),
        &head_seq.to_be_bytes(),
        head_hash,
        &count.to_be_bytes(),
    ])
}

/// Append one event inside the caller's (immediate) transaction; returns its seq.
pub(crate) fn append_event(
    tx: &Connection,
    keys: &AuditKeys,
    checkpoint_every: i64,
    ev: EventIn<'_>,
) -> Result<i64, AuditError> {
    let head: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (seq, prev) = match head {
        Some((s, h)) => (s + 1, h),
        None => (1, GENESIS.to_vec()),
    };
    let ts = now_ms();
    let payload = serde_json::to_string(&ev.payload)?;
    let hash = event_hash(
        keys,
        &prev,
        ts,
        ev.kind,
        ev.actor,
        ev.verification_id,
        &payload,
    );
    tx.execute(
        "INSERT INTO events (seq, ts_ms, kind, actor, verification_id, payload, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            seq,
            ts,
            ev.kind,
            ev.actor,
            ev.verification_id,
            payload,
            prev,
            hash.to_vec()
        ],
    )?;
    if checkpoint_every > 0 && seq % checkpoint_every == 0 {
        write_checkpoint(tx, keys)?;
    }
    Ok(seq)
}

/// Record (chain head, event count) with its own MAC.
pub(crate) fn write_checkpoint(tx: &Connection, keys: &AuditKeys) -> Result<(), AuditError> {
    let head: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((head_seq, head_hash)) = head else {
        return Ok(());
    };
    let count: i64 = tx.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?;
    let created = now_ms();
    let mac = checkpoint_mac(keys, created, head_seq, &head_hash, count);
    tx.execute(
        "INSERT INTO checkpoints (created_ms, head_seq, head_hash, event_count, mac)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![created, head_seq, head_hash, count, mac.to_vec()],
    )?;
    Ok(())
}

/// One thing `verify` found wrong. Ids are event sequence numbers or table row ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// The event's content no longer matches its MAC.
    EventEdited {
        /// Event sequence number.
        seq: i64,
    },
    /// Events with these sequence numbers are gone.
    EventsDeleted {
        /// First missing seq.
        from_seq: i64,
        /// Last missing seq.
        to_seq: i64,
    },
    /// The event is authentic but sits in the wrong place in the chain.
    EventReordered {
        /// Where it sits now.
        seq: i64,
        /// Seq of the event it really follows.
        follows_seq: i64,
    },
    /// The event's predecessor is missing although no seq gap shows (events deleted and renumbered).
    ChainBroken {
        /// Event whose link is broken.
        seq: i64,
    },
    /// Events after a checkpoint's head are missing: the chain was cut short.
    Truncated {
        /// Checkpoint that proves the longer chain.
        checkpoint_id: i64,
        /// Head seq the checkpoint recorded.
        expected_head_seq: i64,
        /// Last seq present.
        found_head_seq: i64,
    },
    /// A checkpoint's own MAC fails (forged or edited checkpoint).
    CheckpointForged {
        /// Checkpoint id.
        checkpoint_id: i64,
    },
    /// A checkpoint disagrees with the events (head hash or count differ).
    CheckpointMismatch {
        /// Checkpoint id.
        checkpoint_id: i64,
    },
    /// A table row differs from what its chained event recorded.
    RecordEdited {
        /// Table name.
        table: String,
        /// Row id (verification id for verifications, blobs and templates).
        id: i64,
    },
    /// A table row recorded in the chain is gone (and no purge or erasure explains it).
    RecordDeleted {
        /// Table name.
        table: String,
        /// Row id.
        id: i64,
    },
    /// A table row that no chained event accounts for (inserted behind the store's back).
    RecordUnchained {
        /// Table name.
        table: String,
        /// Row id.
        id: i64,
    },
    /// The file holds no audit store at all (0 bytes, or not this program's database).
    EmptyDatabase,
    /// The store's metadata (the key fingerprint) is gone: its tables were emptied.
    MetadataMissing,
    /// The chain-head anchor file beside the key is missing.
    AnchorMissing,
    /// The anchor file is malformed or its MAC fails (forged or edited).
    AnchorInvalid {
        /// What is wrong with it.
        reason: String,
    },
    /// The anchor records a longer chain than the database holds: the newest events were
    /// deleted, the tables emptied, or an older copy of the file put back.
    AnchorAhead {
        /// Head seq the anchor recorded.
        anchor_seq: i64,
        /// Last seq present in the database.
        found_head_seq: i64,
    },
    /// The event at the anchored seq is not the anchored one: the database was replaced.
    AnchorMismatch {
        /// The anchored seq.
        seq: i64,
    },
}

/// What `verify` checked and what it found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Events walked.
    pub events: u64,
    /// Verification records checked.
    pub records: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// Last event seq present.
    pub head_seq: i64,
    /// Hex of the chain head hash.
    pub head_hash: String,
    /// Every problem found, in chain order then table order.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// True when nothing was found wrong.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A raw SHA-256 digest (kept raw, not hex, so a 1M-record walk stays small in memory).
type Digest32 = [u8; 32];

/// Parse a hex digest; anything malformed becomes a value no real digest equals in practice.
fn d32(hex_digest: &str) -> Digest32 {
    let mut out = [0xffu8; 32];
    if hex_digest.len() != 64 {
        return out;
    }
    for (i, chunk) in hex_digest.as_bytes().chunks(2).enumerate() {
        match std::str::from_utf8(chunk)
            .ok()
            .and_then(|c| u8::from_str_radix(c, 16).ok())
        {
            Some(b) => out[i] = b,
            None => return [0xffu8; 32],
        }
    }
    out
}

/// A one-byte code for a decision or review status (compact state for large walks).
fn code(s: &str) -> u8 {
    match s {
        "approve" => 1,
        "refer" => 2,
        "reject" => 3,
        "none" => 4,
        "pending" => 5,
        "closed" => 6,
        _ => 255,
    }
}

fn sha32(bytes: &[u8]) -> Digest32 {
    Sha256::digest(bytes).into()
}

#[derive(Default)]
struct VState {
    creation_seq: i64,
    row_sha: Digest32,
    blobs: Vec<(String, Digest32)>,
    template_sha: Option<Digest32>,
    current_decision: u8,
    review_status: u8,
    /// Set when the row was found in the table.
    seen: bool,
    /// The row's creation time (from the row, once seen).
    created_ms: i64,
    erased: bool,
    images_deleted: bool,
}

#[derive(Deserialize)]
struct VPayload {
    id: i64,
    row_sha256: String,
    #[serde(default)]
    blobs: BTreeMap<String, String>,
    template_sha256: Option<String>,
    current_decision: String,
    review_status: String,
}

#[derive(Deserialize)]
struct RowPayload {
    id: i64,
    row_sha256: String,
    current_decision: Option<String>,
    review_status: Option<String>,
}

struct Ev {
    seq: i64,
    ts: i64,
    kind: String,
    actor: String,
    vid: Option<i64>,
    payload: String,
    prev: Vec<u8>,
    hash: Vec<u8>,
    malformed: bool,
}

fn as_bytes(v: Value) -> Vec<u8> {
    match v {
        Value::Blob(b) => b,
        Value::Text(t) => t.into_bytes(),
        Value::Integer(i) => i.to_string().into_bytes(),
        Value::Real(f) => f.to_string().into_bytes(),
        Value::Null => Vec::new(),
    }
}

fn as_text(v: Value) -> String {
    String::from_utf8_lossy(&as_bytes(v)).into_owned()
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => Some(*i),
        _ => None,
    }
}

impl AuditStore {
    /// Walk the whole chain and every chained table; report each edited, deleted, reordered
    /// or truncated record by id. Needs the kiosk key (errors with `WrongKey`/`KeyMissing`).
    pub fn verify(&self) -> Result<VerifyReport, AuditError> {
        let keys = self.keys()?;
        let mut report = VerifyReport::default();
        // The anchor first: a commit racing this walk can then only put the database ahead.
        let anchored = super::anchor::read(&self.cfg.anchor_file(), keys)?;
        match &anchored {
            AnchorRead::Missing => report.problems.push(Problem::AnchorMissing),
            AnchorRead::Invalid(reason) => report.problems.push(Problem::AnchorInvalid {
                reason: reason.clone(),
            }),
            AnchorRead::Valid(_) => {}
        }
        if self.schema_missing {
            report.problems.push(Problem::EmptyDatabase);
            if let AnchorRead::Valid(a) = &anchored
                && a.head_seq > 0
            {
                report.problems.push(Problem::AnchorAhead {
                    anchor_seq: a.head_seq,
                    found_head_seq: 0,
                });
            }
            return Ok(report);
        }
        let fingerprint: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'key_fingerprint'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if fingerprint.is_none() {
            report.problems.push(Problem::MetadataMissing);
        }
        // Pass 1: every event's hash, to tell a reordered event from a deleted one.
        let mut seqs: Vec<i64> = Vec::new();
        let mut by_hash: HashMap<Digest32, i64> = HashMap::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT seq, hash FROM events ORDER BY seq")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let seq: i64 = r.get(0)?;
                seqs.push(seq);
                if let Ok(h) = Digest32::try_from(as_bytes(r.get(1)?).as_slice()) {
                    by_hash.insert(h, seq);
                }
            }
        }
        let mut stmt = self.conn.prepare(
            "SELECT seq, ts_ms, kind, actor, verification_id, payload, prev_hash, hash
             FROM events ORDER BY seq",
        )?;
        // Pass 2, streamed: one event in memory at a time.
        let mut events = stmt.query_map([], |r| {
            // Read leniently: an attacker may change a column's type, which must be
            // reported as an edit, not abort the walk.
            let ts = r.get::<_, Value>(1)?;
            let vid = r.get::<_, Value>(4)?;
            let malformed =
                !matches!(ts, Value::Integer(_)) || !matches!(vid, Value::Integer(_) | Value::Null);
            Ok(Ev {
                seq: r.get(0)?,
                ts: as_int(&ts).unwrap_or(i64::MIN),
                kind: as_text(r.get(2)?),
                actor: as_text(r.get(3)?),
                vid: as_int(&vid),
                payload: as_text(r.get(5)?),
                prev: as_bytes(r.get(6)?),
                hash: as_bytes(r.get(7)?),
                malformed,
            })
        })?;

        let mut verifs: HashMap<i64, VState> = HashMap::new();
        let mut corrections: HashMap<i64, String> = HashMap::new();
        let mut actions: HashMap<i64, String> = HashMap::new();
        let mut purges: Vec<(i64, i64)> = Vec::new();
        let mut users: HashMap<i64, (String, bool)> = HashMap::new();

        let mut expected_prev: Vec<u8> = GENESIS.to_vec();
        let mut last_seq = 0i64;
        for e in &mut events {
            let e = e?;
            report.events += 1;
            let computed = event_hash(keys, &e.prev, e.ts, &e.kind, &e.actor, e.vid, &e.payload);
            let authentic = !e.malformed && computed.as_slice() == e.hash.as_slice();
            if !authentic {
                report.problems.push(Problem::EventEdited { seq: e.seq });
            }
            if e.prev != expected_prev {
                if e.seq > last_seq + 1 {
                    report.problems.push(Problem::EventsDeleted {
                        from_seq: last_seq + 1,
                        to_seq: e.seq - 1,
                    });
                } else if let Some(follows) = Digest32::try_from(e.prev.as_slice())
                    .ok()
                    .and_then(|p| by_hash.get(&p))
                {
                    report.problems.push(Problem::EventReordered {
                        seq: e.seq,
                        follows_seq: *follows,
                    });
                } else if authentic {
                    report.problems.push(Problem::ChainBroken { seq: e.seq });
                }
            } else if e.seq > last_seq + 1 {
                // Links hold but numbers jump: seq values were rewritten.
                report.problems.push(Problem::EventEdited { seq: e.seq });
            }
            expected_prev = e.hash.clone();
            last_seq = e.seq;
            // Apply even an edited event's payload: its rows are then judged against it, and
            // the edit itself is already reported on the event.
            {
                apply_event(&e, &mut verifs, &mut corrections, &mut actions, &mut purges);
                if USER_STATE_KINDS.contains(&e.kind.as_str())
                    && let Ok(p) = serde_json::from_str::<UserStatePayload>(&e.payload)
                {
                    // Events stream in order: the newest state of each user wins.
                    users.insert(p.user_id, (p.row_sha256, p.disabled));
                }
            }
        }
        drop(events);
        drop(stmt);
        report.head_seq = last_seq;
        report.head_hash = if seqs.is_empty() {
            String::new()
        } else {
            hex(&expected_prev)
        };

        if let AnchorRead::Valid(a) = &anchored {
            if a.head_seq > last_seq {
                report.problems.push(Problem::AnchorAhead {
                    anchor_seq: a.head_seq,
                    found_head_seq: last_seq,
                });
            } else if a.head_seq > 0 {
                let at: Option<Vec<u8>> = self
                    .conn
                    .query_row(
                        "SELECT hash FROM events WHERE seq = ?1",
                        [a.head_seq],
                        |r| Ok(as_bytes(r.get(0)?)),
                    )
                    .optional()?;
                if at.as_deref() != Some(a.head_hash.as_slice()) {
                    report
                        .problems
                        .push(Problem::AnchorMismatch { seq: a.head_seq });
                }
            }
        }
        self.check_checkpoints(keys, &seqs, last_seq, &mut report)?;
        self.check_verifications(&mut verifs, &purges, &mut report)?;
        self.check_rows(&corrections, &actions, &verifs, &mut report)?;
        self.check_users(&users, &mut report)?;
        Ok(report)
    }

    fn check_checkpoints(
        &self,
        keys: &AuditKeys,
        seqs: &[i64],
        last_seq: i64,
        report: &mut VerifyReport,
    ) -> Result<(), AuditError> {
        let mut head_stmt = self
            .conn
            .prepare("SELECT hash FROM events WHERE seq = ?1")?;
        let mut stmt = self.conn.prepare(
            "SELECT id, created_ms, head_seq, head_hash, event_count, mac FROM checkpoints ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Vec<u8>>(5)?,
            ))
        })?;
        let mut truncated: Option<(i64, i64)> = None;
        for row in rows {
            let (id, created, head_seq, head_hash, count, mac) = row?;
            report.checkpoints += 1;
            if checkpoint_mac(keys, created, head_seq, &head_hash, count).as_slice()
                != mac.as_slice()
            {
                report
                    .problems
                    .push(Problem::CheckpointForged { checkpoint_id: id });
                continue;
            }
            if head_seq > last_seq {
                if truncated.is_none_or(|(_, s)| head_seq > s) {
                    truncated = Some((id, head_seq));
                }
                continue;
            }
            // Events are sorted by seq, so the count up to the head is a binary search.
            let present = seqs.partition_point(|s| *s <= head_seq) as i64;
            let actual: Option<Vec<u8>> = head_stmt
                .query_row([head_seq], |r| Ok(as_bytes(r.get(0)?)))
                .optional()?;
            if actual.as_deref() != Some(head_hash.as_slice()) || present != count {
                report
                    .problems
                    .push(Problem::CheckpointMismatch { checkpoint_id: id });
            }
        }
        if let Some((checkpoint_id, expected_head_seq)) = truncated {
            report.problems.push(Problem::Truncated {
                checkpoint_id,
                expected_head_seq,
                found_head_seq: last_seq,
            });
        }
        Ok(())
    }

    fn check_verifications(
        &self,
        verifs: &mut HashMap<i64, VState>,
        purges: &[(i64, i64)],
        report: &mut VerifyReport,
    ) -> Result<(), AuditError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, kiosk_id, operator, customer_type, claimed_id_type, claimed_id_number,
                    started_ms, finished_ms, created_ms, decision, decision_reason,
                    document_number, id_key, full_name, country, overall_confidence,
                    result_json, models_json, duplicates_json, current_decision, review_status
             FROM verifications ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            let id: i64 = r.get(0)?;
            // A column whose type was changed cannot be read: that row was edited.
            let rest = (|| -> rusqlite::Result<_> {
                Ok((
                    VerificationCanon {
                        id,
                        kiosk_id: r.get(1)?,
                        operator: r.get(2)?,
                        customer_type: r.get(3)?,
                        claimed_id_type: r.get(4)?,
                        claimed_id_number: r.get(5)?,
                        started_ms: r.get(6)?,
                        finished_ms: r.get(7)?,
                        created_ms: r.get(8)?,
                        decision: r.get(9)?,
                        decision_reason: r.get(10)?,
                        document_number: r.get(11)?,
                        id_key: r.get(12)?,
                        full_name: r.get(13)?,
                        country: r.get(14)?,
                        overall_confidence: r.get(15)?,
                        result_json: r.get(16)?,
                        models_json: r.get(17)?,
                        duplicates_json: r.get(18)?,
                    },
                    r.get::<_, String>(19)?,
                    r.get::<_, String>(20)?,
                ))
            })();
            Ok((id, rest.ok()))
        })?;
        for row in rows {
            let (id, rest) = row?;
            report.records += 1;
            let table = "verifications".to_string();
            let Some(st) = verifs.get_mut(&id) else {
                report.problems.push(Problem::RecordUnchained { table, id });
                continue;
            };
            st.seen = true;
            let intact = match rest {
                Some((canon, cur, rev)) => {
                    st.created_ms = canon.created_ms;
                    d32(&canon.digest()?) == st.row_sha
                        && code(&cur) == st.current_decision
                        && code(&rev) == st.review_status
                }
                None => false,
            };
            if !intact {
                report.problems.push(Problem::RecordEdited { table, id });
            }
        }
        let mut missing: Vec<i64> = verifs
            .iter()
            .filter(|(_, st)| !st.seen)
            .map(|(id, _)| *id)
            .collect();
        missing.sort_unstable();
        for id in missing {
            report.problems.push(Problem::RecordDeleted {
                table: "verifications".into(),
                id,
            });
        }

        // Blobs and templates: present ones must match, missing ones need a purge or erasure.
        let mut present: HashMap<(i64, String), Digest32> = HashMap::new();
        let mut stmt = self
            .conn
            .prepare("SELECT verification_id, kind, sealed FROM blobs")?;
        for row in stmt.query_map([], |r| {
            Ok((r.get::<_, i64>(0)?, as_text(r.get(1)?), as_bytes(r.get(2)?)))
        })? {
            let (vid, kind, sealed) = row?;
            present.insert((vid, kind), sha32(&sealed));
        }
        let mut stmt = self
            .conn
            .prepare("SELECT verification_id, sealed FROM templates")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, as_bytes(r.get(1)?))))? {
            let (vid, sealed) = row?;
            present.insert((vid, "template".into()), sha32(&sealed));
        }
        let mut blob_problems: Vec<(i64, Problem)> = Vec::new();
        let mut ids: Vec<&i64> = verifs.keys().collect();
        ids.sort_unstable();
        for id in ids {
            let Some(st) = verifs.get(id) else { continue };
            let mut expected: Vec<(String, &Digest32)> =
                st.blobs.iter().map(|(k, v)| (k.clone(), v)).collect();
            if let Some(t) = &st.template_sha {
                expected.push(("template".into(), t));
            }
            for (kind, sha) in expected {
                let table = if kind == "template" {
                    "templates"
                } else {
                    "blobs"
                };
                match present.remove(&(*id, kind.clone())) {
                    Some(actual) if &actual == sha => {}
                    Some(_) => blob_problems.push((
                        *id,
                        Problem::RecordEdited {
                            table: table.into(),
                            id: *id,
                        },
                    )),
                    None => {
                        let created_ms = st.created_ms;
                        let purged = kind != "template"
                            && purges
                                .iter()
                                .any(|(seq, cut)| *seq > st.creation_seq && *cut > created_ms);
                        let deleted = kind != "template" && st.images_deleted;
                        if !(st.erased || purged || deleted) {
                            blob_problems.push((
                                *id,
                                Problem::RecordDeleted {
                                    table: table.into(),
                                    id: *id,
                                },
                            ));
                        }
                    }
                }
            }
        }
        let mut extra: Vec<(i64, String)> = present.into_keys().collect();
        extra.sort();
        for (vid, kind) in extra {
            let table = if kind == "template" {
                "templates"
            } else {
                "blobs"
            };
            blob_problems.push((
                vid,
                Problem::RecordUnchained {
                    table: table.into(),
                    id: vid,
                },
            ));
        }
        blob_problems.dedup();
        report
            .problems
            .extend(blob_problems.into_iter().map(|(_, p)| p));
        Ok(())
    }

    fn check_rows(
        &self,
        corrections: &HashMap<i64, String>,
        actions: &HashMap<i64, String>,
        _verifs: &HashMap<i64, VState>,
        report: &mut VerifyReport,
    ) -> Result<(), AuditError> {
        let mut seen = HashSet::new();
        let mut stmt = self.conn.prepare(
            "SELECT id, verification_id, field, before_value, after_value, corrected_by, corrected_ms
             FROM corrections ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                FieldCorrection {
                    field: r.get(2)?,
                    before: r.get(3)?,
                    after: r.get(4)?,
                    corrected_by: r.get(5)?,
                    corrected_ms: r.get(6)?,
                },
            ))
        })?;
        for row in rows {
            let (id, vid, c) = row?;
            seen.insert(id);
            let table = "corrections".to_string();
            match corrections.get(&id) {
                None => report.problems.push(Problem::RecordUnchained { table, id }),
                Some(sha) if *sha != correction_digest(id, vid, &c)? => {
                    report.problems.push(Problem::RecordEdited { table, id })
                }
                Some(_) => {}
            }
        }
        let mut missing: Vec<i64> = corrections
            .keys()
            .filter(|id| !seen.contains(id))
            .copied()
            .collect();
        missing.sort_unstable();
        for id in missing {
            report.problems.push(Problem::RecordDeleted {
                table: "corrections".into(),
                id,
            });
        }

        let mut seen = HashSet::new();
        let mut stmt = self.conn.prepare(
            "SELECT id, verification_id, supervisor, action, decision, note, acted_ms
             FROM supervisor_actions ORDER BY id",
        )?;
        let rows = stmt.query_map([], supervisor_action_from_row)?;
        for row in rows {
            let table = "supervisor_actions".to_string();
            let a = match row? {
                Ok(a) => a,
                Err(_) => continue,
            };
            seen.insert(a.id);
            match actions.get(&a.id) {
                None => report
                    .problems
                    .push(Problem::RecordUnchained { table, id: a.id }),
                Some(sha) if *sha != digest(&a)? => report
                    .problems
                    .push(Problem::RecordEdited { table, id: a.id }),
                Some(_) => {}
            }
        }
        let mut missing: Vec<i64> = actions
            .keys()
            .filter(|id| !seen.contains(id))
            .copied()
            .collect();
        missing.sort_unstable();
        for id in missing {
            report.problems.push(Problem::RecordDeleted {
                table: "supervisor_actions".into(),
                id,
            });
        }
        Ok(())
    }
}

impl AuditStore {
    fn check_users(
        &self,
        users: &HashMap<i64, (String, bool)>,
        report: &mut VerifyReport,
    ) -> Result<(), AuditError> {
        let mut seen = HashSet::new();
        let mut stmt = self
            .conn
            .prepare("SELECT id, username, role, password_hash, disabled FROM users ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            // Leniently: an edited column type is an edit, not an abort.
            let disabled = as_int(&r.get::<_, Value>(4)?);
            Ok((
                r.get::<_, i64>(0)?,
                as_text(r.get(1)?),
                as_text(r.get(2)?),
                as_text(r.get(3)?),
                disabled,
            ))
        })?;
        for row in rows {
            let (id, name, role, hash, disabled) = row?;
            seen.insert(id);
            let table = "users".to_string();
            match users.get(&id) {
                None => report.problems.push(Problem::RecordUnchained { table, id }),
                Some((sha, chained_disabled))
                    if *sha != user_digest(id, &name, &role, &hash)?
                        || disabled != Some(i64::from(*chained_disabled)) =>
                {
                    report.problems.push(Problem::RecordEdited { table, id })
                }
                Some(_) => {}
            }
        }
        let mut missing: Vec<i64> = users
            .keys()
            .filter(|id| !seen.contains(id))
            .copied()
            .collect();
        missing.sort_unstable();
        for id in missing {
            report.problems.push(Problem::RecordDeleted {
                table: "users".into(),
                id,
            });
        }
        Ok(())
    }
}

fn apply_event(
    e: &Ev,
    verifs: &mut HashMap<i64, VState>,
    corrections: &mut HashMap<i64, String>,
    actions: &mut HashMap<i64, String>,
    purges: &mut Vec<(i64, i64)>,
) {
    match e.kind.as_str() {
        EV_VERIFICATION => {
            if let Ok(p) = serde_json::from_str::<VPayload>(&e.payload) {
                verifs.insert(
                    p.id,
                    VState {
                        creation_seq: e.seq,
                        row_sha: d32(&p.row_sha256),
                        blobs: p.blobs.iter().map(|(k, v)| (k.clone(), d32(v))).collect(),
                        template_sha: p.template_sha256.as_deref().map(d32),
                        current_decision: code(&p.current_decision),
                        review_status: code(&p.review_status),
                        seen: false,
                        created_ms: i64::MAX,
                        erased: false,
                        images_deleted: false,
                    },
                );
            }
        }
        EV_CORRECTION => {
            if let Ok(p) = serde_json::from_str::<RowPayload>(&e.payload) {
                corrections.insert(p.id, p.row_sha256);
            }
        }
        EV_SUPERVISOR | EV_CENTRAL_DECISION => {
            if let Ok(p) = serde_json::from_str::<RowPayload>(&e.payload) {
                actions.insert(p.id, p.row_sha256);
                if let (Some(vid), Some(st)) = (e.vid, e.vid.and_then(|v| verifs.get_mut(&v))) {
                    let _ = vid;
                    if let Some(d) = p.current_decision {
                        st.current_decision = code(&d);
                    }
                    if let Some(r) = p.review_status {
                        st.review_status = code(&r);
                    }
                }
            }
        }
        EV_PURGE => {
            if let Some(cut) = serde_json::from_str::<serde_json::Value>(&e.payload)
                .ok()
                .and_then(|v| v.get("cutoff_ms").and_then(serde_json::Value::as_i64))
            {
                purges.push((e.seq, cut));
            }
        }
        EV_ERASE | EV_IMAGES_DELETED => {
            let v = serde_json::from_str::<serde_json::Value>(&e.payload).ok();
            if e.kind == EV_ERASE
                && let Some(v) = &v
            {
                // The erased rows' new digests (personal columns cleared).
                let map = |key: &str| -> BTreeMap<String, String> {
                    v.get(key)
                        .cloned()
                        .and_then(|m| serde_json::from_value(m).ok())
                        .unwrap_or_default()
                };
                for (id, sha) in map("rows") {
                    if let Some(st) = id.parse::<i64>().ok().and_then(|id| verifs.get_mut(&id)) {
                        st.row_sha = d32(&sha);
                    }
                }
                for (id, sha) in map("corrections") {
                    if let Ok(id) = id.parse::<i64>()
                        && corrections.contains_key(&id)
                    {
                        corrections.insert(id, sha);
                    }
                }
            }
            if let Some(ids) = v
                .and_then(|v| v.get("verification_ids").cloned())
                .and_then(|v| serde_json::from_value::<Vec<i64>>(v).ok())
            {
                for id in ids {
                    if let Some(st) = verifs.get_mut(&id) {
                        if e.kind == EV_ERASE {
                            st.erased = true;
                        } else {
                            st.images_deleted = true;
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// One event read back by [`AuditStore::newest_chained`]: its MAC held and it links to its
/// predecessor.
pub(crate) struct ChainedEvent {
    pub(crate) seq: i64,
    pub(crate) ts_ms: i64,
    pub(crate) actor: String,
    pub(crate) payload: String,
}

impl AuditStore {
    /// The newest event of `kind` that is really part of the chain and that `pick` accepts:
    /// events are walked newest first; one whose MAC does not hold under the chain key, or whose
    /// predecessor's hash is not the one it states (a row written into the database by hand), is
    /// passed over with a warning naming it as `what`; the others go to `pick`, and the first
    /// `Some` it returns is the answer. `None` when no event is accepted.
    ///
    /// # Errors
    /// The store's keys are unavailable, the database cannot be read, or `pick` failed.
    pub(crate) fn newest_chained<T>(
        &self,
        kind: &str,
        what: &str,
        mut pick: impl FnMut(ChainedEvent) -> Result<Option<T>, AuditError>,
    ) -> Result<Option<T>, AuditError> {
        let keys = self.keys()?.clone();
        let mut stmt = self.conn.prepare(
            "SELECT seq, ts_ms, kind, actor, verification_id, payload, prev_hash, hash
             FROM events WHERE kind = ?1 ORDER BY seq DESC",
        )?;
        let rows = stmt.query_map(params![kind], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Vec<u8>>(6)?,
                r.get::<_, Vec<u8>>(7)?,
            ))
        })?;
        for row in rows {
            let (seq, ts_ms, kind, actor, vid, payload, prev, hash) = row?;
            let expected = event_hash(&keys, &prev, ts_ms, &kind, &actor, vid, &payload);
            if expected.as_slice() != hash.as_slice() {
                tracing::warn!(seq, "audit: a {what} fails its MAC");
                continue;
            }
            // The event links to the chain: its predecessor's hash is what it says it is.
            let linked: Option<Vec<u8>> = self
                .conn
                .query_row(
                    "SELECT hash FROM events WHERE seq = ?1",
                    params![seq - 1],
                    |r| r.get(0),
                )
                .optional()?;
            if seq > 1 && linked.as_deref() != Some(prev.as_slice()) {
                tracing::warn!(seq, "audit: a {what} is not linked");
                continue;
            }
            let event = ChainedEvent {
                seq,
                ts_ms,
                actor,
                payload,
            };
            if let Some(found) = pick(event)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}
