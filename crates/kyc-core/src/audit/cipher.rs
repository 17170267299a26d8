//! The database file encrypted at rest with SQLCipher: keying a connection in the store's page
//! format, telling an encrypted file from a plaintext one, encrypting a plaintext store of an
//! earlier version once, and moving an encrypted store of the earlier page format to the
//! current one once; both migrations atomic.
//!
//! The key is the raw 256-bit key [`AuditKeys::database_key_literal`] derives from the key
//! file (or the OS credential), set with `PRAGMA key = "x'…'"` as the connection's first
//! statement, followed by the page format ([`STORE_FORMAT`]: 16 KiB pages, HMAC-SHA256); a
//! read of `sqlite_master` then proves it opens the file. SQLCipher encrypts every page
//! (AES-256-CBC, an HMAC per page, a random salt in the first 16 bytes), in the database file
//! and in its WAL alike; the `-shm` file holds no row data. The file does not say which format
//! it is in: a store the current format does not open is tried in the earlier one
//! ([`SQLCIPHER4_DEFAULTS`], 4 KiB pages and HMAC-SHA512) before the key is called wrong.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};
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

/// How the pages of an encrypted store file are laid out and authenticated. SQLCipher keeps no
/// record of it in the file: every connection sets it after the key, before the first read.
/// The cipher is AES-256-CBC in every format, each page carries an HMAC, and the raw key needs
/// no key derivation (only the HMAC key is derived from it, once per connection, with
/// `cipher_kdf_algorithm`, pinned here to SQLCipher 4's PBKDF2-HMAC-SHA512).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageFormat {
    /// Bytes a page (`cipher_page_size`: a power of two, 512 to 65536).
    pub page_size: u32,
    /// `cipher_hmac_algorithm`.
    pub hmac: &'static str,
}

/// The format new stores are written in, and every store is moved to: 16 KiB pages checked
/// with HMAC-SHA256 (a quarter of the per-page set-ups of 4 KiB pages; SHA-256 runs on the
/// CPU's SHA extensions). Each page still ends in the 80 bytes SQLCipher 4 reserves when the
/// key is set (SQLite never lowers a page's reserve afterwards): the IV and HMAC take the last
/// 48, the 32 before them stay unused.
pub(crate) const STORE_FORMAT: PageFormat = PageFormat {
    page_size: 16384,
    hmac: "HMAC_SHA256",
};

/// SQLCipher 4's defaults, which stores of earlier versions were written in.
pub(crate) const SQLCIPHER4_DEFAULTS: PageFormat = PageFormat {
    page_size: 4096,
    hmac: "HMAC_SHA512",
};

/// The statements that set `format` on the database `schema` (`main`, or an attached one).
fn format_pragmas(schema: &str, format: PageFormat) -> String {
    format!(
        "PRAGMA {schema}.cipher_page_size = {}; PRAGMA {schema}.cipher_hmac_algorithm = {}; \
         PRAGMA {schema}.cipher_kdf_algorithm = PBKDF2_HMAC_SHA512;",
        format.page_size, format.hmac
    )
}

/// Key `conn` (just opened: nothing may have run on it) in `format` and read `sqlite_master`;
/// the outer error is one of keying, the inner one the read's.
fn key_in(
    conn: &Connection,
    keys: &AuditKeys,
    format: PageFormat,
) -> Result<Result<(), rusqlite::Error>, AuditError> {
    let literal = keys.database_key_literal();
    let pragma = Zeroizing::new(format!(
        "PRAGMA key = \"{}\"; {}",
        literal.as_str(),
        format_pragmas("main", format)
    ));
    conn.execute_batch(pragma.as_str())?;
    Ok(conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|_| ()))
}

fn not_a_database(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::NotADatabase)
}

/// Open the encrypted database at `path` with `flags` and key it: in [`STORE_FORMAT`] first,
/// and, when that does not open it, on a new connection in [`SQLCIPHER4_DEFAULTS`]. Every
/// connection on the store is opened here. A new or 0-byte file opens in [`STORE_FORMAT`].
/// `key_source` names the key in the error.
///
/// # Errors
/// `WrongKey` when the key opens the file in neither format (another store's key, or not a
/// database); `InvalidInput` when the linked SQLite has no SQLCipher (the file would be
/// written in plain text); SQLite errors.
pub(crate) fn open_keyed(
    path: &Path,
    flags: OpenFlags,
    keys: &AuditKeys,
    key_source: &Path,
) -> Result<(Connection, PageFormat), AuditError> {
    let conn = Connection::open_with_flags(path, flags)?;
    let first = match key_in(&conn, keys, STORE_FORMAT)? {
        Ok(()) => {
            cipher_version(&conn)?;
            return Ok((conn, STORE_FORMAT));
        }
        Err(e) => e,
    };
    drop(conn);
    if matches!(&first, rusqlite::Error::SqliteFailure(f, _)
        if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
    {
        return Err(first.into());
    }
    let conn = Connection::open_with_flags(path, flags)?;
    match key_in(&conn, keys, SQLCIPHER4_DEFAULTS)? {
        Ok(()) => {
            cipher_version(&conn)?;
            Ok((conn, SQLCIPHER4_DEFAULTS))
        }
        Err(e) if not_a_database(&e) && not_a_database(&first) => {
            Err(AuditError::WrongKey(key_source.to_path_buf()))
        }
        // The current format's failure is the one to report unless it was only "not this
        // format".
        Err(e) if not_a_database(&first) => Err(e.into()),
        Err(_) => Err(first.into()),
    }
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

/// The lock file beside `db` that the one-time migrations of the store (encrypting a plaintext
/// store, moving one to [`STORE_FORMAT`]) take.
fn migration_lock(db: &Path) -> Result<File, AuditError> {
    let lock_path = suffixed(db, ".encrypt-lock");
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    owner_only(&mut opts);
    let lock = opts
        .open(&lock_path)
        .map_err(|e| AuditError::io(&lock_path, e))?;
    lock.lock().map_err(|e| AuditError::io(&lock_path, e))?;
    Ok(lock)
}

/// Encrypt the plaintext database at `db` once: under a lock beside it, re-check that it is
/// still plaintext, check the key belongs to it (its stored fingerprint), fold its WAL into it
/// and leave WAL mode (which needs every other connection closed: a kiosk of the previous
/// version still writing is never cut off), export every table, index and the schema version
/// with `sqlcipher_export` into `<db>.encrypting` (0600, in [`STORE_FORMAT`]), fsync it,
/// rename it over `db`, fsync the folder, and remove the plaintext `-wal`/`-shm`/`-journal`
/// left beside it.
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
    let lock = migration_lock(db)?;
    let outcome = encrypt_locked(db, keys, key_source, busy_timeout);
    // Whoever waits on the lock re-checks the file first, so removing it here is safe.
    if outcome.as_ref().is_ok_and(Option::is_some) {
        remove_if_present(&suffixed(db, ".encrypt-lock"))?;
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

/// Make the empty copy `tmp` (0600) for an export, after removing one an interrupted run left;
/// returns its path as UTF-8 (what `ATTACH` takes).
fn fresh_copy<'a>(db: &Path, tmp: &'a Path) -> Result<&'a str, AuditError> {
    remove_if_present(tmp)?;
    remove_if_present(&suffixed(tmp, "-journal"))?;
    let tmp_str = tmp.to_str().ok_or_else(|| {
        AuditError::InvalidInput(format!(
            "the audit database path {} is not UTF-8",
            db.display()
        ))
    })?;
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    owner_only(&mut opts);
    opts.open(tmp).map_err(|e| AuditError::io(tmp, e))?;
    Ok(tmp_str)
}

/// Fold the WAL of `conn`'s database into it and leave WAL mode; `Busy` when another
/// connection has the database open (SQLite cannot leave WAL mode then).
fn leave_wal(conn: &Connection) -> Result<(), AuditError> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let mode: String = conn.query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0))?;
    if mode.eq_ignore_ascii_case("delete") {
        Ok(())
    } else {
        Err(AuditError::Busy)
    }
}

/// Export everything of `conn`'s main database and its schema version into the empty file at
/// `tmp`, keyed with `keys` in [`STORE_FORMAT`]; returns the schema version.
fn export_to(conn: &Connection, tmp: &str, keys: &AuditKeys) -> Result<i64, AuditError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let literal = keys.database_key_literal();
    conn.execute(
        "ATTACH DATABASE ?1 AS migrated KEY ?2",
        params![tmp, literal.as_str()],
    )?;
    let exported = conn
        .execute_batch(&format_pragmas("migrated", STORE_FORMAT))
        .and_then(|()| conn.query_row("SELECT sqlcipher_export('migrated')", [], |_| Ok(())))
        .and_then(|()| conn.execute_batch(&format!("PRAGMA migrated.user_version = {version};")));
    let detached = conn.execute_batch("DETACH DATABASE migrated;");
    exported?;
    detached?;
    Ok(version)
}

/// The events of the chain: (count, highest seq); (0, 0) when the schema has none yet.
fn chain_extent(conn: &Connection) -> Result<(i64, i64), AuditError> {
    let has: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'events'",
        [],
        |r| r.get(0),
    )?;
    if !has {
        return Ok((0, 0));
    }
    Ok(conn.query_row(
        "SELECT count(*), coalesce(max(seq), 0) FROM events",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Check the exported copy `tmp` opens with the key in [`STORE_FORMAT`], holds schema version
/// `version` and the chain `extent`, and passes `quick_check`; then fsync it, rename it over
/// `db`, fsync the folder and remove what the old file left beside it. Returns the SQLCipher
/// version. A crash before the rename leaves `db` as it was; after it, the copy.
fn replace_with_copy(
    db: &Path,
    tmp: &Path,
    keys: &AuditKeys,
    key_source: &Path,
    version: i64,
    extent: (i64, i64),
) -> Result<String, AuditError> {
    {
        let (check, format) = open_keyed(tmp, OpenFlags::default(), keys, key_source)?;
        let v: i64 = check.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let ok: String = check.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        let got = chain_extent(&check)?;
        if format != STORE_FORMAT || v != version || ok != "ok" || got != extent {
            return Err(AuditError::Corrupt(format!(
                "the migrated copy {} failed its check (version {v}, {ok}, {} events to seq {}, \
                 {} bytes a page)",
                tmp.display(),
                got.0,
                got.1,
                format.page_size
            )));
        }
    }
    File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| AuditError::io(tmp, e))?;
    std::fs::rename(tmp, db).map_err(|e| AuditError::io(db, e))?;
    sync_dir(db)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        remove_if_present(&suffixed(db, suffix))?;
    }
    remove_if_present(&suffixed(tmp, "-journal"))?;
    let (conn, _) = open_keyed(db, OpenFlags::default(), keys, key_source)?;
    cipher_version(&conn)
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
    let tmp_str = fresh_copy(db, &tmp)?;
    let exported = (|| -> Result<(i64, (i64, i64)), AuditError> {
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
                return Err(AuditError::WrongKey(key_source.to_path_buf()));
            }
        }
        leave_wal(&conn)?;
        let extent = chain_extent(&conn)?;
        Ok((export_to(&conn, tmp_str, keys)?, extent))
    })();
    let (version, extent) = match exported {
        Ok(v) => v,
        Err(e) => {
            remove_if_present(&tmp)?;
            return Err(e);
        }
    };
    let cipher_version = replace_with_copy(db, &tmp, keys, key_source, version, extent)?;
    tracing::info!(
        plaintext_bytes,
        "audit: plaintext store encrypted (SQLCipher)"
    );
    Ok(Some(Encrypted {
        plaintext_bytes,
        cipher_version,
    }))
}

/// What moving a store to [`STORE_FORMAT`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reformatted {
    /// Size of the file before, bytes.
    pub bytes_before: u64,
    /// Size of the file after, bytes.
    pub bytes_after: u64,
}

/// Move the encrypted store at `db`, written in [`SQLCIPHER4_DEFAULTS`], to [`STORE_FORMAT`]
/// once: under the migration lock beside it, re-check its format (another process may have
/// moved it), fold its WAL in and leave WAL mode (`Busy` while any other connection has it
/// open), export everything with `sqlcipher_export` into `<db>.reformatting` (0600) keyed in
/// the new format, check the copy (opens in the new format, same schema version and chain,
/// `quick_check`), fsync it, rename it over `db` and fsync the folder. A crash before the
/// rename leaves the old file whole (the partial copy is removed on the next try); after it,
/// the new one. On an error the copy is removed and the old file is as it was (out of WAL
/// mode, which the next open restores).
///
/// Returns `None` when the store is already in [`STORE_FORMAT`].
///
/// # Errors
/// `Busy` (another connection has the store open), `DiskFull` (no room for the copy), `WrongKey`,
/// I/O and SQLite errors.
pub(crate) fn reformat(
    db: &Path,
    keys: &AuditKeys,
    key_source: &Path,
    busy_timeout: Duration,
) -> Result<Option<Reformatted>, AuditError> {
    let lock = migration_lock(db)?;
    let outcome = reformat_locked(db, keys, key_source, busy_timeout);
    if outcome.as_ref().is_ok_and(Option::is_some) {
        remove_if_present(&suffixed(db, ".encrypt-lock"))?;
    }
    drop(lock);
    outcome
}

fn reformat_locked(
    db: &Path,
    keys: &AuditKeys,
    key_source: &Path,
    busy_timeout: Duration,
) -> Result<Option<Reformatted>, AuditError> {
    let tmp = suffixed(db, ".reformatting");
    let (version, extent) = {
        let (conn, format) = open_keyed(db, OpenFlags::default(), keys, key_source)?;
        if format == STORE_FORMAT {
            remove_if_present(&tmp)?;
            return Ok(None);
        }
        conn.busy_timeout(busy_timeout)?;
        // A copy left by an interrupted run: the original is still whole.
        let tmp_str = fresh_copy(db, &tmp)?;
        let exported = leave_wal(&conn).and_then(|()| {
            let extent = chain_extent(&conn)?;
            Ok((export_to(&conn, tmp_str, keys)?, extent))
        });
        match exported {
            Ok(v) => v,
            Err(e) => {
                drop(conn);
                remove_if_present(&tmp)?;
                remove_if_present(&suffixed(&tmp, "-journal"))?;
                return Err(e);
            }
        }
    };
    let bytes_before = std::fs::metadata(db)
        .map_err(|e| AuditError::io(db, e))?
        .len();
    if let Err(e) = replace_with_copy(db, &tmp, keys, key_source, version, extent) {
        // The rename is the last step that can fail before `db` is the copy; whatever failed
        // left `db` as it was.
        if tmp.exists() {
            remove_if_present(&tmp)?;
        }
        return Err(e);
    }
    let bytes_after = std::fs::metadata(db)
        .map_err(|e| AuditError::io(db, e))?
        .len();
    tracing::info!(
        bytes_before,
        bytes_after,
        page_size = STORE_FORMAT.page_size,
        hmac = STORE_FORMAT.hmac,
        "audit: store moved to the current SQLCipher page format"
    );
    Ok(Some(Reformatted {
        bytes_before,
        bytes_after,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn value(conn: &Connection) -> i64 {
        conn.query_row("SELECT x FROM t", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn new_files_take_the_store_format_and_old_ones_are_read_then_moved() {
        let dir = tempfile::tempdir().unwrap();
        let keys = AuditKeys::generate();
        let source = Path::new("test.key");
        let new = dir.path().join("new.db");
        let (conn, format) = open_keyed(&new, OpenFlags::default(), &keys, source).unwrap();
        assert_eq!(format, STORE_FORMAT);
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (42);")
            .unwrap();
        drop(conn);
        let (conn, format) = open_keyed(&new, OpenFlags::default(), &keys, source).unwrap();
        assert_eq!((format, value(&conn)), (STORE_FORMAT, 42));
        drop(conn);
        assert_eq!(std::fs::metadata(&new).unwrap().len() % 16384, 0);

        // Written by SQLCipher with the raw key and nothing else set: its defaults.
        let old = dir.path().join("old.db");
        let conn = Connection::open(&old).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA key = \"{}\"; CREATE TABLE t (x); INSERT INTO t VALUES (7);",
            keys.database_key_literal().as_str()
        ))
        .unwrap();
        drop(conn);
        let (conn, format) = open_keyed(&old, OpenFlags::default(), &keys, source).unwrap();
        assert_eq!((format, value(&conn)), (SQLCIPHER4_DEFAULTS, 7));
        drop(conn);

        let done = reformat(&old, &keys, source, Duration::from_secs(1))
            .unwrap()
            .unwrap();
        assert_eq!(done.bytes_before % 4096, 0);
        assert_eq!(done.bytes_after % 16384, 0);
        let (conn, format) = open_keyed(&old, OpenFlags::default(), &keys, source).unwrap();
        assert_eq!((format, value(&conn)), (STORE_FORMAT, 7));
        drop(conn);
        // Once only.
        assert_eq!(
            reformat(&old, &keys, source, Duration::from_secs(1)).unwrap(),
            None
        );

        // Another key opens neither, in either format.
        let other = AuditKeys::generate();
        for path in [&new, &old] {
            let err = open_keyed(path, OpenFlags::default(), &other, source).unwrap_err();
            assert!(
                matches!(&err, AuditError::WrongKey(p) if p == source),
                "{err:?}"
            );
        }
    }
}
