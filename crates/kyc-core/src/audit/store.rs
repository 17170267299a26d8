//! The SQLite store: opening, writing verification records and reading them back.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::anchor::{self, AnchorRead};
use super::chain::{self, EventIn};
use super::cipher::{self, FileKind};
use super::crypto::{AuditKeys, KeyState, sha256_hex};
use super::error::AuditError;
use super::schema;
use super::search::{DEFAULT_DUPLICATE_THRESHOLD, FaceIndex, TEMPLATE_DIM};
use super::types::*;
use super::users::{Permission, Role, UserSession};
use crate::logs::WarnOnErr;

/// Settings of the audit store; `Default` uses the platform data and config folders.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// SQLite database file.
    pub db_path: PathBuf,
    /// Key file (blob key + chain key; the database key is derived from it), kept outside the
    /// database. Not read when the service manager passed the key as a credential (see
    /// [`AuditConfig::key_source`]).
    pub key_path: PathBuf,
    /// The folder of credentials the service manager passed (`$CREDENTIALS_DIRECTORY`, set by
    /// systemd's `LoadCredentialEncrypted=`/`LoadCredential=`); when it holds
    /// [`STORE_KEY_CREDENTIAL`], the keys are read from there instead of `key_path`.
    pub credentials_dir: Option<PathBuf>,
    /// Chain-head anchor file; `None` = beside the key file (`<key file>` with the extension
    /// `anchor`), see [`AuditConfig::anchor_file`].
    pub anchor_path: Option<PathBuf>,
    /// Create the key file when the database is new and no key exists.
    pub create_key: bool,
    /// Identifier of this kiosk, written into every record.
    pub kiosk_id: String,
    /// Write a checkpoint (chain head, count) every this many events.
    pub checkpoint_every: i64,
    /// How long to wait for a lock held by another process.
    pub busy_timeout: Duration,
    /// Cosine similarity at or above which two faces are the same person.
    pub duplicate_threshold: f32,
    /// Most matches a duplicate search reports.
    pub max_matches: usize,
    /// Argon2id memory cost in KiB.
    pub argon2_m_kib: u32,
    /// Argon2id iterations.
    pub argon2_t: u32,
    /// Failed logins in a row that lock an account.
    pub lockout_after: u32,
    /// Decrypt all templates into the 1:N index during `open` (≈0.6 s per 100k templates);
    /// when false, call [`AuditStore::reload_index`] later, e.g. from a worker thread.
    pub load_index_at_open: bool,
    /// Cap on the database size in pages (`PRAGMA max_page_count`); writes past it fail with
    /// `DiskFull` instead of filling the kiosk's disk. `None` = no cap.
    pub max_db_pages: Option<u64>,
    /// How long a locked account stays locked.
    pub lockout_for: Duration,
}

impl Default for AuditConfig {
    fn default() -> Self {
        let data = dirs::data_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join("kyc-kiosk");
        let conf = dirs::config_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join("kyc-kiosk");
        AuditConfig {
            db_path: data.join("audit.sqlite3"),
            key_path: conf.join("audit.key"),
            credentials_dir: std::env::var_os("CREDENTIALS_DIRECTORY")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from),
            anchor_path: None,
            create_key: true,
            kiosk_id: default_kiosk_id(),
            checkpoint_every: 100,
            busy_timeout: Duration::from_secs(5),
            duplicate_threshold: DEFAULT_DUPLICATE_THRESHOLD,
            max_matches: 10,
            argon2_m_kib: 19 * 1024,
            argon2_t: 2,
            lockout_after: 5,
            max_db_pages: None,
            load_index_at_open: true,
            lockout_for: Duration::from_secs(15 * 60),
        }
    }
}

impl AuditConfig {
    /// Defaults, but with the database at `db_path` and the key file beside it (`<db>.key`).
    pub fn at(db_path: impl Into<PathBuf>) -> Self {
        let db_path = db_path.into();
        let mut key = db_path.clone().into_os_string();
        key.push(".key");
        AuditConfig {
            db_path,
            key_path: PathBuf::from(key),
            ..AuditConfig::default()
        }
    }

    /// Where the chain-head anchor is kept: `anchor_path`, else the key file's path with the
    /// extension `anchor` (`audit.key` → `audit.anchor`, `x.sqlite3.key` → `x.sqlite3.anchor`).
    pub fn anchor_file(&self) -> PathBuf {
        self.anchor_path
            .clone()
            .unwrap_or_else(|| self.key_path.with_extension("anchor"))
    }

    /// The file the keys are read from: the credential [`STORE_KEY_CREDENTIAL`] in
    /// `credentials_dir` when it exists (decrypted by the service manager, TPM2-bound where the
    /// machine has one), else `key_path`.
    pub fn key_source(&self) -> PathBuf {
        if let Some(dir) = &self.credentials_dir {
            let p = dir.join(STORE_KEY_CREDENTIAL);
            if p.is_file() {
                return p;
            }
        }
        self.key_path.clone()
    }

    /// Cheap password hashing for tests (never in production).
    pub fn with_fast_hashing(mut self) -> Self {
        self.argon2_m_kib = 256;
        self.argon2_t = 1;
        self
    }
}

/// Name of the credential holding the store's key file (`systemd-creds encrypt
/// --name=kyc-kiosk-store-key …`, loaded with `LoadCredentialEncrypted=`).
pub const STORE_KEY_CREDENTIAL: &str = "kyc-kiosk-store-key";

fn default_kiosk_id() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "kiosk".to_string())
}

/// Outcome of an image purge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    /// Records created before this time lost their images.
    pub cutoff_ms: i64,
    /// Records whose images were removed.
    pub records: u64,
    /// Image blobs removed.
    pub blobs: u64,
}

/// Outcome of a customer erasure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasureReport {
    /// Records whose biometric data was erased.
    pub verification_ids: Vec<i64>,
    /// Image blobs removed.
    pub blobs: u64,
    /// Face templates removed.
    pub templates: u64,
}

/// The audit store of one kiosk.
pub struct AuditStore {
    pub(crate) conn: Connection,
    pub(crate) keys: Option<AuditKeys>,
    pub(crate) key_state: KeyState,
    pub(crate) cfg: AuditConfig,
    pub(crate) index: FaceIndex,
    /// Opened by [`AuditStore::open_read_only`]: nothing is ever written.
    pub(crate) read_only: bool,
    /// The database holds no audit schema (only possible read-only: a 0-byte or foreign file).
    pub(crate) schema_missing: bool,
    /// The database file is encrypted (SQLCipher); false only for a plaintext store of an
    /// earlier version opened read-only (the next read-write open encrypts it).
    pub(crate) encrypted: bool,
    /// Why the database disagrees with its anchor (found at open): writes are refused.
    pub(crate) anchor_broken: Option<String>,
    /// The last failure to move the anchor forward after a commit (the commit itself stood).
    pub(crate) anchor_error: Option<String>,
}

impl std::fmt::Debug for AuditStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditStore")
            .field("db", &self.cfg.db_path)
            .field("key_state", &self.key_state)
            .field("templates", &self.index.len())
            .finish()
    }
}

pub(crate) const SUMMARY_COLUMNS: &str = "id, kiosk_id, operator, customer_type, claimed_id_type, \
    claimed_id_number, started_ms, finished_ms, created_ms, decision, decision_reason, \
    current_decision, review_status, document_number, full_name, country, overall_confidence, \
    images_purged_ms, erased_ms";

impl AuditStore {
    /// Open (creating if needed) the store at the default platform location.
    pub fn open_default() -> Result<Self, AuditError> {
        Self::open(AuditConfig::default())
    }

    /// Open (creating and migrating if needed) the store described by `cfg`.
    pub fn open(cfg: AuditConfig) -> Result<Self, AuditError> {
        if let Some(dir) = cfg.db_path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| AuditError::io(dir, e))?;
        }
        let is_new = !cfg.db_path.exists();
        let db_path = cfg.db_path.clone();
        let opened = Self::open_inner(cfg, is_new);
        if opened.is_err() && is_new {
            // A new database that could not be set up (full disk, read-only folder) must not
            // stay behind as a 0-byte or half-made file that later looks like a wiped store.
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut p = db_path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(p));
            }
        }
        opened
    }

    fn open_inner(cfg: AuditConfig, is_new: bool) -> Result<Self, AuditError> {
        let kind = cipher::file_kind(&cfg.db_path)?;
        let key_source = cfg.key_source();
        let keys = obtain_keys(&cfg, &key_source, kind)?;
        // A plaintext store of an earlier version is encrypted once, before anything else.
        let encrypted_now = if kind == FileKind::Plaintext {
            cipher::encrypt_plaintext(&cfg.db_path, &keys, &key_source, cfg.busy_timeout)?
        } else {
            None
        };
        // The key and the page format come first: nothing can be read or written before them.
        let (mut conn, format) = cipher::open_keyed(
            &cfg.db_path,
            rusqlite::OpenFlags::default(),
            &keys,
            &key_source,
        )?;
        if format != cipher::STORE_FORMAT {
            // A store of the earlier page format is moved to the current one once. It stays
            // usable as it is when that cannot be done now (another process has it open, no
            // room for the copy): the next open tries again.
            drop(conn);
            match cipher::reformat(&cfg.db_path, &keys, &key_source, cfg.busy_timeout) {
                Ok(_) => {}
                Err(e @ (AuditError::WrongKey(_) | AuditError::KeyMissing(_))) => return Err(e),
                Err(e) => tracing::warn!(
                    error = %e,
                    "audit: the store stays in its earlier page format for now"
                ),
            }
            (conn, _) = cipher::open_keyed(
                &cfg.db_path,
                rusqlite::OpenFlags::default(),
                &keys,
                &key_source,
            )?;
        }
        conn.busy_timeout(cfg.busy_timeout)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(AuditError::Corrupt(format!(
                "could not switch to WAL journal (got {mode})"
            )));
        }
        // FULL: a commit is on disk (WAL fsynced) before we acknowledge it.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Erased biometric data must not linger in free pages.
        conn.pragma_update(None, "secure_delete", "ON")?;
        restrict_permissions(&cfg.db_path);
        schema::migrate(&mut conn)?;
        if let Some(pages) = cfg.max_db_pages {
            conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
        }
        check_fingerprint(&conn, &keys, &key_source, true)?;
        let mut store = AuditStore {
            conn,
            keys: Some(keys.clone()),
            key_state: KeyState::Ok,
            cfg,
            index: FaceIndex::new(),
            read_only: false,
            schema_missing: false,
            encrypted: true,
            anchor_broken: None,
            anchor_error: None,
        };
        let path = store.cfg.anchor_file();
        if is_new && anchor::read(&path, &keys)? == AnchorRead::Missing {
            // A new store starts its anchor at the empty chain (seq 0).
            anchor::advance(&path, &keys, 0, &[0u8; 32], true)?;
        }
        store.anchor_broken = store.anchor_problem(&keys)?;
        if let Some(done) = encrypted_now {
            // Chained only on a trail that matches its anchor (a rolled-back file stays refused).
            if store.anchor_broken.is_none() {
                let (head_seq, _) = store.chain_head()?;
                store.append(
                    chain::EV_STORE_ENCRYPTED,
                    "system:encryption",
                    None,
                    serde_json::json!({
                        "from": "plaintext",
                        "cipher": "sqlcipher",
                        "cipher_version": done.cipher_version,
                        "plaintext_bytes": done.plaintext_bytes,
                        "head_seq_before": head_seq,
                    }),
                )?;
            }
        }
        if store.cfg.load_index_at_open {
            store.reload_index()?;
        }
        Ok(store)
    }

    /// Open an existing store for checking only: the file is opened read-only, nothing is
    /// created, migrated, encrypted or repaired, and no key is made. A missing database is
    /// `NotFound`; a 0-byte file opens (its `verify` then reports the missing audit schema).
    /// A plaintext store of an earlier version is checked as it is ([`AuditStore::is_encrypted`]
    /// is then false; the kiosk encrypts it when it next opens it read-write).
    ///
    /// # Errors
    /// `NotFound`, key errors (`KeyMissing`, `KeyPermissions`, `KeyMalformed`, `WrongKey` — a
    /// key that does not open the file, or a file that is not an audit database),
    /// `SchemaTooNew`, SQLite errors.
    pub fn open_read_only(cfg: AuditConfig) -> Result<Self, AuditError> {
        use rusqlite::OpenFlags;
        let meta = std::fs::metadata(&cfg.db_path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                AuditError::NotFound(format!("audit database {}", cfg.db_path.display()))
            } else {
                AuditError::io(&cfg.db_path, e)
            }
        })?;
        if !meta.is_file() {
            return Err(AuditError::InvalidInput(format!(
                "{} is not a regular file",
                cfg.db_path.display()
            )));
        }
        let key_source = cfg.key_source();
        if !key_source.exists() {
            return Err(AuditError::KeyMissing(key_source));
        }
        let keys = AuditKeys::load(&key_source)?;
        let kind = cipher::file_kind(&cfg.db_path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let encrypted = kind != FileKind::Plaintext;
        // Either page format is read as it is: only a read-write open migrates.
        let conn = if encrypted {
            cipher::open_keyed(&cfg.db_path, flags, &keys, &key_source)?.0
        } else {
            Connection::open_with_flags(&cfg.db_path, flags)?
        };
        conn.busy_timeout(cfg.busy_timeout)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > schema::SCHEMA_VERSION {
            return Err(AuditError::SchemaTooNew {
                found: version,
                supported: schema::SCHEMA_VERSION,
            });
        }
        let schema_missing = version == 0;
        if !schema_missing && version < schema::SCHEMA_VERSION {
            return Err(AuditError::InvalidInput(format!(
                "audit database schema version {version} is older than this program's ({}); \
                 open it once with the kiosk to migrate it",
                schema::SCHEMA_VERSION
            )));
        }
        if !schema_missing {
            check_fingerprint(&conn, &keys, &key_source, false)?;
        }
        Ok(AuditStore {
            conn,
            keys: Some(keys),
            key_state: KeyState::Ok,
            cfg,
            index: FaceIndex::new(),
            read_only: true,
            schema_missing,
            encrypted,
            anchor_broken: None,
            anchor_error: None,
        })
    }

    /// A connection to the database file keyed with `cfg`'s key and nothing else set up or
    /// checked: for forensic inspection, and for tests that tamper with the file as someone
    /// holding the key would. Nothing done through it is chained.
    ///
    /// # Errors
    /// Key errors (`KeyMissing`, `KeyPermissions`, `KeyMalformed`), `WrongKey`, SQLite errors.
    pub fn raw_connection(cfg: &AuditConfig) -> Result<Connection, AuditError> {
        let source = cfg.key_source();
        if !source.exists() {
            return Err(AuditError::KeyMissing(source));
        }
        let keys = AuditKeys::load(&source)?;
        let (conn, _) =
            cipher::open_keyed(&cfg.db_path, rusqlite::OpenFlags::default(), &keys, &source)?;
        conn.busy_timeout(cfg.busy_timeout)?;
        Ok(conn)
    }

    /// Whether the database file is encrypted (SQLCipher). Always true for a store opened
    /// read-write; false for a plaintext store of an earlier version opened read-only.
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    /// The newest event's (seq, hash), or (0, zeros) for an empty chain.
    pub(crate) fn chain_head(&self) -> Result<(i64, Vec<u8>), AuditError> {
        if self.schema_missing {
            return Ok((0, vec![0u8; 32]));
        }
        Ok(self
            .conn
            .query_row(
                "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .unwrap_or((0, vec![0u8; 32])))
    }

    /// Compare the anchor file with the database; `Some(reason)` when they disagree. The
    /// anchor is read before the database, so a concurrent commit can only put the database
    /// ahead of the anchor (which is fine), never behind it.
    pub(crate) fn anchor_problem(&self, keys: &AuditKeys) -> Result<Option<String>, AuditError> {
        let path = self.cfg.anchor_file();
        let read = anchor::read(&path, keys)?;
        let (head_seq, _) = self.chain_head()?;
        Ok(match read {
            AnchorRead::Missing => Some(format!(
                "the anchor file is missing (the database holds {head_seq} events)"
            )),
            AnchorRead::Invalid(reason) => Some(format!("the anchor file is invalid: {reason}")),
            AnchorRead::Valid(a) if a.head_seq > head_seq => Some(format!(
                "the anchor records event {} but the database ends at event {head_seq} \
                 (newest events deleted, or an older copy of the database put back)",
                a.head_seq
            )),
            AnchorRead::Valid(a) if a.head_seq > 0 => {
                let at: Option<Vec<u8>> = self
                    .conn
                    .query_row(
                        "SELECT hash FROM events WHERE seq = ?1",
                        [a.head_seq],
                        |r| r.get(0),
                    )
                    .optional()?;
                if at.as_deref() == Some(a.head_hash.as_slice()) {
                    None
                } else {
                    Some(format!(
                        "event {} differs from the anchored one (the database was replaced)",
                        a.head_seq
                    ))
                }
            }
            AnchorRead::Valid(_) => None,
        })
    }

    /// Why writes are refused because the database disagrees with its anchor (found at open),
    /// if they are.
    pub fn anchor_broken(&self) -> Option<&str> {
        self.anchor_broken.as_deref()
    }

    /// The last failure to move the anchor forward after a commit, if any (the commit stood;
    /// the anchor then lags the database until the next successful write).
    pub fn anchor_error(&self) -> Option<&str> {
        self.anchor_error.as_deref()
    }

    /// The keys for a write: refused on a read-only store and on one that disagrees with its
    /// anchor (rolled back, cut or replaced).
    pub(crate) fn write_keys(&self) -> Result<AuditKeys, AuditError> {
        if self.read_only {
            return Err(AuditError::InvalidInput(
                "the audit store was opened read-only".into(),
            ));
        }
        if let Some(reason) = &self.anchor_broken {
            return Err(AuditError::AnchorMismatch {
                path: self.cfg.anchor_file(),
                reason: reason.clone(),
            });
        }
        Ok(self.keys()?.clone())
    }

    /// After a commit: move the anchor to the new chain head (fsynced). A failure leaves the
    /// commit standing and is kept in [`AuditStore::anchor_error`].
    pub(crate) fn committed(&mut self) {
        let Some(keys) = self.keys.clone() else {
            return;
        };
        let outcome = self.chain_head().and_then(|(seq, hash)| {
            anchor::advance(&self.cfg.anchor_file(), &keys, seq, &hash, false)
        });
        self.anchor_error = outcome.err().map(|e| e.to_string());
    }

    /// The configuration the store was opened with.
    pub fn config(&self) -> &AuditConfig {
        &self.cfg
    }

    /// Whether the key file was found and matches the database.
    pub fn key_state(&self) -> &KeyState {
        &self.key_state
    }

    /// The in-memory template index used for 1:N search.
    pub fn face_index(&self) -> &FaceIndex {
        &self.index
    }

    /// Path of the database file.
    pub fn db_path(&self) -> &Path {
        &self.cfg.db_path
    }

    /// Name the kiosk written into the records that follow (the window's first-run set-up).
    pub fn set_kiosk_id(&mut self, kiosk_id: &str) {
        self.cfg.kiosk_id = kiosk_id.to_string();
    }

    /// The keys, or the error that explains why they are unavailable.
    pub(crate) fn keys(&self) -> Result<&AuditKeys, AuditError> {
        match (&self.keys, &self.key_state) {
            (Some(k), KeyState::Ok) => Ok(k),
            (_, KeyState::Wrong(p)) => Err(AuditError::WrongKey(p.clone())),
            (_, KeyState::Missing(p)) => Err(AuditError::KeyMissing(p.clone())),
            (None, KeyState::Ok) => Err(AuditError::KeyMissing(self.cfg.key_path.clone())),
        }
    }

    /// Decrypt every stored template into the in-memory index (done at open; call again if
    /// another process changed the store).
    pub fn reload_index(&mut self) -> Result<usize, AuditError> {
        let Ok(keys) = self.keys() else {
            self.index = FaceIndex::new();
            return Ok(0);
        };
        let keys = keys.clone();
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM templates", [], |r| r.get(0))?;
        let mut index = FaceIndex::with_capacity(n.max(0) as usize);
        let mut stmt = self
            .conn
            .prepare("SELECT verification_id, id_key, sealed FROM templates")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let vid: i64 = row.get(0)?;
            let id_key: Option<String> = row.get(1)?;
            let sealed: Vec<u8> = row.get(2)?;
            // A template that fails authentication is skipped here; `verify` reports it.
            if let Some(t) = keys
                .open(&blob_aad(vid, "template"), &sealed)
                .and_then(|b| bytes_to_template(&b))
            {
                index.insert(vid, id_key, &t)?;
            }
        }
        self.index = index;
        Ok(self.index.len())
    }

    /// Search a template against every enrolled customer (1:N) without writing anything.
    pub fn check_duplicates(
        &self,
        template: &[f32],
        id_number: Option<&str>,
    ) -> Result<DuplicateReport, AuditError> {
        let key = id_number.map(normalize_id_number).filter(|k| !k.is_empty());
        self.index.check_duplicates(
            template,
            key.as_deref(),
            self.cfg.duplicate_threshold,
            self.cfg.max_matches,
        )
    }

    /// Write one verification record (session, result JSON, encrypted images and template,
    /// corrections) in one durable transaction and chain it. Runs the 1:N duplicate check
    /// first: flagged duplicates send the case to review (`approve` becomes `refer`).
    pub fn record_verification(
        &mut self,
        rec: &NewVerification<'_>,
    ) -> Result<RecordReceipt, AuditError> {
        let mut out = self.record_verifications(std::slice::from_ref(rec))?;
        out.pop()
            .ok_or_else(|| AuditError::InvalidInput("nothing recorded".into()))
    }

    /// Write several records in one transaction (bulk import, benchmarks); same rules as
    /// [`AuditStore::record_verification`].
    pub fn record_verifications(
        &mut self,
        recs: &[NewVerification<'_>],
    ) -> Result<Vec<RecordReceipt>, AuditError> {
        let keys = self.write_keys()?;
        for rec in recs {
            validate(rec)?;
        }
        let mut prepared = Vec::with_capacity(recs.len());
        for rec in recs {
            let id_key = rec
                .indexed
                .document_number
                .as_deref()
                .or(rec.claimed_id_number)
                .map(normalize_id_number)
                .filter(|k| !k.is_empty());
            let duplicates = match rec.template {
                Some(t) => self.index.check_duplicates(
                    t,
                    id_key.as_deref(),
                    self.cfg.duplicate_threshold,
                    self.cfg.max_matches,
                )?,
                None => DuplicateReport::default(),
            };
            prepared.push((id_key, duplicates));
        }
        let kiosk = self.cfg.kiosk_id.clone();
        let every = self.cfg.checkpoint_every;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut receipts = Vec::with_capacity(recs.len());
        let mut new_templates = Vec::new();
        for (rec, (id_key, duplicates)) in recs.iter().zip(prepared) {
            let created_ms = now_ms();
            let flagged = duplicates.flagged();
            let current = if flagged && rec.indexed.decision == Decision::Approve {
                Decision::Refer
            } else {
                rec.indexed.decision
            };
            let review = if current == Decision::Refer || flagged {
                ReviewStatus::Pending
            } else {
                ReviewStatus::None
            };
            let mut canon = chain::VerificationCanon {
                id: 0,
                kiosk_id: kiosk.clone(),
                operator: rec.operator.to_string(),
                customer_type: rec.customer_type.as_str().to_string(),
                claimed_id_type: rec.claimed_id_type.map(str::to_string),
                claimed_id_number: rec.claimed_id_number.map(str::to_string),
                started_ms: rec.started_ms,
                finished_ms: rec.finished_ms,
                created_ms,
                decision: rec.indexed.decision.as_str().to_string(),
                decision_reason: rec.indexed.decision_reason.clone(),
                document_number: rec.indexed.document_number.clone(),
                id_key: id_key.clone(),
                full_name: rec.indexed.full_name.clone(),
                country: rec.indexed.country.clone(),
                overall_confidence: rec.indexed.overall_confidence,
                result_json: serde_json::to_string(rec.result)?,
                models_json: serde_json::to_string(rec.models)?,
                duplicates_json: serde_json::to_string(&duplicates)?,
            };
            tx.execute(
                "INSERT INTO verifications (kiosk_id, operator, customer_type, claimed_id_type,
                    claimed_id_number, started_ms, finished_ms, created_ms, decision,
                    decision_reason, document_number, id_key, full_name, country,
                    overall_confidence, result_json, models_json, duplicates_json,
                    current_decision, review_status)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20)",
                params![
                    canon.kiosk_id,
                    canon.operator,
                    canon.customer_type,
                    canon.claimed_id_type,
                    canon.claimed_id_number,
                    canon.started_ms,
                    canon.finished_ms,
                    canon.created_ms,
                    canon.decision,
                    canon.decision_reason,
                    canon.document_number,
                    canon.id_key,
                    canon.full_name,
                    canon.country,
                    canon.overall_confidence,
                    canon.result_json,
                    canon.models_json,
                    canon.duplicates_json,
                    current.as_str(),
                    review.as_str(),
                ],
            )?;
            let id = tx.last_insert_rowid();
            canon.id = id;
            let mut blob_digests = std::collections::BTreeMap::new();
            for (kind, bytes) in rec.images {
                let sealed = keys.seal(&blob_aad(id, kind.as_str()), bytes)?;
                blob_digests.insert(kind.as_str().to_string(), sha256_hex(&sealed));
                tx.execute(
                    "INSERT INTO blobs (verification_id, kind, sealed) VALUES (?1, ?2, ?3)",
                    params![id, kind.as_str(), sealed],
                )?;
            }
            let template_sha256 = match rec.template {
                Some(t) => {
                    let sealed = keys.seal(&blob_aad(id, "template"), &template_to_bytes(t)?)?;
                    let d = sha256_hex(&sealed);
                    tx.execute(
                        "INSERT INTO templates (verification_id, id_key, sealed) VALUES (?1, ?2, ?3)",
                        params![id, id_key, sealed],
                    )?;
                    new_templates.push((id, id_key.clone(), t));
                    Some(d)
                }
                None => None,
            };
            let payload = serde_json::json!({
                "id": id,
                "row_sha256": canon.digest()?,
                "blobs": blob_digests,
                "template_sha256": template_sha256,
                "current_decision": current.as_str(),
                "review_status": review.as_str(),
            });
            let seq = chain::append_event(
                &tx,
                &keys,
                every,
                EventIn {
                    kind: chain::EV_VERIFICATION,
                    actor: rec.operator,
                    verification_id: Some(id),
                    payload,
                },
            )?;
            for c in rec.corrections {
                insert_correction(&tx, &keys, every, id, c)?;
            }
            receipts.push(RecordReceipt {
                id,
                event_seq: seq,
                duplicates,
                current_decision: current,
                review_status: review,
            });
        }
        tx.commit()?;
        self.committed();
        for r in &receipts {
            tracing::info!(
                verification_id = r.id,
                seq = r.event_seq,
                face_matches = r.duplicates.matches.len(),
                flagged = r.duplicates.flagged(),
                "audit: verification recorded"
            );
        }
        for (id, key, t) in new_templates {
            self.index.insert(id, key, t)?;
        }
        Ok(receipts)
    }

    /// Record a field correction made after the record was written.
    pub fn add_correction(
        &mut self,
        by: &UserSession,
        verification_id: i64,
        c: &FieldCorrection,
    ) -> Result<i64, AuditError> {
        by.require(Permission::RecordVerification)?;
        let operator = self.record_operator(verification_id)?;
        if by.role() == Role::Agent && operator != by.username() {
            return Err(by.denied(Permission::ViewAllRecords));
        }
        let keys = self.write_keys()?;
        let every = self.cfg.checkpoint_every;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let cid = insert_correction(&tx, &keys, every, verification_id, c)?;
        tx.commit()?;
        self.committed();
        Ok(cid)
    }

    /// Record a supervisor's action on a record; a `decision` closes the review.
    pub fn record_supervisor_action(
        &mut self,
        by: &UserSession,
        verification_id: i64,
        action: &str,
        decision: Option<Decision>,
        note: &str,
    ) -> Result<i64, AuditError> {
        by.require(Permission::SupervisorReview)?;
        if action.trim().is_empty() {
            return Err(AuditError::InvalidInput("empty supervisor action".into()));
        }
        let keys = self.write_keys()?;
        let every = self.cfg.checkpoint_every;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (cur, rev): (String, String) = tx
            .query_row(
                "SELECT current_decision, review_status FROM verifications WHERE id = ?1",
                [verification_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| AuditError::NotFound(format!("verification {verification_id}")))?;
        let acted_ms = now_ms();
        tx.execute(
            "INSERT INTO supervisor_actions (verification_id, supervisor, action, decision, note, acted_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                verification_id,
                by.username(),
                action,
                decision.map(Decision::as_str),
                note,
                acted_ms
            ],
        )?;
        let aid = tx.last_insert_rowid();
        let (cur, rev) = match decision {
            Some(d) => (
                d.as_str().to_string(),
                ReviewStatus::Closed.as_str().to_string(),
            ),
            None => (cur, rev),
        };
        tx.execute(
            "UPDATE verifications SET current_decision = ?1, review_status = ?2 WHERE id = ?3",
            params![cur, rev, verification_id],
        )?;
        let row = SupervisorAction {
            id: aid,
            verification_id,
            supervisor: by.username().to_string(),
            action: action.to_string(),
            decision,
            note: note.to_string(),
            acted_ms,
        };
        chain::append_event(
            &tx,
            &keys,
            every,
            EventIn {
                kind: chain::EV_SUPERVISOR,
                actor: by.username(),
                verification_id: Some(verification_id),
                payload: serde_json::json!({
                    "id": aid,
                    "row_sha256": chain::digest(&row)?,
                    "current_decision": cur,
                    "review_status": rev,
                }),
            },
        )?;
        tx.commit()?;
        self.committed();
        Ok(aid)
    }

    fn record_operator(&self, id: i64) -> Result<String, AuditError> {
        self.conn
            .query_row(
                "SELECT operator FROM verifications WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| AuditError::NotFound(format!("verification {id}")))
    }

    /// A page of records matching `filter`, newest first. Agents only ever see their own.
    pub fn query(
        &self,
        by: &UserSession,
        filter: &RecordFilter,
        page: Page,
    ) -> Result<Vec<RecordSummary>, AuditError> {
        let filter = self.scoped_filter(by, filter)?;
        let (where_sql, args) = where_clause(&filter);
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM verifications {where_sql}
             ORDER BY created_ms DESC, id DESC LIMIT {} OFFSET {}",
            page.limit.min(1000),
            page.offset
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), summary_from_row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    /// The supervisor review queue (pending records, oldest first).
    pub fn review_queue(
        &self,
        by: &UserSession,
        page: Page,
    ) -> Result<Vec<RecordSummary>, AuditError> {
        by.require(Permission::SupervisorReview)?;
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM verifications WHERE review_status = 'pending'
             ORDER BY created_ms ASC, id ASC LIMIT {} OFFSET {}",
            page.limit.min(1000),
            page.offset
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], summary_from_row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    /// Apply role scoping: an agent's filter is forced to their own records.
    pub(crate) fn scoped_filter(
        &self,
        by: &UserSession,
        filter: &RecordFilter,
    ) -> Result<RecordFilter, AuditError> {
        let mut f = filter.clone();
        if by.allows(Permission::ViewAllRecords) {
            return Ok(f);
        }
        by.require(Permission::ViewOwnRecords)?;
        match &f.operator {
            Some(op) if op != by.username() => {
                return Err(by.denied(Permission::ViewAllRecords));
            }
            _ => f.operator = Some(by.username().to_string()),
        }
        Ok(f)
    }

    /// One full record (result JSON, corrections, supervisor actions); agents only their own.
    pub fn get_record(&self, by: &UserSession, id: i64) -> Result<RecordDetail, AuditError> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, result_json, models_json, duplicates_json
             FROM verifications WHERE id = ?1"
        );
        let (summary, result, models, dups) = self
            .conn
            .query_row(&sql, [id], |r| {
                Ok((
                    summary_from_row(r),
                    r.get::<_, String>(19)?,
                    r.get::<_, String>(20)?,
                    r.get::<_, String>(21)?,
                ))
            })
            .optional()?
            .ok_or_else(|| AuditError::NotFound(format!("verification {id}")))?;
        let summary = summary??;
        if !by.allows(Permission::ViewAllRecords) {
            by.require(Permission::ViewOwnRecords)?;
            if summary.operator != by.username() {
                return Err(by.denied(Permission::ViewAllRecords));
            }
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT field, before_value, after_value, corrected_by, corrected_ms
             FROM corrections WHERE verification_id = ?1 ORDER BY id",
        )?;
        let corrections = stmt
            .query_map([id], |r| {
                Ok(FieldCorrection {
                    field: r.get(0)?,
                    before: r.get(1)?,
                    after: r.get(2)?,
                    corrected_by: r.get(3)?,
                    corrected_ms: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let supervisor_actions = self.supervisor_actions(id)?;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT kind FROM blobs WHERE verification_id = ?1 ORDER BY kind")?;
        let mut images = Vec::new();
        for k in stmt.query_map([id], |r| r.get::<_, String>(0))? {
            let k: String = k?;
            images.push(ImageKind::parse(&k)?);
        }
        let has_template: bool = self.conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM templates WHERE verification_id = ?1)",
            [id],
            |r| r.get(0),
        )?;
        Ok(RecordDetail {
            summary,
            result: serde_json::from_str(&result)?,
            models: serde_json::from_str(&models)?,
            duplicates: serde_json::from_str(&dups)?,
            corrections,
            supervisor_actions,
            images,
            has_template,
        })
    }

    pub(crate) fn supervisor_actions(&self, id: i64) -> Result<Vec<SupervisorAction>, AuditError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, verification_id, supervisor, action, decision, note, acted_ms
             FROM supervisor_actions WHERE verification_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([id], supervisor_action_from_row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    /// Decrypt one stored image. Needs the biometric-view permission. A missing or wrong key
    /// fails here only; the rest of the record stays readable.
    pub fn load_image(
        &self,
        by: &UserSession,
        verification_id: i64,
        kind: ImageKind,
    ) -> Result<Vec<u8>, AuditError> {
        by.require(Permission::ViewBiometrics)?;
        let sealed: Vec<u8> = self
            .conn
            .query_row(
                "SELECT sealed FROM blobs WHERE verification_id = ?1 AND kind = ?2",
                params![verification_id, kind.as_str()],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| {
                AuditError::NotFound(format!("{} of verification {verification_id}", kind))
            })?;
        let keys = self.keys()?;
        keys.open(&blob_aad(verification_id, kind.as_str()), &sealed)
            .ok_or_else(|| AuditError::BlobAuthFailed {
                record_id: verification_id,
                kind: kind.as_str().to_string(),
            })
    }

    /// Decrypt one stored face template (biometric-view permission).
    pub fn load_template(
        &self,
        by: &UserSession,
        verification_id: i64,
    ) -> Result<Vec<f32>, AuditError> {
        by.require(Permission::ViewBiometrics)?;
        let sealed: Vec<u8> = self
            .conn
            .query_row(
                "SELECT sealed FROM templates WHERE verification_id = ?1",
                [verification_id],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| {
                AuditError::NotFound(format!("template of verification {verification_id}"))
            })?;
        let keys = self.keys()?;
        let fail = || AuditError::BlobAuthFailed {
            record_id: verification_id,
            kind: "template".into(),
        };
        let bytes = keys
            .open(&blob_aad(verification_id, "template"), &sealed)
            .ok_or_else(fail)?;
        bytes_to_template(&bytes).ok_or_else(fail)
    }

    /// Remove document, portrait and selfie images of records older than `days`; decisions and
    /// templates stay. The purge is itself a chained event.
    pub fn purge_images(&mut self, by: &UserSession, days: u32) -> Result<PurgeReport, AuditError> {
        let cutoff = now_ms() - i64::from(days) * 86_400_000;
        self.purge_images_before(by, cutoff)
    }

    /// How many records created before `cutoff_ms` still hold images (what a purge with that
    /// cutoff would touch).
    pub fn records_with_images_before(&self, cutoff_ms: i64) -> Result<u64, AuditError> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM verifications
             WHERE created_ms < ?1 AND id IN (SELECT verification_id FROM blobs)",
            [cutoff_ms],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// Remove images of records created before `cutoff_ms` (ms since epoch).
    pub fn purge_images_before(
        &mut self,
        by: &UserSession,
        cutoff_ms: i64,
    ) -> Result<PurgeReport, AuditError> {
        by.require(Permission::Purge)?;
        let keys = self.write_keys()?;
        let every = self.cfg.checkpoint_every;
        let now = now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let records = tx.execute(
            "UPDATE verifications SET images_purged_ms = ?2
             WHERE created_ms < ?1 AND id IN (SELECT verification_id FROM blobs)",
            params![cutoff_ms, now],
        )? as u64;
        let blobs = tx.execute(
            "DELETE FROM blobs WHERE verification_id IN
                (SELECT id FROM verifications WHERE created_ms < ?1)",
            [cutoff_ms],
        )? as u64;
        chain::append_event(
            &tx,
            &keys,
            every,
            EventIn {
                kind: chain::EV_PURGE,
                actor: by.username(),
                verification_id: None,
                payload: serde_json::json!({
                    "cutoff_ms": cutoff_ms, "records": records, "blobs": blobs
                }),
            },
        )?;
        tx.commit()?;
        self.committed();
        self.flush_wal();
        Ok(PurgeReport {
            cutoff_ms,
            records,
            blobs,
        })
    }

    /// Delete the images of given records now, keeping decisions and face templates (the
    /// reference services' "delete the image but keep the template"); chained as
    /// `images_deleted`. Returns the number of images removed.
    pub fn delete_images(
        &mut self,
        by: &UserSession,
        ids: &[i64],
        reason: &str,
    ) -> Result<u64, AuditError> {
        by.require(Permission::Erase)?;
        let keys = self.write_keys()?;
        let every = self.cfg.checkpoint_every;
        let now = now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut blobs = 0u64;
        for id in ids {
            let n = tx.execute(
                "UPDATE verifications SET images_purged_ms = ?2 WHERE id = ?1",
                params![id, now],
            )?;
            if n == 0 {
                return Err(AuditError::NotFound(format!("verification {id}")));
            }
            blobs += tx.execute("DELETE FROM blobs WHERE verification_id = ?1", [id])? as u64;
        }
        chain::append_event(
            &tx,
            &keys,
            every,
            EventIn {
                kind: chain::EV_IMAGES_DELETED,
                actor: by.username(),
                verification_id: None,
                payload: serde_json::json!({
                    "verification_ids": ids, "reason": reason, "blobs": blobs,
                }),
            },
        )?;
        tx.commit()?;
        self.committed();
        self.flush_wal();
        Ok(blobs)
    }

    /// Erase the personal data of every record of a customer, found by normalised ID number:
    /// images, face templates, name, ID and document numbers, the stored result JSON (fields,
    /// MRZ, OCR text) and corrected values. Decisions, times and operators stay; a tombstone
    /// event (with a keyed tag, not the ID itself) chains the new row digests.
    pub fn erase_customer(
        &mut self,
        by: &UserSession,
        id_number: &str,
        reason: &str,
    ) -> Result<ErasureReport, AuditError> {
        let key = normalize_id_number(id_number);
        if key.is_empty() {
            return Err(AuditError::InvalidInput("empty ID number".into()));
        }
        let mut stmt = self.conn.prepare(
            "SELECT id FROM verifications WHERE id_key = ?1 OR
                 (claimed_id_number IS NOT NULL AND claimed_id_number = ?2) ORDER BY id",
        )?;
        let ids = stmt
            .query_map(params![key, id_number], |r| r.get::<_, i64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        drop(stmt);
        let tag = self.keys()?.tag("id-number", &key);
        self.erase_ids(by, &ids, Some(tag), reason)
    }

    /// Erase the biometric data of given records (e.g. one verification).
    pub fn erase_records(
        &mut self,
        by: &UserSession,
        ids: &[i64],
        reason: &str,
    ) -> Result<ErasureReport, AuditError> {
        self.erase_ids(by, ids, None, reason)
    }

    fn erase_ids(
        &mut self,
        by: &UserSession,
        ids: &[i64],
        tag: Option<String>,
        reason: &str,
    ) -> Result<ErasureReport, AuditError> {
        by.require(Permission::Erase)?;
        if ids.is_empty() {
            return Err(AuditError::NotFound("no record for that customer".into()));
        }
        let keys = self.write_keys()?;
        let every = self.cfg.checkpoint_every;
        let now = now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut blobs = 0u64;
        let mut templates = 0u64;
        let mut rows = std::collections::BTreeMap::new();
        let mut corrections = std::collections::BTreeMap::new();
        let erased_result = serde_json::json!({ "erased": true, "erasedMs": now }).to_string();
        for id in ids {
            // Every piece of personal data goes: name, numbers, the whole result JSON (fields,
            // MRZ lines, OCR text), corrected values, images and the face template.
            let n = tx.execute(
                "UPDATE verifications SET erased_ms = ?2, claimed_id_number = NULL,
                     document_number = NULL, id_key = NULL, full_name = NULL, result_json = ?3
                 WHERE id = ?1",
                params![id, now, erased_result],
            )?;
            if n == 0 {
                return Err(AuditError::NotFound(format!("verification {id}")));
            }
            rows.insert(id.to_string(), verification_canon(&tx, *id)?.digest()?);
            tx.execute(
                "UPDATE corrections SET before_value = '', after_value = ''
                 WHERE verification_id = ?1",
                [id],
            )?;
            let mut stmt = tx.prepare(
                "SELECT id, field, before_value, after_value, corrected_by, corrected_ms
                 FROM corrections WHERE verification_id = ?1",
            )?;
            let found = stmt
                .query_map([id], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        FieldCorrection {
                            field: r.get(1)?,
                            before: r.get(2)?,
                            after: r.get(3)?,
                            corrected_by: r.get(4)?,
                            corrected_ms: r.get(5)?,
                        },
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            drop(stmt);
            for (cid, c) in found {
                corrections.insert(cid.to_string(), chain::correction_digest(cid, *id, &c)?);
            }
            blobs += tx.execute("DELETE FROM blobs WHERE verification_id = ?1", [id])? as u64;
            templates +=
                tx.execute("DELETE FROM templates WHERE verification_id = ?1", [id])? as u64;
        }
        chain::append_event(
            &tx,
            &keys,
            every,
            EventIn {
                kind: chain::EV_ERASE,
                actor: by.username(),
                verification_id: None,
                payload: serde_json::json!({
                    "verification_ids": ids, "id_tag": tag, "reason": reason,
                    "blobs": blobs, "templates": templates,
                    "rows": rows, "corrections": corrections,
                }),
            },
        )?;
        tx.commit()?;
        self.committed();
        for id in ids {
            self.index.remove(*id);
        }
        self.flush_wal();
        Ok(ErasureReport {
            verification_ids: ids.to_vec(),
            blobs,
            templates,
        })
    }

    /// Copy the WAL into the database and truncate it, so deleted data leaves the WAL too.
    fn flush_wal(&self) {
        // Best effort: a reader in another process may keep the WAL alive until it finishes.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .warn_on_err("truncating the audit WAL");
    }

    /// Write a checkpoint of (chain head, event count) now.
    pub fn checkpoint(&mut self) -> Result<(), AuditError> {
        let keys = self.write_keys()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        chain::write_checkpoint(&tx, &keys)?;
        tx.commit()?;
        self.committed();
        Ok(())
    }

    /// Number of verification records.
    pub fn record_count(&self) -> Result<i64, AuditError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM verifications", [], |r| r.get(0))?)
    }

    /// Run SQLite's full `PRAGMA integrity_check`; returns its lines (`["ok"]` when sound).
    pub fn integrity_check(&self) -> Result<Vec<String>, AuditError> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The schema version the database is at (`PRAGMA user_version`); below
    /// [`crate::audit::SCHEMA_VERSION`] until the next read-write open migrates it.
    pub fn schema_version(&self) -> Result<i64, AuditError> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Time of the newest chained event, ms since the epoch (`None` for an empty chain).
    pub fn newest_event_ms(&self) -> Result<Option<i64>, AuditError> {
        Ok(self
            .conn
            .query_row("SELECT max(ts_ms) FROM events", [], |r| r.get(0))?)
    }

    /// Append a free-form audit event (e.g. settings changed) attributed to `by`.
    pub fn log_event(
        &mut self,
        by: &UserSession,
        kind: &str,
        payload: serde_json::Value,
    ) -> Result<i64, AuditError> {
        if kind.is_empty() || chain::is_reserved_kind(kind) {
            return Err(AuditError::InvalidInput(format!(
                "event kind {kind:?} is reserved or empty"
            )));
        }
        self.append(kind, by.username(), None, payload)
    }

    /// Append one event in its own transaction.
    pub(crate) fn append(
        &mut self,
        kind: &str,
        actor: &str,
        verification_id: Option<i64>,
        payload: serde_json::Value,
    ) -> Result<i64, AuditError> {
        let keys = self.write_keys()?;
        let every = self.cfg.checkpoint_every;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let seq = chain::append_event(
            &tx,
            &keys,
            every,
            EventIn {
                kind,
                actor,
                verification_id,
                payload,
            },
        )?;
        tx.commit()?;
        self.committed();
        tracing::info!(kind, seq, verification_id, "audit: event written");
        Ok(seq)
    }
}

fn insert_correction(
    tx: &Connection,
    keys: &AuditKeys,
    every: i64,
    verification_id: i64,
    c: &FieldCorrection,
) -> Result<i64, AuditError> {
    if c.field.is_empty() {
        return Err(AuditError::InvalidInput("correction without field".into()));
    }
    tx.execute(
        "INSERT INTO corrections (verification_id, field, before_value, after_value, corrected_by, corrected_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![verification_id, c.field, c.before, c.after, c.corrected_by, c.corrected_ms],
    )?;
    let cid = tx.last_insert_rowid();
    chain::append_event(
        tx,
        keys,
        every,
        EventIn {
            kind: chain::EV_CORRECTION,
            actor: &c.corrected_by,
            verification_id: Some(verification_id),
            payload: serde_json::json!({ "id": cid, "row_sha256": chain::correction_digest(cid, verification_id, c)? }),
        },
    )?;
    Ok(cid)
}

fn validate(rec: &NewVerification<'_>) -> Result<(), AuditError> {
    if rec.operator.trim().is_empty() {
        return Err(AuditError::InvalidInput("operator is empty".into()));
    }
    if rec.finished_ms < rec.started_ms {
        return Err(AuditError::InvalidInput(
            "session finished before it started".into(),
        ));
    }
    if let Some(c) = rec.indexed.overall_confidence
        && !c.is_finite()
    {
        return Err(AuditError::InvalidInput(
            "overall confidence is not finite".into(),
        ));
    }
    let mut kinds: Vec<ImageKind> = rec.images.iter().map(|(k, _)| *k).collect();
    kinds.sort();
    if kinds.windows(2).any(|w| w[0] == w[1]) {
        return Err(AuditError::InvalidInput("the same image kind twice".into()));
    }
    if let Some(t) = rec.template {
        super::search::normalized(t)?;
    }
    Ok(())
}

/// The chained columns of verification `id` as stored now.
pub(crate) fn verification_canon(
    conn: &Connection,
    id: i64,
) -> Result<chain::VerificationCanon, AuditError> {
    Ok(conn.query_row(
        "SELECT id, kiosk_id, operator, customer_type, claimed_id_type, claimed_id_number,
                started_ms, finished_ms, created_ms, decision, decision_reason,
                document_number, id_key, full_name, country, overall_confidence,
                result_json, models_json, duplicates_json
         FROM verifications WHERE id = ?1",
        [id],
        |r| {
            Ok(chain::VerificationCanon {
                id: r.get(0)?,
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
            })
        },
    )?)
}

/// Associated data binding a sealed blob to its record and kind.
pub(crate) fn blob_aad(id: i64, kind: &str) -> Vec<u8> {
    format!("kyc-kiosk-audit:{id}:{kind}").into_bytes()
}

fn template_to_bytes(t: &[f32]) -> Result<Vec<u8>, AuditError> {
    let t = super::search::normalized(t)?;
    Ok(t.iter().flat_map(|v| v.to_le_bytes()).collect())
}

fn bytes_to_template(b: &[u8]) -> Option<Vec<f32>> {
    if b.len() != TEMPLATE_DIM * 4 {
        return None;
    }
    Some(
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

/// The keys for `cfg`, read from `source` ([`AuditConfig::key_source`]). A key file is made
/// only for a store with nothing in it yet (no file or a 0-byte one), and never when the key
/// comes from a credential.
fn obtain_keys(cfg: &AuditConfig, source: &Path, kind: FileKind) -> Result<AuditKeys, AuditError> {
    if source.exists() {
        // A key others may read is refused outright (`KeyPermissions`).
        return AuditKeys::load(source);
    }
    let fresh = matches!(kind, FileKind::Missing | FileKind::Empty);
    if !(fresh && cfg.create_key && source == cfg.key_path) {
        return Err(AuditError::KeyMissing(source.to_path_buf()));
    }
    let k = AuditKeys::generate();
    match k.save_new(source) {
        Ok(()) => Ok(k),
        // Another process created it first: use theirs.
        Err(AuditError::Io { source: e, .. }) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            AuditKeys::load(source)
        }
        Err(e) => Err(e),
    }
}

/// The key's fingerprint in `meta` must be these keys' (a database key that opens the file
/// with another key file's blob and chain keys is refused). A store without one gets it
/// when `store` is set (a new store).
fn check_fingerprint(
    conn: &Connection,
    keys: &AuditKeys,
    source: &Path,
    store: bool,
) -> Result<(), AuditError> {
    let read = || -> Result<Option<String>, AuditError> {
        Ok(conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'key_fingerprint'",
                [],
                |r| r.get(0),
            )
            .optional()?)
    };
    let mut stored = read()?;
    if stored.is_none() && store {
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('key_fingerprint', ?1)",
            [keys.fingerprint()],
        )?;
        // Re-read: a concurrent opener may have stored its fingerprint first.
        stored = read()?;
    }
    match stored {
        Some(fp) if fp != keys.fingerprint() => Err(AuditError::WrongKey(source.to_path_buf())),
        _ => Ok(()),
    }
}

fn restrict_permissions(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Best effort: the database holds personal data, so keep it owner-only.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .warn_on_err("making the audit database owner-only");
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Build a WHERE clause and its arguments from a filter.
pub(crate) fn where_clause(f: &RecordFilter) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    let mut parts = Vec::new();
    let mut args = Vec::new();
    if let Some(v) = f.from_ms {
        parts.push("created_ms >= ?");
        args.push(Value::Integer(v));
    }
    if let Some(v) = f.to_ms {
        parts.push("created_ms < ?");
        args.push(Value::Integer(v));
    }
    if let Some(v) = &f.operator {
        parts.push("operator = ?");
        args.push(Value::Text(v.clone()));
    }
    if let Some(v) = f.decision {
        parts.push("current_decision = ?");
        args.push(Value::Text(v.as_str().into()));
    }
    if let Some(v) = f.review_status {
        parts.push("review_status = ?");
        args.push(Value::Text(v.as_str().into()));
    }
    if let Some(t) = f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        // A LIKE pattern with the user's %, _ and \ taken literally.
        let mut pattern = String::from("%");
        for c in t.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        parts.push(
            "(full_name LIKE ? ESCAPE '\\' OR document_number LIKE ? ESCAPE '\\' \
             OR claimed_id_number LIKE ? ESCAPE '\\')",
        );
        for _ in 0..3 {
            args.push(Value::Text(pattern.clone()));
        }
    }
    if parts.is_empty() {
        (String::new(), args)
    } else {
        (format!("WHERE {}", parts.join(" AND ")), args)
    }
}

/// Map a row selected with [`SUMMARY_COLUMNS`] to a summary.
pub(crate) fn summary_from_row(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<Result<RecordSummary, AuditError>> {
    let ct: String = r.get(3)?;
    let d: String = r.get(9)?;
    let cd: String = r.get(11)?;
    let rs: String = r.get(12)?;
    let parsed = (|| -> Result<_, AuditError> {
        Ok((
            CustomerType::parse(&ct)?,
            Decision::parse(&d)?,
            Decision::parse(&cd)?,
            ReviewStatus::parse(&rs)?,
        ))
    })();
    let (customer_type, decision, current_decision, review_status) = match parsed {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(RecordSummary {
        id: r.get(0)?,
        kiosk_id: r.get(1)?,
        operator: r.get(2)?,
        customer_type,
        claimed_id_type: r.get(4)?,
        claimed_id_number: r.get(5)?,
        started_ms: r.get(6)?,
        finished_ms: r.get(7)?,
        created_ms: r.get(8)?,
        decision,
        decision_reason: r.get(10)?,
        current_decision,
        review_status,
        document_number: r.get(13)?,
        full_name: r.get(14)?,
        country: r.get(15)?,
        overall_confidence: r.get(16)?,
        images_purged_ms: r.get(17)?,
        erased_ms: r.get(18)?,
    }))
}

pub(crate) fn supervisor_action_from_row(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<Result<SupervisorAction, AuditError>> {
    let d: Option<String> = r.get(4)?;
    let decision = match d.as_deref().map(Decision::parse).transpose() {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(SupervisorAction {
        id: r.get(0)?,
        verification_id: r.get(1)?,
        supervisor: r.get(2)?,
        action: r.get(3)?,
        decision,
        note: r.get(5)?,
        acted_ms: r.get(6)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_filter_takes_wildcards_literally() {
        let f = RecordFilter {
            text: Some("  a%_b\\  ".into()),
            ..RecordFilter::default()
        };
        let (sql, args) = where_clause(&f);
        assert_eq!(sql.matches("LIKE ? ESCAPE").count(), 3, "{sql}");
        assert_eq!(args.len(), 3);
        assert!(
            args.iter()
                .all(|a| *a == rusqlite::types::Value::Text("%a\\%\\_b\\\\%".into()))
        );
        // Blank text filters nothing.
        let blank = RecordFilter {
            text: Some("   ".into()),
            ..RecordFilter::default()
        };
        assert_eq!(where_clause(&blank), (String::new(), Vec::new()));
    }
}
