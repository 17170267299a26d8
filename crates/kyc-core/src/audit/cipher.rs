//! The database file encrypted at rest with SQLCipher: keying a connection, telling an
//! encrypted file from a plaintext one, and encrypting a plaintext store of an earlier version
//! once, atomically.
//!
//! The key is the raw 256-bit key [`AuditKeys::database_key_literal`] derives from the key
//! file (or the OS credential), set with `PRAGMA key = "x'…'"` as the connection's first
//! statement; a read of `sqlite_master` then proves it opens the file. SQLCipher encrypts every
//! page (AES-256-CBC, an HMAC-SHA512 per page, a random salt in the first 16 bytes), in the
//! database file and in its WAL alike; the `-shm` file holds no row data.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use zeroize::Zeroizing;

use super::crypto::AuditKeys;
use super::error::AuditError;

/// The first 16 bytes of every plaintext SQLite database file.
pub(crate) const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// What a database path holds, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// No file.
    Missing,
    /// A 0-byte file.
    Empty,
    /// A plaintext SQLite database (a store written before encryption).
    Plaintext,
    /// Anything else: an encrypted database, or a file that is no database at all (only a
    /// key can tell them apart).
    Encrypted,
}

/// Look at the first 16 bytes of `path`.
pub(crate) fn file_kind(path: &Path) -> Result<FileKind, AuditError> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileKind::Missing),
        Err(e) => return Err(AuditError::io(path, e)),
    };
    let mut head = [0u8; 16];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(AuditError::io(path, e)),
        }
    }
    Ok(match n {
        0 => FileKind::Empty,
        16 if &head == SQLITE_HEADER => FileKind::Plaintext,
        _ => FileKind::Encrypted,
    })
}

/// Key a connection just opened (nothing may run on it before this) and prove the key opens
/// the file. `key_source` names the key in the error.
///
/// # Errors
/// `WrongKey` when the key does not decrypt the file (another store's key, or not a
/// database); `InvalidInput` when the linked SQLite has no SQLCipher (the file would be
/// written in plain text).
pub(crate) fn apply_key(
    conn: &Connection,
    keys: &AuditKeys,
    key_source: &Path,
) -> Result<(), AuditError> {
    let literal = keys.database_key_literal();
    let pragma = Zeroizing::new(format!("PRAGMA key = \"{}\";", literal.as_str()));
    conn.execute_batch(pragma.as_str())?;
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(f, _)) if f.code == ErrorCode::NotADatabase => {
            return Err(AuditError::WrongKey(key_source.to_path_buf()));
        }
        Err(e) => return Err(e.into()),
    }
    cipher_version(conn)?;
    Ok(())
}

/// The SQLCipher version linked in; refuses a build whose SQLite has none (`PRAGMA key` would
/// be ignored silently and the store written in plain text).
pub(crate) fn cipher_version(conn: &Connection) -> Result<String, AuditError> {
    let v: Option<String> = conn
        .query_row("PRAGMA cipher_version", [], |r| r.get(0))
        .optional()?;
    v.filter(|v| !v.is_empty()).ok_or_else(|| {
        AuditError::InvalidInput(
            "this build's SQLite has no SQLCipher: the audit store would not be encrypted".into(),
        )
    })
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

fn remove_if_present(path: &Path) -> Result<(), AuditError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(AuditError::io(path, e)),
    }
}

/// fsync the folder holding `path`, so a rename in it is durable.
fn sync_dir(path: &Path) -> Result<(), AuditError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| AuditError::io(dir, e))
}

/// What encrypting a plaintext store did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Encrypted {
    /// Size of the plaintext file, bytes.
    pub plaintext_bytes: u64,
    /// SQLCipher version that wrote the encrypted file.
    pub cipher_version: String,
}

/// Encrypt the plaintext database at `db` once: under a lock beside it, re-check that it is
/// still plaintext, check the key belongs to it (its stored fingerprint), fold its WAL into it
/// and leave WAL mode (which needs every other connection closed: a kiosk of the previous
/// version still writing is never cut off), export every table, index and the schema version
/// with `sqlcipher_export` into `<db>.encrypting` (0600), fsync it, rename it over `db`, fsync
/// the folder, and remove the plaintext `-wal`/`-shm`/`-journal` left beside it.
///
/// Returns `None` when another process encrypted it first. A crash before the rename leaves
/// the plaintext store intact (the half-written copy is discarded on the next try); after it,
/// the encrypted one.
///
/// # Errors
/// `WrongKey` (the key file is another store's), `Busy` (another process has the store open),
/// I/O and SQLite errors.
pub(crate) fn encrypt_plaintext(
    db: &Path,
    keys: &AuditKeys,
    key_source: &Path,
    busy_timeout: Duration,
) -> Result<Option<Encrypted>, AuditError> {
    let lock_path = suffixed(db, ".encrypt-lock");
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    owner_only(&mut opts);
    let lock = opts
        .open(&lock_path)
        .map_err(|e| AuditError::io(&lock_path, e))?;
    lock.lock().map_err(|e| AuditError::io(&lock_path, e))?;
    let outcome = encrypt_locked(db, keys, key_source, busy_timeout);
    // Whoever waits on the lock re-checks the file first, so removing it here is safe.
    if outcome.as_ref().is_ok_and(Option::is_some) {
        remove_if_present(&lock_path)?;
    }
    drop(lock);
    outcome
}

fn owner_only(opts: &mut OpenOptions) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = opts;
}

fn encrypt_locked(
    db: &Path,
    keys: &AuditKeys,
    key_source: &Path,
    busy_timeout: Duration,
) -> Result<Option<Encrypted>, AuditError> {
    if file_kind(db)? != FileKind::Plaintext {
        return Ok(None);
    }
    let plaintext_bytes = std::fs::metadata(db)
        .map_err(|e| AuditError::io(db, e))?
        .len();
    let tmp = suffixed(db, ".encrypting");
    // A copy left by an interrupted run: the plaintext original is still whole.
    remove_if_present(&tmp)?;
    remove_if_present(&suffixed(&tmp, "-journal"))?;
    let tmp_str = tmp.to_str().ok_or_else(|| {
        AuditError::InvalidInput(format!(
            "the audit database path {} is not UTF-8",
            db.display()
        ))
    })?;
    {
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        owner_only(&mut opts);
        opts.open(&tmp).map_err(|e| AuditError::io(&tmp, e))?;
    }
    let version = {
        let conn = Connection::open(db)?;
        conn.busy_timeout(busy_timeout)?;
        let has_meta: bool = conn.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
            [],
            |r| r.get(0),
        )?;
        if has_meta {
            let stored: Option<String> = conn
                .query_row(
                    "SELECT value FROM meta WHERE key = 'key_fingerprint'",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            if stored.is_some_and(|fp| fp != keys.fingerprint()) {
                remove_if_present(&tmp)?;
                return Err(AuditError::WrongKey(key_source.to_path_buf()));
            }
        }
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let mode: String = conn.query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("delete") {
            remove_if_present(&tmp)?;
            return Err(AuditError::Busy);
        }
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let literal = keys.database_key_literal();
        conn.execute(
            "ATTACH DATABASE ?1 AS encrypted KEY ?2",
            params![tmp_str, literal.as_str()],
        )?;
        conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        conn.execute_batch(&format!("PRAGMA encrypted.user_version = {version};"))?;
        conn.execute_batch("DETACH DATABASE encrypted;")?;
        version
    };
    // Check the copy opens with the key and holds the same schema version before it replaces
    // the original.
    {
        let check = Connection::open(&tmp)?;
        apply_key(&check, keys, key_source)?;
        let v: i64 = check.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let ok: String = check.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if v != version || ok != "ok" {
            return Err(AuditError::Corrupt(format!(
                "the encrypted copy {} failed its check (version {v}, {ok})",
                tmp.display()
            )));
        }
    }
    File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| AuditError::io(&tmp, e))?;
    std::fs::rename(&tmp, db).map_err(|e| AuditError::io(db, e))?;
    sync_dir(db)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        remove_if_present(&suffixed(db, suffix))?;
    }
    remove_if_present(&suffixed(&tmp, "-journal"))?;
    let cipher_version = {
        let conn = Connection::open(db)?;
        apply_key(&conn, keys, key_source)?;
        cipher_version(&conn)?
    };
    tracing::info!(
        plaintext_bytes,
        "audit: plaintext store encrypted (SQLCipher)"
    );
    Ok(Some(Encrypted {
        plaintext_bytes,
        cipher_version,
    }))
}
