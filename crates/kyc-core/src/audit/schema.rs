//! Versioned schema migrations, tracked in `PRAGMA user_version`.
//!
//! Each migration runs once, inside its own transaction, in order. Never edit a released
//! migration: append a new one.

use rusqlite::Connection;

use super::error::AuditError;

/// The migrations, index 0 = version 1.
const MIGRATIONS: &[&str] = &[
    // v1: the whole first schema.
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The hash chain: every change to the store appends one event.
CREATE TABLE events (
    seq             INTEGER PRIMARY KEY,
    ts_ms           INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    actor           TEXT NOT NULL,
    verification_id INTEGER,
    payload         TEXT NOT NULL,
    prev_hash       BLOB NOT NULL,
    hash            BLOB NOT NULL
);
CREATE INDEX events_verification ON events(verification_id);
CREATE INDEX events_kind ON events(kind);

CREATE TABLE checkpoints (
    id          INTEGER PRIMARY KEY,
    created_ms  INTEGER NOT NULL,
    head_seq    INTEGER NOT NULL,
    head_hash   BLOB NOT NULL,
    event_count INTEGER NOT NULL,
    mac         BLOB NOT NULL
);

CREATE TABLE verifications (
    id                 INTEGER PRIMARY KEY,
    kiosk_id           TEXT NOT NULL,
    operator           TEXT NOT NULL,
    customer_type      TEXT NOT NULL,
    claimed_id_type    TEXT,
    claimed_id_number  TEXT,
    started_ms         INTEGER NOT NULL,
    finished_ms        INTEGER NOT NULL,
    created_ms         INTEGER NOT NULL,
    decision           TEXT NOT NULL,
    decision_reason    TEXT NOT NULL,
    document_number    TEXT,
    id_key             TEXT,
    full_name          TEXT,
    country            TEXT,
    overall_confidence REAL,
    result_json        TEXT NOT NULL,
    models_json        TEXT NOT NULL,
    duplicates_json    TEXT NOT NULL,
    current_decision   TEXT NOT NULL,
    review_status      TEXT NOT NULL,
    images_purged_ms   INTEGER,
    erased_ms          INTEGER
);
CREATE INDEX verifications_created ON verifications(created_ms);
CREATE INDEX verifications_operator ON verifications(operator, created_ms);
CREATE INDEX verifications_decision ON verifications(current_decision, created_ms);
CREATE INDEX verifications_review ON verifications(review_status, created_ms);
CREATE INDEX verifications_id_key ON verifications(id_key);

-- Encrypted images (document, document_back, portrait, selfie): nonce || ciphertext || tag.
CREATE TABLE blobs (
    verification_id INTEGER NOT NULL REFERENCES verifications(id),
    kind            TEXT NOT NULL,
    sealed          BLOB NOT NULL,
    PRIMARY KEY (verification_id, kind)
) WITHOUT ROWID;

-- Encrypted face templates, kept after image purge, removed on erasure.
CREATE TABLE templates (
    verification_id INTEGER PRIMARY KEY REFERENCES verifications(id),
    id_key          TEXT,
    sealed          BLOB NOT NULL
);

CREATE TABLE corrections (
    id              INTEGER PRIMARY KEY,
    verification_id INTEGER NOT NULL REFERENCES verifications(id),
    field           TEXT NOT NULL,
    before_value    TEXT NOT NULL,
    after_value     TEXT NOT NULL,
    corrected_by    TEXT NOT NULL,
    corrected_ms    INTEGER NOT NULL
);
CREATE INDEX corrections_verification ON corrections(verification_id);

CREATE TABLE supervisor_actions (
    id              INTEGER PRIMARY KEY,
    verification_id INTEGER NOT NULL REFERENCES verifications(id),
    supervisor      TEXT NOT NULL,
    action          TEXT NOT NULL,
    decision        TEXT,
    note            TEXT NOT NULL,
    acted_ms        INTEGER NOT NULL
);
CREATE INDEX supervisor_actions_verification ON supervisor_actions(verification_id);

CREATE TABLE users (
    id               INTEGER PRIMARY KEY,
    username         TEXT NOT NULL UNIQUE,
    role             TEXT NOT NULL,
    password_hash    TEXT NOT NULL,
    failed_attempts  INTEGER NOT NULL DEFAULT 0,
    locked_until_ms  INTEGER,
    created_ms       INTEGER NOT NULL,
    disabled         INTEGER NOT NULL DEFAULT 0
);
"#,
    // v2: find a login name's newest lockout state in the chain without scanning it.
    r#"
CREATE INDEX events_lock_user ON events(
    (CASE WHEN json_valid(payload) THEN json_extract(payload, '$.lock_user') END)
) WHERE kind IN ('login', 'login_failed', 'user_unlocked', 'user_password_reset');
"#,
];

/// Schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Bring the database up to [`SCHEMA_VERSION`], one transaction per migration.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), AuditError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(AuditError::SchemaTooNew {
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        let version = i as i64 + 1;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
        // Re-check inside the lock: another process may have migrated meanwhile.
        let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if now >= version {
            tx.commit()?;
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}
