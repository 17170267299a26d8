//! The chain-head anchor: a small file outside the database (beside the key file) holding the
//! newest chain head the store has committed — sequence number, hash and time — with a
//! monotonic write counter, authenticated by an HMAC under a key derived from the audit key.
//!
//! The database alone can then be neither cut (newest events deleted), rolled back (an older
//! copy put back), emptied nor truncated to 0 bytes without the anchor disagreeing. The anchor
//! only ever moves forward; it is replaced atomically (temporary file, fsync, rename, fsync of
//! the folder) after each commit, under an advisory lock so concurrent writers keep it
//! monotonic. Written after the commit, it can lag the database by the last commit after a
//! crash, never lead it.
//!
//! File format (text, one field a line): `kyc-kiosk-audit-anchor v1`, counter, head sequence,
//! head hash (hex), time (ms since the epoch), MAC (hex).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::crypto::{AuditKeys, hex};
use super::error::AuditError;
use super::types::now_ms;

const HEADER: &str = "kyc-kiosk-audit-anchor v1";

/// One authenticated chain head, as kept in the anchor file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// How many times the anchor has been written (only grows).
    pub counter: u64,
    /// Sequence number of the newest committed event (0: no event yet).
    pub head_seq: i64,
    /// Hash of that event (32 zero bytes for seq 0).
    pub head_hash: [u8; 32],
    /// When the anchor was written, ms since the epoch.
    pub written_ms: i64,
}

/// What the anchor file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorRead {
    /// No anchor file.
    Missing,
    /// A well-formed anchor whose MAC holds.
    Valid(Anchor),
    /// The file exists but is malformed or its MAC fails (forged, edited, or another key's).
    Invalid(String),
}

fn anchor_mac(keys: &AuditKeys, counter: u64, seq: i64, hash: &[u8], ts: i64) -> [u8; 32] {
    let key = keys.anchor_key();
    // HMAC takes keys of any length: this cannot fail; a zero MAC would never verify.
    let Ok(mut m) = <Hmac<Sha256> as Mac>::new_from_slice(key.as_slice()) else {
        return [0u8; 32];
    };
    m.update(HEADER.as_bytes());
    m.update(&counter.to_be_bytes());
    m.update(&seq.to_be_bytes());
    m.update(hash);
    m.update(&ts.to_be_bytes());
    m.finalize().into_bytes().into()
}

fn unhex32(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        out[i] = u8::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok()?;
    }
    Some(out)
}

/// Read and authenticate the anchor at `path`.
///
/// # Errors
/// Only when the file exists but cannot be read (permissions, I/O).
pub fn read(path: &Path, keys: &AuditKeys) -> Result<AnchorRead, AuditError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(AnchorRead::Missing),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Ok(AnchorRead::Invalid("not text".into()));
        }
        Err(e) => return Err(AuditError::io(path, e)),
    };
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Ok(AnchorRead::Invalid("missing header line".into()));
    }
    let mut field = || lines.next().map(str::trim).unwrap_or_default().to_string();
    let (counter, seq, hash, ts, mac) = (field(), field(), field(), field(), field());
    let parsed = (|| {
        Some((
            counter.parse::<u64>().ok()?,
            seq.parse::<i64>().ok()?,
            unhex32(&hash)?,
            ts.parse::<i64>().ok()?,
            unhex32(&mac)?,
        ))
    })();
    let Some((counter, head_seq, head_hash, written_ms, mac)) = parsed else {
        return Ok(AnchorRead::Invalid("malformed field".into()));
    };
    if anchor_mac(keys, counter, head_seq, &head_hash, written_ms) != mac {
        return Ok(AnchorRead::Invalid(
            "its MAC does not hold (forged, edited or another kiosk's)".into(),
        ));
    }
    Ok(AnchorRead::Valid(Anchor {
        counter,
        head_seq,
        head_hash,
        written_ms,
    }))
}

fn lock_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
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

/// Move the anchor forward to (`head_seq`, `head_hash`) unless it already is at or past that
/// sequence number (another writer got there first). Creates the anchor when missing only if
/// `create` is set. A malformed or forged anchor is never overwritten.
///
/// # Errors
/// I/O failures, and `AnchorMismatch` for an invalid anchor.
pub fn advance(
    path: &Path,
    keys: &AuditKeys,
    head_seq: i64,
    head_hash: &[u8],
    create: bool,
) -> Result<(), AuditError> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| AuditError::io(dir, e))?;
    }
    let lp = lock_path(path);
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    owner_only(&mut opts);
    let lock = opts.open(&lp).map_err(|e| AuditError::io(&lp, e))?;
    lock.lock().map_err(|e| AuditError::io(&lp, e))?;
    let counter = match read(path, keys)? {
        AnchorRead::Valid(a) if a.head_seq >= head_seq => return Ok(()),
        AnchorRead::Valid(a) => a.counter + 1,
        AnchorRead::Missing if create => 1,
        AnchorRead::Missing => {
            return Err(AuditError::AnchorMismatch {
                path: path.to_path_buf(),
                reason: "the anchor file is missing".into(),
            });
        }
        AnchorRead::Invalid(reason) => {
            return Err(AuditError::AnchorMismatch {
                path: path.to_path_buf(),
                reason,
            });
        }
    };
    let mut hash = [0u8; 32];
    if head_hash.len() == 32 {
        hash.copy_from_slice(head_hash);
    }
    let ts = now_ms();
    let mac = anchor_mac(keys, counter, head_seq, &hash, ts);
    let body = format!(
        "{HEADER}\n{counter}\n{head_seq}\n{}\n{ts}\n{}\n",
        hex(&hash),
        hex(&mac)
    );
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    owner_only(&mut opts);
    let mut f = opts.open(&tmp).map_err(|e| AuditError::io(&tmp, e))?;
    f.write_all(body.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| AuditError::io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| AuditError::io(path, e))?;
    sync_dir(path);
    drop(lock);
    Ok(())
}

/// fsync the folder holding `path`, so the rename itself is durable (best effort: some file
/// systems refuse to open folders).
fn sync_dir(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn anchor_moves_forward_only_and_detects_edits() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.anchor");
        let k = AuditKeys::generate();
        assert_eq!(read(&p, &k).unwrap(), AnchorRead::Missing);
        assert!(advance(&p, &k, 3, &[7u8; 32], false).is_err());
        advance(&p, &k, 3, &[7u8; 32], true).unwrap();
        advance(&p, &k, 2, &[9u8; 32], true).unwrap();
        let AnchorRead::Valid(a) = read(&p, &k).unwrap() else {
            panic!("not valid")
        };
        assert_eq!((a.counter, a.head_seq, a.head_hash), (1, 3, [7u8; 32]));
        advance(&p, &k, 5, &[8u8; 32], false).unwrap();
        let AnchorRead::Valid(a) = read(&p, &k).unwrap() else {
            panic!("not valid")
        };
        assert_eq!((a.counter, a.head_seq), (2, 5));
        // An edited sequence number breaks the MAC; another key does not verify it.
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replacen("\n5\n", "\n9\n", 1);
        std::fs::write(&p, text).unwrap();
        assert!(matches!(read(&p, &k).unwrap(), AnchorRead::Invalid(_)));
        assert!(advance(&p, &k, 10, &[1u8; 32], true).is_err());
        let other = AuditKeys::generate();
        advance(&dir.path().join("b"), &k, 1, &[1u8; 32], true).unwrap();
        assert!(matches!(
            read(&dir.path().join("b"), &other).unwrap(),
            AnchorRead::Invalid(_)
        ));
    }
}
