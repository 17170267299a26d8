//! PostgreSQL access: a small connection pool and the versioned migrations (recorded in
//! `schema_migrations`, each applied once, in order, in its own transaction).

use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
pub use tokio_postgres::Client;
use tokio_postgres::NoTls;

use crate::CentralError;

/// The migrations, index 0 = version 1. Never edit a released one: append.
pub const MIGRATIONS: &[&str] = &[
    // v1: users, kiosks, enrolment tokens, the received chains, records, blobs, alerts, nonces.
    r#"
CREATE TABLE central_users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('supervisor', 'administrator')),
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_ms    BIGINT NOT NULL
);

CREATE TABLE kiosks (
    kiosk_id          TEXT PRIMARY KEY,
    public_key        BYTEA,
    enrolled_ms       BIGINT,
    ack_seq           BIGINT NOT NULL DEFAULT 0,
    ack_hash          BYTEA NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000',
    reported_seq      BIGINT NOT NULL DEFAULT 0,
    last_sync_ms      BIGINT,
    quarantined       BOOLEAN NOT NULL DEFAULT FALSE,
    quarantine_reason TEXT
);

CREATE TABLE enrol_tokens (
    token_sha256 BYTEA PRIMARY KEY,
    kiosk_id     TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    expires_ms   BIGINT NOT NULL,
    used_ms      BIGINT
);

CREATE TABLE kiosk_events (
    kiosk_id        TEXT NOT NULL REFERENCES kiosks(kiosk_id),
    seq             BIGINT NOT NULL,
    ts_ms           BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    actor           TEXT NOT NULL,
    verification_id BIGINT,
    payload         TEXT NOT NULL,
    prev_hash       BYTEA NOT NULL,
    hash            BYTEA NOT NULL,
    received_ms     BIGINT NOT NULL,
    PRIMARY KEY (kiosk_id, seq)
);

-- Rows arrive sealed to the central key and rest sealed: only ids, state and times are clear.
CREATE TABLE records (
    kiosk_id         TEXT NOT NULL REFERENCES kiosks(kiosk_id),
    record_id        BIGINT NOT NULL,
    event_seq        BIGINT NOT NULL,
    created_ms       BIGINT NOT NULL,
    decision         TEXT NOT NULL,
    current_decision TEXT NOT NULL,
    review_status    TEXT NOT NULL,
    sealed_row       BYTEA NOT NULL,
    received_ms      BIGINT NOT NULL,
    PRIMARY KEY (kiosk_id, record_id)
);
CREATE INDEX records_queue ON records (review_status, created_ms);
CREATE INDEX records_created ON records (created_ms);

CREATE TABLE record_blobs (
    kiosk_id  TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    kind      TEXT NOT NULL,
    sealed    BYTEA NOT NULL,
    PRIMARY KEY (kiosk_id, record_id, kind),
    FOREIGN KEY (kiosk_id, record_id) REFERENCES records(kiosk_id, record_id)
);

CREATE TABLE alerts (
    id         BIGSERIAL PRIMARY KEY,
    kiosk_id   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    detail     TEXT NOT NULL,
    raised_ms  BIGINT NOT NULL,
    cleared_ms BIGINT,
    cleared_by TEXT
);
CREATE INDEX alerts_open ON alerts (kiosk_id) WHERE cleared_ms IS NULL;

CREATE TABLE request_nonces (
    kiosk_id TEXT NOT NULL,
    nonce    TEXT NOT NULL,
    seen_ms  BIGINT NOT NULL,
    PRIMARY KEY (kiosk_id, nonce)
);
CREATE INDEX request_nonces_seen ON request_nonces (seen_ms);
"#,
    // v2: hand-off webhooks (endpoints, outbox of deliveries), registry adapters and their
    // checks, the chained log of central administrators' actions, quarantine evidence and
    // re-admissions (the superseded branch of a kiosk's chain kept aside as evidence).
    r#"
CREATE TABLE central_admin_log (
    seq       BIGINT PRIMARY KEY,
    ts_ms     BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    reason    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash      BYTEA NOT NULL
);

CREATE TABLE webhook_endpoints (
    id               BIGINT PRIMARY KEY,
    url              TEXT NOT NULL,
    sealed_secret    BYTEA NOT NULL,
    include_personal BOOLEAN NOT NULL,
    created_by       TEXT NOT NULL,
    created_ms       BIGINT NOT NULL,
    removed_by       TEXT,
    removed_ms       BIGINT
);
CREATE SEQUENCE webhook_endpoints_id OWNED BY webhook_endpoints.id;

-- The outbox: one row per (endpoint, case, decision), written in the transaction that learnt
-- of the decision. The body rests sealed to the central key (it may hold personal fields).
CREATE TABLE webhook_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    endpoint_id     BIGINT NOT NULL REFERENCES webhook_endpoints(id),
    idempotency_key TEXT NOT NULL UNIQUE,
    kiosk_id        TEXT NOT NULL,
    record_id       BIGINT NOT NULL,
    decision        TEXT NOT NULL,
    sealed_body     BYTEA NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    created_ms      BIGINT NOT NULL,
    delivered_ms    BIGINT,
    dead_ms         BIGINT,
    replays         INTEGER NOT NULL DEFAULT 0,
    UNIQUE (endpoint_id, kiosk_id, record_id, decision)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_ms) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (id) WHERE state = 'dead';

CREATE TABLE registry_adapters (
    id                 BIGINT PRIMARY KEY,
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL,
    country            TEXT NOT NULL,
    id_type            TEXT NOT NULL,
    url                TEXT NOT NULL,
    sealed_credential  BYTEA NOT NULL,
    timeout_ms         BIGINT NOT NULL,
    created_by         TEXT NOT NULL,
    created_ms         BIGINT NOT NULL,
    removed_by         TEXT,
    removed_ms         BIGINT
);
CREATE SEQUENCE registry_adapters_id OWNED BY registry_adapters.id;
CREATE UNIQUE INDEX registry_adapters_active ON registry_adapters (country, id_type)
    WHERE removed_ms IS NULL;

CREATE TABLE registry_checks (
    kiosk_id    TEXT NOT NULL,
    record_id   BIGINT NOT NULL,
    adapter_id  BIGINT NOT NULL REFERENCES registry_adapters(id),
    state       TEXT NOT NULL CHECK (state IN ('pending', 'matched', 'not_matched', 'error')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    detail      TEXT,
    queued_ms   BIGINT NOT NULL,
    not_before_ms BIGINT NOT NULL,
    checked_ms  BIGINT,
    PRIMARY KEY (kiosk_id, record_id)
);
CREATE INDEX registry_checks_pending ON registry_checks (queued_ms) WHERE state = 'pending';

CREATE TABLE quarantine_evidence (
    id            BIGSERIAL PRIMARY KEY,
    kiosk_id      TEXT NOT NULL,
    alert_id      BIGINT,
    kind          TEXT NOT NULL,
    detail        TEXT NOT NULL,
    raised_ms     BIGINT NOT NULL,
    central_seq   BIGINT NOT NULL,
    central_hash  BYTEA NOT NULL,
    reported_seq  BIGINT NOT NULL,
    reported_hash TEXT NOT NULL,
    diverges_by   BIGINT,
    pushed_events TEXT NOT NULL,
    resolved_by   BIGINT
);
CREATE INDEX quarantine_evidence_kiosk ON quarantine_evidence (kiosk_id, id);

CREATE TABLE readmissions (
    id            BIGSERIAL PRIMARY KEY,
    kiosk_id      TEXT NOT NULL,
    mode          TEXT NOT NULL CHECK (mode IN ('accept_chain', 're_enrol')),
    from_seq      BIGINT NOT NULL,
    old_ack_seq   BIGINT NOT NULL,
    old_ack_hash  BYTEA NOT NULL,
    old_reported  BIGINT NOT NULL,
    old_key       BYTEA,
    events_kept   BIGINT NOT NULL,
    records_kept  BIGINT NOT NULL,
    admin         TEXT NOT NULL,
    reason        TEXT NOT NULL,
    at_ms         BIGINT NOT NULL
);

-- The branch a re-admission set aside: never deleted, never part of the live chain again.
CREATE TABLE superseded_events (
    readmission_id  BIGINT NOT NULL REFERENCES readmissions(id),
    kiosk_id        TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    ts_ms           BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    actor           TEXT NOT NULL,
    verification_id BIGINT,
    payload         TEXT NOT NULL,
    prev_hash       BYTEA NOT NULL,
    hash            BYTEA NOT NULL,
    received_ms     BIGINT NOT NULL,
    PRIMARY KEY (readmission_id, seq)
);
CREATE TABLE superseded_records (
    readmission_id   BIGINT NOT NULL REFERENCES readmissions(id),
    kiosk_id         TEXT NOT NULL,
    record_id        BIGINT NOT NULL,
    event_seq        BIGINT NOT NULL,
    created_ms       BIGINT NOT NULL,
    decision         TEXT NOT NULL,
    current_decision TEXT NOT NULL,
    review_status    TEXT NOT NULL,
    sealed_row       BYTEA NOT NULL,
    received_ms      BIGINT NOT NULL,
    registry_check   TEXT,
    PRIMARY KEY (readmission_id, record_id)
);
CREATE TABLE superseded_record_blobs (
    readmission_id BIGINT NOT NULL REFERENCES readmissions(id),
    kiosk_id       TEXT NOT NULL,
    record_id      BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    sealed         BYTEA NOT NULL,
    PRIMARY KEY (readmission_id, record_id, kind)
);
"#,
    // v3: the supervisor queue's clear case columns and indexes, supervisor workstations and
    // their sessions, the chained central decision log and fleet policy log.
    r#"
ALTER TABLE kiosks ADD COLUMN branch TEXT;
ALTER TABLE records
    ADD COLUMN case_indexed BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN operator     TEXT,
    ADD COLUMN branch       TEXT,
    ADD COLUMN reason       TEXT,
    ADD COLUMN confidence   DOUBLE PRECISION;
CREATE INDEX records_unindexed ON records (kiosk_id, record_id) WHERE NOT case_indexed;
CREATE INDEX records_q_status ON records (review_status, created_ms DESC, kiosk_id, record_id);
CREATE INDEX records_q_kiosk ON records (kiosk_id, review_status, created_ms DESC, record_id);
CREATE INDEX records_q_branch ON records (branch, review_status, created_ms DESC, kiosk_id, record_id);
CREATE INDEX kiosk_events_record ON kiosk_events (kiosk_id, verification_id)
    WHERE verification_id IS NOT NULL;

CREATE TABLE workstations (
    workstation_id TEXT PRIMARY KEY,
    public_key     BYTEA NOT NULL,
    box_key        BYTEA NOT NULL,
    enrolled_ms    BIGINT NOT NULL
);
CREATE TABLE workstation_tokens (
    token_sha256   BYTEA PRIMARY KEY,
    workstation_id TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_ms     BIGINT NOT NULL,
    expires_ms     BIGINT NOT NULL,
    used_ms        BIGINT
);
CREATE TABLE supervisor_sessions (
    token_sha256   BYTEA PRIMARY KEY,
    workstation_id TEXT NOT NULL REFERENCES workstations(workstation_id),
    username       TEXT NOT NULL,
    role           TEXT NOT NULL,
    created_ms     BIGINT NOT NULL,
    expires_ms     BIGINT NOT NULL
);

CREATE TABLE central_decisions (
    id           BIGINT PRIMARY KEY,
    kiosk_id     TEXT NOT NULL,
    record_id    BIGINT NOT NULL,
    decision     TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    reason       TEXT NOT NULL,
    supervisor   TEXT NOT NULL,
    decided_ms   BIGINT NOT NULL,
    prev_hash    BYTEA NOT NULL,
    hash         BYTEA NOT NULL,
    delivered_ms BIGINT,
    outcome      TEXT,
    UNIQUE (kiosk_id, record_id),
    FOREIGN KEY (kiosk_id, record_id) REFERENCES records(kiosk_id, record_id)
);
CREATE INDEX central_decisions_undelivered ON central_decisions (kiosk_id, id)
    WHERE delivered_ms IS NULL;

CREATE TABLE fleet_policies (
    version       BIGINT PRIMARY KEY,
    policy        TEXT NOT NULL,
    policy_hash   TEXT NOT NULL,
    unsafe_values TEXT NOT NULL,
    confirmed_by  TEXT,
    set_by        TEXT NOT NULL,
    set_ms        BIGINT NOT NULL,
    prev_hash     BYTEA NOT NULL,
    hash          BYTEA NOT NULL
);
CREATE TABLE kiosk_policy (
    kiosk_id   TEXT PRIMARY KEY REFERENCES kiosks(kiosk_id),
    version    BIGINT NOT NULL,
    applied_ms BIGINT NOT NULL
);
"#,
    // v4: fleet-wide duplicate enrolment (the index itself lives in the service's memory).
    r#"
CREATE TABLE dedup_templates (
    kiosk_id  TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    id_tag    BIGINT NOT NULL,
    PRIMARY KEY (kiosk_id, record_id),
    FOREIGN KEY (kiosk_id, record_id) REFERENCES records(kiosk_id, record_id)
);

CREATE TABLE dedup_flags (
    id            BIGSERIAL PRIMARY KEY,
    kiosk_id      TEXT NOT NULL,
    record_id     BIGINT NOT NULL,
    raised_ms     BIGINT NOT NULL,
    delivered_seq BIGINT,
    delivered_ms  BIGINT,
    UNIQUE (kiosk_id, record_id),
    FOREIGN KEY (kiosk_id, record_id) REFERENCES records(kiosk_id, record_id)
);
CREATE INDEX dedup_flags_undelivered ON dedup_flags (kiosk_id) WHERE delivered_seq IS NULL;

CREATE TABLE dedup_matches (
    flag_id        BIGINT NOT NULL REFERENCES dedup_flags(id),
    other_kiosk    TEXT NOT NULL,
    other_record   BIGINT NOT NULL,
    score          REAL NOT NULL,
    same_id_number BOOLEAN NOT NULL,
    PRIMARY KEY (flag_id, other_kiosk, other_record)
);
"#,
    // v5: every filter combination of the supervisor queue answered from an index. The kiosk
    // indexes carry the branch as a key (a kiosk and a branch it never belonged to is answered
    // from the index alone), each of kiosk, branch and time has an index over all statuses, and
    // the decision reason's substring search has a trigram index (pg_trgm ships with Debian's
    // postgresql-15 and is a trusted extension: the database owner may create it). A kiosk
    // belongs to one branch: the statistics tell the planner so, or it takes "this kiosk in
    // this branch" for a rare pair and sorts instead of reading an index in order.
    r#"
CREATE EXTENSION IF NOT EXISTS pg_trgm;
DROP INDEX records_q_kiosk;
CREATE INDEX records_q_kiosk ON records (kiosk_id, review_status, created_ms DESC, record_id, branch);
CREATE INDEX records_q_kiosk_all ON records (kiosk_id, created_ms DESC, record_id, branch);
CREATE INDEX records_q_branch_all ON records (branch, created_ms DESC, kiosk_id, record_id);
CREATE INDEX records_q_time ON records (created_ms DESC, kiosk_id, record_id);
CREATE INDEX records_q_reason ON records USING gin (reason gin_trgm_ops);
CREATE STATISTICS records_q_kiosk_branch (dependencies) ON kiosk_id, branch FROM records;
"#,
    // v6: the CA bundle (PEM) an https webhook endpoint's certificate must chain to; NULL: the
    // system roots.
    r#"
ALTER TABLE webhook_endpoints ADD COLUMN ca_pem TEXT;
"#,
    // v7: sealed parts are ciphertext, which does not compress: kept out of line without
    // PostgreSQL trying to compress each one first (STORAGE EXTERNAL; applies to rows written
    // from now on).
    r#"
ALTER TABLE records ALTER COLUMN sealed_row SET STORAGE EXTERNAL;
ALTER TABLE record_blobs ALTER COLUMN sealed SET STORAGE EXTERNAL;
ALTER TABLE superseded_records ALTER COLUMN sealed_row SET STORAGE EXTERNAL;
ALTER TABLE superseded_record_blobs ALTER COLUMN sealed SET STORAGE EXTERNAL;
"#,
];

/// Apply the migrations not yet recorded; returns the schema version now.
///
/// # Errors
/// `SchemaTooNew` when the database is ahead of this program; database errors.
pub async fn migrate(client: &mut Client) -> Result<i64, CentralError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    BIGINT PRIMARY KEY,
                 applied_ms BIGINT NOT NULL
             )",
        )
        .await?;
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let version = i as i64 + 1;
        let tx = client.transaction().await?;
        // One migrator at a time across processes.
        tx.batch_execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
            .await?;
        let done = tx
            .query_opt(
                "SELECT 1 FROM schema_migrations WHERE version = $1",
                &[&version],
            )
            .await?
            .is_some();
        if !done {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)",
                &[&version, &kyc_core::audit::now_ms()],
            )
            .await?;
        }
        tx.commit().await?;
    }
    let newest: Option<i64> = client
        .query_one("SELECT max(version) FROM schema_migrations", &[])
        .await?
        .get(0);
    let newest = newest.unwrap_or(0);
    if newest > MIGRATIONS.len() as i64 {
        return Err(CentralError::SchemaTooNew {
            found: newest,
            supported: MIGRATIONS.len() as i64,
        });
    }
    Ok(newest)
}

/// Open one connection; its driver task runs on the current runtime.
///
/// # Errors
/// Database errors (unreachable server, bad credentials).
pub async fn connect(conn_str: &str) -> Result<Client, CentralError> {
    let (client, conn) = tokio_postgres::connect(conn_str, NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::warn!(error = %e, "database connection ended");
        }
    });
    Ok(client)
}

/// A few reusable connections; at most `size` in use at once.
#[derive(Clone)]
pub struct Pool {
    conn_str: Arc<str>,
    idle: Arc<Mutex<Vec<Client>>>,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").finish_non_exhaustive()
    }
}

/// A connection taken from the pool; goes back when dropped (unless it was closed).
pub struct Conn {
    client: Option<Client>,
    idle: Arc<Mutex<Vec<Client>>>,
    _permit: OwnedSemaphorePermit,
}

impl std::ops::Deref for Conn {
    type Target = Client;
    fn deref(&self) -> &Client {
        // Present from creation until drop.
        self.client.as_ref().unwrap_or_else(|| unreachable_client())
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Client {
        match self.client.as_mut() {
            Some(c) => c,
            None => unreachable_client(),
        }
    }
}

#[allow(clippy::panic)]
fn unreachable_client() -> ! {
    // `client` is only taken in `drop`.
    panic!("pooled connection used after drop")
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(c) = self.client.take()
            && !c.is_closed()
            && let Ok(mut idle) = self.idle.lock()
        {
            idle.push(c);
        }
    }
}

impl Pool {
    /// A pool of up to `size` connections to `conn_str` (opened on demand).
    pub fn new(conn_str: &str, size: usize) -> Self {
        Pool {
            conn_str: Arc::from(conn_str),
            idle: Arc::new(Mutex::new(Vec::new())),
            permits: Arc::new(Semaphore::new(size.max(1))),
        }
    }

    /// Take a connection (waits while all are in use).
    ///
    /// # Errors
    /// Database errors when a new connection cannot be opened.
    pub async fn get(&self) -> Result<Conn, CentralError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| CentralError::Setup("connection pool closed".into()))?;
        let reused = self.idle.lock().ok().and_then(|mut v| v.pop());
        let client = match reused {
            Some(c) if !c.is_closed() => c,
            _ => connect(&self.conn_str).await?,
        };
        Ok(Conn {
            client: Some(client),
            idle: self.idle.clone(),
            _permit: permit,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::testpg::TestCluster;

    #[test]
    fn sealed_columns_are_stored_out_of_line_without_compression() {
        let cluster = TestCluster::shared().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let conn = cluster.create_database("db_sealed_storage").await.unwrap();
            let mut client = connect(&conn).await.unwrap();
            assert_eq!(migrate(&mut client).await.unwrap(), MIGRATIONS.len() as i64);
            let rows = client
                .query(
                    "SELECT c.relname::text, a.attname::text, a.attstorage::text
                     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                     WHERE (c.relname, a.attname) IN (('records', 'sealed_row'),
                         ('record_blobs', 'sealed'), ('superseded_records', 'sealed_row'),
                         ('superseded_record_blobs', 'sealed'), ('records', 'reason'))
                     ORDER BY 1, 2",
                    &[],
                )
                .await
                .unwrap();
            let got: Vec<(String, String, String)> = rows
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect();
            let want = |t: &str, c: &str, s: &str| (t.to_string(), c.to_string(), s.to_string());
            // 'e' (external, no compression) for ciphertext; a text column keeps the default.
            assert_eq!(
                got,
                vec![
                    want("record_blobs", "sealed", "e"),
                    want("records", "reason", "x"),
                    want("records", "sealed_row", "e"),
                    want("superseded_record_blobs", "sealed", "e"),
                    want("superseded_records", "sealed_row", "e"),
                ]
            );
        });
    }
}
