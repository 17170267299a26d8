//! The one public error type of the audit store.

use std::path::PathBuf;

/// Everything that can go wrong in the audit store, with enough detail to show an operator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The database file is damaged or is not an SQLite database.
    #[error("audit database is corrupt: {0}")]
    Corrupt(String),
    /// The disk (or the file system quota) is full; the write was not acknowledged.
    #[error("disk full: the audit record was not written")]
    DiskFull,
    /// Another process holds the database lock longer than the busy timeout.
    #[error("audit database is busy (locked by another process)")]
    Busy,
    /// The database was written by a newer version of this program.
    #[error(
        "audit database schema version {found} is newer than this program supports ({supported})"
    )]
    SchemaTooNew {
        /// Version found in the file.
        found: i64,
        /// Highest version this build knows.
        supported: i64,
    },
    /// The key does not open the database: it belongs to another store, or the file is not an
    /// audit database (an encrypted file cannot tell the two apart).
    #[error(
        "the audit key at {0} does not open this database: a wrong key, or the file is not an audit database"
    )]
    WrongKey(PathBuf),
    /// The key file is missing for a database that already exists (nothing in it is readable).
    #[error(
        "the audit key file {0} is missing: the encrypted audit database cannot be opened without it"
    )]
    KeyMissing(PathBuf),
    /// The key file may be read or written by its group or other users: refused until fixed.
    #[error(
        "the audit key file {path} has mode {mode:o}: it must be readable by its owner only (chmod 600)"
    )]
    KeyPermissions {
        /// Key file path.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The chain-head anchor outside the database disagrees with it (the database was rolled
    /// back, cut or replaced, or the anchor was deleted or forged): writes are refused.
    #[error("audit trail does not match its anchor {path}: {reason}; run `kyc-kiosk audit verify`")]
    AnchorMismatch {
        /// Anchor file path.
        path: PathBuf,
        /// What disagrees.
        reason: String,
    },
    /// A command that reads or changes records was given no credentials.
    #[error(
        "credentials required: run on a terminal to be asked, or give --operator NAME with the password in KYC_KIOSK_PASSWORD"
    )]
    CredentialsRequired,
    /// The password does not meet the policy (length, whitespace, common passwords).
    #[error("password refused: {0}")]
    WeakPassword(String),
    /// The key file exists but cannot be parsed.
    #[error("the audit key file {path} is malformed: {reason}")]
    KeyMalformed {
        /// Key file path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An encrypted blob failed authentication (edited ciphertext or wrong key).
    #[error("encrypted {kind} of record {record_id} failed authentication (tampered or wrong key)")]
    BlobAuthFailed {
        /// Verification record id.
        record_id: i64,
        /// Blob kind (document, portrait, selfie, template).
        kind: String,
    },
    /// Username or password is wrong (deliberately not saying which).
    #[error("invalid username or password")]
    InvalidCredentials,
    /// Too many failed logins; the account is locked until the given time (ms since the epoch).
    #[error("account {username} is locked until {until_ms} (ms since epoch)")]
    AccountLocked {
        /// The locked user.
        username: String,
        /// Unlock time in milliseconds since the Unix epoch.
        until_ms: i64,
    },
    /// The account was disabled by an administrator (the password was right).
    #[error("account {0} is disabled; an administrator can enable it again")]
    AccountDisabled(String),
    /// The change would leave no active administrator.
    #[error("{username} is the last active administrator: another admin must exist first")]
    LastActiveAdmin {
        /// The administrator the change was refused for.
        username: String,
    },
    /// Administrators may not disable or demote their own account.
    #[error("you cannot {action} your own account; another administrator must do it")]
    OwnAccount {
        /// What was refused (`disable`, `demote`).
        action: String,
    },
    /// The user's role does not allow the action.
    #[error("permission denied: role {role} may not {action}")]
    PermissionDenied {
        /// Role of the user.
        role: String,
        /// Action that was refused.
        action: String,
    },
    /// An administrator already exists, so the one-time bootstrap is refused.
    #[error("an administrator already exists; the first-admin step can only be run once")]
    AdminExists,
    /// A user with that name already exists.
    #[error("user {0} already exists")]
    UserExists(String),
    /// The requested record (or user) does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The caller passed an invalid value.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A file system error (key file, export file, database folder).
    #[error("I/O error on {path}: {source}")]
    Io {
        /// Path involved.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// JSON (de)serialisation failed.
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
    /// Password hashing failed (bad parameters).
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    /// Any other SQLite error.
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for AuditError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        if let rusqlite::Error::SqliteFailure(ffi, msg) = &e {
            match ffi.code {
                ErrorCode::DiskFull => return AuditError::DiskFull,
                ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => {
                    return AuditError::Corrupt(msg.clone().unwrap_or_else(|| ffi.to_string()));
                }
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => return AuditError::Busy,
                _ => {}
            }
        }
        AuditError::Sqlite(e)
    }
}

impl AuditError {
    /// Wrap an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AuditError::Io {
            path: path.into(),
            source,
        }
    }
}
