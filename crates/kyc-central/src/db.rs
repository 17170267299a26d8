//! PostgreSQL access: a small connection pool and the versioned migrations (recorded in
//! `schema_migrations`, each applied once, in order, in its own transaction).

use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::{Client, NoTls};

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
    // v2: fleet-wide duplicate enrolment (the index itself lives in the service's memory).
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
