//! kyc-central: the central service of a kiosk fleet, over PostgreSQL.
//!
//! Kiosks enrolled by an administrator push their chained audit trail here ([`sync`]); the
//! service checks each kiosk's chain as it arrives (a gap, a fork or a rollback quarantines the
//! kiosk and raises an alert) and keeps records, images and templates sealed to its own X25519
//! key. Central users (supervisors, administrators) follow the kiosk's password rules
//! ([`users`]). The HTTP API is in [`server`]; [`testpg`] starts a throwaway PostgreSQL cluster
//! for tests and benchmarks. The protocol and trust model are described in `docs/fleet.md`.

pub mod adminlog;
pub mod db;
pub mod dedup;
mod enrol;
pub mod hooks;
pub mod keyfile;
pub mod queue;
pub mod ratelimit;
pub mod readmit;
pub mod registry;
pub mod server;
pub mod settings;
pub mod sync;
pub mod testpg;
pub mod tls;
pub mod users;

use std::sync::Arc;

use kyc_core::fleet::CentralSecret;

pub use server::{ApiError, router, serve};
pub use users::{CentralRole, CentralUser};

/// Errors of the central service.
#[derive(Debug, thiserror::Error)]
pub enum CentralError {
    /// Setting up failed (PostgreSQL missing, key file, folder).
    #[error("set-up: {0}")]
    Setup(String),
    /// A database error.
    #[error("database: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// The database was migrated by a newer program.
    #[error("database schema version {found} is newer than this program's ({supported})")]
    SchemaTooNew {
        /// Version found.
        found: i64,
        /// Newest this build knows.
        supported: i64,
    },
    /// Bad input, with what is wrong.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Wrong user name or password, or a disabled account.
    #[error("sign-in refused: {0}")]
    Unauthorized(String),
    /// The user may not do this.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// A password the policy refuses.
    #[error("weak password: {0}")]
    WeakPassword(String),
    /// Something named does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A conflicting state (already enrolled, user exists).
    #[error("conflict: {0}")]
    Conflict(String),
}

/// The central service's state: the database pool and its sealing secret.
#[derive(Clone)]
pub struct Central {
    pub(crate) pool: db::Pool,
    pub(crate) secret: Arc<CentralSecret>,
    pub(crate) argon2_m_kib: u32,
    pub(crate) hooks: Arc<hooks::HookSettings>,
    pub(crate) dedup: Arc<dedup::DedupIndex>,
    /// Per-kiosk limits of the online duplicate search, and their buckets.
    pub(crate) search_limits: Arc<ratelimit::SearchLimits>,
    pub(crate) search_limiter: Arc<ratelimit::SearchLimiter>,
    /// When request nonces were last pruned (ms since epoch).
    pub(crate) nonces_pruned_ms: Arc<std::sync::atomic::AtomicI64>,
    /// How a push is cut into chunks (opened on a blocking thread while the one before is
    /// written).
    pub(crate) push_chunk: sync::PushChunk,
}

impl std::fmt::Debug for Central {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Central")
            .field("public_key", &hex::encode(self.secret.public_key()))
            .finish()
    }
}

impl Central {
    /// Connect to `conn_str`, apply pending migrations and use `secret` for sealed data.
    ///
    /// # Errors
    /// Database errors; `SchemaTooNew`.
    pub async fn open(conn_str: &str, secret: CentralSecret) -> Result<Self, CentralError> {
        let mut client = db::connect(conn_str).await?;
        db::migrate(&mut client).await?;
        drop(client);
        let central = Central {
            pool: db::Pool::new(conn_str, 8),
            secret: Arc::new(secret),
            argon2_m_kib: 19 * 1024,
            hooks: Arc::new(hooks::HookSettings::default()),
            dedup: Arc::new(dedup::DedupIndex::new(
                kyc_core::config::DuplicateSearch::default().cosine,
            )),
            nonces_pruned_ms: Arc::new(std::sync::atomic::AtomicI64::new(0)),
            search_limits: Arc::new(ratelimit::SearchLimits::default()),
            search_limiter: Arc::new(ratelimit::SearchLimiter::default()),
            push_chunk: sync::PushChunk::default(),
        };
        central.rebuild_dedup_index().await?;
        Ok(central)
    }

    /// Use other limits for the online duplicate search (fresh buckets).
    pub fn with_search_limits(mut self, limits: ratelimit::SearchLimits) -> Self {
        self.search_limits = Arc::new(limits);
        self.search_limiter = Arc::new(ratelimit::SearchLimiter::default());
        self
    }

    /// The limits of the online duplicate search in force.
    pub fn search_limits(&self) -> &ratelimit::SearchLimits {
        &self.search_limits
    }

    /// Cut pushes into other chunks than [`sync::PushChunk::default`].
    pub fn with_push_chunk(mut self, chunk: sync::PushChunk) -> Self {
        self.push_chunk = chunk;
        self
    }

    /// Cheap password hashing (tests only).
    pub fn with_fast_hashing(mut self) -> Self {
        self.argon2_m_kib = 256;
        self
    }

    /// The X25519 public key kiosks seal to.
    pub fn public_key(&self) -> [u8; 32] {
        self.secret.public_key()
    }

    /// The sealing secret (to open sealed rows and images).
    pub fn secret(&self) -> &CentralSecret {
        &self.secret
    }

    /// The schema version in force.
    ///
    /// # Errors
    /// Database errors.
    pub async fn schema_version(&self) -> Result<i64, CentralError> {
        let c = self.pool.get().await?;
        let v: Option<i64> = c
            .query_one("SELECT max(version) FROM schema_migrations", &[])
            .await?
            .get(0);
        Ok(v.unwrap_or(0))
    }
}
